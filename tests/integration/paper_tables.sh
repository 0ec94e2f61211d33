# Every table of the five papers in experiments/: `orch plan --json` of all_tables.yaml lists the
# six tables with every published number of ../shared/specs/PAPERS.md (transcribed from its
# markdown tables into data/papers_published.json, none missing, none altered, none extra);
# `--profile paper` plans each paper's stated settings (PAPERS.md sections 1-5, setting by
# setting); each paper's own file plans only its tables.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
EXP="$ORCH_SOURCE_DIR/experiments"
DATA="$ORCH_SOURCE_DIR/tests/integration/data"

# Relative roots (data/...) resolve against the working folder: run from a copy of the tree's
# experiments so the phantoms' roots need not exist (plan never writes them).
"$ORCH" plan "$EXP/all_tables.yaml" --json > all.json || fail "plan all_tables"
"$ORCH" plan "$EXP/all_tables.yaml" --profile paper --json > paper.json || fail "plan --profile paper"
"$ORCH" plan "$EXP/all_tables.yaml" --profile paper > paper.txt || fail "plan --profile paper (text)"
grep -q '^settings:' paper.txt || fail "plan's text output shows no settings"
grep -q 'model refnet (refnet' paper.txt || fail "plan's settings omit the refnet model"

"$PY" - "$DATA/papers_published.json" all.json paper.json <<'PY' || fail "published numbers or paper settings"
import json, sys
want = json.load(open(sys.argv[1]))
plan = json.load(open(sys.argv[2]))
paper = json.load(open(sys.argv[3]))
tables = {t["name"]: t for t in plan["tables"]}
assert sorted(tables) == sorted(["spider_table2", "resunet_figure5", "refnet_table2", "ms_table2",
                                 "rbcbam_table1", "rbcbam_table2"]), sorted(tables)
count = 0
for name, cells in want.items():
    if name.endswith("_improvement"):
        t = tables[name[: -len("_improvement")]]
        got = t["improvement"]["published"]
        assert set(got) == {c["row"] for c in cells}, (name, sorted(got))
        for c in cells:
            assert abs(got[c["row"]] - c["improvement"]) < 1e-12, (name, c, got[c["row"]])
            count += 1
        continue
    t = tables[name]
    by = {(c["row"], c["column"]): c["published"] for c in t["cells"]}
    seen = set()
    for c in cells:
        pub = by[(c["row"], c["column"])]
        for metric in ("dsc", "iou", "recall", "precision"):
            if metric in c:
                # a metric row or column names the metric; the value is stored under it
                assert abs(pub[metric] - c[metric]) < 1e-12, (name, c, pub)
                seen.add((c["row"], c["column"], metric))
                count += 1
    extra = {(r, col, m) for (r, col), p in by.items() for m in p} - seen
    assert not extra, (name, "published values PAPERS.md does not have", sorted(extra))
    if name == "rbcbam_table2":  # the number of option marks of each row
        rows = {r["key"]: r for r in t["rows"]}
        for c in cells:
            assert len(rows[c["row"]]["marks"]) == c["marks"], (c, rows[c["row"]]["marks"])
# ResU-Net prints no numbers: its table has none, one row per organ, and the paper's claim.
fig5 = tables["resunet_figure5"]
assert all(not c["published"] for c in fig5["cells"])
assert [r["key"] for r in fig5["rows"]][:3] == ["spleen", "right kidney", "left kidney"]
assert len(fig5["rows"]) == 14 and fig5["expect"]["above"] == ["spleen", "liver", "stomach"]
assert count == 24 + 28 + 14 + 16 + 15 + 8, count
for t in plan["tables"]:
    assert t["deviations"], (t["name"], "declares no deviation")

# --profile paper: the settings each paper states.
def trial(model, dataset=None):
    for x in paper["trials"]:
        if x["model"] == model and (dataset is None or x["dataset"] == dataset) and x["epochs"] > 0:
            return x
    raise AssertionError((model, dataset))
def steps(x):
    return [(s["op"], s["args"]) for s in x["preprocess"].get("steps", [])]
for m in ("unet2d", "unet3d_thesis", "fcn_rnn", "spider_unet"):          # S0:834-846
    tr = trial(m)["training"]
    assert tr["optimizer"] == "adam" and tr["lr"] == 0.005 and tr["loss"] == "focal_dice", tr
    assert tr["patience"] == 10 and tr["early_stop_metric"] == "val_dsc", tr
