#!/bin/sh
# bench/fgd_all.sh [POLICIES] - the FGD experiment on all 17 pod lists the FGD
# authors evaluated, next to their recorded means. Needs ../shared/traces (or
# ALLOT_TRACES). Prints one line per trace and policy; takes about a minute.
set -eu
ALLOT=${ALLOT:-build/allot}
TR=${ALLOT_TRACES:-../shared/traces}/alibaba-openb-gpu-2023
POLICIES=${1:-random,dotprod,gpuclustering,gpupacking,bestfit,fgd,fgd-la}
[ -d "$TR" ] || { echo "skipped: no $TR"; exit 0; }
for w in default cpu050 cpu100 cpu200 cpu250 gpushare40 gpushare60 gpushare80 gpushare100 \
         gpuspec10 gpuspec20 gpuspec25 gpuspec33 multigpu20 multigpu30 multigpu40 multigpu50; do
    "$ALLOT" sim --experiment fgd --quiet --json --policies "$POLICIES" \
        --cluster "$TR/csv/openb_node_list_gpu_node.csv" \
        --workload "$TR/csv/openb_pod_list_$w.csv" \
        --expected "$TR/fgd-expected-results/analysis_allo_discrete.csv" |
    python3 -c '
import json, sys
d = json.load(sys.stdin)
for p, v in d["policies"].items():
    e = v.get("expected_unallocated_pct_at_100")
    es = "%6.2f" % e if e is not None else "     -"
    print("%-12s %-14s %6.2f %s" % (d["workload"].replace("openb_pod_list_", ""), p, v["unallocated_pct_at_100"], es))
'
done
