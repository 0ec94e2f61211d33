// The metric vocabulary: every metric orch can put in a table, an early-stopping rule or an eval
// summary, by name. A metric is a pure function of what the store keeps for one case and class
// (CaseClassCounts): the confusion counts, and the surface distances and per-slice Dice computed
// at scoring time.
//
// To add a metric computed from what CaseClassCounts holds: one row in
// common/metrics/definitions.cpp (name, label, unit, direction, function) and a test in
// tests/common/metrics_test.cpp (whose registry test lists the names). A metric that needs a new
// per-case quantity also adds a field here, its computation in worker/infer/scoring.cpp, its
// column in the RESULT rows (orchestrator/protocol/messages.cpp) and in the store
// (datastore/store/results_store.cpp).
#pragma once

#include <string>
#include <vector>

#include "common/metrics/confusion.h"

namespace orch {

// What the store keeps for one case and one foreground class.
struct CaseClassCounts {
  std::string case_id;
  int label = 1;  // class index
  ConfusionCounts counts;
  // Surface metrics (worker/infer/surface_metrics.h), mm: NaN when undefined or not computed,
  // +inf when exactly one of prediction and reference is empty. Stored as NULL / REAL Inf.
  double hd95 = nan_value();
  double assd = nan_value();
  double nsd = nan_value();  // surface Dice at the trial's tolerance
  // Per-slice Dice (worker/infer/scoring.h): the mean over the axial slices (k) of each slice's
  // 2TP / (2TP + FP + FN). dsc_slice scores an empty-empty slice 0 (the Spider author's rule);
  // dsc_slice_nonempty leaves such slices out (NaN when every slice is empty). NaN when not
  // computed (stores and messages from before these fields). Stored as NULL / REAL.
  double dsc_slice = nan_value();
  double dsc_slice_nonempty = nan_value();
};

struct MetricDef {
  const char* name;   // YAML and JSON key: "dsc"
  const char* label;  // table heading: "DSC"
  const char* unit;   // "" or "mm"
  bool higher_is_better;
  double (*of)(const CaseClassCounts&);  // NaN when undefined (the empty-mask policy)
};

// Every metric, in the order tables and summaries list them.
const std::vector<MetricDef>& metric_registry();
std::vector<std::string> metric_names();
// nullptr when no metric has that name.
const MetricDef* find_metric(const std::string& name);
// Throws orch::Error naming the metric and listing the known ones.
const MetricDef& metric(const std::string& name);

// One metric of one case and class. Throws orch::Error for an unknown metric.
inline double case_class_metric(const CaseClassCounts& c, const std::string& name) {
  return metric(name).of(c);
}

}  // namespace orch
