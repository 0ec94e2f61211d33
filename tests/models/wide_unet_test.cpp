// wide_unet (docs/MODELS.md section 1), its blocks, and the model registry.
#include "models/wide_unet.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "common/status.h"
#include "models/blocks/conv.h"
#include "models/registry.h"

namespace orch {
namespace {

using nlohmann::json;

WideUnetOptions narrow(double width, int64_t in_channels = 1, int64_t num_classes = 2) {
  WideUnetOptions o;
  o.width = width;
  o.in_channels = in_channels;
  o.num_classes = num_classes;
  return o;
}

std::map<std::string, torch::Tensor> params_by_name(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  return out;
}

// ---- shapes -------------------------------------------------------------------------------

TEST(WideUnet, OddInputSizeGivesLogitsOfTheSameSize) {
  torch::manual_seed(1);
  WideUnetImpl model(narrow(0.25));
  // 37x45 pools (ceil mode) to 19x23, 10x12, 5x6, 3x3.
  const auto y = model.forward(torch::randn({1, 1, 37, 45}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, 37, 45}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(WideUnet, MultiChannelBatchGivesOneLogitPerClass) {
  torch::manual_seed(2);
  WideUnetImpl model(narrow(0.25, /*in_channels=*/3, /*num_classes=*/4));
  const auto y = model.forward(torch::randn({2, 3, 16, 16}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 4, 16, 16}));
}

TEST(WideUnet, NonSquarePrimeSizesInEvalMode) {
  torch::manual_seed(3);
  WideUnetImpl model(narrow(0.125));
  model.eval();
  torch::NoGradGuard no_grad;
  for (const auto& hw :
       std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 3}, {17, 5}, {9, 31}}) {
    const auto y = model.forward(torch::randn({1, 1, hw.first, hw.second}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, hw.first, hw.second}))
        << hw.first << "x" << hw.second;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
}

TEST(WideUnet, ReportsSliceInput) {
  WideUnetImpl model(narrow(0.125));
  EXPECT_EQ(model.input_form(), InputForm::kSlice2d);
}

// ---- parameter count ----------------------------------------------------------------------

// Parameters (not buffers) of the building blocks.
int64_t conv3x3(int64_t in, int64_t out) { return 9 * in * out + out; }  // weights + bias
int64_t bn(int64_t c) { return 2 * c; }  // gamma + beta; running stats are buffers
int64_t conv_relu_bn(int64_t in, int64_t out) { return conv3x3(in, out) + bn(out); }
int64_t two_conv(int64_t in, int64_t out) { return conv_relu_bn(in, out) + conv_relu_bn(out, out); }
int64_t deconv2x2(int64_t in, int64_t out) { return 4 * in * out + out; }

TEST(WideUnet, FullWidthParameterCountMatchesTheArchitecture) {
  WideUnetImpl model(WideUnetOptions{});  // filters 64,128,196,256,512, top 32, 1 in, 2 classes
  int64_t total = 0;
  for (const auto& p : model.parameters()) total += p.numel();
  const int64_t expected =
      // encoder: two convs per level
      two_conv(1, 64)           // 768 + 37056 = 37824
      + two_conv(64, 128)       // 74112 + 147840 = 221952
      + two_conv(128, 196)      // 226380 + 346332 = 572712
      + two_conv(196, 256)      // 452352 + 590592 = 1042944
      + conv_relu_bn(256, 512)  // bottleneck: a single conv, 1181184
      // decoder: deconv to the skip's filters, concat [skip, up] (2f channels), two convs
      + deconv2x2(512, 256) + two_conv(512, 256)  // 524544 + 1771008
      + deconv2x2(256, 196) + two_conv(392, 196)  // 200900 + 1038408
      + deconv2x2(196, 128) + two_conv(256, 128)  // 100480 + 443136
      + deconv2x2(128, 64) + two_conv(128, 64)    // 32832 + 110976
      + conv_relu_bn(64, 32)                      // top conv, 18528
      + conv3x3(32, 2);                           // logits, 578
  EXPECT_EQ(expected, 7298006);                   // the sum above, done by hand
  EXPECT_EQ(total, expected);
  // BN running statistics are buffers: 18 BN layers, mean + var + num_batches_tracked each.
  int64_t bn_layers = 0;
  for (const auto& m : model.modules(/*include_self=*/false))
    if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) ++bn_layers;
  EXPECT_EQ(bn_layers, 18);
  EXPECT_EQ(model.buffers().size(), 18u * 3);
}

