#include "common/confusion.h"

#include <stdexcept>

namespace orch {

double metric_from_counts(const std::string& metric, const ConfusionCounts& c) {
  if (metric == "dsc") return dice(c);
  if (metric == "iou") return iou(c);
  if (metric == "precision") return precision(c);
  if (metric == "recall") return recall(c);
  throw std::invalid_argument("unknown metric '" + metric + "'");
}

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

}  // namespace orch
