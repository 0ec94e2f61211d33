// The renderers of a report: one function per format over the same document (tables built by
// reports/table.h, figures drawn by reports/figures.h, the run's provenance). None of them reads
// the store; each escapes every text that came from the YAML for its own format.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/store/records.h"
#include "reports/table.h"

namespace orch {

struct Figure {
  std::string kind;   // curves | bars | distributions | overlay
  std::string title;  // caption
  std::string file;   // path relative to the report's folder (figures/...)
};

struct TableReport {
  Table table;
  std::vector<Figure> figures;
};

struct ExperimentReport {
  std::string name;
  nlohmann::json provenance;  // the latest run's (orchestrator/provenance.h); null if none
  bool phantom = false;       // some dataset of the run is a phantom
  std::vector<TableReport> tables;
  std::vector<TrialRecord> trials;  // the trials its tables show now
};

struct ReportDocument {
  std::vector<ExperimentReport> experiments;
  nlohmann::json provenance;  // provenance.json: {report: {...}, runs: {experiment: ...}}
};

// Escapes for each format, exposed for the tests.
std::string escape_html(const std::string& s);
std::string escape_markdown(const std::string& s);  // for table cells and headings
std::string escape_tex(const std::string& s);
std::string escape_csv(const std::string& s);  // quotes when needed (RFC 4180)

std::string render_markdown(const ReportDocument& doc);
// `dir`: the report's folder, whose figures/ files are inlined (SVG as markup, PNG as data URI).
std::string render_html(const ReportDocument& doc, const std::string& dir);
// report.csv: one row per (table, row, column, metric).
std::string render_csv(const ReportDocument& doc);
std::string render_tex(const ReportDocument& doc);

// The first line of the report.csv header, for readers and tests.
inline constexpr const char* kReportCsvHeader =
    "table,row,column,metric,n,mean,sd,median,ci_low,ci_high,published,delta,p_value,p_holm,"
    "reference";

}  // namespace orch
