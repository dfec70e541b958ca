#!/bin/sh
# services: inference services on `allot server --dev` with its in-process
# agent (real local processes), driven by `allot services`:
#   1. bad input: a replica no node can hold, an SLO below the model's
#      minimum latency, unknown services, usage errors, --help;
#   2. pushed load going up -> replicas launched by the agent (visible in
#      `allot jobs`, bound to their devices, ALLOT_SERVICE/ALLOT_REPLICA set);
#   3. pushes stop -> the signal goes stale and the replicas are held;
#   4. low load -> scaled down, newest first, each drained by SIGTERM;
#   5. delete -> the replicas end and the service is gone;
#   6. load scraped from a local Prometheus endpoint (python3 http.server):
#      a counter becomes a rate.
# The autoscalers' clock runs 30x faster (--service-clock-scale), so their
# one-minute stabilisation takes 2 s.
. "$(dirname "$0")/lib/common.sh"

PIDS=""
cleanup_all() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup_all EXIT

"$ALLOT" server --dev --local-devices 4 --listen 127.0.0.1:0 --data "$TMP/data" \
    --service-step 0.5 --service-clock-scale 30 >"$TMP/server.url" 2>"$TMP/server.log" &
SERVER_PID=$!
PIDS="$SERVER_PID"
i=0
while ! grep -q '^http' "$TMP/server.url" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 200 ] || { cat "$TMP/server.log" >&2; fail "the server did not start"; }
    sleep 0.05
done
export ALLOT_SERVER
ALLOT_SERVER=$(cat "$TMP/server.url")
i=0
while ! "$ALLOT_FAST" nodes 2>/dev/null | grep -q '^local *up'; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "the local agent did not register"
    sleep 0.05
done

# sfield NAME KEY: the first KEY of `allot services show NAME` (JSON)
sfield() {
    "$ALLOT_FAST" services show "$1" | awk -v k="\"$2\":" '$1 == k { gsub(/[",]/, "", $2); print $2; exit }'
}
# wait_field NAME KEY VALUE SECONDS [RPS]: polls (pushing RPS every round when given)
wait_field() {
    n=0
    while [ "$(sfield "$1" "$2")" != "$3" ]; do
        [ -n "${5:-}" ] && "$ALLOT_FAST" services load "$1" --rps "$5" >/dev/null
        n=$((n + 1))
        if [ $n -ge $(($4 * 4)) ]; then
            tail -n 20 "$TMP/server.log" >&2
            fail "service $1: $2 is $(sfield "$1" "$2"), not $3, after $4 s"
        fi
        sleep 0.25
    done
}
running_replicas() { "$ALLOT_FAST" jobs | awk -v s="$1-r" 'index($2, s) == 1 && $4 == "running"' | wc -l; }

say "1. bad input is refused with the numbers, exit codes as the other client commands"
for sub in list show create scale delete load; do
    run "$ALLOT" services "$sub" --help
    expect_rc 0
    expect_out "usage: allot services"
done
run "$ALLOT" services create --devices 8 --chip H100 big -- true
expect_rc 1
expect_err "needs 8 devices of H100 per replica; the largest H100 node has 4"
run "$ALLOT" services create --min 5 --chip H100 many -- true
expect_rc 1
expect_err "min_replicas 5 cannot fit: the fleet's H100 nodes hold at most 4 replicas"
run "$ALLOT" services create --chip H100 --slo 2 slow -- true
expect_rc 1
expect_err "SLO 2 s is below the model's minimum latency 2.625 s"
run "$ALLOT" services create --chip H100 --policy magic x -- true
expect_rc 1
expect_err "policy: one of hpa, knative, predictive, allot"
run "$ALLOT" services load nope --rps 1
expect_rc 5
run "$ALLOT" services load --rps -1 x
expect_rc 2
run "$ALLOT" services create --min x y -- true
expect_rc 2
run "$ALLOT" services create -- true
expect_rc 2
run "$ALLOT" services frob
expect_rc 2
run "$ALLOT" services list --server 127.0.0.1:1
expect_rc 3

say "2. load going up: replicas launched by the agent"
run "$ALLOT" services create --chip H100 --rps 2 --slots 1 --cold-start 0 --drain 2 \
    --max 4 --signal-timeout 2 web -- \
    sh -c 'echo "replica $ALLOT_REPLICA of $ALLOT_SERVICE on $CUDA_VISIBLE_DEVICES"; while :; do sleep 0.2; done'
