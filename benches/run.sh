#!/usr/bin/env bash
# Switchboard's benchmark harness (issue 7): builds switchboard and the bare axum baseline in
# release, installs the load tool if missing, runs the criterion micro-benchmarks and then the
# driver, which measures everything side by side on loopback and prints the tables. See
# BENCHMARKS.md for what is measured how.
#
#   benches/run.sh             full run
#   QUICK=1 benches/run.sh     shorter runs and fewer samples (still 3 rounds)
#
# Environment:
#   QUICK=1          shorter: 2 s load runs, 15 s of cron, fewer edits/files/starts, no peers
#   DURATION=N       seconds per load run (default 5; 2 with QUICK=1)
#   ROUNDS=N         rounds of every side-by-side comparison (default 3; the median is reported)
#   CONNECTIONS=N    load connections (default 32)
#   LOAD_TOOL=wrk|oha   default: wrk (from Debian when root with apt-get), else oha (cargo install)
#   PEERS=0|1        also measure Node-RED (npm) and adnanh/webhook (Debian) if they install
#                    (default 1; 0 with QUICK=1)
#   MICRO=0          skip the criterion micro-benchmarks
#   ONLY=a,b         only these driver phases: micro, http, queue, footprint, reload, watch, cron
#   COMPARE=BIN      also measure another switchboard binary (an older build) in the HTTP phase
#
# Output: the tables on stdout (also target/bench/results.md); logs under target/bench/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/bench"
HARNESS_TARGET="$ROOT/target/bench-harness"
QUICK="${QUICK:-0}"
[ "$QUICK" = 0 ] && QUICK=""
export QUICK
MICRO="${MICRO:-1}"
case ",${ONLY:-micro}," in *,micro,*) ;; *) MICRO=0 ;; esac
if [ -n "$QUICK" ]; then PEERS="${PEERS:-0}"; else PEERS="${PEERS:-1}"; fi
mkdir -p "$OUT"
started=$(date +%s)

say() { printf '%s\n' "$*" >&2; }
elapsed() { echo $(($(date +%s) - $1)); }

apt_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$OUT/apt.log" 2>&1; then
        apt-get update -qq >>"$OUT/apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$OUT/apt.log" 2>&1
    fi
}

# 1. The load tool.
find_oha() { command -v oha 2>/dev/null || { [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/oha" ] && echo "${CARGO_HOME:-$HOME/.cargo}/bin/oha"; }; }
LOAD_TOOL="${LOAD_TOOL:-}"
if [ -z "$LOAD_TOOL" ]; then
    if command -v wrk >/dev/null 2>&1; then LOAD_TOOL=wrk
    elif find_oha >/dev/null; then LOAD_TOOL=oha
    elif say "installing wrk (apt-get)" && apt_install wrk; then LOAD_TOOL=wrk
    else LOAD_TOOL=oha
    fi
fi
case "$LOAD_TOOL" in
    wrk)
        command -v wrk >/dev/null 2>&1 || apt_install wrk || { say "cannot install wrk; try LOAD_TOOL=oha"; exit 2; }
        TOOL_PATH="$(command -v wrk)" ;;
    oha)
        if ! find_oha >/dev/null; then
            say "installing oha (cargo install --locked oha)"
            cargo install --locked oha
        fi
        TOOL_PATH="$(find_oha)" ;;
    *) say "LOAD_TOOL must be wrk or oha"; exit 2 ;;
esac
say "load tool: $TOOL_PATH"

# 2. Builds (release).
t=$(date +%s)
if [ "$MICRO" != 0 ]; then
    # `cargo bench` builds target/release/switchboard too (with the dev-dependencies' features
    # unified in, which changes the binary by a few KB); building it a second time without them
    # would cost another full LTO build, so that binary is the one measured.
    say "building switchboard and the criterion benchmarks (cargo bench --bench runner --no-run)"
    cargo bench --bench runner --no-run
