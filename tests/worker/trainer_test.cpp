// The epoch loop's data path: batches come from a background loader, so a failure there must
// surface in the training thread with its message (and so fail the trial), never hang.
#include "worker/train/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/registry.h"
#include "worker/data/transforms.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

// A case whose every slice is constant, so znorm over a slice has std 0 and throws.
PreparedCase constant_case() {
  PreparedCase p;
  p.id = "flat";
  p.image = torch::full({1, 3, 16, 16}, 5.0f);
  p.label = torch::zeros({3, 16, 16}, torch::kUInt8);
  p.label[1][8][8] = 1;
  index_foreground(p, 2);
  return p;
}

TEST(RunEpochs, AnErrorInTheLoaderThreadSurfacesWithItsMessage) {
  torch::manual_seed(0);
  const std::vector<PreparedCase> cases = {constant_case()};
  BatchSamplingOptions sampling;
  sampling.form = InputForm::kSlice2d;
  const BatchSampler sampler(cases, sampling);
  SegmentationModel model = make_model("wide_unet", {{"width", 0.0625}}, {1, 2});
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  TrainingConfig config;
  config.batch = 2;
  config.epochs = 1;
  config.steps_per_epoch = 3;
  const fs::path dir =
      fs::temp_directory_path() / ("orch_trainer_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Pipeline augment({parse_transform("znorm")});
  const TrainLoop loop{*model,
                       optimizer,
                       sampler,
                       cases,
                       config,
                       2,
                       7,
                       (dir / "last.pt").string(),
                       (dir / "best.pt").string(),
                       &augment,
                       PredictOptions{}};
  TrainState state;
  int epochs_reported = 0;
  try {
    run_epochs(loop, state, [&](const EpochRecord&) { ++epochs_reported; });
    ADD_FAILURE() << "expected the loader's error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("standard deviation is 0"), std::string::npos) << e.what();
  }
  EXPECT_EQ(epochs_reported, 0);
  EXPECT_FALSE(fs::exists(dir / "last.pt"));  // nothing half-trained was checkpointed
  fs::remove_all(dir);
}

// A model whose one-channel side output is used by nothing but deep supervision: its weights can
// only move if the trainer adds the deep-supervision term to the loss.
class SideOutputModel : public SegmentationModelImpl {
 public:
  SideOutputModel() {
    main_ =
        register_module("main", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3).padding(1)));
    side_ = register_module("side", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 1, 1)));
  }
  torch::Tensor forward(torch::Tensor x) override {
    aux_ = {side_(torch::avg_pool2d(x, 2))};  // half resolution, as a decoder level's
    return main_(x);
  }
  InputForm input_form() const override { return InputForm::kSlice2d; }
  std::vector<torch::Tensor> deep_supervision_logits() const override { return aux_; }

 private:
  torch::nn::Conv2d main_{nullptr}, side_{nullptr};
  std::vector<torch::Tensor> aux_;
};

TEST(RunEpochs, DeepSupervisionLogitsAreTrainedAgainstTheForeground) {
  torch::manual_seed(1);
  PreparedCase c;
  c.id = "blob";
  c.image = torch::rand({1, 4, 16, 16});
  c.label = torch::zeros({4, 16, 16}, torch::kUInt8);
  c.label.slice(1, 4, 12).slice(2, 4, 12).fill_(1);
  c.image += c.label.to(torch::kFloat32).unsqueeze(0);
  index_foreground(c, 2);
  const std::vector<PreparedCase> cases = {c};
  BatchSamplingOptions sampling;
  const BatchSampler sampler(cases, sampling);
  auto model = std::make_shared<SideOutputModel>();
  const auto side_before = model->named_parameters()["side.weight"].clone();
  const auto main_before = model->named_parameters()["main.weight"].clone();
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  TrainingConfig config;
  config.batch = 2;
  config.epochs = 1;
  config.steps_per_epoch = 2;
  const fs::path dir =
      fs::temp_directory_path() / ("orch_trainer_ds_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const TrainLoop loop{*model,
                       optimizer,
                       sampler,
                       cases,
                       config,
                       2,
                       7,
                       (dir / "last.pt").string(),
                       (dir / "best.pt").string(),
                       nullptr,
                       PredictOptions{},
                       make_step_loss(config)};
  TrainState state;
  run_epochs(loop, state, [](const EpochRecord&) {});
  fs::remove_all(dir);
  EXPECT_FALSE(torch::equal(model->named_parameters()["main.weight"], main_before));
  EXPECT_FALSE(torch::equal(model->named_parameters()["side.weight"], side_before))
      << "the side output got no gradient: deep supervision is not in the loss";
}

}  // namespace
}  // namespace orch
