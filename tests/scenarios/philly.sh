#!/bin/sh
# philly.sh - the Philly trace (docs/workloads.md): `allot sim --workload
# <philly csv>` without --cluster runs on builtin:philly. A small inline
# table always (sanitizer build); the real 82,247-job trace when
# ../shared/traces is here (ALLOT_FAST: the sanitizer build checks every
# invariant after every event, which takes minutes on the full trace).
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

# check_philly JSON JOBS: replay on builtin:philly, every job arrived and ended
check_philly() {
    "$PYTHON" - "$1" "$2" <<'PY' || fail "philly replay summary is wrong (see above)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mode"] == "replay", j["mode"]
assert j["cluster"]["source"] == "builtin:philly", j["cluster"]["source"]
assert j["cluster"]["nodes"] == 80 and j["cluster"]["devices"] == 640, j["cluster"]
u = j["utilisation"]
assert u is not None and 0.0 < u <= 1.0, "utilisation %r not in (0,1]" % u
assert j["jobs_arrived"] == int(sys.argv[2]), (j["jobs_arrived"], sys.argv[2])
assert j["jobs_finished"] == j["jobs_arrived"], (j["jobs_finished"], j["jobs_arrived"])
assert j["jobs_placed"] == j["jobs_arrived"] and j["jobs_failed"] == 0, (j["jobs_placed"], j["jobs_failed"])
assert j["wait_mean_s"] is not None and j["wait_mean_s"] >= 0, j["wait_mean_s"]
print("   ok  utilisation %.4f, wait mean %.1f s, p99 %.1f s, jct mean %.1f s, %d/%d jobs finished, %d gangs, makespan %d s" % (
    u, j["wait_mean_s"], j["wait_p99_s"], j["jct_mean_s"], j["jobs_finished"], j["jobs_arrived"],
    j.get("gangs", 0), j["makespan_s"]))
PY
}

# unsorted rows, three virtual clusters, 1 to 128 GPUs (the gangs need the
# whole of one block: 16 nodes of 8)
cat >"$TMP/philly.csv" <<'EOF'
timestamp,duration,num_gpus,gpu_time,cluster
2017-10-09 07:01:55,66.0,1,66.0,11cb48
2017-10-09 06:13:03,2951.0,8,23608.0,6214e9
2017-10-09 06:00:00,3600.0,128,460800.0,ee9e8c
2017-10-09 06:00:30,600.0,12,7200.0,6214e9
2017-10-09 06:30:00,1800.5,640,1152320.0,ee9e8c
2017-10-10 00:00:00,1.0,2,2.0,11cb48
EOF

say "--mode replay on a small Philly table without --cluster: builtin:philly"
run "$ALLOT" sim --mode replay --workload "$TMP/philly.csv" --json
expect_rc 0
check_philly "$TMP/out" 6
"$PYTHON" - "$TMP/out" <<'PY' || fail "small table: makespan or gangs wrong"
import json, sys
j = json.load(open(sys.argv[1]))
# the last job arrives 18 h after the first and runs 1 s
assert j["makespan_s"] == 18 * 3600 + 1, j["makespan_s"]
assert j["gangs"] == 3, j["gangs"]
PY

say "the table shows builtin:philly too, and --cluster still overrides the default"
run "$ALLOT" sim --mode replay --workload "$TMP/philly.csv" --quiet
expect_rc 0
expect_out "builtin:philly: 80 nodes, 640 devices"
run "$ALLOT" sim --mode replay --workload "$TMP/philly.csv" --cluster builtin:sample --json
expect_rc 0
grep -q '"source": "builtin:sample"' "$TMP/out" || fail "--cluster builtin:sample was not used"

say "allot sim --help mentions the Philly default"
run "$ALLOT" sim --help
expect_rc 0
expect_out "builtin:philly"

say "a bad row: exit 1, file:line:col naming the column"
printf 'timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66.0,2,66.0,a\n' >"$TMP/bad.csv"
run "$ALLOT" sim --mode replay --workload "$TMP/bad.csv"
expect_rc 1
expect_err "bad.csv:2:28: column 'gpu_time': 66 is not duration x num_gpus = 132"

P=$TRACES/philly-pollux-derived/philly.csv
if [ ! -f "$P" ]; then
    say "skipped the real-trace part: $P is absent"
    say "all checks passed"
    exit 0
fi

say "--mode replay on the real Philly trace without --cluster (ALLOT_FAST)"
run "$ALLOT_FAST" sim --mode replay --workload "$P" --json
expect_rc 0
check_philly "$TMP/out" 82247
"$PYTHON" - "$TMP/out" <<'PY' || fail "real trace: 978,078 GPU-hours over the 640 GPUs, 289 gangs"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["workload"]["jobs"] == 82247
assert j["gangs"] == 289, j["gangs"]
# utilisation x capacity x makespan = the trace's GPU-hours
gpu_h = j["utilisation"] * 640 * j["makespan_s"] / 3600
assert abs(gpu_h - 978078) / 978078 < 1e-3, gpu_h
PY

say "all checks passed"
