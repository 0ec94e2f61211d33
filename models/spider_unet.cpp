#include "models/spider_unet.h"

#include <vector>

#include "common/status.h"
#include "common/strings.h"

namespace orch {

void SequenceOptions::add_options(ModelOptionReader& reader) {
  reader.on("sequence_length",
            [this](const ModelOption& v) { sequence_length = v.positive_int(); });
  reader.on("lstm_kernel", [this](const ModelOption& v) { lstm_kernel = v.positive_odd_int(); });
  reader.on("recurrent_activation", [this](const ModelOption& v) {
    recurrent_activation =
        recurrent_activation_from_string(v.string("\"hard_sigmoid\" or \"sigmoid\""));
  });
  reader.on("lstm_recurrent_init", [this](const ModelOption& v) {
    recurrent_init =
        recurrent_init_from_string(v.string("\"orthogonal\" or \"glorot_uniform\""), v.key());
  });
}

void check_sequence_input(const torch::Tensor& x, int64_t in_channels, const std::string& model) {
  bool ok = x.dim() == 5 && x.size(2) == in_channels;
  for (int64_t d = 0; ok && d < x.dim(); ++d) ok = x.size(d) >= 1;
  if (ok) return;
  throw Error(model + ": expected input (B, T, " + std::to_string(in_channels) +
              ", H, W) with every size >= 1, got (" + join(x.sizes()) + ")");
}

SpiderUnetOptions SpiderUnetOptions::from_json(const nlohmann::json& j) {
  SpiderUnetOptions o;
  ModelOptionReader reader("spider_unet");
  o.unet.add_options(reader);
  o.sequence.add_options(reader);
  reader.read(j);
  return o;
}

SpiderUnetImpl::SpiderUnetImpl(const SpiderUnetOptions& o) : options_(o) {
  const WideUnetOptions& u = o.unet;
  if (u.in_channels < 1 || u.num_classes < 2)
    throw Error("spider_unet needs in_channels >= 1 and num_classes >= 2");
  if (o.sequence.sequence_length < 1) throw Error("spider_unet needs sequence_length >= 1");
  std::vector<int64_t> f;
  for (int64_t x : u.filters) f.push_back(scale_filters(x, u.width));
  encoder_ = WideUnetEncoder(*this, u.in_channels, f, u.bn);
  weft_ = register_module("weft",
                          BiConvLstm2d(ConvLstm2dOptions(f[3], f[4])
                                           .kernel_size(o.sequence.lstm_kernel)
                                           .recurrent_activation(o.sequence.recurrent_activation)
                                           .recurrent_init(o.sequence.recurrent_init)));
  decoder_ = WideUnetDecoder(*this, f[4], f, u.bn);
  const int64_t top = scale_filters(u.top_filters, u.width);
  top_ = register_module("top", ConvReluBn(f[0], top, u.bn));
  logits_ = register_module("logits", make_logits_conv(top, u.num_classes));
}

torch::Tensor SpiderUnetImpl::forward(torch::Tensor x) {
  check_sequence_input(x, options_.unet.in_channels, "spider_unet");
  const int64_t b = x.size(0), t = x.size(1);
  std::vector<torch::Tensor> skips;
  const auto bottom = encoder_.forward(x.flatten(0, 1), skips);  // (B*T, f3, h, w)
  const auto weft = weft_(bottom.view({b, t, bottom.size(1), bottom.size(2), bottom.size(3)}));
  const auto y = logits_(top_(decoder_.forward(weft.flatten(0, 1), skips)));
  return y.view({b, t, y.size(1), y.size(2), y.size(3)});
}

torch::Tensor SpiderUnetImpl::encode(const torch::Tensor& x) {
  check_sequence_input(x, options_.unet.in_channels, "spider_unet");
  std::vector<torch::Tensor> skips;
  const auto bottom = encoder_.forward(x.flatten(0, 1), skips);
  return bottom.view({x.size(0), x.size(1), bottom.size(1), bottom.size(2), bottom.size(3)});
}

ModelKind spider_unet_kind() {
  ModelKind k;
  k.name = "spider_unet";
  k.summary =
      "Spider U-Net: wide_unet over T slices with shared weights, BiConvLSTM bottleneck across T";
  k.form = InputForm::kSequence;
  k.check = [](const nlohmann::json& j) { SpiderUnetOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    SpiderUnetOptions o = SpiderUnetOptions::from_json(j);
    o.unet.in_channels = s.in_channels;
    o.unet.num_classes = s.num_classes;
    return std::make_shared<SpiderUnetImpl>(o);
  };
  return k;
}

}  // namespace orch
