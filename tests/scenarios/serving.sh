#!/bin/sh
# serving.sh - inference services end to end through `allot sim` and
# `allot compare` on request traces: the JSON summary's documented keys, the
# four autoscalers side by side with the HTML report, the real Azure traces
# when ../shared is there, and clear errors for bad traces and options.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

# a small Azure-format trace: a quiet minute, a burst, a quiet minute
"$PYTHON" - "$TMP/azure.csv" <<'PY'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
    t = 0.0
    while t < 1800:
        rate = 30.0 if 600 <= t < 900 else 4.0
        t += random.expovariate(rate)
        s = 18 * 3600 + t
        f.write("2023-11-16 %02d:%02d:%010.7f,%d,%d\n" % (s // 3600, s % 3600 // 60, s % 60,
                random.randint(200, 3000), random.randint(5, 200)))
PY

say "allot sim --service-policy P --json: one summary with the documented keys"
for p in hpa knative predictive allot; do
    run "$ALLOT" sim --workload "$TMP/azure.csv" --service-policy "$p" --json
    expect_rc 0
    "$PYTHON" - "$TMP/out" "$p" <<'PY' || fail "summary of $p is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("slo_attainment", "device_hours", "oracle_ratio", "dropped", "oracle_device_hours",
          "requests", "scale_ups", "scale_downs", "cost"):
    assert k in j, "missing " + k
assert j["autoscaler"] == sys.argv[2]
assert 0 <= j["slo_attainment"] <= 1 and j["device_hours"] > 0 and j["oracle_ratio"] > 0
assert j["requests"] > 5000
print("   ok  %-10s within SLO %.4f  device-h %.2f  x oracle %.3f" %
      (j["autoscaler"], j["slo_attainment"], j["device_hours"], j["oracle_ratio"]))
PY
done

say "allot compare on a request trace: a table of all four and report.html"
run "$ALLOT" compare --workload "$TMP/azure.csv" --out "$TMP/cmp"
expect_rc 0
for p in hpa knative predictive allot oracle; do expect_out "$p"; done
[ -s "$TMP/cmp/report.html" ] || fail "no report.html"
grep -q "<svg" "$TMP/cmp/report.html" || fail "report.html has no chart"
[ -s "$TMP/cmp/summary.json" ] || fail "no summary.json"

say "same trace, same numbers"
"$ALLOT_FAST" sim --workload "$TMP/azure.csv" --service-policy allot --json >"$TMP/a1"
"$ALLOT_FAST" sim --workload "$TMP/azure.csv" --service-policy allot --json >"$TMP/a2"
cmp -s "$TMP/a1" "$TMP/a2" || fail "two runs differ"

say "bad input: a malformed trace, an unknown autoscaler, an SLO below the model's minimum"
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00.0000000,12,x\n' >"$TMP/bad.csv"
run "$ALLOT" sim --workload "$TMP/bad.csv" --service-policy hpa
expect_rc 1
expect_err_re "bad.csv:2"
run "$ALLOT" sim --workload "$TMP/azure.csv" --service-policy autoscale-magic
expect_rc 2
expect_err "hpa, knative, predictive or allot"
run "$ALLOT" sim --workload "$TMP/azure.csv" --service-policy hpa --slo 0.1
expect_rc 1
expect_err "SLO"

T=$TRACES/azure-llm-inference-2023
if [ -f "$T/AzureLLMInferenceTrace_code.csv" ]; then
    say "the Azure code and conversation traces (all four autoscalers)"
    for f in code conv; do
        run "$ALLOT_FAST" compare --workload "$T/AzureLLMInferenceTrace_$f.csv" --json
        expect_rc 0
        "$PYTHON" - "$TMP/out" "$f" <<'PY' || fail "Azure $f"
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["autoscaler"] for r in rows] == ["hpa", "knative", "predictive", "allot"]
for r in rows:
    assert r["requests"] == (8819 if sys.argv[2] == "code" else 19366), r["requests"]
    print("   ok  azure-%s %-10s within SLO %.4f  x oracle %.3f" %
          (sys.argv[2], r["autoscaler"], r["slo_attainment"], r["oracle_ratio"]))
PY
    done
else
    say "skipped the Azure traces ($T not found)"
fi
say ok
