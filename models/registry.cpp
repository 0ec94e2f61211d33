#include "models/registry.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "common/status.h"
#include "models/wide_unet.h"

namespace orch {

namespace {

struct Entry {
  const char* name;
  std::function<void(const nlohmann::json&)> check;  // throws std::invalid_argument("key: ...")
  std::function<SegmentationModel(const nlohmann::json&, const ModelShape&)> make;
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> kEntries = {
      {"wide_unet", [](const nlohmann::json& j) { WideUnetOptions::from_json(j); },
       [](const nlohmann::json& j, const ModelShape& s) -> SegmentationModel {
         WideUnetOptions o = WideUnetOptions::from_json(j);
         o.in_channels = s.in_channels;
         o.num_classes = s.num_classes;
         return std::make_shared<WideUnetImpl>(o);
       }},
  };
  return kEntries;
}

const Entry& find(const std::string& kind) {
  for (const auto& e : entries())
    if (kind == e.name) return e;
  std::string known;
  for (const auto& k : model_kinds()) known += (known.empty() ? "" : ", ") + k;
  throw Error("unknown model kind '" + kind + "'; known: " + known);
}

}  // namespace

std::vector<std::string> model_kinds() {
  std::vector<std::string> out;
  for (const auto& e : entries()) out.emplace_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::pair<std::string, std::string> check_model_options(const std::string& kind,
                                                        const nlohmann::json& options) {
  try {
    find(kind).check(options);
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    return {msg.substr(0, msg.find(':')), msg};
  }
  return {"", ""};
}

SegmentationModel make_model(const std::string& kind, const nlohmann::json& options,
                             const ModelShape& shape) {
  try {
    return find(kind).make(options, shape);
  } catch (const std::invalid_argument& e) {
    throw Error("model '" + kind + "': " + e.what());
  }
}

}  // namespace orch
