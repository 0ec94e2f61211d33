// The model registry: every model orch can build, by the name the YAML uses (`models.*.kind`).
// Each model file provides one ModelKind; registry.cpp lists them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "models/model.h"

namespace orch {

struct ModelShape {
  int64_t in_channels = 1;  // image channels the dataset provides
  int64_t num_classes = 2;  // classes after label mapping, background included
};

struct ModelKind {
  std::string name;     // the YAML's kind
  std::string summary;  // one line for `orch models`
  InputForm form = InputForm::kSlice2d;
  // The input is another model's predicted label map (class indices), not the image: the model
  // refines a source model's output (refnet).
  bool reads_labels = false;
  // Validates options; throws orch::Error::Option(key, message) naming the offending key.
  std::function<void(const nlohmann::json& options)> check;
  // Builds a freshly initialised model (options already checked).
  std::function<SegmentationModel(const nlohmann::json& options, const ModelShape& shape)> make;
};

// Every registered kind, sorted by name.
const std::vector<ModelKind>& model_registry();

// Registered names, sorted.
std::vector<std::string> model_kinds();

// Checks `options` for `kind` without building anything: Status::Ok() when they are valid, else
// a Status whose key() is the offending option ("" when the options are not a mapping) and
// whose message() is "key: message". Used by the config parser so that errors carry the YAML
// line. Throws orch::Error for an unknown kind.
Status check_model_options(const std::string& kind, const nlohmann::json& options);

// Builds a freshly initialised model; throws orch::Error for an unknown kind, or one whose
// message is "model '<kind>': <message>" for bad options or a shape the model cannot take.
SegmentationModel make_model(const std::string& kind, const nlohmann::json& options,
                             const ModelShape& shape);

}  // namespace orch
