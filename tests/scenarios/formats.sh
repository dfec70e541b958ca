#!/bin/sh
# formats.sh - `allot cluster show` and `allot cluster convert` on the sample
# fleet, a hand-written JSON spec and small node lists in the openb, PAI-2020
# (no header) and spot-2026 layouts (tests/data/nodes_*.csv); converted specs
# are accepted, round-trip byte for byte and simulate like the original. With
# the real traces present, their node lists give the documented counts.
set -eu
. "$(dirname "$0")/lib/common.sh"
need_python

# check_show NODES DEVICES: the last run printed a `cluster show` summary with
# these totals, and its per-chip and per-zone tables add up to them.
check_show() {
    expect_rc 0
    "$PYTHON" - "$TMP/out" "$1" "$2" <<'PY' || fail "cluster show output is inconsistent (want $1 nodes, $2 devices)"
import re, sys
text = open(sys.argv[1]).read().splitlines()
want_nodes, want_devs = int(sys.argv[2]), int(sys.argv[3])
m = re.match(r"cluster (\S+) \((.*)\): (\d+) nodes, (\d+) devices, (\d+) domains$", text[0])
assert m, "first line: %r" % text[0]
nodes, devs = int(m.group(3)), int(m.group(4))
assert (nodes, devs) == (want_nodes, want_devs), "got %d nodes, %d devices" % (nodes, devs)
chip_sum = zone_nodes = 0
section = None
for line in text[1:]:
    f = line.split()
    if not f: continue
    if f[:2] == ["chip", "type"]: section = "chip"; continue
    if f[0] == "zone": section = "zone"; continue
    if section == "chip": chip_sum += int(f[1])
    if section == "zone": zone_nodes += int(f[1])
assert chip_sum == devs, "chip table sums to %d devices, header says %d" % (chip_sum, devs)
assert zone_nodes == nodes, "zone table sums to %d nodes, header says %d" % (zone_nodes, nodes)
print("   ok  %s" % text[0])
PY
}

say "cluster show (default builtin:sample) and cluster show builtin:sample agree"
run "$ALLOT" cluster show
expect_rc 0
cp "$TMP/out" "$TMP/sample_show"
run "$ALLOT" cluster show builtin:sample
cmp -s "$TMP/out" "$TMP/sample_show" || fail "'cluster show' differs from 'cluster show builtin:sample'"
hdr=$(head -n 1 "$TMP/out")
n_nodes=$(echo "$hdr" | sed -n 's/.*: \([0-9]*\) nodes, \([0-9]*\) devices.*/\1/p')
n_devs=$(echo "$hdr" | sed -n 's/.*: \([0-9]*\) nodes, \([0-9]*\) devices.*/\2/p')
[ -n "$n_nodes" ] && [ "$n_nodes" -gt 0 ] || fail "cannot read the node count from: $hdr"
check_show "$n_nodes" "$n_devs"

# convert_check NAME INPUT NODES DEVICES [FORMAT]
convert_check() {
    name=$1 in=$2 nodes=$3 devs=$4 fmt=${5:-}
    say "$name: show, convert, show the spec, round-trip, simulate alike"
    run "$ALLOT" cluster show "$in"
    check_show "$nodes" "$devs"
    run "$ALLOT" cluster convert "$in"
    expect_rc 0
    [ -s "$TMP/out" ] || fail "$name: convert printed nothing"
    cp "$TMP/out" "$TMP/$name.json"
    "$PYTHON" -m json.tool "$TMP/$name.json" >/dev/null || fail "$name: converted spec is not valid JSON"
    if [ -n "$fmt" ]; then
        run "$ALLOT" cluster convert --format "$fmt" "$in"
        expect_rc 0
        cmp -s "$TMP/out" "$TMP/$name.json" || fail "$name: --format $fmt differs from auto detection"
    fi
    run "$ALLOT" cluster convert "$in" -o "$TMP/$name.o.json"
    expect_rc 0
    [ -s "$TMP/out" ] && fail "$name: convert -o also printed on stdout"
    cmp -s "$TMP/$name.o.json" "$TMP/$name.json" || fail "$name: convert -o FILE differs from stdout"
    [ -e "$TMP/$name.o.json.tmp" ] && fail "$name: convert -o left a .tmp file"
    run "$ALLOT" cluster show "$TMP/$name.json"
    check_show "$nodes" "$devs"
    run "$ALLOT" cluster convert "$TMP/$name.json"
    expect_rc 0
    cmp -s "$TMP/out" "$TMP/$name.json" || fail "$name: convert of the converted spec is not identical (round trip)"
    run "$ALLOT" cluster convert --format json "$TMP/$name.json"
    expect_rc 0
    cmp -s "$TMP/out" "$TMP/$name.json" || fail "$name: convert --format json of the spec is not identical"
    # the spec simulates exactly as the original input
    run "$ALLOT_FAST" sim --quiet --cluster "$in" --out "$TMP/$name.sim1"
    expect_rc 0
    run "$ALLOT_FAST" sim --quiet --cluster "$TMP/$name.json" --out "$TMP/$name.sim2"
    expect_rc 0
    cmp -s "$TMP/$name.sim1/series.csv" "$TMP/$name.sim2/series.csv" ||
        fail "$name: sim on the converted spec differs from sim on the original"
}

