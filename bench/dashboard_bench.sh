#!/bin/sh
# bench/dashboard_bench.sh [BUILD] - the dashboard with 10,000 nodes and
# 100,000 jobs, run by `make bench` and `make dashboard-bench`:
#   allot server --dev --sim-nodes 10000 on a loopback port, 95,000 long jobs
#   and 5,000 short ones (30 s) submitted through the API (build/api_bench),
#   then bench/dashboard_bench.mjs drives headless chromium over the views and
#   prints the time to first render and the cost of a live update, plus the
#   sizes and server times of the JSON the page reads.
# Skips (exit 0) when node, chromium or playwright-core is missing.
set -u
BUILD=${1:-build}
ALLOT=$BUILD/allot
BENCH=$BUILD/api_bench
NODES=${DASH_BENCH_NODES:-10000}
JOBS=${DASH_BENCH_JOBS:-100000}
PORT=${DASH_BENCH_PORT:-$((20000 + ($$ + 7) % 20000))}
PW_DIR=$BUILD/web

for need in node /usr/bin/chromium "$PW_DIR/node_modules/playwright-core" "$BENCH"; do
    if ! command -v "$need" >/dev/null 2>&1 && [ ! -e "$need" ]; then
        echo "dashboard_bench: skipped ($need is missing)"
        exit 0
    fi
done
DATA=$(mktemp -d /tmp/allot-dash-bench.XXXXXX)
"$ALLOT" server --dev --listen "127.0.0.1:$PORT" --data "$DATA" --sim-nodes "$NODES" --quiet \
    >"$DATA/server.url" 2>"$DATA/server.log" &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null
    wait "$SERVER" 2>/dev/null
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
i=0
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge 300 ] || ! kill -0 "$SERVER" 2>/dev/null; then
        echo "dashboard_bench: the server did not come up; its log:" >&2
        tail -n 20 "$DATA/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
short=$((JOBS / 20))
long=$((JOBS - short))
echo "== dashboard_bench: $NODES simulated nodes x 8 H100, $long long jobs + $short short ones (30 s)"
t0=$(date +%s.%N)
"$BENCH" --server "127.0.0.1:$PORT" --clients 16 --jobs "$long" \
    --body '{"command":["sleep","1"],"devices":1,"name":"bench-long","env":{"ALLOT_SIM_DURATION":"3600"}}' |
    tail -n 1
"$BENCH" --server "127.0.0.1:$PORT" --clients 16 --jobs "$short" \
    --body '{"command":["sleep","1"],"devices":1,"name":"bench-short","env":{"ALLOT_SIM_DURATION":"30"}}' |
    tail -n 1
t1=$(date +%s.%N)
echo "submitted $JOBS jobs in $(echo "$t1 - $t0" | bc 2>/dev/null || echo '?') s"
curl -s "http://127.0.0.1:$PORT/healthz"
echo
# what the page reads: size and time of one request each
for p in /v1/fleet "/v1/queue?state=all&limit=100" "/v1/queue?state=all&sort=wait&order=desc&limit=100" \
    /v1/stats/history /v1/tenants; do
    curl -s -o /dev/null -w "GET $p: %{size_download} bytes in %{time_total} s\n" "http://127.0.0.1:$PORT$p"
done
PW_DIR=$PW_DIR node bench/dashboard_bench.mjs "http://127.0.0.1:$PORT"
echo "(command: sh bench/dashboard_bench.sh $BUILD; $(nproc) cores, chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
