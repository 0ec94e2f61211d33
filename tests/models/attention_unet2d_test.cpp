// attention_unet2d (docs/MODELS.md section 9): the lung-nodule U-Net with ASPP skips and one
// attention module per skip, its RB-CBAM ablation switches and its options.
#include "models/attention_unet2d.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "models/registry.h"
#include "tests/support/model_checks.h"

namespace orch {
namespace {

using nlohmann::json;
using Sizes = std::vector<int64_t>;

AttentionUnet2dOptions options(const json& j, double width, int64_t in = 1, int64_t classes = 2) {
  AttentionUnet2dOptions o = AttentionUnet2dOptions::from_json(j);
  o.width = width;
  o.in_channels = in;
  o.num_classes = classes;
  return o;
}

const std::vector<std::string> kAttentions = {"none", "se",   "attention_gate",
                                              "bam",  "cbam", "rb_cbam"};

// ---- shapes -------------------------------------------------------------------------------

TEST(AttentionUnet2d, EveryAttentionKeepsAnOddInputSize) {
  for (const auto& a : kAttentions) {
    torch::manual_seed(1);
    AttentionUnet2dImpl model(options(json{{"attention", a}}, 0.125, 1, 3));
    model.train();
    const auto y = model.forward(torch::randn({2, 1, 37, 29}));
    EXPECT_EQ(y.sizes(), (Sizes{2, 3, 37, 29})) << a;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << a;
  }
}

TEST(AttentionUnet2d, AblationSwitchesKeepTheShapeAndSetTheDeepSupervision) {
  for (bool aspp : {false, true})
    for (bool reverse : {false, true})
      for (bool boundary : {false, true}) {
        const json j{{"aspp", aspp}, {"reverse", reverse}, {"boundary", boundary}};
        torch::manual_seed(2);
        AttentionUnet2dImpl model(options(j, 0.125));
        const auto y = model.forward(torch::randn({2, 1, 37, 29}));
        EXPECT_EQ(y.sizes(), (Sizes{2, 2, 37, 29})) << j.dump();
        const auto& aux = model.aux_logits();
        if (!reverse && !boundary) {
          EXPECT_TRUE(aux.empty()) << j.dump();
          continue;
        }
        // Ceil-mode grids of 37x29: 19x15, 10x8, 5x4, then the bottleneck's 3x2.
        ASSERT_EQ(aux.size(), 4u) << j.dump();
        EXPECT_EQ(aux[0].sizes(), (Sizes{2, 1, 3, 2}));
        EXPECT_EQ(aux[1].sizes(), (Sizes{2, 1, 5, 4}));
        EXPECT_EQ(aux[2].sizes(), (Sizes{2, 1, 10, 8}));
        EXPECT_EQ(aux[3].sizes(), (Sizes{2, 1, 19, 15}));
      }
}

TEST(AttentionUnet2d, TinyAndPrimeSizesInEvalMode) {
  torch::manual_seed(3);
  for (const auto& a : {"rb_cbam", "attention_gate", "bam"}) {
    AttentionUnet2dImpl model(options(json{{"attention", a}}, 0.125));
    model.eval();
    torch::NoGradGuard no_grad;
    for (const auto& hw : std::vector<Sizes>{{1, 1}, {2, 3}, {17, 5}}) {
      const auto y = model.forward(torch::randn({1, 1, hw[0], hw[1]}));
      EXPECT_EQ(y.sizes(), (Sizes{1, 2, hw[0], hw[1]})) << a << " " << hw[0] << "x" << hw[1];
    }
  }
}

TEST(AttentionUnet2d, TrainsOnABatchOfOne) {
  // BAM's BN1d and ASPP's image-pooling BN see one value per channel with a batch of one.
  for (const auto& a : {"bam", "rb_cbam"}) {
    torch::manual_seed(4);
    AttentionUnet2dImpl model(options(json{{"attention", a}}, 0.125));
    model.train();
    const auto y = model.forward(torch::randn({1, 1, 21, 18}));
    EXPECT_EQ(y.sizes(), (Sizes{1, 2, 21, 18})) << a;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << a;
  }
}

// ---- gradients ------------------------------------------------------------------------------

TEST(AttentionUnet2d, EveryRbCbamParameterGetsAGradientFromTheFinalLogitsAlone) {
  torch::manual_seed(11);
  AttentionUnet2dImpl model(options(json::object(), 0.25));  // rb_cbam, ASPP, reverse, boundary
  model.train();
  const auto x = torch::randn({2, 1, 33, 27});
  const auto target = torch::randint(0, 2, {2, 33, 27}, torch::kInt64);
  torch::nn::functional::cross_entropy(model.forward(x), target).backward();
  int64_t checked = 0, aux = 0;
  for (const auto& p : model.named_parameters()) {
    const auto& g = p.value().grad();
    ASSERT_TRUE(g.defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << p.key();
    EXPECT_GT(g.abs().sum().item<double>(), 0.0) << p.key();
    ++checked;
    if (p.key().rfind("aux", 0) == 0) ++aux;
  }
  EXPECT_EQ(aux, 8);  // 4 heads: weight and bias, reached only through R and B
  EXPECT_GT(checked, 100);
}

// ---- parameter counts ---------------------------------------------------------------------

TEST(AttentionUnet2d, PlainConfigurationIsTheStandardUNetOf31MParameters) {
  // (Conv3x3 -> BN -> ReLU) x 2, base 64, ConvTranspose up-sampling, 3 -> 2 channels: the
  // milesial-style U-Net, whose count 31,037,698 is widely reported.
  AttentionUnet2dImpl model(options(json{{"attention", "none"}, {"aspp", false}}, 1.0, 3, 2));
  EXPECT_EQ(testing::parameter_count(model), 31037698);
}

// Parameter counts of the blocks, from their definitions (width 1, reduction 16).
int64_t pair(int64_t in, int64_t out) { return 9 * in * out + 2 * out + 9 * out * out + 2 * out; }
int64_t aspp(int64_t c) { return 34 * c * c + 12 * c; }  // 1x1, 3 x 3x3, pool, 5c->c; 6 BN
int64_t se(int64_t c) { return 2 * c * (c / 16); }
int64_t cbam(int64_t c) { return 2 * c * (c / 16) + c / 16 + c + 98 + 2; }
int64_t bam(int64_t c) {
  const int64_t h = c / 16;
  return (c * h + h) + 2 * h + (h * c + c) + (c * h + h) + 2 * h + 2 * (9 * h * h + h + 2 * h) +
         (h + 1);
}
int64_t gate(int64_t cx, int64_t cg) {
  const int64_t i = cx / 2;
  return 4 * cx * i + (cg * i + i) + (i + 1) + (cx * cx + cx) + 2 * cx;
}

// A 1-channel, 2-class U-Net whose skip at level l carries skip_mult * f_l channels into the
// decoder, plus `extra(l)` parameters per skip.
template <typename Extra>
int64_t unet(int64_t skip_mult, Extra extra) {
  const int64_t f[5] = {64, 128, 256, 512, 1024};
  int64_t t = pair(1, 64) + 64 * 2 + 2;
  for (int l = 0; l < 4; ++l)
    t += pair(f[l], f[l + 1]) + (4 * f[l + 1] * f[l] + f[l]) + pair(skip_mult * f[l] + f[l], f[l]) +
         aspp(f[l]) + extra(f[l], f[l + 1]);
  return t;
}

TEST(AttentionUnet2d, FullWidthParameterCountsFollowTheBlockDefinitions) {
  const auto n = [](const std::string& a) {
    AttentionUnet2dImpl model(options(json{{"attention", a}}, 1.0));
    return testing::parameter_count(model);
  };
  EXPECT_EQ(n("none"), unet(1, [](int64_t, int64_t) { return 0; }));
  EXPECT_EQ(n("se"), unet(1, [](int64_t c, int64_t) { return se(c); }));
  EXPECT_EQ(n("attention_gate"), unet(1, [](int64_t c, int64_t g) { return gate(c, g); }));
  EXPECT_EQ(n("bam"), unet(1, [](int64_t c, int64_t) { return bam(c); }));
  EXPECT_EQ(n("cbam"), unet(1, [](int64_t c, int64_t) { return cbam(c); }));
  // RB-CBAM: concat[F_r, F_b] doubles the skip; one 1x1 head (-> 1) on each deeper level.
  EXPECT_EQ(n("rb_cbam"), unet(2, [](int64_t c, int64_t g) { return cbam(c) + g + 1; }));
}

TEST(AttentionUnet2d, RbCbamWithBothSwitchesOffIsCbam) {
  const auto n = [](const json& j) {
    AttentionUnet2dImpl model(options(j, 0.25));
    return testing::parameter_count(model);
  };
  EXPECT_EQ(n(json{{"reverse", false}, {"boundary", false}}), n(json{{"attention", "cbam"}}));
}

// ---- options ----------------------------------------------------------------------------------

TEST(AttentionUnet2dOptions, DefaultsAreRbCbamWithAsppAndBothAttentions) {
  const auto o = AttentionUnet2dOptions::from_json(json::object());
  EXPECT_EQ(o.attention, SkipAttentionKind::kRbCbam);
  EXPECT_TRUE(o.aspp && o.reverse && o.boundary && o.aspp_pooling);
  EXPECT_EQ(o.aspp_rates, (Sizes{2, 4, 6}));
  EXPECT_EQ(o.base_filters, 64);
  EXPECT_EQ(o.reduction, 16);
  EXPECT_TRUE(o.deep_supervision());
}

TEST(AttentionUnet2dOptions, ReadsEveryOption) {
  const auto o = AttentionUnet2dOptions::from_json(json{{"attention", "bam"},
                                                        {"bam_combine", "product"},
                                                        {"aspp_rates", {1, 3}},
                                                        {"aspp_pooling", false},
                                                        {"base_filters", 32},
                                                        {"width", 0.5},
                                                        {"reduction", 8}});
  EXPECT_EQ(o.attention, SkipAttentionKind::kBam);
  EXPECT_EQ(o.bam_combine, BamCombine::kProduct);
  EXPECT_EQ(o.aspp_rates, (Sizes{1, 3}));
  EXPECT_FALSE(o.aspp_pooling);
  EXPECT_EQ(o.base_filters, 32);
  EXPECT_DOUBLE_EQ(o.width, 0.5);
  EXPECT_EQ(o.reduction, 8);
  EXPECT_FALSE(o.deep_supervision());
}

TEST(AttentionUnet2dOptions, ErrorsNameTheOffendingKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"depth", 4}}, "depth"},
      {json{{"attention", "transformer"}}, "attention"},
      {json{{"attention", 3}}, "attention"},
      {json{{"aspp", "yes"}}, "aspp"},
      {json{{"reverse", 1}}, "reverse"},
      {json{{"attention", "se"}, {"reverse", false}}, "reverse"},
      {json{{"attention", "cbam"}, {"boundary", true}}, "boundary"},
      {json{{"attention", "cbam"}, {"bam_combine", "sum"}}, "bam_combine"},
      {json{{"attention", "bam"}, {"bam_combine", "max"}}, "bam_combine"},
      {json{{"aspp", false}, {"aspp_rates", {1, 2}}}, "aspp_rates"},
      {json{{"aspp", false}, {"aspp_pooling", true}}, "aspp_pooling"},
      {json{{"aspp_rates", json::array()}}, "aspp_rates"},
      {json{{"aspp_rates", {6, 0, 18}}}, "aspp_rates"},
      {json{{"aspp_rates", 6}}, "aspp_rates"},
      {json{{"base_filters", 0}}, "base_filters"},
      {json{{"base_filters", 2.5}}, "base_filters"},
      {json{{"width", 0}}, "width"},
      {json{{"width", 5}}, "width"},
      {json{{"reduction", -16}}, "reduction"},
  };
  for (const auto& [o, key] : bad) {
    const Status st = check_model_options("attention_unet2d", o);
    EXPECT_EQ(st.key(), key) << o.dump() << " -> " << st.message();
    EXPECT_FALSE(st.message().empty()) << o.dump();
  }
}

TEST(AttentionUnet2dOptions, RegistryBuildsTheModelWithTheDatasetShape) {
  EXPECT_TRUE(
      check_model_options("attention_unet2d", json{{"attention", "se"}, {"aspp", false}}).ok());
  torch::manual_seed(12);
  const auto model = make_model("attention_unet2d", json{{"width", 0.125}}, ModelShape{3, 4});
  EXPECT_EQ(model->input_form(), InputForm::kSlice2d);
  EXPECT_EQ(model->forward(torch::randn({2, 3, 11, 13})).sizes(), (Sizes{2, 4, 11, 13}));
}

}  // namespace
}  // namespace orch
