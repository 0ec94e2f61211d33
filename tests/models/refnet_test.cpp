// refnet (docs/MODELS.md section 7) and the Conv-BN-ReLU U-Net blocks (section 4).
#include "models/refnet.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "models/blocks/conv_bn_relu.h"
#include "models/registry.h"
#include "tests/support/model_checks.h"

namespace orch {
namespace {

using nlohmann::json;

RefNetOptions small(int64_t num_classes, const json& j = json::object()) {
  RefNetOptions o = RefNetOptions::from_json(j);
  if (!j.contains("base_filters")) o.base_filters = 8;
  o.num_classes = num_classes;
  return o;
}

// A (B, 1, H, W) label map with every class in 0..k-1 present.
torch::Tensor labels(int64_t b, int64_t h, int64_t w, int64_t k) {
  auto x = torch::randint(0, k, {b, 1, h, w}).to(torch::kFloat32);
  for (int64_t c = 0; c < k; ++c) x.index_put_({0, 0, 0, c}, static_cast<double>(c));
  return x;
}

// ---- shapes ---------------------------------------------------------------------------------

TEST(RefNet, OddSizedLabelMapsGiveLogitsOfTheSameSize) {
  for (const bool bilinear : {false, true}) {
    torch::manual_seed(1);
    RefNetOptions o = small(14);
    o.bilinear = bilinear;
    RefNetImpl model(o);
    // 37x29 pools (ceil mode) to 19x15, 10x8, 5x4, 3x2.
    const auto y = model.forward(labels(2, 37, 29, 14));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 14, 37, 29})) << bilinear;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
}

TEST(RefNet, TinySizesInEvalMode) {
  torch::manual_seed(2);
  RefNetImpl model(small(3));
  model.eval();
  torch::NoGradGuard no_grad;
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 3}, {17, 5}}) {
    const auto y = model.forward(torch::zeros({1, 1, h, w}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, h, w})) << h << "x" << w;
  }
  EXPECT_EQ(model.input_form(), InputForm::kSlice2d);
}

// ---- input checks ---------------------------------------------------------------------------

TEST(RefNet, RejectsValuesThatAreNotClassIndices) {
  RefNetImpl model(small(3));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const float bad : {-1.0f, 3.0f, 1.5f, nan}) {
    auto x = torch::zeros({1, 1, 8, 8});
    x.index_put_({0, 0, 4, 5}, bad);
    try {
      model.forward(x);
      FAIL() << "expected orch::Error for " << bad;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("refnet"), std::string::npos) << msg;
      EXPECT_NE(msg.find("0..2"), std::string::npos) << msg;
    }
  }
}

TEST(RefNet, RejectsMoreThanOneInputChannel) {
  RefNetImpl model(small(3));
  EXPECT_THROW(model.forward(torch::zeros({1, 2, 8, 8})), Error);
  EXPECT_THROW(model.forward(torch::zeros({1, 8, 8})), Error);
  try {
    make_model("refnet", json::object(), ModelShape{3, 14});
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("in_channels"), std::string::npos) << e.what();
  }
}

// ---- parameter counts -----------------------------------------------------------------------

TEST(RefNet, DefaultParameterCountMatchesTheUNetArithmetic) {
  // Bias-free 3x3 convs + BN: double(i, o) = 9io + 2o + 9oo + 2o.
  // Embedding 14x16 = 224; down: (16,64) 46336, (64,128) 221696, (128,256) 885760,
  // (256,512) 3540992, (512,1024) 14159872; up, ConvT 4io+o then double(2o, o):
  // (1024,512) 2097664 + 7079936, (512,256) 524544 + 1770496, (256,128) 131200 + 442880,
  // (128,64) 32832 + 110848; logits 64*14+14 = 910.
  // Cross-check: milesial's UNet(3 channels, 2 classes, bilinear=False) has 31,037,698; ours
  // differs by the first conv's 13 extra input channels (9*13*64 = 7488), the embedding (224)
  // and 12 more logits (780): 31,046,190.
  RefNetOptions o;
  o.num_classes = 14;
  RefNetImpl model(o);
  EXPECT_EQ(testing::parameter_count(model), 31046190);
}

TEST(RefNet, BilinearSmallParameterCountMatchesHandArithmetic) {
  // embed 3x3 = 9; down (3,4) 108+144+16 = 268, (4,8) 288+576+32 = 896,
  // (8,16) 1152+2304+64 = 3520; bilinear keeps channels: up1 double(16+8, 8) = 1728+576+32 = 2336,
  // up0 double(8+4, 4) = 432+144+16 = 592; logits 4*3+3 = 15. Total 7636.
  RefNetImpl model(small(
      3, json{{"embed_dim", 3}, {"base_filters", 4}, {"depth", 2}, {"upsample", "bilinear"}}));
  EXPECT_EQ(testing::parameter_count(model), 7636);
}