// ---- width ----------------------------------------------------------------------------------

TEST(WideUnet, WidthScalesEveryFilterCountWithRounding) {
  WideUnetImpl model(narrow(0.25, 1, 3));
  auto p = params_by_name(model);
  // round(64/4) = 16, round(128/4) = 32, round(196/4) = 49, round(256/4) = 64, 512/4 = 128,
  // top round(32/4) = 8.
  EXPECT_EQ(p.at("down0.first.conv.weight").sizes(), (std::vector<int64_t>{16, 1, 3, 3}));
  EXPECT_EQ(p.at("down1.first.conv.weight").sizes(), (std::vector<int64_t>{32, 16, 3, 3}));
  EXPECT_EQ(p.at("down2.second.conv.weight").sizes(), (std::vector<int64_t>{49, 49, 3, 3}));
  EXPECT_EQ(p.at("down3.first.conv.weight").sizes(), (std::vector<int64_t>{64, 49, 3, 3}));
  EXPECT_EQ(p.at("bottleneck.conv.weight").sizes(), (std::vector<int64_t>{128, 64, 3, 3}));
  // ConvTranspose2d weights are (in, out, 2, 2).
  EXPECT_EQ(p.at("up3.deconv.weight").sizes(), (std::vector<int64_t>{128, 64, 2, 2}));
  EXPECT_EQ(p.at("up_conv2.first.conv.weight").sizes(), (std::vector<int64_t>{49, 98, 3, 3}));
  EXPECT_EQ(p.at("top.conv.weight").sizes(), (std::vector<int64_t>{8, 16, 3, 3}));
  EXPECT_EQ(p.at("logits.weight").sizes(), (std::vector<int64_t>{3, 8, 3, 3}));
}

TEST(WideUnet, TinyWidthKeepsAtLeastOneFilter) {
  WideUnetImpl model(narrow(0.001));
  auto p = params_by_name(model);
  EXPECT_EQ(p.at("down0.first.conv.weight").size(0), 1);
  EXPECT_EQ(p.at("bottleneck.conv.weight").size(0), 1);  // round(0.512) = 1
  EXPECT_EQ(p.at("top.conv.weight").size(0), 1);
  const auto y = model.forward(torch::randn({2, 1, 8, 8}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 2, 8, 8}));
}

TEST(WideUnet, RejectsFewerThanTwoClasses) {
  EXPECT_THROW(std::make_shared<WideUnetImpl>(narrow(0.25, 1, 1)), Error);
  EXPECT_THROW(std::make_shared<WideUnetImpl>(narrow(0.25, 0, 2)), Error);
}

// ---- gradients ------------------------------------------------------------------------------

