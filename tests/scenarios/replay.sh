#!/bin/sh
# replay.sh - --mode replay: arrivals and departures at the trace's times.
# gen:mixed always; the real openb default pod list when the traces are here;
# an untimed (multigpu-style) pod list is refused with a hint to --mode fgd.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

# check_replay JSON [JOBS]: replay keys present and in range
check_replay() {
    "$PYTHON" - "$1" "${2:-}" <<'PY' || fail "replay summary is wrong (see above)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mode"] == "replay", j["mode"]
u = j["utilisation"]
assert u is not None and 0.0 <= u <= 1.0, "utilisation %r not in [0,1]" % u
assert j["wait_mean_s"] is not None and j["wait_mean_s"] >= 0, j["wait_mean_s"]
assert j["wait_p99_s"] is not None and j["wait_p99_s"] >= 0, j["wait_p99_s"]
assert j["makespan_s"] >= 0
assert j["jobs_placed"] + j["jobs_failed"] <= j["jobs_arrived"]
assert j["jobs_finished"] <= j["jobs_placed"]
assert "unallocated_pct_at_100" not in j, "fgd keys in a replay summary"
if sys.argv[2]:
    assert j["jobs_arrived"] == int(sys.argv[2]), (j["jobs_arrived"], sys.argv[2])
print("   ok  utilisation %.4f, wait mean %.1f s, p99 %.1f s, %d/%d jobs finished, makespan %d s" % (
    u, j["wait_mean_s"], j["wait_p99_s"], j["jobs_finished"], j["jobs_arrived"], j["makespan_s"]))
PY
}

say "--mode replay on gen:mixed (sanitizer build)"
run "$ALLOT" sim --mode replay --json
expect_rc 0
check_replay "$TMP/out" 2000

say "--mode replay on a busy generator (rate 2000/h): queueing shows up, all jobs end"
run "$ALLOT" sim --mode replay --json --workload gen:mixed:n=1500,rate=2000,seed=3
expect_rc 0
check_replay "$TMP/out" 1500
"$PYTHON" - "$TMP/out" <<'PY' || fail "a busy replay should queue (wait_mean_s > 0) and finish what it placed"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["wait_mean_s"] > 0, "no queueing at 2000 arrivals/h on the sample fleet?"
assert j["jobs_finished"] == j["jobs_placed"], (j["jobs_finished"], j["jobs_placed"])
PY

say "--mode replay with --time-scale 10 and --order priority on gen:mixed: makespan / 10"
run "$ALLOT" sim --mode replay --json
cp "$TMP/out" "$TMP/ts1.json"
run "$ALLOT" sim --mode replay --json --time-scale 10 --order priority
expect_rc 0
check_replay "$TMP/out" 2000
"$PYTHON" - "$TMP/ts1.json" "$TMP/out" <<'PY' || fail "--time-scale 10 should divide the makespan by 10"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert abs(b["makespan_s"] - a["makespan_s"] / 10) <= 2, (a["makespan_s"], b["makespan_s"])
PY

say "--mode replay on a small timed pod list (tests/data): times are honoured"
run "$ALLOT" sim --mode replay --json --cluster "$DATA/cluster_small.json" --workload "$DATA/pods_missing_chip.csv"
expect_rc 0
check_replay "$TMP/out" 6
grep -q '"makespan_s": 1100' "$TMP/out" || fail "makespan should be 1100 s (last deletion_time), got $(grep makespan "$TMP/out")"

say "--mode replay on an untimed pod list: exit 1, tells to use --mode fgd"
printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1024,1,1000\np1,1000,1024,2,1000\n' >"$TMP/untimed.csv"
run "$ALLOT" sim --mode replay --workload "$TMP/untimed.csv"
expect_rc 1
expect_err "--mode fgd"
run "$ALLOT" sim --workload "$TMP/untimed.csv" --json
expect_rc 0

O=$TRACES/alibaba-openb-gpu-2023/csv
if [ ! -f "$O/openb_pod_list_default.csv" ]; then
    say "skipped the real-trace part: $O is absent"
    say "all checks passed"
    exit 0
fi

say "--mode replay --time-scale 1 on the real openb default pod list (ALLOT_FAST)"
run "$ALLOT_FAST" sim --mode replay --time-scale 1 --json \
    --cluster "$O/openb_node_list_gpu_node.csv" --workload "$O/openb_pod_list_default.csv"
expect_rc 0
check_replay "$TMP/out" 8152
"$PYTHON" - "$TMP/out" <<'PY' || fail "openb default replay: the trace peaks at 65.6 of 6212 GPUs; utilisation must be tiny and every pod placed"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["utilisation"] < 65.6 / 6212 + 1e-6, j["utilisation"]
assert j["jobs_placed"] == 8152 and j["jobs_failed"] == 0, (j["jobs_placed"], j["jobs_failed"])
assert j["makespan_s"] >= 12901761, j["makespan_s"]   # the last creation time
PY

say "the same under the sanitizer build, identical JSON"
cp "$TMP/out" "$TMP/fast.json"
run "$ALLOT" sim --mode replay --time-scale 1 --json \
    --cluster "$O/openb_node_list_gpu_node.csv" --workload "$O/openb_pod_list_default.csv"
expect_rc 0
cmp -s "$TMP/out" "$TMP/fast.json" || fail "the sanitizer and the optimised build disagree on the openb replay"

say "--mode replay on openb_pod_list_multigpu50.csv (no time columns): exit 1, hint to --mode fgd"
run "$ALLOT" sim --mode replay --cluster "$O/openb_node_list_gpu_node.csv" \
    --workload "$O/openb_pod_list_multigpu50.csv"
expect_rc 1
expect_err "--mode fgd"

say "all checks passed"
