#!/usr/bin/env bash
# bench/slurm_compare.sh - allot against Slurm on the same inventory and job list.
#
#   slurm_compare.sh [-N NODES] [-n JOBS] [-t SECONDS] [-g DIST] [-s SEED] [-w FILE]
#                    [-P PORT] [-c CLIENTS] [-b BENCH_JOBS] [-T TIMEOUT] [-S | -A] [-o DIR]
#
#   -N 8           simulated nodes, 8 GPUs each (Slurm: slurmd per node; allot: one agent each)
#   -n 60          jobs to generate (ignored with -w)
#   -t 5-20        run time per job in seconds: N or LO-HI (uniform); 0 runs `true`
#   -g DIST        GPUs per job as value:weight, default "1:40,2:20,4:20,8:15,16:5" (above 8:
#                  whole nodes, a gang of GPUS/8 tasks of 8)
#   -s 1           seed of the generated job list
#   -w FILE        job list instead: one "GPUS SECONDS [PRIORITY]" per line
#   -P 18300       allot server port (loopback)
#   -c 16 -b 2000  api_bench clients and requests for allot's raw submission rate
#   -T 1800        give up waiting for a scheduler to drain after this many seconds
#   -S / -A        skip Slurm / skip allot
#   -o DIR         keep everything here (default /tmp/slurm-compare-<time>)
#
# The job list is generated with bench.sh's generator (same awk program, same seed), saved as
# DIR/workload.txt and fed to both:
#   Slurm:  ../shared/peers/slurm/setup.sh N; bench.sh -w workload.txt; stop.sh (always)
#   allot:  allot server --listen 127.0.0.1:PORT --data DIR/allot-data, N agents
#           (allot agent --name simK --devices 8 --chip H100 --work-dir DIR/agents/simK),
#           one `allot submit --devices G --time LIMIT -- sleep S` per job (a gang of G/8 tasks
#           x 8 devices above 8), then build/api_bench for the raw POST /v1/jobs rate.
# Printed for both: submissions/s, jobs completed/s (jobs / first submit to last end),
# submit-to-start latency mean/p50/p99, and the ratios allot/Slurm. allot's per-job times come
# from `allot jobs --all -o json` (submit_time, start_time, launch_time, end_time); both sides'
# jobs.csv also go through the peer's scheduler-neutral analyze.py report.
# Environment: ALLOT (default build/allot), API_BENCH (build/api_bench), SLURM_PEER
# (../shared/peers/slurm), AGENT_EXTRA (extra agent flags), SERVER_EXTRA (extra server flags).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ALLOT=${ALLOT:-$ROOT/build/allot}
API_BENCH=${API_BENCH:-$ROOT/build/api_bench}
SLURM_PEER=${SLURM_PEER:-$ROOT/../shared/peers/slurm}
GPN=8

N=8 JOBS=60 RT=5-20 DIST="1:40,2:20,4:20,8:15,16:5" SEED=1 WL="" PORT=18300 CLIENTS=16
BENCH_JOBS=2000 TIMEOUT=1800 DO_SLURM=1 DO_ALLOT=1 OUT=""
while getopts "N:n:t:g:s:w:P:c:b:T:SAo:h" o; do
    case $o in
    N) N=$OPTARG ;; n) JOBS=$OPTARG ;; t) RT=$OPTARG ;; g) DIST=$OPTARG ;; s) SEED=$OPTARG ;;
    w) WL=$OPTARG ;; P) PORT=$OPTARG ;; c) CLIENTS=$OPTARG ;; b) BENCH_JOBS=$OPTARG ;;
    T) TIMEOUT=$OPTARG ;; S) DO_SLURM=0 ;; A) DO_ALLOT=0 ;; o) OUT=$OPTARG ;;
    *) sed -n '2,/^set /{/^#/p}' "$0"; exit 2 ;;
    esac
