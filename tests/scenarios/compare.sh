#!/bin/sh
# compare.sh - `allot compare`: the six scheduling policies on one workload,
# one table, JSON, CSV and an HTML report. A small generated workload always
# (sanitizer build); the real Philly trace when ../shared/traces is here
# (ALLOT_FAST: six full replays).
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

ALL="fifo fifo-backfill priority-preempt las drf allot"
WL="gen:llm:n=300,seed=3"

# check_compare JSON "POLICIES": keys and values in range
check_compare() {
    "$PYTHON" - "$1" "$2" <<'PY' || fail "compare summary is wrong (see above)"
import json, math, sys
j = json.load(open(sys.argv[1]))
want = sys.argv[2].split()
for k in ("workload", "cluster", "placement", "policies", "speedup_vs_fifo"):
    assert k in j, "missing key %s" % k
assert list(j["policies"]) == want, (list(j["policies"]), want)
keys = ("jct_mean_s", "jct_p50_s", "jct_p99_s", "wait_mean_s", "utilisation", "preemptions",
        "lost_device_hours", "failure_lost_device_hours", "ettr", "jobs_finished", "wall_s")
for name, p in j["policies"].items():
    for k in keys:
        assert k in p and p[k] is not None, "%s: %s missing or null" % (name, k)
    assert 0.0 <= p["utilisation"] <= 1.0, "%s: utilisation %r" % (name, p["utilisation"])
    assert 0.0 < p["ettr"] <= 1.0, "%s: ettr %r" % (name, p["ettr"])
    assert p["jct_p99_s"] >= p["jct_p50_s"] > 0, "%s: p99 %r < p50 %r" % (name, p["jct_p99_s"], p["jct_p50_s"])
    assert p["jct_mean_s"] > 0 and p["wait_mean_s"] >= 0, name
    assert p["jobs_finished"] > 0 and p["preemptions"] >= 0 and p["lost_device_hours"] >= 0, name
    assert p["wall_s"] >= 0, name
if "fifo" in want:
    sp = j["speedup_vs_fifo"]
    assert list(sp) == want, sp
    assert abs(sp["fifo"] - 1.0) < 1e-9, sp["fifo"]
    for name, v in sp.items():
        r = j["policies"]["fifo"]["jct_mean_s"] / j["policies"][name]["jct_mean_s"]
        assert abs(v - r) <= 1e-3 * r, (name, v, r)
else:
    assert j["speedup_vs_fifo"] is None, j["speedup_vs_fifo"]
print("   ok  " + ", ".join("%s %.0f s %.3f" % (n, p["jct_mean_s"], p["utilisation"])
                          for n, p in j["policies"].items()))
PY
}

say "allot compare on $WL (sanitizer build): a table with all six policies"
run "$ALLOT" compare --workload "$WL" --quiet
expect_rc 0
for p in $ALL; do
    grep -E -q "^  $p +[0-9]" "$TMP/out" || fail "the table has no row for $p"
done
expect_out "mean JCT vs fifo:"
expect_out "mean JCT vs fifo-backfill:"
expect_out "lowest mean JCT:"
expect_out "builtin:sample"
[ -s "$TMP/err" ] && fail "--quiet run wrote to stderr"
cat "$TMP/out"

say "--json: keys and values in range"
run "$ALLOT" compare --workload "$WL" --json
expect_rc 0
[ -s "$TMP/err" ] && fail "--json run wrote to stderr (progress?)"
check_compare "$TMP/out" "$ALL"
cp "$TMP/out" "$TMP/all.json"

say "--threads 1 and --threads 4 give the same results (only wall times differ)"
run "$ALLOT" compare --workload "$WL" --json --threads 1
expect_rc 0
cp "$TMP/out" "$TMP/t1.json"
run "$ALLOT" compare --workload "$WL" --json --threads 4
expect_rc 0
"$PYTHON" - "$TMP/t1.json" "$TMP/out" "$TMP/all.json" <<'PY' || fail "results depend on the thread count"
import json, sys
def strip(j):
    j.pop("wall_s"); j.pop("threads")
    for p in j["policies"].values(): p.pop("wall_s")
    return j
a, b, c = (strip(json.load(open(f))) for f in sys.argv[1:])
assert a == b == c, "differ"
PY

say "--out DIR: compare.csv, summary.json and report.html with two charts"
run "$ALLOT" compare --workload "$WL" --quiet --out "$TMP/o"
expect_rc 0
expect_out "wrote compare.csv, summary.json and report.html"
for f in compare.csv summary.json report.html; do
    [ -s "$TMP/o/$f" ] || fail "--out did not write $f"
done
[ "$(grep -c '<svg' "$TMP/o/report.html")" -eq 2 ] || fail "report.html should hold two <svg> charts"
for t in "Device utilisation over time" "JCT CDF" "hours, log scale" "fraction of finished jobs" \
    "Lowest mean JCT" "allocated devices (% of capacity)"; do
    grep -F -q "$t" "$TMP/o/report.html" || fail "report.html lacks '$t'"
