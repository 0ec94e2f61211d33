#include "worker/trial_spec.h"

#include "common/hash.h"

namespace orch {

using nlohmann::json;

json identity_json(const TrialSpec& s) {
  json dataset = s.dataset;
  dataset.erase("name");  // a label, like the model's name below
  json model = s.model;
  model.erase("name");
  return json{{"dataset", dataset},
              {"model", model},
              {"training", s.training},
              {"seed", s.seed},
              {"schema", kSchemaVersion}};
}

std::string trial_id(const TrialSpec& s) { return hash_hex(identity_json(s).dump()); }

json to_json(const TrialSpec& s) {
  return json{{"id", s.id},          {"experiment", s.experiment}, {"dataset", s.dataset},
              {"model", s.model},    {"training", s.training},     {"seed", s.seed},
              {"out_dir", s.out_dir}};
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
  return s;
}

}  // namespace orch
