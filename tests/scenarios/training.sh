#!/bin/sh
# training.sh - the training-fleet features end to end through `allot sim`:
# named policies, conservative backfill, failure injection (ETTR, lost
# device-hours), elastic jobs, chip speeds, jobs.csv, and clear errors for
# unknown names and impossible options.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

W=gen:llm:n=150,seed=5
say "--policy for each named policy: JSON summary with the documented keys"
for p in fifo fifo-backfill priority-preempt las drf allot; do
    run "$ALLOT" sim --workload "$W" --policy "$p" --placement bestfit --json --check
    expect_rc 0
    "$PYTHON" - "$TMP/out" "$p" <<'PY' || fail "summary of --policy $p is wrong"
import json, sys
j = json.load(open(sys.argv[1])); p = sys.argv[2]
for k in ("jct_mean_s", "jct_p99_s", "wait_mean_s", "utilisation", "preemptions", "ettr",
          "lost_device_hours", "failure_lost_device_hours", "tenants", "jobs_finished"):
    assert k in j, "missing " + k
assert j["mode"] == "replay" and j["policy"] == p and j["placement"] == "bestfit", j
assert 0 <= j["utilisation"] <= 1 and 0 < j["ettr"] <= 1, j
assert j["jct_p99_s"] >= j["jct_p50_s"] > 0
if p in ("fifo", "fifo-backfill", "drf"):
    assert j["preemptions"] == 0 or p == "drf", j["preemptions"]
for t in j["tenants"]:
    assert 0 <= t["share"] <= 1 and 0 <= t["entitlement"] <= 1, t
print("   ok  %-17s mean JCT %9.0f s  util %.3f  preemptions %4d  ETTR %.3f" %
      (p, j["jct_mean_s"], j["utilisation"], j["preemptions"], j["ettr"]))
PY
done

say "--backfill conservative, --failures llama3 and an elastic mix"
run "$ALLOT" sim --workload "$W" --mode replay --backfill conservative --json --check
expect_rc 0
grep -q '"backfill": "conservative"' "$TMP/out" || fail "backfill not reported as conservative"
run "$ALLOT" sim --workload "$W" --policy allot --failures 0.05 --repair-time 3600 --json --check
expect_rc 0
"$PYTHON" - "$TMP/out" <<'PY' || fail "failure injection summary is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["node_failures"] > 0 and j["failure_stops"] > 0, j
assert j["failure_lost_device_hours"] > 0 and j["ettr"] < 1, j
print("   ok  %d node failures, %d jobs stopped, %.1f device-hours lost, ETTR %.3f" %
      (j["node_failures"], j["failure_stops"], j["failure_lost_device_hours"], j["ettr"]))
PY
run "$ALLOT" sim --workload "gen:llm:n=150,seed=5,elastic=1" --policy allot --json --check
expect_rc 0
"$PYTHON" - "$TMP/out" <<'PY' || fail "elastic summary is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["elastic_grows"] > 0, j
print("   ok  %d elastic tasks added, %d taken back" % (j["elastic_grows"], j["elastic_shrinks"]))
PY
run "$ALLOT" sim --workload "$W" --speeds catalog --speed-pick --json --check
expect_rc 0

say "--out writes jobs.csv: one row per job with wait, JCT, starts and span"
run "$ALLOT" sim --workload "$W" --policy las --out "$TMP/run" --quiet
expect_rc 0
"$PYTHON" - "$TMP/run/jobs.csv" <<'PY' || fail "jobs.csv is wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 150, len(rows)
assert set(rows[0]) >= {"job", "tenant", "wait_s", "jct_s", "starts", "span", "state"}
done = [r for r in rows if r["state"] == "finished"]
assert done and all(int(r["jct_s"]) >= int(r["wait_s"]) >= 0 for r in done)
assert any(int(r["starts"]) > 1 for r in done), "no job restarted under las"
assert all(r["span"] in ("node", "rack", "block", "zone", "fleet") for r in done)
print("   ok  %d rows, %d finished" % (len(rows), len(done)))
PY

[ "$(grep -c '<svg' "$TMP/run/report.html")" -ge 3 ] ||
    fail "report.html should hold allocation, queue and JCT CDF charts"
grep -q "job completion time" "$TMP/run/report.html" || fail "report.html lacks the JCT summary"

say "bad names and impossible options: one clear line, exit 2"
run "$ALLOT" sim --policy lottery
expect_rc 2
expect_err "unknown policy 'lottery'"
expect_err "fifo-backfill"
run "$ALLOT" sim --placement fifo
expect_rc 2
expect_err "unknown placement 'fifo'"
run "$ALLOT" sim --backfill aggressive
expect_rc 2
expect_err "conservative"
run "$ALLOT" sim --policy las --mode fgd
expect_rc 2
expect_err "--mode replay"
run "$ALLOT" sim --speed-pick
expect_rc 2
expect_err "--speeds catalog"
run "$ALLOT" sim --failures often
expect_rc 2
expect_err "llama3"
run "$ALLOT" sim --workload "gen:mixed:elastic=0.5" --mode replay
expect_rc 1
expect_err "elastic applies to gen:llm only"

say "impossible jobs are rejected at once, never queued for ever"
run "$ALLOT" sim --workload "gen:llm:n=100,seed=2,chips=T4" --mode replay --policy fifo --json
expect_rc 0
"$PYTHON" - "$TMP/out" <<'PY' || fail "impossible jobs were not rejected"
import json, sys
j = json.load(open(sys.argv[1]))
# builtin:sample has few T4 devices: big gangs can never fit and must fail
assert j["jobs_failed"] > 0, j
assert j["jobs_finished"] + j["jobs_failed"] == j["jobs_arrived"], j
print("   ok  %d of %d rejected at submission, the rest finished" % (j["jobs_failed"], j["jobs_arrived"]))
PY
say "all checks passed"
