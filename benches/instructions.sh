#!/usr/bin/env bash
# Counts the instructions (user space, all threads, by callgrind) that `switchboard serve` spends
# per request on one route. Unlike req/s or CPU time on a shared 2-core machine, the count barely
# moves between runs of one build (under 1%), so it can tell two builds apart by a few percent.
# It leaves out the kernel's share (TCP, scheduling), about half of the CPU time per request.
#
# Usage: benches/instructions.sh [BIN...]     default: target/release/switchboard (built first)
# Needs: valgrind and wrk (apt-get install -y valgrind wrk).
# Environment: ROUTE (default /hello?name=bench), DURATION (seconds of counted load, default 5).
# Output per binary: requests served and instructions per request; the callgrind profile of the
# counted period stays in target/bench/instructions/<n>/callgrind.out.1 for callgrind_annotate.

set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/target/bench/instructions"
ROUTE="${ROUTE:-/hello?name=bench}"
DURATION="${DURATION:-5}"
for tool in valgrind callgrind_control wrk; do
    command -v "$tool" >/dev/null || { echo "instructions.sh: $tool is not installed" >&2; exit 2; }
done
if [ "$#" -eq 0 ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    set -- "$ROOT/target/release/switchboard"
fi

rm -rf "$OUT"
n=0
for bin in "$@"; do
    n=$((n + 1))
    dir="$OUT/$n"
    bin="$(realpath "$bin")"
    mkdir -p "$dir"
    cp -r "$ROOT/benches/hubs/http" "$dir/hub"
    (cd "$dir" && exec valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
        "$bin" serve --dir "$dir/hub" --listen 127.0.0.1:0 --no-watch >"$dir/serve.out" 2>"$dir/serve.err") &
    server=$!
    for _ in $(seq 300); do
        grep -q "listening on" "$dir/serve.out" 2>/dev/null && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    url="$(grep -o 'http://[0-9.:]*' "$dir/serve.out" | head -1 || true)"
    if [ -z "$url" ]; then
        kill "$server" 2>/dev/null || true
        echo "instructions.sh: $bin did not start; see $dir/serve.err" >&2
        exit 1
    fi

    # Warm up (the run log's writer starts with the first record), zero the counters, load,
    # then dump: the dump holds the loaded period only.
    wrk -t1 -c4 -d2s "$url$ROUTE" >/dev/null
    callgrind_control -z "$server" >/dev/null 2>&1
    requests="$(wrk -t1 -c4 -d"${DURATION}s" "$url$ROUTE" | awk '/requests in/ {print $1}')"
    callgrind_control -d "$server" >/dev/null 2>&1
    for _ in $(seq 100); do
        [ -s "$dir/callgrind.out.1" ] && break
        sleep 0.1
    done
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    total="$(awk '/^(summary|totals):/ {print $2; exit}' "$dir/callgrind.out.1")"
    echo "$bin: $requests requests, $((total / requests)) instructions per request"
done
