// unet3d (docs/MODELS.md sections 4 and 1) and the 3D U-Net blocks it is built from.
#include "models/unet3d.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/blocks/conv3d.h"
#include "models/registry.h"
#include "tests/support/model_checks.h"

namespace orch {
namespace {

using nlohmann::json;
using Sizes = std::vector<int64_t>;

Unet3dOptions opts(const std::string& variant, double width, int64_t in = 1, int64_t k = 2) {
  Unet3dOptions o;
  o.variant = variant;
  o.width = width;
  o.in_channels = in;
  o.num_classes = k;
  return o;
}

std::map<std::string, torch::Tensor> params_by_name(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  return out;
}

// ---- shapes -------------------------------------------------------------------------------

TEST(Unet3d, OddPatchGivesLogitsOfTheSameSizeInBothVariants) {
  torch::manual_seed(1);
  for (const std::string variant : {"cicek", "thesis"}) {
    Unet3dImpl model(opts(variant, 0.125, /*in=*/2, /*k=*/3));
    model.train();
    const auto y = model.forward(torch::randn({2, 2, 19, 23, 17}));
    EXPECT_EQ(y.sizes(), (Sizes{2, 3, 19, 23, 17})) << variant;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << variant;
  }
}

TEST(Unet3d, TinyAndFlatPatchesWorkInEvalMode) {
  torch::manual_seed(2);
  for (const std::string variant : {"cicek", "thesis"}) {
    Unet3dImpl model(opts(variant, 0.0625));
    model.eval();
    torch::NoGradGuard no_grad;
    for (const auto& dhw : std::vector<Sizes>{{1, 1, 1}, {2, 3, 5}, {9, 1, 17}}) {
      const auto y = model.forward(torch::randn({1, 1, dhw[0], dhw[1], dhw[2]}));
      EXPECT_EQ(y.sizes(), (Sizes{1, 2, dhw[0], dhw[1], dhw[2]})) << variant;
      EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << variant;
    }
  }
}

TEST(Unet3d, SizeMultipleIsTwoToTheNumberOfPoolings) {
  EXPECT_EQ(Unet3dImpl(opts("cicek", 0.125)).size_multiple(), 8);    // 3 poolings
  EXPECT_EQ(Unet3dImpl(opts("thesis", 0.125)).size_multiple(), 16);  // 4 poolings
  EXPECT_EQ(Unet3dImpl(opts("cicek", 0.125)).input_form(), InputForm::kPatch3d);
}

TEST(Unet3d, RejectsInputWithTheWrongChannelCountNamingTheModel) {
  Unet3dImpl model(opts("cicek", 0.125, /*in=*/2));
  try {
    model.forward(torch::randn({1, 1, 8, 8, 8}));
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unet3d"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model.forward(torch::randn({1, 2, 8, 8})), Error);
}

// ---- parameter counts ---------------------------------------------------------------------

int64_t conv3(int64_t in, int64_t out) { return 27 * in * out + out; }  // weights + bias
int64_t deconv2(int64_t in, int64_t out) { return 8 * in * out + out; }
int64_t bn(int64_t c) { return 2 * c; }  // gamma + beta; running stats are buffers
int64_t block(int64_t in, int64_t out) { return conv3(in, out) + bn(out); }

TEST(Unet3d, CicekParameterCountFollowsThePapersLayerList) {
  // Cicek 2016 with its 3 input channels and 3 labels.
  Unet3dImpl model(opts("cicek", 1.0, /*in=*/3, /*k=*/3));
  int64_t expected = 0;
  expected += block(3, 32) + block(32, 64);       // 2688 + 55488
  expected += block(64, 64) + block(64, 128);     // 110784 + 221568
  expected += block(128, 128) + block(128, 256);  // 442752 + 885504
  expected += block(256, 256) + block(256, 512);  // 1770240 + 3540480, the bottom level
  // Decoder: the up-conv keeps the channels, concat [skip, up], two convs to the skip's.
  expected += deconv2(512, 512) + block(256 + 512, 256) + block(256, 256);  // 2097664 + 5309184
                                                                            // + 1770240
  expected += deconv2(256, 256) + block(128 + 256, 128) + block(128, 128);  // 524544 + 1327488
                                                                            // + 442752
  expected += deconv2(128, 128) + block(64 + 128, 64) + block(64, 64);      // 131200 + 331968
                                                                            // + 110784
  expected += 64 * 3 + 3;                                                   // final 1x1x1, 195
  EXPECT_EQ(expected, 19075523);
  EXPECT_EQ(testing::parameter_count(model), expected);
  // The paper states 19,069,955. Its layer list without BN gives 19,070,851 (896 more, one input
  // channel's first-conv weights plus 32 biases); no reading matches exactly, but the topology
  // must stay within 0.03% of the published figure.
  const int64_t bn_channels = 32 + 64 + 64 + 128 + 128 + 256 + 256 + 512  // encoder and bottom
                              + 2 * (256 + 128 + 64);                     // decoder
  EXPECT_EQ(expected - bn(bn_channels), 19070851);
  EXPECT_NEAR(static_cast<double>(testing::parameter_count(model)), 19069955.0, 0.0003 * 19069955);
}

TEST(Unet3d, ThesisParameterCountAndUpConvFiltersFollowTheKerasCode) {
  Unet3dImpl model(opts("thesis", 1.0, /*in=*/1, /*k=*/2));
  int64_t expected = 0;
  expected += block(1, 64) + block(64, 64);       // 1920 + 110784
  expected += block(64, 128) + block(128, 128);   // 221568 + 442752
  expected += block(128, 196) + block(196, 196);  // 677964 + 1037820
  expected += block(196, 256) + block(256, 256);  // 1355520 + 1770240
  expected += block(256, 512);                    // 3540480, the single-conv bottleneck
  // Decoder: up-conv to 256 filters at every level, concat [skip, up], two convs to the skip's.
  expected += deconv2(512, 256) + block(256 + 256, 256) + block(256, 256);  // 1048832 + 3539712
                                                                            // + 1770240
  expected += deconv2(256, 256) + block(196 + 256, 196) + block(196, 196);  // 524544 + 2392572
                                                                            // + 1037820
  expected += deconv2(196, 256) + block(128 + 256, 128) + block(128, 128);  // 401664 + 1327488
                                                                            // + 442752
  expected += deconv2(128, 256) + block(64 + 256, 64) + block(64, 64);      // 262400 + 553152
                                                                            // + 110784
  expected += block(64, 32) + conv3(32, 2);  // top 55392, logits 1730
  EXPECT_EQ(expected, 22628130);
  EXPECT_EQ(testing::parameter_count(model), expected);
  // The quirk: every up-conv has 256 filters.
  auto p = params_by_name(model);
  // ConvTranspose3d weights are (in, out, 2, 2, 2).
  EXPECT_EQ(p.at("up3.deconv.weight").sizes(), (Sizes{512, 256, 2, 2, 2}));
  EXPECT_EQ(p.at("up2.deconv.weight").sizes(), (Sizes{256, 256, 2, 2, 2}));
  EXPECT_EQ(p.at("up1.deconv.weight").sizes(), (Sizes{196, 256, 2, 2, 2}));
  EXPECT_EQ(p.at("up0.deconv.weight").sizes(), (Sizes{128, 256, 2, 2, 2}));
  EXPECT_EQ(p.at("up_conv0.first.conv.weight").sizes(), (Sizes{64, 64 + 256, 3, 3, 3}));
  EXPECT_EQ(p.at("logits.weight").sizes(), (Sizes{2, 32, 3, 3, 3}));
}

TEST(Unet3d, WidthScalesEveryFilterCount) {
  Unet3dImpl model(opts("cicek", 0.25, 1, 4));
  auto p = params_by_name(model);
  EXPECT_EQ(p.at("down0.first.conv.weight").sizes(), (Sizes{8, 1, 3, 3, 3}));
  EXPECT_EQ(p.at("down0.second.conv.weight").sizes(), (Sizes{16, 8, 3, 3, 3}));
  EXPECT_EQ(p.at("up2.deconv.weight").sizes(), (Sizes{128, 128, 2, 2, 2}));
  EXPECT_EQ(p.at("up_conv2.first.conv.weight").sizes(), (Sizes{64, 64 + 128, 3, 3, 3}));
  EXPECT_EQ(p.at("logits.weight").sizes(), (Sizes{4, 16, 1, 1, 1}));
}

// ---- blocks: BN order, BN settings ----------------------------------------------------------

TEST(ConvBlock3d, BnBeforeReluGivesNonNegativeOutputAndKerasOrderGivesZeroMean) {
  torch::manual_seed(5);
  const auto x = torch::randn({3, 2, 5, 6, 4});
  ConvBlock3dOptions cicek;
  ConvBlock3d a(2, 4, cicek);
  a->train();
  EXPECT_GE(a->forward(x).min().item<float>(), 0.0f);  // ReLU comes last
  ConvBlock3dOptions keras;
  keras.bn_before_relu = false;
  ConvBlock3d b(2, 4, keras);
  b->train();
  const auto y = b->forward(x);
  // BN comes last: per channel, batch mean 0 (gamma 1, beta 0), so some outputs are negative.
  EXPECT_LT(y.min().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(y.mean({0, 2, 3, 4}), torch::zeros({4}), 0, 1e-4));
}

TEST(Unet3d, BatchNormSettingsFollowTheVariant) {
  const std::vector<std::tuple<std::string, double, double>> cases = {{"cicek", 1e-5, 0.1},
                                                                      {"thesis", 1e-3, 0.01}};
  for (const auto& [variant, eps, momentum] : cases) {
    Unet3dImpl model(opts(variant, 0.125));
    int64_t seen = 0;
    for (const auto& m : model.modules(false))
      if (auto* b = dynamic_cast<torch::nn::BatchNorm3dImpl*>(m.get())) {
        EXPECT_DOUBLE_EQ(b->options.eps(), eps) << variant;
        EXPECT_DOUBLE_EQ(*b->options.momentum(), momentum) << variant;
        ++seen;
      }
    // cicek: 3 levels x 2 + bottom 2 + 3 x 2 = 14; thesis: 4 x 2 + 1 + 4 x 2 + top = 18.
    EXPECT_EQ(seen, variant == "cicek" ? 14 : 18);
  }
  Unet3dImpl model(Unet3dOptions::from_json(json{{"bn_momentum", 0.3}, {"width", 0.125}}));
  for (const auto& m : model.modules(false))
    if (auto* b = dynamic_cast<torch::nn::BatchNorm3dImpl*>(m.get())) {
      EXPECT_DOUBLE_EQ(*b->options.momentum(), 0.3);
    }
}

// ---- gradients ------------------------------------------------------------------------------

TEST(Unet3d, EveryParameterReceivesAFiniteNonZeroGradient) {
  for (const std::string variant : {"cicek", "thesis"}) {
    torch::manual_seed(11);
    Unet3dImpl model(opts(variant, 0.125));
    model.train();
    const auto x = torch::randn({2, 1, 19, 23, 17});
    const auto target = torch::randint(0, 2, {2, 19, 23, 17}, torch::kInt64);
    torch::nn::functional::cross_entropy(model.forward(x), target).backward();
    int64_t checked = 0;
    EXPECT_TRUE(testing::every_parameter_has_a_gradient(model, &checked)) << variant;
    // conv+BN blocks have 4 tensors, deconvs and the logits conv 2.
    EXPECT_EQ(checked, variant == "cicek" ? 14 * 4 + 3 * 2 + 2 : 18 * 4 + 4 * 2 + 2) << variant;
  }
}

// ---- padding helpers ------------------------------------------------------------------------

TEST(PadToMultiple3d, ZeroPadsTheFarEndsAndCropUndoesIt) {
  const auto x = torch::arange(1, 1 + 2 * 3 * 5 * 7 * 9, torch::kFloat).reshape({2, 3, 5, 7, 9});
  const auto p = pad_to_multiple_3d(x, 8);
  EXPECT_EQ(p.sizes(), (Sizes{2, 3, 8, 8, 16}));
  EXPECT_TRUE(torch::equal(p.slice(2, 0, 5).slice(3, 0, 7).slice(4, 0, 9), x));
  EXPECT_EQ(p.slice(2, 5).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(p.slice(4, 9).abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(crop_like_3d(p, x), x));
  EXPECT_TRUE(pad_to_multiple_3d(p, 8).is_same(p));  // already a multiple: no copy
}

// ---- options and registry -------------------------------------------------------------------

TEST(Unet3dOptions, ReadsEveryOption) {
  const auto o =
      Unet3dOptions::from_json(json{{"variant", "thesis"}, {"width", 0.5}, {"bn_momentum", 0.2}});
  EXPECT_EQ(o.variant, "thesis");
  EXPECT_DOUBLE_EQ(o.width, 0.5);
  ASSERT_TRUE(o.bn_momentum.has_value());
  EXPECT_DOUBLE_EQ(*o.bn_momentum, 0.2);
  EXPECT_FALSE(Unet3dOptions::from_json(json::object()).bn_momentum.has_value());
  EXPECT_EQ(Unet3dOptions::from_json(json::object()).variant, "cicek");
}

TEST(Unet3dOptions, CheckNamesTheOffendingKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"variant", "ronneberger"}}, "variant"},
      {json{{"variant", 3}}, "variant"},
      {json{{"width", 0}}, "width"},
      {json{{"width", "x"}}, "width"},
      {json{{"bn_momentum", 0}}, "bn_momentum"},
      {json{{"bn_momentum", 2}}, "bn_momentum"},
      {json{{"depth", 5}}, "depth"},
  };
  for (const auto& [options, key] : bad) {
    const Status st = check_model_options("unet3d", options);
    EXPECT_EQ(st.key(), key) << options.dump();
    EXPECT_FALSE(st.message().empty()) << options.dump();
  }
  EXPECT_TRUE(check_model_options("unet3d", json{{"variant", "thesis"}, {"width", 0.25}}).ok());
}

TEST(Unet3dRegistry, MakeModelAppliesTheDatasetShape) {
  torch::manual_seed(9);
  const auto model = make_model("unet3d", json{{"width", 0.0625}}, ModelShape{4, 2});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->input_form(), InputForm::kPatch3d);
  const auto y = model->forward(torch::randn({2, 4, 9, 8, 7}));
  EXPECT_EQ(y.sizes(), (Sizes{2, 2, 9, 8, 7}));
}

}  // namespace
}  // namespace orch
