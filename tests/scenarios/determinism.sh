#!/bin/sh
# determinism.sh - same input, same seed: byte-identical output; another seed:
# different output; the experiment does not depend on the thread count.
set -eu
. "$(dirname "$0")/lib/common.sh"

files="summary.json series.csv report.html"

same_files() { # dir1 dir2 label (samples.csv too where the run wrote one: fgd mode)
    extra=""
    [ -e "$1/samples.csv" ] && extra="samples.csv"
    for f in $files $extra; do
        [ -s "$1/$f" ] || fail "$3: $1/$f missing or empty"
        cmp -s "$1/$f" "$2/$f" || fail "$3: $f differs between two runs with the same seed ($(cmp "$1/$f" "$2/$f" 2>&1 | head -n 1))"
    done
}

for mode in fgd replay; do
    say "--mode $mode on gen:mixed: two runs with --seed 42 give identical files"
    run "$ALLOT" sim --quiet --mode "$mode" --seed 42 --out "$TMP/$mode-a"
    expect_rc 0
    run "$ALLOT" sim --quiet --mode "$mode" --seed 42 --out "$TMP/$mode-b"
    expect_rc 0
    same_files "$TMP/$mode-a" "$TMP/$mode-b" "--mode $mode"

    say "--mode $mode: the default seed is 42 (a run without --seed is identical)"
    run "$ALLOT" sim --quiet --mode "$mode" --out "$TMP/$mode-d"
    expect_rc 0
    same_files "$TMP/$mode-a" "$TMP/$mode-d" "--mode $mode (default seed)"

    say "--mode $mode: the optimised and the sanitizer builds agree"
    run "$ALLOT_FAST" sim --quiet --mode "$mode" --seed 42 --out "$TMP/$mode-f"
    expect_rc 0
    same_files "$TMP/$mode-a" "$TMP/$mode-f" "--mode $mode (build vs build-asan)"

    say "--mode $mode: --seed 7 gives a different series.csv"
    run "$ALLOT" sim --quiet --mode "$mode" --seed 7 --out "$TMP/$mode-c"
    expect_rc 0
    cmp -s "$TMP/$mode-a/series.csv" "$TMP/$mode-c/series.csv" &&
        fail "--mode $mode: series.csv is the same for --seed 42 and --seed 7"
    grep -q '"seed": 7' "$TMP/$mode-c/summary.json" || fail "--mode $mode: summary.json does not say seed 7"
done

say "--tiebreak random is seeded too: identical twice"
run "$ALLOT" sim --json --tiebreak random --seed 5
expect_rc 0
cp "$TMP/out" "$TMP/tr1"
run "$ALLOT" sim --json --tiebreak random --seed 5
cmp -s "$TMP/out" "$TMP/tr1" || fail "--tiebreak random --seed 5 is not reproducible"

say "every policy is reproducible (fgd mode, --json twice)"
for p in random dotprod gpuclustering gpupacking bestfit fgd fgd-la; do
    run "$ALLOT_FAST" sim --json --policy "$p" --seed 3
    expect_rc 0
    cp "$TMP/out" "$TMP/p1"
    run "$ALLOT_FAST" sim --json --policy "$p" --seed 3
    cmp -s "$TMP/out" "$TMP/p1" || fail "policy $p: two runs with --seed 3 differ"
done

say "--experiment fgd --json twice: identical"
exp="sim --experiment fgd --json --seeds 1-2 --policies bestfit,fgd"
# shellcheck disable=SC2086
run "$ALLOT" $exp --threads 2
expect_rc 0
cp "$TMP/out" "$TMP/e2a"
# shellcheck disable=SC2086
run "$ALLOT" $exp --threads 2
cmp -s "$TMP/out" "$TMP/e2a" || fail "--experiment fgd --threads 2 differs between two runs"

say "--experiment fgd: --threads 1 and --threads 2 give identical output"
# shellcheck disable=SC2086
run "$ALLOT" $exp --threads 1
expect_rc 0
cmp -s "$TMP/out" "$TMP/e2a" || fail "--experiment fgd output depends on the thread count (--threads 1 vs 2)"

say "--experiment fgd, 7 policies x 6 seeds: --threads 1, 3 and 16 identical (optimised build)"
exp2="sim --experiment fgd --json --seeds 10-15 --policies random,dotprod,gpuclustering,gpupacking,bestfit,fgd,fgd-la"
# shellcheck disable=SC2086
run "$ALLOT_FAST" $exp2 --threads 1
expect_rc 0
cp "$TMP/out" "$TMP/e7"
for t in 3 16; do
    # shellcheck disable=SC2086
    run "$ALLOT_FAST" $exp2 --threads $t
    expect_rc 0
    cmp -s "$TMP/out" "$TMP/e7" || fail "--experiment output with --threads $t differs from --threads 1"
done

say "--experiment fgd: the mean over seeds 1-2 matches the two single runs"
need_python
run "$ALLOT" sim --json --seed 1 --policy fgd
cp "$TMP/out" "$TMP/s1"
run "$ALLOT" sim --json --seed 2 --policy fgd
cp "$TMP/out" "$TMP/s2"
"$PYTHON" - "$TMP/e2a" "$TMP/s1" "$TMP/s2" <<'PY' || fail "experiment mean != mean of single runs"
import json, sys
e = json.load(open(sys.argv[1]))
a, b = (json.load(open(f)) for f in sys.argv[2:])
for k in ("unallocated_pct_at_100", "alloc_pct_at_130"):
    m = (a[k] + b[k]) / 2
    got = e["policies"]["fgd"][k]
    assert abs(got - m) < 0.01, (k, got, m)
print("   experiment fgd mean unallocated@100 = %.3f = mean of seeds 1, 2" % e["policies"]["fgd"]["unallocated_pct_at_100"])
PY

say "all checks passed"
