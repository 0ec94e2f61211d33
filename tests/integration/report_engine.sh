#!/usr/bin/env bash
# orch report on a run of every table layout (data/report_layouts.yaml): the CSV's statistics
# against the per-case values in the store, recomputed by an independent reader (Python's sqlite3
# and SciPy), the bootstrap CIs, the Wilcoxon and Holm p-values, the improvement column, class
# names, escaping, the phantom banner, provenance.json, --format and --json.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
cp "$(dirname "$0")/data/report_layouts.yaml" layouts.yaml
"$ORCH" run layouts.yaml > run.log 2>&1 || { cat run.log; fail "orch run exited non-zero"; }
out=runs/layouts
for f in report.md report.html report.csv cases.csv report.tex provenance.json; do
  [ -s $out/$f ] || fail "orch run did not write $f"
done
"$ORCH" report --db $out/orch.sqlite --json > summary.json || fail "orch report --json failed"
sha=$(sha256sum layouts.yaml | cut -d' ' -f1)

$PY - "$out" "$sha" <<'PYEOF' || fail "independent check of the report failed"
import csv, json, math, sqlite3, statistics, sys
from scipy.stats import wilcoxon
out, sha = sys.argv[1], sys.argv[2]
db = sqlite3.connect(out + "/orch.sqlite")
rows = list(csv.DictReader(open(out + "/report.csv")))
assert rows and list(rows[0].keys())[:15] == ("table,row,column,metric,n,mean,sd,median,ci_low,"
    "ci_high,published,delta,p_value,p_holm,reference").split(","), list(rows[0].keys())

# What each label selects, written from the YAML by hand: (dataset, model, class); class None =
# the mean over foreground classes, "all" = over every class.
organs = ["background", "spleen", "right kidney", "left kidney", "gallbladder", "esophagus",
          "liver", "stomach", "aorta", "inferior vena cava", "portal and splenic veins",
          "pancreas", "right adrenal gland", "left adrenal gland"]
select = {
  "grid": lambda r, c: ({"Liver <vessels> | A": "liver", "Liver B": "liver_b"}[r],
                        {"U-Net": "unet", "Wide U-Net": "unet_b"}[c], None),
  "classes": lambda r, c: ("organs", {"Raw": "unet", "Refined": "unet_b"}[c],
                           None if r.startswith("Average") else organs.index(r)),
  "metrics": lambda r, c: ("liver", {"Narrow": "unet", "Wide": "unet_b"}[c], None),
  "ablation": lambda r, c: ("liver", {"Base": "unet", "Base + width": "unet_b"}[r], None),
  "pairs": lambda r, c: ({"U-Net / A": "liver", "U-Net / B": "liver_b", "Wide / A": "liver"}[r],
                         {"U-Net / A": "unet", "U-Net / B": "unet", "Wide / A": "unet_b"}[r], None),
}
reference = {"grid": "U-Net", "classes": "Raw", "metrics": "Narrow", "ablation": None, "pairs": None}

def case_values(table, dataset, model, cls, metric):
    out = {}
    for (tid, seed) in db.execute(
        "SELECT c.trial_id, c.seed FROM table_cells c JOIN trials t ON t.id = c.trial_id "
        "WHERE c.table_name=? AND c.dataset=? AND c.model=? AND t.state='done'",
        (table, dataset, model)):
        per_case = {}
        for case, k, v in db.execute(
            f"SELECT case_id, class, {metric} FROM case_metrics WHERE trial_id=?", (tid,)):
            if (cls is None and k >= 1) or k == cls:
                if v is not None: per_case.setdefault(case, []).append(v)
        for case, vs in per_case.items():
            out[f"{seed}/{case}"] = sum(vs) / len(vs)
    return out

def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(b))

seen = set()
ps = {}
for r in rows:
    if r["metric"] == "improvement": continue
    t = r["table"]; seen.add(t)
    ds, model, cls = select[t](r["row"], r["column"])
    vals = case_values(t, ds, model, cls, r["metric"])
    finite = [v for v in vals.values() if math.isfinite(v)]
    assert int(r["n"]) == len(finite), (r, len(finite))
    if not finite: continue
    assert close(float(r["mean"]), statistics.mean(finite)), (r, statistics.mean(finite))
    assert close(float(r["median"]), statistics.median(finite)), r
    if len(finite) > 1: assert close(float(r["sd"]), statistics.stdev(finite)), r
    lo, hi = float(r["ci_low"]), float(r["ci_high"])
    assert lo <= float(r["mean"]) <= hi, ("CI does not contain the mean", r)
    if r["p_value"]:
        assert r["reference"] == reference[t], r
        ref_ds, ref_model, _ = select[t](r["row"], reference[t])
        ref = case_values(t, ref_ds, ref_model, cls, r["metric"])
        keys = sorted(k for k in vals if k in ref and math.isfinite(vals[k]) and math.isfinite(ref[k]))
        x = [vals[k] for k in keys]; y = [ref[k] for k in keys]
        d = [abs(a - b) for a, b in zip(x, y) if a != b]
        ties = len(set(d)) < len(d) or len(d) < len(x)
        # orch's rule: exact without ties or zeros (n <= 50), else the normal approximation
        p = wilcoxon(x, y, method="approx" if ties or len(d) > 50 else "auto").pvalue
        assert close(float(r["p_value"]), p), (r, p)
        ps.setdefault(t, []).append((float(r["p_value"]), float(r["p_holm"])))
