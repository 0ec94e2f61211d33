// resunet2d (docs/MODELS.md section 5) and its residual blocks.
#include "models/resunet2d.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "models/blocks/residual.h"
#include "models/registry.h"
#include "tests/support/model_checks.h"

namespace orch {
namespace {

using nlohmann::json;

ResUnet2dOptions narrow(double width, int64_t in_channels = 1, int64_t num_classes = 2,
                        const json& j = json::object()) {
  ResUnet2dOptions o = ResUnet2dOptions::from_json(j);
  o.width = width;
  o.in_channels = in_channels;
  o.num_classes = num_classes;
  return o;
}

const std::vector<json> kVariants = {
    json::object(),  // the paper: 1x1 projections, nearest upsampling
    json{{"shortcut", "conv3x3"}, {"upsample", "deconv"}},  // the reference code
    json{{"shortcut", "conv3x3"}},
    json{{"upsample", "deconv"}},
};

// ---- shapes ---------------------------------------------------------------------------------

TEST(ResUnet2d, OddSizedBatchGivesLogitsOfTheSameSizeInEveryVariant) {
  for (const auto& v : kVariants) {
    torch::manual_seed(1);
    ResUnet2dImpl model(narrow(0.125, 2, 14, v));
    // 37x29 -> stride-2 convs give 19x15, 10x8, 5x4; upsampling gives 10x8, 20x16, 38x30: cropped.
    const auto y = model.forward(torch::randn({2, 2, 37, 29}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 14, 37, 29})) << v.dump();
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << v.dump();
  }
}

TEST(ResUnet2d, TinyAndPrimeSizesInEvalMode) {
  torch::manual_seed(2);
  ResUnet2dImpl model(narrow(0.125));
  model.eval();
  torch::NoGradGuard no_grad;
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 3}, {17, 5}}) {
    const auto y = model.forward(torch::randn({1, 1, h, w}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, h, w})) << h << "x" << w;
  }
  EXPECT_EQ(model.input_form(), InputForm::kSlice2d);
}

// ---- blocks ---------------------------------------------------------------------------------

TEST(ResidualUnit, Stride2HalvesOddSizesRoundingUp) {
  torch::manual_seed(3);
  ResidualUnit unit(4, 6, 2, ResidualShortcut::kProjection1x1);
  EXPECT_EQ(unit->forward(torch::randn({2, 4, 9, 8})).sizes(), (std::vector<int64_t>{2, 6, 5, 4}));
}

TEST(ResidualUnit, MatchingShapesUseTheIdentityShortcut) {
  torch::manual_seed(4);
  ResidualUnit unit(5, 5, 1, ResidualShortcut::kProjection1x1);
  EXPECT_TRUE(unit->shortcut->is_empty());
  // Zero the last conv: the main path is then 0 and the unit returns its input unchanged.
  {
    torch::NoGradGuard no_grad;
    unit->conv2->weight.zero_();
    unit->conv2->bias.zero_();
  }
  const auto x = torch::randn({2, 5, 6, 7});
  EXPECT_TRUE(torch::equal(unit->forward(x), x));
}

TEST(ResidualUnit, PreActivationAppliesBnAndReluBeforeTheFirstConv) {
  torch::manual_seed(5);
  ResidualUnit unit(3, 4, 1, ResidualShortcut::kProjection1x1);
  unit->eval();  // BN with fresh running stats (mean 0, var 1) is x / sqrt(1 + eps)
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 5, 5});
  const auto pre = torch::relu(x / std::sqrt(1.0 + 1e-5));
  auto main = unit->conv1->forward(pre);
  main = unit->conv2->forward(torch::relu(main / std::sqrt(1.0 + 1e-5)));
  const auto expected = main + unit->shortcut->forward(x);
  EXPECT_TRUE(torch::allclose(unit->forward(x), expected, 1e-5, 1e-6));
}

// ---- parameter counts -----------------------------------------------------------------------

