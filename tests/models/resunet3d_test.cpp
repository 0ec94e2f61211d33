// resunet3d (docs/MODELS.md section 8): the Isensee-2017 / pykao "Modified 3D U-Net" and its
// blocks.
#include "models/resunet3d.h"

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
namespace F = torch::nn::functional;

Resunet3dOptions opts(double width, int64_t in = 1, int64_t k = 2) {
  Resunet3dOptions o;
  o.width = width;
  o.in_channels = in;
  o.num_classes = k;
  return o;
}

// ---- shapes -------------------------------------------------------------------------------

TEST(Resunet3d, OddPatchGivesLogitsOfTheSameSize) {
  torch::manual_seed(1);
  Resunet3dImpl model(opts(0.5, /*in=*/1, /*k=*/2));
  model.train();
  const auto y = model.forward(torch::randn({2, 1, 19, 23, 17}));
  EXPECT_EQ(y.sizes(), (Sizes{2, 2, 19, 23, 17}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(Resunet3d, MultiChannelInputGivesOneLogitPerClass) {
  torch::manual_seed(2);
  Resunet3dImpl model(opts(0.25, /*in=*/4, /*k=*/3));
  const auto y = model.forward(torch::randn({1, 4, 32, 16, 20}));
  EXPECT_EQ(y.sizes(), (Sizes{1, 3, 32, 16, 20}));
}

TEST(Resunet3d, TinyAndFlatPatchesWorkInEvalMode) {
  torch::manual_seed(3);
  Resunet3dImpl model(opts(0.25));
  model.eval();
  torch::NoGradGuard no_grad;
  for (const auto& dhw : std::vector<Sizes>{{1, 1, 1}, {2, 3, 5}, {17, 1, 33}}) {
    const auto y = model.forward(torch::randn({1, 1, dhw[0], dhw[1], dhw[2]}));
    EXPECT_EQ(y.sizes(), (Sizes{1, 2, dhw[0], dhw[1], dhw[2]}));
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
  EXPECT_EQ(model.size_multiple(), 16);
  EXPECT_EQ(model.input_form(), InputForm::kPatch3d);
}

TEST(Resunet3d, DropoutActsOnlyInTraining) {
  torch::manual_seed(4);
  Resunet3dImpl model(opts(0.5));
  const auto x = torch::randn({1, 1, 16, 16, 32});
  torch::NoGradGuard no_grad;
  model.eval();
  EXPECT_TRUE(torch::equal(model.forward(x), model.forward(x)));
  model.train();
  EXPECT_FALSE(torch::allclose(model.forward(x), model.forward(x)));
}

// ---- parameter count ----------------------------------------------------------------------

TEST(Resunet3d, ParameterCountFollowsThePykaoLayerList) {
  // in = 1, classes = 2, f = 8. Every conv is bias-free and InstanceNorm has no parameters, so
  // a k^3 conv from a to b channels has k^3 * a * b weights.
  //   L1: 27*1*8 + 27*8*8 + 27*8*8                        =   216 +   1728 +   1728 =   3672
  //   L2: 27*8*16 (stride 2) + 27*16*16 (shared, once)     =  3456 +   6912          =  10368
  //   L3: 27*16*32 + 27*32*32                              = 13824 +  27648          =  41472
  //   L4: 27*32*64 + 27*64*64                              = 55296 + 110592          = 165888
  //   L5: 27*64*128 + 27*128*128                           = 221184 + 442368         = 663552
  //   bottom up: 27*128*64, 1x1: 64*64                     = 221184 + 4096           = 225280
  //   l1: 27*128*128 + 128*64 + up 27*64*32                = 442368 + 8192 + 55296   = 505856
  //   l2: 27*64*64 + 64*32 + up 27*32*16                   = 110592 + 2048 + 13824   = 126464
  //   l3: 27*32*32 + 32*16 + up 27*16*8                    =  27648 +  512 +  3456   =  31616
  //   l4: 27*16*16 + 1x1 16*2                              =   6912 +   32           =   6944
  //   deep supervision heads: 64*2 + 32*2                  =    128 +   64           =    192
  //   total = 3672 + 10368 + 41472 + 165888 + 663552 + 225280 + 505856 + 126464 + 31616
  //           + 6944 + 192 = 1781304
  Resunet3dImpl shared(opts(1.0));
  EXPECT_EQ(testing::parameter_count(shared), 1781304);
  // Unshared (Isensee's paper): L2-L5 get a second conv each, 27*(16^2 + 32^2 + 64^2 + 128^2)
  // = 27 * 21760 = 587520 more.
  Resunet3dOptions o = opts(1.0);
  o.shared_context_conv = false;
  Resunet3dImpl unshared(o);
  EXPECT_EQ(testing::parameter_count(unshared), 1781304 + 587520);
}

TEST(Resunet3d, EveryConvIsBiasFree) {
  Resunet3dImpl model(opts(0.5));
  for (const auto& p : model.named_parameters()) {
    EXPECT_EQ(p.key().find("bias"), std::string::npos) << p.key();
    EXPECT_EQ(p.value().dim(), 5) << p.key();
  }
}

// ---- blocks ---------------------------------------------------------------------------------

// IN(affine=False) -> LReLU(0.01), written out from the definitions.
torch::Tensor in_lrelu_by_hand(const torch::Tensor& x) {
  const auto mean = x.mean({2, 3, 4}, true);
  const auto var = (x - mean).pow(2).mean({2, 3, 4}, true);  // biased, as InstanceNorm uses
  const auto n = (x - mean) / torch::sqrt(var + 1e-5);
  return torch::where(n > 0, n, 0.01 * n);
}

TEST(ResidualContext3d, SharedModuleAppliesOneConvTwiceAroundTheResidual) {
  torch::manual_seed(6);
  ResidualContext3d block(3, 4, /*dropout=*/0.0, /*shared=*/true);
  EXPECT_EQ(block->named_parameters().size(), 2u);  // down and conv_a only
  const auto x = torch::randn({2, 3, 7, 6, 5});
  torch::NoGradGuard no_grad;
  const auto r = block->down(x);
  EXPECT_EQ(r.sizes(), (Sizes{2, 4, 4, 3, 3}));  // stride 2, padding 1: ceil halves
  const auto& w = block->conv_a->weight;
  auto y = F::conv3d(in_lrelu_by_hand(r), w, F::Conv3dFuncOptions().padding(1));
  y = F::conv3d(in_lrelu_by_hand(y), w, F::Conv3dFuncOptions().padding(1));
  EXPECT_TRUE(torch::allclose(block->forward(x), y + r, 1e-4, 1e-5));
}

TEST(ResidualContext3d, UnsharedModuleHasTwoDistinctConvs) {
  torch::manual_seed(7);
  ResidualContext3d block(3, 4, 0.0, /*shared=*/false);
  EXPECT_EQ(block->named_parameters().size(), 3u);
  const auto x = torch::randn({1, 3, 6, 6, 6});
  torch::NoGradGuard no_grad;
  const auto r = block->down(x);
  auto y = F::conv3d(in_lrelu_by_hand(r), block->conv_a->weight, F::Conv3dFuncOptions().padding(1));
  y = F::conv3d(in_lrelu_by_hand(y), block->conv_b->weight, F::Conv3dFuncOptions().padding(1));
  EXPECT_TRUE(torch::allclose(block->forward(x), y + r, 1e-4, 1e-5));
}

TEST(Upscale3d, RepeatsEveryVoxelTwiceAlongEachAxisBeforeTheConv) {
  const auto x = torch::arange(8, torch::kFloat).reshape({1, 1, 2, 2, 2});
  const auto up = upsample_nearest2(x);
  EXPECT_EQ(up.sizes(), (Sizes{1, 1, 4, 4, 4}));
  for (int64_t d = 0; d < 4; ++d)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t w = 0; w < 4; ++w)
        EXPECT_EQ(up[0][0][d][h][w].item<float>(), x[0][0][d / 2][h / 2][w / 2].item<float>());
}

// ---- gradients ------------------------------------------------------------------------------

TEST(Resunet3d, EveryParameterReceivesAFiniteNonZeroGradient) {
  for (const bool shared : {true, false}) {
    torch::manual_seed(11);
    Resunet3dOptions o = opts(0.5);
    o.shared_context_conv = shared;
    Resunet3dImpl model(o);
    model.train();
    const auto x = torch::randn({2, 1, 19, 23, 17});
    const auto target = torch::randint(0, 2, {2, 19, 23, 17}, torch::kInt64);
    F::cross_entropy(model.forward(x), target).backward();
    int64_t checked = 0;
    EXPECT_TRUE(testing::every_parameter_has_a_gradient(model, &checked));
    // 3 (L1) + 2 or 3 per context level x 4 + bottom 2 + 3 x 3 localization + l4 conv + 3 heads.
    EXPECT_EQ(checked, 3 + (shared ? 2 : 3) * 4 + 2 + 9 + 1 + 3) << shared;
  }
}

// ---- options and registry -------------------------------------------------------------------

TEST(Resunet3dOptions, DefaultsFollowPykaoAndEveryOptionIsRead) {
  const auto d = Resunet3dOptions::from_json(json::object());
  EXPECT_EQ(d.base_filters, 8);
  EXPECT_DOUBLE_EQ(d.dropout, 0.6);
  EXPECT_TRUE(d.shared_context_conv);
  const auto o = Resunet3dOptions::from_json(
      json{{"base_filters", 16}, {"width", 0.5}, {"dropout", 0.3}, {"shared_context_conv", false}});
  EXPECT_EQ(o.base_filters, 16);
  EXPECT_DOUBLE_EQ(o.width, 0.5);
  EXPECT_DOUBLE_EQ(o.dropout, 0.3);
  EXPECT_FALSE(o.shared_context_conv);
}

TEST(Resunet3dOptions, CheckNamesTheOffendingKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"base_filters", 0}}, "base_filters"},
      {json{{"base_filters", 8.5}}, "base_filters"},
      {json{{"width", -1}}, "width"},
      {json{{"dropout", 1.0}}, "dropout"},
      {json{{"dropout", -0.1}}, "dropout"},
      {json{{"shared_context_conv", "yes"}}, "shared_context_conv"},
      {json{{"variant", "thesis"}}, "variant"},
  };
  for (const auto& [options, key] : bad) {
    const Status st = check_model_options("resunet3d", options);
    EXPECT_EQ(st.key(), key) << options.dump();
    EXPECT_FALSE(st.message().empty()) << options.dump();
  }
  EXPECT_TRUE(check_model_options("resunet3d", json{{"dropout", 0}, {"base_filters", 16}}).ok());
}

TEST(Resunet3dRegistry, MakeModelAppliesTheDatasetShapeAndBaseFilters) {
  torch::manual_seed(9);
  const auto model = make_model("resunet3d", json{{"base_filters", 4}}, ModelShape{1, 2});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->input_form(), InputForm::kPatch3d);
  std::map<std::string, torch::Tensor> p;
  for (const auto& kv : model->named_parameters()) p[kv.key()] = kv.value();
  EXPECT_EQ(p.at("c1_first.weight").sizes(), (Sizes{4, 1, 3, 3, 3}));
  EXPECT_EQ(p.at("context5.down.weight").sizes(), (Sizes{64, 32, 3, 3, 3}));
  EXPECT_EQ(p.at("out.weight").sizes(), (Sizes{2, 8, 1, 1, 1}));
  const auto y = model->forward(torch::randn({1, 1, 20, 18, 17}));
  EXPECT_EQ(y.sizes(), (Sizes{1, 2, 20, 18, 17}));
}

}  // namespace
}  // namespace orch