TEST(WideUnet, EveryParameterReceivesANonZeroGradient) {
  torch::manual_seed(11);
  WideUnetImpl model(narrow(0.25));
  model.train();
  const auto x = torch::randn({2, 1, 23, 20});
  const auto target = torch::randint(0, 2, {2, 23, 20}, torch::kInt64);
  const auto loss = torch::nn::functional::cross_entropy(model.forward(x), target);
  loss.backward();
  int64_t checked = 0;
  for (const auto& p : model.named_parameters()) {
    const auto& g = p.value().grad();
    ASSERT_TRUE(g.defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << p.key();
    EXPECT_GT(g.abs().sum().item<double>(), 0.0) << p.key();
    ++checked;
  }
  // 18 conv+BN layers (4 each), 4 deconvs (2 each), logits (2).
  EXPECT_EQ(checked, 18 * 4 + 4 * 2 + 2);
}

// ---- batch norm -----------------------------------------------------------------------------

TEST(WideUnet, BatchNormUsesKerasEpsilonAndMomentum) {
  WideUnetImpl model(narrow(0.125));
  int64_t seen = 0;
  for (const auto& m : model.modules(false))
    if (auto* b = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) {
      EXPECT_DOUBLE_EQ(b->options.eps(), 1e-3);
      ASSERT_TRUE(b->options.momentum().has_value());
      EXPECT_DOUBLE_EQ(*b->options.momentum(), 0.01);  // Keras momentum 0.99
      ++seen;
    }
  EXPECT_EQ(seen, 18);
}

TEST(WideUnet, BnMomentumOptionOverridesOnlyTheMomentum) {
  WideUnetOptions o = WideUnetOptions::from_json(json{{"bn_momentum", 0.1}, {"width", 0.125}});
  WideUnetImpl model(o);
  int64_t seen = 0;
  for (const auto& m : model.modules(false))
    if (auto* b = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) {
      EXPECT_DOUBLE_EQ(b->options.eps(), 1e-3);
      EXPECT_DOUBLE_EQ(*b->options.momentum(), 0.1);
      ++seen;
    }
  EXPECT_EQ(seen, 18);
}

TEST(ConvReluBn, RunningMeanMovesByTheMomentumTowardsTheBatchMeanAfterReLU) {
  torch::manual_seed(5);
  ConvReluBn block(2, 3, BnOptions{});
  block->train();
  const auto x = torch::randn({4, 2, 6, 7});
  (void)block->forward(x);
  // Conv -> ReLU -> BN: BN sees relu(conv(x)); running_mean = 0.99 * 0 + 0.01 * batch mean.
  torch::NoGradGuard no_grad;
  const auto batch_mean = torch::relu(block->conv->forward(x)).mean({0, 2, 3});
  EXPECT_TRUE(torch::allclose(block->bn->running_mean, 0.01 * batch_mean, 1e-5, 1e-7));
}

// ---- initialisation -------------------------------------------------------------------------

TEST(HeNormal, ConvWeightsHaveStdSqrtTwoOverFanInAndAreTruncatedAtTwoSigma) {
  torch::manual_seed(42);
  auto w = torch::empty({256, 128, 3, 3});  // Conv2d (out, in, kh, kw): fan_in = 128 * 9
  he_normal_(w);
  const double target = std::sqrt(2.0 / (128 * 9));
  EXPECT_NEAR(w.std().item<double>(), target, 0.01 * target);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.01 * target);
  // The untruncated std is target / 0.87962566 (the std of a unit normal cut at +-2).
  EXPECT_LE(w.abs().max().item<double>(), 2 * target / 0.87962566103423978 + 1e-6);
  // A truncated normal still reaches close to its bound.
  EXPECT_GT(w.abs().max().item<double>(), 1.9 * target / 0.87962566103423978);
}

TEST(HeNormal, TransposedConvFanInUsesItsOutputFiltersAsKerasDoes) {
  // Keras Conv2DTranspose kernel (kh, kw, filters, in): fan_in = kh * kw * filters. LibTorch's
  // ConvTranspose2d weight is (in, out, kh, kw), so fan_in = 2 * 2 * 256 here, not 2 * 2 * 64.
  torch::manual_seed(43);
  auto w = torch::empty({64, 256, 2, 2});
  he_normal_(w);
  const double target = std::sqrt(2.0 / (256 * 4));
  EXPECT_NEAR(w.std().item<double>(), target, 0.015 * target);
  EXPECT_LE(w.abs().max().item<double>(), 2 * target / 0.87962566103423978 + 1e-6);
}

TEST(HeNormal, ModelBiasesStartAtZero) {
  WideUnetImpl model(narrow(0.125));
  for (const auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0 &&
        name.find(".bn.") == std::string::npos) {
      EXPECT_EQ(p.value().abs().max().item<float>(), 0.0f) << name;
    }
  }
}

// ---- options and registry -------------------------------------------------------------------

