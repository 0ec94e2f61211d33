// spider_unet (docs/MODELS.md section 1): wide_unet's warp path shared over T slices, a
// bidirectional ConvLSTM bottleneck across T.
#include "models/spider_unet.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "common/status.h"
#include "models/registry.h"
#include "tests/support/model_checks.h"

namespace orch {
namespace {

using nlohmann::json;

SpiderUnetOptions narrow(double width, int64_t in_channels = 1, int64_t num_classes = 2) {
  SpiderUnetOptions o;
  o.unet.width = width;
  o.unet.in_channels = in_channels;
  o.unet.num_classes = num_classes;
  return o;
}

// ---- shapes -------------------------------------------------------------------------------

TEST(SpiderUnet, OddSizesGiveLogitsPerSliceOfTheSameSize) {
  torch::manual_seed(1);
  SpiderUnetImpl model(narrow(0.125, /*in_channels=*/2, /*num_classes=*/3));
  const auto y = model.forward(torch::randn({2, 3, 2, 37, 29}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 3, 37, 29}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(SpiderUnet, AcceptsAnyTimeLengthAndTinySlices) {
  torch::manual_seed(2);
  SpiderUnetImpl model(narrow(0.0625));
  model.eval();
  torch::NoGradGuard no_grad;
  for (int64_t t : {1, 2, 7}) {
    const auto y = model.forward(torch::randn({1, t, 1, 5, 3}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, t, 2, 5, 3})) << t;
  }
  EXPECT_EQ(model.forward(torch::randn({1, 2, 1, 1, 1})).sizes(),
            (std::vector<int64_t>{1, 2, 2, 1, 1}));
}

TEST(SpiderUnet, ReportsSequenceInputAndTheConfiguredLength) {
  SpiderUnetImpl model(narrow(0.0625));
  EXPECT_EQ(model.input_form(), InputForm::kSequence);
  EXPECT_EQ(model.sequence_length(), 5);  // the thesis's T
  auto o = narrow(0.0625);
  o.sequence.sequence_length = 16;  // the author's code
  EXPECT_EQ(SpiderUnetImpl(o).sequence_length(), 16);
}

TEST(SpiderUnet, RejectsInputWithoutATimeAxisOrWithWrongChannels) {
  SpiderUnetImpl model(narrow(0.0625));
  EXPECT_THROW(model.forward(torch::randn({1, 1, 8, 8})), Error);
  EXPECT_THROW(model.forward(torch::randn({1, 3, 2, 8, 8})), Error);
  EXPECT_THROW(model.forward(torch::randn({1, 0, 1, 8, 8})), Error);
}

// ---- parameter count ----------------------------------------------------------------------

int64_t conv3x3(int64_t in, int64_t out) { return 9 * in * out + out; }
int64_t conv_relu_bn(int64_t in, int64_t out) { return conv3x3(in, out) + 2 * out; }
int64_t two_conv(int64_t in, int64_t out) { return conv_relu_bn(in, out) + conv_relu_bn(out, out); }
int64_t deconv2x2(int64_t in, int64_t out) { return 4 * in * out + out; }

TEST(SpiderUnet, FullWidthParameterCountIsWideUnetWithTheConvLstmBottleneck) {
  // Filters 64,128,196,256,512; 1 in, 2 classes. glorot_uniform recurrent kernels: the orthogonal
  // default's QR takes ~40 s per direction here and does not change the count.
  SpiderUnetOptions o;
  o.sequence.recurrent_init = RecurrentInit::kGlorotUniform;
  SpiderUnetImpl model(o);
  const int64_t bottleneck = 2 * (9 * 256 * 2048 + 9 * 512 * 2048 + 2048);
  EXPECT_EQ(bottleneck, 28315648);  // docs/MODELS.md section 1
  const int64_t expected = two_conv(1, 64) + two_conv(64, 128) + two_conv(128, 196) +
                           two_conv(196, 256)  // encoder, 1875432
                           + bottleneck + deconv2x2(512, 256) + two_conv(512, 256) +
                           deconv2x2(256, 196) + two_conv(392, 196) + deconv2x2(196, 128) +
                           two_conv(256, 128) + deconv2x2(128, 64) +
                           two_conv(128, 64)  // decoder, 4222284
                           + conv_relu_bn(64, 32) + conv3x3(32, 2);
  EXPECT_EQ(expected, 34432470);  // wide_unet's 7298006 - 1181184 (its conv) + 28315648
  EXPECT_EQ(testing::parameter_count(model), expected);
  EXPECT_EQ(testing::parameter_count(model, "weft."), bottleneck);
  // No BN in the bottleneck: 17 BN layers, wide_unet's 18 less its bottleneck conv's.
  int64_t bn_layers = 0;
  for (const auto& m : model.modules(/*include_self=*/false))
    if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) ++bn_layers;
  EXPECT_EQ(bn_layers, 17);
}

// ---- gradients ------------------------------------------------------------------------------

TEST(SpiderUnet, EveryParameterReceivesANonZeroGradient) {
  torch::manual_seed(11);
  SpiderUnetImpl model(narrow(0.125));
  model.train();
  const auto y = model.forward(torch::randn({1, 3, 1, 20, 17}));  // (1, 3, 2, 20, 17)
  const auto target = torch::randint(0, 2, {3, 20, 17}, torch::kInt64);
  torch::nn::functional::cross_entropy(y.flatten(0, 1), target).backward();
  int64_t checked = 0;
  EXPECT_TRUE(testing::every_parameter_has_a_gradient(model, &checked));
  // 17 conv+BN (4 each), 4 deconvs (2), logits (2), 2 ConvLSTM directions (3 each).
  EXPECT_EQ(checked, 17 * 4 + 4 * 2 + 2 + 2 * 3);
}

// ---- warp (shared weights) and weft (order across T) ---------------------------------------

TEST(SpiderUnet, WarpPathEncodesEachSliceWithTheSameWeights) {
  torch::manual_seed(12);
  SpiderUnetImpl model(narrow(0.125));
  model.eval();  // BN on running statistics, so a slice's features cannot depend on its batch
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 4, 1, 19, 23});
  const auto features = model.encode(x);
  ASSERT_EQ(features.sizes(), (std::vector<int64_t>{2, 4, 32, 2, 2}));  // 19x23 -> 2x2
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t) {
      const auto alone = model.encode(x.slice(0, b, b + 1).slice(1, t, t + 1));  // a T=1 sequence
      EXPECT_TRUE(torch::allclose(alone[0][0], features[b][t], 1e-4, 1e-5)) << b << "," << t;
    }
}