done
OUT=${OUT:-/tmp/slurm-compare-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
log() { printf '[compare %s] %s\n' "$(date +%T)" "$*"; }

# ---- 1. the job list (bench.sh's generator, verbatim algorithm) ----------------------------
if [ -n "$WL" ]; then
    grep -v '^\s*\(#\|$\)' "$WL" >"$OUT/workload.txt"
else
    awk -v n="$JOBS" -v dist="$DIST" -v rt="$RT" -v seed="$SEED" 'BEGIN {
    srand(seed); k = split(dist, pairs, ","); tot = 0
    for (i = 1; i <= k; i++) { split(pairs[i], vw, ":"); val[i] = vw[1]; w[i] = vw[2]; tot += vw[2] }
    lo = rt; hi = rt; if (index(rt, "-")) { split(rt, r, "-"); lo = r[1]; hi = r[2] }
    for (j = 1; j <= n; j++) {
      x = rand() * tot; for (i = 1; i < k && x >= w[i]; i++) x -= w[i]
      printf "%d %d\n", val[i], lo + int(rand() * (hi - lo + 1))
    } }' >"$OUT/workload.txt"
fi
NJOBS=$(wc -l <"$OUT/workload.txt")
log "job list: $NJOBS jobs, $N nodes x $GPN GPUs; everything in $OUT"

# figures from a jobs.csv (analyze.py's columns idx,jobid,gpus,seconds,submit,start,end,...)
# plus the submission wall time: "sub_rate done_rate lat_mean lat_p50 lat_p99 n_done"
figures() { # jobs.csv sub_t0 sub_t1
    "$PY" - "$@" <<'PYEOF'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
s0, s1 = float(sys.argv[2]), float(sys.argv[3])
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(math.ceil(p / 100 * len(xs))) - 1))] if xs else float('nan')
lat = [float(r['start']) - float(r['submit']) for r in rows if r['start'] and r['submit']]
done = [r for r in rows if r['end']]
subs = [float(r['submit']) for r in rows if r['submit']]
span = max(float(r['end']) for r in done) - min(subs) if done and subs else float('nan')
print('%.3f %.4f %.3f %.3f %.3f %d' % (len(rows) / max(s1 - s0, 1e-9), len(done) / span if span == span else float('nan'),
      sum(lat) / len(lat) if lat else float('nan'), pct(lat, 50), pct(lat, 99), len(done)))
PYEOF
}

