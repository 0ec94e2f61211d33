// The coordinator protocol between rank 0 (coordinator) and ranks 1..N-1 (workers).
//
// Messages are JSON payloads over a Communicator, one tag per kind:
//   READY    worker -> coordinator  {}                          "I am idle"
//   ASSIGN   coordinator -> worker  {"spec": TrialSpec, "attempt": n}
//   PROGRESS worker -> coordinator  {"trial": id, "epoch": EpochRecord}
//   RESULT   worker -> coordinator  {"trial": id, "ok": bool, "error": text, "counts": [...],
//                                    "artifacts": [...], "best_epoch": n}
//            counts rows: [case, class, tp, fp, fn, tn, hd95, assd, nsd]; a surface metric is a
//            number, null (NaN, undefined) or "inf"; rows of 6 (no surface metrics) also parse.
//   SHUTDOWN coordinator -> worker  {}                          "no more work; exit"
//   FATAL    worker -> coordinator  {"error": text}             "this rank cannot go on"
//
// The order, for every worker:
//   1. The worker sends READY when it starts.
//   2. The coordinator answers READY with ASSIGN if a trial is ready, after marking that trial
//      running (attempt + 1, this rank) in the store; otherwise with SHUTDOWN. A trial is ready
//      when every source trial it depends on (TrialSpec::sources, RefNet's K source trainings)
//      is done. While trials wait for sources that are still running, the READY is held and
//      answered when a result makes one ready. A trial whose source failed is recorded failed
//      ("source trial <id> failed: ...") without running.
//   3. While the trial runs, the worker sends one PROGRESS per finished epoch (and, when it
//      resumes from a checkpoint, one per epoch already in the checkpoint). The coordinator
//      writes each as an epoch record; writing the same epoch again replaces it.
//   4. The worker sends RESULT, then READY again (back to step 2). Errors travel as data: a trial
//      that threw arrives as ok=false with its message, and the coordinator records it failed.
//   5. After SHUTDOWN the worker exits its loop. The coordinator returns when every worker has
//      been sent SHUTDOWN or has sent FATAL.
//   A worker whose own loop fails (not a trial: a broken message, say) sends FATAL and exits; the
//   coordinator records the trial it held as failed with that reason and stops counting on it.
// Only the coordinator writes the store. A crash of the whole job loses at most the epochs in
// progress: on restart, trials left running are requeued and resume from their checkpoints.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "datastore/results_store.h"
#include "orchestrator/communicator.h"
#include "worker/trial_runner.h"
#include "worker/trial_spec.h"

namespace orch {

enum Tag : int { kReady = 1, kAssign = 2, kProgress = 3, kResult = 4, kShutdown = 5, kFatal = 6 };

struct CoordinatorOptions {
  std::chrono::milliseconds poll{1000};  // receive timeout between liveness checks
};

class Coordinator {
 public:
  // `trials` are the pending trials, in the order they should start.
  Coordinator(Communicator& comm, ResultStore& store, std::vector<TrialSpec> trials,
              CoordinatorOptions options = {});
  // Serves workers until every trial has a result and every worker was shut down.
  void run();
  // Tells every worker rank to stop; for an error on rank 0 before or during run().
  static void shutdown_all(Communicator& comm);

 private:
  void on_ready(int rank);
  void on_progress(const nlohmann::json& msg);
  void on_result(int rank, const nlohmann::json& msg);
  void on_fatal(int rank, const nlohmann::json& msg);
  // Gives `rank` the first ready trial; failing on the way those whose sources failed. Returns
  // false when none is ready now (the rank is then held, or shut down when nothing is left).
  void assign_or_hold(int rank);
  // Hands trials to held ranks after a result changed what is ready.
  void serve_held();
  // "" when every source of `spec` is done, "wait" while one is still to run or running, else
  // the reason the trial cannot run.
  std::string sources_state(const TrialSpec& spec) const;
  void finish_failed(const std::string& id, const std::string& error);

  Communicator& comm_;
  ResultStore& store_;
  std::vector<TrialSpec> queue_;              // pending, in the order they should start
  std::vector<bool> taken_;                   // queue_[i] was assigned or failed
  std::vector<int> held_ranks_;               // idle ranks waiting for a trial to become ready
  std::map<std::string, TrialSpec> running_;  // by id
  std::map<int, std::string> held_;           // rank -> id of the trial it runs
  int live_workers_ = 0;
  size_t finished_ = 0;
  CoordinatorOptions options_;
};

// The worker side: runs `trial_fn` for every ASSIGN until SHUTDOWN. `trial_fn` is run_trial in
// production and a scripted function in tests.
using TrialFn = std::function<TrialOutcome(const TrialSpec&, const EpochCallback&)>;
void worker_loop(Communicator& comm, const TrialFn& trial_fn);

// Summary metrics of a trial: mean over test cases of the mean over foreground classes, for dsc,
// iou, precision, recall, hd95, assd and nsd (null when no case has a finite value). A case whose
// class mean is +inf (a surface distance to an empty mask) is left out of the mean and counted in
// "<metric>_inf_cases", present only when non-zero.
nlohmann::json summarize_counts(const std::vector<CaseClassCounts>& counts);

}  // namespace orch
