#include "worker/trial/trial_spec.h"

#include <filesystem>

#include "common/hash.h"

namespace orch {

using nlohmann::json;

json identity_json(const TrialSpec& s) {
  json dataset = s.dataset;
  dataset.erase("name");  // a label, like the model's name below
  // "./data/hv/" and "data/hv" are one folder.
  dataset["root"] = std::filesystem::path(s.dataset.root).lexically_normal().string();
  if (const std::string r = dataset["root"]; r.size() > 1 && r.back() == '/')
    dataset["root"] = r.substr(0, r.size() - 1);
  json model = s.model;
  model.erase("name");
  // The trial's own training is below, and a refinement's sources by their ids.
  for (const char* key : {"training", "refines", "repetitions", "init_from"}) model.erase(key);
  json training = s.training;
  training.erase("threads");  // how fast, not what: a thread count never changes the trial
  json identity{{"dataset", dataset},
                {"model", model},
                {"training", training},
                {"seed", s.seed},
                {"schema", kSchemaVersion}};
  // How test volumes are predicted changes the scores, so it is part of the identity, but only
  // when it differs from the defaults: specs from before it existed keep their ids.
  json inference = s.inference;
  inference.erase("save_predictions");  // where outputs go, not what they are
  json defaults = InferenceConfig{};
  defaults.erase("save_predictions");
  if (inference != defaults) identity["inference"] = inference;
  if (!s.sources.empty()) {
    json sources = json::array();
    for (const auto& src : s.sources) sources.push_back(trial_id(src));
    identity["sources"] = sources;
  }
  // Where the initial weights come from: the source trial's id, or the file's content.
  if (!s.init.empty()) identity["init"] = trial_id(s.init.front());
  if (!s.init_checksum.empty()) identity["init"] = "sha256:" + s.init_checksum;
  return identity;
}

std::string trial_id(const TrialSpec& s) { return hash_hex(identity_json(s).dump()); }

json to_json(const TrialSpec& s) {
  json j{{"id", s.id},           {"experiment", s.experiment}, {"dataset", s.dataset},
         {"model", s.model},     {"training", s.training},     {"seed", s.seed},
         {"out_dir", s.out_dir}, {"cache_dir", s.cache_dir},   {"inference", s.inference}};
  if (!s.sources.empty()) {
    j["sources"] = json::array();
    for (const auto& src : s.sources) j["sources"].push_back(to_json(src));
  }
  if (!s.init.empty()) j["init"] = to_json(s.init.front());
  if (!s.init_checksum.empty()) j["init_checksum"] = s.init_checksum;
  return j;
}

TrialSpec trial_spec_from_json(const json& j) {
  TrialSpec s;
  j.at("id").get_to(s.id);
  j.at("experiment").get_to(s.experiment);
  j.at("dataset").get_to(s.dataset);
  j.at("model").get_to(s.model);
  j.at("training").get_to(s.training);
  j.at("seed").get_to(s.seed);
  j.at("out_dir").get_to(s.out_dir);
  if (j.contains("inference")) j.at("inference").get_to(s.inference);
  if (j.contains("cache_dir")) j.at("cache_dir").get_to(s.cache_dir);
  if (j.contains("sources"))
    for (const auto& src : j.at("sources")) s.sources.push_back(trial_spec_from_json(src));
  if (j.contains("init")) s.init.push_back(trial_spec_from_json(j.at("init")));
  if (j.contains("init_checksum")) j.at("init_checksum").get_to(s.init_checksum);
  return s;
}

}  // namespace orch
