// Aggregation of per-case, per-class metric values: over a case's classes, then over cases.
//
// Rules (docs/MODELS.md section 12):
// - A case's value is the mean over its classes' defined (non-NaN) values; +inf when any class is
//   +inf (a missed or hallucinated structure has no finite surface distance); NaN when none is
//   defined.
// - Over cases, means and standard deviations take the finite values only; infinite cases are
//   counted apart.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/metrics/metric.h"

namespace orch {

// Mean and sample standard deviation of the finite values; NaN mean when there are none.
struct MeanStd {
  double mean = nan_value();
  double std = nan_value();
  std::size_t n = 0;
};
MeanStd mean_std(const std::vector<double>& values);

// A case's value from its per-class values (the rule above).
double mean_over_classes(const std::vector<double>& values);

// Each case's value of `metric` (mean over the foreground classes present in `counts`; rows of
// class 0, the background, are left out), by case id.
std::map<std::string, double> case_values(const std::vector<CaseClassCounts>& counts,
                                          const std::string& metric);

// A trial's summary: for every metric, the mean over cases of the case values (null when no case
// is finite), plus "<metric>_inf_cases" when some case is +inf.
nlohmann::json summarize_counts(const std::vector<CaseClassCounts>& counts);

}  // namespace orch