// Parameters (not buffers) by hand. Convs that feed a BN have no bias.
int64_t conv(int64_t k, int64_t in, int64_t out, bool bias) {
  return k * k * in * out + (bias ? out : 0);
}
int64_t bn(int64_t c) { return 2 * c; }
// Pre-activation unit: BN(in), conv3x3 (no bias), BN(out), conv3x3 (bias), shortcut.
int64_t unit(int64_t in, int64_t out, bool code_shortcut) {
  const int64_t shortcut =
      code_shortcut ? conv(3, in, out, false) + bn(out) : conv(1, in, out, true);
  return bn(in) + conv(3, in, out, false) + bn(out) + conv(3, out, out, true) + shortcut;
}
// Input unit: conv3x3 (no bias), BN, conv3x3 (bias), shortcut (1x1, or the code's bare 3x3).
int64_t input_unit(int64_t in, int64_t out, bool code_shortcut) {
  return conv(3, in, out, false) + bn(out) + conv(3, out, out, true) +
         conv(code_shortcut ? 3 : 1, in, out, true);
}

TEST(ResUnet2d, PaperLayoutParameterCountMatchesHandArithmetic) {
  // The paper's setting: 3 input channels (RGB), filters 64-128-256-512. The paper claims
  // ~7.8 M with one sigmoid output; this layout gives 8,219,650 - 130 + 65 = 8,219,585 (the
  // claim is unverified, see resunet2d.h).
  ResUnet2dImpl model(narrow(1.0, 3, 2));
  const int64_t expected = input_unit(3, 64, false)  // 1728 + 128 + 36928 + 256 = 39040
                           + unit(64, 128, false)    // 128+73728+256+147584+8320 = 230016
                           + unit(128, 256, false)   // 256+294912+512+590080+33024 = 918784
                           + unit(256, 512, false)   // bridge: 3672576
                           + unit(768, 256, false)   // 1536+1769472+512+590080+196864 = 2558464
                           + unit(384, 128, false)   // 768+442368+256+147584+49280 = 640256
                           + unit(192, 64, false)    // 384+110592+128+36928+12352 = 160384
                           + conv(1, 64, 2, true);   // logits: 130
  EXPECT_EQ(expected, 8219650);                      // the sum above, done by hand
  EXPECT_EQ(testing::parameter_count(model), expected);
}

TEST(ResUnet2d, ReferenceCodeLayoutParameterCountMatchesHandArithmetic) {
  ResUnet2dImpl model(narrow(1.0, 3, 2, json{{"shortcut", "conv3x3"}, {"upsample", "deconv"}}));
  const int64_t expected = input_unit(3, 64, true)  // 1728 + 128 + 36928 + 1792 = 40576
                           + unit(64, 128, true)    // 128+73728+256+147584+73728+256 = 295680
                           + unit(128, 256, true)   // 1181184
                           + unit(256, 512, true)   // 4721664
                           + unit(768, 256, true)   // 1536+1769472+512+590080+1769472+512 = 4131584
                           + unit(384, 128, true)   // 1033600
                           + unit(192, 64, true)    // 258752
                           + conv(2, 512, 512, true) + conv(2, 256, 256, true) +
                           conv(2, 128, 128, true)  // 1377152
                           + conv(1, 64, 2, true);  // 130
  EXPECT_EQ(expected, 13040322);
  EXPECT_EQ(testing::parameter_count(model), expected);
}

TEST(ResUnet2d, BtcvShapeOnlyChangesTheFirstConvsAndTheHead) {
  // 1 CT channel, 14 classes: the input unit's first conv and 1x1 shortcut, and the logits.
  ResUnet2dImpl model(narrow(1.0, 1, 14));
  EXPECT_EQ(testing::parameter_count(model), 8219650 - (1728 - 576) - (256 - 128) + (910 - 130));
}