expect_rc 0
expect_out "web"
wait_field web ready 1 10
[ "$(sfield web signal)" = none ] || fail "signal $(sfield web signal) before any sample, not none"
for rps in 1 2 4 8; do
    run "$ALLOT" services load web --rps $rps --queue 1
    expect_rc 0
    expect_out "signal ok"
    sleep 0.6
done
wait_field web wanted 4 10 8
wait_field web ready 4 10 8
[ "$(running_replicas web)" -eq 4 ] || fail "$(running_replicas web) web replicas running, not 4"
"$ALLOT_FAST" jobs --all -o json >"$TMP/jobs.json"
grep -q '"service": "web"' "$TMP/jobs.json" || fail "the jobs do not say their service"
"$ALLOT_FAST" logs 1 | grep -Eq '^replica 0 of web on [0-3]$' || fail "replica 0 logged: $("$ALLOT_FAST" logs 1)"
run "$ALLOT" services
expect_rc 0
expect_out "4/4 (1-4)"

say "3. no more samples: stale, the replicas are held"
sleep 4 # 2 s signal timeout, then 2 minutes of the autoscaler's clock
[ "$(sfield web signal)" = stale ] || fail "signal $(sfield web signal), not stale"
[ "$(sfield web wanted)" = 4 ] || fail "a stale signal scaled web to $(sfield web wanted)"
[ "$(running_replicas web)" -eq 4 ] || fail "$(running_replicas web) replicas running while stale"
grep -q "signal is stale" "$TMP/server.log" || fail "the server did not log the stale signal"
run "$ALLOT" services
expect_out "stale"

say "4. low load: scaled down to 1, the newest first, drained by SIGTERM"
wait_field web wanted 1 30 0.2
wait_field web draining 0 15 0.2
[ "$(running_replicas web)" -eq 1 ] || fail "$(running_replicas web) replicas running, not 1"
"$ALLOT_FAST" jobs --all | awk '$2 == "web-r0" && $4 == "running"' | grep -q . || fail "replica 0 did not stay"
"$ALLOT_FAST" jobs --all | grep 'web-r3' | grep -q 'scaled down: drained (signal 15)' ||
    fail "replica 3 was not drained by SIGTERM: $("$ALLOT_FAST" jobs --all | grep web-r3)"

say "5. delete: the replicas end, the service is gone"
run "$ALLOT" services delete web
expect_rc 0
n=0
while "$ALLOT_FAST" services show web >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -lt 60 ] || fail "service web still there 15 s after delete"
    sleep 0.25
done
[ "$(running_replicas web)" -eq 0 ] || fail "replicas still running after delete"
run "$ALLOT" services delete web
expect_rc 5

say "6. load scraped from a Prometheus endpoint: a counter becomes a rate"
need_python
mkdir -p "$TMP/www"
echo 'app_requests_total 0' >"$TMP/www/metrics"
"$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory "$TMP/www" >"$TMP/http.out" 2>"$TMP/http.err" &
PIDS="$PIDS $!"
n=0
while ! grep -q 'port [0-9]' "$TMP/http.out" 2>/dev/null; do
    n=$((n + 1))
    [ $n -lt 100 ] || fail "python3 http.server did not start: $(cat "$TMP/http.err")"
    sleep 0.1
done
HPORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$TMP/http.out" | head -n 1)
( c=0; while :; do # 10 requests/s, and 2 queued
    c=$((c + 1))
    printf '# TYPE app_requests_total counter\napp_requests_total %d\n# TYPE app_queue gauge\napp_queue 2\n' $c \
        >"$TMP/www/metrics.tmp" && mv "$TMP/www/metrics.tmp" "$TMP/www/metrics"
    sleep 0.1
done ) &
PIDS="$PIDS $!"
run "$ALLOT" services create --chip H100 --rps 2 --slots 1 --cold-start 0 --drain 1 --max 4 \
    --scrape "http://127.0.0.1:$HPORT/metrics" --rps-metric app_requests_total \
    --queue-metric app_queue --interval 0.5 scraped -- sh -c 'while :; do sleep 0.2; done'
expect_rc 0
wait_field scraped signal ok 10
wait_field scraped queue 2 5
rps=$(sfield scraped rps)
awk -v r="$rps" 'BEGIN { exit !(r > 4 && r < 16) }' || fail "scraped rate $rps req/s, not about 10"
wait_field scraped wanted 4 15
run "$ALLOT" services delete scraped
expect_rc 0

kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
if grep -E -q 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$TMP/server.log"; then
    grep -E -A5 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/server.log" | head -40 >&2
    fail "a sanitizer reported something in the server"
fi
say "ok"
