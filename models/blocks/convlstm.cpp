#include "models/blocks/convlstm.h"

#include <vector>

#include "common/status.h"
#include "common/strings.h"

namespace orch {

namespace {

std::string shape_of(const torch::Tensor& x) { return "(" + join(x.sizes()) + ")"; }

void check_options(const ConvLstm2dOptions& o) {
  if (o.in_channels() < 1 || o.filters() < 1)
    throw Error("ConvLSTM needs in_channels >= 1 and filters >= 1");
  if (o.kernel_size() < 1 || o.kernel_size() % 2 == 0)
    throw Error("ConvLSTM kernel_size must be odd and positive, got " +
                std::to_string(o.kernel_size()));
}

}  // namespace

RecurrentActivation recurrent_activation_from_string(const std::string& name) {
  if (name == "hard_sigmoid") return RecurrentActivation::kHardSigmoid;
  if (name == "sigmoid") return RecurrentActivation::kSigmoid;
  throw Error::Option("recurrent_activation",
                      "expected \"hard_sigmoid\" or \"sigmoid\", got \"" + name + "\"");
}

RecurrentInit recurrent_init_from_string(const std::string& name, const std::string& key) {
  if (name == "orthogonal") return RecurrentInit::kOrthogonal;
  if (name == "glorot_uniform") return RecurrentInit::kGlorotUniform;
  throw Error::Option(key, "expected \"orthogonal\" or \"glorot_uniform\", got \"" + name + "\"");
}

torch::Tensor apply_recurrent_activation(const torch::Tensor& x, RecurrentActivation a) {
  if (a == RecurrentActivation::kSigmoid) return torch::sigmoid(x);
  // TF 2.x keras.backend.hard_sigmoid; not at::hardsigmoid, which is relu6(x + 3) / 6.
  return torch::clamp(0.2 * x + 0.5, 0.0, 1.0);
}

ConvLstm2dCellImpl::ConvLstm2dCellImpl(const ConvLstm2dOptions& o) : options(o) {
  check_options(o);
  const int64_t k = o.kernel_size();
  input_conv = register_module(
      "input_conv",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(o.in_channels(), 4 * o.filters(), k).padding(k / 2)));
  recurrent_conv = register_module(
      "recurrent_conv",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(o.filters(), 4 * o.filters(), k).padding(k / 2).bias(false)));
  reset_parameters();
}

void ConvLstm2dCellImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  // Keras's kernel (k, k, Cin, 4F) has fan_in k*k*Cin and fan_out k*k*4F, which is what torch
  // computes for the (4F, Cin, k, k) weight.
  torch::nn::init::xavier_uniform_(input_conv->weight);
  // Keras flattens the recurrent kernel to (k*k*F, 4F) with orthonormal columns; torch flattens
  // (4F, F, k, k) to (4F, k*k*F) with orthonormal rows: the same distribution up to a
  // permutation of the k*k*F axis.
  if (options.recurrent_init() == RecurrentInit::kOrthogonal)
    torch::nn::init::orthogonal_(recurrent_conv->weight);
  else
    torch::nn::init::xavier_uniform_(recurrent_conv->weight);
  input_conv->bias.zero_();
  const int64_t f = options.filters();
  input_conv->bias.slice(0, f, 2 * f).fill_(1.0);  // unit_forget_bias
}

std::tuple<torch::Tensor, torch::Tensor> ConvLstm2dCellImpl::forward(const torch::Tensor& x,
                                                                     const torch::Tensor& h,
                                                                     const torch::Tensor& c) {
  return step(input_conv(x), h, c);
}

std::tuple<torch::Tensor, torch::Tensor> ConvLstm2dCellImpl::step(const torch::Tensor& input_gates,
                                                                  const torch::Tensor& h,
                                                                  const torch::Tensor& c) {
  const auto z = (input_gates + recurrent_conv(h)).chunk(4, 1);
  const auto ra = options.recurrent_activation();
  const auto i = apply_recurrent_activation(z[0], ra);
  const auto f = apply_recurrent_activation(z[1], ra);
  const auto o = apply_recurrent_activation(z[3], ra);
  auto c_next = f * c + i * torch::tanh(z[2]);
  auto h_next = o * torch::tanh(c_next);
  return {h_next, c_next};
}

ConvLstm2dImpl::ConvLstm2dImpl(const ConvLstm2dOptions& options) {
  cell = register_module("cell", ConvLstm2dCell(options));
}

torch::Tensor ConvLstm2dImpl::forward(const torch::Tensor& x) {
  const auto& o = cell->options;
  if (x.dim() != 5 || x.size(1) < 1 || x.size(2) != o.in_channels())
    throw Error("ConvLSTM: expected input (B, T >= 1, " + std::to_string(o.in_channels()) +
                ", H, W), got " + shape_of(x));
  const int64_t b = x.size(0), t_len = x.size(1), hh = x.size(3), ww = x.size(4);
  // The input convolution does not depend on the state: run it on all B*T frames at once.
  const auto gates = cell->input_conv(x.reshape({b * t_len, o.in_channels(), hh, ww}))
                         .view({b, t_len, -1, hh, ww});
  auto h = torch::zeros({b, o.filters(), hh, ww}, x.options());
  auto c = torch::zeros_like(h);
  std::vector<torch::Tensor> outputs(static_cast<size_t>(t_len));
  for (int64_t s = 0; s < t_len; ++s) {
    const int64_t t = o.reverse() ? t_len - 1 - s : s;
    std::tie(h, c) = cell->step(gates.select(1, t), h, c);
    outputs[static_cast<size_t>(t)] = h;
  }
  return o.return_sequences() ? torch::stack(outputs, 1) : h;
}

BiConvLstm2dImpl::BiConvLstm2dImpl(const ConvLstm2dOptions& options) {
  forward_layer = register_module("forward", ConvLstm2d(ConvLstm2dOptions(options).reverse(false)));
  backward_layer =
      register_module("backward", ConvLstm2d(ConvLstm2dOptions(options).reverse(true)));
}

torch::Tensor BiConvLstm2dImpl::forward(const torch::Tensor& x) {
  return 0.5 * (forward_layer(x) + backward_layer(x));
}

}  // namespace orch
