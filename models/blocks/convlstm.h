// Convolutional LSTM (docs/MODELS.md section 2) with the semantics of TF 2.x Keras `ConvLSTM2D`, as
// the Spider U-Net code uses it, and the `Bidirectional(..., merge_mode='ave')` wrapper around it.
//
// Differences from Shi et al. 2015: no peephole terms (Keras has none). Per step, with gates in
// Keras's order i, f, c, o stacked along the output channels of one conv per input:
//   z = conv(X_t, W) + b  +  conv(H_{t-1}, U)        (W: 'same', with bias; U: 'same', no bias)
//   i = ra(z_i), f = ra(z_f), o = ra(z_o), C_t = f * C_{t-1} + i * tanh(z_c), H_t = o * tanh(C_t)
// where ra is the recurrent activation: hard_sigmoid clip(0.2 x + 0.5, 0, 1) in TF 2.0-2.15 (the
// default here, what the Spider code ran) or the logistic sigmoid (Shi et al., Keras 3).
// States start at zero. Initialisation follows Keras: W glorot_uniform, U orthogonal, b zero
// except the forget gate's 1 (unit_forget_bias). Initialisation draws from torch's global
// generator, like he_normal_ (models/blocks/conv.h).
// Cost: the orthogonal U is a QR of a (9F, 4F) matrix. With the reference LAPACK this machine's
// LibTorch links, F = 512 (the Spider bottleneck) takes about 40 s per direction; Keras's own
// recurrent_initializer='glorot_uniform' is the cheap alternative (RecurrentInit below).
#pragma once

#include <torch/torch.h>

#include <string>
#include <tuple>

namespace orch {

enum class RecurrentActivation {
  kHardSigmoid,  // clip(0.2 x + 0.5, 0, 1): TF 2.x Keras's default
  kSigmoid,      // 1 / (1 + exp(-x)): Shi et al. 2015 and Keras 3
};

// "hard_sigmoid" or "sigmoid"; throws orch::Error::Option("recurrent_activation", ...).
RecurrentActivation recurrent_activation_from_string(const std::string& name);

// Keras's recurrent_initializer, for the two values orch offers.
enum class RecurrentInit {
  kOrthogonal,     // Keras's default: the flattened kernel has orthonormal rows
  kGlorotUniform,  // U(-l, l), l = sqrt(6 / (fan_in + fan_out)): no QR, fast to build
};

// "orthogonal" or "glorot_uniform"; throws orch::Error::Option(key, ...).
RecurrentInit recurrent_init_from_string(const std::string& name, const std::string& key);

// The recurrent activation applied elementwise.
torch::Tensor apply_recurrent_activation(const torch::Tensor& x, RecurrentActivation a);

struct ConvLstm2dOptions {
  ConvLstm2dOptions(int64_t in_channels, int64_t filters)
      : in_channels_(in_channels), filters_(filters) {}
  TORCH_ARG(int64_t, in_channels);      // channels of each input frame
  TORCH_ARG(int64_t, filters);          // channels of the hidden and cell states
  TORCH_ARG(int64_t, kernel_size) = 3;  // odd, so that 'same' padding is symmetric
  TORCH_ARG(RecurrentActivation, recurrent_activation) = RecurrentActivation::kHardSigmoid;
  TORCH_ARG(RecurrentInit, recurrent_init) = RecurrentInit::kOrthogonal;
  TORCH_ARG(bool, return_sequences) = true;  // every step's H, else only the last one
  // Reads the frames from last to first. Outputs stay aligned with the input's time axis:
  // output[t] is the state after reading x[T-1], ..., x[t], i.e. Keras's go_backwards output
  // after Bidirectional has reversed it back. Without return_sequences: the state after x[0].
  TORCH_ARG(bool, reverse) = false;
};

// One ConvLSTM step. Parameter names: input_conv.{weight,bias} is Keras's kernel and bias,
// recurrent_conv.weight its recurrent_kernel; dim 0 of each holds the gates i, f, c, o.
struct ConvLstm2dCellImpl : torch::nn::Module {
  explicit ConvLstm2dCellImpl(const ConvLstm2dOptions& options);
  // Keras's initialisation (see the file comment).
  void reset_parameters();
  // x (B, Cin, H, W) and the previous state {h, c}, each (B, F, H, W) -> the new {h, c}.
  std::tuple<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& h,
                                                   const torch::Tensor& c);
  // The same step given input_conv(x) (B, 4F, H, W) already; the layer convolves all frames at
  // once and then only steps the recurrence.
  std::tuple<torch::Tensor, torch::Tensor> step(const torch::Tensor& input_gates,
                                                const torch::Tensor& h, const torch::Tensor& c);

  ConvLstm2dOptions options;
  torch::nn::Conv2d input_conv{nullptr};      // Cin -> 4F, with bias
  torch::nn::Conv2d recurrent_conv{nullptr};  // F -> 4F, no bias
};
TORCH_MODULE(ConvLstm2dCell);

// A ConvLSTM over a sequence: x (B, T, Cin, H, W), T >= 1, zero initial state ->
// (B, T, F, H, W) with return_sequences, else (B, F, H, W).
struct ConvLstm2dImpl : torch::nn::Module {
  explicit ConvLstm2dImpl(const ConvLstm2dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  ConvLstm2dCell cell{nullptr};
};
TORCH_MODULE(ConvLstm2d);

// Keras Bidirectional with merge_mode 'ave': a forward and a separately weighted reverse
// ConvLstm2d (options.reverse() is ignored), outputs averaged time step by time step.
struct BiConvLstm2dImpl : torch::nn::Module {
  explicit BiConvLstm2dImpl(const ConvLstm2dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  ConvLstm2d forward_layer{nullptr};   // registered as "forward"
  ConvLstm2d backward_layer{nullptr};  // registered as "backward"
};
TORCH_MODULE(BiConvLstm2d);

}  // namespace orch
