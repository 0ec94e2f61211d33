#include "common/metrics/aggregate.h"

#include <cmath>
#include <cstdint>

namespace orch {

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++r.n;
    }
  if (r.n == 0) return r;
  r.mean = sum / static_cast<double>(r.n);
  double ss = 0;
  for (double v : values)
    if (std::isfinite(v)) ss += (v - r.mean) * (v - r.mean);
  r.std = r.n > 1 ? std::sqrt(ss / static_cast<double>(r.n - 1)) : 0.0;
  return r;
}

double mean_over_classes(const std::vector<double>& values) {
  double sum = 0;
  std::size_t n = 0;
  for (double v : values)
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  return n ? sum / static_cast<double>(n) : nan_value();
}

std::map<std::string, double> case_values(const std::vector<CaseClassCounts>& counts,
                                          const std::string& metric_name) {
  const MetricDef& m = metric(metric_name);
  std::map<std::string, std::vector<double>> per_case;
  for (const auto& c : counts)
    if (c.label >= 1) per_case[c.case_id].push_back(m.of(c));
  std::map<std::string, double> out;
  for (const auto& [id, values] : per_case) out[id] = mean_over_classes(values);
  return out;
}

nlohmann::json summarize_counts(const std::vector<CaseClassCounts>& counts) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& m : metric_registry()) {
    std::vector<double> means;
    std::int64_t infinite = 0;
    for (const auto& [id, v] : case_values(counts, m.name)) {
      means.push_back(v);
      infinite += std::isinf(v) ? 1 : 0;
    }
    const MeanStd s = mean_std(means);  // over finite case values
    out[m.name] = s.n ? nlohmann::json(s.mean) : nlohmann::json(nullptr);
    if (infinite) out[std::string(m.name) + "_inf_cases"] = infinite;
  }
  return out;
}

}  // namespace orch
