// `orch status`: every trial of a results store with its state, rank, attempts and metrics.
#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "datastore/store/results_store.h"
#include "orchestrator/cli/cli.h"

namespace orch {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

std::string fmt_metric(const json& m, const char* key) {
  return m.contains(key) && m[key].is_number() ? fmt::format("{:.3f}", m[key].get<double>()) : "-";
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
  if (vm.count("json")) {
    json out = json::array();
    for (const auto& t : trials)
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
                     {"error", t.error}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<16}  {:<8}  {:>4}  {:>8}  {:<14}  {:<16}  {:>4}  {:>6}  {:>6}  {}\n",
                           "id", "state", "rank", "attempts", "model", "dataset", "seed", "dsc",
                           "iou", "error");
  for (const auto& t : trials)
    std::cout << fmt::format(
        "{:<16}  {:<8}  {:>4}  {:>8}  {:<14}  {:<16}  {:>4}  {:>6}  {:>6}  {}\n", t.id,
        to_string(t.state), t.rank, t.attempts, t.model, t.dataset, t.seed,
        fmt_metric(t.metrics, "dsc"), fmt_metric(t.metrics, "iou"), t.error);
  return 0;
}

}  // namespace orch
