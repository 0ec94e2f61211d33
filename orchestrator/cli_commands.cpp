// The `orch` commands. Each parses its options, does its work through the libraries, and writes
// results to stdout (logs go to stderr).
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "datastore/results_store.h"
#include "orchestrator/cli.h"
#include "orchestrator/plan.h"
#include "reports/report.h"

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

// Parses `args`; prints help and returns false when --help was given.
bool parse_options(const std::vector<std::string>& args, const std::string& usage,
                   po::options_description& desc, const po::positional_options_description& pos,
                   po::variables_map& vm) {
  desc.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: " << usage << "\n\n" << desc;
    return false;
  }
  po::notify(vm);
  return true;
}

namespace {

// The store to read: --db, or the only runs/*/orch.sqlite under the working directory.
std::string find_db(const std::string& db) {
  if (!db.empty()) {
    if (!fs::exists(db)) throw Error("results store '" + db + "' does not exist");
    return db;
  }
  std::vector<std::string> found;
  if (fs::is_directory("runs"))
    for (const auto& e : fs::directory_iterator("runs"))
      if (fs::exists(e.path() / "orch.sqlite"))
        found.push_back((e.path() / "orch.sqlite").string());
  if (found.size() == 1) return found[0];
  if (found.empty()) throw Error("no results store found under runs/; pass --db PATH");
  std::string list;
  for (const auto& f : found) list += " " + f;
  throw Error("several results stores found (" + list + " ); pass --db PATH");
}

std::string fmt_metric(const json& m, const char* key) {
  return m.contains(key) && m[key].is_number() ? fmt::format("{:.3f}", m[key].get<double>()) : "-";
}

}  // namespace

int cmd_run(const std::vector<std::string>& args, const LaunchInfo& launch) {
  RunOptions o;
  po::options_description desc("orch run options");
  desc.add_options()("file", po::value(&o.yaml)->required(), "experiment YAML")(
      "profile", po::value(&o.profile),
      "profile to apply: quick, paper (default: the file's "
      "default_profile; `none` for none)")("db", po::value(&o.db),
                                           "results store (default: <out>/orch.sqlite)")(
      "out", po::value(&o.out), "output folder (default: the file's output, runs/<name>)")(
      "device", po::value(&o.device),
      "auto (CUDA when available, else CPU), cpu, cuda or cuda:N; under MPI, auto and cuda give "
      "each rank of a node GPU local_rank % count");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args,
                     "orch run FILE.yaml [--profile quick|paper] [--db PATH] [--out DIR] "
                     "[--device auto|cpu|cuda[:N]]",
                     desc, pos, vm))
    return 0;
  return run_experiment(o, launch);
}

int cmd_plan(const std::vector<std::string>& args) {
  RunOptions o;
  po::options_description desc("orch plan options");
  desc.add_options()("file", po::value(&o.yaml)->required(), "experiment YAML")(
      "profile", po::value(&o.profile), "profile to apply")(
      "db", po::value(&o.db), "results store to read states from")("out", po::value(&o.out),
                                                                   "output folder");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch plan FILE.yaml [--profile P] [--db PATH]", desc, pos, vm))
    return 0;
  const ExperimentConfig cfg = load_experiment(o.yaml, o.profile, config_validators());
  const std::string out = resolve_out_dir(o.out, cfg.output);
  const std::string db = resolve_db(o.db, out);
  const Plan plan = make_plan(cfg, out);
  std::unique_ptr<ResultStore> store;
  if (fs::exists(db)) store = std::make_unique<ResultStore>(db);
  std::cout << fmt::format("{:<16}  {:<20}  {:<14}  {:<16}  {:>4}  {:<7}  {}\n", "id", "table",
                           "model", "dataset", "seed", "state", "after");
  for (const auto& t : plan.trials) {
    std::string tables, after;
    for (const auto& c : plan.cells)
      if (c.trial_id == t.id && tables.find(c.table) == std::string::npos)
        tables += (tables.empty() ? "" : ",") + c.table;
    if (tables.empty()) tables = "(source)";  // only a refinement reads it
    for (const auto& src : t.sources) after += (after.empty() ? "" : ",") + src.id.substr(0, 8);
    const auto rec = store ? store->trial(t.id) : std::nullopt;
    std::string line =
        fmt::format("{:<16}  {:<20}  {:<14}  {:<16}  {:>4}  {:<7}  {}", t.id, tables, t.model.name,
                    t.dataset.name, t.seed, rec ? to_string(rec->state) : "new", after);
    line.erase(line.find_last_not_of(' ') + 1);  // no trailing blanks when nothing comes after
    std::cout << line << '\n';
  }
  std::cout << fmt::format("{} trial(s); profile '{}'; store {}\n", plan.trials.size(),
                           cfg.profile.empty() ? "none" : cfg.profile, db);
  return 0;
}

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

int cmd_report(const std::vector<std::string>& args) {
  std::string db, out;
  po::options_description desc("orch report options");
  desc.add_options()("db", po::value(&db), "results store (default: the only runs/*/orch.sqlite)")(
      "out", po::value(&out), "folder for report.md (default: the store's folder)");
  po::variables_map vm;
  if (!parse_options(args, "orch report [--db PATH] [--out DIR]", desc, {}, vm)) return 0;
  const std::string path = find_db(db);
  const ResultStore store(path);
  if (out.empty()) out = fs::absolute(path).parent_path().string();
  std::cout << write_reports(store, out) << "\n";
  return 0;
}

}  // namespace orch