TEST(SpiderUnet, ReorderingSlicesChangesTheOutputBecauseTheBottleneckIsRecurrent) {
  torch::manual_seed(13);
  SpiderUnetImpl model(narrow(0.125));
  model.eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 5, 1, 32, 32});
  const auto y = model.forward(x);
  // Swap slices 0 and 3. A per-slice model would give the same logits, swapped likewise.
  const auto perm = torch::tensor({3, 1, 2, 0, 4}, torch::kInt64);
  const auto y_perm = model.forward(x.index_select(1, perm)).index_select(1, perm);
  EXPECT_GT((y_perm - y).abs().max().item<double>(), 1e-3);
}

TEST(SpiderUnet, ChangingOneSliceReachesEarlierAndLaterSlicesLogits) {
  torch::manual_seed(14);
  SpiderUnetImpl model(narrow(0.125));
  model.eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 5, 1, 32, 32});
  auto x2 = x.clone();
  x2.select(1, 2).add_(torch::randn({1, 1, 32, 32}));
  const auto d = (model.forward(x2) - model.forward(x)).abs().amax({0, 2, 3, 4});
  for (int64_t t = 0; t < 5; ++t) EXPECT_GT(d[t].item<double>(), 1e-4) << t;  // both directions
}

// ---- options --------------------------------------------------------------------------------

