#!/usr/bin/env bash
# orch's train step against the same model in plain PyTorch (bench/python/), side by side: same
# threads, input shape, batch, Adam lr 1e-3 and dice_ce loss. Rounds alternate which side runs
# first; the ratio is taken of the median over rounds. Fails loudly when the parameter counts
# differ (then the two sides are not the same network and no ratio means anything).
#
# usage: bench/compare_python.sh [--model wide_unet|swin_unetr] [--shape 8,1,64,64] [--width 0.25]
#          [--feature 12] [--threads 2] [--steps 5] [--warmup 2] [--rounds 3] [--json OUT.json]
# env: BENCH (default build/bench/bench_train_step), TORCH_PYTHON (default /usr/bin/python3, the
#      interpreter that has Debian's python3-torch).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=${BENCH:-$HERE/../build/bench/bench_train_step}
TORCH_PYTHON=${TORCH_PYTHON:-/usr/bin/python3}
model=wide_unet shape="" width=0.25 feature=12 threads=2 steps=5 warmup=2 rounds=3 out=""
while [ $# -gt 0 ]; do
  case $1 in
    --model) model=$2 ;; --shape) shape=$2 ;; --width) width=$2 ;; --feature) feature=$2 ;;
    --threads) threads=$2 ;; --steps) steps=$2 ;; --warmup) warmup=$2 ;; --rounds) rounds=$2 ;;
    --json) out=$2 ;;
    *) echo "compare_python.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
case $model in
  wide_unet) shape=${shape:-8,1,64,64}; set_opt="width=$width"; py_opt=(--width "$width")
    script=$HERE/python/unet2d.py ;;
  swin_unetr) shape=${shape:-1,1,32,32,32}; set_opt="feature_size=$feature"
    py_opt=(--feature "$feature"); script=$HERE/python/swin_unetr.py ;;
  *) echo "compare_python.sh: no Python baseline for $model" >&2; exit 2 ;;
esac
[ -x "$BENCH" ] || { echo "build bench_train_step first ($BENCH)" >&2; exit 2; }
[ -f "$script" ] || { echo "missing $script" >&2; exit 2; }
"$TORCH_PYTHON" -c "import torch" 2> /dev/null ||
  { echo "$TORCH_PYTHON has no torch: apt-get install python3-torch" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
run_orch() {
  "$BENCH" --models "$model" --sizes quick --shape "$shape" --set "$set_opt" --threads "$threads" \
    --steps "$steps" --warmup "$warmup" --json "$WORK/orch.json" > /dev/null
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["cases"][0]))' \
    "$WORK/orch.json" >> "$WORK/orch.lines"
}
run_python() {
  "$TORCH_PYTHON" "$script" --shape "$shape" "${py_opt[@]}" --threads "$threads" \
    --steps "$steps" --warmup "$warmup" >> "$WORK/python.lines"
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run_orch; run_python; else run_python; run_orch; fi
done

python3 - "$WORK/orch.lines" "$WORK/python.lines" "$out" "$model" <<'PY'
import json, statistics, sys
orch = [json.loads(l) for l in open(sys.argv[1])]
py = [json.loads(l) for l in open(sys.argv[2])]
bad = [o for o in orch if o.get("status") != "ok"]
if bad:
    sys.exit("orch failed: %s" % bad[0].get("reason"))
if orch[0]["params"] != py[0]["params"]:
    sys.exit("PARAMETER COUNTS DIFFER: orch %d, python %d: not the same network"
             % (orch[0]["params"], py[0]["params"]))
def summary(runs):
    return {"median_step_s": statistics.median(r["median_step_s"] for r in runs),
            "round_medians_s": [r["median_step_s"] for r in runs],
            "peak_rss_delta_kib": statistics.median(r["peak_rss_delta_kib"] for r in runs),
            "load_average": [r["load_average"] for r in runs]}
o, p = summary(orch), summary(py)
res = {"model": sys.argv[4], "input_shape": orch[0]["input_shape"], "params": orch[0]["params"],
       "threads": py[0]["threads"], "rounds": len(orch), "orch": o, "python": p,
       "framework": py[0]["framework"],
       "step_ratio": o["median_step_s"] / p["median_step_s"],
       "memory_ratio": o["peak_rss_delta_kib"] / max(1, p["peak_rss_delta_kib"])}
print("%s %s, %d params, %d threads, %d rounds" % (res["model"], "x".join(map(str,
      res["input_shape"])), res["params"], res["threads"], res["rounds"]))
for name, s in (("orch", o), ("python", p)):
    print("  %-7s step %.4f s (rounds %s)  peak +%.1f MiB  load %s" % (name, s["median_step_s"],
          ", ".join("%.4f" % t for t in s["round_medians_s"]), s["peak_rss_delta_kib"] / 1024,
          ", ".join("%.2f" % l for l in s["load_average"])))
print("  orch/python: step time %.3f, peak memory %.3f" % (res["step_ratio"], res["memory_ratio"]))
if sys.argv[3]:
    json.dump(res, open(sys.argv[3], "w"), indent=2)
PY
