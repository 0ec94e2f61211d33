// The ConvLSTM block (docs/MODELS.md section 2): Keras ConvLSTM2D semantics, checked against
// arithmetic done here by plain scalar loops, and the Bidirectional 'ave' wrapper.
#include "models/blocks/convlstm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/status.h"

namespace orch {
namespace {

double hard_sigmoid(double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Sets every parameter of `m` to zero.
void zero_all(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.zero_();
}

// ---- activations ----------------------------------------------------------------------------

TEST(ConvLstmActivation, HardSigmoidIsTheTf2ClippedLineOfSlopeOneFifth) {
  const auto x = torch::tensor({-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 4.0}, torch::kFloat64);
  const auto y = apply_recurrent_activation(x, RecurrentActivation::kHardSigmoid);
  const std::vector<double> expected = {0.0, 0.0, 0.3, 0.5, 0.7, 1.0, 1.0};
  for (size_t k = 0; k < expected.size(); ++k)
    EXPECT_NEAR(y[static_cast<int64_t>(k)].item<double>(), expected[k], 1e-12) << k;
}

TEST(ConvLstmActivation, SigmoidOptionIsTheLogisticFunction) {
  const auto x = torch::tensor({-2.0, 0.0, 0.7}, torch::kFloat64);
  const auto y = apply_recurrent_activation(x, RecurrentActivation::kSigmoid);
  EXPECT_NEAR(y[0].item<double>(), sigmoid(-2.0), 1e-12);
  EXPECT_NEAR(y[1].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(y[2].item<double>(), sigmoid(0.7), 1e-12);
}

TEST(ConvLstmActivation, NamesParseAndUnknownNamesAreRejectedWithTheKey) {
  EXPECT_EQ(recurrent_activation_from_string("hard_sigmoid"), RecurrentActivation::kHardSigmoid);
  EXPECT_EQ(recurrent_activation_from_string("sigmoid"), RecurrentActivation::kSigmoid);
  try {
    recurrent_activation_from_string("relu");
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("recurrent_activation:", 0), 0u) << e.what();
    EXPECT_EQ(e.key(), "recurrent_activation");
  }
}

// ---- one step, by hand --------------------------------------------------------------------

TEST(ConvLstmCell, BiasesAloneGiveTheHandComputedGates) {
  ConvLstm2dCell cell(ConvLstm2dOptions(1, 1));
  zero_all(*cell);
  {
    torch::NoGradGuard no_grad;
    // Gate order i, f, c, o.
    cell->input_conv->bias.copy_(torch::tensor({0.5, 3.0, 1.0, -1.0}));
  }
  const auto x = torch::randn({1, 1, 3, 3});  // ignored: every weight is zero
  const auto zero = torch::zeros({1, 1, 3, 3});
  const auto [h, c] = cell->forward(x, zero, zero);
  // i = clip(0.2 * 0.5 + 0.5) = 0.6, o = clip(-0.2 + 0.5) = 0.3; c = 0.6 tanh(1), f irrelevant.
  const double c_expected = 0.6 * std::tanh(1.0);
  const double h_expected = 0.3 * std::tanh(c_expected);
  EXPECT_TRUE(torch::allclose(c, torch::full_like(c, c_expected), 1e-6, 1e-7)) << c;
  EXPECT_TRUE(torch::allclose(h, torch::full_like(h, h_expected), 1e-6, 1e-7)) << h;
}

// A step where the input kernel, the recurrent kernel, 'same' zero padding, the forget gate and
// the previous cell state all matter, recomputed with scalar loops.
void check_step_against_scalar_arithmetic(RecurrentActivation act) {
  ConvLstm2dCell cell(ConvLstm2dOptions(1, 1).recurrent_activation(act));
  zero_all(*cell);
  {
    torch::NoGradGuard no_grad;
    cell->input_conv->bias.copy_(torch::tensor({0.5, 1.0, 0.0, 0.0}));
    // z_c[r][s] = 2 * x[r-1][s-1]: the top-left tap of the c gate's input kernel.
    cell->input_conv->weight[2][0][0][0] = 2.0;
    // z_o[r][s] = -3 * h[r+1][s+1]: the bottom-right tap of the o gate's recurrent kernel.
    cell->recurrent_conv->weight[3][0][2][2] = -3.0;
  }
  const double xs[3][3] = {{0.1, -0.2, 0.3}, {0.4, 0.5, -0.6}, {0.7, -0.8, 0.9}};
  const double hs[3][3] = {{0.2, 0.1, -0.3}, {-0.4, 0.6, 0.5}, {0.3, -0.1, 0.8}};
  const double cs[3][3] = {{1.0, -0.5, 0.25}, {0.0, 2.0, -1.0}, {0.5, 0.5, -2.0}};
  auto to_tensor = [](const double(&v)[3][3]) {
    auto t = torch::empty({1, 1, 3, 3});
    for (int r = 0; r < 3; ++r)
      for (int s = 0; s < 3; ++s) t[0][0][r][s] = v[r][s];
    return t;
  };
  const auto [h, c] = cell->forward(to_tensor(xs), to_tensor(hs), to_tensor(cs));
  auto ra = [act](double z) {
    return act == RecurrentActivation::kHardSigmoid ? hard_sigmoid(z) : sigmoid(z);
  };
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 3; ++s) {
      const double x_tap = (r >= 1 && s >= 1) ? xs[r - 1][s - 1] : 0.0;
      const double h_tap = (r <= 1 && s <= 1) ? hs[r + 1][s + 1] : 0.0;
      const double i = ra(0.5), f = ra(1.0), o = ra(-3.0 * h_tap);
      const double c_new = f * cs[r][s] + i * std::tanh(2.0 * x_tap);
      const double h_new = o * std::tanh(c_new);
      EXPECT_NEAR(c[0][0][r][s].item<double>(), c_new, 1e-6) << r << "," << s;
      EXPECT_NEAR(h[0][0][r][s].item<double>(), h_new, 1e-6) << r << "," << s;
    }
  }
}

TEST(ConvLstmCell, StepMatchesScalarArithmeticWithHardSigmoidGates) {
  check_step_against_scalar_arithmetic(RecurrentActivation::kHardSigmoid);
}

TEST(ConvLstmCell, StepMatchesScalarArithmeticWithSigmoidGates) {
  check_step_against_scalar_arithmetic(RecurrentActivation::kSigmoid);
}

// ---- initialisation -------------------------------------------------------------------------

TEST(ConvLstmCell, KerasInitialisationForgetBiasOneRecurrentOrthogonalKernelGlorot) {
  torch::manual_seed(3);
  const int64_t cin = 6, f = 5, k = 3;
  ConvLstm2dCell cell(ConvLstm2dOptions(cin, f));
  const auto bias = cell->input_conv->bias;
  EXPECT_EQ(bias.slice(0, 0, f).abs().max().item<float>(), 0.0f);        // i
  EXPECT_TRUE(torch::all(bias.slice(0, f, 2 * f) == 1.0).item<bool>());  // f: unit_forget_bias
  EXPECT_EQ(bias.slice(0, 2 * f).abs().max().item<float>(), 0.0f);       // c, o
  EXPECT_FALSE(cell->recurrent_conv->bias.defined());
  // Orthogonal: the (4F, F*k*k) = (20, 45) flattening has orthonormal rows.
  const auto u = cell->recurrent_conv->weight.reshape({4 * f, f * k * k});
  EXPECT_TRUE(torch::allclose(u.matmul(u.t()), torch::eye(4 * f), 1e-4, 1e-5));
  // glorot_uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (9*6 + 9*20)).
  const double limit = std::sqrt(6.0 / (k * k * cin + k * k * 4 * f));
  const auto w = cell->input_conv->weight;
  EXPECT_LE(w.abs().max().item<double>(), limit);
  EXPECT_GT(w.abs().max().item<double>(), 0.9 * limit);
}

TEST(ConvLstmCell, GlorotRecurrentInitIsBoundedByTheGlorotLimit) {
  torch::manual_seed(5);
  const int64_t f = 6;
  ConvLstm2dCell cell(ConvLstm2dOptions(2, f).recurrent_init(RecurrentInit::kGlorotUniform));
  // Keras recurrent kernel (3, 3, F, 4F): fan_in 9F, fan_out 36F.
  const double limit = std::sqrt(6.0 / (9 * f + 36 * f));
  const auto u = cell->recurrent_conv->weight;
  EXPECT_LE(u.abs().max().item<double>(), limit);
  EXPECT_GT(u.abs().max().item<double>(), 0.9 * limit);
  EXPECT_EQ(recurrent_init_from_string("orthogonal", "k"), RecurrentInit::kOrthogonal);
  EXPECT_EQ(recurrent_init_from_string("glorot_uniform", "k"), RecurrentInit::kGlorotUniform);
  EXPECT_THROW(recurrent_init_from_string("zeros", "k"), Error);
}

// ---- sequences ------------------------------------------------------------------------------

TEST(ConvLstm2d, SequenceOutputEqualsSteppingTheCellFromAZeroState) {
  torch::manual_seed(4);
  ConvLstm2d layer(ConvLstm2dOptions(3, 4).kernel_size(3));
  const auto x = torch::randn({2, 5, 3, 7, 6});
  const auto y = layer(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 5, 4, 7, 6}));
  auto h = torch::zeros({2, 4, 7, 6}), c = torch::zeros({2, 4, 7, 6});
  for (int64_t t = 0; t < 5; ++t) {
    std::tie(h, c) = layer->cell->forward(x.select(1, t), h, c);
    EXPECT_TRUE(torch::allclose(y.select(1, t), h, 1e-5, 1e-6)) << t;
  }
  ConvLstm2d last(ConvLstm2dOptions(3, 4).return_sequences(false));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < layer->parameters().size(); ++i)
    last->parameters()[i].copy_(layer->parameters()[i]);
  EXPECT_TRUE(torch::allclose(last(x), y.select(1, 4), 1e-5, 1e-6));
}