assert trial("spider_unet")["model_options"]["sequence_length"] == 5       # T = 5
assert trial("unet3d_thesis")["model_options"]["variant"] == "thesis"
assert steps(trial("unet2d", "liver_vessel")) == [
    ("window", [0.0, 300.0]), ("crop", [192.0, 448.0, 128.0, 384.0]), ("resize", [256.0, 256.0])]
assert ("center_crop", [0.75, 0.75]) in steps(trial("unet2d", "brain_mra"))   # S0:709-711
assert trial("unet2d", "liver_vessel")["preprocess"]["label_map"] == {"2": 0}
r = trial("resunet2d")["training"]                                           # S1 Table 1
assert r["lr"] == 1e-6 and r["batch"] == 2 and r["epochs"] == 2000 and r["loss"] == "dice_ce", r
rf = trial("refnet")                                                         # S2:90-94
assert rf["training"]["optimizer"] == "rmsprop" and rf["training"]["lr"] == 1e-5, rf["training"]
assert rf["training"]["momentum"] == 0.0 and rf["training"]["loss"] == "refnet", rf["training"]
assert rf["split"]["scheme"] == "synapse" and rf["split"]["val_is_test"] is True, rf["split"]
assert rf["preprocess"]["label_map"] == {"13": 12} and len(rf["sources"]) == 3
for m in ("unet3d_ms", "resunet3d_ms"):                                       # S3:146-190
    for ch in ("ms_flair", "ms_mprage", "ms_t2", "ms_pd"):
        x = trial(m, ch)
        tr = x["training"]
        assert tr["optimizer"] == "adam" and tr["lr"] == 1e-4 and tr["weight_decay"] == 1e-10, tr
        assert tr["batch"] == 1 and tr["loss"] == "bce_dice" and tr["epochs"] == 100, tr
        assert tr["early_stop_metric"] == "val_loss" and tr["patience"] == 5, tr
        assert tr["val_loss"] == "training" and tr["patch"] == [144, 144, 144], tr
        assert tr["samples_per_volume"] == 10 and tr["foreground_fraction"] == 1.0, tr
        assert [a.split("(")[0] for a in tr["augment"]] == [
            "flip", "motion", "bias_field", "noise", "affine", "elastic"], tr["augment"]
        assert x["split"]["group_by_subject"] is False and x["split"]["train"] == 0.8, x["split"]
        assert [s[0] for s in steps(x)] == ["crop_nonzero", "znorm", "pad"], steps(x)
        assert steps(x)[2][1] == [144.0, 144.0, 144.0]
for m in ("se", "attention_gate", "bam", "cbam", "rb_cbam"):                 # S4
    x = trial(m)
    assert x["training"]["loss"] == "bce_dice" and x["init"] == trial("unet_pretrain")["id"], x
    assert steps(x) == [("resample", [0.68, 0.68, 2.0]), ("window", [-1350.0, 150.0])], steps(x)
    assert x["split"]["train"] == 0.6 and x["split"]["val"] == 0.15, x["split"]
    assert x["split"]["group_by_subject"] is False
assert tables["rbcbam_table1"]["aggregate"] == "pooled"
print("ok", count, "published numbers")
PY

# Each paper's file alone plans only its own tables, with the same trial ids as all_tables.
for f in spider_thesis resunet_btcv refnet ms_lesions rb_cbam; do
  "$ORCH" plan "$EXP/$f.yaml" --json > "$f.json" || fail "plan $f"
done
"$PY" - all.json spider_thesis.json resunet_btcv.json refnet.json ms_lesions.json rb_cbam.json <<'PY' || fail "paper files alone"
import json, sys
allp = json.load(open(sys.argv[1]))
ids = set()
names = []
for f in sys.argv[2:]:
    p = json.load(open(f))
    names += [t["name"] for t in p["tables"]]
    ids |= {t["id"] for t in p["trials"]}
assert sorted(names) == sorted(t["name"] for t in allp["tables"]), names
assert ids == {t["id"] for t in allp["trials"]}, "the files alone plan other trials"
PY
echo "paper_tables: ok"
