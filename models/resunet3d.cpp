#include "models/resunet3d.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/status.h"
#include "models/options.h"

namespace orch {

namespace F = torch::nn::functional;

Resunet3dOptions Resunet3dOptions::from_json(const nlohmann::json& j) {
  Resunet3dOptions o;
  ModelOptionReader reader("resunet3d");
  reader.on("base_filters", [&](const ModelOption& v) { o.base_filters = v.positive_int(); });
  reader.on("width", [&](const ModelOption& v) { o.width = v.number_in(0, 4, Ends::kOpenClosed); });
  reader.on("dropout",
            [&](const ModelOption& v) { o.dropout = v.number_in(0, 1, Ends::kClosedOpen); });
  reader.on("shared_context_conv",
            [&](const ModelOption& v) { o.shared_context_conv = v.boolean(); });
  reader.read(j);
  return o;
}

Resunet3dImpl::Resunet3dImpl(const Resunet3dOptions& o)
    : in_channels_(o.in_channels), dropout_(o.dropout) {
  if (o.in_channels < 1 || o.num_classes < 2)
    throw Error("resunet3d needs in_channels >= 1 and num_classes >= 2");
  if (o.dropout < 0 || o.dropout >= 1) throw Error::Option("dropout", "expected [0, 1)");
  const int64_t f = std::max<int64_t>(
      1, static_cast<int64_t>(std::lround(static_cast<double>(o.base_filters) * o.width)));
  const int64_t k = o.num_classes;

  c1_first_ = register_module("c1_first", conv3d_no_bias(o.in_channels, f, 3));
  c1_second_ = register_module("c1_second", conv3d_no_bias(f, f, 3));
  c1_third_ = register_module("c1_third", conv3d_no_bias(f, f, 3));
  for (int l = 1; l <= 4; ++l) {
    context_.push_back(
        register_module("context" + std::to_string(l + 1),
                        ResidualContext3d(f << (l - 1), f << l, o.dropout, o.shared_context_conv)));
  }
  bottom_up_ = register_module("bottom_up", Upscale3d(16 * f, 8 * f));
  bottom_conv_ = register_module("bottom_conv", conv3d_no_bias(8 * f, 8 * f, 1));
  // Localization levels l1..l3 work at 16f, 8f, 4f channels after the concat.
  for (int l = 1; l <= 3; ++l) {
    const int64_t c = (16 * f) >> (l - 1);
    const std::string name = std::to_string(l);
    local_conv_.push_back(register_module("local_conv" + name, conv3d_no_bias(c, c, 3)));
    local_half_.push_back(register_module("local_half" + name, conv3d_no_bias(c, c / 2, 1)));
    local_up_.push_back(register_module("local_up" + name, Upscale3d(c / 2, c / 4)));
  }
  local_conv_.push_back(register_module("local_conv4", conv3d_no_bias(2 * f, 2 * f, 3)));
  out_ = register_module("out", conv3d_no_bias(2 * f, k, 1));
  ds2_ = register_module("ds2", conv3d_no_bias(8 * f, k, 1));
  ds3_ = register_module("ds3", conv3d_no_bias(4 * f, k, 1));
  // Weights keep PyTorch's default Conv3d initialisation, as pykao's code does.
}

torch::Tensor Resunet3dImpl::encode(const torch::Tensor& x, std::vector<torch::Tensor>& ctx) {
  // L1: the first conv's output is added to the third's.
  const auto r = c1_first_(x);
  auto y = c1_second_(leaky_relu_001(r));
  y = F::dropout3d(y, F::Dropout3dFuncOptions().p(dropout_).training(is_training()));
  const auto s = c1_third_(leaky_relu_001(y)) + r;
  ctx.push_back(leaky_relu_001(s));  // ctx1 skips the norm, as in the code
  auto h = instance_norm_lrelu(s);
  // L2-L4 keep IN-LReLU(sum) as their context; L5's sum goes straight into the upscale module,
  // which starts with IN-LReLU itself.
  for (size_t l = 0; l < context_.size(); ++l) {
    h = context_[l](h);
    if (l + 1 < context_.size()) {
      h = instance_norm_lrelu(h);
      ctx.push_back(h);
    }
  }
  return instance_norm_lrelu(bottom_conv_(bottom_up_(h)));
}

torch::Tensor Resunet3dImpl::forward(torch::Tensor input) {
  check_patch_input(input, in_channels_, "resunet3d");
  const auto x = pad_to_multiple_3d(input, size_multiple());
  std::vector<torch::Tensor> ctx;  // ctx1..ctx4, shallowest first
  auto h = encode(x, ctx);
  std::vector<torch::Tensor> ds;  // localization features of l2 and l3
  for (size_t l = 0; l < local_up_.size(); ++l) {
    h = torch::cat({h, ctx[ctx.size() - 1 - l]}, 1);
    h = instance_norm_lrelu(local_conv_[l](h));
    if (l >= 1) ds.push_back(h);
    h = local_up_[l](local_half_[l](h));
  }
  h = torch::cat({h, ctx[0]}, 1);
  h = instance_norm_lrelu(local_conv_.back()(h));
  const auto deep = upsample_nearest2(upsample_nearest2(ds2_(ds[0])) + ds3_(ds[1]));
  return crop_like_3d(out_(h) + deep, input);
}

ModelKind resunet3d_kind() {
  ModelKind k;
  k.name = "resunet3d";
  k.summary = "residual 3D U-Net of the MS paper (Isensee 2017 Modified 3D U-Net, pykao code)";
  k.form = InputForm::kPatch3d;
  k.check = [](const nlohmann::json& j) { Resunet3dOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    Resunet3dOptions o = Resunet3dOptions::from_json(j);
    o.in_channels = s.in_channels;
    o.num_classes = s.num_classes;
    return std::make_shared<Resunet3dImpl>(o);
  };
  return k;
}

}  // namespace orch
