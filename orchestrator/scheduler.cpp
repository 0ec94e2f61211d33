#include "orchestrator/scheduler.h"

namespace orch {

std::optional<std::size_t> FifoScheduler::pick(const std::vector<Candidate>& ready, int) {
  if (ready.empty()) return std::nullopt;
  return 0;
}

std::shared_ptr<Scheduler> default_scheduler() { return std::make_shared<FifoScheduler>(); }

}  // namespace orch
