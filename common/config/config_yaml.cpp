// Schema v1 of the experiment YAML (documented in experiments/README.md). Every error is one
// line that names the file, line and column of the offending node.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/config/config.h"
#include "common/config/yaml_reader.h"
#include "common/fs.h"
#include "common/metrics/metric.h"
#include "common/status.h"
#include "common/strings.h"

namespace orch {
namespace {

// Where each resolved value came from, so that checks after the profile is applied still point
// at the right line.
struct Origins {
  std::map<std::string, YAML::Node> dataset_kind, dataset_root, dataset, dataset_scheme;
  std::map<std::string, std::map<std::string, YAML::Node>> dataset_option;
  std::map<std::string, YAML::Node> model_kind, model;
  std::map<std::string, std::map<std::string, YAML::Node>> model_option;
  std::map<std::string, YAML::Node> training;  // value node of each training key
  // models.<name>.training maps, the file's then the profile's, and their keys' value nodes
  std::map<std::string, std::vector<YAML::Node>> model_training;
  std::map<std::string, std::map<std::string, YAML::Node>> model_training_key;
  std::map<std::string, YAML::Node> model_refines, model_repetitions, model_init;
  std::map<std::string, YAML::Node> inference;  // value node of each inference key
  std::map<std::string, YAML::Node> table;      // each table's key
};

class Parser {
 public:
  Parser(const std::string& file, const ConfigValidators& v) : file_(file), r_(file), v_(v) {}

  ExperimentConfig parse(const std::string& profile_override);

 private:
  // A file of `include:`s: each listed file is parsed on its own (with the same profile) and
  // the results merged; every model keeps the training of the file it came from.
  ExperimentConfig parse_includes(const std::string& profile_override);
  void parse_document(const YAML::Node& doc, bool is_profile);
  void parse_datasets(const YAML::Node& n, bool is_profile);
  void parse_dataset(const YAML::Node& n, DatasetConfig& d, bool is_new);
  void parse_split(const YAML::Node& n, SplitOptions& s, const std::string& ctx);
  void parse_phantom(const YAML::Node& n, PhantomOptions& p, const std::string& ctx, bool in_base);
  void parse_preprocess(const YAML::Node& n, PreprocessOptions& p, const std::string& ctx);
  PreprocessStep parse_step(const YAML::Node& n, const std::string& ctx);
  void parse_models(const YAML::Node& n, bool is_profile);
  void parse_training(const YAML::Node& n);
  // Applies the keys of a training map to `t`, noting each key's value node in `origins`.
  void apply_training(const YAML::Node& n, TrainingConfig& t, const std::string& ctx,
                      std::map<std::string, YAML::Node>& origins);
  void resolve_model_training();
  void parse_inference(const YAML::Node& n);
  void parse_seeds(const YAML::Node& n);
  void parse_tables(const YAML::Node& n);
  TableConfig parse_table(const YAML::Node& key, const YAML::Node& n);
  TableEntry parse_entry(const YAML::Node& item, const std::string& ctx);
  void parse_published(const YAML::Node& n, TableConfig& t, const std::string& ctx);
  // After profiles: class names, `rows: classes` expanded, every cell's dataset and model.
  void resolve_tables();
  void validate() const;
  void validate_dataset(const DatasetConfig& d) const;
  // `ctx` is "training" or "models.<name>.training"; `origins` where each key's value came from.
  void validate_training(const TrainingConfig& t, const std::string& ctx,
                         const std::map<std::string, YAML::Node>& origins) const;
  void validate_model(const ModelConfig& m) const;
  void validate_inference() const;

