#include "reports/report.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/config/config.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/metrics/metric.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/time.h"
#include "reports/report_figures.h"

namespace orch {

namespace fs = std::filesystem;
using nlohmann::json;

std::set<std::string> parse_formats(const std::string& list) {
  static const std::set<std::string> known = {"md", "html", "csv", "tex"};
  std::set<std::string> out;
  std::string item;
  for (std::size_t i = 0; i <= list.size(); ++i) {
    if (i == list.size() || list[i] == ',') {
      if (!item.empty()) {
        if (!known.count(item))
          throw Error("--format: unknown format '" + item +
                      "'; expected a comma-separated list of md, html, csv, tex");
        out.insert(item);
      }
      item.clear();
    } else if (list[i] != ' ') {
      item += list[i];
    }
  }
  if (out.empty()) throw Error("--format: expected at least one of md, html, csv, tex");
  return out;
}

ReportDocument build_report(const ResultStore& store, const ReportOptions& options) {
  ReportDocument doc;
  json runs = json::object();
  for (const auto& ej : store.experiments()) {
    ExperimentReport e;
    e.name = ej["name"].get<std::string>();
    const json& config = ej["config"];
    if (auto p = store.last_run(e.name)) e.provenance = *p;
    if (e.provenance.is_object() && e.provenance.contains("datasets"))
      for (const auto& d : e.provenance["datasets"])
        if (d.value("data", "") == "phantom") e.phantom = true;
    runs[e.name] = e.provenance;
    if (config.contains("tables"))
      for (const auto& tj : config["tables"]) {
        TableReport tr;
        tr.table = build_table(store, e.name, tj.get<TableConfig>());
        e.tables.push_back(std::move(tr));
      }
    // The trials this experiment's tables show now; trials of an earlier plan stay in the store
    // but not in the report.
    std::set<std::string> ids;
    for (const auto& c : store.table_cells(e.name)) ids.insert(c.trial_id);
    for (const auto& id : ids)
      if (auto t = store.trial(id)) e.trials.push_back(*t);
    doc.experiments.push_back(std::move(e));
  }
  if (options.figures)
    for (auto& e : doc.experiments)
      for (auto& tr : e.tables)
        tr.figures = draw_table_figures(store, e, tr.table, options.out_dir);
  doc.provenance = {{"report", {{"written_at", utc_now()}, {"store", store.path()}}},
                    {"runs", runs}};
  return doc;
}

std::string render_cases_csv(const ResultStore& store, const ReportDocument& doc) {
  std::string out = "experiment,trial,model,dataset,seed,case,class,class_name,metric,value\n";
  std::map<std::string, std::map<std::string, std::vector<std::string>>> names_of;  // read once
  for (const auto& ej : store.experiments())
    if (ej["config"].contains("class_names"))
      ej["config"]["class_names"].get_to(names_of[ej["name"].get<std::string>()]);
  for (const auto& e : doc.experiments) {
    auto& class_names = names_of[e.name];  // dataset -> names
    for (const auto& t : e.trials) {
      if (t.state != TrialState::kDone) continue;
      const auto& names = class_names[t.dataset];
      for (const auto& c : store.case_counts(t.id)) {
        const std::string cname = c.label >= 0 && c.label < static_cast<int>(names.size())
                                      ? names[static_cast<std::size_t>(c.label)]
                                      : "class " + std::to_string(c.label);
        for (const auto& m : metric_registry()) {
          const double v = m.of(c);
          out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", escape_csv(e.name), t.id,
                             escape_csv(t.model), escape_csv(t.dataset), t.seed,
                             escape_csv(c.case_id), c.label, escape_csv(cname), m.name,
                             std::isnan(v) ? std::string() : fmt::format("{}", v));
        }
      }
    }
  }
  return out;
}

json write_reports(const ResultStore& store, const ReportOptions& options) {
  fs::create_directories(options.out_dir);
  const ReportDocument doc = build_report(store, options);
  const fs::path dir(options.out_dir);
  json files = json::array();
  const auto put = [&](const char* name, const std::string& text) {
    write_file_atomic(dir / name, text);
    files.push_back((dir / name).string());
  };
  if (options.formats.count("md")) put("report.md", render_markdown(doc));
  if (options.formats.count("html")) put("report.html", render_html(doc, options.out_dir));
  if (options.formats.count("csv")) {
    put("report.csv", render_csv(doc));
    put("cases.csv", render_cases_csv(store, doc));
  }
  if (options.formats.count("tex")) put("report.tex", render_tex(doc));
  put("provenance.json", doc.provenance.dump(2) + "\n");

  json summary = {{"files", files}, {"experiments", json::array()}};
  int figures = 0;
  for (const auto& e : doc.experiments) {
    json tables = json::array();
    for (const auto& tr : e.tables) {
      figures += static_cast<int>(tr.figures.size());
      json baseline = json::array();
      for (const auto& r : tr.table.rows)
        for (std::size_t c = 0; c < r.cells.size(); ++c)
          for (const auto& m : r.cells[c].metrics)
            if (tr.table.config.baseline == "untrained" && m.metric == "dsc" && m.summary.n)
              baseline.push_back({{"row", r.entry->key},
                                  {"column", tr.table.config.columns[c].key},
                                  {"trained", m.summary.mean},
                                  {"untrained", number_json(m.untrained)}});
      json t = {{"name", tr.table.config.name},
                {"rows", tr.table.rows.size()},
                {"columns", tr.table.config.columns.size()},
                {"tests", tr.table.tests},
                {"figures", tr.figures.size()},
                {"notes", tr.table.notes}};
      if (!baseline.empty()) t["baseline"] = baseline;
      if (tr.table.config.expect)
        t["expectation"] = {{"evaluated", tr.table.expectation.evaluated},
                            {"agrees", tr.table.expectation.agrees},
                            {"detail", tr.table.expectation.detail}};
      tables.push_back(t);
    }
    std::map<std::string, int> states;
    for (const auto& t : e.trials) states[to_string(t.state)]++;
    summary["experiments"].push_back(
        {{"name", e.name}, {"phantom", e.phantom}, {"tables", tables}, {"trials", states}});
  }
  summary["figures"] = figures;
  return summary;
}

}  // namespace orch
