#!/usr/bin/env bash
# PostgreSQL vs SQLite through Switchboard: a route doing one indexed SELECT on each, served by one
# hub and loaded in the same run, alternating, for req/s and p99 (issue 21). Needs wrk and the
# PostgreSQL of SWITCHBOARD_TEST_POSTGRES_URL (default: the local one, trust auth, database test).
#
#   benches/sql.sh                      # 3 rounds of 5 s per route, 32 connections
#   DURATION=10 ROUNDS=5 benches/sql.sh
#   BIN=path/to/switchboard             # measure another build (default: target/release, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-target/release/switchboard}"
PG="${SWITCHBOARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
say() { echo "sql.sh: $*" >&2; }

command -v wrk >/dev/null 2>&1 || { say "needs wrk (apt-get install -y wrk)"; exit 2; }
[ -x "$BIN" ] || { say "building $BIN"; cargo build --release --bin switchboard; }

work="$(mktemp -d)"
schema="sb_bench_$$"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    "$BIN" run teardown --dir "$work" --input "{\"schema\": \"$schema\"}" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
cp -r benches/hubs/sql/. "$work/"
join='?'; case "$PG" in *\?*) join='&' ;; esac
export BENCH_POSTGRES_URL="${PG}${join}options=-c%20search_path%3D${schema}"
"$BIN" run setup --dir "$work" --input "{\"schema\": \"$schema\"}" >/dev/null

"$BIN" serve --dir "$work" --listen 127.0.0.1:0 --no-watch >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$work/serve.out")"
[ -n "$url" ] || { say "serve did not start:"; cat "$work/serve.err" >&2; exit 1; }

# Each request asks for another of the 1000 rows.
lua="$work/ids.lua"
cat >"$lua" <<'LUA'
local id = 0
request = function()
  id = id % 1000 + 1
  return wrk.format("GET", wrk.path .. id)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
LUA

say "load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for database in sqlite postgres; do
    wrk -t1 -c"$CONNECTIONS" -d2s -s "$lua" "$url/$database/" >/dev/null   # warm-up: pool, caches
done
declare -A rps p99
for round in $(seq "$ROUNDS"); do
    for database in sqlite postgres; do
        read -r _ r p failed < <(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$lua" "$url/$database/" | grep '^RESULT')
        [ "$failed" = 0 ] || { say "$database: $failed requests failed (see $work/serve.err)"; tail -5 "$work/serve.err" >&2; exit 1; }
        rps[$database]+="$r "
        p99[$database]+="$p "
        say "round $round: $database $r req/s, p99 $p ms"
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "| route (one indexed SELECT by primary key) | req/s (median of $ROUNDS) | p99 ms (median) |"
echo "| --- | ---: | ---: |"
for database in sqlite postgres; do
    echo "| \`GET /$database/{id}\` | $(echo "${rps[$database]}" | median) | $(echo "${p99[$database]}" | median) |"
done
