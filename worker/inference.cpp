#include "worker/inference.h"

#include "worker/losses.h"
#include "worker/metrics.h"

namespace orch {

CasePrediction predict_case(SegmentationModelImpl& model, const PreparedCase& c, int batch) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<torch::Tensor> labels;
  double loss = 0;
  int chunks = 0;
  const int64_t slices = c.image.size(1);
  for (int64_t k = 0; k < slices; k += batch) {
    const int64_t end = std::min<int64_t>(k + batch, slices);
    // (C, Z, Y, X) -> a batch of Z slices (B, C, Y, X)
    const auto logits = model.forward(c.image.slice(1, k, end).permute({1, 0, 2, 3}).contiguous());
    loss += dice_ce_loss(logits, c.label.slice(0, k, end).to(torch::kLong)).item<double>();
    ++chunks;
    labels.push_back(logits.argmax(1).to(torch::kUInt8));
  }
  return {torch::cat(labels).contiguous(), chunks ? loss / chunks : 0.0};
}

namespace {

std::vector<ConfusionCounts> counts_of(const torch::Tensor& pred, const PreparedCase& c,
                                       int num_classes) {
  const auto ref = c.label.contiguous();
  return confusion_counts(pred.data_ptr<std::uint8_t>(), ref.data_ptr<std::uint8_t>(),
                          static_cast<std::size_t>(ref.numel()), num_classes);
}

}  // namespace

ValidationResult validate(SegmentationModelImpl& model, const std::vector<PreparedCase>& cases,
                          int num_classes, int batch) {
  std::vector<double> dscs;
  double loss = 0;
  for (const auto& c : cases) {
    const CasePrediction p = predict_case(model, c, batch);
    loss += p.loss;
    dscs.push_back(mean_foreground(counts_of(p.label, c, num_classes), &dice));
  }
  const MeanStd m = mean_std(dscs);
  return {cases.empty() ? 0.0 : loss / static_cast<double>(cases.size()), m.n ? m.mean : 0.0};
}

std::vector<CaseClassCounts> score_cases(SegmentationModelImpl& model,
                                         const std::vector<PreparedCase>& cases, int num_classes,
                                         int batch) {
  std::vector<CaseClassCounts> out;
  for (const auto& c : cases) {
    const auto counts = counts_of(predict_case(model, c, batch).label, c, num_classes);
    for (int k = 1; k < num_classes; ++k) out.push_back({c.id, k, counts[static_cast<size_t>(k)]});
  }
  return out;
}

}  // namespace orch
