// JSON forms of the configuration structs. Keys are sorted by nlohmann::json, so dump() of a
// resolved config is canonical and can be hashed into a trial id.
#include "common/config/config.h"

namespace orch {

using nlohmann::json;

void to_json(json& j, const DatasetConfig& d) {
  const PreprocessOptions& p = d.preprocess;
  json pre = json::object();
  if (!p.label_map.empty()) {
    json m = json::object();
    for (const auto& [from, to] : p.label_map) m[std::to_string(from)] = to;
    pre["label_map"] = m;
  }
  if (!p.steps.empty()) {
    json steps = json::array();
    for (const auto& st : p.steps)
      steps.push_back({{"op", st.op}, {"args", st.args}, {"mode", st.mode}});
    pre["steps"] = steps;
  }
  j = json{{"name", d.name},
           {"kind", d.kind},
           {"root", d.root},
           {"options", d.options},
           {"num_classes", d.num_classes},
           {"split",
            {{"train", d.split.train},
             {"val", d.split.val},
             {"seed", d.split.seed},
             {"scheme", d.split.scheme}}},
           {"phantom",
            {{"enabled", d.phantom.enabled},
             {"cases", d.phantom.cases},
             {"seed", d.phantom.seed},
             {"size", d.phantom.size}}},
           {"preprocess", pre}};
  // Added after trial ids were first issued: present only when not the default.
  if (!d.split.group_by_subject) j["split"]["group_by_subject"] = false;
  if (d.split.val_is_test) j["split"]["val_is_test"] = true;
}

void from_json(const json& j, DatasetConfig& d) {
  j.at("name").get_to(d.name);
  j.at("kind").get_to(d.kind);
  j.at("root").get_to(d.root);
  j.at("num_classes").get_to(d.num_classes);
  if (j.contains("options")) d.options = j["options"];
  const json& s = j.at("split");
  s.at("train").get_to(d.split.train);
  s.at("val").get_to(d.split.val);
  s.at("seed").get_to(d.split.seed);
  if (s.contains("scheme")) s["scheme"].get_to(d.split.scheme);
  if (s.contains("group_by_subject")) s["group_by_subject"].get_to(d.split.group_by_subject);
  if (s.contains("val_is_test")) s["val_is_test"].get_to(d.split.val_is_test);
  const json& ph = j.at("phantom");
  ph.at("enabled").get_to(d.phantom.enabled);
  ph.at("cases").get_to(d.phantom.cases);
  ph.at("seed").get_to(d.phantom.seed);
  ph.at("size").get_to(d.phantom.size);
  const json& pre = j.at("preprocess");
  PreprocessOptions& p = d.preprocess;
  if (pre.contains("label_map"))
    for (const auto& [from, to] : pre["label_map"].items()) p.label_map[std::stoi(from)] = to;
  if (pre.contains("steps"))
    for (const auto& st : pre["steps"])
      p.steps.push_back({st.at("op").get<std::string>(), st.at("args").get<std::vector<double>>(),
                         st.at("mode").get<std::string>()});
}

// training, refines and repetitions appear only when set, so that older specs read back alike.
void to_json(json& j, const ModelConfig& m) {
  j = json{{"name", m.name}, {"kind", m.kind}, {"options", m.options}};
  if (m.training) j["training"] = *m.training;
  if (!m.refines.empty()) {
    j["refines"] = m.refines;
    j["repetitions"] = m.repetitions;
  }
  if (!m.init_from.empty()) j["init_from"] = m.init_from;
}

void from_json(const json& j, ModelConfig& m) {
  j.at("name").get_to(m.name);
  j.at("kind").get_to(m.kind);
  m.options = j.at("options");
  if (j.contains("training")) m.training = j.at("training").get<TrainingConfig>();
  if (j.contains("refines")) j.at("refines").get_to(m.refines);
  if (j.contains("repetitions")) j.at("repetitions").get_to(m.repetitions);
  if (j.contains("init_from")) j.at("init_from").get_to(m.init_from);
}

namespace {

// Writes `v` only when it differs from `def`: fields added to TrainingConfig after trial ids were
// first issued must not change the ids of trials that leave them at their defaults.
template <typename T>
void put_unless_default(json& j, const char* key, const T& v, const T& def) {
  if (v != def) j[key] = v;
}

template <typename T>
void get_if_present(const json& j, const char* key, T& out) {
  if (j.contains(key)) j.at(key).get_to(out);
}

}  // namespace

void to_json(json& j, const TrainingConfig& t) {
  j = json{{"optimizer", t.optimizer},
           {"lr", t.lr},
           {"loss", t.loss},
           {"batch", t.batch},
           {"epochs", t.epochs},
           {"steps_per_epoch", t.steps_per_epoch},
           {"patience", t.patience},
           {"early_stop_metric", t.early_stop_metric},
           {"foreground_fraction", t.foreground_fraction},
           {"threads", t.threads}};
  if (!t.augment.empty()) j["augment"] = t.augment;  // absent when off: ids stay as they were
  const TrainingConfig d;
  put_unless_default(j, "momentum", t.momentum, d.momentum);
  put_unless_default(j, "weight_decay", t.weight_decay, d.weight_decay);
  put_unless_default(j, "schedule", t.schedule, d.schedule);
  put_unless_default(j, "warmup_epochs", t.warmup_epochs, d.warmup_epochs);
  put_unless_default(j, "min_lr", t.min_lr, d.min_lr);
  put_unless_default(j, "plateau_factor", t.plateau_factor, d.plateau_factor);
  put_unless_default(j, "plateau_patience", t.plateau_patience, d.plateau_patience);
  put_unless_default(j, "grad_clip", t.grad_clip, d.grad_clip);
  put_unless_default(j, "precision", t.precision, d.precision);
  put_unless_default(j, "focal_beta", t.focal_beta, d.focal_beta);
  put_unless_default(j, "patch", t.patch, d.patch);
  put_unless_default(j, "sampler", t.sampler, d.sampler);
  put_unless_default(j, "samples_per_volume", t.samples_per_volume, d.samples_per_volume);
  put_unless_default(j, "val_loss", t.val_loss, d.val_loss);
}

void from_json(const json& j, TrainingConfig& t) {
  j.at("optimizer").get_to(t.optimizer);
  j.at("lr").get_to(t.lr);
  j.at("loss").get_to(t.loss);
  j.at("batch").get_to(t.batch);
  j.at("epochs").get_to(t.epochs);
  j.at("steps_per_epoch").get_to(t.steps_per_epoch);
  j.at("patience").get_to(t.patience);
  j.at("early_stop_metric").get_to(t.early_stop_metric);
  j.at("foreground_fraction").get_to(t.foreground_fraction);
  j.at("threads").get_to(t.threads);
  get_if_present(j, "augment", t.augment);
  get_if_present(j, "momentum", t.momentum);
  get_if_present(j, "weight_decay", t.weight_decay);
  get_if_present(j, "schedule", t.schedule);
  get_if_present(j, "warmup_epochs", t.warmup_epochs);
  get_if_present(j, "min_lr", t.min_lr);
  get_if_present(j, "plateau_factor", t.plateau_factor);
  get_if_present(j, "plateau_patience", t.plateau_patience);
  get_if_present(j, "grad_clip", t.grad_clip);
  get_if_present(j, "precision", t.precision);
  get_if_present(j, "focal_beta", t.focal_beta);
  get_if_present(j, "patch", t.patch);
  get_if_present(j, "sampler", t.sampler);
  get_if_present(j, "samples_per_volume", t.samples_per_volume);
  get_if_present(j, "val_loss", t.val_loss);
}

void to_json(json& j, const InferenceConfig& c) {
  j = json{{"overlap", c.overlap},
           {"sw_batch", c.sw_batch},
           {"blend", c.blend},
           {"mirror", c.mirror},
           {"save_predictions", c.save_predictions}};
}

void from_json(const json& j, InferenceConfig& c) {
  j.at("overlap").get_to(c.overlap);
  j.at("sw_batch").get_to(c.sw_batch);
  j.at("blend").get_to(c.blend);
  j.at("mirror").get_to(c.mirror);
  j.at("save_predictions").get_to(c.save_predictions);
}

void to_json(json& j, const TableEntry& e) {
  j = json{{"key", e.key},         {"label", e.label},   {"dataset", e.dataset},
           {"model", e.model},     {"metric", e.metric}, {"class", e.class_index},
           {"average", e.average}, {"marks", e.marks}};
}

void from_json(const json& j, TableEntry& e) {
  if (j.is_array()) {  // stores written before the table layouts: [name, label] pairs
    e.key = j.at(0).get<std::string>();
    e.label = j.at(1).get<std::string>();
    return;
  }
  j.at("key").get_to(e.key);
  j.at("label").get_to(e.label);
  j.at("dataset").get_to(e.dataset);
  j.at("model").get_to(e.model);
  j.at("metric").get_to(e.metric);
  j.at("class").get_to(e.class_index);
  j.at("average").get_to(e.average);
  j.at("marks").get_to(e.marks);
}

void to_json(json& j, const TableConfig& t) {
  json published = json::array();
  for (const auto& [key, values] : t.published)
    published.push_back({{"row", key.first}, {"column", key.second}, {"values", values}});
  j = json{{"name", t.name},
           {"title", t.title},
           {"source", t.source},
           {"dataset", t.dataset},
           {"model", t.model},
           {"rows", t.rows},
           {"columns", t.columns},
           {"metrics", t.metrics},
           {"combine", t.combine},
           {"class_rows", t.class_rows},
           {"background", t.background},
           {"average", t.average},
           {"marks", t.marks},
           {"bold", t.bold},
           {"reference", t.reference},
           {"published", published},
           {"aggregate", t.aggregate},
           {"baseline", t.baseline},
           {"deviations", t.deviations}};
  if (t.expect)
    j["expect"] = {{"claim", t.expect->claim},
                   {"above", t.expect->above},
                   {"below", t.expect->below},
                   {"metric", t.expect->metric}};
  if (t.improvement) {
    const auto& i = *t.improvement;
    j["improvement"] = {{"from", i.from},       {"to", i.to},       {"kind", i.kind},
                        {"average", i.average}, {"label", i.label}, {"published", i.published}};
  }
}

void from_json(const json& j, TableConfig& t) {
  j.at("name").get_to(t.name);
  j.at("title").get_to(t.title);
  j.at("source").get_to(t.source);
  j.at("rows").get_to(t.rows);
  j.at("columns").get_to(t.columns);
  j.at("metrics").get_to(t.metrics);
  if (!j.contains("combine")) {
    // The first schema: rows were datasets and columns models, published keyed by both.
    for (auto& r : t.rows) r.dataset = r.key;
    for (auto& c : t.columns) c.model = c.key;
    for (const auto& p : j.at("published"))
      t.published[{p.at("dataset").get<std::string>(), p.at("model").get<std::string>()}] =
          p.at("values").get<std::map<std::string, double>>();
    return;
  }
  j.at("dataset").get_to(t.dataset);
  j.at("model").get_to(t.model);
  j.at("combine").get_to(t.combine);
  j.at("class_rows").get_to(t.class_rows);
  j.at("background").get_to(t.background);
  j.at("average").get_to(t.average);
  j.at("marks").get_to(t.marks);
  j.at("bold").get_to(t.bold);
  j.at("reference").get_to(t.reference);
  get_if_present(j, "aggregate", t.aggregate);
  get_if_present(j, "baseline", t.baseline);
  get_if_present(j, "deviations", t.deviations);
  if (j.contains("expect")) {
    TableConfig::Expectation e;
    const json& x = j["expect"];
    x.at("claim").get_to(e.claim);
    x.at("above").get_to(e.above);
    x.at("below").get_to(e.below);
    x.at("metric").get_to(e.metric);
    t.expect = e;
  }
  for (const auto& p : j.at("published"))
    t.published[{p.at("row").get<std::string>(), p.at("column").get<std::string>()}] =
        p.at("values").get<std::map<std::string, double>>();
  if (j.contains("improvement")) {
    const json& i = j["improvement"];
    TableImprovement imp;
    i.at("from").get_to(imp.from);
    i.at("to").get_to(imp.to);
    i.at("kind").get_to(imp.kind);
    i.at("average").get_to(imp.average);
    i.at("label").get_to(imp.label);
    if (i.contains("published")) i.at("published").get_to(imp.published);
    t.improvement = imp;
  }
}

std::pair<std::string, std::string> TableConfig::cell_source(const TableEntry& r,
                                                             const TableEntry& c) const {
  const auto pick = [](const std::string& a, const std::string& b, const std::string& d) {
    return !a.empty() ? a : !b.empty() ? b : d;
  };
  return {pick(r.dataset, c.dataset, dataset), pick(r.model, c.model, model)};
}

std::string class_name(const DatasetConfig& d, int index) {
  if (index >= 0 && index < static_cast<int>(d.class_names.size()))
    return d.class_names[static_cast<std::size_t>(index)];
  return "class " + std::to_string(index);
}

}  // namespace orch
