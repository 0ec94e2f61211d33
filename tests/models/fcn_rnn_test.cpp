// fcn_rnn (docs/MODELS.md sections 1 and 3): wide_unet per slice with a bidirectional ConvLSTM
// across T in place of the top conv.
#include "models/fcn_rnn.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "common/status.h"
#include "models/registry.h"
#include "tests/support/model_checks.h"

namespace orch {
namespace {

using nlohmann::json;

FcnRnnOptions narrow(double width, int64_t in_channels = 1, int64_t num_classes = 2) {
  FcnRnnOptions o;
  o.unet.width = width;
  o.unet.in_channels = in_channels;
  o.unet.num_classes = num_classes;
  return o;
}

TEST(FcnRnn, OddSizesGiveLogitsPerSliceOfTheSameSize) {
  torch::manual_seed(1);
  FcnRnnImpl model(narrow(0.125, /*in_channels=*/2, /*num_classes=*/3));
  const auto y = model.forward(torch::randn({2, 3, 2, 37, 29}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 3, 37, 29}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  EXPECT_EQ(model.input_form(), InputForm::kSequence);
  EXPECT_EQ(model.sequence_length(), 5);
}

TEST(FcnRnn, AcceptsAnyTimeLengthAndRejectsSliceInput) {
  torch::manual_seed(2);
  FcnRnnImpl model(narrow(0.0625));
  model.eval();
  torch::NoGradGuard no_grad;
  for (int64_t t : {1, 4})
    EXPECT_EQ(model.forward(torch::randn({1, t, 1, 9, 2})).sizes(),
              (std::vector<int64_t>{1, t, 2, 9, 2}));
  EXPECT_THROW(model.forward(torch::randn({1, 1, 9, 9})), Error);
}

int64_t conv3x3(int64_t in, int64_t out) { return 9 * in * out + out; }
int64_t conv_relu_bn(int64_t in, int64_t out) { return conv3x3(in, out) + 2 * out; }
int64_t two_conv(int64_t in, int64_t out) { return conv_relu_bn(in, out) + conv_relu_bn(out, out); }
int64_t deconv2x2(int64_t in, int64_t out) { return 4 * in * out + out; }

TEST(FcnRnn, FullWidthParameterCountIsWideUnetWithAConvLstmForTheTopConv) {
  FcnRnnImpl model(FcnRnnOptions{});
  // BiConvLSTM(64 in, 64 filters, 3x3): per direction 9*64*256 + 9*64*256 + 256.
  const int64_t lstm = 2 * (9 * 64 * 256 + 9 * 64 * 256 + 256);
  EXPECT_EQ(lstm, 590336);
  const int64_t expected = two_conv(1, 64) + two_conv(64, 128) + two_conv(128, 196) +
                           two_conv(196, 256) + conv_relu_bn(256, 512)  // encoder + bottleneck
                           + deconv2x2(512, 256) + two_conv(512, 256) + deconv2x2(256, 196) +
                           two_conv(392, 196) + deconv2x2(196, 128) + two_conv(256, 128) +
                           deconv2x2(128, 64) + two_conv(128, 64)  // decoder
                           + lstm + conv3x3(64, 2);                // logits on 64 channels
  // wide_unet's 7298006 - top conv 18528 - logits 578 + 590336 + 1154.
  EXPECT_EQ(expected, 7870390);
  EXPECT_EQ(testing::parameter_count(model), expected);
  EXPECT_EQ(testing::parameter_count(model, "rnn."), lstm);
}

TEST(FcnRnn, WidthScalesTheConvLstmFilters) {
  FcnRnnImpl model(narrow(0.25, 1, 3));
  std::map<std::string, torch::Tensor> p;
  for (const auto& kv : model.named_parameters()) p[kv.key()] = kv.value();
  // Decoder output round(64/4) = 16 channels; ConvLSTM round(64/4) = 16 filters (4 gates).
  EXPECT_EQ(p.at("rnn.forward.cell.input_conv.weight").sizes(),
            (std::vector<int64_t>{64, 16, 3, 3}));
  EXPECT_EQ(p.at("rnn.backward.cell.recurrent_conv.weight").sizes(),
            (std::vector<int64_t>{64, 16, 3, 3}));
  EXPECT_EQ(p.at("logits.weight").sizes(), (std::vector<int64_t>{3, 16, 3, 3}));
  EXPECT_EQ(p.count("top.conv.weight"), 0u);
  EXPECT_EQ(p.at("bottleneck.conv.weight").sizes(), (std::vector<int64_t>{128, 64, 3, 3}));
}

TEST(FcnRnn, EveryParameterReceivesANonZeroGradient) {
  torch::manual_seed(11);
  FcnRnnImpl model(narrow(0.125));
  model.train();
  const auto y = model.forward(torch::randn({1, 3, 1, 18, 21}));
  const auto target = torch::randint(0, 2, {3, 18, 21}, torch::kInt64);
  torch::nn::functional::cross_entropy(y.flatten(0, 1), target).backward();
  int64_t checked = 0;
  EXPECT_TRUE(testing::every_parameter_has_a_gradient(model, &checked));
  // 17 conv+BN (4 each), 4 deconvs (2), logits (2), 2 ConvLSTM directions (3 each).
  EXPECT_EQ(checked, 17 * 4 + 4 * 2 + 2 + 2 * 3);
}

TEST(FcnRnn, ChangingOneSliceReachesEveryOtherSlicesLogits) {
  torch::manual_seed(14);
  FcnRnnImpl model(narrow(0.125));
  model.eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 5, 1, 16, 16});
  auto x2 = x.clone();
  x2.select(1, 2).add_(torch::randn({1, 1, 16, 16}));
  const auto d = (model.forward(x2) - model.forward(x)).abs().amax({0, 2, 3, 4});
  for (int64_t t = 0; t < 5; ++t) EXPECT_GT(d[t].item<double>(), 1e-4) << t;
}

TEST(FcnRnnOptions, ReadsItsOptionsAndNamesTheOffendingKey) {
  const auto o = FcnRnnOptions::from_json(json{{"width", 0.5},
                                               {"lstm_filters", 32},
                                               {"sequence_length", 16},
                                               {"recurrent_activation", "sigmoid"},
                                               {"bn_momentum", 0.1}});
  EXPECT_DOUBLE_EQ(o.unet.width, 0.5);
  EXPECT_EQ(o.lstm_filters, 32);
  EXPECT_EQ(o.sequence.sequence_length, 16);
  EXPECT_EQ(o.sequence.recurrent_activation, RecurrentActivation::kSigmoid);
  EXPECT_DOUBLE_EQ(o.unet.bn.momentum, 0.1);
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"lstm_filters", 0}}, "lstm_filters"},
      {json{{"top_filters", 32}}, "top_filters"},  // fcn_rnn has no top conv
      {json{{"sequence_length", -1}}, "sequence_length"},
      {json{{"lstm_kernel", 4}}, "lstm_kernel"},
      {json{{"recurrent_activation", "tanh"}}, "recurrent_activation"},
      {json{{"depth", 3}}, "depth"},
  };
  for (const auto& [options, key] : bad) {
    const Status st = check_model_options("fcn_rnn", options);
    EXPECT_EQ(st.key(), key) << options.dump();
    EXPECT_FALSE(st.message().empty()) << options.dump();
  }
}

TEST(FcnRnnRegistry, MakeModelBuildsASequenceModelWithTheDatasetShape) {
  torch::manual_seed(9);
  const auto model = make_model("fcn_rnn", json{{"width", 0.0625}}, ModelShape{1, 3});
  ASSERT_TRUE(model);
  EXPECT_EQ(model->input_form(), InputForm::kSequence);
  const auto y = model->forward(torch::randn({1, 2, 1, 10, 7}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, 3, 10, 7}));
}

}  // namespace
}  // namespace orch