SLURM_UP=0 SERVER_PID="" AGENT_PIDS=()
cleanup() {
    if [ "$SLURM_UP" = 1 ]; then
        log "stopping Slurm"
        "$SLURM_PEER/stop.sh" >>"$OUT/slurm-stop.log" 2>&1 || true
    fi
    for p in "${AGENT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    for p in "${AGENT_PIDS[@]}" $SERVER_PID; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 2. Slurm ---------------------------------------------------------------------------------
SL="nan nan nan nan nan nan"
if [ "$DO_SLURM" = 1 ]; then
    sim=${SIM_DIR:-/tmp/slurm-sim}
    if [ -e "$sim/run/slurmctld.pid" ] && kill -0 "$(cat "$sim/run/slurmctld.pid")" 2>/dev/null; then
        echo "a simulated Slurm cluster is already running in $sim (not ours); run stop.sh first" >&2
        exit 1
    fi
    log "Slurm: setup.sh $N"
    SLURM_UP=1 # from here on, stop.sh runs on exit whatever happens
    "$SLURM_PEER/setup.sh" "$N" >"$OUT/slurm-setup.log" 2>&1 ||
        { tail -n 20 "$OUT/slurm-setup.log" >&2; echo "slurm setup failed" >&2; exit 1; }
    log "Slurm: bench.sh -w workload.txt"
    "$SLURM_PEER/bench.sh" -w "$OUT/workload.txt" -T "$TIMEOUT" >"$OUT/slurm-bench.log" 2>&1 ||
        { tail -n 20 "$OUT/slurm-bench.log" >&2; echo "slurm bench failed" >&2; exit 1; }
    "$SLURM_PEER/stop.sh" >>"$OUT/slurm-stop.log" 2>&1 || true
    SLURM_UP=0
    sdir=$(sed -n 's/^details: //p' "$OUT/slurm-bench.log" | tail -n 1)
    cp "$sdir/jobs.csv" "$OUT/slurm-jobs.csv"
    # the sbatch loop's wall clock, as bench.sh printed it
    sub_s=$(sed -n 's/^submitted in \([0-9.]*\) s$/\1/p' "$OUT/slurm-bench.log")
    SL=$(figures "$OUT/slurm-jobs.csv" 0 "$sub_s")
    sed -n '/^== Slurm/,/^details/p' "$OUT/slurm-bench.log"
fi

# ---- 3. allot ---------------------------------------------------------------------------------
AL="nan nan nan nan nan nan" AL_LAUNCH="nan" AB_RATE="nan" AB_P50="nan" AB_P99="nan"
if [ "$DO_ALLOT" = 1 ]; then
    [ -x "$ALLOT" ] || { echo "$ALLOT is not built" >&2; exit 1; }
    export ALLOT_SERVER="http://127.0.0.1:$PORT"
    unset ALLOT_TOKEN # --dev: no tokens
    rm -rf "$OUT/allot-data" "$OUT/agents"
    mkdir -p "$OUT/allot-data" "$OUT/agents"
    log "allot: server on 127.0.0.1:$PORT"
    # shellcheck disable=SC2086
    "$ALLOT" server --listen "127.0.0.1:$PORT" --data "$OUT/allot-data" ${SERVER_EXTRA:-} \
        >"$OUT/allot-server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do "$ALLOT" jobs >/dev/null 2>&1 && break; sleep 0.1; done
    "$ALLOT" jobs >/dev/null || { tail -n 20 "$OUT/allot-server.log" >&2; exit 1; }
    log "allot: $N agents"
    for ((k = 1; k <= N; k++)); do
        name=$(printf 'sim%04d' "$k")
        mkdir -p "$OUT/agents/$name"
        # shellcheck disable=SC2086
        "$ALLOT" agent --name "$name" --devices "$GPN" --chip H100 \
            --work-dir "$OUT/agents/$name" ${AGENT_EXTRA:-} >"$OUT/agents/$name.log" 2>&1 &
        AGENT_PIDS+=($!)
    done
    for _ in $(seq 300); do
        up=$("$ALLOT" nodes -o json | "$PY" -c 'import json,sys; print(sum(n["state"] == "up" for n in json.load(sys.stdin)["nodes"]))')
        [ "$up" -ge "$N" ] && break
        sleep 0.2
    done
    [ "$up" -ge "$N" ] || { echo "only $up of $N agents came up" >&2; exit 1; }

    log "allot: submitting $NJOBS jobs, one allot submit each"
    t0=$(date +%s.%N)
    i=0
    while read -r g s _; do
        if [ "$g" -le "$GPN" ]; then shape=(--devices "$g")
        else shape=(--devices "$GPN" --gang-size $(((g + GPN - 1) / GPN))); fi
        cmd=(true)
        [ "$s" -gt 0 ] && cmd=(sleep "$s")
        id=$("$ALLOT" submit "${shape[@]}" --chip H100 --name "w$i" --time $(((s / 60 + 1) * 60)) \
            --workdir /tmp -- "${cmd[@]}")
        echo "$i $id $g $s"
        i=$((i + 1))
    done <"$OUT/workload.txt" >"$OUT/allot-submitted.tsv"
    t1=$(date +%s.%N)
    log "allot: submitted in $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s; waiting for the queue to drain"
    while :; do
        left=$("$ALLOT" jobs -o json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
        [ "$left" -eq 0 ] && break
        if awk "BEGIN{exit !($(date +%s.%N) - $t0 > $TIMEOUT)}"; then
            echo "allot: timeout, $left jobs still active" >&2
            break
        fi
        sleep 1
    done
    "$ALLOT" jobs --all -o json >"$OUT/allot-jobs.json"
    # analyze.py's jobs.csv from the API's job objects (times are epoch seconds there too)
    "$PY" - "$OUT/allot-jobs.json" "$OUT/allot-submitted.tsv" >"$OUT/allot-jobs.csv" <<'PYEOF'
import csv, json, sys
jobs = {j['id']: j for j in json.load(open(sys.argv[1]))['jobs']}
w = csv.writer(sys.stdout)
w.writerow(['idx', 'jobid', 'gpus', 'seconds', 'submit', 'start', 'end', 'nodes', 'via', 'launch'])
for line in open(sys.argv[2]):
    idx, jid, g, s = line.split()
    j = jobs.get(int(jid), {})
    f = lambda k: '' if j.get(k) is None else '%.3f' % j[k]
    nodes = ','.join(sorted({t['node'] for t in j.get('tasks', [])}))
    w.writerow([idx, jid, g, s, f('submit_time'), f('start_time'), f('end_time'), nodes,
                 'allot', f('launch_time')])
PYEOF
    AL=$(figures "$OUT/allot-jobs.csv" "$t0" "$t1")
    AL_LAUNCH=$("$PY" - "$OUT/allot-jobs.csv" <<'PYEOF'
import csv, math, sys
l = sorted(float(r['launch']) - float(r['submit']) for r in csv.DictReader(open(sys.argv[1])) if r['launch'] and r['submit'])
p = lambda q: l[min(len(l) - 1, max(0, int(math.ceil(q / 100 * len(l))) - 1))] if l else float('nan')
print('%.3f %.3f %.3f' % (sum(l) / len(l) if l else float('nan'), p(50), p(99)))
PYEOF
)
    echo "== allot, $N nodes x $GPN GPUs, $NJOBS jobs (analyze.py report of allot-jobs.csv) =="
    "$PY" "$SLURM_PEER/analyze.py" report "$OUT/allot-jobs.csv" $((N * GPN)) "$t0" "$t1" "$t0" || true

    if [ -x "$API_BENCH" ]; then
        # whole-node jobs on the drained fleet: N start, the rest wait, so the rate is the
        # server's (taking, scheduling, committing), not 2 cores spawning processes
        log "allot: api_bench, $CLIENTS clients, $BENCH_JOBS whole-node jobs"
        "$API_BENCH" --server "127.0.0.1:$PORT" --clients "$CLIENTS" --jobs "$BENCH_JOBS" \
            --body '{"command":["sleep","100000"],"devices":8,"name":"api-bench"}' | tee "$OUT/api-bench.log" || true
        r=$(sed -n 's/^RESULT //p' "$OUT/api-bench.log")
        AB_RATE=$(echo "$r" | sed -n 's/.*rate=\([^ ]*\).*/\1/p')
        AB_P50=$(echo "$r" | sed -n 's/.*p50_ms=\([^ ]*\).*/\1/p')
        AB_P99=$(echo "$r" | sed -n 's/.*p99_ms=\([^ ]*\).*/\1/p')
    fi
fi

# ---- 4. side by side --------------------------------------------------------------------------
"$PY" - "$SL" "$AL" "$AL_LAUNCH" "${AB_RATE:-nan}" "${AB_P50:-nan}" "${AB_P99:-nan}" "$N" "$NJOBS" <<'PYEOF'
import sys
sl = [float(x) for x in sys.argv[1].split()]
al = [float(x) for x in sys.argv[2].split()]
la = [float(x) for x in sys.argv[3].split()]
ab, ab50, ab99 = (float(x) for x in sys.argv[4:7])
n, jobs = sys.argv[7], sys.argv[8]
def f(v, unit=''):
    return '-' if v != v else ('%.2f%s' % (v, unit))
def r(a, b):
    return '-' if a != a or b != b or b == 0 else '%.2fx' % (a / b)
print(f'\n== allot vs Slurm 22.05: {n} nodes x 8 GPUs, {jobs} jobs ==')
print('%-40s %12s %12s %12s' % ('', 'Slurm', 'allot', 'allot/Slurm'))
rows = [('submissions/s, one CLI call per job', sl[0], al[0], ''),
        ('jobs completed/s (first submit..last end)', sl[1], al[1], ''),
        ('submit-to-start mean (s)', sl[2], al[2], ''),
        ('submit-to-start p50 (s)', sl[3], al[3], ''),
        ('submit-to-start p99 (s)', sl[4], al[4], ''),
        ('jobs completed', sl[5], al[5], '')]
for name, a, b, _ in rows:
    print('%-40s %12s %12s %12s' % (name, f(a), f(b), r(b, a)))
print('%-40s %12s %12s' % ('allot submit-to-launch mean/p50/p99 (s)', '', '/'.join(f(x) for x in la)))
print('%-40s %12s %12s %12s' % ('submissions/s: Slurm sbatch vs allot API', f(sl[0]), f(ab), r(ab, sl[0])))
print('%-40s %12s %12s' % ('  (allot API: api_bench, 16 keep-alive clients, durable 201s)', '', ''))
print('%-40s %12s %12s' % ('allot api_bench latency p50/p99 (ms)', '', f(ab50) + '/' + f(ab99)))
print('(start = placed by the scheduler: Slurm "sched: Allocate"/backfill "Started", allot start_time;'
      '\n launch = the processes running on the agent; rates: higher is better, latencies: lower)')
PYEOF
