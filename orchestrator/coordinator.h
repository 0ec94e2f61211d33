// The coordinator: rank 0's side of the coordinator protocol. The protocol itself (messages, the
// order of steps for every worker) is described in orchestrator/protocol/messages.h; the worker
// side is orchestrator/worker_loop.h; which ready trial starts next is a Scheduler's choice
// (orchestrator/scheduler.h).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/progress.h"
#include "datastore/store/results_store.h"
#include "orchestrator/comm/communicator.h"
#include "orchestrator/protocol/messages.h"
#include "orchestrator/scheduler.h"
#include "worker/trial/trial_spec.h"

namespace orch {

struct CoordinatorOptions {
  std::chrono::milliseconds poll{1000};  // receive timeout between liveness checks
  std::shared_ptr<Scheduler> scheduler;  // which ready trial starts; nullptr: FifoScheduler
};

// A running trial as the run's ETA sees it.
struct RunningTrialTime {
  double elapsed = 0;               // seconds since it was assigned
  std::optional<double> remaining;  // from its epochs: epochs left x mean epoch seconds
};

// Seconds until every trial has a result: the running trials' remaining time (their own estimate,
// else the mean duration of the finished ones less their elapsed time) plus `waiting` trials of
// the mean finished duration (else of the running trials' estimated durations), shared over
// `workers`, and never less than the longest running trial's remaining time. nullopt while
// nothing is known.
std::optional<double> estimate_run_eta(const std::vector<double>& finished_durations,
                                       const std::vector<RunningTrialTime>& running, size_t waiting,
                                       int workers);

class Coordinator {
 public:
  // `trials` are the pending trials, in the order they should start.
  Coordinator(Communicator& comm, ResultStore& store, std::vector<TrialSpec> trials,
              CoordinatorOptions options = {});
  // Serves workers until every trial has a result and every worker was shut down, showing the
  // run's progress (trials n/N with an ETA, common/progress.h) as it goes.
  void run();
  // Tells every worker rank to stop; for an error on rank 0 before or during run().
  static void shutdown_all(Communicator& comm);

 private:
  // Where a trial's sources stand.
  struct SourcesState {
    enum Kind { kDone, kWaiting, kFailed };
    Kind kind = kDone;   // kDone: every source is done (or there are none)
    std::string reason;  // kFailed: why the trial cannot run
  };

  void on_ready(int rank);
  void on_progress(const protocol::Progress& msg);
  void on_result(int rank, const protocol::Result& msg);
  void on_fatal(int rank, const protocol::Fatal& msg);
  // Gives `rank` the ready trial the scheduler picks, failing on the way those whose sources
  // failed. When none is ready now the rank is held while some trial waits for its sources, and
  // shut down when nothing is left.
  void assign_or_hold(int rank);
  void assign(int rank, size_t position);
  // Hands trials to held ranks after a result changed what is ready.
  void serve_held();
  SourcesState sources_state(const TrialSpec& spec) const;
  void finish_failed(const std::string& id, const std::string& error);
  // A running trial finished well: its duration feeds the ETA.
  void trial_ended(const std::string& id);
  void update_progress();

  // A running trial's clock and epochs, for the ETA.
  struct Timing {
    std::chrono::steady_clock::time_point started;
    int epochs = 0;            // its budget (training.epochs)
    int epochs_done = 0;       // epochs reported so far
    double epoch_seconds = 0;  // their total wall time
    int epochs_timed = 0;      // how many of them that total covers
  };

  Communicator& comm_;
  ResultStore& store_;
  std::vector<TrialSpec> queue_;              // pending, in the order they should start
  std::vector<bool> taken_;                   // queue_[i] was assigned or failed
  std::vector<int> held_ranks_;               // idle ranks waiting for a trial to become ready
  std::map<std::string, TrialSpec> running_;  // by id
  std::map<int, std::string> held_;           // rank -> id of the trial it runs
  int live_workers_ = 0;
  int workers_ = 0;  // worker ranks at the start
  size_t finished_ = 0;
  CoordinatorOptions options_;
  std::map<std::string, Timing> timing_;  // running trials, by id
  std::vector<double> durations_;         // seconds of the trials that ran and ended
  ProgressTask progress_;                 // trials n/N while run() runs
};

}  // namespace orch
