// swin_unetr (docs/MODELS.md section 6): parameter counts against MONAI's reference numbers, shapes
// on odd sizes, gradient flow, the decoder blocks and the options.
#include "models/swin_unetr.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "common/status.h"
#include "models/blocks/unetr_blocks.h"
#include "models/registry.h"
#include "tests/support/model_checks.h"

namespace orch {
namespace {

using nlohmann::json;

SwinUnetrOptions options(int64_t feature_size, int64_t in = 1, int64_t classes = 2) {
  SwinUnetrOptions o;
  o.feature_size = feature_size;
  o.in_channels = in;
  o.num_classes = classes;
  return o;
}

// ---- parameter count, from the module definitions ------------------------------------------

int64_t swin_block(int64_t c, int64_t heads) {
  // 2 LayerNorms (4C), bias table 13^3 x heads, qkv (3C^2 + 3C), proj (C^2 + C),
  // MLP C -> 4C -> C (8C^2 + 5C).
  return 4 * c + 2197 * heads + 3 * c * c + 3 * c + c * c + c + 8 * c * c + 5 * c;
}
int64_t merging(int64_t c) { return 16 * c + 8 * c * 2 * c; }  // LayerNorm(8C), Linear no bias
int64_t res_block(int64_t in, int64_t out) {                   // convs without bias, IN no affine
  return 27 * in * out + 27 * out * out + (in != out ? in * out : 0);
}
int64_t up_block(int64_t in, int64_t out) { return 8 * in * out + res_block(2 * out, out); }

int64_t expected_parameters(int64_t f, int64_t in, int64_t classes) {
  const int64_t heads[4] = {3, 6, 12, 24};
  int64_t total = in * f * 8 + f;  // patch embedding, 2x2x2 conv with bias
  for (int i = 0; i < 4; ++i) total += 2 * swin_block(f << i, heads[i]) + merging(f << i);
  total += res_block(in, f) + res_block(f, f) + res_block(2 * f, 2 * f) + res_block(4 * f, 4 * f) +
           res_block(16 * f, 16 * f);
  total += up_block(16 * f, 8 * f) + up_block(8 * f, 4 * f) + up_block(4 * f, 2 * f) +
           up_block(2 * f, f) + up_block(f, f);
  return total + f * classes + classes;  // 1x1x1 output conv with bias
}

TEST(SwinUnetr, BtcvSizeHasMonaisParameterCount) {
  SwinUnetrImpl model(options(48, 1, 14));
  EXPECT_EQ(expected_parameters(48, 1, 14),
            62187296);  // docs/MODELS.md, checked against MONAI 1.5.0
  EXPECT_EQ(testing::parameter_count(model), 62187296);
}

TEST(SwinUnetr, DefaultFeatureSizeHasMonaisParameterCount) {
  SwinUnetrImpl model(options(24, 1, 14));
  EXPECT_EQ(expected_parameters(24, 1, 14), 15703304);
  EXPECT_EQ(testing::parameter_count(model), 15703304);
  // Bias tables start trunc-normal with std 0.02; LayerNorms at weight 1, bias 0.
  std::vector<torch::Tensor> tables;
  for (const auto& p : model.named_parameters()) {
    const auto& name = p.key();
    if (name.find("relative_position_bias_table") != std::string::npos)
      tables.push_back(p.value().flatten());
    if (name.find("norm") != std::string::npos) {
      const bool weight = name.find("weight") != std::string::npos;
      EXPECT_TRUE(torch::all(p.value() == (weight ? 1 : 0)).item<bool>()) << name;
    }
  }
  EXPECT_EQ(tables.size(), 8u);
  EXPECT_NEAR(torch::cat(tables).std().item<double>(), 0.02, 0.0005);
}

// ---- shapes -----------------------------------------------------------------------------

TEST(SwinUnetr, ReportsPatchInputAndMultipleOf32) {
  SwinUnetrImpl model(options(12));
  EXPECT_EQ(model.input_form(), InputForm::kPatch3d);
  EXPECT_EQ(model.size_multiple(), 32);
}

TEST(SwinUnetr, OddSizesArePaddedWithZerosAtTheEndAndCroppedBack) {
  torch::manual_seed(2);
  SwinUnetrImpl model(options(12, 1, 3));
  model.eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 1, 19, 23, 17});
  const auto y = model.forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 19, 23, 17}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  // The same as running the 32^3 zero-padded patch and cropping its logits (second sample; a
  // batch of 1 takes other GEMM paths, hence float rounding of a few 1e-6).
  const auto padded = torch::zeros({1, 1, 32, 32, 32});
  padded.slice(2, 0, 19).slice(3, 0, 23).slice(4, 0, 17).copy_(x.slice(0, 1, 2));
  const auto want = model.forward(padded).slice(2, 0, 19).slice(3, 0, 23).slice(4, 0, 17);
  EXPECT_TRUE(torch::allclose(y.slice(0, 1, 2), want, 1e-4, 1e-4));
}

