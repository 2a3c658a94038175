#!/usr/bin/env bash
# MQTT messages per second from publish to recorded run: publishes N QoS 1 messages with
# `mosquitto_pub -l` (one connection) to a hub subscribed with `[[mqtt]] qos = 1`, and times from
# the first publish until N runs are in the run log. Each message is queued durably and
# acknowledged to the broker only then, so this is the whole at-least-once path: broker, queue
# commit, acknowledgement, worker run, run log commit.
#
# Usage: benches/mqtt.sh [BIN]     default: target/release/switchboard (built first)
# Needs: mosquitto, mosquitto_pub (apt-get install -y mosquitto mosquitto-clients), sqlite3.
# Environment: N (messages, default 20000), ROUNDS (default 3).
# The broker is the script's own, on a free port, with `max_queued_messages 0`: the default queue
# of 1000 messages per client drops QoS 1 messages beyond it when the subscriber lags a burst.
# Output: one line per round (seconds, messages/s), then the median.

set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${N:-20000}"
ROUNDS="${ROUNDS:-3}"
WORK="$ROOT/target/bench/mqtt"
for tool in mosquitto mosquitto_pub sqlite3; do
    command -v "$tool" >/dev/null || { echo "mqtt.sh: $tool is not installed" >&2; exit 2; }
done
if [ "$#" -eq 0 ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    set -- "$ROOT/target/release/switchboard"
fi
BIN="$(realpath "$1")"

rm -rf "$WORK"
mkdir -p "$WORK"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n' "$PORT" \
    >"$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

rates=()
for round in $(seq "$ROUNDS"); do
    hub="$WORK/hub-$round"
    mkdir -p "$hub/scripts"
    printf '[connections.bench]\ntype = "mqtt"\nurl = "mqtt://127.0.0.1:%s"\n\n[[mqtt]]\nconnection = "bench"\ntopic = "bench/readings"\nqos = 1\nscript = "reading"\n' \
        "$PORT" >"$hub/switchboard.toml"
    echo 'input.payload' >"$hub/scripts/reading.rhai"
    "$BIN" serve --dir "$hub" --listen 127.0.0.1:0 --no-watch >"$hub/serve.out" 2>"$hub/serve.err" &
    server=$!
    pids+=("$server")
    for _ in $(seq 300); do
        grep -q ': subscribed' "$hub/serve.err" && break
        sleep 0.1
    done
    grep -q ': subscribed' "$hub/serve.err" || { echo "mqtt.sh: the hub did not subscribe" >&2; cat "$hub/serve.err" >&2; exit 1; }
    start=$(date +%s.%N)
    seq "$N" | mosquitto_pub -p "$PORT" -q 1 -t bench/readings -l
    published=$(date +%s.%N)
    count=0
    for _ in $(seq 6000); do
        count=$(sqlite3 "$hub/data/switchboard.db" "SELECT count(*) FROM runs WHERE trigger = 'mqtt'" 2>/dev/null || echo 0)
        [ "$count" -ge "$N" ] && break
        sleep 0.05
    done
    end=$(date +%s.%N)
    kill "$server"
    wait "$server" 2>/dev/null || true
    [ "$count" -ge "$N" ] || { echo "mqtt.sh: only $count of $N runs recorded" >&2; exit 1; }
    rate=$(echo "$N / ($end - $start)" | bc -l)
    printf 'round %s: %s messages in %.2f s (published in %.2f s): %.0f messages/s\n' \
        "$round" "$N" "$(echo "$end - $start" | bc -l)" "$(echo "$published - $start" | bc -l)" "$rate"
    rates+=("$rate")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf 'median: %.0f messages/s from publish to recorded run (QoS 1, %s messages, 4 workers)\n' "$median" "$N"
