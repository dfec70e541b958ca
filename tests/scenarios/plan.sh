#!/bin/sh
# plan.sh - capacity planning end to end: allot plan on examples/plan-small.json
# writes report.html, the CSV files and summary.json; --json is the same
# summary; the same seed gives the same bytes whatever the thread count; bad
# plans exit 1 naming the JSON path of the problem; bad options exit 2.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python
EX=$ROOT/examples/plan-small.json

say "allot plan --help"
run "$ALLOT" plan --help
expect_rc 0
for w in --runs --seed --threads --json --out --no-search docs/plan-format.md; do expect_out "$w"; done
run "$ALLOT" help plan
expect_rc 0
run "$ALLOT" plan
expect_rc 2

say "the small example: table, report.html, periods.csv, runs.csv, summary.json"
run "$ALLOT_FAST" plan "$EX" --runs 4 --out "$TMP/po"
expect_rc 0
for w in "scenario base" "scenario cloud-outage" "options search" "2026-12"; do expect_out "$w"; done
for f in report.html periods.csv runs.csv summary.json; do
    [ -s "$TMP/po/$f" ] || fail "no $f"
done
grep -q "<svg" "$TMP/po/report.html" || fail "report.html has no chart"
grep -q "Supply and demand" "$TMP/po/report.html" || fail "report.html has no supply chart"
grep -q "Utilisation of usable devices" "$TMP/po/report.html" || fail "no utilisation fan"
grep -q "Cost per period" "$TMP/po/report.html" || fail "no cost breakdown"
grep -q "Facility power" "$TMP/po/report.html" || fail "no power chart"
grep -q "<script" "$TMP/po/report.html" && fail "report.html has a script"
head -n 1 "$TMP/po/periods.csv" | grep -q "^set,scenario,period,metric,unit,mean,p10,p50,p90$" \
    || fail "periods.csv header"
"$PYTHON" - "$TMP/po/summary.json" <<'PY' || fail "summary.json is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["plan"] == "small-lab" and j["runs"] == 4 and len(j["periods"]) == 12
assert [s["name"] for s in j["scenarios"]] == ["base", "cloud-outage"]
for s in j["scenarios"]:
    for p in s["periods"]:
        for k in ("supply_devices", "utilisation", "wait_p50_h", "wait_p95_h", "slo",
                  "cost_total", "cost_depreciation", "cost_power", "cost_leases",
                  "cost_per_useful_dh", "peak_mw", "energy_mwh", "stranded_devices",
                  "idle_device_hours"):
            st = p[k]
            assert set(st) == {"mean", "p10", "p50", "p90"}, k
        assert 0 <= p["utilisation"]["mean"] <= 1
    assert s["totals"]["cost_total"]["mean"] > 0
# the outage removes the 64 leased devices from July
b = j["scenarios"][0]["periods"][7]["leased_devices"]["mean"]
o = j["scenarios"][1]["periods"][7]["leased_devices"]["mean"]
assert b == 64 and o == 0, (b, o)
assert "search" in j and j["search"]["evaluations"] >= 1
print("   ok  total cost %.2fM USD, %d sets searched" %
      (j["scenarios"][0]["totals"]["cost_total"]["mean"] / 1e6, j["search"]["evaluations"]))
PY

say "the sanitizer build on the example (2 runs, no search)"
run "$ALLOT" plan "$EX" --runs 2 --no-search --json
expect_rc 0
"$PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/out" || fail "--json is not JSON"

say "same seed, same bytes, whatever the thread count"
"$ALLOT_FAST" plan "$EX" --runs 3 --threads 1 --json --quiet >"$TMP/a.json"
"$ALLOT_FAST" plan "$EX" --runs 3 --threads 2 --json --quiet >"$TMP/b.json"
cmp -s "$TMP/a.json" "$TMP/b.json" || fail "thread count changed the results"
"$ALLOT_FAST" plan "$EX" --runs 3 --seed 7 --json --quiet >"$TMP/c.json"
cmp -s "$TMP/a.json" "$TMP/c.json" && fail "another seed gave the same results"

say "bad plans exit 1 with the JSON path of the problem"
"$PYTHON" - "$EX" "$TMP" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
def write(name, q):
    json.dump(q, open(sys.argv[2] + "/" + name, "w"), indent=1)
q = json.loads(json.dumps(p)); del q["leases"][0]["price_per_device_hour"]; write("noprice.json", q)
q = json.loads(json.dumps(p)); q["deliveries"][0]["month"] = "2025-10"; write("early.json", q)
q = json.loads(json.dumps(p)); q["costs"]["pue"] = 0.5; write("pue.json", q)
q = json.loads(json.dumps(p)); q["costs"]["electricity_price"] = -1; write("neg.json", q)
q = json.loads(json.dumps(p)); q["lease_contracts"][0]["months"] = 2; write("term.json", q)
q = json.loads(json.dumps(p)); q["scenarios"][1]["shocks"][0]["region"] = "mars"; write("shock.json", q)
PY
run "$ALLOT" plan "$TMP/noprice.json"
expect_rc 1
expect_err_re "noprice.json:[0-9]+:[0-9]+: leases\[0\].price_per_device_hour: missing"
run "$ALLOT" plan "$TMP/early.json"
expect_rc 1
expect_err "deliveries[0].month: 2025-10 is before the horizon's start 2026-01"
run "$ALLOT" plan "$TMP/pue.json"
expect_rc 1
expect_err "costs.pue: must be in 1..5"
run "$ALLOT" plan "$TMP/neg.json"
expect_rc 1
expect_err "costs.electricity_price: must be >= 0"
run "$ALLOT" plan "$TMP/term.json"
expect_rc 1
expect_err "lease_contracts[0].months: 2 months is below offer 'cloud-h100''s minimum term of 3"
run "$ALLOT" plan "$TMP/shock.json"
expect_rc 1
expect_err "scenarios[1].shocks[0].region: no lease offer is in region 'mars'"
printf '{"horizon": ' >"$TMP/syntax.json"
run "$ALLOT" plan "$TMP/syntax.json"
expect_rc 1
expect_err_re "syntax.json:1:[0-9]+:"
run "$ALLOT" plan "$TMP/missing.json"
expect_rc 1

say "bad options exit 2"
run "$ALLOT" plan "$EX" --runs 0
expect_rc 2
expect_err "--runs"
run "$ALLOT" plan "$EX" --frobnicate
expect_rc 2
run "$ALLOT" plan "$EX" "$EX"
expect_rc 2
say "ok"