else
    say "building switchboard (cargo build --release)"
    cargo build --release --bin switchboard
fi
# A copy, so that a later cargo command cannot change the binary under test mid-run.
cp target/release/switchboard "$OUT/switchboard"
say "building the bare axum baseline and the driver (benches/baseline)"
CARGO_TARGET_DIR="$HARNESS_TARGET" cargo build --release --manifest-path benches/baseline/Cargo.toml
build_s=$(elapsed "$t")

# 3. Peers: only if they install quickly from Debian and npm.
PEER_ARGS=()
if [ "$PEERS" != 0 ]; then
    t=$(date +%s)
    if ! command -v webhook >/dev/null 2>&1; then
        say "installing adnanh/webhook (apt-get)"
        apt_install webhook || say "webhook did not install; skipped"
    fi
    if command -v webhook >/dev/null 2>&1; then PEER_ARGS+=(--webhook "$(command -v webhook)"); fi
    RED="$OUT/peers/node_modules/node-red/red.js"
    if [ ! -f "$RED" ] && command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
        # Node-RED 5 needs Node.js >= 22.9; Debian's Node.js may be older, and 4.x runs on it.
        if node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 9) ? 0 : 1)'; then
            RED_VERSION=5
        else
            RED_VERSION=4
        fi
        say "installing Node-RED (npm install node-red@$RED_VERSION)"
        mkdir -p "$OUT/peers"
        timeout 300 npm install --prefix "$OUT/peers" --no-audit --no-fund --loglevel=error "node-red@$RED_VERSION" >"$OUT/npm.log" 2>&1 \
            || say "Node-RED did not install (see $OUT/npm.log); skipped"
    fi
    if [ -f "$RED" ] && command -v node >/dev/null 2>&1; then PEER_ARGS+=(--node "$(command -v node)" --node-red "$RED"); fi
    say "peers ready in $(elapsed "$t") s"
fi

# 4. Measure. Other work on the machine skews every figure: say how busy it is.
say "load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
if awk -v cores="$(nproc)" '{ exit !($1 > cores / 4) }' /proc/loadavg; then
    say "warning: the machine is not quiet; figures may be pessimistic. Re-run when the load average is low."
fi
t=$(date +%s)
CRITERION_ARGS=()
if [ "$MICRO" != 0 ]; then
    say "criterion micro-benchmarks (output: $OUT/criterion.log)"
    rm -rf "$OUT/criterion"
    if [ -n "$QUICK" ]; then set -- --warm-up-time 1 --measurement-time 2; else set -- --warm-up-time 1 --measurement-time 4; fi
    CRITERION_HOME="$OUT/criterion" cargo bench --bench runner -- "$@" >"$OUT/criterion.log" 2>&1 \
        || { say "criterion failed:"; tail -20 "$OUT/criterion.log" >&2; exit 1; }
    CRITERION_ARGS=(--criterion "$OUT/criterion")
fi
ONLY_ARGS=()
if [ -n "${ONLY:-}" ]; then ONLY_ARGS=(--only "$ONLY"); fi
if [ -n "${COMPARE:-}" ]; then ONLY_ARGS+=(--compare "$COMPARE"); fi
"$HARNESS_TARGET/release/bench-driver" \
    --root "$ROOT" \
    --switchboard "$OUT/switchboard" \
    --baseline "$HARNESS_TARGET/release/baseline" \
    --rhai-inline "$HARNESS_TARGET/release/rhai-inline" \
    --work "$OUT/work" \
    --tool "$LOAD_TOOL" --tool-path "$TOOL_PATH" \
    --out "$OUT/results.md" \
    "${CRITERION_ARGS[@]}" "${PEER_ARGS[@]}" "${ONLY_ARGS[@]}"
say "builds took ${build_s} s, measuring $(elapsed "$t") s, in all $(elapsed "$started") s; results in $OUT/results.md"
