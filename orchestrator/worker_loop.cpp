#include "orchestrator/worker_loop.h"

#include <chrono>
#include <exception>
#include <string>

#include "common/status.h"
#include "orchestrator/protocol/messages.h"

namespace orch {

namespace {

void serve(Communicator& comm, const TrialFn& trial_fn) {
  protocol::send(comm, 0, protocol::Ready{});
  for (;;) {
    const auto msg = comm.receive(std::chrono::milliseconds(1000));
    if (!msg) continue;
    if (msg->tag == protocol::kShutdown) return;
    if (msg->tag != protocol::kAssign)
      throw Error("worker: unexpected message tag " + std::to_string(msg->tag));
    const TrialSpec spec = protocol::Assign::decode(msg->payload).spec;
    TrialOutcome outcome;
    try {
      outcome = trial_fn(spec, [&](const EpochRecord& e) {
        protocol::send(comm, 0, protocol::Progress{spec.id, e});
      });
    } catch (const std::exception& e) {  // run_trial catches its own; this guards any TrialFn
      outcome.status = Status::Failed(e.what());
    }
    protocol::Result result;
    result.trial = spec.id;
    result.ok = outcome.status.ok();
    result.error = outcome.status.message();
    result.counts = std::move(outcome.counts);
    result.artifacts = std::move(outcome.artifacts);
    result.best_epoch = outcome.best_epoch;
    protocol::send(comm, 0, result);
    protocol::send(comm, 0, protocol::Ready{});
  }
}

}  // namespace

void worker_loop(Communicator& comm, const TrialFn& trial_fn) {
  try {
    serve(comm, trial_fn);
  } catch (const std::exception& e) {
    protocol::send(comm, 0, protocol::Fatal{e.what()});
    throw;
  }
}

}  // namespace orch
