#!/usr/bin/env bash
# orch eval scores predicted NIfTI label maps against references. Files written by nibabel; the
# expected DSC, per-slice DSC (NumPy, slices along k), HD95, ASSD and surface Dice come from SciPy
# (binary_erosion borders, distance_transform_edt with the header spacing, numpy.quantile),
# MONAI's recipe, independently of orch. Also: pairing by case name (.nii vs .nii.gz, nnU-Net's
# _0000 suffix), unpaired files on stderr, the empty-mask policy, and errors that name the files.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3  # Debian's python with nibabel/scipy; a pyenv python in PATH may lack them
if ! "$PY" -c "import nibabel, numpy, scipy" 2> /dev/null; then
  echo "eval: skipped (/usr/bin/python3 lacks nibabel, numpy or scipy)"
  exit 0
fi

"$PY" - << 'PY'
import json, os
import nibabel as nib, numpy as np
from scipy import ndimage as nd

SPACING = (1.5, 0.75, 2.0)  # mm along i, j, k; exact in the header's float32 pixdim
SHAPE = (20, 17, 12)
os.makedirs("gt"); os.makedirs("pred")

def save(path, a):
    nib.save(nib.Nifti1Image(a.astype(np.uint8), np.diag(list(SPACING) + [1.0])), path)

