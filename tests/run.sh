#!/bin/sh
# tests/run.sh BUILD ASAN FUZZB - runs every test allot has and prints one
# closing line "N passed, N failed" (exit 1 if anything failed):
#   1. cmocka unit tests, plain build
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. scenario tests (tests/scenarios/*.sh) driving the CLI end to end,
#      against the sanitizer build of the binary
#   4. the clang-format check of the sources
#   5. a few seconds of each libFuzzer target (FUZZ_SMOKE_SECONDS, default 5)
set -u
BUILD=${1:-build}; ASAN=${2:-build-asan}; FUZZB=${3:-build-fuzz}
pass=0; fail=0; failed_names=""
log=$(mktemp -d /tmp/allot-test.XXXXXX)

count_cmocka() { # file -> adds to pass/fail from cmocka's summary lines
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
    echo "$p $f"
}

run_unit() { # dir label
    for t in "$1"/tests/test_*; do
        [ -x "$t" ] || continue
        name="$2/$(basename "$t")"
        out="$log/$(echo "$name" | tr '/' '_').log"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
            "$t" >"$out" 2>&1
        rc=$?
        set -- $(count_cmocka "$out") "$1" "$2"
        p=$1; f=$2; shift 2
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        pass=$((pass + p)); fail=$((fail + f))
        if [ "$f" -ne 0 ]; then
            failed_names="$failed_names $name"
            echo "FAIL $name (exit $rc)"; tail -n 30 "$out"
        else
            echo "ok   $name ($p tests)"
        fi
    done
}

run_unit "$BUILD" unit
run_unit "$ASAN" asan

for s in tests/scenarios/*.sh; do
    [ -f "$s" ] || continue
    name="scenario/$(basename "$s" .sh)"
    out="$log/$(basename "$s").log"
    ALLOT="$ASAN/allot" ALLOT_FAST="$BUILD/allot" sh "$s" >"$out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); failed_names="$failed_names $name"
        echo "FAIL $name (exit $rc)"; tail -n 30 "$out"
    fi
done

# the sources follow .clang-format (make format fixes them)
if command -v clang-format >/dev/null 2>&1; then
    files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests bench -name '*.[ch]')
    if clang-format --dry-run --Werror $files >"$log/format.log" 2>&1; then
        pass=$((pass + 1)); echo "ok   format (clang-format)"
    else
        fail=$((fail + 1)); failed_names="$failed_names format"
        echo "FAIL format: run 'make format'"; head -n 20 "$log/format.log"
    fi
fi

secs=${FUZZ_SMOKE_SECONDS:-5}
for fz in "$FUZZB"/fuzz_*; do
    [ -x "$fz" ] || continue
    n=$(basename "$fz")
    corpus=$(mktemp -d "$log/corpus.XXXXXX")
    seeds="tests/fuzz/seeds/$n"
    [ -d "$seeds" ] || seeds=""
    out="$log/$n.log"
    "$fz" -max_total_time="$secs" -max_len=65536 -print_final_stats=0 $corpus $seeds >"$out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok   fuzz/$n (${secs}s)"
    else
        fail=$((fail + 1)); failed_names="$failed_names fuzz/$n"
        echo "FAIL fuzz/$n"; tail -n 40 "$out"
    fi
done

rm -rf "$log"
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
