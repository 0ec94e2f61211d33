#!/usr/bin/env bash
# The HDF5 cache as a user meets it: `orch prepare` builds one file per (dataset, preprocessing)
# key; two runs in different output folders share it; a changed preprocessing setting makes a
# new file; a truncated file is detected, never served, and rebuilt. h5ls (hdf5-tools) reads the
# file as an independent check of its layout.
source "$(dirname "$0")/lib.sh"

tiny_yaml exp.yaml "0" 1
"$ORCH" prepare exp.yaml > prep1.log 2>&1 || { cat prep1.log; fail "orch prepare failed"; }
files=(cache/liver-*.h5)
[ ${#files[@]} = 1 ] && [ -s "${files[0]}" ] || fail "expected one cache file, got: $(ls cache)"
cache=${files[0]}
grep -q "built" prep1.log || fail "prepare did not report building"
if command -v h5ls > /dev/null; then
  h5ls -r "$cache" | grep -Eq "/cases/hepaticvessel_[0-9]+/image +Dataset \{1, 8, 32, 32\}" ||
    { h5ls -r "$cache"; fail "h5ls does not show the (C, Z, Y, X) image"; }
  h5ls -r "$cache" | grep -Eq "/cases/hepaticvessel_[0-9]+/label +Dataset \{8, 32, 32\}" || fail "label"
fi
sum1=$(cksum < "$cache")

# Two runs, two output folders, one cache file, built by neither run.
"$ORCH" run exp.yaml --out runs/a > a.log 2>&1 || { cat a.log; fail "run a failed"; }
"$ORCH" run exp.yaml --out runs/b > b.log 2>&1 || { cat b.log; fail "run b failed"; }
grep -q "building cache" a.log b.log && fail "a run rebuilt a cache that orch prepare had built"
[ "$(ls cache/*.h5 | wc -l)" = 1 ] || fail "runs made new cache files: $(ls cache)"
[ "$(cksum < "$cache")" = "$sum1" ] || fail "the cache file changed"

# A changed preprocessing setting gives a second file; the first stays.
sed -i 's/window: \[0, 300\]/window: [0, 250]/' exp.yaml
"$ORCH" prepare exp.yaml > prep2.log 2>&1 || { cat prep2.log; fail "prepare after change"; }
[ "$(ls cache/*.h5 | wc -l)" = 2 ] || fail "a changed window did not make a new cache file"
[ -f "$cache" ] || fail "the old cache file vanished"

# Truncated: detected, never served, rebuilt to the same content.
sed -i 's/window: \[0, 250\]/window: [0, 300]/' exp.yaml
size=$(stat -c %s "$cache")
truncate -s $((size / 2)) "$cache"
"$ORCH" prepare exp.yaml > prep3.log 2>&1 || { cat prep3.log; fail "prepare on a truncated cache"; }
grep -q "cannot be served" prep3.log || { cat prep3.log; fail "no warning about the truncated file"; }
grep -q "built" prep3.log || fail "the truncated file was not rebuilt"
[ "$(stat -c %s "$cache")" = "$size" ] || fail "rebuilt file differs in size"
"$ORCH" run exp.yaml --out runs/c > c.log 2>&1 || { cat c.log; fail "run after the rebuild"; }
echo "cache: ok"
