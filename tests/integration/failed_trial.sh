#!/usr/bin/env bash
# A trial that throws is recorded as failed with its message, the other trials still finish, the
# report lists the failure, and the exit status says something failed.
source "$(dirname "$0")/lib.sh"

tiny_yaml exp.yaml 0 1
# A second dataset whose crop lies outside its 32x32 slices: its trial throws while preparing.
sed -i 's/^models:$/  bad:\n    kind: hepatic_vessel\n    root: data\/liver\n    split: {train: 0.5, val: 0.25, seed: 0}\n    phantom: {cases: 4, seed: 3, size: [32, 32, 8]}\n    preprocess: {steps: [{crop: [0, 64, 0, 64]}]}\nmodels:/' exp.yaml
sed -i 's/^    rows: \[{dataset: liver, label: Liver}\]$/    rows: [{dataset: liver, label: Liver}, {dataset: bad, label: Bad}]/' exp.yaml
if "$ORCH" run exp.yaml > run.log 2>&1; then fail "run with a failed trial exited 0"; fi
db=runs/tiny/orch.sqlite
[ "$(sql $db "SELECT state FROM trials WHERE dataset='liver'")" = done ] || { cat run.log; fail "the good trial did not finish"; }
[ "$(sql $db "SELECT state FROM trials WHERE dataset='bad'")" = failed ] || fail "the bad trial is not failed"
sql $db "SELECT error FROM trials WHERE dataset='bad'" | grep -q "step crop \[0, 64, 0, 64\] exceeds the volume 32x32x8" || { sql $db "SELECT error FROM trials"; fail "failure reason not stored"; }
grep -q "failed: case '" runs/tiny/report.md || fail "report does not list the failure"
"$ORCH" status | grep -q "failed" || fail "orch status does not show the failure"
echo "failed_trial: ok"
