#include "orchestrator/coordinator.h"

#include <cmath>
#include <limits>

#include <spdlog/spdlog.h>

#include "common/status.h"

namespace orch {

using nlohmann::json;

namespace {

json epoch_json(const EpochRecord& e) {
  return {{"epoch", e.epoch},     {"train_loss", e.train_loss}, {"val_loss", e.val_loss},
          {"val_dsc", e.val_dsc}, {"val_iou", e.val_iou},       {"lr", e.lr},
          {"seconds", e.seconds}};
}

EpochRecord epoch_from_json(const json& j) {
  // JSON has no NaN: nlohmann writes it as null, which reads back as NaN (stored as NULL).
  const auto num = [&](const char* k) {
    return j.at(k).is_number() ? j[k].get<double>() : nan_value();
  };
  return {j.at("epoch").get<int>(),
          num("train_loss"),
          num("val_loss"),
          num("val_dsc"),
          num("lr"),
          num("seconds"),
          j.contains("val_iou") ? num("val_iou") : nan_value()};
}

// A surface metric in JSON, which has neither NaN nor infinity: NaN as null, +inf as "inf".
json surface_json(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return "inf";
  return v;
}

double surface_from_json(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string() && j.get<std::string>() == "inf")
    return std::numeric_limits<double>::infinity();
  return nan_value();
}

// A count row: [case, class, tp, fp, fn, tn, hd95, assd, nsd].
json result_json(const std::string& id, const TrialOutcome& o) {
  json counts = json::array(), artifacts = json::array();
  for (const auto& c : o.counts)
    counts.push_back({c.case_id, c.label, c.counts.tp, c.counts.fp, c.counts.fn, c.counts.tn,
                      surface_json(c.hd95), surface_json(c.assd), surface_json(c.nsd)});
  for (const auto& a : o.artifacts) artifacts.push_back({a.kind, a.path, a.checksum, a.bytes});
  return {{"trial", id},      {"ok", o.status.ok()},    {"error", o.status.message()},
          {"counts", counts}, {"artifacts", artifacts}, {"best_epoch", o.best_epoch}};
}

std::string short_id(const std::string& id) { return id.substr(0, 8); }

}  // namespace

json summarize_counts(const std::vector<CaseClassCounts>& counts) {
  json out = json::object();
  for (const char* metric : {"dsc", "iou", "precision", "recall", "hd95", "assd", "nsd"}) {
    std::map<std::string, std::vector<double>> per_case;
    for (const auto& c : counts) per_case[c.case_id].push_back(case_class_metric(c, metric));
    std::vector<double> means;
    std::int64_t infinite = 0;
    for (const auto& [id, values] : per_case) {
      means.push_back(mean_over_classes(values));
      infinite += std::isinf(means.back()) ? 1 : 0;
    }
    const MeanStd m = mean_std(means);  // over finite case values
    out[metric] = m.n ? json(m.mean) : json(nullptr);
    if (infinite) out[std::string(metric) + "_inf_cases"] = infinite;
  }
  return out;
}

Coordinator::Coordinator(Communicator& comm, ResultStore& store, std::vector<TrialSpec> trials,
                         CoordinatorOptions options)
    : comm_(comm),
      store_(store),
      queue_(std::move(trials)),
      taken_(queue_.size(), false),
      options_(options) {
  live_workers_ = comm_.size() - 1;
  if (live_workers_ < 1) throw Error("the coordinator needs at least one worker rank");
}

void Coordinator::shutdown_all(Communicator& comm) {
  for (int r = 1; r < comm.size(); ++r) comm.send(r, kShutdown, "{}");
}

void Coordinator::run() {
  spdlog::info("coordinator: {} trial(s) to run on {} worker rank(s)", queue_.size(),
               live_workers_);
  while (live_workers_ > 0) {
    const auto msg = comm_.receive(options_.poll);
    if (!msg) continue;
    const json body = json::parse(msg->payload);
    switch (msg->tag) {
      case kReady:
        on_ready(msg->source);
        break;
      case kProgress:
        on_progress(body);
        break;
      case kResult:
        on_result(msg->source, body);
        break;
      case kFatal:
        on_fatal(msg->source, body);
        break;
      default:
        throw Error("coordinator: unexpected message tag " + std::to_string(msg->tag) +
                    " from rank " + std::to_string(msg->source));
    }
  }
}

void Coordinator::on_ready(int rank) { assign_or_hold(rank); }

std::string Coordinator::sources_state(const TrialSpec& spec) const {
  for (const auto& src : spec.sources) {
    const auto record = store_.trial(src.id);
    if (!record) return "source trial " + short_id(src.id) + " is not in the results store";
    switch (record->state) {
      case TrialState::kDone:
        continue;
      case TrialState::kFailed:
        return "source trial " + short_id(src.id) + " (" + src.model.name + ", seed " +
               std::to_string(src.seed) + ") failed: " + record->error;
      case TrialState::kRunning:
        return "wait";
      case TrialState::kPending:
        for (size_t i = 0; i < queue_.size(); ++i)
          if (!taken_[i] && queue_[i].id == src.id) return "wait";
        return "source trial " + short_id(src.id) + " is pending but not planned in this run";
    }
  }
  return "";
}

void Coordinator::finish_failed(const std::string& id, const std::string& error) {
  store_.record_failed(id, error);
  ++finished_;
  spdlog::error("trial {} failed: {} [{}/{}]", short_id(id), error, finished_, queue_.size());
}

