#!/bin/sh
# cli_usage.sh - the command line: usage text, help, exit codes 0/2 and error
# messages that name the offending value.
set -eu
. "$(dirname "$0")/lib/common.sh"

say "allot with no arguments: exit 2, usage on stderr, nothing on stdout"
run "$ALLOT"
expect_rc 2
expect_err "usage: allot"
[ -s "$TMP/out" ] && fail "stdout should be empty"

for args in "--help" "help" "-h"; do
    say "allot $args: exit 0, usage on stdout"
    # shellcheck disable=SC2086
    run "$ALLOT" $args
    expect_rc 0
    expect_out "usage: allot <command>"
    for cmd in sim cluster version help; do expect_out "$cmd"; done
    [ -s "$TMP/err" ] && fail "stderr should be empty"
done

say "sim usage lists its options; help sim, sim --help and sim -h agree"
run "$ALLOT" sim --help
expect_rc 0
cp "$TMP/out" "$TMP/sim_help"
opts=$(grep -o -e '--[a-z][a-z-]*' "$TMP/sim_help" | sort -u)
n=$(echo "$opts" | wc -l)
[ "$n" -ge 20 ] || fail "sim usage lists only $n options: $opts"
for args in "help sim" "sim -h"; do
    # shellcheck disable=SC2086
    run "$ALLOT" $args
    expect_rc 0
    [ -s "$TMP/err" ] && fail "'allot $args' wrote to stderr"
    cmp -s "$TMP/out" "$TMP/sim_help" || fail "'allot $args' differs from 'allot sim --help'"
    for o in $opts; do expect_out "$o"; done
done
for o in cluster workload policy mode seed inflate coverage time-scale order tiebreak check \
    experiment policies seeds threads expected workload-name out json quiet help; do
    grep -q -e "--$o\b" "$TMP/sim_help" || fail "sim usage does not mention --$o"
done

say "every option in the sim usage is known to the parser"
for o in $opts; do
    case $o in
    --help) continue ;;
    esac
    run "$ALLOT" sim "$o" --quiet
    if grep -F -q "unknown option '$o'" "$TMP/err"; then fail "usage lists $o but the parser rejects it"; fi
done

say "cluster usage: --help, -h, help cluster"
for args in "cluster --help" "cluster -h" "help cluster"; do
    # shellcheck disable=SC2086
    run "$ALLOT" $args
    expect_rc 0
    expect_out "usage: allot cluster show"
    expect_out "convert"
    expect_out "--format"
    expect_out "--output"
    [ -s "$TMP/err" ] && fail "'allot $args' wrote to stderr"
done
run "$ALLOT" cluster
expect_rc 2
expect_err "usage: allot cluster"

say "version"
for args in version --version; do
    run "$ALLOT" $args
    expect_rc 0
    grep -E -q '^allot [0-9]+\.[0-9]+\.[0-9]+' "$TMP/out" || fail "'allot $args' prints no version"
done

say "usage errors exit 2 and name the bad value on stderr"
# each line: the value the message must name, then the arguments
while IFS='|' read -r want args; do
    [ -n "$want" ] || continue
    # shellcheck disable=SC2086
    run "$ALLOT" $args
    expect_rc 2
    expect_err "$want"
    [ -s "$TMP/out" ] && fail "'allot $args' printed on stdout"
    printf '   ok  allot %s  ->  %s\n' "$args" "$(head -n 1 "$TMP/err")"
done <<'LIST'
'frob'|frob
'nope'|help nope
'--frob'|sim --frob
'-z'|sim -z
'nope'|sim --policy nope
'nope'|sim --mode nope
'nope'|sim --tiebreak nope
'nope'|sim --order nope
'nope'|sim --experiment nope
'--seed'|sim --seed
'--cluster'|sim --cluster
'-1'|sim --seed -1
'abc'|sim --seed abc
'18446744073709551616'|sim --seed 18446744073709551616
'1.5'|sim --seed 1.5
'x'|sim --inflate x
'nan'|sim --inflate nan
'0'|sim --threads 0
'999'|sim --threads 999
'9-3'|sim --seeds 9-3
'1-x'|sim --seeds 1-x
'1-5000'|sim --seeds 1-5000
'2'|sim --coverage 2
'0.5'|sim --time-scale 0.5
'extra'|sim extra
--mode replay|sim --experiment fgd --mode replay
--seeds|sim --experiment fgd --seed 3
'nope'|sim --experiment fgd --policies bestfit,nope --seeds 1 --threads 1
'frob'|cluster frob
'--frob'|cluster show --frob
'nope'|cluster convert --format nope x.csv
'-o'|cluster show -o
PATH|cluster convert
PATH|cluster show a b
LIST

say "long --seeds values are not silently truncated (0-000...0009 must mean seeds 0..9 or be refused)"
run "$ALLOT" sim --experiment fgd --policies fgd --threads 1 --json \
    --seeds 0-00000000000000000000000000000009
if [ "$RC" -eq 0 ]; then
    grep -q '"seeds": 10' "$TMP/out" || fail "--seeds 0-00000000000000000000000000000009 ran $(grep '"seeds"' "$TMP/out") instead of 10 seeds (the value was truncated)"
else
    expect_rc 2
fi

say "all checks passed"
