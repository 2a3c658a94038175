#!/usr/bin/env bash
# Profiles `switchboard serve` under load: serves a copy of benches/hubs/http, puts wrk on one
# route and records the server with `perf record --call-graph dwarf` meanwhile, then prints where
# the samples went by thread and the heaviest functions (with their callees) per thread.
#
# Usage: benches/profile.sh [ROUTE]          ROUTE defaults to /hello?name=bench
# Needs: perf and wrk (apt-get install -y linux-perf wrk). Builds target/release/switchboard.
# Environment: BIN (a switchboard binary to profile instead), DURATION (seconds, default 5),
#              FREQ (samples per second, default 999).
# Output: target/bench/profile/perf.data (open it with `perf report -i ...`) and the summary.

set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/target/bench/profile"
ROUTE="${1:-/hello?name=bench}"
DURATION="${DURATION:-5}"
FREQ="${FREQ:-999}"
for tool in perf wrk; do
    command -v "$tool" >/dev/null || { echo "profile.sh: $tool is not installed" >&2; exit 2; }
done
if [ -z "${BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    BIN="$ROOT/target/release/switchboard"
fi

rm -rf "$OUT" && mkdir -p "$OUT"
cp -r "$ROOT/benches/hubs/http" "$OUT/hub"
"$BIN" serve --dir "$OUT/hub" --listen 127.0.0.1:0 --no-watch >"$OUT/serve.out" 2>"$OUT/serve.err" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do
    grep -q "listening on" "$OUT/serve.out" 2>/dev/null && break
    sleep 0.1
done
URL="$(grep -o 'http://[0-9.:]*' "$OUT/serve.out" | head -1 || true)"
[ -n "$URL" ] || { echo "profile.sh: the server did not start; see $OUT/serve.err" >&2; exit 1; }

# Warm up (the run log's writer starts with the first record), then load and record together.
wrk -t1 -c32 -d1s "$URL$ROUTE" >/dev/null
perf record --call-graph dwarf,16384 -F "$FREQ" -p "$SERVER" -o "$OUT/perf.data" -- sleep "$DURATION" \
    >/dev/null 2>"$OUT/perf.log" &
RECORDER=$!
wrk -t1 -c32 -d"${DURATION}s" --latency "$URL$ROUTE" | tee "$OUT/wrk.txt" | grep -E "Requests/sec|99%"
wait $RECORDER

report() { perf report -i "$OUT/perf.data" --stdio -g none "$@" 2>/dev/null | grep '%' || true; }
echo "== samples by thread"
report --no-children --sort comm
for thread in tokio-rt-worker switchboard-run; do
    echo "== $thread: heaviest functions, with callees"
    report --children --comm "$thread" --sort sym | grep -v '\[k\]' | head -40
done