TEST(SwinUnetr, SizesJustOverAMultiplePadToTheNextOne) {
  torch::manual_seed(3);
  SwinUnetrImpl model(options(12));
  model.eval();
  torch::NoGradGuard no_grad;
  auto y = model.forward(torch::randn({1, 1, 33, 35, 31}));  // padded to 64^3
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, 33, 35, 31}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  y = model.forward(torch::randn({1, 1, 1, 1, 1}));  // padded to 32^3
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, 1, 1, 1}));
}

TEST(SwinUnetr, EncoderMergesAfterEveryStageAndNormalisesItsOutputs) {
  torch::manual_seed(4);
  SwinTransformerOptions o;
  o.embed_dim = 12;
  SwinTransformer encoder(o);
  torch::NoGradGuard no_grad;
  const auto hs = encoder(torch::randn({1, 1, 32, 64, 32}), /*normalize=*/true);
  ASSERT_EQ(hs.size(), 5u);
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(hs[i].sizes(), (std::vector<int64_t>{1, 12 << i, 16 >> i, 32 >> i, 16 >> i})) << i;
    // Affine-free LayerNorm over channels: every voxel has mean 0 and variance 1.
    EXPECT_LT(hs[i].mean(1).abs().max().item<float>(), 1e-4) << i;
    EXPECT_LT((hs[i].var(1, /*unbiased=*/false) - 1).abs().max().item<float>(), 1e-2) << i;
  }
  // Any size works here: PatchEmbed and PatchMerging pad odd sizes at the end.
  const auto raw = encoder(torch::randn({1, 1, 5, 4, 3}), /*normalize=*/false);
  EXPECT_EQ(raw[1].sizes(), (std::vector<int64_t>{1, 24, 2, 1, 1}));
  EXPECT_GT(raw[1].mean(1).abs().max().item<float>(), 1e-3);
}

// ---- gradients --------------------------------------------------------------------------

TEST(SwinUnetr, EveryParameterReceivesANonZeroGradient) {
  torch::manual_seed(11);
  SwinUnetrImpl model(options(12));
  model.train();
  // 96x32x32 keeps hs4 at 3x1x1: instance norm over a single voxel (hs4 at 1^3, any 32^3 input)
  // outputs zeros and would leave encoder10's convs without gradient.
  const auto x = torch::randn({1, 1, 96, 32, 32});
  const auto target = torch::randint(0, 2, {1, 96, 32, 32}, torch::kInt64);
  torch::nn::functional::cross_entropy(model.forward(x), target).backward();
  int64_t checked = 0;
  EXPECT_TRUE(testing::every_parameter_has_a_gradient(model, &checked));
  // Encoder: patch embedding 2 + 4 stages x (2 blocks x 13 + merging 3); decoder: 5 res blocks
  // (3 convs for in -> feature_size, else 2), 5 up blocks (transposed conv + res block of 3
  // convs); output conv 2.
  EXPECT_EQ(checked, 2 + 4 * (2 * 13 + 3) + (3 + 2 + 2 + 2 + 2) + 5 * (1 + 3) + 2);
}

