#!/usr/bin/env bash
# Live progress and status as a user meets them. A tiny run (with a resample step) piped to a
# file writes throttled plain progress lines, no line per cached case and no LibTorch warnings;
# `orch status --json`, polled during the run, shows a running trial's epoch and ETA; every done
# trial has its own log.txt with one line per epoch; the listing commands print valid JSON; and
# on a terminal (a pty from util-linux `script`) the run redraws progress bars in place.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export ORCH_PROGRESS_INTERVAL_S=2
interval=2

# The tiny experiment, long enough to last several progress intervals, with a resample (and a
# resize, so every slice has one in-plane size) in its preprocessing.
epochs=10 steps=50  # about 5 s per trial on 2 CPU cores
experiment() {  # FILE SEEDS
  tiny_yaml "$1" "$2" $epochs
  sed -i -e "s/steps_per_epoch: 3/steps_per_epoch: $steps/" \
    -e 's/steps: \[{window: \[0, 300\]}\]/steps: [{resample: [0.8, 0.8, 3.0]}, {resize: [32, 32]}, {window: [0, 300]}]/' "$1"
  grep -q "resample" "$1" || fail "could not add the resample step to $1"
}
experiment exp.yaml "0, 1"
db=runs/tiny/orch.sqlite

json_ok() {  # FILE WHAT: the whole of stdout is one JSON document
  $PY -m json.tool "$1" > /dev/null 2>&1 || { cat "$1"; fail "$2 did not print valid JSON"; }
}

"$ORCH" plan exp.yaml --json > plan.json || fail "orch plan --json failed"
json_ok plan.json "orch plan --json"
$PY - plan.json <<'PY' || fail "orch plan --json content"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["experiment"] == "tiny", p
assert len(p["trials"]) == 2, p
for t in p["trials"]:
    assert t["state"] == "new" and t["model"] == "unet" and t["tables"] == ["t"], t
    assert len(t["id"]) == 16 and t["epochs"] == 10, t
PY

# The run, stderr to a file, with `orch status --json` polled while it goes.
started=$(date +%s.%N)
"$ORCH" run exp.yaml > run.out 2> run.err &
pid=$!
seen=0
while kill -0 $pid 2> /dev/null; do
  if [ $seen = 0 ] && [ -f $db ] && "$ORCH" status --db $db --json > poll.json 2> /dev/null; then
    if $PY - poll.json <<'PY'; then seen=1; cp poll.json running.json; fi
import json, sys
for t in json.load(open(sys.argv[1])):
    if (t["state"] == "running" and type(t["epoch"]) is int and t["epoch"] >= 1
            and type(t["epochs"]) is int and isinstance(t["eta_s"], (int, float))
            and not isinstance(t["eta_s"], bool) and isinstance(t["best"], float)):
        sys.exit(0)
sys.exit(1)
PY
  fi
  sleep 0.2
done
wait $pid || { cat run.err; fail "orch run exited non-zero"; }
elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
[ $seen = 1 ] || { cat poll.json; fail "orch status --json never showed a running trial with epoch, epochs and eta_s"; }
$PY - running.json <<'PY' || fail "status --json keys"
import json, sys
for t in json.load(open(sys.argv[1])):
    for key in ("id", "state", "rank", "attempts", "metrics", "error", "epoch", "epochs", "best", "eta_s"):
        assert key in t, (key, t)
    if t["state"] == "running" and t["epoch"] >= 1:
        assert t["epochs"] == 10 and 1 <= t["epoch"] <= 10 and t["eta_s"] >= 0, t
PY

# Plain progress: per task, at most one line per interval (plus its final line), and some.
grep -q "progress: " run.err || { cat run.err; fail "no progress lines in the piped log"; }
$PY - run.err "$elapsed" $interval <<'PY' || { cat run.err; fail "progress lines are not throttled"; }
import collections, re, sys
elapsed, interval = float(sys.argv[2]), float(sys.argv[3])
times = collections.defaultdict(list)  # task label -> seconds of its intermediate lines
for line in open(sys.argv[1]):
    m = re.match(r"(\d\d):(\d\d):(\d\d) \S+ progress: ([^:]+): \d", line)
    if m and not m.group(4).endswith(" done"):
        h, mi, s = map(int, m.groups()[:3])
        times[m.group(4)].append(3600 * h + 60 * mi + s)
assert times, f"no intermediate progress lines in a run of {elapsed} s"
for label, ts in times.items():
    assert len(ts) <= elapsed / interval + 1, (label, len(ts), elapsed)
    for a, b in zip(ts, ts[1:]):  # the clock shows whole seconds: allow one of rounding
        assert (b - a) % 86400 >= interval - 1, (label, ts)
