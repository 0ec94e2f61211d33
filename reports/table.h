// The table model of the reports: a TableConfig (common/config/config.h) filled from the results
// store. Every cell holds, for each metric it shows, the per-case values it summarises (keyed
// "seed/case", pooled over seeds), their statistics (reports/stats.h), the published value and
// the difference, and the paired test against the table's reference column. Renderers
// (reports/render.h) only format what this holds.
//
// Rules:
// - A case's value is the mean over its foreground classes (common/metrics/aggregate.h), or one
//   class's value on a class row, or the mean over the classes an Average row averages.
// - n counts the finite case values; infinite ones (a surface distance to an empty mask) are
//   counted apart and left out of the statistics.
// - The paired test of a cell is the two-sided Wilcoxon signed-rank test against the cell of the
//   reference column in the same row, over the cases both hold; Holm's correction runs over every
//   test of one table.
// - The bootstrap CI is seeded by the table, row, column and metric, so a report is reproducible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "datastore/store/results_store.h"
#include "reports/stats.h"

namespace orch {

struct MetricCell {
  std::string metric;
  // aggregate: pooled: one value per seed ("seed/pooled"), the metric of the counts summed over
  // the seed's cases; the statistics are then over seeds.
  std::map<std::string, double> cases;  // "seed/case" -> value (finite or +inf)
  stats::Summary summary;               // over the finite values
  stats::Interval ci;                   // 95% bootstrap percentile CI of the mean
  std::size_t seeds = 0;                // seeds with at least one finite value
  double seed_sd = stats::kNaN;         // sd of the per-seed means (NaN with fewer than 2 seeds)
  std::size_t infinite = 0;             // +inf case values
  std::optional<double> published;
  double delta = stats::kNaN;  // mean - published
  bool tested = false;         // a test against the reference column was attempted
  stats::TestResult test;
  double p_holm = stats::kNaN;
  bool best = false;  // the best value of its row or column (the table's `bold`)
  // `baseline: untrained`: the same statistic of the epochs-0 trials (NaN when none is done).
  double untrained = stats::kNaN;
};

struct TableCell {
  std::string dataset, model;
  std::vector<std::string> trials;  // done trials whose cases it shows
  int planned = 0;                  // trials planned for it (one per seed)
  std::vector<MetricCell> metrics;  // what it shows, in order
};

struct TableRow {
  const TableEntry* entry = nullptr;
  std::string label;
  std::string metric;  // the metric of a sub-row ("" when the cells name theirs)
  bool average = false;
  std::vector<TableCell> cells;      // one per column
  double improvement = stats::kNaN;  // the table's improvement column, first metric
};

// A paper's qualitative claim checked against the table (TableConfig::expect).
struct ExpectationCheck {
  bool evaluated = false;  // every key had a value
  bool agrees = false;     // every `above` key scored higher than every `below` key
  std::string detail;      // the lowest `above`, the highest `below`, and the ranking
};

struct Table {
  TableConfig config;
  std::vector<TableRow> rows;
  ExpectationCheck expectation;
  // Lines printed under the table: the untrained baseline, the claim check, the deviations.
  std::size_t reference = 0;  // column index of the paired tests
  std::size_t tests = 0;      // tests computed (Holm's m)
  std::vector<std::string> notes;
};

// Builds every row of `config` from the store's cells of `experiment`.
Table build_table(const ResultStore& store, const std::string& experiment,
                  const TableConfig& config);

// aggregate: pooled: the metric of the counts of the row's classes summed over `counts` (one
// trial's cases), averaged over those classes; NaN when none is selected. For one class this is
// 2 sum TP / (2 sum TP + sum FP + sum FN) for dsc (micro averaging).
double pooled_value(const std::vector<CaseClassCounts>& counts, const TableEntry& entry,
                    const std::string& metric);

// The case value of `metric` for each case of `counts` on a row selecting `entry` (its class, or
// the classes an Average row averages, or the foreground mean).
std::map<std::string, double> row_case_values(const std::vector<CaseClassCounts>& counts,
                                              const TableEntry& entry, const std::string& metric);

}  // namespace orch
