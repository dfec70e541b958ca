#!/bin/sh
# serving.sh - inference services end to end through `allot sim` and
# `allot compare` on request traces: the JSON summary's documented keys, the
# four autoscalers side by side with the HTML report, the real Azure traces
# when ../shared is there, and clear errors for bad traces and options;
# ServeGen over a day through the window-rate demand (against --per-request).
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
say "ServeGen over a day: the window-rate demand by default, --per-request for the exact path"
mkdir -p "$TMP/sg/language/m-two"
"$PYTHON" - "$TMP/sg/language/m-two" <<'PY'
import math, sys
total = 0
for c in range(3):
    with open("%s/chunk-%d-trace.csv" % (sys.argv[1], c), "w") as f:
        for w in range(288):  # two days
            r = 0.5 * (1 + c) * (1 + 0.5 * math.sin(2 * math.pi * w / 144))
            if (w + c) % 11 == 0:
                f.write("%d,0,0,,0,0\n" % (w * 600))
                continue
            f.write("%d,%.6f,1.5,%s,%.3f,1.0\n" % (w * 600, r, "Gamma" if c % 2 else "Weibull",
                                                   0.4 + 0.3 * c))
            total += int(math.floor(r * 600 + 0.5))
print(total, file=open(sys.argv[1] + "/../../total", "w"))
PY
run "$ALLOT" sim --workload "$TMP/sg/language/m-two" --service-policy allot --slo 60 --json
expect_rc 0
cp "$TMP/out" "$TMP/window.json"
run "$ALLOT_FAST" sim --workload "$TMP/sg/language/m-two" --service-policy allot --slo 60 --json \
    --per-request
expect_rc 0
"$PYTHON" - "$TMP/window.json" "$TMP/out" "$TMP/sg/total" <<'PY' || fail "window-rate vs per-request"
import json, sys
w, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
total = int(open(sys.argv[3]).read())
assert w["demand"] == "window-rate" and r["demand"] == "per-request", (w["demand"], r["demand"])
assert w["requests"] == total and r["requests"] == total, (w["requests"], r["requests"], total)
assert abs(w["slo_attainment"] - r["slo_attainment"]) < 0.02
assert abs(w["device_hours"] / r["device_hours"] - 1) < 0.15, (w["device_hours"], r["device_hours"])
print("   ok  %d requests; within SLO %.4f / %.4f; device-h %.1f / %.1f (window / per-request)" %
      (total, w["slo_attainment"], r["slo_attainment"], w["device_hours"], r["device_hours"]))
PY
run "$ALLOT" compare --workload "$TMP/sg/language/m-two" --slo 60 --out "$TMP/sgcmp"
expect_rc 0
expect_out "window-rate demand"
for p in hpa knative predictive allot oracle; do expect_out "$p"; done
[ -s "$TMP/sgcmp/report.html" ] || fail "no report.html"
run "$ALLOT_FAST" sim --workload "$TMP/sg/language/m-two" --service-policy hpa --span 86400 --json
expect_rc 0
grep -q '"per-request"' "$TMP/out" || fail "one day should draw every request"
run "$ALLOT" sim --workload "$TMP/sg/language/m-two" --service-policy hpa --slo 2
expect_rc 1
expect_err "below the model's minimum latency"

T=$TRACES/alibaba-servegen-2025/language/m-large
if [ -d "$T" ]; then
    say "ServeGen m-large, 14 days, every request at full rate (237 M): the window-rate demand"
    run "$ALLOT_FAST" compare --workload "$T" --slo 60 --max-replicas 2048 --json
    expect_rc 0
    "$PYTHON" - "$TMP/out" <<'PY' || fail "m-large"
import json, sys
rows = json.load(open(sys.argv[1]))
for r in rows:
    assert r["requests"] == 236892826 and r["demand"] == "window-rate", r
    print("   ok  m-large %-10s within SLO %.4f  x oracle %.3f" %
          (r["autoscaler"], r["slo_attainment"], r["oracle_ratio"]))
PY
else
    say "skipped ServeGen m-large ($T not found)"
fi
say ok
