// The attention blocks of the RB-CBAM paper (docs/MODELS.md section 9): SE, attention gate, BAM,
// CBAM, ASPP, reverse and boundary attention. Weights are set by hand so that each expected value
// follows from the block's definition, not from running the block.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "common/status.h"
#include "models/blocks/aspp.h"
#include "models/blocks/attention.h"
#include "models/blocks/reverse_boundary.h"

namespace orch {
namespace {

using Sizes = std::vector<int64_t>;

// An eval-mode BN with fresh statistics divides by sqrt(1 + eps).
const double kBn = 1.0 / std::sqrt(1.0 + 1e-5);

void set_zero(torch::Tensor t) {
  torch::NoGradGuard g;
  t.zero_();
}

void set_fill(torch::Tensor t, double v) {
  torch::NoGradGuard g;
  t.fill_(v);
}

// ---- SE -------------------------------------------------------------------------------------

TEST(SqueezeExcite, ZeroWeightsScaleEveryChannelBySigmoidOfZero) {
  torch::manual_seed(1);
  SqueezeExcite se(32, 16);
  set_zero(se->fc1->weight);
  set_zero(se->fc2->weight);
  const auto x = torch::randn({2, 32, 7, 5});
  EXPECT_TRUE(torch::allclose(se(x), 0.5 * x));
  // The paper's SE has no biases (rishikksh20's Squeeze_Excite_Block).
  EXPECT_FALSE(se->fc1->bias.defined());
  EXPECT_EQ(se->fc1->weight.sizes(), (Sizes{2, 32}));
}

TEST(SqueezeExcite, ScaleFollowsTheChannelMeanThroughTheMlp) {
  SqueezeExcite se(2, 2);  // hidden 1
  {
    torch::NoGradGuard g;
    se->fc1->weight.copy_(torch::tensor({{1.0f, 0.0f}}));     // hidden = mean of channel 0
    se->fc2->weight.copy_(torch::tensor({{1.0f}, {-1.0f}}));  // +h, -h
  }
  // Channel 0 has mean 2, channel 1 anything: scales sigmoid(2) and sigmoid(-2).
  const auto x = torch::stack({torch::full({3, 3}, 2.0f), torch::randn({3, 3})}).unsqueeze(0);
  const auto y = se(x);
  const double s = 1.0 / (1.0 + std::exp(-2.0));
  EXPECT_TRUE(torch::allclose(y[0][0], x[0][0] * s));
  EXPECT_TRUE(torch::allclose(y[0][1], x[0][1] * (1 - s)));
}

// ---- CBAM -------------------------------------------------------------------------------------

TEST(Cbam, ChannelGateWithZeroMlpHalvesTheInput) {
  torch::manual_seed(2);
  ChannelGate gate(16, 16);
  for (auto& p : gate->parameters()) set_zero(p);
  const auto x = torch::randn({2, 16, 5, 9});
  EXPECT_TRUE(torch::allclose(gate(x), 0.5 * x));
}

TEST(Cbam, ChannelGateSumsTheSharedMlpOverAveragePoolAndMaxPool) {
  ChannelGate gate(2, 2);  // hidden 1
  {
    torch::NoGradGuard g;
    gate->fc1->weight.copy_(torch::tensor({{1.0f, 0.0f}}));
    gate->fc1->bias.zero_();
    gate->fc2->weight.copy_(torch::tensor({{1.0f}, {0.0f}}));
    gate->fc2->bias.copy_(torch::tensor({0.0f, 0.25f}));
  }
  // Channel 0 = [1, 2, 3, 6]: mean 3, max 6. MLP(v) = (relu(v0), 0.25) for each pool.
  const auto c0 = torch::tensor({1.0f, 2.0f, 3.0f, 6.0f}).view({2, 2});
  const auto x = torch::stack({c0, torch::ones({2, 2})}).unsqueeze(0);
  const auto y = gate(x);
  const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  EXPECT_TRUE(torch::allclose(y[0][0], c0 * sig(3.0 + 6.0)));
  EXPECT_TRUE(torch::allclose(y[0][1], torch::ones({2, 2}) * sig(0.25 + 0.25)));
}

TEST(Cbam, ChannelPoolPutsMaxBeforeMean) {
  // Two channels: [[1, -2], [4, 0]] and [[3, 2], [-4, 1]].
  const auto x =
      torch::tensor({1.0f, -2.0f, 4.0f, 0.0f, 3.0f, 2.0f, -4.0f, 1.0f}).view({1, 2, 2, 2});
  const auto p = channel_pool(x);
  EXPECT_EQ(p.sizes(), (Sizes{1, 2, 2, 2}));
  EXPECT_TRUE(torch::equal(p[0][0], torch::tensor({3.0f, 2.0f, 4.0f, 1.0f}).view({2, 2})));
  EXPECT_TRUE(torch::allclose(p[0][1], torch::tensor({2.0f, 0.0f, 0.0f, 0.5f}).view({2, 2})));
}

TEST(Cbam, SpatialGateSeesTheChannelMaxThroughItsFirstInput) {
  SpatialGate gate(7);
  gate->eval();
  {
    torch::NoGradGuard g;
    gate->conv->weight.zero_();
    gate->conv->weight[0][0][3][3] = 1.0;  // centre tap of input 0 only
  }
  EXPECT_FALSE(gate->conv->bias.defined());
  EXPECT_DOUBLE_EQ(gate->bn->options.eps(), 1e-5);
  EXPECT_DOUBLE_EQ(*gate->bn->options.momentum(), 0.01);
  torch::manual_seed(3);
  const auto x = torch::randn({2, 5, 9, 6});
  const auto expected = x * torch::sigmoid(std::get<0>(x.max(1, true)) * kBn);
  EXPECT_TRUE(torch::allclose(gate(x), expected, 1e-5, 1e-6));
}

TEST(Cbam, AppliesTheChannelGateBeforeTheSpatialGate) {
  torch::manual_seed(4);
  Cbam cbam(8, 4);
  cbam->eval();
  const auto x = torch::randn({1, 8, 6, 7});
  EXPECT_TRUE(torch::allclose(cbam(x), cbam->spatial(cbam->channel(x))));
  // The channel gate rescales channels, so the spatial gate's max pool changes with its order.
  EXPECT_FALSE(torch::allclose(cbam(x), cbam->channel(cbam->spatial(x))));
}

// ---- attention gate ---------------------------------------------------------------------------

TEST(AttentionGate, OddSkipKeepsItsShapeAndAlphaLiesStrictlyBetweenZeroAndOne) {
  torch::manual_seed(5);
  AttentionGate gate(6, 12);
  // x 37x29 pooled with ceil mode gives the gate's 19x15 grid.
  const auto x = torch::randn({2, 6, 37, 29});
  const auto y = gate(x, torch::randn({2, 12, 19, 15}));
  EXPECT_EQ(y.sizes(), x.sizes());
  const auto& a = gate->last_alpha();
  EXPECT_EQ(a.sizes(), (Sizes{2, 1, 37, 29}));
  EXPECT_GT(a.min().item<double>(), 0.0);
  EXPECT_LT(a.max().item<double>(), 1.0);
  // inter channels = C_x / 2; theta is a 2x2 stride-2 conv without bias.
  EXPECT_EQ(gate->theta->weight.sizes(), (Sizes{3, 6, 2, 2}));
  EXPECT_FALSE(gate->theta->bias.defined());
}

TEST(AttentionGate, ConstantPsiGivesAlphaSigmoidOfItsBiasAndWScalesTheGatedSkip) {
  torch::manual_seed(6);
  AttentionGate gate(3, 4);
  gate->eval();
  {
    torch::NoGradGuard g;
    gate->psi->weight.zero_();
    gate->psi->bias.fill_(std::log(3.0));  // sigmoid(ln 3) = 0.75
    gate->w->weight.copy_(torch::eye(3).view({3, 3, 1, 1}));
    gate->w->bias.zero_();
  }
  const auto x = torch::randn({1, 3, 5, 1});
  const auto y = gate(x, torch::randn({1, 4, 3, 1}));
  EXPECT_TRUE(torch::allclose(gate->last_alpha(), torch::full({1, 1, 5, 1}, 0.75f)));
  EXPECT_TRUE(torch::allclose(y, 0.75 * x * kBn, 1e-5, 1e-6));
}

// ---- BAM --------------------------------------------------------------------------------------

// A BAM whose channel map is the constant mc and spatial map the constant ms.
Bam constant_bam(BamCombine how, double mc, double ms) {
  Bam bam(16, 4, how);
  set_zero(bam->fc2->weight);
  set_fill(bam->fc2->bias, mc);
  auto* last = bam->spatial->modules(false).back()->as<torch::nn::Conv2d>();
  set_zero(last->weight);
  set_fill(last->bias, ms);
  return bam;
}

TEST(Bam, SumCombineScalesByOnePlusSigmoidOfTheSum) {
  auto bam = constant_bam(BamCombine::kSum, 2.0, 3.0);
  const auto x = torch::randn({2, 16, 9, 7});
  const double s = 1.0 / (1.0 + std::exp(-5.0));
  EXPECT_TRUE(torch::allclose(bam(x), (1 + s) * x));
}

TEST(Bam, ProductCombineScalesByOnePlusSigmoidOfTheProduct) {
  auto bam = constant_bam(BamCombine::kProduct, 2.0, -3.0);
  const auto x = torch::randn({2, 16, 9, 7});
  const double s = 1.0 / (1.0 + std::exp(6.0));
  EXPECT_TRUE(torch::allclose(bam(x), (1 + s) * x));
}

TEST(Bam, SpatialBranchUsesDilationFourAndTrainsOnASingleSample) {
  torch::manual_seed(7);
  Bam bam(32, 16, BamCombine::kSum);
  int64_t dilated = 0;
  for (const auto& m : bam->spatial->modules(false))
    if (auto* c = m->as<torch::nn::Conv2d>(); c && c->options.kernel_size()->at(0) == 3) {
      EXPECT_EQ(c->options.dilation()->at(0), 4);
      EXPECT_EQ(c->options.in_channels(), 2);  // 32 / 16
      ++dilated;
    }
  EXPECT_EQ(dilated, 2);
  bam->train();
  const auto y = bam(torch::randn({1, 32, 5, 3}));  // BN1d on one sample falls back
  EXPECT_EQ(y.sizes(), (Sizes{1, 32, 5, 3}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

// ---- ASPP -------------------------------------------------------------------------------------

TEST(Aspp, OddSizesKeepTheirShapeForEveryRate) {
  torch::manual_seed(8);
  Aspp aspp(4, 6, AsppOptions{{2, 4, 6}, true});
  for (const auto& hw : std::vector<Sizes>{{37, 29}, {1, 1}, {3, 8}}) {
    const auto y = aspp(torch::randn({2, 4, hw[0], hw[1]}));
    EXPECT_EQ(y.sizes(), (Sizes{2, 6, hw[0], hw[1]}));
  }
  // 1x1 + 3 dilated + image pooling, 6 filters each, into the projection.
  EXPECT_EQ(aspp->project->ptr(0)->as<torch::nn::Conv2d>()->weight.sizes(), (Sizes{6, 30, 1, 1}));
  const auto* b3 = aspp->branches[3]->ptr(0)->as<torch::nn::Conv2d>();
  EXPECT_EQ(b3->options.dilation()->at(0), 6);
  EXPECT_EQ((*c10::get<torch::ExpandingArray<2>>(b3->options.padding()))[0], 6);
}

TEST(Aspp, ImagePoolingBranchSpreadsTheGlobalMeanOverTheMap) {
  Aspp aspp(2, 1, AsppOptions{{3}, true});  // concat: 1x1, rate 3, pooling
  aspp->eval();
  for (auto& b : aspp->branches) set_zero(b->ptr(0)->as<torch::nn::Conv2d>()->weight);
  set_fill(aspp->pool_conv->weight, 1.0);  // sum of the two channel means
  {
    torch::NoGradGuard g;
    auto w = aspp->project->ptr(0)->as<torch::nn::Conv2d>()->weight;
    w.zero_();
    w[0][2][0][0] = 1.0;  // the pooling branch only
  }
  // Means: channel 0 = 1.5, channel 1 = -0.5; the pooled value 1.0 passes two BN-ReLUs.
  const auto c0 = torch::tensor({0.0f, 1.0f, 2.0f, 3.0f, 1.0f, 2.0f}).view({3, 2});
  const auto x = torch::stack({c0, torch::full({3, 2}, -0.5f)}).unsqueeze(0);
  const auto y = aspp(x);
  EXPECT_TRUE(torch::allclose(y, torch::full({1, 1, 3, 2}, 1.0 * kBn * kBn), 1e-5, 1e-6));
}

TEST(Aspp, WithoutImagePoolingProjectsOnlyTheConvBranches) {
  Aspp aspp(3, 5, AsppOptions{{1, 2}, false});
  EXPECT_FALSE(aspp->pool_conv);
  EXPECT_EQ(aspp->project->ptr(0)->as<torch::nn::Conv2d>()->weight.sizes(), (Sizes{5, 15, 1, 1}));
  aspp->train();
  EXPECT_EQ(aspp(torch::randn({1, 3, 4, 5})).sizes(), (Sizes{1, 5, 4, 5}));
}

// ---- reverse and boundary -------------------------------------------------------------------

TEST(ReverseBoundary, ReverseMapIsOneMinusTheProbability) {
  const auto p = reverse_map(torch::tensor({0.0f, 30.0f, -30.0f, std::log(3.0f)}));
  EXPECT_FLOAT_EQ(p[0].item<float>(), 0.5f);
  EXPECT_LT(p[1].item<float>(), 1e-9f);
  EXPECT_FLOAT_EQ(p[2].item<float>(), 1.0f);
  EXPECT_NEAR(p[3].item<float>(), 0.25f, 1e-6f);
}

TEST(ReverseBoundary, BoundaryMapPeaksAtOneWhereTheLogitIsZero) {
  const auto b =
      boundary_map(torch::tensor({0.0f, 30.0f, -30.0f, std::log(3.0f), -std::log(3.0f)}));
  EXPECT_FLOAT_EQ(b[0].item<float>(), 1.0f);
  EXPECT_LT(b[1].item<float>(), 1e-6f);
  EXPECT_LT(b[2].item<float>(), 1e-6f);
  EXPECT_NEAR(b[3].item<float>(), 0.5f, 1e-6f);  // 1 - |2 * 0.75 - 1|
  EXPECT_NEAR(b[4].item<float>(), 0.5f, 1e-6f);
  // Nowhere above 1: the peak is the zero crossing.
  EXPECT_FLOAT_EQ(boundary_map(torch::linspace(-8, 8, 33)).max().item<float>(), 1.0f);
}

TEST(ReverseBoundary, CoarseLogitIsUpsampledOntoTheCeilModeGrid) {
  // A 19x15 map is the ceil-mode half of 37x29; a constant stays constant, any shape works.
  const auto up = upsample_to(torch::full({2, 1, 19, 15}, 0.3f), 37, 29);
  EXPECT_EQ(up.sizes(), (Sizes{2, 1, 37, 29}));
  EXPECT_TRUE(torch::allclose(up, torch::full({2, 1, 37, 29}, 0.3f)));
  // Coarse pixel j covers fine pixels 2j and 2j + 1: a step between coarse columns 0 and 1 sits
  // between fine columns 1 and 2 (bilinear, align_corners = false: 0, 0.25, 0.75, 1).
  const auto step = torch::tensor({0.0f, 1.0f}).view({1, 1, 1, 2});
  const auto row = upsample_to(step, 1, 3);
  EXPECT_TRUE(torch::allclose(row.flatten(), torch::tensor({0.0f, 0.25f, 0.75f})));
  EXPECT_EQ(upsample_to(torch::ones({1, 1, 2, 2}), 7, 5).sizes(), (Sizes{1, 1, 7, 5}));
}

// An RB-CBAM whose CBAM halves twice (zero MLP, zero 7x7 conv): F_c = 0.25 x in eval mode.
RbCbam quarter_rb_cbam(bool reverse, bool boundary) {
  RbCbam rb(4, 2, reverse, boundary);
  for (auto& p : rb->cbam->channel->parameters()) set_zero(p);
  set_zero(rb->cbam->spatial->conv->weight);
  rb->eval();
  return rb;
}

TEST(RbCbam, ConcatenatesReverseAndBoundaryProductsOfTheCbamFeature) {
  auto rb = quarter_rb_cbam(true, true);
  torch::manual_seed(9);
  const auto x = torch::randn({2, 4, 37, 29});
  const auto y = rb(x, torch::zeros({2, 1, 19, 15}));  // R = 0.5, B = 1 everywhere
  EXPECT_EQ(rb->out_channels(), 8);
  ASSERT_EQ(y.sizes(), (Sizes{2, 8, 37, 29}));
  EXPECT_TRUE(torch::allclose(y.slice(1, 0, 4), 0.125 * x));
  EXPECT_TRUE(torch::allclose(y.slice(1, 4, 8), 0.25 * x));
}

TEST(RbCbam, EachSwitchKeepsOnlyItsProduct) {
  torch::manual_seed(10);
  const auto x = torch::randn({1, 4, 5, 3});
  const auto big = torch::full({1, 1, 3, 2}, 30.0f);  // confident foreground: R ~ 0, B ~ 0
  auto reverse = quarter_rb_cbam(true, false);
  EXPECT_EQ(reverse->out_channels(), 4);
  EXPECT_LT(reverse(x, big).abs().max().item<float>(), 1e-9f);
  auto boundary = quarter_rb_cbam(false, true);
  EXPECT_TRUE(torch::allclose(boundary(x, torch::zeros({1, 1, 3, 2})), 0.25 * x));
  auto cbam_only = quarter_rb_cbam(false, false);
  EXPECT_FALSE(cbam_only->needs_logit());
  EXPECT_TRUE(torch::allclose(cbam_only(x, torch::Tensor()), 0.25 * x));
  EXPECT_THROW(reverse(x, torch::Tensor()), Error);
}

}  // namespace
}  // namespace orch
