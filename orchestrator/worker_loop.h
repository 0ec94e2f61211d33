// The worker side of the coordinator protocol (orchestrator/protocol/messages.h): runs one trial
// per ASSIGN until SHUTDOWN, on ranks 1..N-1 (or a thread, without mpirun).
#pragma once

#include <functional>

#include "orchestrator/comm/communicator.h"
#include "worker/trial/trial_runner.h"
#include "worker/trial/trial_spec.h"

namespace orch {

// Runs one trial, reporting each finished epoch. run_trial in production, a scripted function
// in tests.
using TrialFn = std::function<TrialOutcome(const TrialSpec&, const EpochCallback&)>;

// Sends READY, then runs `trial_fn` for every ASSIGN (PROGRESS per epoch, then RESULT and READY)
// until SHUTDOWN. A trial that throws becomes a failed RESULT. When the loop itself fails (an
// unexpected or broken message, a send that fails), it sends FATAL and rethrows.
void worker_loop(Communicator& comm, const TrialFn& trial_fn);

}  // namespace orch