// ---- decoder blocks ---------------------------------------------------------------------

TEST(SwinUnetResBlock, ShortcutConvOnlyWhenChannelsChangeAndNoBiasOrAffine) {
  UnetResBlock same(4, 4), change(2, 4);
  EXPECT_EQ(testing::parameter_count(*same), 27 * 4 * 4 * 2);
  EXPECT_EQ(testing::parameter_count(*change), 27 * 2 * 4 + 27 * 4 * 4 + 2 * 4);
  EXPECT_FALSE(same->conv3);
  EXPECT_TRUE(change->conv3);
}

TEST(SwinUnetResBlock, IsLeakyReluOfInstanceNormedConvsPlusTheInput) {
  torch::manual_seed(12);
  UnetResBlock block(3, 3);
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 5, 6, 4});
  auto in = [](const torch::Tensor& t) {  // per sample and channel, biased variance, eps 1e-5
    const auto mean = t.mean({2, 3, 4}, true);
    const auto var = t.var({2, 3, 4}, /*unbiased=*/false, /*keepdim=*/true);
    return (t - mean) / torch::sqrt(var + 1e-5);
  };
  auto lrelu = [](const torch::Tensor& t) { return torch::where(t > 0, t, 0.01 * t); };
  auto conv = [](const torch::Tensor& t, const torch::Tensor& w) {
    return torch::conv3d(t, w, {}, 1, 1);
  };
  const auto want =
      lrelu(in(conv(lrelu(in(conv(x, block->conv1->weight))), block->conv2->weight)) + x);
  EXPECT_TRUE(torch::allclose(block->forward(x), want, 1e-4, 1e-5));
}

TEST(SwinUnetrUpBlock, ConcatenatesTheUpsampledMapBeforeTheSkip) {
  torch::manual_seed(13);
  UnetrUpBlock up(2, 1);  // transposed conv 2 -> 1, res block 2 -> 1 with a shortcut conv
  torch::NoGradGuard no_grad;
  // conv1 = 0 makes the residual branch zero (IN of a constant is 0); the shortcut conv keeps
  // channel 0 only, so the output is leaky(IN(channel 0 of the concatenation)).
  up->conv_block->conv1->weight.zero_();
  up->conv_block->conv3->weight.zero_();
  up->conv_block->conv3->weight[0][0].fill_(1);
  const auto x = torch::randn({1, 2, 3, 2, 4});
  const auto skip = torch::randn({1, 1, 6, 4, 8});
  const auto upsampled = torch::conv_transpose3d(x, up->transp_conv->weight, {}, 2);
  const auto y = up->forward(x, skip);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, 6, 4, 8}));
  const auto expect = torch::leaky_relu(
      torch::instance_norm(upsampled, {}, {}, {}, {}, true, 0.1, 1e-5, false), 0.01);
  EXPECT_TRUE(torch::allclose(y, expect, 1e-4, 1e-5));
}

TEST(SwinDropPath, DropsWholeSamplesAndRescalesTheRestOnlyInTraining) {
  torch::manual_seed(15);
  DropPath drop(0.75);
  const auto x = torch::ones({4000, 2, 3});
  const auto y = drop(x);
  // Each sample is all 0 or all 1 / 0.25 = 4.
  const auto per_sample = y.view({4000, -1});
  EXPECT_TRUE((per_sample.amin(1) == per_sample.amax(1)).all().item<bool>());
  EXPECT_TRUE(((per_sample.select(1, 0) == 0) | (per_sample.select(1, 0) == 4)).all().item<bool>());
  EXPECT_NEAR((per_sample.select(1, 0) == 4).to(torch::kDouble).mean().item<double>(), 0.25, 0.03);
  drop->eval();
  EXPECT_TRUE(torch::equal(drop(x), x));
}

