// Scheduling policy: which ready trial the coordinator starts when a worker rank asks for work.
//
// The coordinator decides what is ready (every source trial done; orchestrator/protocol/
// messages.h, step 2) and fails the trials whose sources failed; the scheduler only chooses
// among the ready ones. A new policy is one class implementing Scheduler, passed in
// CoordinatorOptions::scheduler.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "worker/trial/trial_spec.h"

namespace orch {

// A trial that may start now.
struct Candidate {
  std::size_t position = 0;         // its place in the plan (0 = the first trial to start)
  const TrialSpec* spec = nullptr;  // never null
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // The index into `ready` (never empty, in plan order) of the trial to start on worker `rank`,
  // or nullopt to start none now: the rank is then held until the next result, when it asks
  // again.
  virtual std::optional<std::size_t> pick(const std::vector<Candidate>& ready, int rank) = 0;
};

// Plan order: always the first ready trial.
class FifoScheduler : public Scheduler {
 public:
  std::optional<std::size_t> pick(const std::vector<Candidate>& ready, int rank) override;
};

// The policy a run uses when none is given: FifoScheduler.
std::shared_ptr<Scheduler> default_scheduler();

}  // namespace orch