convert_check sample builtin:sample "$n_nodes" "$n_devs"
convert_check small_json "$DATA/cluster_small.json" 3 8 json
convert_check openb "$DATA/nodes_openb.csv" 6 24 openb
convert_check pai2020 "$DATA/nodes_pai2020.csv" 6 28 pai2020
convert_check spot2026 "$DATA/nodes_spot2026.csv" 6 37 spot2026

say "converted specs keep the data: names, chips, CPU and memory units"
"$PYTHON" - "$TMP" <<'PY' || fail "converted specs lost or mis-scaled data"
import json, sys
t = sys.argv[1]
def nodes(name):
    return {n["name"]: n for n in json.load(open("%s/%s.json" % (t, name)))["nodes"]}
o = nodes("openb")
assert o["openb-node-0001"]["chip"] == "G2" and o["openb-node-0001"]["devices"] == 8
assert o["openb-node-0001"]["cpu_milli"] == 96000 and o["openb-node-0001"]["memory_mib"] == 393216
assert "chip" not in o["openb-node-0005"] or o["openb-node-0005"].get("devices", 0) == 0  # CPU-only
p = nodes("pai2020")
n = p["fc6921f2af20c5337c43d4a9"]
assert n["chip"] == "V100M32" and n["devices"] == 8
assert n["cpu_milli"] == 96 * 1000, n            # cores -> milli-cores
assert n["memory_mib"] == 384 * 1024, n          # GB -> MiB
assert p["cb5c703eae0a123ad25e480d"].get("devices", 0) == 0  # gpu_type CPU
s = json.load(open("%s/spot2026.json" % t))["nodes"]
chips = sorted((n.get("chip"), n.get("devices")) for n in s)
assert ("H800", 8) in chips and ("A10", 1) in chips, chips
assert all(n["cpu_milli"] in (126000, 128000, 192000) for n in s), [n["cpu_milli"] for n in s]
print("   ok  names, chips, cpu_milli and memory_mib as expected")
PY

say "a PAI-2020 list with short machine ids needs --format pai2020 (auto detection wants 24-hex ids)"
printf 'm1,P100,64,512,2\nm2,CPU,96,512,0\n' >"$TMP/pai_short.csv"
run "$ALLOT" cluster convert --format pai2020 "$TMP/pai_short.csv"
expect_rc 0
cp "$TMP/out" "$TMP/pai_short.json"
run "$ALLOT" cluster show "$TMP/pai_short.json"
check_show 2 2

say "convert -o into a missing directory: exit 1, names the file"
run "$ALLOT" cluster convert "$DATA/nodes_openb.csv" -o "$TMP/no/such/dir/x.json"
expect_rc 1
expect_err "$TMP/no/such/dir/x.json"

say "the wrong --format is refused with a file:line:col message"
run "$ALLOT" cluster convert --format spot2026 "$DATA/nodes_openb.csv"
expect_rc 1
expect_err "$DATA/nodes_openb.csv:1:"
run "$ALLOT" cluster convert --format openb "$DATA/nodes_pai2020.csv"
expect_rc 1
expect_err "$DATA/nodes_pai2020.csv:1:"

if [ -d "$TRACES/alibaba-openb-gpu-2023/csv" ]; then
    o=$TRACES/alibaba-openb-gpu-2023/csv
    convert_check openb_gpu_node "$o/openb_node_list_gpu_node.csv" 1213 6212 openb
    say "openb all_node list: 1523 nodes (310 CPU-only), 6212 GPUs"
    run "$ALLOT" cluster show "$o/openb_node_list_all_node.csv"
    check_show 1523 6212
else
    say "skipped the real openb node lists: $TRACES/alibaba-openb-gpu-2023 is absent"
fi
if [ -f "$TRACES/alibaba-pai-gpu-2020/pai_machine_spec.csv" ]; then
    say "real PAI-2020 machine list: 1897 machines, 6742 GPUs"
    run "$ALLOT" cluster show "$TRACES/alibaba-pai-gpu-2020/pai_machine_spec.csv"
    check_show 1897 6742
else
    say "skipped the real PAI-2020 list: absent"
fi
if [ -f "$TRACES/alibaba-spot-gpu-2026/node_info_df.csv" ]; then
    say "real spot-2026 node list: 4278 nodes, 10412 GPUs"
    run "$ALLOT" cluster show "$TRACES/alibaba-spot-gpu-2026/node_info_df.csv"
    check_show 4278 10412
else
    say "skipped the real spot-2026 list: absent"
fi

say "all checks passed"
