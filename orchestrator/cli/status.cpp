// `orch status`: every trial of a results store with its state, rank, attempts and metrics; for
// a running trial its epoch, the best value so far of its early-stopping metric, its last epoch's
// time and its ETA; and the run's ETA.
#include <cmath>
#include <iostream>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/progress.h"
#include "datastore/store/results_store.h"
#include "orchestrator/cli/cli.h"
#include "orchestrator/coordinator.h"

namespace orch {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

// What the store's epochs say about one trial.
struct TrialProgress {
  int epoch = 0;                   // epochs finished
  std::optional<int> epochs;       // its budget, from the spec
  std::string metric = "val_dsc";  // its early-stopping metric
  std::optional<double> best;      // best value of `metric` so far
  std::optional<double> last_s;    // the last epoch's seconds
  double seconds = 0;              // all its epochs' seconds
  std::optional<double> eta_s;     // running: epochs left x mean epoch time; done: 0
};

std::optional<double> metric_value(const std::string& name, const EpochRecord& e) {
  const double v = name == "val_loss"     ? e.val_loss
                   : name == "train_loss" ? e.train_loss
                   : name == "val_iou"    ? e.val_iou
                                          : e.val_dsc;
  return std::isfinite(v) ? std::optional(v) : std::nullopt;
}

TrialProgress trial_progress(const ResultStore& store, const TrialRecord& t) {
  TrialProgress p;
  const json& training =
      t.spec.is_object() && t.spec.contains("training") ? t.spec["training"] : json::object();
  if (training.contains("epochs") && training["epochs"].is_number_integer())
    p.epochs = training["epochs"].get<int>();
  if (training.contains("early_stop_metric") && training["early_stop_metric"].is_string())
    p.metric = training["early_stop_metric"].get<std::string>();
  const bool lower_is_better = p.metric == "val_loss" || p.metric == "train_loss";
  const auto records = store.epochs(t.id);
  for (const auto& e : records) {
    p.epoch = std::max(p.epoch, e.epoch + 1);
    p.seconds += e.seconds;
    const auto v = metric_value(p.metric, e);
    if (v && (!p.best || (lower_is_better ? *v < *p.best : *v > *p.best))) p.best = v;
  }
  if (!records.empty()) p.last_s = records.back().seconds;
  if (t.state == TrialState::kDone) p.eta_s = 0.0;
  if (t.state == TrialState::kRunning && !records.empty() && p.epochs)
    p.eta_s = std::max(0, *p.epochs - p.epoch) * p.seconds / static_cast<double>(records.size());
  return p;
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::string fmt_metric(const json& m, const char* key) {
  return m.contains(key) && m[key].is_number() ? fmt::format("{:.3f}", m[key].get<double>()) : "-";
}

std::string fmt_epoch(const TrialProgress& p) {
  if (p.epoch == 0 && !p.last_s) return "-";
  return p.epochs ? fmt::format("{}/{}", p.epoch, *p.epochs) : std::to_string(p.epoch);
}

// The run's ETA over every trial in the store: done trials' epoch time is the typical duration.
std::optional<double> run_eta(const std::vector<TrialRecord>& trials,
                              const std::vector<TrialProgress>& progress) {
  std::vector<double> finished;
  std::vector<RunningTrialTime> running;
  std::set<int> ranks;
  size_t waiting = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialProgress& p = progress[i];
    switch (trials[i].state) {
      case TrialState::kDone:
        if (p.seconds > 0) finished.push_back(p.seconds);
        break;
      case TrialState::kRunning:
        running.push_back({p.seconds, p.eta_s});
        ranks.insert(trials[i].rank);
        break;
      case TrialState::kPending:
        ++waiting;
        break;
      case TrialState::kFailed:
        break;
    }
  }
  return estimate_run_eta(finished, running, waiting, std::max<int>(1, int(ranks.size())));
}

void print_json(const std::vector<TrialRecord>& trials,
                const std::vector<TrialProgress>& progress) {
  json out = json::array();
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    const TrialProgress& p = progress[i];
    out.push_back({{"id", t.id},
                   {"experiment", t.experiment},
                   {"state", to_string(t.state)},
                   {"rank", t.rank},
                   {"attempts", t.attempts},
                   {"model", t.model},
                   {"dataset", t.dataset},
                   {"seed", t.seed},
                   {"metrics", t.metrics},
                   {"best_epoch", t.best_epoch},
                   {"error", t.error},
                   {"epoch", p.epoch},
                   {"epochs", p.epochs ? json(*p.epochs) : json(nullptr)},
                   {"best_metric", p.metric},
                   {"best", optional_json(p.best)},
                   {"last_epoch_s", optional_json(p.last_s)},
                   {"eta_s", optional_json(p.eta_s)}});
  }
  std::cout << out.dump(2) << "\n";
}

void print_table(const std::vector<TrialRecord>& trials,
                 const std::vector<TrialProgress>& progress) {
  constexpr const char* kRow =
      "{:<16}  {:<8}  {:>4}  {:>8}  {:<14}  {:<16}  {:>4}  {:>6}  {:>6}  {:>7}  {:>6}  {:>7}  "
      "{:>7}  {}\n";
  std::cout << fmt::format(kRow, "id", "state", "rank", "attempts", "model", "dataset", "seed",
                           "dsc", "iou", "epoch", "best", "last_s", "eta", "error");
  size_t done = 0, running = 0, pending = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    const TrialProgress& p = progress[i];
    const bool live = t.state == TrialState::kRunning;
    done += t.state == TrialState::kDone ? 1 : 0;
    running += live ? 1 : 0;
    pending += t.state == TrialState::kPending ? 1 : 0;
    std::cout << fmt::format(kRow, t.id, to_string(t.state), t.rank, t.attempts, t.model, t.dataset,
                             t.seed, fmt_metric(t.metrics, "dsc"), fmt_metric(t.metrics, "iou"),
                             fmt_epoch(p), p.best ? fmt::format("{:.3f}", *p.best) : "-",
                             p.last_s ? fmt::format("{:.1f}", *p.last_s) : "-",
                             live && p.eta_s ? format_duration(*p.eta_s) : "-", t.error);
  }
  if (running + pending == 0) return;  // nothing left to wait for
  const auto eta = run_eta(trials, progress);
  std::cout << fmt::format("run: {}/{} done, {} running, ETA {}\n", done, trials.size(), running,
                           eta ? format_duration(*eta) : "?");
}

}  // namespace

int cmd_status(const std::vector<std::string>& args) {
  std::string db;
  po::options_description desc("orch status options");
  desc.add_options()("db", po::value(&db), "results store (default: the only runs/*/orch.sqlite)")(
      "json", "print one JSON array");
  po::variables_map vm;
  if (!parse_options(args, "orch status [--db PATH] [--json]", desc, {}, vm)) return 0;
  const ResultStore store(find_db(db));
  const auto trials = store.trials();
  std::vector<TrialProgress> progress;
  for (const auto& t : trials) progress.push_back(trial_progress(store, t));
  if (vm.count("json"))
    print_json(trials, progress);
  else
    print_table(trials, progress);
  return 0;
}

}  // namespace orch
