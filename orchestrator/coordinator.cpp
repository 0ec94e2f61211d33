#include "orchestrator/coordinator.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/metrics/aggregate.h"
#include "common/status.h"

namespace orch {

using nlohmann::json;

namespace {

std::string short_id(const std::string& id) { return id.substr(0, 8); }

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

}  // namespace

std::optional<double> estimate_run_eta(const std::vector<double>& finished_durations,
                                       const std::vector<RunningTrialTime>& running, size_t waiting,
                                       int workers) {
  const std::optional<double> typical =
      finished_durations.empty() ? std::nullopt : std::optional(mean(finished_durations));
  double work = 0, longest = 0;
  std::vector<double> estimated;  // running trials' whole durations, where known
  for (const auto& r : running) {
    std::optional<double> left = r.remaining;
    if (!left && typical) left = std::max(0.0, *typical - r.elapsed);
    if (!left) return std::nullopt;
    work += *left;
    longest = std::max(longest, *left);
    if (r.remaining) estimated.push_back(r.elapsed + *r.remaining);
  }
  if (waiting > 0) {
    const std::optional<double> each = typical             ? typical
                                       : estimated.empty() ? std::nullopt
                                                           : std::optional(mean(estimated));
    if (!each) return std::nullopt;
    work += static_cast<double>(waiting) * *each;
  }
  return std::max(longest, work / std::max(1, workers));
}

Coordinator::Coordinator(Communicator& comm, ResultStore& store, std::vector<TrialSpec> trials,
                         CoordinatorOptions options)
    : comm_(comm),
      store_(store),
      queue_(std::move(trials)),
      taken_(queue_.size(), false),
      options_(std::move(options)) {
  if (!options_.scheduler) options_.scheduler = default_scheduler();
  live_workers_ = comm_.size() - 1;
  workers_ = live_workers_;
  if (live_workers_ < 1) throw Error("the coordinator needs at least one worker rank");
}

void Coordinator::shutdown_all(Communicator& comm) {
  for (int r = 1; r < comm.size(); ++r) protocol::send(comm, r, protocol::Shutdown{});
}

void Coordinator::run() {
  spdlog::info("coordinator: {} trial(s) to run on {} worker rank(s)", queue_.size(),
               live_workers_);
  if (!queue_.empty())
    progress_ = start_progress("run", static_cast<std::int64_t>(queue_.size()), "trial");
  while (live_workers_ > 0) {
    update_progress();
    const auto msg = comm_.receive(options_.poll);
    if (!msg) continue;
    switch (msg->tag) {
      case protocol::kReady:
        protocol::Ready::decode(msg->payload);
        on_ready(msg->source);
        break;
      case protocol::kProgress:
        on_progress(protocol::Progress::decode(msg->payload));
        break;
      case protocol::kResult:
        on_result(msg->source, protocol::Result::decode(msg->payload));
        break;
      case protocol::kFatal:
        on_fatal(msg->source, protocol::Fatal::decode(msg->payload));
        break;
      default:
        throw Error("coordinator: unexpected message tag " + std::to_string(msg->tag) +
                    " from rank " + std::to_string(msg->source));
    }
  }
  progress_.set_detail("");
  progress_.update(static_cast<std::int64_t>(finished_));
  progress_.finish();
}

void Coordinator::trial_ended(const std::string& id) {
  const auto it = timing_.find(id);
  if (it == timing_.end()) return;
  durations_.push_back(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.started).count());
  timing_.erase(it);
}

void Coordinator::update_progress() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<RunningTrialTime> running;
  for (const auto& [id, t] : timing_) {
    RunningTrialTime r;
    r.elapsed = std::chrono::duration<double>(now - t.started).count();
    if (t.epochs_timed > 0)
      r.remaining = std::max(0, t.epochs - t.epochs_done) * t.epoch_seconds / t.epochs_timed;
    running.push_back(r);
  }
  size_t waiting = 0;
  for (size_t i = 0; i < queue_.size(); ++i) waiting += taken_[i] ? 0 : 1;
  progress_.update(static_cast<std::int64_t>(finished_));
  progress_.set_detail(fmt::format("{} running", running.size()));
  progress_.set_eta(estimate_run_eta(durations_, running, waiting, workers_));
}

void Coordinator::on_ready(int rank) { assign_or_hold(rank); }

Coordinator::SourcesState Coordinator::sources_state(const TrialSpec& spec) const {
  const auto failed = [](std::string reason) {
    return SourcesState{SourcesState::kFailed, std::move(reason)};
  };
  std::vector<const TrialSpec*> needed;
  for (const auto& src : spec.sources) needed.push_back(&src);
  for (const auto& src : spec.init) needed.push_back(&src);
  for (const TrialSpec* p : needed) {
    const TrialSpec& src = *p;
    const auto record = store_.trial(src.id);
    if (!record) return failed("source trial " + short_id(src.id) + " is not in the results store");
    switch (record->state) {
      case TrialState::kDone:
        continue;
      case TrialState::kFailed:
        return failed("source trial " + short_id(src.id) + " (" + src.model.name + ", seed " +
                      std::to_string(src.seed) + ") failed: " + record->error);
      case TrialState::kRunning:
        return {SourcesState::kWaiting, ""};
      case TrialState::kPending:
        for (size_t i = 0; i < queue_.size(); ++i)
          if (!taken_[i] && queue_[i].id == src.id) return {SourcesState::kWaiting, ""};
        return failed("source trial " + short_id(src.id) +
                      " is pending but not planned in this run");
    }
  }
  return {};
}