def box(a, lo, hi, v):
    a[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = v

cases = {}
g = np.zeros(SHAPE); p = np.zeros(SHAPE)                      # case01: two classes
box(g, (3, 2, 2), (13, 12, 9), 1); box(p, (5, 2, 3), (15, 11, 9), 1)
box(g, (14, 12, 1), (18, 16, 5), 2); box(p, (13, 11, 1), (18, 16, 6), 2)
cases["case01"] = (g, p)
g = np.zeros(SHAPE); p = np.zeros(SHAPE)                      # case02: class 1 missed,
box(g, (4, 4, 4), (9, 9, 8), 1); box(p, (10, 10, 2), (13, 13, 4), 2)  # class 2 false alarm
cases["case02"] = (g, p)
g = np.zeros(SHAPE); p = np.zeros(SHAPE)                      # case05: nnU-Net naming
box(g, (0, 0, 0), (6, 7, 5), 1); box(p, (0, 1, 0), (7, 7, 5), 1)
cases["case05"] = (g, p)
save("gt/case01.nii.gz", cases["case01"][0]); save("pred/case01.nii.gz", cases["case01"][1])
save("gt/case02.nii", cases["case02"][0]); save("pred/case02.nii.gz", cases["case02"][1])
save("gt/case05.nii.gz", cases["case05"][0]); save("pred/case05_0000.nii.gz", cases["case05"][1])
save("pred/orphan.nii.gz", cases["case05"][1])                # no reference
save("gt/lonely.nii.gz", cases["case05"][0])                  # no prediction (empty of class 2)

# The spacing as the header holds it, which is what orch reads.
assert tuple(float(z) for z in nib.load("gt/case01.nii.gz").header.get_zooms()) == SPACING

def surface(pm, gm, tau):
    if not pm.any() and not gm.any(): return None, None, None
    if not pm.any() or not gm.any(): return "inf", "inf", 0.0
    bp, bg = pm ^ nd.binary_erosion(pm), gm ^ nd.binary_erosion(gm)
    d_pg = nd.distance_transform_edt(~bg, sampling=SPACING)[bp]
    d_gp = nd.distance_transform_edt(~bp, sampling=SPACING)[bg]
    n = d_pg.size + d_gp.size
    return (max(np.quantile(d_pg, 0.95), np.quantile(d_gp, 0.95)),
            (d_pg.sum() + d_gp.sum()) / n, ((d_pg <= tau).sum() + (d_gp <= tau).sum()) / n)

expected = []
for name, (g, p) in sorted(cases.items()):
    for c in (1, 2):
        gm, pm = g == c, p == c
        tp, fp, fn = int((gm & pm).sum()), int((~gm & pm).sum()), int((gm & ~pm).sum())
        dsc = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else None
        hd, assd, nsd = surface(pm, gm, 1.6)
        # Per axial slice (k, the last axis): 2TP/(2TP+FP+FN); an empty-empty slice scores 0 in
        # dsc_slice and is left out of dsc_slice_nonempty.
        sl = [(2 * (gm[:, :, k] & pm[:, :, k]).sum(), gm[:, :, k].sum() + pm[:, :, k].sum())
              for k in range(SHAPE[2])]
        per = [t / d for t, d in sl if d]
        expected.append(dict(case=name, label=c, tp=tp, fp=fp, fn=fn, dsc=dsc, hd95=hd,
                             assd=assd, nsd=nsd, dsc_slice=sum(per) / SHAPE[2],
                             dsc_slice_nonempty=sum(per) / len(per) if per else None))
json.dump(expected, open("expected.json", "w"))
PY

"$ORCH" eval --pred pred --gt gt --tolerance 1.6 --json > out.json 2> err.txt ||
  { cat err.txt; fail "orch eval exited non-zero"; }
grep -q "no reference for prediction pred/orphan.nii.gz" err.txt || fail "orphan prediction not listed"
grep -q "no prediction for reference gt/lonely.nii.gz" err.txt || fail "lonely reference not listed"

"$PY" - << 'PY' || fail "orch eval disagrees with SciPy"
import json, math, sys
got = json.load(open("out.json"))
rows = {(r["case"], r["class"]): r for r in got["cases"]}
expected = json.load(open("expected.json"))
assert len(rows) == len(expected) == 6, sorted(rows)
bad = []
for e in expected:
    r = rows[(e["case"], e["label"])]
    for k in ("tp", "fp", "fn"):
        if r[k] != e[k]: bad.append((e["case"], e["label"], k, r[k], e[k]))
    for k in ("dsc", "hd95", "assd", "nsd", "dsc_slice", "dsc_slice_nonempty"):
        a, b = r[k], e[k]
        same = (a == b) if (a is None or b is None or isinstance(b, str)) else abs(a - b) < 1e-9
        if not same: bad.append((e["case"], e["label"], k, a, b))
s = got["summary"]["classes"]["1"]["hd95"]
if s["inf"] != 1 or s["n"] != 2: bad.append(("summary class 1 hd95", s))
if bad:
    print("mismatches:", *bad, sep="\n  ", file=sys.stderr); sys.exit(1)
PY

# The table form names every case and the per-class summary.
"$ORCH" eval --pred pred --gt gt --labels 1 > table.txt 2> /dev/null || fail "table form failed"
grep -q "^case05 " table.txt && grep -q "^1 *hd95 " table.txt || { cat table.txt; fail "table"; }
if grep -q "^2 *dsc " table.txt; then fail "--labels 1 still shows class 2"; fi

# Shapes that differ: an error naming both files.
mkdir p2 g2
"$PY" -c "
import nibabel as nib, numpy as np
nib.save(nib.Nifti1Image(np.zeros((4, 5, 6), np.uint8), np.eye(4)), 'p2/x.nii.gz')
nib.save(nib.Nifti1Image(np.zeros((4, 5, 7), np.uint8), np.eye(4)), 'g2/x.nii.gz')"
if "$ORCH" eval --pred p2 --gt g2 2> err2.txt; then fail "a shape mismatch was accepted"; fi
grep -q "p2/x.nii.gz" err2.txt && grep -q "g2/x.nii.gz" err2.txt || { cat err2.txt; fail "shape error"; }
# No pair at all: an error.
mkdir empty
if "$ORCH" eval --pred empty --gt gt 2> err3.txt; then fail "eval without any pair succeeded"; fi
grep -q "no prediction in 'empty'" err3.txt || { cat err3.txt; fail "no-pair error"; }
echo "eval: ok"
