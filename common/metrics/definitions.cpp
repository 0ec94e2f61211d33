// The metrics, one row each (docs/MODELS.md section 12 defines them and their empty-mask policy).
#include "common/metrics/metric.h"

#include "common/status.h"
#include "common/strings.h"

namespace orch {

const std::vector<MetricDef>& metric_registry() {
  static const std::vector<MetricDef> metrics = {
      {"dsc", "DSC", "", true, [](const CaseClassCounts& c) { return dice(c.counts); }},
      {"iou", "IoU", "", true, [](const CaseClassCounts& c) { return iou(c.counts); }},
      {"precision", "precision", "", true,
       [](const CaseClassCounts& c) { return precision(c.counts); }},
      {"recall", "recall", "", true, [](const CaseClassCounts& c) { return recall(c.counts); }},
      {"hd95", "HD95", "mm", false, [](const CaseClassCounts& c) { return c.hd95; }},
      {"assd", "ASSD", "mm", false, [](const CaseClassCounts& c) { return c.assd; }},
      {"nsd", "NSD", "", true, [](const CaseClassCounts& c) { return c.nsd; }},
      {"dsc_slice", "DSC (per slice)", "", true,
       [](const CaseClassCounts& c) { return c.dsc_slice; }},
      {"dsc_slice_nonempty", "DSC (non-empty slices)", "", true,
       [](const CaseClassCounts& c) { return c.dsc_slice_nonempty; }},
  };
  return metrics;
}

std::vector<std::string> metric_names() {
  std::vector<std::string> out;
  for (const auto& m : metric_registry()) out.push_back(m.name);
  return out;
}

const MetricDef* find_metric(const std::string& name) {
  for (const auto& m : metric_registry())
    if (name == m.name) return &m;
  return nullptr;
}

const MetricDef& metric(const std::string& name) {
  if (const MetricDef* m = find_metric(name)) return *m;
  throw Error("unknown metric '" + name + "' (" + join(metric_names()) + ")");
}

}  // namespace orch
