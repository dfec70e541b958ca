#!/bin/sh
# server_e2e: allot server + two allot agents + the client commands on
# loopback, with real processes:
#   1. a 2-task gang job runs on both nodes, each task bound to exactly its
#      devices (the environment each process saw is checked in its log);
#   2. a tenant can neither see, read nor cancel another tenant's job;
#   3. a failing task fails its job with its exit code;
#   4. an agent killed with SIGKILL: its node goes down, its job is requeued
#      and runs again on the other node;
#   5. the server killed with SIGKILL and restarted: a running job keeps
#      running (same epoch) and finishes;
#   6. SIGKILL of the server during a submission storm, three times: every
#      acknowledged job is there afterwards.
. "$(dirname "$0")/lib/common.sh"

ADMIN=admin-token-e2e-0123456789
AGENT=agent-token-e2e-0123456789
TA=tenant-a-token-e2e-0123456789
TB=tenant-b-token-e2e-0123456789
cat >"$TMP/allot.ini" <<EOF
[server]
listen = 127.0.0.1:0
admin_token = $ADMIN
agent_token = $AGENT
node_timeout = 3
heartbeat_interval = 1
[tenant.a]
token = $TA
[tenant.b]
token = $TB
EOF
chmod 600 "$TMP/allot.ini"
DATA=$TMP/data
PIDS=""
cleanup_all() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    pkill -9 -f "allot-e2e-marker-$$" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup_all EXIT

start_server() { # [port] -> SERVER_PID, URL
    rm -f "$TMP/server.url"
    "$ALLOT" server --config "$TMP/allot.ini" --data "$DATA" ${1:+--listen 127.0.0.1:$1} \
        >"$TMP/server.url" 2>>"$TMP/server.log" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    i=0
    while ! grep -q '^http' "$TMP/server.url" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 200 ] || { cat "$TMP/server.log" >&2; fail "the server did not start"; }
        sleep 0.05
    done
    URL=$(cat "$TMP/server.url")
    PORT=${URL##*:}
}

start_agent() { # name -> AGENT_PID_<name>
    ALLOT_TOKEN=$AGENT "$ALLOT" agent --server "$URL" --name "$1" --devices 4 --chip H100 \
        --work-dir "$TMP/$1" --poll 1 --grace 1 2>>"$TMP/agent-$1.log" &
    eval "AGENT_PID_$1=$!"
    PIDS="$PIDS $!"
}

# jfield ID FIELD: a field of a job (the first with that name in its object)
jfield() {
    ALLOT_TOKEN=$ADMIN "$ALLOT_FAST" jobs --server "$URL" --all -o json |
        awk -v id="$1" -v f="\"$2\":" '$1 == "\"id\":" { cur = ($2 == id ",") }
            cur && $1 == f { gsub(/[",]/, "", $2); print $2; exit }'
}

wait_state() { # ID STATE [seconds]
    n=0
    lim=$(( ${3:-30} * 10 ))
    while [ "$(jfield "$1" state)" != "$2" ]; do
        n=$((n + 1))
        if [ $n -ge $lim ]; then
            tail -n 20 "$TMP/server.log" >&2
            fail "job $1 is $(jfield "$1" state) ($(jfield "$1" reason)), not $2, after ${3:-30} s"
        fi
        sleep 0.1
    done
}

wait_nodes_up() { # N
    n=0
    while [ "$(ALLOT_TOKEN=$ADMIN "$ALLOT_FAST" nodes --server "$URL" | awk '$2 == "up"' | wc -l)" -lt "$1" ]; do
        n=$((n + 1))
        [ $n -lt 200 ] || fail "fewer than $1 nodes up"
        sleep 0.1
    done
}

start_server
start_agent a1
start_agent a2
wait_nodes_up 2

say "1. a gang of two 3-device tasks: one per node, each bound to its devices"
run env ALLOT_TOKEN=$TA "$ALLOT" submit --server "$URL" --devices 3 --gang-size 2 -- \
    sh -c 'echo "vis=$CUDA_VISIBLE_DEVICES npu=$ASCEND_RT_VISIBLE_DEVICES node=$ALLOT_NODE task=$ALLOT_TASK_ID gang=$ALLOT_GANG_SIZE"'
expect_rc 0
GANG=$(cat "$TMP/out")
case $GANG in '' | *[!0-9]*) fail "submit printed '$GANG', not a job id" ;; esac
wait_state "$GANG" succeeded
for t in 0 1; do
    ALLOT_TOKEN=$TA "$ALLOT_FAST" logs --server "$URL" --task $t "$GANG" >"$TMP/log$t" ||
        fail "logs of task $t"
    grep -Eq "^vis=[0-3],[0-3],[0-3] npu=[0-3],[0-3],[0-3] node=a[12] task=$t gang=2$" "$TMP/log$t" ||
        fail "task $t saw: $(cat "$TMP/log$t")"
    v=$(sed 's/^vis=\([^ ]*\) npu=\([^ ]*\).*/\1 \2/' "$TMP/log$t")
    [ "${v% *}" = "${v#* }" ] || fail "CUDA and NPU device lists differ: $v"
done
n0=$(sed 's/.*node=\(a[12]\).*/\1/' "$TMP/log0")
n1=$(sed 's/.*node=\(a[12]\).*/\1/' "$TMP/log1")
[ "$n0" != "$n1" ] || fail "both tasks ran on $n0 (4 devices cannot hold 2 x 3)"

say "2. tenant b cannot read or cancel tenant a's job"
run env ALLOT_TOKEN=$TB "$ALLOT" cancel --server "$URL" "$GANG"
expect_rc 5
run env ALLOT_TOKEN=$TB "$ALLOT" logs --server "$URL" "$GANG"
expect_rc 5
run env ALLOT_TOKEN=$TB "$ALLOT" jobs --server "$URL" --all -o json
expect_rc 0
grep -q "\"id\": $GANG," "$TMP/out" && fail "tenant b lists tenant a's job"
run env ALLOT_TOKEN=wrong-token-0123456789 "$ALLOT" jobs --server "$URL"
expect_rc 4

say "3. a task that exits 7 fails its job with exit code 7"
FAILJ=$(ALLOT_TOKEN=$TB "$ALLOT_FAST" submit --server "$URL" -- sh -c 'echo oops >&2; exit 7')
wait_state "$FAILJ" failed
[ "$(jfield "$FAILJ" exit_code)" = 7 ] || fail "exit code $(jfield "$FAILJ" exit_code), not 7"
[ "$(ALLOT_TOKEN=$TB "$ALLOT_FAST" logs --server "$URL" --stderr "$FAILJ")" = oops ] || fail "stderr log"

say "4. SIGKILL of an agent: its node goes down, the job is requeued and reruns elsewhere"
LONG=$(ALLOT_TOKEN=$TA "$ALLOT_FAST" submit --server "$URL" --devices 4 -- \
    sh -c 'sleep 3; echo "done on $ALLOT_NODE" # allot-e2e-marker-'$$)
wait_state "$LONG" running
sleep 0.5
node=$(jfield "$LONG" node)
case $node in a1 | a2) ;; *) fail "job $LONG runs on '$node'" ;; esac
eval "kill -9 \$AGENT_PID_$node"
pkill -9 -f "allot-e2e-marker-$$" # its task dies with the machine
wait_state "$LONG" succeeded 30
[ "$(jfield "$LONG" epoch)" = 2 ] || fail "job $LONG has epoch $(jfield "$LONG" epoch), not 2"
other=$( [ "$node" = a1 ] && echo a2 || echo a1)
ALLOT_TOKEN=$TA "$ALLOT_FAST" logs --server "$URL" "$LONG" | grep -q "done on $other" ||
    fail "the rerun did not happen on $other"
