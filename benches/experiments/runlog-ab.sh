#!/usr/bin/env bash
# A/B of the run log's cost on the hello route, with a switchboard built from a copy of the tree
# at bead826 (before the run log was reworked in 22f16ec) with runlog-toggles.patch applied
# (see BENCHMARKS.md, "Where the time goes"):
#
#   EXP_RECORD=0      no run-log record at all
#   EXP_RECORD=build  the record is built on the request path, then dropped (no metrics, no writer)
#   EXP_NOWAKE=1      the writer sleeps through its 20 ms gather window instead of waking per record
#
#   benches/experiments/runlog-ab.sh PATCHED_SWITCHBOARD BASELINE   (D=seconds per run, default 5)
set -euo pipefail
EXP="$1"
BASE="$2"
D="${D:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d)"
PIDS=()
declare -A PID_OF
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
start() {
    local name="$1"
    shift
    cp -r "$ROOT/benches/hubs/http" "$WORK/$name"
    env "$@" "$EXP" serve --dir "$WORK/$name" --listen 127.0.0.1:0 >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
    PID_OF[$name]=$!
}
start on X=1
start build EXP_RECORD=build
start off EXP_RECORD=0
start nowake EXP_NOWAKE=1
"$BASE" >"$WORK/axum.out" 2>/dev/null &
PIDS+=($!)
PID_OF[axum]=$!
sleep 1
NAMES=(axum on build off nowake)
ticks() { cut -d')' -f2 "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
for round in 1 2 3; do
    for name in "${NAMES[@]}"; do
        pid="${PID_OF[$name]}"
        url="$(head -1 "$WORK/$name.out" | sed 's/listening on //')"
        before="$(ticks "$pid")"
        report="$(wrk -t1 -c32 -d"${D}s" --latency "$url/hello?name=bench")"
        after="$(ticks "$pid")"
        echo "$report" | awk -v r="$round" -v n="$name" -v cpu="$((after - before))" -v hz="$(getconf CLK_TCK)" '
            /Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } / requests in / { total = $1 }
            END { printf "round %s %-7s %10s req/s  p50 %-9s p99 %-8s server CPU %.1f us/request\n", r, n, rps, p50, p99, cpu / hz * 1e6 / total }'
    done
done