void Coordinator::assign_or_hold(int rank) {
  bool waiting = false;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (taken_[i]) continue;
    const std::string state = sources_state(queue_[i]);
    if (state == "wait") {
      waiting = true;
      continue;
    }
    taken_[i] = true;
    if (!state.empty()) {
      finish_failed(queue_[i].id, state);
      continue;
    }
    const TrialSpec& spec = queue_[i];
    store_.mark_running(spec.id, rank);
    const auto record = store_.trial(spec.id);
    if (!record) throw Error("coordinator: trial " + spec.id + " is not in the results store");
    const int attempt = record->attempts;
    running_[spec.id] = spec;
    held_[rank] = spec.id;
    spdlog::info("trial {} ({} x {}, seed {}) -> rank {} (attempt {})", short_id(spec.id),
                 spec.model.name, spec.dataset.name, spec.seed, rank, attempt);
    comm_.send(rank, kAssign, json{{"spec", to_json(spec)}, {"attempt", attempt}}.dump());
    return;
  }
  if (waiting) {
    held_ranks_.push_back(rank);
    return;
  }
  comm_.send(rank, kShutdown, "{}");
  --live_workers_;
}

void Coordinator::serve_held() {
  std::vector<int> ranks;
  ranks.swap(held_ranks_);
  for (int rank : ranks) assign_or_hold(rank);
}

void Coordinator::on_progress(const json& msg) {
  const std::string id = msg.at("trial");
  const EpochRecord e = epoch_from_json(msg.at("epoch"));
  store_.record_epoch(id, e);
  const auto it = running_.find(id);
  const int total = it == running_.end() ? 0 : it->second.training.epochs;
  spdlog::info("trial {}: epoch {}/{} loss {:.4f} val_dsc {:.4f} ({:.1f} s)", short_id(id),
               e.epoch + 1, total, e.train_loss, e.val_dsc, e.seconds);
}

void Coordinator::on_result(int rank, const json& msg) {
  const std::string id = msg.at("trial");
  running_.erase(id);
  held_.erase(rank);
  ++finished_;
  if (!msg.at("ok").get<bool>()) {
    const std::string error = msg.at("error");
    store_.record_failed(id, error);
    spdlog::error("trial {} failed on rank {}: {} [{}/{}]", short_id(id), rank, error, finished_,
                  queue_.size());
    serve_held();
    return;
  }
  std::vector<CaseClassCounts> counts;
  for (const auto& c : msg.at("counts")) {
    counts.push_back({c[0].get<std::string>(), c[1].get<int>(),
                      ConfusionCounts{c[2].get<int64_t>(), c[3].get<int64_t>(), c[4].get<int64_t>(),
                                      c[5].get<int64_t>()}});
    if (c.size() >= 9) {  // rows without surface metrics keep NaN
      counts.back().hd95 = surface_from_json(c[6]);
      counts.back().assd = surface_from_json(c[7]);
      counts.back().nsd = surface_from_json(c[8]);
    }
  }
  std::vector<Artifact> artifacts;
  for (const auto& a : msg.at("artifacts"))
    artifacts.push_back({a[0].get<std::string>(), a[1].get<std::string>(), a[2].get<std::string>(),
                         a[3].get<int64_t>()});
  const json summary = summarize_counts(counts);
  store_.record_done(id, counts, artifacts, summary, msg.at("best_epoch").get<int>());
  spdlog::info("trial {} done on rank {}: {} [{}/{}]", short_id(id), rank, summary.dump(),
               finished_, queue_.size());
  serve_held();
}

void Coordinator::on_fatal(int rank, const json& msg) {
  const std::string error = "worker rank " + std::to_string(rank) +
                            " stopped: " + msg.value("error", std::string("unknown error"));
  spdlog::error("{}", error);
  --live_workers_;
  const auto it = held_.find(rank);
  if (it == held_.end()) return;
  store_.record_failed(it->second, error);
  running_.erase(it->second);
  held_.erase(it);
  ++finished_;
  serve_held();
}

namespace {

void serve(Communicator& comm, const TrialFn& trial_fn) {
  comm.send(0, kReady, "{}");
  for (;;) {
    const auto msg = comm.receive(std::chrono::milliseconds(1000));
    if (!msg) continue;
    if (msg->tag == kShutdown) return;
    if (msg->tag != kAssign)
      throw Error("worker: unexpected message tag " + std::to_string(msg->tag));
    const TrialSpec spec = trial_spec_from_json(json::parse(msg->payload).at("spec"));
    TrialOutcome outcome;
    try {
      outcome = trial_fn(spec, [&](const EpochRecord& e) {
        comm.send(0, kProgress, json{{"trial", spec.id}, {"epoch", epoch_json(e)}}.dump());
      });
    } catch (const std::exception& e) {  // run_trial catches its own; this guards any TrialFn
      outcome.status = Status::Failed(e.what());
    }
    comm.send(0, kResult, result_json(spec.id, outcome).dump());
    comm.send(0, kReady, "{}");
  }
}

}  // namespace

void worker_loop(Communicator& comm, const TrialFn& trial_fn) {
  try {
    serve(comm, trial_fn);
  } catch (const std::exception& e) {
    comm.send(0, kFatal, json{{"error", e.what()}}.dump());
    throw;
  }
}

}  // namespace orch
