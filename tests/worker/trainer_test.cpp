// The epoch loop's data path: batches come from a background loader, so a failure there must
// surface in the training thread with its message (and so fail the trial), never hang.
#include "worker/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/registry.h"
#include "worker/transforms.h"

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

}  // namespace
}  // namespace orch
