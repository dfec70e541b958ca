#!/bin/sh
# bench/api_bench.sh [BUILD] - the POST /v1/jobs rate of a local allot server,
# run by `make bench` and `make api-bench`: starts `allot server` on a free
# loopback port with a scratch data directory, runs build/api_bench against it
# (16 clients, API_BENCH_SECONDS, default 5) and stops the server. Skips (exit
# 0) when this build of allot has no server command.
set -u
BUILD=${1:-build}
ALLOT=$BUILD/allot
BENCH=$BUILD/api_bench
SECONDS_=${API_BENCH_SECONDS:-5}
CLIENTS=${API_BENCH_CLIENTS:-16}
PORT=${API_BENCH_PORT:-$((20000 + $$ % 20000))}

[ -x "$BENCH" ] || { echo "api_bench: $BENCH is not built (make $BENCH)" >&2; exit 1; }
if ! "$ALLOT" server --help >/dev/null 2>&1; then
    echo "api_bench: skipped ($ALLOT has no 'server' command in this build)"
    exit 0
fi
DATA=$(mktemp -d /tmp/allot-api-bench.XXXXXX)
# two simulated nodes so that submissions are schedulable (no 422 for an empty fleet)
"$ALLOT" server --listen "127.0.0.1:$PORT" --data "$DATA" --sim-nodes 2 --quiet \
    >"$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null
    wait "$SERVER" 2>/dev/null
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
i=0
until "$ALLOT" jobs --server "127.0.0.1:$PORT" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge 100 ] || ! kill -0 "$SERVER" 2>/dev/null; then
        echo "api_bench: the server did not come up; its log:" >&2
        tail -n 20 "$DATA/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
echo "== api_bench: $CLIENTS clients for ${SECONDS_} s against allot server (data in $DATA)"
# CPU-only jobs that do not end during the run: the rate of taking, scheduling and
# committing submissions, nothing else
"$BENCH" --server "127.0.0.1:$PORT" --clients "$CLIENTS" --seconds "$SECONDS_" \
    --body '{"command":["sleep","100000"],"devices":0,"name":"api-bench"}'