// ---- options and registry ----------------------------------------------------------------

TEST(SwinUnetrOptions, ReadsEveryOption) {
  const auto o = SwinUnetrOptions::from_json(json{{"feature_size", 36},
                                                  {"depths", {1, 2, 3, 1}},
                                                  {"num_heads", {3, 3, 6, 6}},
                                                  {"window_size", 5},
                                                  {"patch_size", 2},
                                                  {"mlp_ratio", 2.5},
                                                  {"qkv_bias", false},
                                                  {"normalize", false},
                                                  {"drop_rate", 0.1},
                                                  {"attn_drop_rate", 0.2},
                                                  {"dropout_path_rate", 0.3}});
  EXPECT_EQ(o.feature_size, 36);
  EXPECT_EQ(o.depths, (std::vector<int64_t>{1, 2, 3, 1}));
  EXPECT_EQ(o.num_heads, (std::vector<int64_t>{3, 3, 6, 6}));
  EXPECT_EQ(o.window_size, 5);
  EXPECT_DOUBLE_EQ(o.mlp_ratio, 2.5);
  EXPECT_FALSE(o.qkv_bias);
  EXPECT_FALSE(o.normalize);
  EXPECT_DOUBLE_EQ(o.drop_rate, 0.1);
  EXPECT_DOUBLE_EQ(o.attn_drop_rate, 0.2);
  EXPECT_DOUBLE_EQ(o.dropout_path_rate, 0.3);
}

TEST(SwinUnetrOptions, StochasticDepthRisesLinearlyOverAllBlocks) {
  auto o = options(12);
  o.dropout_path_rate = 0.7;
  SwinUnetrImpl model(o);
  std::vector<double> rates;
  for (const auto& m : model.modules(false))
    if (auto* b = dynamic_cast<SwinTransformerBlockImpl*>(m.get()))
      rates.push_back(b->options.drop_path);
  ASSERT_EQ(rates.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(rates[i], 0.1 * static_cast<double>(i), 1e-12) << i;
}

TEST(SwinUnetrOptions, BadOptionsNameTheirKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"feature_size", 16}}, "feature_size"},
      {json{{"feature_size", 0}}, "feature_size"},
      {json{{"feature_size", "big"}}, "feature_size"},
      {json{{"depths", {2, 2, 2}}}, "depths"},
      {json{{"depths", {2, 0, 2, 2}}}, "depths"},
      {json{{"num_heads", {5, 6, 12, 24}}}, "num_heads"},
      {json{{"window_size", 0}}, "window_size"},
      {json{{"patch_size", 4}}, "patch_size"},
      {json{{"mlp_ratio", 0}}, "mlp_ratio"},
      {json{{"qkv_bias", 1}}, "qkv_bias"},
      {json{{"normalize", "yes"}}, "normalize"},
      {json{{"drop_rate", 1.5}}, "drop_rate"},
      {json{{"attn_drop_rate", -0.1}}, "attn_drop_rate"},
      {json{{"dropout_path_rate", 2}}, "dropout_path_rate"},
      {json{{"width", 0.5}}, "width"},
  };
  for (const auto& [opts, key] : bad) {
    const Status st = check_model_options("swin_unetr", opts);
    EXPECT_EQ(st.key(), key) << opts.dump() << ": " << st.message();
  }
  EXPECT_TRUE(check_model_options("swin_unetr", json{{"feature_size", 12}}).ok());
}

TEST(SwinUnetrOptions, MakeModelAppliesTheDatasetShape) {
  torch::manual_seed(14);
  const auto model = make_model("swin_unetr", json{{"feature_size", 12}}, ModelShape{2, 4});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->input_form(), InputForm::kPatch3d);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto y = model->forward(torch::randn({1, 2, 32, 32, 32}));  // no padding needed
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 4, 32, 32, 32}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  EXPECT_THROW(make_model("swin_unetr", json{{"feature_size", 13}}, ModelShape{}), Error);
}

}  // namespace
}  // namespace orch
