#!/bin/sh
# bench/plan_bench.sh [BUILD] - the speed target of allot plan (issue 6):
# 100 Monte Carlo runs x 12 months on a 20,000-device fleet with mixed
# training and serving (bench/plan-20k.json) in <= 60 s on 2 cores.
# Prints wall and CPU time, window simulations and their rate.
set -eu
BUILD=${1:-build}
PLAN=$(dirname "$0")/plan-20k.json
THREADS=${PLAN_BENCH_THREADS:-2}
echo "[plan] allot plan $PLAN --threads $THREADS (100 runs x 12 months, 20,000 devices)"
t0=$(date +%s.%N)
out=$(/usr/bin/env time -f '%U %S %M' "$BUILD/allot" plan "$PLAN" --threads "$THREADS" --json --quiet \
      2>"${TMPDIR:-/tmp}/plan_bench.$$" ) || { cat "${TMPDIR:-/tmp}/plan_bench.$$"; exit 1; }
t1=$(date +%s.%N)
set -- $(tail -n 1 "${TMPDIR:-/tmp}/plan_bench.$$")
rm -f "${TMPDIR:-/tmp}/plan_bench.$$"
sims=$(printf '%s\n' "$out" | sed -n 's/^ *"simulations": \([0-9]*\).*/\1/p')
awk -v t0="$t0" -v t1="$t1" -v u="$1" -v s="$2" -v m="$3" -v n="$sims" 'BEGIN {
    w = t1 - t0
    printf "  wall %.1f s (target <= 60 s), cpu %.1f s user + %.1f s sys, peak RSS %.1f MiB\n",
           w, u, s, m / 1024
    printf "  %d window simulations, %.1f ms of cpu each, %.0f per second of wall\n",
           n, (u + s) * 1000 / n, n / w
}'
