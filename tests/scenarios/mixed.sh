#!/bin/sh
# mixed.sh - the mixed fleet end to end through `allot sim --training ...
# --serve-pool ...`: the JSON summary's documented keys and their bounds,
# the HTML report, determinism, --help, clear errors for bad pools and
# shapes, and the real traces (Azure conv + code on the serving pool, a
# Philly window borrowing it) when ../shared is there.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

FLEET=$ROOT/data/mixed-fleet.json
REQ=$DATA/azure_small.csv
GEN=gen:llm:n=300,rate=60

say "allot sim --training --serve-pool --json: the documented keys, within their bounds"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool block:serve \
    --warmup 7200 --json
expect_rc 0
"$PYTHON" - "$TMP/out" <<'PY' || fail "summary is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("lent_device_hours", "idle_serving_device_hours", "lent_share", "reclaim_p50_s",
          "reclaim_p99_s", "reclaim_max_s", "reclaims", "reclaim_bound_s", "reclaim_failures",
          "serving_device_hours", "pool_device_hours", "services", "training",
          "training_without_lending"):
    assert k in j, "missing " + k
assert j["mode"] == "mixed" and j["serve_pool"]["devices"] == 32
assert 0 <= j["lent_share"] <= 1 and j["lent_device_hours"] > 0
assert j["lent_device_hours"] <= j["idle_serving_device_hours"] + 1e-9
assert abs(j["idle_serving_device_hours"] + j["serving_device_hours"] - j["pool_device_hours"]) < 1e-4
assert j["reclaims"] > 0 and j["reclaim_failures"] == 0
assert j["reclaim_max_s"] <= j["reclaim_bound_s"] == 21
s = j["services"][0]
for k in ("slo_attainment", "slo_attainment_without_lending", "device_hours",
          "device_hours_without_lending", "reclaims", "denied_replica_steps", "requests",
          "slo_attainment_all_starts_delayed"):
    assert k in s, "missing services[0]." + k
assert s["requests"] == 2522
for t in (j["training"], j["training_without_lending"]):
    for k in ("jobs", "finished", "jct_mean_s", "jct_p99_s", "preemptions", "lost_device_hours",
              "ettr", "device_hours"):
        assert k in t, "missing training." + k
assert j["training"]["reclaim_preemptions"] > 0 and j["training_without_lending"]["borrowers"] == 0
print("   ok  lent %.1f %% of idle, %d reclaims (max %.0f s), SLO %.4f (without lending %.4f)" %
      (j["lent_share"] * 100, j["reclaims"], j["reclaim_max_s"], s["slo_attainment"],
       s["slo_attainment_without_lending"]))
PY

say "--out DIR: summary.json (the --json bytes) and report.html with the pool chart"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool block:serve \
    --warmup 7200 --json --out "$TMP/rep"
expect_rc 0
[ -s "$TMP/rep/report.html" ] || fail "no report.html"
grep -q "<svg" "$TMP/rep/report.html" || fail "report.html has no chart"
grep -q "lent to training" "$TMP/rep/report.html" || fail "report.html lacks the lent band"
grep -q "Reclaim latency" "$TMP/rep/report.html" || fail "report.html lacks the reclaim latencies"
cmp -s "$TMP/out" "$TMP/rep/summary.json" || fail "summary.json differs from --json"

say "same inputs, same bytes; two services and a reserve"
for i in 1 2; do
    "$ALLOT_FAST" sim --workload "$REQ" --workload "$REQ" --training "$GEN" --cluster "$FLEET" \
        --serve-pool serve-0,serve-1 --reserve 1 --warmup 3600 --json >"$TMP/d$i"
done
cmp -s "$TMP/d1" "$TMP/d2" || fail "two runs differ"
grep -q '"reserve_device_hours"' "$TMP/d1" || fail "no reserve_device_hours"

say "--help"
run "$ALLOT" sim --training x --help
expect_rc 0
expect_out "--serve-pool"
expect_out "--grace"
run "$ALLOT" sim --help
expect_rc 0
expect_out "--training"

say "bad input: a pool larger than the fleet, a shape no pool node holds, no pool, unknown nodes"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool 100
expect_rc 1
expect_err "the fleet has 64 nodes with accelerators"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool block:serve \
    --chip A100-80G
expect_rc 1
expect_err "no node of the serving pool has that chip type"
printf '{"name":"small","nodes":[{"name":"s","count":2,"chip":"H100","devices":1,"cpu_milli":8000,"memory_mib":65536}]}\n' >"$TMP/small.json"
"$PYTHON" - "$TMP/img.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("gmt_create,predict_type,predict_status,exec_time_seconds,groupId\n")
    for i in range(200):
        f.write("2024-11-15 17:%02d:%02d,TXT_2_IMG,SUCCEED,20,g\n" % (i // 60, i % 60))
PY
run "$ALLOT" sim --workload "$TMP/img.csv" --training "$GEN" --cluster "$TMP/small.json" \
    --serve-pool 1 --max-replicas 2 --slo 600
expect_rc 0
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool block:nope
expect_rc 1
expect_err "no block named 'nope'"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool serve-0,gpu-9
expect_rc 1
expect_err "no node 'gpu-9'"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET"
expect_rc 2
expect_err "needs --serve-pool"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool 4 --policy drf
expect_rc 2
expect_err "drf is not supported"
run "$ALLOT" sim --workload "$REQ" --training "$GEN" --cluster "$FLEET" --serve-pool 4 --dt 0.5
expect_rc 2
run "$ALLOT" sim --workload "$FLEET" --training "$GEN" --cluster "$FLEET" --serve-pool 4
expect_rc 2
expect_err "is not a request trace"

A=$TRACES/azure-llm-inference-2023
P=$TRACES/philly-pollux-derived/philly.csv
if [ -f "$A/AzureLLMInferenceTrace_code.csv" ] && [ -f "$P" ]; then
    say "the default scenario: Azure conv + code on block serve, a Philly window borrowing it"
    run "$ALLOT_FAST" sim --workload "$A/AzureLLMInferenceTrace_conv.csv" \
        --workload "$A/AzureLLMInferenceTrace_code.csv" --training "$P" --cluster "$FLEET" \
        --serve-pool block:serve --training-start 1814400 --warmup 604800 --json
    expect_rc 0
    "$PYTHON" - "$TMP/out" <<'PY' || fail "the default scenario"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["lent_share"] >= 0.8, j["lent_share"]
assert j["reclaim_p99_s"] <= 30 and j["reclaim_max_s"] <= 30, j["reclaim_max_s"]
assert j["reclaim_failures"] == 0
for s in j["services"]:
    print("   ok  %-11s within SLO %.4f with lending, %.4f without" %
          (s["workload"], s["slo_attainment"], s["slo_attainment_without_lending"]))
print("   ok  lent %.1f %% of idle, %d reclaims, p99 %.0f s, max %.0f s" %
      (j["lent_share"] * 100, j["reclaims"], j["reclaim_p99_s"], j["reclaim_max_s"]))
PY
else
    say "skipped the real traces ($A or $P not found)"
fi
say ok