TEST(WideUnetOptions, ReadsEveryOption) {
  const auto o = WideUnetOptions::from_json(json{
      {"filters", {8, 16, 24, 32, 40}}, {"width", 0.5}, {"top_filters", 12}, {"bn_momentum", 0.2}});
  EXPECT_EQ(o.filters, (std::vector<int64_t>{8, 16, 24, 32, 40}));
  EXPECT_DOUBLE_EQ(o.width, 0.5);
  EXPECT_EQ(o.top_filters, 12);
  EXPECT_DOUBLE_EQ(o.bn.momentum, 0.2);
  EXPECT_DOUBLE_EQ(o.bn.eps, 1e-3);
}

TEST(ModelRegistry, ListsWideUnetAmongSortedKinds) {
  const auto kinds = model_kinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "wide_unet"), kinds.end());
  EXPECT_TRUE(std::is_sorted(kinds.begin(), kinds.end()));
}

TEST(ModelRegistry, UnknownKindThrowsListingTheKnownKinds) {
  try {
    make_model("spider_net_9000", json::object(), ModelShape{});
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("spider_net_9000"), std::string::npos) << msg;
    EXPECT_NE(msg.find("wide_unet"), std::string::npos) << msg;
  }
  EXPECT_THROW(check_model_options("spider_net_9000", json::object()), Error);
}

TEST(ModelRegistry, CheckOptionsNamesTheOffendingKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"depth", 4}}, "depth"},
      {json{{"width", 0}}, "width"},
      {json{{"width", -0.5}}, "width"},
      {json{{"width", 5}}, "width"},
      {json{{"width", "wide"}}, "width"},
      {json{{"filters", {64, 128, 256}}}, "filters"},
      {json{{"filters", {64, 128, 196, 256, 0}}}, "filters"},
      {json{{"filters", {64, 128, 196.5, 256, 512}}}, "filters"},
      {json{{"filters", 64}}, "filters"},
      {json{{"top_filters", 0}}, "top_filters"},
      {json{{"top_filters", 2.5}}, "top_filters"},
      {json{{"bn_momentum", 0}}, "bn_momentum"},
      {json{{"bn_momentum", 1.5}}, "bn_momentum"},
      {json{{"width", 0.5}, {"colour", "red"}}, "colour"},
  };
  for (const auto& [options, key] : bad) {
    const Status st = check_model_options("wide_unet", options);
    EXPECT_EQ(st.key(), key) << options.dump();
    EXPECT_FALSE(st.message().empty()) << options.dump();
  }
}

TEST(ModelRegistry, CheckOptionsAcceptsValidOptions) {
  EXPECT_TRUE(check_model_options("wide_unet", json::object()).ok());
  EXPECT_TRUE(check_model_options("wide_unet", json{{"width", 0.25}}).ok());
  EXPECT_TRUE(check_model_options("wide_unet", json{{"width", 4}, {"top_filters", 16}}).ok());
  EXPECT_TRUE(check_model_options("wide_unet",
                                  json{{"filters", {64, 128, 196, 256, 512}}, {"bn_momentum", 1}})
                  .ok());
}

TEST(ModelRegistry, MakeModelAppliesTheDatasetShapeAndOptions) {
  torch::manual_seed(9);
  const auto model = make_model("wide_unet", json{{"width", 0.125}}, ModelShape{3, 5});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->input_form(), InputForm::kSlice2d);
  auto p = params_by_name(*model);
  EXPECT_EQ(p.at("down0.first.conv.weight").sizes(), (std::vector<int64_t>{8, 3, 3, 3}));
  const auto y = model->forward(torch::randn({2, 3, 11, 13}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 5, 11, 13}));
}

TEST(ModelRegistry, MakeModelTurnsBadOptionsAndShapesIntoOrchErrors) {
  try {
    make_model("wide_unet", json{{"width", -1}}, ModelShape{});
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("wide_unet"), std::string::npos) << msg;
    EXPECT_NE(msg.find("width"), std::string::npos) << msg;
    EXPECT_EQ(e.key(), "width");
  }
  EXPECT_THROW(make_model("wide_unet", json::object(), ModelShape{1, 1}), Error);
}

}  // namespace
}  // namespace orch
