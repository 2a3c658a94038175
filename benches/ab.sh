#!/usr/bin/env bash
# Compares two switchboard builds by server CPU time per request, in alternating ABBA rounds:
# A then B in odd rounds, B then A in even ones, bare axum after each pair. On two shared cores
# a short A-then-B comparison moves by several percent with the slot order alone, so a
# difference counts only when it holds across the two orders.
#
# Usage: benches/ab.sh BIN_A BIN_B
# Needs: wrk (apt-get install -y wrk), and the bare axum baseline built by benches/run.sh
# (target/bench-harness/release/baseline), else it is built first.
# Environment: ROUNDS (default 16), DURATION (seconds per run, default 3), ROUTE (default
# /hello?name=bench).
# Output: one line per round (req/s and CPU µs per request of each), then the medians, the
# paired CPU ratio B/A and in how many rounds B used less CPU per request.

set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${ROUNDS:-16}"
DURATION="${DURATION:-3}"
ROUTE="${ROUTE:-/hello?name=bench}"
BASELINE="$ROOT/target/bench-harness/release/baseline"
WORK="$ROOT/target/bench/ab"
[ "$#" -eq 2 ] || { echo "usage: benches/ab.sh BIN_A BIN_B" >&2; exit 2; }
command -v wrk >/dev/null || { echo "ab.sh: wrk is not installed" >&2; exit 2; }
if [ ! -x "$BASELINE" ]; then
    CARGO_TARGET_DIR="$ROOT/target/bench-harness" cargo build --release --quiet \
        --manifest-path "$ROOT/benches/baseline/Cargo.toml" --bin baseline
fi

rm -rf "$WORK"
mkdir -p "$WORK"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for name in a b; do
    bin="$1"
    shift
    cp -r "$ROOT/benches/hubs/http" "$WORK/hub-$name"
    "$(realpath "$bin")" serve --dir "$WORK/hub-$name" --listen 127.0.0.1:0 --no-watch \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    pids+=("$!")
    echo "$!" >"$WORK/$name.pid"
done
"$BASELINE" >"$WORK/axum.out" 2>"$WORK/axum.err" &
pids+=("$!")
echo "$!" >"$WORK/axum.pid"

url() { grep -o 'http://[0-9.:]*' "$WORK/$1.out" | head -1; }
for name in a b axum; do
    for _ in $(seq 100); do
        [ -n "$(url "$name")" ] && break
        sleep 0.1
    done
    [ -n "$(url "$name")" ] || { echo "ab.sh: $name did not start; see $WORK/$name.err" >&2; exit 1; }
    wrk -t1 -c32 -d1s "$(url "$name")$ROUTE" >/dev/null
done

# One load run: "name req/s cpu-µs-per-request" (user + system time of all the server's threads).
measure() {
    local name=$1 pid before after out requests
    pid="$(cat "$WORK/$name.pid")"
    before="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
    out="$(wrk -t1 -c32 -d"${DURATION}s" "$(url "$name")$ROUTE")"
    after="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
    requests="$(echo "$out" | awk '/ requests in / {print $1}')"
    echo "$name $(echo "$out" | awk '/Requests\/sec/ {print $2}') $(awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')"
}

for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="a b axum"; else order="b a axum"; fi
    line="$round"
    for name in $order; do line="$line $(measure "$name")"; done
    echo "$line"
done | tee "$WORK/rounds.txt"

# Each system's fields by name, whatever the round's order: "req/s cpu" per line.
fields() { awk -v n="$1" '{for (i = 2; i <= NF; i += 3) if ($i == n) print $(i + 1), $(i + 2)}' "$WORK/rounds.txt"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for name in a b axum; do
    printf '%s: median %.0f req/s, %.2f µs CPU per request\n' "$name" \
        "$(fields "$name" | cut -d' ' -f1 | median)" "$(fields "$name" | cut -d' ' -f2 | median)"
done
paste -d' ' <(fields a) <(fields b) <(fields axum) >"$WORK/paired.txt"
printf 'CPU per request, B over A: median %.3f, B lower in %d of %d rounds\n' \
    "$(awk '{print $4 / $2}' "$WORK/paired.txt" | median)" \
    "$(awk '$4 < $2 {n++} END {print n + 0}' "$WORK/paired.txt")" "$(wc -l <"$WORK/paired.txt")"
printf 'req/s vs bare axum, median of rounds: A %.2fx, B %.2fx\n' \
    "$(awk '{print $1 / $5}' "$WORK/paired.txt" | median)" "$(awk '{print $3 / $5}' "$WORK/paired.txt" | median)"