done
grep -q '<script' "$TMP/o/report.html" && fail "report.html must not have scripts"
check_compare "$TMP/o/summary.json" "$ALL"
"$PYTHON" - "$TMP/o/compare.csv" "$ALL" <<'PY' || fail "compare.csv is wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["policy"] for r in rows] == sys.argv[2].split(), [r["policy"] for r in rows]
for r in rows:
    assert 0 <= float(r["utilisation"]) <= 1 and float(r["jct_p99_s"]) >= float(r["jct_p50_s"]), r
PY

say "--policies fifo,las: only those two"
run "$ALLOT" compare --workload "$WL" --policies fifo,las --json
expect_rc 0
check_compare "$TMP/out" "fifo las"
run "$ALLOT" compare --workload "$WL" --policies LAS,fifo --quiet
expect_rc 0
grep -E -q "^  las +[0-9]" "$TMP/out" || fail "no las row"
grep -E -q "^  (fifo-backfill|priority-preempt|drf|allot) +[0-9]" "$TMP/out" && fail "unselected policies in the table"
expect_out "mean JCT vs fifo: las"
grep -F -q "vs fifo-backfill" "$TMP/out" && fail "no fifo-backfill line without fifo-backfill"

say "bad --policies: exit 2 naming the bad name and listing the valid ones"
run "$ALLOT" compare --workload "$WL" --policies fifo,bogus
expect_rc 2
expect_err "unknown policy 'bogus'"
expect_err "fifo, fifo-backfill, priority-preempt, las, drf, allot"
[ -s "$TMP/out" ] && fail "stdout should be empty"
for bad in "fifo,,las" "" "fifo,fifo" "bestfit"; do
    run "$ALLOT" compare --workload "$WL" --policies "$bad"
    expect_rc 2
    expect_err "allot compare:"
done

say "other bad options: exit 2 with the reason"
run "$ALLOT" compare --threads 0
expect_rc 2
expect_err "--threads wants 1..256, got '0'"
run "$ALLOT" compare --placement nope
expect_rc 2
expect_err "unknown placement 'nope'"
run "$ALLOT" compare --time-scale 0.5
expect_rc 2
expect_err "--time-scale wants a number >= 1"
run "$ALLOT" compare --failures lots
expect_rc 2
expect_err "--failures wants a rate"
run "$ALLOT" compare --bogus
expect_rc 2
expect_err "unknown option '--bogus'"
run "$ALLOT" compare extra
expect_rc 2
expect_err "unexpected argument 'extra'"

say "an untimed pod list: exit 1, replay needs arrival times"
printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1024,1,1000\np1,1000,1024,2,1000\n' >"$TMP/untimed.csv"
run "$ALLOT" compare --workload "$TMP/untimed.csv"
expect_rc 1
expect_err "no arrival times"
expect_err "needs them"

say "help: compare --help, help compare, and the top-level usage"
run "$ALLOT" compare --help
expect_rc 0
for o in cluster workload placement seed time-scale checkpoint failures repair-time policies \
    threads out json quiet help; do
    grep -q -e "--$o\b" "$TMP/out" || fail "compare usage does not mention --$o"
done
expect_out "examples:"
cp "$TMP/out" "$TMP/help"
run "$ALLOT" help compare
expect_rc 0
cmp -s "$TMP/out" "$TMP/help" || fail "'allot help compare' differs from 'allot compare --help'"
run "$ALLOT" --help
expect_out "compare"

say "a small Philly table without --cluster runs on builtin:philly"
cat >"$TMP/philly.csv" <<'EOF'
timestamp,duration,num_gpus,gpu_time,cluster
2017-10-09 06:00:00,3600.0,8,28800.0,a
2017-10-09 06:00:10,7200.0,640,4608000.0,b
2017-10-09 06:00:20,60.0,1,60.0,a
2017-10-09 06:00:30,120.0,2,240.0,c
EOF
run "$ALLOT" compare --workload "$TMP/philly.csv" --json
expect_rc 0
check_compare "$TMP/out" "$ALL"
grep -q '"cluster": "builtin:philly"' "$TMP/out" || fail "not on builtin:philly"

P=$TRACES/philly-pollux-derived/philly.csv
if [ ! -f "$P" ]; then
    say "skipped the real-trace part: $P is absent"
    say "all checks passed"
    exit 0
fi

say "the real Philly trace, all six policies (ALLOT_FAST)"
run "$ALLOT_FAST" compare --workload "$P" --quiet --out "$TMP/philly"
expect_rc 0
cat "$TMP/out"
check_compare "$TMP/philly/summary.json" "$ALL"
"$PYTHON" - "$TMP/philly/summary.json" <<'PY' || fail "Philly: las and allot should beat fifo on mean JCT, fifo-backfill should not lose utilisation"
import json, sys
p = json.load(open(sys.argv[1]))["policies"]
for n in ("las", "allot"):
    assert p[n]["jct_mean_s"] < p["fifo"]["jct_mean_s"], (n, p[n]["jct_mean_s"], p["fifo"]["jct_mean_s"])
assert p["fifo-backfill"]["utilisation"] >= p["fifo"]["utilisation"] - 0.001, (
    p["fifo-backfill"]["utilisation"], p["fifo"]["utilisation"])
for n in p:
    assert p[n]["jobs_finished"] == 82247, (n, p[n]["jobs_finished"])
PY
[ "$(grep -c '<svg' "$TMP/philly/report.html")" -eq 2 ] || fail "Philly report.html should hold two charts"

say "all checks passed"
