// save_checkpoint / load_checkpoint: model, optimiser and loop state survive a round trip, and
// damaged files are reported by name.
#include "worker/train/checkpoint.h"

#include "common/fs.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/registry.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

// A small network with parameters and buffers (BN running statistics).
struct TinyNetImpl : torch::nn::Module {
  explicit TinyNetImpl(int64_t hidden = 4) {
    fc = register_module("fc", torch::nn::Linear(3, hidden));
    bn = register_module("bn", torch::nn::BatchNorm1d(hidden));
    out = register_module("out", torch::nn::Linear(hidden, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) { return out(torch::relu(bn(fc(x)))); }
  torch::nn::Linear fc{nullptr}, out{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
};
TORCH_MODULE(TinyNet);

torch::optim::Adam make_adam(TinyNet& net) {
  return torch::optim::Adam(net->parameters(), torch::optim::AdamOptions(1e-2));
}

void train_step(TinyNet& net, torch::optim::Optimizer& opt, const torch::Tensor& x) {
  net->train();
  opt.zero_grad();
  const auto loss = (net->forward(x) - 1.0).pow(2).mean();
  loss.backward();
  opt.step();
}

TrainState sample_state() {
  TrainState s;
  s.next_epoch = 7;
  s.best_metric = 0.8125;
  s.best_epoch = 4;
  s.bad_epochs = 2;
  s.finished = true;
  s.history.push_back({0, 0.93, 0.81, 0.4, 1e-3, 12.5});
  s.history.push_back({1, 0.7071067811865476, 0.6, 0.55, 5e-4, 11.0});
  return s;
}

void expect_same_tensors(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& p : ba) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("orch_checkpoint_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST_F(CheckpointTest, RoundTripRestoresParametersBuffersAndTrainState) {
  torch::manual_seed(1);
  TinyNet saved;
  auto opt = make_adam(saved);
  const auto x = torch::randn({8, 3});
  for (int i = 0; i < 3; ++i) train_step(saved, opt, x);
  const std::string path = (dir_ / "last.pt").string();
  save_checkpoint(path, *saved, opt, sample_state());

  torch::manual_seed(2);  // a different initialisation
  TinyNet loaded;
  auto loaded_opt = make_adam(loaded);
  TrainState state;
  load_checkpoint(path, *loaded, &loaded_opt, state);

  expect_same_tensors(*saved, *loaded);
  const TrainState want = sample_state();
  EXPECT_EQ(state.next_epoch, 7);
  EXPECT_EQ(state.best_metric, 0.8125);
  EXPECT_EQ(state.best_epoch, 4);
  EXPECT_EQ(state.bad_epochs, 2);
  EXPECT_TRUE(state.finished);
  ASSERT_EQ(state.history.size(), want.history.size());
  for (size_t e = 0; e < want.history.size(); ++e) {
    EXPECT_EQ(state.history[e].epoch, want.history[e].epoch);
    EXPECT_EQ(state.history[e].train_loss, want.history[e].train_loss);
    EXPECT_EQ(state.history[e].val_loss, want.history[e].val_loss);
    EXPECT_EQ(state.history[e].val_dsc, want.history[e].val_dsc);
    EXPECT_EQ(state.history[e].lr, want.history[e].lr);
    EXPECT_EQ(state.history[e].seconds, want.history[e].seconds);
  }
}

TEST_F(CheckpointTest, RestoredOptimizerTakesTheSameNextStep) {
  torch::manual_seed(3);
  TinyNet saved;
  auto opt = make_adam(saved);
  const auto x = torch::randn({6, 3});
  for (int i = 0; i < 4; ++i) train_step(saved, opt, x);
  const std::string path = (dir_ / "last.pt").string();
  save_checkpoint(path, *saved, opt, TrainState{});

  torch::manual_seed(4);
  TinyNet loaded;
  auto loaded_opt = make_adam(loaded);
  TrainState state;
  load_checkpoint(path, *loaded, &loaded_opt, state);

  // Control: the same weights with a fresh Adam (no moments, step 0) step differently.
  TinyNet fresh;
  TrainState ignored;
  load_checkpoint(path, *fresh, nullptr, ignored);
  auto fresh_opt = make_adam(fresh);

  const auto x2 = torch::randn({6, 3});
  train_step(saved, opt, x2);
  train_step(loaded, loaded_opt, x2);
  train_step(fresh, fresh_opt, x2);
  expect_same_tensors(*saved, *loaded);
  EXPECT_FALSE(torch::equal(saved->fc->weight, fresh->fc->weight));
}

TEST_F(CheckpointTest, DefaultStateKeepsMinusInfinityAsBestMetric) {
  torch::manual_seed(5);
  TinyNet net;
  auto opt = make_adam(net);
  const std::string path = (dir_ / "fresh.pt").string();
  save_checkpoint(path, *net, opt, TrainState{});
  TrainState state = sample_state();
  load_checkpoint(path, *net, &opt, state);
  EXPECT_EQ(state.next_epoch, 0);
  EXPECT_TRUE(std::isinf(state.best_metric) && state.best_metric < 0) << state.best_metric;
  EXPECT_EQ(state.best_epoch, -1);
  EXPECT_EQ(state.bad_epochs, 0);
  EXPECT_FALSE(state.finished);
  EXPECT_TRUE(state.history.empty());
}

TEST_F(CheckpointTest, OverwritingLeavesNoTemporaryFiles) {
  torch::manual_seed(6);
  TinyNet net;
  auto opt = make_adam(net);
  const auto x = torch::randn({4, 3});
  for (int epoch = 0; epoch < 3; ++epoch) {
    train_step(net, opt, x);
    TrainState s;
    s.next_epoch = epoch + 1;
    save_checkpoint((dir_ / "last.pt").string(), *net, opt, s);
    if (epoch == 1) save_checkpoint((dir_ / "best.pt").string(), *net, opt, s);
  }
  EXPECT_EQ(entries(), (std::vector<std::string>{"best.pt", "last.pt"}));
  TrainState s;
  load_checkpoint((dir_ / "last.pt").string(), *net, &opt, s);
  EXPECT_EQ(s.next_epoch, 3);
  load_checkpoint((dir_ / "best.pt").string(), *net, &opt, s);
  EXPECT_EQ(s.next_epoch, 2);
}

TEST_F(CheckpointTest, SaveCreatesMissingParentFolders) {
  torch::manual_seed(7);
  TinyNet net;
  auto opt = make_adam(net);
  const fs::path path = dir_ / "trial" / "checkpoints" / "last.pt";
  save_checkpoint(path.string(), *net, opt, TrainState{});
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(entries(), (std::vector<std::string>{"trial"}));
}

void expect_load_error_naming(const std::string& path) {
  torch::manual_seed(8);
  TinyNet net;
  auto opt = make_adam(net);
  TrainState s;
  try {
    load_checkpoint(path, *net, &opt, s);
    ADD_FAILURE() << "expected orch::Error for " << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, TruncatedFileRaisesAnErrorNamingThePath) {
  torch::manual_seed(9);
  TinyNet net;
  auto opt = make_adam(net);
  train_step(net, opt, torch::randn({4, 3}));
  const fs::path path = dir_ / "last.pt";
  save_checkpoint(path.string(), *net, opt, sample_state());
  const auto size = fs::file_size(path);
  ASSERT_GT(size, 100u);
  fs::resize_file(path, size / 2);
  expect_load_error_naming(path.string());
}

TEST_F(CheckpointTest, GarbageAndMissingFilesRaiseErrorsNamingThePath) {
  const fs::path garbage = dir_ / "garbage.pt";
  std::ofstream(garbage) << "this is not a checkpoint\n";
  expect_load_error_naming(garbage.string());
  expect_load_error_naming((dir_ / "missing.pt").string());
}

TEST_F(CheckpointTest, CheckpointOfAnotherArchitectureIsRejected) {
  torch::manual_seed(10);
  TinyNet small(4);
  auto opt = make_adam(small);
  const fs::path path = dir_ / "last.pt";
  save_checkpoint(path.string(), *small, opt, TrainState{});
  TinyNet wide(6);
  auto wide_opt = make_adam(wide);
  TrainState s;
  try {
    load_checkpoint(path.string(), *wide, &wide_opt, s);
    ADD_FAILURE() << "a 4-unit checkpoint loaded into a 6-unit model";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not match"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace orch

namespace orch {
namespace {

// A run killed after writing `last` (epoch 4, a new best) but before writing `best` resumes with
// a `best` of epoch 2: the repair copies `last`, which holds epoch 4's weights, over it.
TEST_F(CheckpointTest, RepairRestoresBestFromLastAfterACrashBetweenTheTwoWrites) {
  TinyNet net;
  auto adam = make_adam(net);
  TrainState older;
  older.next_epoch = 3;
  older.best_epoch = 2;
  save_checkpoint((dir_ / "best.pt").string(), *net, adam, older);
  TrainState state;
  state.next_epoch = 5;
  state.best_epoch = 4;
  save_checkpoint((dir_ / "last.pt").string(), *net, adam, state);

  repair_best_checkpoint((dir_ / "last.pt").string(), (dir_ / "best.pt").string(), state);
  EXPECT_EQ(read_checkpoint_state((dir_ / "best.pt").string()).best_epoch, 4);
  EXPECT_EQ(read_file(dir_ / "best.pt"), read_file(dir_ / "last.pt"));
  EXPECT_EQ(entries(), (std::vector<std::string>{"best.pt", "last.pt"}));
}

TEST_F(CheckpointTest, RepairLeavesAConsistentBestAlone) {
  TinyNet net;
  auto adam = make_adam(net);
  TrainState state;
  state.next_epoch = 6;
  state.best_epoch = 4;
  save_checkpoint((dir_ / "best.pt").string(), *net, adam, state);
  train_step(net, adam, torch::ones({2, 3}));
  save_checkpoint((dir_ / "last.pt").string(), *net, adam, state);
  const std::string before = read_file(dir_ / "best.pt");
  repair_best_checkpoint((dir_ / "last.pt").string(), (dir_ / "best.pt").string(), state);
  EXPECT_EQ(read_file(dir_ / "best.pt"), before);
}

TEST_F(CheckpointTest, RepairRefusesABestThatLastCannotRestore) {
  TinyNet net;
  auto adam = make_adam(net);
  TrainState state;
  state.next_epoch = 6;
  state.best_epoch = 3;  // not the last trained epoch: last.pt does not hold its weights
  save_checkpoint((dir_ / "last.pt").string(), *net, adam, state);
  EXPECT_THROW(
      repair_best_checkpoint((dir_ / "last.pt").string(), (dir_ / "best.pt").string(), state),
      Error);
}

// --- load_matching_weights (init_from) --------------------------------------------------------

// Every parameter and buffer of `m` by its dotted name.
std::map<std::string, torch::Tensor> all_tensors(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value();
  return out;
}

// The same, as copies (what the tensors held at this moment).
std::map<std::string, torch::Tensor> snapshot(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : all_tensors(m)) out[name] = t.detach().clone();
  return out;
}

// Gives every tensor of `m` new values, so that a copied tensor cannot equal the target's own
// initialisation by chance (fresh BatchNorm statistics are zeros and ones in both models).
void scramble(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : all_tensors(m)) {
    if (t.is_floating_point())
      t.copy_(torch::randn_like(t));
    else
      t.fill_(7);  // num_batches_tracked
  }
}

SegmentationModel attention_unet(const nlohmann::json& options) {
  return make_model("attention_unet2d", options, ModelShape{1, 2});
}

// Saves `source` (scrambled) as a checkpoint, loads it into `target`, and checks each tensor of
// `target` against the rule: copied when the source has its name with its shape, else unchanged.
// Returns {matching, other} counts.
std::pair<int, int> check_transfer(const std::string& path, torch::nn::Module& source,
                                   torch::nn::Module& target) {
  scramble(source);
  torch::optim::SGD sgd(source.parameters(), torch::optim::SGDOptions(0.1));
  save_checkpoint(path, source, sgd, TrainState{});
  const auto from = snapshot(source);
  const auto before = snapshot(target);
  int matching = 0, other = 0, differed = 0;
  for (const auto& [name, t] : before) {
    const auto it = from.find(name);
    if (it != from.end() && it->second.sizes() == t.sizes()) {
      ++matching;
      if (!torch::equal(it->second, t)) ++differed;
    } else {
      ++other;
    }
  }
  const InitReport r = load_matching_weights(path, target);
  EXPECT_EQ(r.copied, matching);
  EXPECT_EQ(static_cast<int>(r.kept.size()), other);
  EXPECT_GT(differed, 0) << "no copied tensor would have changed: the test could not fail";
  for (const auto& [name, now] : all_tensors(target)) {
    const auto it = from.find(name);
    if (it != from.end() && it->second.sizes() == now.sizes()) {
      EXPECT_TRUE(torch::equal(now, it->second)) << name << " was not copied";
    } else {
      EXPECT_TRUE(torch::equal(now, before.at(name))) << name << " changed without a match";
      EXPECT_NE(std::find(r.kept.begin(), r.kept.end(), name), r.kept.end())
          << name << " is not reported as kept";
    }
  }
  return {matching, other};
}

TEST_F(CheckpointTest, InitialWeightsCopyEveryTensorOfTheSameNameAndShapeAndKeepTheRest) {
  torch::manual_seed(11);
  // The plain U-Net of RB-CBAM's first stage, and the full model that starts from it.
  auto source = attention_unet({{"attention", "none"}, {"aspp", false}, {"width", 0.25}});
  auto target = attention_unet({{"attention", "rb_cbam"}, {"aspp", true}, {"width", 0.25}});
  const auto [matching, other] = check_transfer((dir_ / "stage.pt").string(), *source, *target);
  EXPECT_GT(matching, 0);  // the encoder and decoder
  EXPECT_GT(other, 0);     // ASPP and attention modules the plain U-Net does not have
}

TEST_F(CheckpointTest, InitialWeightsOfAnotherWidthKeepEveryTensorOfAnotherShape) {
  torch::manual_seed(12);
  auto source = attention_unet({{"attention", "none"}, {"aspp", false}, {"width", 0.25}});
  auto target = attention_unet({{"attention", "none"}, {"aspp", false}, {"width", 0.5}});
  // Same names, other filter counts: only tensors whose shapes agree anyway (the BatchNorm step
  // counters, the output convolution's bias of one value per class) are copied.
  const auto [matching, other] = check_transfer((dir_ / "narrow.pt").string(), *source, *target);
  EXPECT_GT(other, matching);
}

// config.h, ModelConfig::init_from: "a checkpoint file (a .pt that orch or torch.jit wrote)". A
// module archive as torch.jit.save and LibTorch's torch::save write it holds the parameters at
// its root, with no "model" record around them; every tensor of the same model matches.
TEST_F(CheckpointTest, InitialWeightsFromAModuleArchiveWithoutOrchsWrapper) {
  torch::manual_seed(14);
  auto source = attention_unet({{"attention", "none"}, {"aspp", false}, {"width", 0.25}});
  auto target = attention_unet({{"attention", "none"}, {"aspp", false}, {"width", 0.25}});
  scramble(*source);
  const std::string path = (dir_ / "module.pt").string();
  torch::serialize::OutputArchive archive;
  source->save(archive);
  archive.save_to(path);
  const auto from = snapshot(*source);
  InitReport r;
  try {
    r = load_matching_weights(path, *target);
  } catch (const Error& e) {
    FAIL() << e.what();
  }
  EXPECT_EQ(r.copied, static_cast<int>(from.size()));
  for (const auto& [name, now] : all_tensors(*target))
    EXPECT_TRUE(torch::equal(now, from.at(name))) << name;
}

// A module that shares no name with attention_unet2d.
struct AlienImpl : torch::nn::Module {
  AlienImpl() {
    register_parameter("alien_weight", torch::randn({3}));
    zzz = register_module("zzz", torch::nn::Linear(2, 2));
  }
  torch::nn::Linear zzz{nullptr};
};
TORCH_MODULE(Alien);

TEST_F(CheckpointTest, InitialWeightsSharingNoTensorOrUnreadableAreAnErrorNamingTheFile) {
  torch::manual_seed(13);
  auto target = attention_unet({{"attention", "none"}, {"aspp", false}, {"width", 0.25}});
  const auto before = snapshot(*target);
  Alien alien;
  torch::optim::SGD sgd(alien->parameters(), torch::optim::SGDOptions(0.1));
  const std::string path = (dir_ / "alien.pt").string();
  save_checkpoint(path, *alien, sgd, TrainState{});
  try {
    load_matching_weights(path, *target);
    ADD_FAILURE() << "expected orch::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("share no tensor"), std::string::npos) << msg;
  }
  for (const auto& [name, now] : all_tensors(*target))
    EXPECT_TRUE(torch::equal(now, before.at(name))) << name;

  const std::string junk = (dir_ / "junk.pt").string();
  std::ofstream(junk) << "not a checkpoint";
  try {
    load_matching_weights(junk, *target);
    ADD_FAILURE() << "expected orch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read initial weights from '" + junk + "'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace orch
