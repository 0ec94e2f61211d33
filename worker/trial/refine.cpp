#include "worker/trial/refine.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/formats/nifti.h"
#include "models/registry.h"
#include "worker/infer/inference.h"
#include "worker/train/checkpoint.h"
#include "worker/trial/trial_runner.h"

namespace orch {

namespace fs = std::filesystem;

namespace {

// One source's label map per case, in the order of `cases`: read from the collection folder
// when there, else predicted with the source's best weights and written there.
std::vector<torch::Tensor> collect(const TrialSpec& source, const torch::Device& device,
                                   const std::vector<const PreparedCase*>& cases) {
  const fs::path dir = fs::path(trial_dir(source)) / "collected";
  const fs::path best = fs::path(trial_dir(source)) / "best.pt";
  fs::create_directories(dir);
  const FileLock lock(dir / ".lock", /*wait=*/true);
  SegmentationModel model;
  std::vector<torch::Tensor> out;
  int predicted = 0;
  for (const PreparedCase* c : cases) {
    const fs::path file = dir / (c->id + ".nii.gz");
    // The source's own test scoring already wrote its test cases' label maps (the same
    // predict_case output): read those rather than predict them again.
    const fs::path scored = fs::path(trial_dir(source)) / "predictions" / (c->id + ".nii.gz");
    const auto& l = c->label;
    if (!fs::exists(file) && fs::exists(scored)) {  // copied, so collected/ has every case
      const fs::path tmp = dir / (".tmp_" + c->id + ".nii.gz");
      fs::copy_file(scored, tmp, fs::copy_options::overwrite_existing);
      fs::rename(tmp, file);
    }
    if (fs::exists(file)) {
      const auto v = read_nifti_label(file.string(), {l.size(2), l.size(1), l.size(0)});
      out.push_back(
          torch::from_blob(const_cast<std::uint8_t*>(v.data()), l.sizes(), torch::kUInt8).clone());
      continue;
    }
    if (!model) {
      if (!fs::exists(best))
        throw Error("source trial " + source.id + " (" + source.model.name + ", seed " +
                    std::to_string(source.seed) + ") has no best checkpoint at " + best.string());
      model = make_model(source.model.kind, source.model.options,
                         {c->image.size(0), source.dataset.num_classes});
      model->to(device);
      TrainState state;
      load_checkpoint(best.string(), *model, nullptr, state);
    }
    const CasePrediction p = predict_case(*model, *c, predict_options(source));
    write_label_nifti(file.string(), p.label, c->spacing, c->affine);
    out.push_back(p.label);
    ++predicted;
  }
  spdlog::info("trial {}: {} prediction(s) collected in {} ({} read back)", source.id, cases.size(),
               dir.string(), cases.size() - static_cast<size_t>(predicted));
  return out;
}

// The truth of `truth` with `predicted` as its one-channel image.
PreparedCase refinement_case(const PreparedCase& truth, const torch::Tensor& predicted,
                             const std::string& id, int num_classes) {
  PreparedCase c;
  c.id = id;
  c.group = truth.group;
  c.image = predicted.to(torch::kFloat32).unsqueeze(0).contiguous();
  c.label = truth.label;
  c.spacing = truth.spacing;
  c.affine = truth.affine;
  index_foreground(c, num_classes);
  return c;
}

}  // namespace

RefinementData refinement_data(const TrialSpec& spec, const torch::Device& device,
                               const std::vector<PreparedCase>& train,
                               const std::vector<PreparedCase>& val,
                               const std::vector<PreparedCase>& test) {
  if (spec.sources.empty()) throw Error("trial " + spec.id + " has no source trials to refine");
  std::vector<const PreparedCase*> all;
  for (const auto* part : {&train, &val, &test})
    for (const auto& c : *part) all.push_back(&c);
  const int k = spec.dataset.num_classes;
  RefinementData out;
  for (size_t s = 0; s < spec.sources.size(); ++s) {
    const std::vector<torch::Tensor> labels = collect(spec.sources[s], device, all);
    size_t i = 0;
    for (const auto& c : train)
      out.train.push_back(refinement_case(c, labels[i++], c.id + "@" + std::to_string(s), k));
    if (s > 0) continue;
    for (const auto& c : val) out.val.push_back(refinement_case(c, labels[i++], c.id, k));
    for (const auto& c : test) out.test.push_back(refinement_case(c, labels[i++], c.id, k));
  }
  return out;
}

}  // namespace orch
