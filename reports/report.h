// Reports: each experiment's tables, regenerated from the results store alone, in four formats
// (report.md, report.html, report.csv with cases.csv, report.tex), with provenance.json and the
// figures under figures/. The table model is reports/table.h, the statistics reports/stats.h, the
// figures reports/figures.h and the renderers reports/render.h.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/store/results_store.h"
#include "reports/render.h"

namespace orch {

struct ReportOptions {
  std::string out_dir;                                           // where the files go
  std::set<std::string> formats = {"md", "html", "csv", "tex"};  // which to write
  bool figures = true;  // draw figures (needs gnuplot; without it the report says so)
};

// The formats `--format` accepts.
std::set<std::string> parse_formats(const std::string& list);  // throws orch::Error on unknown

// Every experiment of the store, its tables built and its figures drawn.
ReportDocument build_report(const ResultStore& store, const ReportOptions& options);

// Writes the chosen formats, cases.csv (with csv) and provenance.json, each atomically. Returns a
// summary: {files: [...], experiments: [{name, phantom, tables: [{name, rows, columns, tests}],
// trials: {state: n}}], figures: n, warnings: [...]}.
nlohmann::json write_reports(const ResultStore& store, const ReportOptions& options);

// cases.csv: one row per (trial, case, class, metric) of every trial the tables show.
std::string render_cases_csv(const ResultStore& store, const ReportDocument& doc);

}  // namespace orch