  std::string file_;
  YamlReader r_;
  const ConfigValidators& v_;
  ExperimentConfig cfg_;
  Origins at_;
  std::map<std::string, YAML::Node> at_published_;  // each table's published map, parsed last
  std::map<std::string, YAML::Node> at_improvement_published_;
  YAML::Node root_;
};

ExperimentConfig Parser::parse(const std::string& profile_override) {
  root_ = r_.load();
  cfg_.file = file_;
  if (root_.IsMap() && root_["include"]) return parse_includes(profile_override);
  r_.check_keys(root_,
                {"version", "name", "output", "cache", "default_profile", "datasets", "models",
                 "training", "inference", "seeds", "tables", "profiles"},
                "the experiment");
  const YAML::Node version = r_.require(root_, "version", "the experiment");
  if (r_.as_int(version, "version") != kSchemaVersion)
    r_.fail(version, "unsupported schema version '" + version.Scalar() + "'; expected 1");
  cfg_.name = r_.as_string(r_.require(root_, "name", "the experiment"), "name");
  r_.require(root_, "datasets", "the experiment");
  r_.require(root_, "models", "the experiment");
  r_.require(root_, "tables", "the experiment");
  parse_document(root_, false);

  std::string profile = profile_override;
  if (profile.empty()) r_.opt(root_, "default_profile", profile, "");
  if (!profile.empty() && profile != "none") {
    const YAML::Node& root = root_;
    const YAML::Node profiles = root["profiles"];
    if (profiles) r_.expect_map(profiles, "profiles");
    if (!profiles || !profiles[profile]) {
      std::vector<std::string> known;
      if (profiles && profiles.IsMap())
        for (const auto& kv : profiles) known.push_back(kv.first.Scalar());
      throw Error(cfg_.file + ": unknown profile '" + profile +
                  "'; the file defines: " + (known.empty() ? "none" : join(known)));
    }
    parse_document(profiles[profile], true);
    cfg_.profile = profile;
  }
  if (cfg_.output.empty()) cfg_.output = "runs/" + cfg_.name;
  resolve_model_training();
  resolve_tables();
  validate();
  return cfg_;
}

ExperimentConfig Parser::parse_includes(const std::string& profile_override) {
  r_.check_keys(root_, {"version", "name", "output", "cache", "default_profile", "include"},
                "an experiment of `include:`s");
  const YAML::Node version = r_.require(root_, "version", "the experiment");
  if (r_.as_int(version, "version") != kSchemaVersion)
    r_.fail(version, "unsupported schema version '" + version.Scalar() + "'; expected 1");
  cfg_.name = r_.as_string(r_.require(root_, "name", "the experiment"), "name");
  r_.opt(root_, "output", cfg_.output, "");
  r_.opt(root_, "cache", cfg_.cache, "");
  std::string profile = profile_override;
  if (profile.empty()) r_.opt(root_, "default_profile", profile, "");
  const YAML::Node list = root_["include"];
  r_.expect_sequence(list, "include");
  if (list.size() == 0) r_.fail(list, "include: expected at least one file");
  const std::filesystem::path dir = std::filesystem::path(file_).parent_path();
  // The files being parsed right now, outermost first: an include of one of them is a cycle.
  static thread_local std::vector<std::string> open_files;
  const std::string self = std::filesystem::weakly_canonical(file_).string();
  if (std::find(open_files.begin(), open_files.end(), self) != open_files.end())
    throw Error(file_ + ": include: the file includes itself (through " + join(open_files, " -> ") +
                ")");
  open_files.push_back(self);
  struct Pop {
    std::vector<std::string>& v;
    ~Pop() { v.pop_back(); }
  } pop{open_files};
  bool first = true;
  std::string profile_seen;
  for (const auto& item : list) {
    const std::string rel = r_.as_string(item, "include");
    const std::string path = (dir / rel).lexically_normal().string();
    if (!std::filesystem::is_regular_file(path)) r_.fail(item, "include: no file '" + path + "'");
    ExperimentConfig sub = load_experiment(path, profile, v_);
    const auto clash = [&](const std::string& what, const std::string& name) {
      r_.fail(item, "include: " + what + " '" + name + "' of " + path +
                        " is also defined by an earlier file; names must be unique");
    };
    for (auto& d : sub.datasets) {
      for (const auto& o : cfg_.datasets)
        if (o.name == d.name && nlohmann::json(o) != nlohmann::json(d)) clash("dataset", d.name);
      if (std::none_of(cfg_.datasets.begin(), cfg_.datasets.end(),
                       [&](const DatasetConfig& o) { return o.name == d.name; }))
        cfg_.datasets.push_back(d);
    }
    for (auto& m : sub.models) {
      if (!m.training) m.training = sub.training;
      for (const auto& o : cfg_.models)
        if (o.name == m.name) clash("model", m.name);
      cfg_.models.push_back(m);
    }
    for (auto& t : sub.tables) {
      for (const auto& o : cfg_.tables)
        if (o.name == t.name) clash("table", t.name);
      cfg_.tables.push_back(t);
    }
    if (first) {
      cfg_.seeds = sub.seeds;
      cfg_.inference = sub.inference;
      cfg_.training = sub.training;
      profile_seen = sub.profile;
    } else if (sub.seeds != cfg_.seeds) {
      r_.fail(item, "include: " + path + " has other seeds than the files before it");
    } else if (nlohmann::json(sub.inference) != nlohmann::json(cfg_.inference)) {
      r_.fail(item, "include: " + path + " has another `inference:` than the files before it");
    }
    first = false;
    cfg_.includes.push_back(path);
  }
  cfg_.profile = profile_seen;
  if (cfg_.output.empty()) cfg_.output = "runs/" + cfg_.name;
  return cfg_;
}

void Parser::parse_document(const YAML::Node& doc, bool is_profile) {
  if (is_profile)
    r_.check_keys(doc, {"output", "cache", "datasets", "models", "training", "inference", "seeds"},
                  "the profile");
  r_.opt(doc, "output", cfg_.output, "");
  r_.opt(doc, "cache", cfg_.cache, "");
  if (doc["datasets"]) parse_datasets(doc["datasets"], is_profile);
  if (doc["models"]) parse_models(doc["models"], is_profile);
  if (doc["training"]) parse_training(doc["training"]);
  if (doc["inference"]) parse_inference(doc["inference"]);
  if (doc["seeds"]) parse_seeds(doc["seeds"]);
  if (!is_profile) parse_tables(doc["tables"]);
}

void Parser::parse_datasets(const YAML::Node& n, bool is_profile) {
  r_.expect_map(n, "datasets");
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    auto it = std::find_if(cfg_.datasets.begin(), cfg_.datasets.end(),
                           [&](const DatasetConfig& d) { return d.name == name; });
    if (it == cfg_.datasets.end()) {
      if (is_profile) r_.fail(kv.first, "the profile overrides unknown dataset '" + name + "'");
      cfg_.datasets.push_back(DatasetConfig{});
      it = cfg_.datasets.end() - 1;
      it->name = name;
      at_.dataset[name] = kv.first;
    }
    parse_dataset(kv.second, *it, !is_profile);
  }
}

void Parser::parse_dataset(const YAML::Node& n, DatasetConfig& d, bool is_new) {
  const std::string ctx = "datasets." + d.name;
  r_.check_keys(
      n,
      {"kind", "root", "options", "num_classes", "class_names", "split", "phantom", "preprocess"},
      ctx);
  if (is_new) {
    r_.require(n, "kind", ctx);
    r_.require(n, "root", ctx);
  }
  if (n["kind"]) at_.dataset_kind[d.name] = n["kind"];
  if (n["root"]) at_.dataset_root[d.name] = n["root"];
  r_.opt(n, "kind", d.kind, ctx);
  r_.opt(n, "root", d.root, ctx);
  r_.opt(n, "num_classes", d.num_classes, ctx);
  if (const YAML::Node names = n["class_names"]) {
    r_.expect_sequence(names, ctx + ".class_names");
    d.class_names.clear();
    for (const auto& x : names) d.class_names.push_back(r_.as_string(x, ctx + ".class_names"));
  }
  if (const YAML::Node opts = n["options"]) {
    r_.expect_map(opts, ctx + ".options");
    for (const auto& o : opts) {
      d.options[o.first.Scalar()] = r_.as_json(o.second);
      at_.dataset_option[d.name][o.first.Scalar()] = o.first;
    }
  }
  if (n["split"] && n["split"]["scheme"]) at_.dataset_scheme[d.name] = n["split"]["scheme"];
  if (n["split"]) parse_split(n["split"], d.split, ctx + ".split");
  if (n["phantom"]) parse_phantom(n["phantom"], d.phantom, ctx + ".phantom", is_new);
  if (n["preprocess"]) parse_preprocess(n["preprocess"], d.preprocess, ctx + ".preprocess");
}

void Parser::parse_split(const YAML::Node& n, SplitOptions& s, const std::string& ctx) {
  r_.check_keys(n, {"train", "val", "seed", "scheme", "group_by_subject"}, ctx);
  r_.opt(n, "scheme", s.scheme, ctx);
  r_.opt(n, "train", s.train, ctx);
  if (n["val"] && n["val"].IsScalar() && n["val"].Scalar() == "test") {
    s.val_is_test = true;  // E8: early stopping on the test cases, as the paper did
  } else if (n["val"]) {
    s.val_is_test = false;
    r_.opt(n, "val", s.val, ctx);
  }
  r_.opt(n, "seed", s.seed, ctx);
  r_.opt(n, "group_by_subject", s.group_by_subject, ctx);
  if (s.val_is_test) {
    if (s.train <= 0) r_.fail(n, ctx + ": train must be > 0 (a fraction < 1 or a count)");
    return;
  }
  if (s.train <= 0 || s.val <= 0)
    r_.fail(n, ctx + ": train and val must be > 0 (early stopping selects on the val cases)");
  if (s.train < 1 && s.val < 1 && s.train + s.val >= 1)
    r_.fail(n, ctx + ": train + val fractions must leave some cases for the test split");
}

// A `phantom:` block in the file itself turns phantoms on; in a profile it only adjusts them
// (a profile that wants to turn them on says `enabled: true`), so a profile never revives a
// phantom the file switched off.
void Parser::parse_phantom(const YAML::Node& n, PhantomOptions& p, const std::string& ctx,
                           bool in_base) {
  r_.check_keys(n, {"enabled", "cases", "seed", "size"}, ctx);
  if (in_base) p.enabled = true;
  r_.opt(n, "enabled", p.enabled, ctx);
  r_.opt(n, "cases", p.cases, ctx);
  r_.opt(n, "seed", p.seed, ctx);
  if (n["size"]) {
    const auto v = r_.as_ints(n["size"], 3, ctx + ".size");
    for (size_t i = 0; i < 3; ++i) p.size[i] = v[i];
  }
  if (p.cases < 3) r_.fail(n, ctx + ".cases: a phantom needs at least 3 cases (train, val, test)");
  if (p.size[0] < 16 || p.size[1] < 16 || p.size[2] < 4 || p.size[0] > 1024 || p.size[1] > 1024 ||
      p.size[2] > 1024)
    r_.fail(n["size"], ctx + ".size: expected [i, j, k] with i, j in [16, 1024], k in [4, 1024]");
}

void Parser::parse_preprocess(const YAML::Node& n, PreprocessOptions& p, const std::string& ctx) {
  r_.check_keys(n, {"label_map", "steps"}, ctx);
  if (n["label_map"]) {
    r_.expect_map(n["label_map"], ctx + ".label_map");
    p.label_map.clear();
    for (const auto& kv : n["label_map"]) {
      const auto from = r_.as_int(kv.first, ctx + ".label_map key");
      const auto to = r_.as_int(kv.second, ctx + ".label_map value");
      if (from < 0 || from > 255 || to < 0 || to > 255)
        r_.fail(kv.first, ctx + ".label_map: labels must be in [0, 255]");
      p.label_map[static_cast<int>(from)] = static_cast<int>(to);
    }
  }
  if (n["steps"]) {  // a profile's list replaces the file's
    r_.expect_sequence(n["steps"], ctx + ".steps");
    p.steps.clear();
    for (std::size_t i = 0; i < n["steps"].size(); ++i)
      p.steps.push_back(parse_step(n["steps"][i], ctx + ".steps[" + std::to_string(i) + "]"));
  }
}

// One `- op: args` item of preprocess.steps (config.h lists the operations).
PreprocessStep Parser::parse_step(const YAML::Node& n, const std::string& ctx) {
  if (!n.IsMap() || n.size() != 1)
    r_.fail(n, ctx + ": expected one `operation: arguments` pair, e.g. `- window: [0, 300]`");
  const YAML::Node key = n.begin()->first, val = n.begin()->second;
  PreprocessStep st;
  st.op = key.Scalar();
  const std::string what = ctx + "." + st.op;
  const auto range = [&]() {
    st.args = r_.as_doubles(val, 2, what);
    if (!(st.args[1] > st.args[0])) r_.fail(val, what + ": expected [low, high] with low < high");
  };
  if (st.op == "window" || st.op == "clip" || st.op == "scale") {
    range();
  } else if (st.op == "znorm") {
    st.mode = r_.as_string(val, what);
    if (st.mode != "all" && st.mode != "nonzero" && st.mode != "foreground")
      r_.fail(val, what + ": unknown mask '" + st.mode + "'; expected all, nonzero or foreground");
  } else if (st.op == "resample") {
    st.args = r_.as_doubles(val, 3, what);
    for (double v : st.args)
      if (!(v > 0) || v > 100) r_.fail(val, what + ": spacings must be in (0, 100] mm");
  } else if (st.op == "crop") {
    const std::size_t count = val.IsSequence() && val.size() == 6 ? 6 : 4;
    const auto v = r_.as_ints(val, count, what);
    for (std::size_t a = 0; a < count; a += 2)
      if (v[a] < 0 || v[a + 1] <= v[a])
        r_.fail(val, what +
                         ": expected [i0, i1, j0, j1] or [i0, i1, j0, j1, k0, k1] with 0 <= "
                         "start < end");
    st.args.assign(v.begin(), v.end());
  } else if (st.op == "crop_foreground") {
    const auto v = r_.as_ints(val, 3, what);
    for (int m : v)
      if (m < 0) r_.fail(val, what + ": margins must be >= 0");
    st.args.assign(v.begin(), v.end());
  } else if (st.op == "resize") {
    const auto v = r_.as_ints(val, 2, what);
    if (v[0] < 8 || v[1] < 8 || v[0] > 4096 || v[1] > 4096)
      r_.fail(val, what + ": sizes must be in [8, 4096]");
    st.args.assign(v.begin(), v.end());
  } else if (st.op == "crop_nonzero") {
    const auto v = r_.as_ints(val, 3, what);
    for (int m : v)
      if (m < 0) r_.fail(val, what + ": margins must be >= 0");
    st.args.assign(v.begin(), v.end());
  } else if (st.op == "center_crop") {
    st.args = r_.as_doubles(val, 2, what);
    for (double f : st.args)
      if (!(f > 0 && f <= 1)) r_.fail(val, what + ": fractions must be in (0, 1]");
  } else if (st.op == "pad") {
    const auto v = r_.as_ints(val, 3, what);
    for (int m : v)
      if (m < 1 || m > 4096) r_.fail(val, what + ": sizes must be in [1, 4096]");
    st.args.assign(v.begin(), v.end());
  } else {
    r_.fail(key, ctx + ": unknown preprocessing step '" + st.op +
                     "'; known: window, clip, scale, znorm, resample, crop, crop_foreground, "
                     "crop_nonzero, center_crop, pad, resize");
  }
  return st;
}

void Parser::parse_models(const YAML::Node& n, bool is_profile) {
  r_.expect_map(n, "models");
  const std::initializer_list<const char*> keys = {"kind",    "options",     "training",
                                                   "refines", "repetitions", "init_from"};
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    const std::string ctx = "models." + name;
    auto it = std::find_if(cfg_.models.begin(), cfg_.models.end(),
                           [&](const ModelConfig& m) { return m.name == name; });
    if (it == cfg_.models.end()) {
      if (is_profile) r_.fail(kv.first, "the profile overrides unknown model '" + name + "'");
      cfg_.models.push_back(ModelConfig{});
      it = cfg_.models.end() - 1;
      it->name = name;
      at_.model[name] = kv.first;
      r_.check_keys(kv.second, keys, ctx);
      r_.require(kv.second, "kind", ctx);
    }
    r_.check_keys(kv.second, keys, ctx);
    if (kv.second["kind"]) at_.model_kind[name] = kv.second["kind"];
    r_.opt(kv.second, "kind", it->kind, ctx);
    if (const YAML::Node opts = kv.second["options"]) {
      r_.expect_map(opts, ctx + ".options");
      for (const auto& o : opts) {
        it->options[o.first.Scalar()] = r_.as_json(o.second);
        at_.model_option[name][o.first.Scalar()] = o.first;
      }
    }
    if (const YAML::Node t = kv.second["training"]) {
      r_.expect_map(t, ctx + ".training");
      at_.model_training[name].push_back(t);
    }
    if (kv.second["refines"]) at_.model_refines[name] = kv.second["refines"];
    r_.opt(kv.second, "refines", it->refines, ctx);
    if (kv.second["repetitions"]) at_.model_repetitions[name] = kv.second["repetitions"];
    r_.opt(kv.second, "repetitions", it->repetitions, ctx);
    if (kv.second["init_from"]) at_.model_init[name] = kv.second["init_from"];
    r_.opt(kv.second, "init_from", it->init_from, ctx);
  }
}

