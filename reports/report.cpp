#include "reports/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/config/config.h"
#include "common/fs.h"
#include "common/metrics/aggregate.h"

namespace orch {

using nlohmann::json;

std::vector<double> trial_case_values(const ResultStore& store, const std::vector<std::string>& ids,
                                      const std::string& metric) {
  std::vector<double> out;
  for (const auto& id : ids) {
    const auto t = store.trial(id);
    if (!t || t->state != TrialState::kDone) continue;
    for (const auto& [case_id, v] : case_values(store.case_counts(id), metric)) out.push_back(v);
  }
  return out;
}

namespace {

std::string format_cell(const ResultStore& store, const std::vector<std::string>& ids,
                        const std::string& metric, const std::map<std::string, double>* published) {
  const std::vector<double> values = trial_case_values(store, ids, metric);
  const MeanStd m = mean_std(values);
  std::string s = m.n ? fmt::format("{:.3f} ± {:.3f}", m.mean, m.std) : std::string("–");
  // A surface distance to an empty mask is infinite: left out of the mean, and said so.
  const auto infinite =
      std::count_if(values.begin(), values.end(), [](double v) { return std::isinf(v); });
  if (infinite) s += fmt::format(" [{} of {} cases inf]", infinite, values.size());
  if (published && published->count(metric)) {
    const double p = published->at(metric);
    s += fmt::format(" (paper {:.3f}", p);
    if (m.n) s += fmt::format(", Δ {:+.3f}", m.mean - p);
    s += ")";
  }
  return s;
}

std::string render_table(const ResultStore& store, const TableConfig& t,
                         const std::vector<TableCellRecord>& cells) {
  std::string out = fmt::format("## {}\n\n", t.title.empty() ? t.name : t.title);
  if (!t.source.empty()) out += fmt::format("Source: {}.\n\n", t.source);
  out += "| dataset | metric |";
  for (const auto& [model, label] : t.columns) out += " " + label + " |";
  out += "\n|---|---|";
  for (size_t i = 0; i < t.columns.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& [dataset, row_label] : t.rows)
    for (const auto& metric : t.metrics) {
      const MetricDef& def = orch::metric(metric);
      out += fmt::format("| {} | {} |", row_label,
                         *def.unit ? fmt::format("{} ({})", def.label, def.unit) : def.label);
      for (const auto& [model, col_label] : t.columns) {
        std::vector<std::string> ids;
        for (const auto& c : cells)
          if (c.table == t.name && c.dataset == dataset && c.model == model)
            ids.push_back(c.trial_id);
        const auto pub = t.published.find({dataset, model});
        out += " " +
               format_cell(store, ids, metric, pub == t.published.end() ? nullptr : &pub->second) +
               " |";
      }
      out += "\n";
    }
  return out + "\n";
}

std::string trial_summary(const std::vector<TrialRecord>& trials) {
  std::map<std::string, int> by_state;
  for (const auto& t : trials) by_state[to_string(t.state)]++;
  std::string out = fmt::format("Trials: {} planned", trials.size());
  for (const auto& [state, n] : by_state) out += fmt::format(", {} {}", n, state);
  out += ".\n\n";
  for (const auto& t : trials)
    if (t.state == TrialState::kFailed)
      out += fmt::format("- trial `{}` ({} x {}, seed {}) failed: {}\n", t.id, t.model, t.dataset,
                         t.seed, t.error);
  return out;
}

}  // namespace

std::string render_markdown(const ResultStore& store, const std::string& experiment) {
  json config;
  for (const auto& e : store.experiments())
    if (e["name"] == experiment) config = e["config"];
  std::string out = fmt::format("# {}\n\n", experiment);
  out +=
      "Each cell: mean ± std over test cases (pooled over seeds) of the per-case value, which is "
      "the mean over foreground classes; the paper's value and our difference are in "
      "parentheses.\n\n";
  const auto cells = store.table_cells(experiment);
  if (config.contains("tables"))
    for (const auto& tj : config["tables"])
      out += render_table(store, tj.get<TableConfig>(), cells);
  // The trials this experiment's tables show now; trials of an earlier plan stay in the store but
  // not in the report.
  std::set<std::string> ids;
  for (const auto& c : cells) ids.insert(c.trial_id);
  std::vector<TrialRecord> trials;
  for (const auto& id : ids)
    if (auto t = store.trial(id)) trials.push_back(*t);
  return out + trial_summary(trials);
}

std::string write_reports(const ResultStore& store, const std::string& out_dir) {
  std::string md;
  for (const auto& e : store.experiments())
    md += render_markdown(store, e["name"].get<std::string>());
  const auto path = std::filesystem::path(out_dir) / "report.md";
  write_file_atomic(path, md);
  return path.string();
}

}  // namespace orch