TEST(SpiderUnetOptions, ReadsEveryOption) {
  const auto o = SpiderUnetOptions::from_json(json{{"filters", {8, 16, 24, 32, 40}},
                                                   {"width", 0.5},
                                                   {"top_filters", 12},
                                                   {"bn_momentum", 0.2},
                                                   {"sequence_length", 16},
                                                   {"lstm_kernel", 5},
                                                   {"recurrent_activation", "sigmoid"},
                                                   {"lstm_recurrent_init", "glorot_uniform"}});
  EXPECT_EQ(o.unet.filters, (std::vector<int64_t>{8, 16, 24, 32, 40}));
  EXPECT_DOUBLE_EQ(o.unet.width, 0.5);
  EXPECT_EQ(o.unet.top_filters, 12);
  EXPECT_DOUBLE_EQ(o.unet.bn.momentum, 0.2);
  EXPECT_EQ(o.sequence.sequence_length, 16);
  EXPECT_EQ(o.sequence.lstm_kernel, 5);
  EXPECT_EQ(o.sequence.recurrent_activation, RecurrentActivation::kSigmoid);
  EXPECT_EQ(o.sequence.recurrent_init, RecurrentInit::kGlorotUniform);
  const auto d = SpiderUnetOptions::from_json(json::object());
  EXPECT_EQ(d.sequence.sequence_length, 5);
  EXPECT_EQ(d.sequence.recurrent_activation, RecurrentActivation::kHardSigmoid);
  EXPECT_EQ(d.sequence.recurrent_init, RecurrentInit::kOrthogonal);
}

TEST(SpiderUnetOptions, ConvLstmOptionsReachTheBottleneck) {
  auto cells_of = [](SpiderUnetImpl& model) {
    std::vector<ConvLstm2dCellImpl*> cells;
    for (const auto& m : model.modules(false))
      if (auto* c = dynamic_cast<ConvLstm2dCellImpl*>(m.get())) cells.push_back(c);
    return cells;
  };
  SpiderUnetImpl model(
      SpiderUnetOptions::from_json(json{{"width", 0.125},
                                        {"lstm_kernel", 1},
                                        {"recurrent_activation", "sigmoid"},
                                        {"lstm_recurrent_init", "glorot_uniform"}}));
  const auto cells = cells_of(model);
  ASSERT_EQ(cells.size(), 2u);  // forward and backward
  for (const auto* c : cells) {
    EXPECT_EQ(c->options.recurrent_activation(), RecurrentActivation::kSigmoid);
    EXPECT_EQ(c->options.recurrent_init(), RecurrentInit::kGlorotUniform);
    EXPECT_EQ(c->recurrent_conv->weight.sizes(), (std::vector<int64_t>{256, 64, 1, 1}));
  }
  SpiderUnetImpl keras(SpiderUnetOptions::from_json(json{{"width", 0.125}}));
  for (const auto* c : cells_of(keras)) {
    EXPECT_EQ(c->options.recurrent_activation(), RecurrentActivation::kHardSigmoid);
    EXPECT_EQ(c->options.kernel_size(), 3);
    const auto u = c->recurrent_conv->weight.reshape({256, 64 * 9});  // orthonormal rows
    EXPECT_TRUE(torch::allclose(u.matmul(u.t()), torch::eye(256), 1e-4, 1e-4));
  }
}

TEST(SpiderUnetOptions, CheckNamesTheOffendingKey) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"sequence_length", 0}}, "sequence_length"},
      {json{{"sequence_length", 2.5}}, "sequence_length"},
      {json{{"lstm_kernel", 2}}, "lstm_kernel"},
      {json{{"recurrent_activation", "relu"}}, "recurrent_activation"},
      {json{{"recurrent_activation", 1}}, "recurrent_activation"},
      {json{{"lstm_recurrent_init", "zeros"}}, "lstm_recurrent_init"},
      {json{{"width", 0}}, "width"},
      {json{{"filters", {1, 2}}}, "filters"},
      {json{{"merge_mode", "concat"}}, "merge_mode"},
  };
  for (const auto& [options, key] : bad) {
    const Status st = check_model_options("spider_unet", options);
    EXPECT_EQ(st.key(), key) << options.dump();
    EXPECT_FALSE(st.message().empty()) << options.dump();
  }
  EXPECT_TRUE(
      check_model_options("spider_unet", json{{"width", 0.25}, {"sequence_length", 16}}).ok());
}

TEST(SpiderUnetRegistry, MakeModelBuildsASequenceModelWithTheDatasetShape) {
  torch::manual_seed(9);
  const auto model =
      make_model("spider_unet", json{{"width", 0.0625}, {"sequence_length", 3}}, ModelShape{2, 4});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->input_form(), InputForm::kSequence);
  EXPECT_EQ(model->sequence_length(), 3);
  const auto y = model->forward(torch::randn({2, 3, 2, 11, 13}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 4, 11, 13}));
}

}  // namespace
}  // namespace orch