// A model's own training keys apply after the shared ones, the profile's included, so that
// `models.refnet.training.lr` wins over `training.lr` wherever either is set.
void Parser::resolve_model_training() {
  for (auto& m : cfg_.models) {
    const auto it = at_.model_training.find(m.name);
    if (it == at_.model_training.end()) continue;
    TrainingConfig t = cfg_.training;
    for (const auto& node : it->second)
      apply_training(node, t, "models." + m.name + ".training", at_.model_training_key[m.name]);
    m.training = t;
  }
}

void Parser::parse_training(const YAML::Node& n) {
  apply_training(n, cfg_.training, "training", at_.training);
}

void Parser::apply_training(const YAML::Node& n, TrainingConfig& t, const std::string& ctx,
                            std::map<std::string, YAML::Node>& origins) {
  r_.check_keys(n,
                {"optimizer",
                 "lr",
                 "momentum",
                 "weight_decay",
                 "schedule",
                 "warmup_epochs",
                 "min_lr",
                 "plateau_factor",
                 "plateau_patience",
                 "grad_clip",
                 "precision",
                 "loss",
                 "focal_beta",
                 "batch",
                 "epochs",
                 "steps_per_epoch",
                 "patience",
                 "early_stop_metric",
                 "foreground_fraction",
                 "patch",
                 "sampler",
                 "samples_per_volume",
                 "augment",
                 "threads",
                 "val_loss"},
                ctx);
  for (const auto& kv : n) origins[kv.first.Scalar()] = kv.second;
  r_.opt(n, "optimizer", t.optimizer, ctx);
  r_.opt(n, "lr", t.lr, ctx);
  r_.opt(n, "loss", t.loss, ctx);
  r_.opt(n, "batch", t.batch, ctx);
  r_.opt(n, "epochs", t.epochs, ctx);
  r_.opt(n, "steps_per_epoch", t.steps_per_epoch, ctx);
  r_.opt(n, "patience", t.patience, ctx);
  r_.opt(n, "early_stop_metric", t.early_stop_metric, ctx);
  r_.opt(n, "foreground_fraction", t.foreground_fraction, ctx);
  r_.opt(n, "threads", t.threads, ctx);
  r_.opt(n, "momentum", t.momentum, ctx);
  r_.opt(n, "weight_decay", t.weight_decay, ctx);
  r_.opt(n, "schedule", t.schedule, ctx);
  r_.opt(n, "warmup_epochs", t.warmup_epochs, ctx);
  r_.opt(n, "min_lr", t.min_lr, ctx);
  r_.opt(n, "plateau_factor", t.plateau_factor, ctx);
  r_.opt(n, "plateau_patience", t.plateau_patience, ctx);
  r_.opt(n, "grad_clip", t.grad_clip, ctx);
  r_.opt(n, "precision", t.precision, ctx);
  r_.opt(n, "focal_beta", t.focal_beta, ctx);
  r_.opt(n, "sampler", t.sampler, ctx);
  r_.opt(n, "samples_per_volume", t.samples_per_volume, ctx);
  r_.opt(n, "val_loss", t.val_loss, ctx);
  if (n["patch"]) {
    const auto v = r_.as_ints(n["patch"], 3, ctx + ".patch");
    for (size_t i = 0; i < 3; ++i) t.patch[i] = v[i];
  }
  if (const YAML::Node aug = n["augment"]) {  // a profile's list replaces the file's
    r_.expect_sequence(aug, ctx + ".augment");
    t.augment.clear();
    for (std::size_t i = 0; i < aug.size(); ++i) {
      const std::string what = ctx + ".augment[" + std::to_string(i) + "]";
      t.augment.push_back(r_.as_string(aug[i], what));
      if (v_.check_transform) {
        const Status st = v_.check_transform(t.augment.back());
        if (!st.ok()) r_.fail(aug[i], what + ": " + st.message());
      }
    }
  }
}