// One filter, one input channel; gates open (i = f = o = 1 under hard_sigmoid, bias 2.5) and
// the c gate's centre tap 1: the cell sums tanh(x) over what it has read so far.
void make_accumulator(ConvLstm2d& layer) {
  torch::NoGradGuard no_grad;
  layer->cell->input_conv->bias.copy_(torch::tensor({2.5, 2.5, 0.0, 2.5}));
  layer->cell->input_conv->weight[2][0][1][1] = 1.0;
}

// Output at each time step of a bidirectional accumulator fed a single 1 at `signal_t`.
std::vector<double> bidirectional_response(bool forward_active, int64_t signal_t, int64_t t_len) {
  BiConvLstm2d bi(ConvLstm2dOptions(1, 1));
  zero_all(*bi);  // the idle direction: i = f = o = 0.5, z_c = 0, so its h stays 0
  make_accumulator(forward_active ? bi->forward_layer : bi->backward_layer);
  auto x = torch::zeros({1, t_len, 1, 2, 3});
  x.select(1, signal_t).fill_(1.0);
  const auto y = bi(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, t_len, 1, 2, 3}));
  std::vector<double> out;
  for (int64_t t = 0; t < t_len; ++t) {
    const auto frame = y.select(1, t);
    EXPECT_NEAR((frame.max() - frame.min()).item<double>(), 0.0, 1e-7);  // pointwise: uniform
    out.push_back(frame.mean().item<double>());
  }
  return out;
}

