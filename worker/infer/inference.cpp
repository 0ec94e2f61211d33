#include "worker/infer/inference.h"

#include <filesystem>

#include "common/metrics/aggregate.h"
#include "datastore/formats/nifti.h"
#include "worker/infer/scoring.h"

namespace orch {

CasePrediction predict_case(SegmentationModelImpl& model, const PreparedCase& c,
                            const PredictOptions& options) {
  const torch::Tensor probs = predict_probabilities(model, c, options);
  const double loss =
      options.loss ? options.loss(probs, c.label) : probability_loss(probs, c.label);
  return {probs.argmax(0).to(torch::kUInt8).contiguous(), loss};
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
                          int num_classes, const PredictOptions& options) {
  std::vector<double> dscs, ious;
  double loss = 0;
  for (const auto& c : cases) {
    const CasePrediction p = predict_case(model, c, options);
    loss += p.loss;
    const auto counts = counts_of(p.label, c, num_classes);
    std::vector<CaseClassCounts> rows;  // foreground classes
    for (std::size_t k = 1; k < counts.size(); ++k)
      rows.push_back({c.id, static_cast<int>(k), counts[k]});
    dscs.push_back(rows.empty() ? nan_value() : case_values(rows, "dsc").at(c.id));
    ious.push_back(rows.empty() ? nan_value() : case_values(rows, "iou").at(c.id));
  }
  const MeanStd d = mean_std(dscs), j = mean_std(ious);
  return {cases.empty() ? 0.0 : loss / static_cast<double>(cases.size()), d.n ? d.mean : 0.0,
          j.n ? j.mean : 0.0};
}

void write_label_nifti(const std::string& path, const torch::Tensor& label,
                       const std::array<double, 3>& spacing, const Affine& affine) {
  const auto l = label.contiguous().to(torch::kFloat32);
  std::vector<float> data(l.data_ptr<float>(), l.data_ptr<float>() + l.numel());
  NiftiWriteOptions o;
  o.dtype = "uint8";
  o.description = "orch prediction";
  write_nifti(path, {label.size(2), label.size(1), label.size(0)}, data, spacing, affine, o);
}

std::vector<CaseClassCounts> score_cases(SegmentationModelImpl& model,
                                         const std::vector<PreparedCase>& cases, int num_classes,
                                         const PredictOptions& options,
                                         const std::string& predictions_dir) {
  if (!predictions_dir.empty()) std::filesystem::create_directories(predictions_dir);
  std::vector<CaseClassCounts> out;
  for (const auto& c : cases) {
    const CasePrediction p = predict_case(model, c, options);
    if (!predictions_dir.empty())
      write_label_nifti((std::filesystem::path(predictions_dir) / (c.id + ".nii.gz")).string(),
                        p.label, c.spacing, c.affine);
    const auto ref = c.label.contiguous();
    const auto scored =
        score_prediction(c.id, p.label.data_ptr<std::uint8_t>(), ref.data_ptr<std::uint8_t>(),
                         {ref.size(2), ref.size(1), ref.size(0)}, c.spacing, num_classes,
                         /*nsd_tolerance_mm=*/1.0, /*background=*/true);
    out.insert(out.end(), scored.begin(), scored.end());
  }
  return out;
}

}  // namespace orch
