#include "models/fcn_rnn.h"

#include <vector>

#include "common/status.h"

namespace orch {

FcnRnnOptions FcnRnnOptions::from_json(const nlohmann::json& j) {
  FcnRnnOptions o;
  ModelOptionReader reader("fcn_rnn");
  o.unet.add_options(reader);
  reader.remove("top_filters");  // the ConvLSTM replaces wide_unet's top conv
  reader.on("lstm_filters", [&](const ModelOption& v) { o.lstm_filters = v.positive_int(); });
  o.sequence.add_options(reader);
  reader.read(j);
  return o;
}

FcnRnnImpl::FcnRnnImpl(const FcnRnnOptions& o) : options_(o) {
  const WideUnetOptions& u = o.unet;
  if (u.in_channels < 1 || u.num_classes < 2)
    throw Error("fcn_rnn needs in_channels >= 1 and num_classes >= 2");
  if (o.sequence.sequence_length < 1) throw Error("fcn_rnn needs sequence_length >= 1");
  std::vector<int64_t> f;
  for (int64_t x : u.filters) f.push_back(scale_filters(x, u.width));
  encoder_ = WideUnetEncoder(*this, u.in_channels, f, u.bn);
  bottleneck_ = register_module("bottleneck", ConvReluBn(f[3], f[4], u.bn));
  decoder_ = WideUnetDecoder(*this, f[4], f, u.bn);
  const int64_t lstm = scale_filters(o.lstm_filters, u.width);
  rnn_ =
      register_module("rnn", BiConvLstm2d(ConvLstm2dOptions(f[0], lstm)
                                              .kernel_size(o.sequence.lstm_kernel)
                                              .recurrent_activation(o.sequence.recurrent_activation)
                                              .recurrent_init(o.sequence.recurrent_init)));
  logits_ = register_module("logits", make_logits_conv(lstm, u.num_classes));
}

torch::Tensor FcnRnnImpl::forward(torch::Tensor x) {
  check_sequence_input(x, options_.unet.in_channels, "fcn_rnn");
  const int64_t b = x.size(0), t = x.size(1);
  std::vector<torch::Tensor> skips;
  const auto bottom = bottleneck_(encoder_.forward(x.flatten(0, 1), skips));
  const auto top = decoder_.forward(bottom, skips);  // (B*T, f0, H, W)
  const auto rnn = rnn_(top.view({b, t, top.size(1), top.size(2), top.size(3)}));
  const auto y = logits_(rnn.flatten(0, 1));
  return y.view({b, t, y.size(1), y.size(2), y.size(3)});
}

ModelKind fcn_rnn_kind() {
  ModelKind k;
  k.name = "fcn_rnn";
  k.summary = "the Spider thesis's FCN-RNN: wide_unet per slice, BiConvLSTM(64) across T on top";
  k.form = InputForm::kSequence;
  k.check = [](const nlohmann::json& j) { FcnRnnOptions::from_json(j); };
  k.make = [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
    FcnRnnOptions o = FcnRnnOptions::from_json(j);
    o.unet.in_channels = s.in_channels;
    o.unet.num_classes = s.num_classes;
    return std::make_shared<FcnRnnImpl>(o);
  };
  return k;
}

}  // namespace orch