TEST(RefNet, WidthScalesFiltersButNotTheEmbedding) {
  RefNetImpl model(small(5, json{{"base_filters", 64}, {"width", 0.25}}));
  std::map<std::string, std::vector<int64_t>> sizes;
  for (const auto& p : model.named_parameters()) sizes[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(sizes.at("embed.weight"), (std::vector<int64_t>{5, 16}));
  EXPECT_EQ(sizes.at("down0.conv1.weight"), (std::vector<int64_t>{16, 16, 3, 3}));
  EXPECT_EQ(sizes.at("down4.conv2.weight"), (std::vector<int64_t>{256, 256, 3, 3}));
  EXPECT_EQ(sizes.at("up3.deconv.weight"), (std::vector<int64_t>{256, 128, 2, 2}));
  EXPECT_EQ(sizes.at("up0.conv.conv1.weight"), (std::vector<int64_t>{16, 32, 3, 3}));
  EXPECT_EQ(sizes.at("logits.weight"), (std::vector<int64_t>{5, 16, 1, 1}));
}

// ---- gradients and learning -----------------------------------------------------------------

TEST(RefNet, EveryParameterAndEveryEmbeddingRowReceivesAGradient) {
  for (const bool bilinear : {false, true}) {
    torch::manual_seed(3);
    RefNetOptions o = small(5);
    o.bilinear = bilinear;
    RefNetImpl model(o);
    model.train();
    const auto target = torch::randint(0, 5, {2, 19, 13}, torch::kInt64);
    torch::nn::functional::cross_entropy(model.forward(labels(2, 19, 13, 5)), target).backward();
    for (const auto& p : model.named_parameters()) {
      const auto& g = p.value().grad();
      ASSERT_TRUE(g.defined()) << p.key();
      EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << p.key();
      EXPECT_GT(g.abs().sum().item<double>(), 0.0) << p.key();
    }
    const auto rows = model.named_parameters()["embed.weight"].grad().abs().sum(1);
    for (int64_t c = 0; c < 5; ++c) EXPECT_GT(rows[c].item<double>(), 0.0) << "class " << c;
  }
}

TEST(RefNet, LearnsTheIdentityOnALabelMap) {
  // Input labels = target labels: the embedding makes the identity learnable in a few steps.
  torch::manual_seed(4);
  RefNetImpl model(small(3));
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(1e-2));
  const auto x = labels(2, 16, 16, 3);  // batch 2: BN needs > 1 value at the 1x1 bottom
  const auto target = x.squeeze(1).to(torch::kInt64);
  model.train();
  for (int step = 0; step < 40; ++step) {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model.forward(x), target).backward();
    opt.step();
  }
  torch::NoGradGuard no_grad;
  const auto predicted = model.forward(x).argmax(1);
  EXPECT_TRUE(torch::equal(predicted, target))
      << (predicted != target).sum().item<int64_t>() << " of 512 pixels differ";
  // Eval mode normalises with BN's running statistics, which after 40 steps (momentum 0.1) still
  // lag the batch's; how far depends on the BLAS's rounding (OpenBLAS and the reference BLAS
  // differ). Settle them on the same input (0.9^60 < 0.2%) so eval reads what training learned.
  for (int i = 0; i < 60; ++i) model.forward(x);
  model.eval();
  const auto p2 = model.forward(x).argmax(1);
  EXPECT_TRUE(torch::equal(p2, target)) << "eval " << (p2 != target).sum().item<int64_t>();
}

// ---- options --------------------------------------------------------------------------------

TEST(RefNetOptions, ReadsEveryOption) {
  const auto o = RefNetOptions::from_json(json{{"embed_dim", 32},
                                               {"base_filters", 16},
                                               {"depth", 3},
                                               {"width", 0.5},
                                               {"upsample", "bilinear"}});
  EXPECT_EQ(o.embed_dim, 32);
  EXPECT_EQ(o.base_filters, 16);
  EXPECT_EQ(o.depth, 3);
  EXPECT_DOUBLE_EQ(o.width, 0.5);
  EXPECT_TRUE(o.bilinear);
  const auto d = RefNetOptions::from_json(json::object());
  EXPECT_EQ(d.embed_dim, 16);
  EXPECT_EQ(d.base_filters, 64);
  EXPECT_EQ(d.depth, 4);
  EXPECT_FALSE(d.bilinear);
}

TEST(RefNetOptions, BadOptionsNameTheirKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"embed_dim", 0}}, "embed_dim"},
      {json{{"embed_dim", 2.5}}, "embed_dim"},
      {json{{"base_filters", -8}}, "base_filters"},
      {json{{"depth", 0}}, "depth"},
      {json{{"depth", 7}}, "depth"},
      {json{{"width", 0}}, "width"},
      {json{{"upsample", "nearest"}}, "upsample"},
      {json{{"filters", {64}}}, "filters"},
  };
  for (const auto& [options, key] : bad) {
    const Status st = check_model_options("refnet", options);
    EXPECT_EQ(st.key(), key) << options.dump();
    EXPECT_FALSE(st.message().empty()) << options.dump();
  }
}

TEST(RefNetOptions, MakeModelUsesTheClassCount) {
  torch::manual_seed(5);
  const auto model = make_model("refnet", json{{"width", 0.125}}, ModelShape{1, 4});
  EXPECT_EQ(model->forward(labels(2, 11, 13, 4)).sizes(), (std::vector<int64_t>{2, 4, 11, 13}));
  EXPECT_THROW(make_model("refnet", json::object(), ModelShape{1, 1}), Error);
}

}  // namespace
}  // namespace orch
