#!/usr/bin/env bash
# Every registered model trains through `orch run` on a phantom and beats the same model left
# untrained (`training.epochs: 0` scores the freshly initialised weights) by a clear margin.
# The models are narrow (quick-profile widths) and the phantom tiny, so this stays a test.
source "$(dirname "$0")/lib.sh"

MARGIN=${MARGIN:-0.2}
cat > zoo.yaml <<'YAML'
version: 1
name: zoo
datasets:
  hv:
    kind: hepatic_vessel
    root: data/hv
    split: {train: 4, val: 1, seed: 0}
    phantom: {cases: 7, seed: 3, size: [32, 32, 16]}
    preprocess: {label_map: {2: 0}, steps: [{window: [0, 300]}]}
models:
  wide_unet: {kind: wide_unet, options: {width: 0.125, bn_momentum: 0.1}}
  unet3d: {kind: unet3d, options: {width: 0.125}}
  resunet3d: {kind: resunet3d, options: {base_filters: 8, dropout: 0.0}}
  spider_unet: {kind: spider_unet, options: {width: 0.125, sequence_length: 3, bn_momentum: 0.1}}
  fcn_rnn: {kind: fcn_rnn, options: {width: 0.125, sequence_length: 3, bn_momentum: 0.1}}
  resunet2d: {kind: resunet2d, options: {width: 0.125}}
  attention_unet2d: {kind: attention_unet2d, options: {width: 0.125}}
  swin_unetr: {kind: swin_unetr, options: {feature_size: 12}}
  refnet:  # RefNet refines two wide_unet trainings (seeds 0 and 1); its input is their labels
    kind: refnet
    options: {width: 0.125, depth: 3}
    refines: wide_unet
    repetitions: 2
    training: {optimizer: rmsprop, loss: refnet, lr: 0.002}
training:
  lr: 0.005
  batch: 4
  epochs: 6
  steps_per_epoch: 12
  patience: 50
  threads: 1
  patch: [32, 32, 16]
tables:
  zoo:
    title: Every model on the hepatic phantom
    rows: [{dataset: hv, label: HV}]
    columns:
      - {model: wide_unet, label: wide_unet}
      - {model: unet3d, label: unet3d}
      - {model: resunet3d, label: resunet3d}
      - {model: spider_unet, label: spider_unet}
      - {model: fcn_rnn, label: fcn_rnn}
      - {model: resunet2d, label: resunet2d}
      - {model: attention_unet2d, label: attention_unet2d}
      - {model: swin_unetr, label: swin_unetr}
      - {model: refnet, label: refnet}
profiles:
  untrained:
    training: {epochs: 0}
YAML
"$ORCH" run zoo.yaml --out runs/trained > trained.log 2>&1 || { cat trained.log; fail "trained run failed"; }
"$ORCH" run zoo.yaml --profile untrained --out runs/untrained > untrained.log 2>&1 ||
  { cat untrained.log; fail "untrained run failed"; }
mean_dsc() {  # mean over test cases of the vessel DSC, per model
  sql "$1" "SELECT t.model, avg(coalesce(m.dsc, 0)) FROM case_metrics m JOIN trials t ON t.id = m.trial_id WHERE m.class > 0 GROUP BY t.model ORDER BY t.model"
}
mean_dsc runs/trained/orch.sqlite > trained.txt
mean_dsc runs/untrained/orch.sqlite > untrained.txt
[ "$(wc -l < trained.txt)" = 9 ] && [ "$(wc -l < untrained.txt)" = 9 ] || fail "expected 9 models scored"
join -t'|' trained.txt untrained.txt | tee margins.txt | while IFS='|' read -r model trained untrained; do
  awk -v t="$trained" -v u="$untrained" -v m="$MARGIN" -v name="$model" \
    'BEGIN { if (t < u + m) { printf "FAIL: %s trained DSC %.3f vs untrained %.3f\n", name, t, u; exit 1 } }' || exit 1
done || fail "a model did not beat its untrained self by $MARGIN"
# Predictions were written as NIfTI with the case's grid, readable by orch inspect.
pred=$(ls runs/trained/trials/*/predictions/*.nii.gz | head -1)
"$ORCH" inspect "$pred" --json | grep -q '"dtype": "uint8"' || fail "prediction NIfTI"
# RefNet's prediction collection: each wide_unet source's collected label maps cover every case
# and are that source's predictions in the case's own grid: scored against the phantom's label
# files (written by the phantom generator, read by orch eval; vessel = label 1), the trained
# sources' maps beat the untrained sources' by the margin.
collected_dsc() {  # mean DSC over every collected case of the refnet trial's sources in run $1
  local id sources s
  id=$(sql "runs/$1/orch.sqlite" "SELECT id FROM trials WHERE model = 'refnet'")
  sources=$(sql "runs/$1/orch.sqlite" "SELECT json_extract(value, '$.id') FROM trials, json_each(json_extract(spec, '$.sources')) WHERE trials.id = '$id'")
  [ "$(echo "$sources" | wc -l)" = 2 ] || fail "refnet should list 2 source trials, got: $sources"
  for s in $sources; do
    [ "$(ls runs/$1/trials/$s/collected/*.nii.gz | wc -l)" = 7 ] || fail "source $s: 7 collected cases expected"
    "$ORCH" eval --pred "runs/$1/trials/$s/collected" --gt data/hv/labelsTr --labels 1 --json 2> /dev/null > "collected_$s.json" ||
      fail "orch eval of source $s's collected predictions"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); d=[c["dsc"] or 0 for c in r["cases"]]; assert len(d) == 7, d; print(sum(d) / len(d))' "collected_$s.json"
  done | awk '{ s += $1; n++ } END { print s / n }'
}
trained_c=$(collected_dsc trained) && untrained_c=$(collected_dsc untrained) || fail "collected predictions"
echo "collected predictions: trained sources DSC $trained_c, untrained $untrained_c"
awk -v t="$trained_c" -v u="$untrained_c" -v m="$MARGIN" 'BEGIN { exit !(t >= u + m) }' ||
  fail "the collected maps are not the trained sources' predictions ($trained_c vs $untrained_c)"
cat margins.txt
