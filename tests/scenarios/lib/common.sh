# tests/scenarios/lib/common.sh - helpers sourced by the scenario scripts.
# (In a subdirectory so that tests/run.sh, which runs tests/scenarios/*.sh,
# does not run it as a scenario.)
#
# Provides: ROOT DATA TRACES ALLOT ALLOT_FAST TMP; say, fail, run, expect_rc,
# expect_out, expect_err, expect_err_re, no_sanitizer, need_python.
# run CMD... stores stdout in $TMP/out, stderr in $TMP/err, the exit status
# in $RC, and fails the scenario at once if a sanitizer reported anything.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$ROOT/tests/data
TRACES=${ALLOT_TRACES:-$ROOT/../shared/traces}
ALLOT=${ALLOT:-$ROOT/build-asan/allot}
ALLOT_FAST=${ALLOT_FAST:-$ROOT/build/allot}
case $ALLOT in /*) ;; *) ALLOT=$PWD/$ALLOT ;; esac
case $ALLOT_FAST in /*) ;; *) ALLOT_FAST=$PWD/$ALLOT_FAST ;; esac
SCENARIO=$(basename "$0" .sh)

TMP=$(mktemp -d /tmp/allot-scenario.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

say() { printf '== %s: %s\n' "$SCENARIO" "$*"; }

fail() {
    printf 'FAIL %s: %s\n' "$SCENARIO" "$*" >&2
    if [ -n "${LAST_CMD:-}" ]; then
        printf '  last command: %s (exit %s)\n' "$LAST_CMD" "${RC:-?}" >&2
        [ -s "$TMP/out" ] && { echo '  --- stdout (head) ---' >&2; head -n 20 "$TMP/out" >&2; }
        [ -s "$TMP/err" ] && { echo '  --- stderr (head) ---' >&2; head -n 20 "$TMP/err" >&2; }
    fi
    exit 1
}

[ -x "$ALLOT" ] || fail "ALLOT=$ALLOT is not an executable (run make build-asan/allot)"
[ -x "$ALLOT_FAST" ] || fail "ALLOT_FAST=$ALLOT_FAST is not an executable (run make build/allot)"

no_sanitizer() { # fails if the last run's output holds a sanitizer report or a crash
    if grep -E -q 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation fault|core dumped' \
        "$TMP/out" "$TMP/err"; then
        fail "sanitizer/crash report in the output"
    fi
    # allot exits 0..5 (the client commands use 3 unreachable, 4 not authorised,
    # 5 not found); a signal or a sanitizer abort gives 128+
    if [ "$RC" -gt 5 ]; then fail "exit status $RC (crash, signal or sanitizer abort?)"; fi
}

run() { # run CMD... ; never exits on failure by itself (checks follow)
    LAST_CMD="$*"
    if "$@" </dev/null >"$TMP/out" 2>"$TMP/err"; then RC=0; else RC=$?; fi
    no_sanitizer
}

expect_rc() { [ "$RC" -eq "$1" ] || fail "expected exit status $1, got $RC"; }
expect_out() { grep -F -q -e "$1" "$TMP/out" || fail "stdout lacks '$1'"; }
expect_err() { grep -F -q -e "$1" "$TMP/err" || fail "stderr lacks '$1'"; }
expect_err_re() { grep -E -q -e "$1" "$TMP/err" || fail "stderr does not match /$1/"; }

# python3 checks JSON and CSV. A system python starts in ~0.05 s; a pyenv
# shim can take a second per call, so prefer /usr/bin/python3.
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
need_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || fail "python3 is needed to check JSON ($PYTHON not found)"
}

have_traces() { [ -d "$TRACES/alibaba-openb-gpu-2023/csv" ]; }

now_s() { "$PYTHON" -c 'import time; print("%.3f" % time.time())'; }