grep -q "node $node is down" "$TMP/server.log" || fail "the server did not log node $node down"
start_agent "$node"
wait_nodes_up 2

say "5. SIGKILL of the server: a running job keeps running and finishes (same epoch)"
RUNJ=$(ALLOT_TOKEN=$TA "$ALLOT_FAST" submit --server "$URL" --devices 1 -- sh -c 'sleep 3; echo survived')
wait_state "$RUNJ" running
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
start_server "$PORT"
[ "$(jfield "$RUNJ" state)" = running ] || fail "after the restart job $RUNJ is $(jfield "$RUNJ" state)"
wait_state "$RUNJ" succeeded 30
[ "$(jfield "$RUNJ" epoch)" = 1 ] || fail "job $RUNJ was restarted (epoch $(jfield "$RUNJ" epoch))"
[ "$(ALLOT_TOKEN=$TA "$ALLOT_FAST" logs --server "$URL" "$RUNJ")" = survived ] || fail "its log"

say "6. SIGKILL of the server during a submission storm, 3 times: no acknowledged job lost"
for round in 1 2 3; do
    for k in 1 2 3 4; do
        (while :; do
            id=$(ALLOT_TOKEN=$TA "$ALLOT_FAST" submit --server "$URL" --devices 0 --cpu 10m -- true 2>/dev/null) ||
                break
            echo "$id" >>"$TMP/acked.$round.$k"
        done) &
        PIDS="$PIDS $!"
    done
    sleep 1.5
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    sleep 0.3 # the submit loops see the server gone and stop
    start_server "$PORT"
    cat "$TMP"/acked.$round.* >"$TMP/acked" 2>/dev/null
    acked=$(wc -l <"$TMP/acked")
    [ "$acked" -gt 10 ] || fail "round $round: only $acked submissions were acknowledged"
    ALLOT_TOKEN=$ADMIN "$ALLOT_FAST" jobs --server "$URL" --all -o json |
        awk '$1 == "\"id\":" { sub(",", "", $2); print $2 }' | sort >"$TMP/present"
    lost=$(sort "$TMP/acked" | comm -23 - "$TMP/present" | wc -l)
    say "round $round: $acked acknowledged, $lost lost"
    [ "$lost" -eq 0 ] || fail "round $round: $lost acknowledged jobs are missing"
done

no_sanitizer_file() {
    if grep -E -q 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$@"; then
        grep -E -A5 'AddressSanitizer|LeakSanitizer|runtime error:' "$@" | head -40 >&2
        fail "a sanitizer reported something"
    fi
}
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
no_sanitizer_file "$TMP/server.log" "$TMP"/agent-*.log
say "ok"
