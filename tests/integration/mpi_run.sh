#!/usr/bin/env bash
# mpiexec -n 3 orch run: rank 0 coordinates, ranks 1 and 2 train; every trial lands in SQLite as
# done, spread over both workers, and only once.
source "$(dirname "$0")/lib.sh"
MPIEXEC=${MPIEXEC:-mpiexec}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

tiny_yaml exp.yaml "0, 1, 2, 3" 4
"$MPIEXEC" -n 3 "$ORCH" run exp.yaml --out out > run.log 2>&1 || { cat run.log; fail "mpiexec run exited non-zero"; }
db=out/orch.sqlite
[ "$(sql $db "SELECT count(*) FROM trials")" = 4 ] || fail "expected 4 trials"
[ "$(sql $db "SELECT count(*) FROM trials WHERE state='done' AND attempts=1")" = 4 ] || { sql $db "SELECT id,state,attempts,rank,error FROM trials"; fail "not every trial done exactly once"; }
[ "$(sql $db "SELECT group_concat(DISTINCT rank) FROM (SELECT rank FROM trials ORDER BY rank)")" = "1,2" ] || { sql $db "SELECT id,rank FROM trials"; fail "trials did not run on both ranks 1 and 2"; }
[ "$(sql $db "SELECT count(*) FROM epochs")" = 16 ] || fail "expected 4 epochs x 4 trials"
[ "$(sql $db "SELECT count(DISTINCT trial_id) FROM case_metrics")" = 4 ] || fail "per-case metrics missing"
"$ORCH" status --db $db --json | grep -q '"rank": 2' || fail "orch status --json lacks rank 2"
echo "mpi_run: 4 trials done on ranks $(sql $db "SELECT group_concat(rank) FROM trials")"
