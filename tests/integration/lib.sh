# Helpers shared by the integration tests. Each test runs the built `orch` as a user would, in a
# fresh folder, and checks results through independent readers (the sqlite3 shell, grep).
set -euo pipefail

ORCH=${ORCH:?set ORCH to the orch executable}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/orch_it.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
sql() { sqlite3 -batch -noheader "$1" "$2"; }

# tiny_yaml FILE SEEDS EPOCHS: a 1-table experiment with one trial per seed on a tiny phantom.
tiny_yaml() {
  cat > "$1" <<YAML
version: 1
name: tiny
datasets:
  liver:
    kind: hepatic_vessel
    root: data/liver
    split: {train: 0.5, val: 0.25, seed: 0}
    phantom: {cases: 4, seed: 3, size: [32, 32, 8]}
    preprocess: {label_map: {2: 0}, steps: [{window: [0, 300]}]}
models:
  unet:
    kind: wide_unet
    options: {width: 0.125, bn_momentum: 0.1}
training: {lr: 0.003, batch: 4, epochs: $3, steps_per_epoch: 3, patience: 50, threads: 1}
seeds: [$2]
tables:
  t:
    title: Tiny table
    rows: [{dataset: liver, label: Liver}]
    columns: [{model: unet, label: U-Net}]
    published: {liver: {unet: {dsc: 0.327, iou: 0.277}}}
YAML
}
