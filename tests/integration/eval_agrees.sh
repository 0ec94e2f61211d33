#!/usr/bin/env bash
# `orch eval` rescoring the predictions a trial wrote gives the per-case metrics that `orch run`
# stored for them: the same counts, DSC, HD95, ASSD and surface Dice. The dataset's reference
# labels are read straight from the MSD folder (tumour label 2 is not class 1, just as the run's
# label_map {2: 0} makes it background), and the preprocessing keeps the grid, so both score the
# same voxels.
source "$(dirname "$0")/lib.sh"

tiny_yaml exp.yaml "0" 2
"$ORCH" run exp.yaml > run.log 2>&1 || { cat run.log; fail "orch run failed"; }
preds=$(ls -d runs/tiny/trials/*/predictions)
[ "$(ls "$preds" | wc -l)" -ge 1 ] || fail "no predictions written"
"$ORCH" eval --pred "$preds" --gt data/liver/labelsTr --labels 1 --json > eval.json 2> eval.err ||
  { cat eval.err; fail "orch eval failed"; }
sql runs/tiny/orch.sqlite "SELECT case_id, tp, fp, fn, dsc, hd95, assd, nsd FROM case_metrics WHERE class = 1" > stored.txt
[ -s stored.txt ] || fail "no stored case metrics"
/usr/bin/python3 - eval.json stored.txt <<'PY' || fail "orch eval disagrees with the stored metrics"
import json, math, sys
ev = {c["case"]: c for c in json.load(open(sys.argv[1]))["cases"] if c["class"] == 1}
def num(v):
    if v in ("", None): return math.nan
    return math.inf if v in ("inf", "Inf") else float(v)
n = 0
for line in open(sys.argv[2]):
    case, tp, fp, fn, dsc, hd95, assd, nsd = line.rstrip("\n").split("|")
    e = ev[case]
    assert (int(tp), int(fp), int(fn)) == (e["tp"], e["fp"], e["fn"]), (case, line, e)
    for name, stored in (("dsc", dsc), ("hd95", hd95), ("assd", assd), ("nsd", nsd)):
        a, b = num(stored), num(e[name])
        assert (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-9 * max(1, abs(a)), (case, name, a, b)
    n += 1
assert n >= 1
print(f"{n} case(s) agree")
PY
