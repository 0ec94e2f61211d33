#!/usr/bin/env bash
# orch run on a tiny YAML in one process: the phantom is generated, every trial finishes, the
# report carries the published values, status/plan/report agree, and a rerun retrains nothing.
source "$(dirname "$0")/lib.sh"

tiny_yaml exp.yaml "0, 1" 3
"$ORCH" run exp.yaml > run.log 2>&1 || { cat run.log; fail "orch run exited non-zero"; }
grep -q "writing a 4-case hepatic_vessel phantom" run.log || fail "run did not say it wrote the phantom"
[ -f data/liver/dataset.json ] && [ "$(ls data/liver/imagesTr | wc -l)" = 4 ] || fail "phantom layout"
db=runs/tiny/orch.sqlite
[ "$(sql $db "SELECT count(*) FROM trials WHERE state='done'")" = 2 ] || fail "trials not done"
[ "$(sql $db "SELECT count(*) FROM epochs")" = 6 ] || fail "expected 3 epochs x 2 trials"
# Every trial scored its test case(s), and summary metrics equal the counts' DSC.
[ "$(sql $db "SELECT count(*) FROM case_metrics WHERE dsc IS NOT NULL AND abs(dsc - 2.0*tp/(2*tp+fp+fn)) < 1e-12")" -ge 2 ] || fail "case metrics"
for kind in best last; do
  path=$(sql $db "SELECT path FROM artifacts WHERE kind='$kind' LIMIT 1")
  [ -s "$path" ] || fail "artifact $kind missing: $path"
done

report=runs/tiny/report.md
grep -q "## Tiny table" $report || fail "report lacks the table"
grep -q "paper 0.327" $report && grep -q "paper 0.277" $report || fail "report lacks the published values"
grep -Eq "\| Liver \| DSC \| [0-9]\.[0-9]{3} ± [0-9]\.[0-9]{3}" $report || fail "report lacks mean ± std"

"$ORCH" status --json > status.json
for key in '"id"' '"state"' '"rank"' '"attempts"' '"model"' '"dataset"' '"seed"' '"metrics"' '"dsc"' '"iou"' '"error"'; do
  grep -q "$key" status.json || fail "status --json lacks $key"
done
[ "$(grep -c '"state": "done"' status.json)" = 2 ] || fail "status --json states"
"$ORCH" plan exp.yaml | grep -c " done$" | grep -qx 2 || fail "orch plan does not show the trials done"

# The report regenerates from the store alone.
rm $report
"$ORCH" report --db $db > /dev/null && [ -s $report ] || fail "orch report did not rewrite the report"

# Rerun: nothing retrained, nothing duplicated.
before=$(sql $db "SELECT group_concat(finished_at || attempts) FROM trials")
"$ORCH" run exp.yaml > rerun.log 2>&1 || fail "rerun failed"
grep -q "2 trial(s), 2 already done" rerun.log || { cat rerun.log; fail "rerun did not skip finished trials"; }
[ "$(sql $db "SELECT group_concat(finished_at || attempts) FROM trials")" = "$before" ] || fail "rerun touched finished trials"
[ "$(sql $db "SELECT count(*) FROM epochs")" = 6 ] || fail "rerun added epochs"

# Any stored metric can be a table's metric: HD95, NSD and per-slice DSC cells are the mean over
# the stored per-case values, here computed by SQLite (one foreground class, so a case's value is
# its row).
sed 's/^    published:/    metrics: [dsc, hd95, nsd, dsc_slice]\n    published:/' exp.yaml > surface.yaml
"$ORCH" run surface.yaml > surface.log 2>&1 || { cat surface.log; fail "run with surface metrics failed"; }
grep -q "2 trial(s), 2 already done" surface.log || fail "a table's metrics changed the trials"
for m in hd95 nsd dsc_slice; do
  want=$(sql $db "SELECT printf('%.3f', avg($m)) FROM case_metrics WHERE class > 0 AND $m IS NOT NULL AND abs($m) < 1e300")
  label=$(case $m in hd95) echo "HD95 (mm)" ;; nsd) echo NSD ;; *) echo "DSC (per slice)" ;; esac)
  grep -Fq "| Liver | $label | $want ± " $report || { cat $report; fail "report $m cell is not $want"; }
done
echo "e2e_run: ok"