void Parser::parse_inference(const YAML::Node& n) {
  const std::string ctx = "inference";
  r_.check_keys(n, {"overlap", "sw_batch", "blend", "mirror", "save_predictions"}, ctx);
  for (const auto& kv : n) at_.inference[kv.first.Scalar()] = kv.second;
  InferenceConfig& c = cfg_.inference;
  r_.opt(n, "overlap", c.overlap, ctx);
  r_.opt(n, "sw_batch", c.sw_batch, ctx);
  r_.opt(n, "blend", c.blend, ctx);
  r_.opt(n, "mirror", c.mirror, ctx);
  r_.opt(n, "save_predictions", c.save_predictions, ctx);
}

void Parser::parse_seeds(const YAML::Node& n) {
  r_.expect_sequence(n, "seeds");
  if (n.size() == 0) r_.fail(n, "seeds: expected at least one seed");
  cfg_.seeds.clear();
  for (const auto& s : n) {
    const std::int64_t v = r_.as_int(s, "seeds");
    if (v < 0) r_.fail(s, "seeds: expected non-negative integers");
    cfg_.seeds.push_back(static_cast<std::uint64_t>(v));
  }
}

void Parser::parse_tables(const YAML::Node& n) {
  r_.expect_map(n, "tables");
  if (n.size() == 0) r_.fail(n, "tables: expected at least one table");
  for (const auto& kv : n) cfg_.tables.push_back(parse_table(kv.first, kv.second));
}

