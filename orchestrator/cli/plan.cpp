// `orch plan`: the trials an experiment file plans, with their tables, states and sources,
// without running them.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "datastore/store/results_store.h"
#include "orchestrator/cli/cli.h"
#include "orchestrator/plan.h"
#include "orchestrator/run.h"

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// The tables a trial fills, in plan order; a trial in none is a source only a refinement reads.
std::vector<std::string> tables_of(const Plan& plan, const std::string& id) {
  std::vector<std::string> names;
  for (const auto& c : plan.cells)
    if (c.trial_id == id && std::find(names.begin(), names.end(), c.table) == names.end())
      names.push_back(c.table);
  return names;
}

std::string state_of(const ResultStore* store, const std::string& id) {
  const auto rec = store ? store->trial(id) : std::nullopt;
  return rec ? to_string(rec->state) : "new";
}

void print_json(const ExperimentConfig& cfg, const Plan& plan, const ResultStore* store,
                const std::string& db) {
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& t : plan.trials) {
    std::vector<std::string> sources;
    for (const auto& src : t.sources) sources.push_back(src.id);
    nlohmann::json training = t.training;
    trials.push_back(
        {{"id", t.id},
         {"tables", tables_of(plan, t.id)},
         {"model", t.model.name},
         {"model_kind", t.model.kind},
         {"model_options", t.model.options},
         {"dataset", t.dataset.name},
         {"split", nlohmann::json(t.dataset).at("split")},
         {"preprocess", nlohmann::json(t.dataset).at("preprocess")},
         {"seed", t.seed},
         {"epochs", t.training.epochs},
         {"training", training},
         {"state", state_of(store, t.id)},
         {"sources", sources},
         {"init", t.init.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.init[0].id)}});
  }
  // Every table with every cell, the trials that fill it and the paper's numbers.
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& table : cfg.tables) {
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& r : table.rows)
      for (const auto& c : table.columns) {
        const auto [dataset, model] = table.cell_source(r, c);
        std::vector<std::string> ids, baseline;
        for (const auto& cell : plan.cells)
          if (cell.dataset == dataset && cell.model == model) {
            if (cell.table == table.name) ids.push_back(cell.trial_id);
            if (cell.table == table.name + kBaselineSuffix) baseline.push_back(cell.trial_id);
          }
        const auto pub = table.published.find({r.key, c.key});
        nlohmann::json cj = {
            {"row", r.key},
            {"column", c.key},
            {"dataset", dataset},
            {"model", model},
            {"trials", ids},
            {"baseline", baseline},
            {"class", r.class_index},
            {"published", pub != table.published.end() ? nlohmann::json(pub->second)
                                                       : nlohmann::json::object()}};
        cells.push_back(cj);
      }
    nlohmann::json tj = table;
    tj["cells"] = cells;
    tables.push_back(tj);
  }
  const nlohmann::json out = {
      {"experiment", cfg.name},   {"profile", cfg.profile}, {"store", db},
      {"includes", cfg.includes}, {"tables", tables},       {"trials", trials}};
  std::cout << out.dump(2) << "\n";
}

}  // namespace

int cmd_plan(const std::vector<std::string>& args) {
  RunOptions o;
  bool as_json = false;
  po::options_description desc("orch plan options");
  desc.add_options()("file", po::value(&o.yaml)->required(), "experiment YAML")(
      "profile", po::value(&o.profile), "profile to apply")("db", po::value(&o.db),
                                                            "results store to read states from")(
      "out", po::value(&o.out), "output folder")("json", po::bool_switch(&as_json),
                                                 "print one JSON object");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch plan FILE.yaml [--profile P] [--db PATH] [--json]", desc, pos, vm))
    return 0;
  const ExperimentConfig cfg = load_experiment(o.yaml, o.profile, config_validators());
  const std::string out = resolve_out_dir(o.out, cfg.output);
  const std::string db = resolve_db(o.db, out);
  const Plan plan = make_plan(cfg, out);
  std::unique_ptr<ResultStore> store;
  if (fs::exists(db)) store = std::make_unique<ResultStore>(db);
  if (as_json) {
    print_json(cfg, plan, store.get(), db);
    return 0;
  }
  std::cout << fmt::format("{:<16}  {:<20}  {:<14}  {:<16}  {:>4}  {:<7}  {}\n", "id", "table",
                           "model", "dataset", "seed", "state", "after");
  for (const auto& t : plan.trials) {
    const std::vector<std::string> table_names = tables_of(plan, t.id);
    std::vector<std::string> source_ids;
    for (const auto& src : t.sources) source_ids.push_back(src.id.substr(0, 8));
    // A trial in no table is a source that only a refinement reads.
    const std::string tables = table_names.empty() ? "(source)" : join(table_names, ",");
    const std::string after = join(source_ids, ",");
    std::string line =
        fmt::format("{:<16}  {:<20}  {:<14}  {:<16}  {:>4}  {:<7}  {}", t.id, tables, t.model.name,
                    t.dataset.name, t.seed, state_of(store.get(), t.id), after);
    line.erase(line.find_last_not_of(' ') + 1);  // no trailing blanks when nothing comes after
    std::cout << line << '\n';
  }
  // The settings the trials run with, once per model and dataset (trained trials, not the
  // untrained baselines), so a profile can be read against the papers.
  std::cout << "settings:\n";
  std::set<std::string> shown;
  for (const auto& t : plan.trials) {
    if (t.training.epochs == 0 || !shown.insert("m/" + t.model.name).second) continue;
    nlohmann::json training = t.training;
    std::cout << fmt::format(
        "  model {} ({} {}){}: {}\n", t.model.name, t.model.kind, t.model.options.dump(),
        t.model.init_from.empty() ? "" : " init_from " + t.model.init_from, training.dump());
  }
  for (const auto& d : cfg.datasets) {
    const nlohmann::json j = d;
    std::cout << fmt::format("  dataset {} ({} {}): split {} preprocess {}\n", d.name, d.kind,
                             d.options.dump(), j.at("split").dump(), j.at("preprocess").dump());
  }
  std::cout << fmt::format("{} trial(s); profile '{}'; store {}\n", plan.trials.size(),
                           cfg.profile.empty() ? "none" : cfg.profile, db);
  return 0;
}

}  // namespace orch
