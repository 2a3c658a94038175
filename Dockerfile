# Switchboard in a container: the hub folder is a volume at /hub, served on port 8080.
#   docker build -t switchboard .
#   docker run -d -p 127.0.0.1:8080:8080 -v "$PWD/myhub:/hub" switchboard
# The hub's data/ folder (and any watched folder) must be writable by uid 10001.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/switchboard

FROM debian:bookworm-slim
# ca-certificates for https connections; curl for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /hub --shell /usr/sbin/nologin switchboard
COPY --from=build /src/target/release/switchboard /usr/local/bin/switchboard
USER switchboard
WORKDIR /hub
VOLUME /hub
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s CMD curl -fsS http://127.0.0.1:8080/_/health
ENTRYPOINT ["switchboard"]
CMD ["serve", "--dir", "/hub", "--listen", "0.0.0.0:8080"]
