#!/usr/bin/env bash
# Every dataset kind through `orch run` on its phantom with the 2D U-Net: each phantom is written
# in its publisher's layout, read back by its adapter, cached, trained on and scored. The
# published-split scheme (btcv: synapse) and kind options (york spacing, isbi channel and rater,
# lidc consensus) travel through the YAML. The mra root is written with a trailing slash
# (regression: the phantom was built inside the root and then could not be moved there).
source "$(dirname "$0")/lib.sh"

cat > kinds.yaml <<'YAML'
version: 1
name: kinds
datasets:
  hv: {kind: hepatic_vessel, root: data/hv, split: {train: 2, val: 1}, phantom: {cases: 4, seed: 1, size: [32, 32, 8]}, preprocess: {label_map: {2: 0}, steps: [{window: [0, 300]}]}}
  mra: {kind: mra, root: data/mra/, split: {train: 2, val: 1}, phantom: {cases: 4, seed: 1, size: [64, 64, 12]}, preprocess: {steps: [{scale: [0, 1]}]}}
  york: {kind: york_cardiac, root: data/york, options: {spacing: [1.4, 1.4, 9]}, split: {train: 2, val: 1}, phantom: {cases: 4, seed: 1, size: [32, 32, 8]}, preprocess: {steps: [{scale: [0, 1]}]}}
  btcv: {kind: btcv, root: data/btcv, num_classes: 14, split: {scheme: synapse, val: 1}, phantom: {cases: 5, seed: 1, size: [32, 32, 8]}, preprocess: {steps: [{window: [-125, 275]}]}}
  isbi: {kind: isbi_ms, root: data/isbi, options: {channel: flair, rater: 1}, split: {train: 1, val: 1}, phantom: {cases: 3, seed: 1, size: [32, 32, 24]}, preprocess: {steps: [{znorm: nonzero}]}}
  lidc: {kind: lidc, root: data/lidc, options: {consensus: 0.5}, split: {train: 2, val: 1}, phantom: {cases: 4, seed: 1, size: [48, 48, 12]}, preprocess: {steps: [{window: [-1350, 150]}]}}
models:
  unet: {kind: wide_unet, options: {width: 0.125, bn_momentum: 0.1}}
training: {lr: 0.003, batch: 4, epochs: 1, steps_per_epoch: 2, patience: 50, threads: 1}
tables:
  t:
    title: Every kind
    rows: [{dataset: hv, label: HV}, {dataset: mra, label: MRA}, {dataset: york, label: York}, {dataset: btcv, label: BTCV}, {dataset: isbi, label: ISBI}, {dataset: lidc, label: LIDC}]
    columns: [{model: unet, label: U-Net}]
YAML
"$ORCH" run kinds.yaml > run.log 2>&1 || { cat run.log; fail "orch run failed"; }
db=runs/kinds/orch.sqlite
[ "$(sql $db "SELECT count(*) FROM trials WHERE state='done'")" = 6 ] ||
  { sql $db "SELECT dataset, state, error FROM trials"; fail "not every kind's trial is done"; }
# Publisher layouts on disk.
[ -f data/hv/dataset.json ] || fail "MSD layout"
ls data/mra/imagesTr/topcow_mr_*_0000.nii.gz > /dev/null && ls data/mra/cow_seg_labelsTr/*.nii.gz > /dev/null || fail "TopCoW layout"
ls data/york/sol_yxzt_pat1.mat data/york/manual_seg_32points_pat1.mat > /dev/null || fail "York layout"
ls data/btcv/RawData/Training/img/img0001.nii.gz data/btcv/RawData/Training/label/label0001.nii.gz > /dev/null || fail "BTCV layout"
ls data/isbi/training/training01/preprocessed/training01_01_flair_pp.nii data/isbi/training/training01/masks/training01_01_mask2.nii > /dev/null || fail "ISBI layout"
ls data/lidc/LIDC-IDRI-0001/*/*/*.xml > /dev/null || fail "LIDC layout"
# BTCV's synapse scheme: the test cases come from the published 12-case test list only.
split=$(ls runs/kinds/trials/*/split.json | while read f; do grep -l '"img00' "$f"; done | head -1)
python3 - "$split" <<'PY' || fail "btcv synapse split"
import json, sys
s = json.load(open(sys.argv[1]))
test = {"img%04d" % n for n in (1, 2, 3, 4, 8, 22, 25, 29, 32, 35, 36, 38)}
assert s["test"] and set(s["test"]) <= test, s
assert not (set(s["train"]) | set(s["val"])) & test, s
PY
# Every trial scored per-case metrics for its test cases; BTCV has one row per organ.
[ "$(sql $db "SELECT count(DISTINCT trial_id) FROM case_metrics")" = 6 ] || fail "case metrics"
[ "$(sql $db "SELECT count(DISTINCT class) FROM case_metrics m JOIN trials t ON t.id = m.trial_id WHERE t.dataset = 'btcv' AND m.class > 0")" = 13 ] || fail "btcv organ classes"
# One cache file per dataset.
[ "$(ls cache/*.h5 | wc -l)" = 6 ] || fail "expected six cache files: $(ls cache)"
echo "dataset kinds: ok"