TEST(ResUnet2d, WidthScalesEveryFilterCount) {
  ResUnet2dImpl model(narrow(0.25, 1, 3, json{{"upsample", "deconv"}}));
  std::map<std::string, std::vector<int64_t>> sizes;
  for (const auto& p : model.named_parameters()) sizes[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(sizes.at("input.conv1.weight"), (std::vector<int64_t>{16, 1, 3, 3}));
  EXPECT_EQ(sizes.at("down1.conv1.weight"), (std::vector<int64_t>{32, 16, 3, 3}));
  EXPECT_EQ(sizes.at("down2.shortcut.conv.weight"), (std::vector<int64_t>{64, 32, 1, 1}));
  EXPECT_EQ(sizes.at("bridge.conv2.weight"), (std::vector<int64_t>{128, 128, 3, 3}));
  EXPECT_EQ(sizes.at("deconv2.weight"), (std::vector<int64_t>{128, 128, 2, 2}));
  EXPECT_EQ(sizes.at("up2.conv1.weight"), (std::vector<int64_t>{64, 192, 3, 3}));
  EXPECT_EQ(sizes.at("up0.conv2.weight"), (std::vector<int64_t>{16, 16, 3, 3}));
  EXPECT_EQ(sizes.at("logits.weight"), (std::vector<int64_t>{3, 16, 1, 1}));
}

// ---- gradients ------------------------------------------------------------------------------

TEST(ResUnet2d, EveryParameterReceivesAFiniteNonZeroGradientInEveryVariant) {
  for (const auto& v : kVariants) {
    torch::manual_seed(6);
    ResUnet2dImpl model(narrow(0.125, 1, 4, v));
    model.train();
    const auto target = torch::randint(0, 4, {2, 19, 13}, torch::kInt64);
    torch::nn::functional::cross_entropy(model.forward(torch::randn({2, 1, 19, 13})), target)
        .backward();
    int64_t checked = 0;
    EXPECT_TRUE(testing::every_parameter_has_a_gradient(model, &checked)) << v.dump();
    EXPECT_GT(checked, 40) << v.dump();
  }
}

// ---- options --------------------------------------------------------------------------------

TEST(ResUnet2dOptions, ReadsEveryOption) {
  const auto o = ResUnet2dOptions::from_json(json{{"filters", {8, 16, 32, 64}},
                                                  {"width", 0.5},
                                                  {"shortcut", "conv3x3"},
                                                  {"upsample", "deconv"}});
  EXPECT_EQ(o.filters, (std::vector<int64_t>{8, 16, 32, 64}));
  EXPECT_DOUBLE_EQ(o.width, 0.5);
  EXPECT_EQ(o.shortcut, ResidualShortcut::kConv3x3);
  EXPECT_EQ(o.upsample, ResUpsample::kDeconv);
  const auto d = ResUnet2dOptions::from_json(json::object());
  EXPECT_EQ(d.filters, (std::vector<int64_t>{64, 128, 256, 512}));
  EXPECT_EQ(d.shortcut, ResidualShortcut::kProjection1x1);
  EXPECT_EQ(d.upsample, ResUpsample::kNearest);
}

TEST(ResUnet2dOptions, BadOptionsNameTheirKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"depth", 4}}, "depth"},
      {json{{"width", 0}}, "width"},
      {json{{"width", "wide"}}, "width"},
      {json{{"filters", {64, 128, 256}}}, "filters"},
      {json{{"filters", {64, 128, 0, 512}}}, "filters"},
      {json{{"shortcut", "identity"}}, "shortcut"},
      {json{{"shortcut", 1}}, "shortcut"},
      {json{{"upsample", "bilinear"}}, "upsample"},
  };
  for (const auto& [options, key] : bad) {
    const Status st = check_model_options("resunet2d", options);
    EXPECT_EQ(st.key(), key) << options.dump();
    EXPECT_FALSE(st.message().empty()) << options.dump();
  }
  EXPECT_TRUE(check_model_options("resunet2d", json{{"shortcut", "conv3x3"}, {"width", 0.5}}).ok());
}

TEST(ResUnet2dOptions, MakeModelUsesTheDatasetShape) {
  torch::manual_seed(7);
  const auto model = make_model("resunet2d", json{{"width", 0.125}}, ModelShape{2, 5});
  EXPECT_EQ(model->forward(torch::randn({2, 2, 11, 13})).sizes(),
            (std::vector<int64_t>{2, 5, 11, 13}));
  EXPECT_THROW(make_model("resunet2d", json::object(), ModelShape{1, 1}), Error);
}

}  // namespace
}  // namespace orch