// A table's rows and columns are lists of entries that select what their cells show:
// {dataset|model|metric|class: name, key, label, marks}; `rows: classes` makes one row per class.
TableConfig Parser::parse_table(const YAML::Node& key, const YAML::Node& n) {
  TableConfig t;
  t.name = key.Scalar();
  at_.table[t.name] = key;
  const std::string ctx = "tables." + t.name;
  r_.check_keys(n,
                {"title", "source", "dataset", "model", "rows", "columns", "metrics", "combine",
                 "background", "average", "marks", "bold", "reference", "improvement", "published",
                 "aggregate", "baseline", "deviations", "expect"},
                ctx);
  r_.opt(n, "aggregate", t.aggregate, ctx);
  if (t.aggregate != "mean" && t.aggregate != "pooled")
    r_.fail(n["aggregate"], ctx + ".aggregate: expected mean or pooled");
  r_.opt(n, "baseline", t.baseline, ctx);
  if (!t.baseline.empty() && t.baseline != "untrained")
    r_.fail(n["baseline"], ctx + ".baseline: expected untrained");
  if (const YAML::Node dev = n["deviations"]) {
    r_.expect_sequence(dev, ctx + ".deviations");
    for (const auto& d : dev) t.deviations.push_back(r_.as_string(d, ctx + ".deviations"));
  }
  if (const YAML::Node x = n["expect"]) {
    const std::string xctx = ctx + ".expect";
    r_.check_keys(x, {"claim", "above", "below", "metric"}, xctx);
    TableConfig::Expectation e;
    e.claim = r_.as_string(r_.require(x, "claim", xctx), xctx + ".claim");
    for (const char* k : {"above", "below"}) {
      const YAML::Node list = r_.require(x, k, xctx);
      r_.expect_sequence(list, xctx + "." + k);
      for (const auto& v : list)
        (std::string(k) == "above" ? e.above : e.below).push_back(r_.as_string(v, xctx + "." + k));
    }
    r_.opt(x, "metric", e.metric, xctx);
    if (!find_metric(e.metric))
      r_.fail(x["metric"], xctx + ".metric: unknown metric '" + e.metric + "'");
    t.expect = e;
  }
  r_.opt(n, "title", t.title, ctx);
  r_.opt(n, "source", t.source, ctx);
  const auto named = [&](const YAML::Node& at, const std::string& what, const std::string& v) {
    const bool found = what == "dataset"
                           ? std::any_of(cfg_.datasets.begin(), cfg_.datasets.end(),
                                         [&](const DatasetConfig& d) { return d.name == v; })
                           : std::any_of(cfg_.models.begin(), cfg_.models.end(),
                                         [&](const ModelConfig& m) { return m.name == v; });
    if (!found) r_.fail(at, ctx + ": no " + what + " named '" + v + "' in this file");
  };
  if (n["dataset"]) {
    r_.opt(n, "dataset", t.dataset, ctx);
    named(n["dataset"], "dataset", t.dataset);
  }
  if (n["model"]) {
    r_.opt(n, "model", t.model, ctx);
    named(n["model"], "model", t.model);
  }
  if (const YAML::Node m = n["metrics"]) {
    r_.expect_sequence(m, ctx + ".metrics");
    if (m.size() == 0) r_.fail(m, ctx + ".metrics: expected at least one metric");
    t.metrics.clear();
    for (const auto& x : m) {
      const std::string metric = r_.as_string(x, ctx + ".metrics");
      if (!find_metric(metric))
        r_.fail(x, ctx + ".metrics: unknown metric '" + metric +
                       "'; expected one of: " + join(metric_names()));
      t.metrics.push_back(metric);
    }
  }
  r_.opt(n, "combine", t.combine, ctx);
  r_.opt(n, "background", t.background, ctx);
  r_.opt(n, "average", t.average, ctx);
  if (t.average != "foreground" && t.average != "all" && t.average != "none")
    r_.fail(n["average"], ctx + ".average: expected foreground, all or none");
  if (const YAML::Node marks = n["marks"]) {
    r_.expect_sequence(marks, ctx + ".marks");
    for (const auto& m : marks) {
      const std::string mctx = ctx + ".marks[]";
      r_.check_keys(m, {"key", "label"}, mctx);
      const std::string k = r_.as_string(r_.require(m, "key", mctx), mctx + ".key");
      std::string label = k;
      r_.opt(m, "label", label, mctx);
      t.marks.emplace_back(k, label);
    }
  }
  const YAML::Node rows = r_.require(n, "rows", ctx);
  if (rows.IsScalar()) {
    if (rows.Scalar() != "classes")
      r_.fail(rows, ctx + ".rows: expected a list of entries or 'classes'");
    t.class_rows = true;
  } else {
    r_.expect_sequence(rows, ctx + ".rows");
    if (rows.size() == 0) r_.fail(rows, ctx + ".rows: expected at least one entry");
    for (const auto& item : rows) t.rows.push_back(parse_entry(item, ctx + ".rows[]"));
  }
  const YAML::Node cols = r_.require(n, "columns", ctx);
  r_.expect_sequence(cols, ctx + ".columns");
  if (cols.size() == 0) r_.fail(cols, ctx + ".columns: expected at least one entry");
  for (const auto& item : cols) t.columns.push_back(parse_entry(item, ctx + ".columns[]"));
  for (const auto* axis : {&t.rows, &t.columns})
    for (const auto& e : *axis)
      for (const auto& [mark, on] : e.marks)
        if (std::none_of(t.marks.begin(), t.marks.end(), [&](auto& m) { return m.first == mark; }))
          r_.fail(n["rows"], ctx + ": mark '" + mark + "' is not one of the table's marks");
  const auto unique_keys = [&](const std::vector<TableEntry>& axis, const char* what) {
    std::set<std::string> seen;
    for (const auto& e : axis)
      if (!seen.insert(e.key).second)
        r_.fail(n[what], ctx + "." + what + ": two entries have the key '" + e.key +
                             "'; give one a distinct `key`");
  };
  unique_keys(t.rows, "rows");
  unique_keys(t.columns, "columns");
  const auto has_column = [&](const std::string& k) {
    return std::any_of(t.columns.begin(), t.columns.end(),
                       [&](const TableEntry& c) { return c.key == k; });
  };
  if (n["reference"]) {
    r_.opt(n, "reference", t.reference, ctx);
    if (!has_column(t.reference))
      r_.fail(n["reference"], ctx + ".reference: '" + t.reference + "' is not a column key");
  }
  if (n["bold"]) {
    r_.opt(n, "bold", t.bold, ctx);
    if (t.bold != "row" && t.bold != "column" && t.bold != "none")
      r_.fail(n["bold"], ctx + ".bold: expected row, column or none");
  }
  if (const YAML::Node imp = n["improvement"]) {
    const std::string ictx = ctx + ".improvement";
    r_.check_keys(imp, {"from", "to", "kind", "average", "label", "published"}, ictx);
    TableImprovement i;
    for (const char* k : {"from", "to"}) {
      const YAML::Node v = r_.require(imp, k, ictx);
      const std::string col = r_.as_string(v, ictx + "." + k);
      if (!has_column(col)) r_.fail(v, ictx + "." + k + ": '" + col + "' is not a column key");
      (std::string(k) == "from" ? i.from : i.to) = col;
    }
    r_.opt(imp, "kind", i.kind, ictx);
    if (i.kind != "relative" && i.kind != "absolute")
      r_.fail(imp["kind"], ictx + ".kind: expected relative or absolute");
    r_.opt(imp, "average", i.average, ictx);
    if (i.average != "mean_of_rows" && i.average != "mean_of_all_rows" && i.average != "of_means")
      r_.fail(imp["average"],
              ictx + ".average: expected mean_of_rows, mean_of_all_rows or of_means");
    i.label = i.kind == "relative" ? "Improvement (%)" : "Improvement";
    r_.opt(imp, "label", i.label, ictx);
    if (const YAML::Node pub = imp["published"]) {  // row keys are checked in resolve_tables
      r_.expect_map(pub, ictx + ".published");
      for (const auto& kv : pub)
        i.published[kv.first.Scalar()] =
            r_.as_double(kv.second, ictx + ".published." + kv.first.Scalar());
      at_improvement_published_[t.name] = pub;
    }
    t.improvement = i;
  }
  if (n["published"]) at_published_[t.name] = n["published"];
  return t;
}

