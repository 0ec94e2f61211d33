#!/usr/bin/env bash
# A second `orch run` on a folder that a run is using stops at once with a clear error; a replan
# with fewer seeds, or after a kill with a changed config, reports and judges only what the
# current plan holds.
source "$(dirname "$0")/lib.sh"
db=runs/tiny/orch.sqlite

# 1. The lock: run A trains for a while; run B on the same folder is refused.
tiny_yaml exp.yaml 0 400
"$ORCH" run exp.yaml > a.log 2>&1 &
a=$!
for _ in $(seq 300); do
  sleep 0.1
  [ "$(sql $db "SELECT count(*) FROM epochs" 2>/dev/null || echo 0)" -ge 1 ] && break
done
if "$ORCH" run exp.yaml > b.log 2>&1; then fail "a second run on the same folder was allowed"; fi
grep -q "another orch run (pid $a) holds '.*runs/tiny/orch.lock'" b.log || { cat b.log; fail "lock error"; }
kill -9 $a; wait $a 2>/dev/null || true

# 2. After the kill, change the config: the old interrupted trial is no longer in the plan, and
#    neither the exit status nor the report counts it.
tiny_yaml exp.yaml "0, 1" 2
"$ORCH" run exp.yaml > c.log 2>&1 || { cat c.log; fail "the changed run did not finish cleanly"; }
[ "$(sql $db "SELECT count(*) FROM trials WHERE state='running'")" = 1 ] || fail "the stale trial should stay as it was"
grep -q "Trials: 2 planned, 2 done." runs/tiny/report.md || { cat runs/tiny/report.md; fail "report counts stale trials"; }

# 3. Replan with one seed: the report's cell and summary hold only seed 0's trial.
tiny_yaml exp.yaml 0 2
"$ORCH" run exp.yaml > d.log 2>&1 || fail "the one-seed rerun failed"
grep -q "Trials: 1 planned, 1 done." runs/tiny/report.md || { cat runs/tiny/report.md; fail "report pools a removed seed"; }
[ "$(sql $db "SELECT count(*) FROM table_cells")" = 1 ] || fail "stale table cells kept"
echo "replan_and_lock: ok"