assert seen == set(select), seen
assert ps, "no paired test was computed"
for t, pairs in ps.items():  # Holm, step-down, monotone, capped at 1
    order = sorted(range(len(pairs)), key=lambda i: pairs[i][0])
    m, running = len(pairs), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pairs[i][0]))
        assert close(pairs[i][1], running), (t, pairs, i, running)

# The improvement column: relative %, the Average row the mean of the organ rows'.
mean = {(r["row"], r["column"]): float(r["mean"]) for r in rows
        if r["table"] == "classes" and r["metric"] == "dsc" and r["mean"]}
imp = {r["row"]: float(r["mean"]) for r in rows
       if r["table"] == "classes" and r["metric"] == "improvement" and r["mean"] not in ("", "nan")}
organ_imps = []
for name in organs:
    a, b = mean[(name, "Raw")], mean[(name, "Refined")]
    if a != 0:
        assert close(imp[name], (b - a) / a * 100), name
        if name != "background": organ_imps.append(imp[name])
assert close(imp["Average (background excluded)"], sum(organ_imps) / len(organ_imps))
assert {r["row"] for r in rows if r["table"] == "classes"} >= set(organs)
pub = [r for r in rows if r["table"] == "classes" and r["row"] == "spleen" and r["column"] == "Raw"][0]
assert float(pub["published"]) == 0.85 and close(float(pub["delta"]), float(pub["mean"]) - 0.85)

# cases.csv: one row per (trial, case, class, metric), the values the store holds.
cases = list(csv.DictReader(open(out + "/cases.csv")))
n_rows = db.execute("SELECT count(*) FROM case_metrics").fetchone()[0]
assert len(cases) == 9 * n_rows, (len(cases), n_rows)
for c in cases[:300]:
    if c["metric"] not in ("dsc", "dsc_slice"): continue
    v = db.execute(f"SELECT {c['metric']} FROM case_metrics WHERE trial_id=? AND case_id=? AND class=?",
                   (c["trial"], c["case"], int(c["class"]))).fetchone()[0]
    assert (v is None and c["value"] == "") or close(float(c["value"]), v), c
assert any(c["class_name"] == "right kidney" for c in cases)

# provenance.json: every field.
p = json.load(open(out + "/provenance.json"))["runs"]["layouts"]
for k in ["orch_version", "git_commit", "build_type", "libtorch", "blas", "cuda", "cudnn",
          "device", "threads", "host", "started_at", "finished_at", "yaml", "config_sha256",
          "profile", "datasets"]:
    assert k in p, k
assert p["yaml"]["sha256"] == sha and p["yaml"]["path"].endswith("layouts.yaml")
assert len(p["config_sha256"]) == 64 and p["libtorch"].startswith("1.") and p["threads"] == 1
assert p["started_at"] <= p["finished_at"]
for d in p["datasets"]:
    assert d["data"] == "phantom" and "seed" in d["phantom"], d
    assert len(d["cache_key"]) == 16 and d["cache_file"].endswith(d["cache_key"] + ".h5"), d
s = json.load(open("summary.json"))
assert s["experiments"][0]["phantom"] is True and len(s["experiments"][0]["tables"]) == 5
assert s["figures"] >= 15, s["figures"]
PYEOF

md=$out/report.md html=$out/report.html
grep -q "synthetic phantom data" $md && grep -q "synthetic phantom data" $html || fail "no phantom banner"
grep -Fq 'Liver &lt;vessels&gt; \| A' $md || fail "markdown label not escaped"
grep -Fq 'Liver &lt;vessels&gt; | A' $html && ! grep -q '<vessels>' $html || fail "html label not escaped"
grep -Eq '\| U-Net / A \| .*[0-9] ± [0-9.]+ .*\| .*[0-9] ± ' $md || fail "method x channel rows"
grep -Eq '[0-9]\.[0-9]{3} ± [0-9.]+ \\\| [0-9]\.[0-9]{3} ± ' $md || fail "no DSC|IoU cell"
grep -Eq '^\| ✓ \| ✓ \| Base \+ width \|' $md && grep -Eq '^\|  \| ✓ \| Base \|' $md || fail "ablation marks"
grep -q "too few cases" $md || fail "a test with too few cases is not said so"
grep -Eq '\*\*[0-9]\.[0-9]{3} ± ' $md || fail "no bold best value"
grep -q '\\textbf{' $out/report.tex && grep -q '\\toprule' $out/report.tex || fail "tex lacks booktabs or bold"

# --format chooses; a bad one is refused with exit 2 and writes nothing.
"$ORCH" report --db $out/orch.sqlite --out only_md --format md --no-figures > /dev/null || fail "--format md"
[ -f only_md/report.md ] && [ ! -e only_md/report.html ] && [ ! -e only_md/report.csv ] || fail "--format md wrote other formats"
set +e; "$ORCH" report --db $out/orch.sqlite --out bad --format md,pdf > bad.log 2>&1; rc=$?; set -e
[ $rc = 2 ] && [ ! -e bad ] && grep -q "unknown format 'pdf'" bad.log || { cat bad.log; fail "bad --format: rc $rc"; }
echo "report_engine: ok"