TableEntry Parser::parse_entry(const YAML::Node& item, const std::string& ictx) {
  r_.check_keys(item, {"dataset", "model", "metric", "class", "key", "label", "marks"}, ictx);
  TableEntry e;
  std::string selected;
  if (const YAML::Node d = item["dataset"]) {
    e.dataset = r_.as_string(d, ictx + ".dataset");
    if (std::none_of(cfg_.datasets.begin(), cfg_.datasets.end(),
                     [&](const DatasetConfig& x) { return x.name == e.dataset; }))
      r_.fail(d, ictx + ": no dataset named '" + e.dataset + "' in this file");
    selected = e.dataset;
  }
  if (const YAML::Node m = item["model"]) {
    e.model = r_.as_string(m, ictx + ".model");
    if (std::none_of(cfg_.models.begin(), cfg_.models.end(),
                     [&](const ModelConfig& x) { return x.name == e.model; }))
      r_.fail(m, ictx + ": no model named '" + e.model + "' in this file");
    selected = selected.empty() ? e.model : e.model + "/" + selected;
  }
  if (const YAML::Node m = item["metric"]) {
    e.metric = r_.as_string(m, ictx + ".metric");
    if (!find_metric(e.metric))
      r_.fail(m, ictx + ".metric: unknown metric '" + e.metric +
                     "'; expected one of: " + join(metric_names()));
    if (selected.empty()) selected = e.metric;
  }
  if (const YAML::Node c = item["class"]) {
    e.class_index = r_.as_int32(c, ictx + ".class");
    if (e.class_index < 0) r_.fail(c, ictx + ".class: expected a class index >= 0");
    if (selected.empty()) selected = "class " + std::to_string(e.class_index);
  }
  if (selected.empty())
    r_.fail(item, ictx + ": expected at least one of dataset, model, metric or class");
  e.key = selected;
  r_.opt(item, "key", e.key, ictx);
  e.label = e.key;
  if (e.dataset.empty() && e.model.empty() && !e.metric.empty() && !item["key"]) {
    const MetricDef& m = metric(e.metric);  // a metric row or column is headed by its label
    e.label = *m.unit ? std::string(m.label) + " (" + m.unit + ")" : std::string(m.label);
  }
  r_.opt(item, "label", e.label, ictx);
  if (const YAML::Node marks = item["marks"]) {
    r_.expect_sequence(marks, ictx + ".marks");
    for (const auto& m : marks) e.marks[r_.as_string(m, ictx + ".marks")] = true;
  }
  return e;
}

void Parser::resolve_tables() {
  for (auto& d : cfg_.datasets)
    if (d.class_names.empty() && v_.class_names) {
      auto names = v_.class_names(d.kind);
      if (static_cast<int>(names.size()) == d.num_classes) d.class_names = std::move(names);
    }
  for (auto& t : cfg_.tables) {
    const std::string ctx = "tables." + t.name;
    const YAML::Node at = at_.table.at(t.name);
    if (t.class_rows) {
      std::string ds = t.dataset;
      for (const auto& c : t.columns)
        if (ds.empty()) ds = c.dataset;
      if (ds.empty()) r_.fail(at, ctx + ": `rows: classes` needs the table's `dataset`");
      const DatasetConfig& d = cfg_.dataset(ds);
      for (int c = t.background ? 0 : 1; c < d.num_classes; ++c) {
        TableEntry e;
        e.class_index = c;
        e.key = e.label = class_name(d, c);
        t.rows.push_back(e);
      }
      if (t.average != "none") {
        TableEntry e;
        e.key = "average";
        e.average = t.average;
        e.label =
            t.average == "all" ? "Average (background included)" : "Average (background excluded)";
        t.rows.push_back(e);
      }
    }
    for (const auto& r : t.rows)
      for (const auto& c : t.columns) {
        const auto [ds, model] = t.cell_source(r, c);
        if (ds.empty() || model.empty())
          r_.fail(at, ctx + ": the cell of row '" + r.key + "' and column '" + c.key +
                          "' names no " + (ds.empty() ? "dataset" : "model") +
                          "; set it in the row, the column or the table");
        if (!r.metric.empty() && !c.metric.empty())
          r_.fail(at, ctx + ": row '" + r.key + "' and column '" + c.key + "' both set a metric");
        if (r.class_index >= 0 && r.class_index >= cfg_.dataset(ds).num_classes)
          r_.fail(at, ctx + ": row '" + r.key + "' selects class " + std::to_string(r.class_index) +
                          ", but dataset '" + ds + "' has " +
                          std::to_string(cfg_.dataset(ds).num_classes) + " classes");
      }
    if (t.bold.empty()) {
      const bool model_columns = std::all_of(t.columns.begin(), t.columns.end(),
                                             [](const TableEntry& c) { return !c.model.empty(); });
      t.bold = model_columns ? "row" : "column";
    }
    if (t.expect)
      for (const auto* keys : {&t.expect->above, &t.expect->below})
        for (const auto& k : *keys)
          if (std::none_of(t.rows.begin(), t.rows.end(), [&](auto& e) { return e.key == k; }) &&
              std::none_of(t.columns.begin(), t.columns.end(), [&](auto& e) { return e.key == k; }))
            r_.fail(at, ctx + ".expect: '" + k + "' is neither a row nor a column key");
    if (at_published_.count(t.name))
      parse_published(at_published_.at(t.name), t, ctx + ".published");
    if (t.improvement)
      for (const auto& kv : at_improvement_published_[t.name])
        if (std::none_of(t.rows.begin(), t.rows.end(),
                         [&](const TableEntry& e) { return e.key == kv.first.Scalar(); }))
          r_.fail(kv.first, ctx + ".improvement.published: '" + kv.first.Scalar() +
                                "' is not a row of this table");
  }
}

