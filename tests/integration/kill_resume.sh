#!/usr/bin/env bash
# kill -9 of the whole run once the first trial has finished and the next is mid-training, then
# the same command again: every trial ends done exactly once, finished trials are not retrained,
# and the interrupted trial resumes from its last checkpoint. MODE=local (default) or mpi.
source "$(dirname "$0")/lib.sh"
MODE=${1:-local}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# exec setsid: the launched process leads a new process group whose id is its pid.
launch() {
  if [ "$MODE" = mpi ]; then exec setsid "${MPIEXEC:-mpiexec}" -n 3 "$ORCH" run "$WORK/exp.yaml"
  else exec setsid "$ORCH" run "$WORK/exp.yaml"; fi
}

tiny_yaml exp.yaml "0, 1, 2" 12
db=runs/tiny/orch.sqlite
(launch) > first.log 2>&1 &
pid=$!
# Wait for: one trial done and another with at least two epochs recorded (so its checkpoint of
# epoch 0 is on disk).
for _ in $(seq 600); do
  sleep 0.1
  [ -f $db ] || continue
  done_n=$(sql $db "SELECT count(*) FROM trials WHERE state='done'" 2>/dev/null || echo 0)
  mid=$(sql $db "SELECT count(*) FROM trials t WHERE state='running' AND (SELECT count(*) FROM epochs e WHERE e.trial_id=t.id) >= 2" 2>/dev/null || echo 0)
  [ "$done_n" -ge 1 ] && [ "$mid" -ge 1 ] && break
done
[ "$done_n" -ge 1 ] && [ "$mid" -ge 1 ] || { cat first.log; fail "the run never reached the kill point"; }
# The whole job at once, like a node failure: the launcher's process group and every rank (Open
# MPI puts each rank in a process group of its own).
# The pattern holds this test's own folder, so tests running in parallel are left alone.
ours="$ORCH run $WORK/exp.yaml"
kill -9 -- -"$pid" $(pgrep -f "$ours") 2>/dev/null || true
wait "$pid" 2>/dev/null || true
for _ in $(seq 50); do pgrep -f "$ours" > /dev/null || break; sleep 0.1; done
if pgrep -f "$ours" > /dev/null; then fail "processes of the killed run survive"; fi

finished_before=$(sql $db "SELECT group_concat(id) FROM trials WHERE state='done'")
interrupted=$(sql $db "SELECT group_concat(id) FROM trials WHERE state='running'")
checkpointed=$(for id in ${interrupted//,/ }; do if [ -f runs/tiny/trials/$id/last.pt ]; then echo "$id"; fi; done | paste -sd,)
stamps() { sql $db "SELECT group_concat(s) FROM (SELECT id || finished_at || attempts AS s FROM trials WHERE $1 ORDER BY id)"; }
stamp_before=$(stamps "state='done'")
sums_before=$(for id in ${finished_before//,/ }; do cksum < runs/tiny/trials/$id/best.pt; done)

(launch) > second.log 2>&1 || { cat second.log; fail "the rerun exited non-zero"; }

[ "$(sql $db "SELECT count(*) FROM trials WHERE state='done'")" = 3 ] || fail "not every trial is done"
[ "$(sql $db "SELECT count(*) FROM epochs")" = 36 ] || { sql $db "SELECT trial_id, count(*) FROM epochs GROUP BY trial_id"; fail "expected exactly 12 epochs per trial"; }
[ "$(stamps "id IN ('${finished_before//,/\',\'}')")" = "$stamp_before" ] || fail "a finished trial was run again"
[ "$(for id in ${finished_before//,/ }; do cksum < runs/tiny/trials/$id/best.pt; done)" = "$sums_before" ] || fail "a finished trial's checkpoint changed"
for id in ${interrupted//,/ }; do
  [ "$(sql $db "SELECT attempts FROM trials WHERE id='$id'")" = 2 ] || fail "interrupted trial $id: attempts"
  if [[ ",$checkpointed," == *",$id,"* ]]; then
    grep -Eq "trial $id: resuming from .*last.pt at epoch [1-9]" second.log || { cat second.log; fail "trial $id did not resume from its checkpoint"; }
  else  # killed before its first checkpoint: it starts again from scratch
    ! grep -q "trial $id: resuming" second.log || fail "trial $id resumed without a checkpoint"
  fi
done
[ -n "$checkpointed" ] || fail "no interrupted trial had a checkpoint"
n_interrupted=$(echo "$interrupted" | tr ',' '\n' | grep -c .)
grep -q "$n_interrupted unfinished trial(s) from an earlier run requeued" second.log || fail "requeue not reported"
echo "kill_resume ($MODE): done before the kill: $finished_before; interrupted: $interrupted (checkpointed: $checkpointed)"