TEST(BiConvLstm2d, BackwardDirectionIsReversedBackInTimeBeforeTheAverage) {
  // Read backwards, a 1 at t = 0 is the last frame read: only output 0 has seen it.
  const double seen = 0.5 * std::tanh(std::tanh(1.0));  // 'ave' halves the active direction
  auto y = bidirectional_response(/*forward_active=*/false, /*signal_t=*/0, 4);
  EXPECT_NEAR(y[0], seen, 1e-6);
  for (int t = 1; t < 4; ++t) EXPECT_NEAR(y[t], 0.0, 1e-7) << t;
  // A 1 at t = 2 reaches outputs 2, 1 and 0 (read after it), not 3.
  y = bidirectional_response(false, 2, 4);
  for (int t = 0; t <= 2; ++t) EXPECT_NEAR(y[t], seen, 1e-6) << t;
  EXPECT_NEAR(y[3], 0.0, 1e-7);
}

TEST(BiConvLstm2d, ForwardDirectionCarriesASignalToLaterStepsOnly) {
  const double seen = 0.5 * std::tanh(std::tanh(1.0));
  const auto y = bidirectional_response(/*forward_active=*/true, /*signal_t=*/2, 4);
  EXPECT_NEAR(y[0], 0.0, 1e-7);
  EXPECT_NEAR(y[1], 0.0, 1e-7);
  EXPECT_NEAR(y[2], seen, 1e-6);
  EXPECT_NEAR(y[3], seen, 1e-6);
}

