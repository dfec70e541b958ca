#!/bin/sh
# sim_default.sh - the embedded default run (builtin:sample fleet, gen:mixed
# workload): the summary table, --json, and the files written by --out.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

say "allot sim --quiet: exit 0, summary table on stdout"
run "$ALLOT" sim --quiet
expect_rc 0
for s in "allot sim: FGD protocol, placement fgd, seed 42" "builtin:sample" "gen:mixed" \
    "allocation at arrived = 100 %" "unallocated at arrived = 100 %" \
    "allocation at arrived = 130 %" "jobs arrived" "jobs placed"; do
    expect_out "$s"
done
[ -s "$TMP/err" ] && fail "--quiet run wrote to stderr"

say "allot sim --json: valid JSON with the documented keys and sane values"
run "$ALLOT" sim --json
expect_rc 0
"$PYTHON" - "$TMP/out" <<'PY' || fail "--json output is wrong (see above)"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("mode", "policy", "seed", "unallocated_pct_at_100", "alloc_pct_at_130",
          "alloc_pct_at_100", "jobs_arrived", "jobs_placed", "jobs_failed", "cluster", "workload"):
    assert k in j, "missing key %s" % k
assert j["mode"] == "fgd", j["mode"]
assert j["policy"] == "fgd", j["policy"]
assert j["seed"] == 42, j["seed"]
assert j["cluster"]["source"] == "builtin:sample"
assert j["workload"]["source"] == "gen:mixed"
assert j["cluster"]["devices"] > 0 and j["cluster"]["nodes"] > 0
for k in ("unallocated_pct_at_100", "alloc_pct_at_130", "alloc_pct_at_100"):
    assert 0 <= j[k] <= 100, (k, j[k])
assert abs(j["unallocated_pct_at_100"] + j["alloc_pct_at_100"] - 100) < 0.05, "unallocated + allocated != 100"
assert j["alloc_pct_at_130"] >= j["alloc_pct_at_100"] - 1e-9, "allocation went down after 100 %"
assert j["jobs_placed"] + j["jobs_failed"] <= j["jobs_arrived"]
print("   json ok: unallocated@100 = %.2f %%, alloc@130 = %.2f %%" % (j["unallocated_pct_at_100"], j["alloc_pct_at_130"]))
PY
"$PYTHON" -m json.tool "$TMP/out" >/dev/null || fail "python3 -m json.tool rejects the --json output"

say "--out DIR (a fresh nested directory): summary.json, series.csv, report.html"
out=$TMP/a/b/run1
run "$ALLOT" sim --quiet --out "$out"
expect_rc 0
for f in summary.json series.csv report.html; do
    [ -s "$out/$f" ] || fail "--out did not write a non-empty $f"
done
"$PYTHON" -m json.tool "$out/summary.json" >/dev/null || fail "summary.json is not valid JSON"
for k in mode policy seed unallocated_pct_at_100 alloc_pct_at_130; do
    grep -q "\"$k\"" "$out/summary.json" || fail "summary.json lacks $k"
done
run "$ALLOT" sim --json
"$PYTHON" -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); sys.exit(a!=b)' "$TMP/out" "$out/summary.json" ||
    fail "summary.json differs from the --json output of the same run"

say "series.csv: header + 131 rows (arrived 0..130 %) in fgd mode"
rows=$(wc -l <"$out/series.csv")
[ "$rows" -eq 132 ] || fail "series.csv has $rows lines, want 132 (header + 131)"
"$PYTHON" - "$out/series.csv" <<'PY' || fail "series.csv content is wrong"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
hdr, data = rows[0], rows[1:]
assert hdr[0] == "arrived_pct" and "alloc_pct" in hdr, hdr
assert [int(r[0]) for r in data] == list(range(131)), "arrived_pct is not 0..130"
a = hdr.index("alloc_pct")
vals = [float(r[a]) for r in data]
assert all(0 <= v <= 100 for v in vals), "alloc_pct out of 0..100"
assert all(vals[i] <= vals[i + 1] + 1e-9 for i in range(len(vals) - 1)), "alloc_pct decreases (no departures in fgd mode)"
PY

say "report.html: self-contained HTML with <svg> charts and no <script>"
h=$out/report.html
grep -q -i '<!doctype html>' "$h" || fail "report.html has no <!DOCTYPE html>"
grep -q '</html>' "$h" || fail "report.html is not closed"
n=$(grep -o '<svg' "$h" | wc -l)
[ "$n" -ge 2 ] || fail "report.html has $n <svg> charts, want >= 2"
grep -q -i '<script' "$h" && fail "report.html contains <script>"
grep -E -q -i '(src|href)="(https?:)?//' "$h" && fail "report.html loads an external resource"
grep -E -q -i '<link[^>]*stylesheet' "$h" && fail "report.html links an external stylesheet"

say "--mode replay --out: summary has replay keys, series is a time series"
out2=$TMP/replay
run "$ALLOT" sim --quiet --mode replay --out "$out2"
expect_rc 0
"$PYTHON" - "$out2/summary.json" <<'PY' || fail "replay summary.json is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mode"] == "replay"
for k in ("utilisation", "wait_mean_s", "wait_p99_s", "makespan_s", "jobs_finished"):
    assert k in j, "missing " + k
PY
head -n 1 "$out2/series.csv" | grep -q '^time_s,' || fail "replay series.csv does not start with time_s"
grep -q '<svg' "$out2/report.html" || fail "replay report.html has no chart"

say "--out into a path that cannot be a directory fails cleanly (exit 1)"
: >"$TMP/file"
run "$ALLOT" sim --quiet --out "$TMP/file/sub"
expect_rc 1
expect_err "$TMP/file/sub"

say "the seed in the JSON is the seed given, up to 2^63-1; larger seeds are refused"
run "$ALLOT" sim --json --seed 9223372036854775807
expect_rc 0
grep -q '"seed": 9223372036854775807' "$TMP/out" ||
    fail "allot sim --json --seed 9223372036854775807 reports $(grep '"seed"' "$TMP/out")"
run "$ALLOT" sim --json --seed 18446744073709551615
expect_rc 2

say "all checks passed"
