#!/bin/sh
# bad_input.sh - malformed inputs stop with "file:line:column: message" and
# exit 1; nothing crashes or trips a sanitizer (run() checks that on every
# call). Fixtures: tests/data/*.csv|json; empty, binary and missing files are
# made here.
set -eu
. "$(dirname "$0")/lib/common.sh"

# expect_diag FILE LINE WHAT: exit 1, stderr "allot: FILE:LINE:COL: ..." naming WHAT
expect_diag() {
    expect_rc 1
    grep -F -q -e "$1:$2:" "$TMP/err" || fail "stderr lacks the prefix '$1:$2:'"
    grep -E -q -e ":$2:[0-9]+: " "$TMP/err" || fail "stderr has no column number after '$1:$2:'"
    expect_err "$3"
    [ "$(wc -l <"$TMP/err")" -le 3 ] || fail "diagnostic is longer than 3 lines"
    printf '   ok  %s\n' "$(head -n 1 "$TMP/err")"
}

say "openb pod list: non-numeric cpu_milli on line 3"
f=$DATA/pods_bad_cpu.csv
run "$ALLOT" sim --quiet --workload "$f"
expect_diag "$f" 3 "cpu_milli"
expect_err "4x00"
grep -F -q "$f:3:7:" "$TMP/err" || fail "column of '4x00' on line 3 should be 7"

say "openb pod list: a row with too few fields (line 4)"
f=$DATA/pods_short_row.csv
run "$ALLOT" sim --quiet --workload "$f"
expect_diag "$f" 4 "fields"

say "openb pod list: num_gpu=2 with gpu_milli=500 (line 3)"
f=$DATA/pods_multi_shared.csv
run "$ALLOT" sim --quiet --workload "$f"
expect_diag "$f" 3 "gpu_milli"

say "cluster JSON with a syntax error (missing comma, line 4)"
f=$DATA/cluster_syntax_error.json
run "$ALLOT" cluster show "$f"
expect_diag "$f" 4 ""
run "$ALLOT" sim --quiet --cluster "$f"
expect_diag "$f" 4 ""

say "cluster JSON: devices is a string (\"8\", line 5)"
f=$DATA/cluster_wrong_type.json
run "$ALLOT" cluster show "$f"
expect_diag "$f" 5 "devices"

say "cluster JSON: unknown key 'colour' (line 6)"
f=$DATA/cluster_unknown_key.json
run "$ALLOT" cluster show "$f"
expect_diag "$f" 6 "colour"

say "openb node list: negative cpu_milli (line 3)"
f=$DATA/nodes_negative_cpu.csv
run "$ALLOT" cluster show "$f"
expect_diag "$f" 3 "cpu_milli"
run "$ALLOT" cluster convert "$f"
expect_diag "$f" 3 "cpu_milli"
[ -s "$TMP/out" ] && fail "convert printed a spec for a bad node list"

say "empty file, as cluster and as workload"
: >"$TMP/empty.csv"
run "$ALLOT" cluster show "$TMP/empty.csv"
expect_diag "$TMP/empty.csv" 1 ""
run "$ALLOT" sim --quiet --workload "$TMP/empty.csv"
expect_diag "$TMP/empty.csv" 1 ""

say "binary garbage (4 KiB of /dev/urandom), as cluster, workload and converted file"
head -c 4096 /dev/urandom >"$TMP/garbage.bin"
run "$ALLOT" cluster show "$TMP/garbage.bin"
expect_rc 1
expect_err "$TMP/garbage.bin"
run "$ALLOT" sim --quiet --workload "$TMP/garbage.bin"
expect_rc 1
expect_err "$TMP/garbage.bin"
for fmt in json openb pai2020 spot2026; do
    run "$ALLOT" cluster convert --format "$fmt" "$TMP/garbage.bin"
    expect_rc 1
    expect_err "$TMP/garbage.bin"
done
# garbage after a valid header reaches the row parsers
(printf 'sn,cpu_milli,memory_mib,gpu,model\n'; head -c 4096 /dev/urandom) >"$TMP/garbage_nodes.csv"
run "$ALLOT" cluster show "$TMP/garbage_nodes.csv"
expect_rc 1
(printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\n'; head -c 4096 /dev/urandom) >"$TMP/garbage_pods.csv"
run "$ALLOT" sim --quiet --workload "$TMP/garbage_pods.csv"
expect_rc 1

say "missing file: the message names the file"
run "$ALLOT" cluster show "$TMP/no-such-file.json"
expect_rc 1
expect_err "$TMP/no-such-file.json"
run "$ALLOT" sim --quiet --workload "$TMP/no-such-pods.csv"
expect_rc 1
expect_err "$TMP/no-such-pods.csv"
run "$ALLOT" sim --experiment fgd --seeds 1 --expected "$TMP/no-such-expected.csv" --threads 1
expect_rc 1
expect_err "$TMP/no-such-expected.csv"

say "a directory given as a file"
mkdir "$TMP/adir"
run "$ALLOT" cluster show "$TMP/adir"
expect_rc 1
expect_err "$TMP/adir"
run "$ALLOT" sim --quiet --workload "$TMP/adir"
expect_rc 1
expect_err "$TMP/adir"

say "a pod list with a header and no rows: exit 1, not a crash"
printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\n' >"$TMP/header_only.csv"
run "$ALLOT" sim --quiet --workload "$TMP/header_only.csv"
expect_rc 1
expect_err "no jobs"

say "jobs needing a chip type the cluster lacks run and are reported failed (not queued forever)"
need_python
for mode in replay fgd; do
    run timeout 20 "$ALLOT" sim --json --mode "$mode" --cluster "$DATA/cluster_small.json" \
        --workload "$DATA/pods_missing_chip.csv"
    [ "$RC" -eq 124 ] && fail "--mode $mode did not finish in 20 s (jobs queued forever?)"
    expect_rc 0
    "$PYTHON" - "$TMP/out" "$mode" <<'PY' || fail "--mode $mode: wrong job accounting for jobs needing H800"
import json, sys
j = json.load(open(sys.argv[1]))
mode = sys.argv[2]
if mode == "replay":
    # pods 1 and 3 want H800 (absent); 0, 2, 4, 5 fit the A10/T4 cluster
    assert j["jobs_arrived"] == 6, j
    assert j["jobs_failed"] == 2, j
    assert j["jobs_placed"] == 4, j
    assert j["jobs_finished"] == 4, j
else:
    assert j["jobs_failed"] >= 1, j
    assert j["jobs_placed"] + j["jobs_failed"] == j["jobs_arrived"], j
print("   %s: arrived %d, placed %d, failed %d" % (mode, j["jobs_arrived"], j["jobs_placed"], j["jobs_failed"]))
PY
done

say "all checks passed"
