#include "models/registry.h"

#include <algorithm>

#include "common/status.h"
#include "common/strings.h"
#include "models/attention_unet2d.h"
#include "models/fcn_rnn.h"
#include "models/refnet.h"
#include "models/resunet2d.h"
#include "models/resunet3d.h"
#include "models/spider_unet.h"
#include "models/swin_unetr.h"
#include "models/unet3d.h"
#include "models/wide_unet.h"

namespace orch {

const char* to_string(InputForm form) {
  switch (form) {
    case InputForm::kSlice2d:
      return "slice2d";
    case InputForm::kSequence:
      return "sequence";
    case InputForm::kPatch3d:
      return "patch3d";
  }
  return "?";
}

namespace {

const ModelKind& find(const std::string& kind) {
  for (const auto& k : model_registry())
    if (kind == k.name) return k;
  throw Error("unknown model kind '" + kind + "'; known: " + join(model_kinds()));
}

}  // namespace

const std::vector<ModelKind>& model_registry() {
  static const std::vector<ModelKind> kinds = [] {
    std::vector<ModelKind> v = {attention_unet2d_kind(), fcn_rnn_kind(),   refnet_kind(),
                                resunet2d_kind(),        resunet3d_kind(), spider_unet_kind(),
                                swin_unetr_kind(),       unet3d_kind(),    wide_unet_kind()};
    std::sort(v.begin(), v.end(),
              [](const ModelKind& a, const ModelKind& b) { return a.name < b.name; });
    return v;
  }();
  return kinds;
}

std::vector<std::string> model_kinds() {
  std::vector<std::string> out;
  for (const auto& k : model_registry()) out.push_back(k.name);
  return out;
}

Status check_model_options(const std::string& kind, const nlohmann::json& options) {
  const ModelKind& k = find(kind);  // an unknown kind throws: it is no option's fault
  try {
    k.check(options);
  } catch (const Error& e) {
    return Status::FromError(e);
  }
  return Status::Ok();
}

SegmentationModel make_model(const std::string& kind, const nlohmann::json& options,
                             const ModelShape& shape) {
  const ModelKind& k = find(kind);
  try {
    k.check(options);
    return k.make(options, shape);
  } catch (const Error& e) {
    throw Error("model '" + kind + "': " + e.what(), e.code(), e.key());
  }
}

}  // namespace orch