TEST(BiConvLstm2d, DirectionsHaveSeparateWeights) {
  torch::manual_seed(6);
  BiConvLstm2d bi(ConvLstm2dOptions(2, 3));
  const auto p = bi->named_parameters();
  EXPECT_EQ(p.size(), 6u);  // per direction: kernel, bias, recurrent kernel
  EXPECT_FALSE(
      torch::equal(p["forward.cell.input_conv.weight"], p["backward.cell.input_conv.weight"]));
  EXPECT_NE(p["forward.cell.input_conv.weight"].data_ptr(),
            p["backward.cell.input_conv.weight"].data_ptr());
}

// ---- parameter count, gradients, errors -----------------------------------------------------

TEST(BiConvLstm2d, SpiderBottleneckHas28315648Parameters) {
  // 256 channels in, 512 filters, 3x3; per direction: kernel 9*256*2048 + recurrent kernel
  // 9*512*2048 + bias 2048 (docs/MODELS.md section 1).
  // glorot_uniform for the recurrent kernels: the orthogonal default's QR of a 4608x2048 matrix
  // takes ~40 s per direction with the reference LAPACK here, and does not change the count.
  BiConvLstm2d bi(
      ConvLstm2dOptions(256, 512).kernel_size(3).recurrent_init(RecurrentInit::kGlorotUniform));
  int64_t total = 0;
  for (const auto& p : bi->parameters()) total += p.numel();
  EXPECT_EQ(total, 2 * (9 * 256 * 2048 + 9 * 512 * 2048 + 2048));
  EXPECT_EQ(total, 28315648);
}

TEST(BiConvLstm2d, EveryParameterReceivesANonZeroGradient) {
  torch::manual_seed(7);
  BiConvLstm2d bi(ConvLstm2dOptions(3, 4));
  const auto y = bi(torch::randn({2, 3, 3, 5, 6}));
  (y * torch::randn_like(y)).sum().backward();
  for (const auto& p : bi->named_parameters()) {
    const auto& g = p.value().grad();
    ASSERT_TRUE(g.defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << p.key();
    EXPECT_GT(g.abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(ConvLstm2d, RejectsBadOptionsAndInputs) {
  EXPECT_THROW(ConvLstm2d(ConvLstm2dOptions(1, 1).kernel_size(2)), Error);
  EXPECT_THROW(ConvLstm2d(ConvLstm2dOptions(0, 1)), Error);
  EXPECT_THROW(ConvLstm2d(ConvLstm2dOptions(1, 0)), Error);
  ConvLstm2d layer(ConvLstm2dOptions(2, 3));
  EXPECT_THROW(layer(torch::randn({1, 2, 5, 5})), Error);     // no time axis
  EXPECT_THROW(layer(torch::randn({1, 4, 3, 5, 5})), Error);  // wrong channels
  EXPECT_EQ(layer(torch::randn({1, 1, 2, 1, 1})).sizes(),     // T = 1, 1x1 frames
            (std::vector<int64_t>{1, 1, 3, 1, 1}));
}

}  // namespace
}  // namespace orch