// published: {row key: {column key: {metric: value} | value}}; a bare value is the cell's one
// metric.
void Parser::parse_published(const YAML::Node& n, TableConfig& t, const std::string& ctx) {
  r_.expect_map(n, ctx);
  for (const auto& rk : n) {
    const std::string row = rk.first.Scalar();
    const auto r = std::find_if(t.rows.begin(), t.rows.end(),
                                [&](const TableEntry& e) { return e.key == row; });
    if (r == t.rows.end()) r_.fail(rk.first, ctx + ": '" + row + "' is not a row of this table");
    r_.expect_map(rk.second, ctx + "." + row);
    for (const auto& ck : rk.second) {
      const std::string col = ck.first.Scalar();
      const std::string cctx = ctx + "." + row + "." + col;
      const auto c = std::find_if(t.columns.begin(), t.columns.end(),
                                  [&](const TableEntry& e) { return e.key == col; });
      if (c == t.columns.end())
        r_.fail(ck.first, ctx + "." + row + ": '" + col + "' is not a column of this table");
      auto& out = t.published[{row, col}];
      if (ck.second.IsScalar()) {
        const std::string metric = !r->metric.empty() ? r->metric : c->metric;
        const std::string single = metric.empty() && t.metrics.size() == 1 ? t.metrics[0] : metric;
        if (single.empty())
          r_.fail(ck.second, cctx + ": this cell shows several metrics; give {metric: value}");
        out[single] = r_.as_double(ck.second, cctx);
        continue;
      }
      r_.expect_map(ck.second, cctx);
      for (const auto& v : ck.second) {
        const std::string metric = v.first.Scalar();
        if (!find_metric(metric))
          r_.fail(v.first, cctx + ": unknown metric '" + metric +
                               "'; expected one of: " + join(metric_names()));
        out[metric] = r_.as_double(v.second, cctx + "." + metric);
      }
    }
  }
}

void Parser::validate() const {
  for (const auto& d : cfg_.datasets) validate_dataset(d);
  for (const auto& m : cfg_.models) validate_model(m);
  validate_training(cfg_.training, "training", at_.training);
  validate_inference();
}

void Parser::validate_model(const ModelConfig& m) const {
  const std::string ctx = "models." + m.name;
  const auto& kinds = v_.model_kinds;
  if (std::find(kinds.begin(), kinds.end(), m.kind) == kinds.end())
    r_.fail(at_.model_kind.at(m.name),
            ctx + ": unknown model kind '" + m.kind + "'; known: " + join(kinds));
  if (v_.check_model_options) {
    const Status st = v_.check_model_options(m.kind, m.options);
    if (!st.ok()) {
      const std::string& key = st.key();
      const auto& opts = at_.model_option.count(m.name) ? at_.model_option.at(m.name)
                                                        : std::map<std::string, YAML::Node>{};
      const YAML::Node at = opts.count(key) ? opts.at(key) : at_.model.at(m.name);
      r_.fail(at, ctx + ".options: " + st.message());
    }
  }
  const auto node = [&](const std::map<std::string, YAML::Node>& where) {
    const auto it = where.find(m.name);
    return it != where.end() ? it->second : at_.model.at(m.name);
  };
  const auto& label_kinds = v_.label_input_kinds;
  const bool reads_labels =
      std::find(label_kinds.begin(), label_kinds.end(), m.kind) != label_kinds.end();
  if (reads_labels && m.refines.empty())
    r_.fail(at_.model.at(m.name),
            ctx + ": a " + m.kind +
                " model reads another model's label maps; name that model with `refines:`");
  if (!m.refines.empty()) {
    if (!reads_labels)
      r_.fail(node(at_.model_refines),
              ctx + ".refines: only models that read label maps can refine (" +
                  (label_kinds.empty() ? std::string("none registered") : join(label_kinds)) +
                  "); '" + m.kind + "' reads images");
    const auto source = std::find_if(cfg_.models.begin(), cfg_.models.end(),
                                     [&](const ModelConfig& o) { return o.name == m.refines; });
    if (source == cfg_.models.end() || source->name == m.name)
      r_.fail(node(at_.model_refines),
              ctx + ".refines: no other model named '" + m.refines + "' in this file");
    if (!source->refines.empty())
      r_.fail(node(at_.model_refines), ctx + ".refines: '" + m.refines +
                                           "' refines a model itself; chains are not supported");
    if (m.repetitions < 1 || m.repetitions > 100)
      r_.fail(node(at_.model_repetitions), ctx + ".repetitions: expected an integer in 1..100");
  } else if (at_.model_repetitions.count(m.name)) {
    r_.fail(at_.model_repetitions.at(m.name),
            ctx + ".repetitions: only a model with `refines:` has source repetitions");
  }
  if (!m.init_from.empty()) {
    const YAML::Node at = node(at_.model_init);
    const auto source = std::find_if(cfg_.models.begin(), cfg_.models.end(),
                                     [&](const ModelConfig& o) { return o.name == m.init_from; });
    if (source != cfg_.models.end()) {
      if (source->name == m.name) r_.fail(at, ctx + ".init_from: a model cannot start from itself");
      if (!source->refines.empty() || !source->init_from.empty())
        r_.fail(at, ctx + ".init_from: '" + m.init_from +
                        "' is itself a later stage (refines or init_from); chains are not "
                        "supported");
    } else if (!std::filesystem::is_regular_file(m.init_from)) {
      r_.fail(at, ctx + ".init_from: '" + m.init_from +
                      "' is neither a model of this file nor a checkpoint file");
    }
  }
  const TrainingConfig& t = m.training ? *m.training : cfg_.training;
  const std::string tctx = m.training ? ctx + ".training" : "training";
  // Keys the model does not set itself come from the shared training: report those there.
  std::map<std::string, YAML::Node> origins = at_.training;
  if (const auto it = at_.model_training_key.find(m.name); it != at_.model_training_key.end())
    for (const auto& [key, value] : it->second) origins[key] = value;
  const auto at = [&](const char* key) {
    const auto it = origins.find(key);
    return it != origins.end() ? it->second : at_.model.at(m.name);
  };
  if (t.loss == "refnet" && m.refines.empty())
    r_.fail(at("loss"), tctx +
                            ".loss: 'refnet' compares the output with the source model's "
                            "labels, which only a model with `refines:` has (model '" +
                            m.name + "' has none)");
  if (!m.refines.empty())
    for (const auto& a : t.augment)
      if (a.rfind("flip", 0) != 0)
        r_.fail(at("augment"), tctx + ".augment: '" + a +
                                   "' would change the class indices that '" + m.name +
                                   "' reads; a refining model takes flip(...) only");
  if (m.training) validate_training(*m.training, tctx, origins);
}