void Coordinator::finish_failed(const std::string& id, const std::string& error) {
  store_.record_failed(id, error);
  ++finished_;
  spdlog::error("trial {} failed: {} [{}/{}]", short_id(id), error, finished_, queue_.size());
}

void Coordinator::assign_or_hold(int rank) {
  // The trials ready now, in plan order, and the scheduler's choice among them.
  std::vector<Candidate> ready;
  for (size_t i = 0; i < queue_.size(); ++i)
    if (!taken_[i] && sources_state(queue_[i]).kind == SourcesState::kDone)
      ready.push_back({i, &queue_[i]});
  std::optional<size_t> chosen;
  if (!ready.empty()) {
    std::optional<size_t> pick = options_.scheduler->pick(ready, rank);
    // A hold ends at the next result; with nothing running there would be none, and the run
    // would wait forever. The first ready trial starts instead.
    if (!pick && running_.empty()) {
      spdlog::warn(
          "coordinator: the scheduler held rank {} with no trial running; starting the "
          "first ready trial",
          rank);
      pick = 0;
    }
    if (pick && *pick >= ready.size())
      throw Error("coordinator: the scheduler picked trial " + std::to_string(*pick) + " of " +
                  std::to_string(ready.size()) + " ready ones");
    if (pick) chosen = ready[*pick].position;
  }
  // Fail, in plan order, the trials before the chosen one (every trial when none is chosen)
  // whose sources failed; a failure is seen by the trials after it that depend on it.
  bool waiting = false;
  const size_t end = chosen ? *chosen : queue_.size();
  for (size_t i = 0; i < end; ++i) {
    if (taken_[i]) continue;
    const SourcesState state = sources_state(queue_[i]);
    if (state.kind == SourcesState::kWaiting) {
      waiting = true;
    } else if (state.kind == SourcesState::kFailed) {
      taken_[i] = true;
      finish_failed(queue_[i].id, state.reason);
    }
  }
  if (chosen) {
    assign(rank, *chosen);
    return;
  }
  if (waiting || !ready.empty()) {
    held_ranks_.push_back(rank);
    return;
  }
  protocol::send(comm_, rank, protocol::Shutdown{});
  --live_workers_;
}

void Coordinator::assign(int rank, size_t position) {
  taken_[position] = true;
  const TrialSpec& spec = queue_[position];
  store_.mark_running(spec.id, rank);
  const auto record = store_.trial(spec.id);
  if (!record) throw Error("coordinator: trial " + spec.id + " is not in the results store");
  const int attempt = record->attempts;
  running_[spec.id] = spec;
  held_[rank] = spec.id;
  Timing& timing = timing_[spec.id];
  timing = Timing{};
  timing.started = std::chrono::steady_clock::now();
  timing.epochs = spec.training.epochs;
  spdlog::info("trial {} ({} x {}, seed {}) -> rank {} (attempt {})", short_id(spec.id),
               spec.model.name, spec.dataset.name, spec.seed, rank, attempt);
  protocol::send(comm_, rank, protocol::Assign{spec, attempt});
}

void Coordinator::serve_held() {
  std::vector<int> ranks;
  ranks.swap(held_ranks_);
  for (int rank : ranks) assign_or_hold(rank);
}

void Coordinator::on_progress(const protocol::Progress& msg) {
  const EpochRecord& e = msg.epoch;
  store_.record_epoch(msg.trial, e);
  const auto it = running_.find(msg.trial);
  const int total = it == running_.end() ? 0 : it->second.training.epochs;
  if (const auto t = timing_.find(msg.trial); t != timing_.end()) {
    t->second.epochs_done = std::max(t->second.epochs_done, e.epoch + 1);
    t->second.epoch_seconds += e.seconds;
    ++t->second.epochs_timed;
  }
  spdlog::info("trial {}: epoch {}/{} loss {:.4f} val_dsc {:.4f} ({:.1f} s)", short_id(msg.trial),
               e.epoch + 1, total, e.train_loss, e.val_dsc, e.seconds);
}

void Coordinator::on_result(int rank, const protocol::Result& msg) {
  const std::string& id = msg.trial;
  running_.erase(id);
  held_.erase(rank);
  if (msg.ok)
    trial_ended(id);
  else
    timing_.erase(id);  // a failure's time says nothing about a trial's duration
  ++finished_;
  if (!msg.ok) {
    store_.record_failed(id, msg.error);
    spdlog::error("trial {} failed on rank {}: {} [{}/{}]", short_id(id), rank, msg.error,
                  finished_, queue_.size());
    serve_held();
    return;
  }
  const json summary = summarize_counts(msg.counts);
  store_.record_done(id, msg.counts, msg.artifacts, summary, msg.best_epoch);
  spdlog::info("trial {} done on rank {}: {} [{}/{}]", short_id(id), rank, summary.dump(),
               finished_, queue_.size());
  serve_held();
}

void Coordinator::on_fatal(int rank, const protocol::Fatal& msg) {
  const std::string error = "worker rank " + std::to_string(rank) + " stopped: " + msg.error;
  spdlog::error("{}", error);
  --live_workers_;
  const auto it = held_.find(rank);
  if (it == held_.end()) return;
  store_.record_failed(it->second, error);
  running_.erase(it->second);
  timing_.erase(it->second);  // cut short: its time says nothing about a trial's duration
  held_.erase(it);
  ++finished_;
  serve_held();
}

}  // namespace orch
