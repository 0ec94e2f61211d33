#!/usr/bin/env bash
# Bad YAML gets a one-line error naming the problem and its file:line:col, a non-zero exit, and
# no results store.
source "$(dirname "$0")/lib.sh"

check() {  # check NAME EXPECTED_REGEX
  if "$ORCH" run "$1.yaml" --out "out_$1" > "$1.out" 2> "$1.err"; then fail "$1: exit status 0"; fi
  [ "$(wc -l < "$1.err")" = 1 ] || { cat "$1.err"; fail "$1: error is not one line"; }
  grep -Eq "$2" "$1.err" || { cat "$1.err"; fail "$1: error does not match /$2/"; }
  [ ! -e "out_$1/orch.sqlite" ] || fail "$1: a results store was written"
}

tiny_yaml good.yaml 0 1

# A syntax error: an unclosed flow sequence on line 15.
sed 's/^seeds: \[0\]$/seeds: [0/' good.yaml > syntax.yaml
check syntax '^orch: error: syntax\.yaml:[0-9]+:[0-9]+: YAML syntax error'

sed 's/kind: wide_unet/kind: wide_unett/' good.yaml > model.yaml
check model "^orch: error: model\.yaml:12:11: models\.unet: unknown model kind 'wide_unett'; known: [a-z0-9_, ]*wide_unet$"

sed 's/^training: {lr/training: {learning_rate: 1, lr/' good.yaml > key.yaml
check key "^orch: error: key\.yaml:14:12: unknown key 'learning_rate' in training; expected one of: .*lr"

sed -e 's#root: data/liver#root: /nonexistent/liver#' -e '/phantom:/d' good.yaml > root.yaml
check root "^orch: error: root\.yaml:6:11: datasets\.liver: root '/nonexistent/liver' does not exist"

sed 's/kind: hepatic_vessel/kind: hepatic/' good.yaml > dskind.yaml
check dskind "dskind\.yaml:5:11: datasets\.liver: unknown dataset kind 'hepatic'; known: hepatic_vessel, mra, york_cardiac, btcv, isbi_ms, lidc"

sed 's/options: {width: 0.125/options: {widht: 0.125/' good.yaml > option.yaml
check option "option\.yaml:13:15: models\.unet\.options: widht: unknown option for wide_unet"
echo "config_errors: ok"