void Parser::validate_dataset(const DatasetConfig& d) const {
  const auto& kinds = v_.dataset_kinds;
  if (std::find(kinds.begin(), kinds.end(), d.kind) == kinds.end())
    r_.fail(at_.dataset_kind.at(d.name), "datasets." + d.name + ": unknown dataset kind '" +
                                             d.kind + "'; known: " + join(kinds));
  if (d.num_classes < 2)
    r_.fail(at_.dataset.at(d.name), "datasets." + d.name + ": num_classes must be >= 2");
  if (v_.check_dataset_options) {
    const Status st = v_.check_dataset_options(d.kind, d.options, d.split.scheme);
    if (!st.ok()) {
      const std::string& key = st.key();
      YAML::Node at = at_.dataset.at(d.name);
      if (key == "split.scheme" && at_.dataset_scheme.count(d.name)) {
        at = at_.dataset_scheme.at(d.name);
      } else if (at_.dataset_option.count(d.name) && at_.dataset_option.at(d.name).count(key)) {
        at = at_.dataset_option.at(d.name).at(key);
      }
      r_.fail(at, "datasets." + d.name + (key == "split.scheme" ? ".split: " : ".options: ") +
                      st.message());
    }
  }
  if (!d.phantom.enabled && !std::filesystem::is_directory(d.root))
    r_.fail(at_.dataset_root.at(d.name),
            "datasets." + d.name + ": root '" + d.root +
                "' does not exist (set `phantom:` to generate synthetic data there)");
}

// Fails at `node` unless `value` is one of `known`, listing them.
void check_one_of(const YamlReader& r, const YAML::Node& node, const std::string& key,
                  const std::string& what, const std::string& value,
                  const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), value) == known.end())
    r.fail(node, key + ": unknown " + what + " '" + value + "'; known: " + join(known));
}

void Parser::validate_training(const TrainingConfig& t, const std::string& ctx,
                               const std::map<std::string, YAML::Node>& origins) const {
  // The node a training key's value came from (the base file or the profile), else the file.
  const auto at = [&](const char* key) {
    const auto it = origins.find(key);
    return it != origins.end() ? it->second : root_;
  };
  const auto check = [&](bool ok, const char* key, const std::string& message) {
    if (!ok) r_.fail(at(key), ctx + "." + key + ": " + message);
  };
  const auto one_of = [&](const std::string& v, const char* key, const char* what,
                          const std::vector<std::string>& known) {
    check_one_of(r_, at(key), ctx + "." + key, what, v, known);
  };
  check(t.lr > 0, "lr", "must be > 0");
  check(t.batch > 0, "batch", "must be > 0");
  check(t.epochs >= 0, "epochs", "must be >= 0 (0 scores the untrained model)");
  check(t.steps_per_epoch > 0, "steps_per_epoch", "must be > 0");
  check(t.patience > 0, "patience", "must be > 0");
  one_of(t.optimizer, "optimizer", "optimizer", v_.optimizers);
  check(t.momentum >= 0 && t.momentum < 1, "momentum", "must be in [0, 1)");
  check(t.weight_decay >= 0, "weight_decay", "must be >= 0");
  one_of(t.schedule, "schedule", "schedule", v_.schedules);
  check(t.warmup_epochs >= 0, "warmup_epochs", "must be >= 0");
  check(t.schedule != "warmup_cosine" || t.epochs == 0 || t.warmup_epochs < t.epochs,
        "warmup_epochs",
        "must be < epochs (" + std::to_string(t.epochs) + ") or the lr never reaches its peak");
  check(t.min_lr >= 0 && t.min_lr <= t.lr, "min_lr", "must be in [0, lr]");
  check(t.plateau_factor > 0 && t.plateau_factor < 1, "plateau_factor", "must be in (0, 1)");
  check(t.plateau_patience >= 0, "plateau_patience", "must be >= 0");
  check(t.grad_clip >= 0, "grad_clip", "must be >= 0 (0 turns clipping off)");
  one_of(t.precision, "precision", "precision", v_.precisions);
  one_of(t.loss, "loss", "loss", v_.losses);
  if (t.loss == "bce_dice" || t.loss == "spider_dice")
    for (const auto& d : cfg_.datasets)
      check(d.num_classes == 2, "loss",
            t.loss + " is a two-class loss, but dataset '" + d.name + "' has num_classes " +
                std::to_string(d.num_classes));
  check(t.focal_beta >= 1, "focal_beta", "must be >= 1");
  one_of(t.early_stop_metric, "early_stop_metric", "metric", v_.early_stop_metrics);
  check(t.foreground_fraction >= 0 && t.foreground_fraction <= 1, "foreground_fraction",
        "must be in [0, 1]");
  check(t.patch[0] > 0 && t.patch[1] > 0 && t.patch[2] > 0, "patch",
        "expected [i, j, k] with every size > 0");
  one_of(t.sampler, "sampler", "sampler", v_.samplers);
  check(t.samples_per_volume > 0, "samples_per_volume", "must be > 0");
  check(t.threads >= 0, "threads", "must be >= 0");
  check(t.val_loss == "dice_ce" || t.val_loss == "training", "val_loss",
        "expected dice_ce (CE + soft Dice over every class) or training (the trial's own loss)");
  check(t.val_loss != "training" || t.loss != "refnet", "val_loss",
        "'training' cannot score whole cases with the refnet loss, which needs the source's "
        "labels; use dice_ce");
}

void Parser::validate_inference() const {
  const InferenceConfig& c = cfg_.inference;
  const auto at = [&](const char* key) {
    const auto it = at_.inference.find(key);
    return it != at_.inference.end() ? it->second : root_;
  };
  if (!(c.overlap >= 0 && c.overlap < 1))
    r_.fail(at("overlap"), "inference.overlap: must be in [0, 1)");
  if (c.sw_batch < 1) r_.fail(at("sw_batch"), "inference.sw_batch: must be > 0");
  check_one_of(r_, at("blend"), "inference.blend", "blend", c.blend, v_.blends);
}

}  // namespace

const DatasetConfig& ExperimentConfig::dataset(const std::string& n) const {
  for (const auto& d : datasets)
    if (d.name == n) return d;
  throw Error("no dataset named '" + n + "'");
}

const ModelConfig& ExperimentConfig::model(const std::string& n) const {
  for (const auto& m : models)
    if (m.name == n) return m;
  throw Error("no model named '" + n + "'");
}

ExperimentConfig load_experiment(const std::string& path, const std::string& profile,
                                 const ConfigValidators& validators) {
  Parser parser(path, validators);
  return parser.parse(profile);
}

}  // namespace orch
