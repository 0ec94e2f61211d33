#!/usr/bin/env bash
# orch inspect --json on every NIfTI in shared/testdata/nifti prints the facts that folder's
# README lists (shapes, dtypes, nibabel's RAS affines, value ranges), read back with sqlite3's
# JSON functions as an independent parser.
source "$(dirname "$0")/lib.sh"
DATA=${ORCH_TESTDATA_DIR:?}/nifti

# get FILE.json JSONPATH
get() { sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"; }
# near ACTUAL EXPECTED TOLERANCE
near() { awk -v a="$1" -v e="$2" -v t="$3" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(d <= t) }'; }
expect() {  # expect FILE.json JSONPATH EXPECTED [TOLERANCE]
  local v; v=$(get "$1" "$2")
  if [ $# -ge 4 ]; then near "$v" "$3" "$4" || fail "$1 $2 = $v, expected $3 +- $4"
  else [ "$v" = "$3" ] || fail "$1 $2 = $v, expected $3"; fi
}
affine_rows() {  # affine_rows FILE.json ROW0 ROW1 ROW2 (each "a b c d")
  local f=$1; shift
  for r in 0 1 2; do
    read -r -a want <<< "$1"; shift
    for c in 0 1 2 3; do expect "$f" "\$.affine[$r][$c]" "${want[$c]}" 1e-3; done
  done
}

for f in "$DATA"/*.nii*; do "$ORCH" inspect --json "$f" > "$(basename "$f").json"; done

j=example4d.nii.gz.json
expect $j '$.shape' '[128,96,24,2]'; expect $j '$.dtype' int16
affine_rows $j "-2 0 0 117.8551" "0 1.9737 -0.3555 -35.7229" "0 0.3232 2.1711 -7.2488"

j=example_nifti2.nii.gz.json
expect $j '$.shape' '[32,20,12,2]'; expect $j '$.dtype' int16; expect $j '$.nifti_version' 2
affine_rows $j "-2 0 0 117.8551" "0 1.9737 -0.3555 -35.7229" "0 0.3232 2.1711 -7.2488"

j=functional.nii.json
expect $j '$.shape' '[17,21,3,20]'; expect $j '$.dtype' int16
expect $j '$.min' 629.826 1e-3; expect $j '$.max' 5571.622 1e-3; expect $j '$.mean' 3637.4085 1e-3

j=standard.nii.gz.json
expect $j '$.shape' '[4,5,7]'; expect $j '$.dtype' uint8
affine_rows $j "1 0 0 0" "0 3 0 0" "0 0 2 0"

j=anatomical_bigendian.nii.json
expect $j '$.shape' '[33,41,25]'; expect $j '$.dtype' int16
affine_rows $j "-2 0 0 32" "0 2 0 -40" "0 0 2 -16"
expect $j '$.min' -610 1e-6; expect $j '$.max' 30393 1e-6; expect $j '$.mean' 8401.0667 1e-3

# The text form carries the same facts.
"$ORCH" inspect "$DATA/anatomical_bigendian.nii" > text.out
grep -q "shape    33 x 41 x 25" text.out && grep -q "dtype    int16" text.out || fail "text inspect"
# A missing file is a one-line error naming it.
if "$ORCH" inspect /nonexistent.nii.gz 2> err.txt; then fail "inspect of a missing file succeeded"; fi
grep -q "/nonexistent.nii.gz" err.txt || fail "error does not name the file"
echo "inspect_nifti: ok"