print("progress lines per task:", {k: len(v) for k, v in times.items()}, f"in {elapsed} s")
PY
for final in "phantom hepatic_vessel done: 5/5 case" "cache liver done: 4/4 case" "run done: 2/2 trial"; do
  grep -q "progress: $final" run.err || { cat run.err; fail "no final progress line '$final'"; }
done
[ "$(grep -c "progress: train [0-9a-f]* done: $((epochs * steps))/$((epochs * steps)) step" run.err)" = 2 ] ||
  { cat run.err; fail "not one final progress line per trained trial"; }
grep -q "cached case" run.err && fail "the log still has a line per cached case"
grep -Eq "UserWarning|Warning:" run.err && { grep -E "UserWarning|Warning:" run.err; fail "LibTorch warnings in the log"; }
grep -q $'\r' run.err && fail "carriage returns in a log that is not a terminal"

# Each done trial's own log: its start, one line per stored epoch, its result.
ids=$(sql $db "SELECT id FROM trials WHERE state='done'")
[ "$(echo "$ids" | wc -w)" = 2 ] || fail "expected 2 done trials"
for id in $ids; do
  log=runs/tiny/trials/$id/log.txt
  [ -s "$log" ] || fail "no $log"
  grep -q "start: trial $id model unet (wide_unet) dataset liver (hepatic_vessel) seed [01] device cpu threads 1" "$log" || { cat "$log"; fail "$log lacks its start line"; }
  n=$(sql $db "SELECT count(*) FROM epochs WHERE trial_id='$id'")
  [ "$(grep -Ec "epoch [0-9]+/$epochs: train_loss .* val_dsc .* lr .* s\)$" "$log")" = "$n" ] || { cat "$log"; fail "$log: not one line per epoch ($n)"; }
  grep -q "done: best epoch" "$log" || fail "$log lacks the result"
done

# After the run: done trials show all their epochs and no time left; the table has the columns.
"$ORCH" status --db $db --json > status.json && json_ok status.json "orch status --json"
$PY - status.json <<'PY' || fail "status --json after the run"
import json, sys
for t in json.load(open(sys.argv[1])):
    assert t["state"] == "done" and t["epoch"] == 10 and t["epochs"] == 10 and t["eta_s"] == 0, t
    assert isinstance(t["best"], float) and t["best_metric"] == "val_dsc", t
PY
"$ORCH" status --db $db > status.txt
head -1 status.txt | grep -q "epoch  *best  *last_s  *eta" || { cat status.txt; fail "orch status lacks the progress columns"; }

# Every listing command: one JSON document on stdout.
"$ORCH" models --json > models.json && json_ok models.json "orch models --json"
"$ORCH" model-info wide_unet --set width=0.125 --json > info.json && json_ok info.json "orch model-info --json"
"$ORCH" prepare exp.yaml --json > prepare.json 2> prepare.err && json_ok prepare.json "orch prepare --json"
$PY - prepare.json <<'PY' || fail "orch prepare --json content"
import json, sys
p = json.load(open(sys.argv[1]))
assert len(p) == 1 and p[0]["dataset"] == "liver" and p[0]["cases"] == 4 and p[0]["built"] is False, p
PY
"$ORCH" plan exp.yaml --json > plan2.json && json_ok plan2.json "orch plan --json after the run"
grep -q '"state": "done"' plan2.json || fail "orch plan --json does not show the trials done"

# On a terminal: bars redrawn in place with '\r', and no plain progress lines.
if ! command -v script > /dev/null; then
  echo "progress_status: util-linux script not found; the terminal check is skipped"
else
  experiment tty.yaml "5"
  # stty: a pty made without a terminal around it has no size; give it 200 columns.
  script -qfec "stty cols 200; $ORCH run tty.yaml --out runs/tty" /dev/null > tty.out 2>&1 < /dev/null ||
    { cat -v tty.out; fail "orch run on a pty failed"; }
  $PY - tty.out <<'PY' || { cat -v tty.out | tail -40; fail "no progress bars on the terminal"; }
import re, sys
out = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
# A redraw: '\r' then a task's label and its bar (the pty turns every '\n' into '\r\n', so a
# bare '\r' before a label is a redraw, not a line end).
bars = re.findall(r"\r(?:run|train [0-9a-f]{8}|cache \w+|phantom \w+) \[[#-]+\] +\d+%", out)
assert len(bars) >= 3, bars
assert re.search(r"train [0-9a-f]{8} \[[#-]+\] +\d+% \d+/500 step [0-9.]+ step/s ETA \d+:\d\d epoch \d+/10", out), "no training bar"
plain = [l for l in re.split(r"[\r\n]", out) if re.search(r"progress: [^:]+: \d", l) and " done: " not in l]
assert not plain, plain
PY
fi
echo "progress_status: ok"
