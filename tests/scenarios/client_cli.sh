#!/bin/sh
# client_cli.sh - the client commands (submit, jobs, nodes, cancel, logs,
# tenants) without a server: help texts, usage errors (exit 2, checked before
# any request), an unreachable server (exit 3, one line on stderr), and the
# token never printed. Talking to a real server is tested with the server.
set -eu
. "$(dirname "$0")/lib/common.sh"

# like run, but exit statuses 3..5 are meaningful here, not crashes
crun() {
    # shellcheck disable=SC2034 # LAST_CMD is read by fail() in common.sh
    LAST_CMD="$*"
    if "$@" </dev/null >"$TMP/out" 2>"$TMP/err"; then RC=0; else RC=$?; fi
    if grep -E -q 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
        "$TMP/out" "$TMP/err"; then
        fail "sanitizer report in the output"
    fi
    [ "$RC" -le 5 ] || fail "exit status $RC (crash or signal?)"
}

# nothing listens on port 1: "cannot be reached" rather than a usage error
NOWHERE=http://127.0.0.1:1
export ALLOT_SERVER=$NOWHERE
export ALLOT_TOKEN=sekrit-token-0123

say "each command's help: exit 0, usage and exit statuses on stdout; help CMD agrees"
for c in submit jobs nodes cancel logs tenants; do
    crun "$ALLOT" "$c" --help
    expect_rc 0
    expect_out "usage: allot $c"
    expect_out "3 the server cannot be reached"
    expect_out "4 not authorised"
    expect_out "5 not found"
    expect_out "--server"
    [ -s "$TMP/err" ] && fail "'allot $c --help' wrote to stderr"
    cp "$TMP/out" "$TMP/help"
    crun "$ALLOT" help "$c"
    expect_rc 0
    cmp -s "$TMP/out" "$TMP/help" || fail "'allot help $c' differs from 'allot $c --help'"
done
crun "$ALLOT" --help
for c in submit jobs nodes cancel logs tenants; do expect_out "  $c "; done

say "submit --help documents every option and the --time forms"
crun "$ALLOT" submit --help
for o in devices milli chip tenant priority time gang-size cpu mem name preemptible env workdir \
    wait server; do
    grep -q -e "--$o\b" "$TMP/out" || fail "submit usage does not mention --$o"
done
for f in 30m 1h 2d H:MM:SS; do expect_out "$f"; done

say "usage errors exit 2, name the bad value, print nothing on stdout and send nothing"
while IFS='|' read -r want args; do
    [ -n "$want" ] || continue
    # shellcheck disable=SC2086
    crun "$ALLOT" $args
    expect_rc 2
    expect_err "$want"
    [ -s "$TMP/out" ] && fail "'allot $args' printed on stdout"
    [ "$(wc -l <"$TMP/err")" -le 2 ] || fail "'allot $args': more than two lines on stderr"
    printf '   ok  allot %s  ->  %s\n' "$args" "$(head -n 1 "$TMP/err")"
done <<'LIST'
no command|submit
no command|submit --devices 2
'65'|submit --devices 65 -- true
'-1'|submit --devices -1 -- true
'0'|submit --milli 0 -- true
needs --devices 1|submit --milli 500 --devices 2 -- true
'1h30'|submit --time 1h30 -- true
'0'|submit --time 0 -- true
'abc'|submit --time abc -- true
'1:75'|submit --time 1:75 -- true
'366d'|submit --time 366d -- true
'5000'|submit --gang-size 5000 -- true
'2000'|submit --priority 2000 -- true
'x'|submit --cpu x -- true
'12Q'|submit --mem 12Q -- true
'NOEQ'|submit --env NOEQ -- true
'1X=y'|submit --env 1X=y -- true
'--bogus'|submit --bogus -- true
'--time'|submit --time
'x'|jobs -o x
'bogus'|jobs --state bogus
'extra'|jobs extra
'wide'|tenants -o wide
'extra'|nodes extra
no job id|cancel
'abc'|cancel 1 abc
'0'|cancel 0
no job id|logs
'x'|logs x
'-2'|logs 1 --task -2
'2'|logs 1 2
LIST

say "an unreachable server: exit 3, one line naming the address, nothing on stdout"
for args in "submit -- true" "jobs" "jobs --all -o json" "nodes" "tenants" "cancel 7" "logs 7" \
    "logs -f 7"; do
    # shellcheck disable=SC2086
    crun "$ALLOT" $args
    expect_rc 3
    expect_err "allot ${args%% *}: cannot reach the server at $NOWHERE"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "'allot $args': not one line on stderr"
    [ -s "$TMP/out" ] && fail "'allot $args' printed on stdout"
    grep -q sekrit "$TMP/out" "$TMP/err" && fail "'allot $args' printed the token"
done

say "--server overrides ALLOT_SERVER; a bare HOST:PORT gets http://"
crun env ALLOT_SERVER=http://127.0.0.1:9 "$ALLOT" jobs --server 127.0.0.1:1
expect_rc 3
expect_err "http://127.0.0.1:1"
crun env ALLOT_SERVER= "$ALLOT" nodes --server 127.0.0.1:1
expect_err "http://127.0.0.1:1"

say "all checks passed"
