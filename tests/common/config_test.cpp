// Schema v1 parsing (common/config/config.h, config_yaml.cpp) and the JSON forms of its structs.
//
// Line and column numbers in the expected errors are counted by hand from the YAML lines written
// in each test (the trailing comment on each line is its 1-based line number).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "common/status.h"

namespace orch {
namespace {

namespace fs = std::filesystem;
using Lines = std::vector<std::string>;

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

::testing::AssertionResult BeginsWith(const std::string& text, const std::string& prefix) {
  if (text.rfind(prefix, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not start with \"" << prefix << "\"";
}

// Rejects the option `colour` for every kind; anything else is fine.
Status reject_colour(const std::string& kind, const nlohmann::json& options) {
  if (options.contains("colour"))
    return Status::Invalid("colour", "'colour' is not an option of " + kind);
  return Status::Ok();
}

// Datasets accept only the option `channel` and the split schemes random and synapse.
Status dataset_options(const std::string&, const nlohmann::json& options,
                       const std::string& scheme) {
  if (scheme != "random" && scheme != "synapse")
    return Status::Invalid("split.scheme", "unknown split scheme '" + scheme + "'");
  for (const auto& [key, value] : options.items())
    if (key != "channel") return Status::Invalid(key, "unknown option '" + key + "'");
  return Status::Ok();
}

// The training names the worker implements, written here as independent facts (the parser has
// none built in; orchestrator/plan.cpp fills them from worker/).
void add_training_names(ConfigValidators& v) {
  v.optimizers = {"adam", "adamw", "rmsprop", "sgd"};
  v.schedules = {"constant", "warmup_cosine", "plateau"};
  v.losses = {"dice_ce",          "ce",         "dice",        "bce_dice",
              "generalized_dice", "focal_dice", "spider_dice", "refnet"};
  v.samplers = {"foreground", "uniform", "label"};
  v.early_stop_metrics = {"val_dsc", "val_iou", "val_loss", "train_loss"};
  v.precisions = {"fp32", "bf16"};
  v.blends = {"gaussian", "average"};
}

ConfigValidators test_validators() {
  ConfigValidators v;
  v.model_kinds = {"wide_unet"};
  v.dataset_kinds = {"hepatic_vessel"};
  add_training_names(v);
  v.check_model_options = &reject_colour;
  v.check_dataset_options = &dataset_options;
  v.check_transform = [](const std::string& spec) {
    return spec.rfind("flip(", 0) == 0 ? Status::Ok()
                                       : Status::Invalid("", "unknown transform '" + spec + "'");
  };
  return v;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info->name();  // "Test/Case" for ConfigErrorTest
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ =
        fs::temp_directory_path() / ("orch_config_test_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    root_ = (dir_ / "data").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const Lines& lines) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path);
    for (const auto& l : lines) out << l << '\n';
    return path;
  }

  // The error message load_experiment throws, or "" when it does not throw.
  std::string error_of(const std::string& path, const std::string& profile = "") {
    try {
      load_experiment(path, profile, test_validators());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  // The smallest valid file; lines 1-15.
  Lines minimal() const {
    return {
        "version: 1",                // 1
        "name: mini",                // 2
        "datasets:",                 // 3
        "  vessels:",                // 4
        "    kind: hepatic_vessel",  // 5
        "    root: " + root_,        // 6
        "models:",                   // 7
        "  net:",                    // 8
        "    kind: wide_unet",       // 9
        "tables:",                   // 10
        "  t1:",                     // 11
        "    rows:",                 // 12
        "      - dataset: vessels",  // 13
        "    columns:",              // 14
        "      - model: net",        // 15
    };
  }

  // Asserts a one-line error located at line:col of `path`.
  static void expect_located(const std::string& error, const std::string& path, int line, int col) {
    EXPECT_TRUE(
        BeginsWith(error, path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": "));
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }

  fs::path dir_;
  std::string root_;
};

// --- valid files -------------------------------------------------------------------------------

TEST_F(ConfigTest, MinimalFileGetsTheDocumentedDefaults) {
  const std::string path = write("mini.yaml", minimal());
  const ExperimentConfig c = load_experiment(path, "", test_validators());

  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.name, "mini");
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.profile, "");
  EXPECT_EQ(c.output, "runs/mini");
  EXPECT_EQ(c.seeds, std::vector<std::uint64_t>{0});

  ASSERT_EQ(c.datasets.size(), 1u);
  const DatasetConfig& d = c.datasets[0];
  EXPECT_EQ(d.name, "vessels");
  EXPECT_EQ(d.kind, "hepatic_vessel");
  EXPECT_EQ(d.root, root_);
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_DOUBLE_EQ(d.split.train, 0.8);
  EXPECT_DOUBLE_EQ(d.split.val, 0.1);
  EXPECT_EQ(d.split.seed, 0u);
  EXPECT_FALSE(d.phantom.enabled);
  EXPECT_EQ(d.phantom.cases, 10);
  EXPECT_EQ(d.phantom.seed, 1u);
  EXPECT_EQ(d.phantom.size, (std::array<int, 3>{96, 96, 32}));
  EXPECT_EQ(d.split.scheme, "random");
  EXPECT_EQ(d.options, nlohmann::json::object());
  EXPECT_TRUE(d.preprocess.steps.empty());
  EXPECT_TRUE(d.preprocess.label_map.empty());
  EXPECT_EQ(c.cache, "cache");

  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_EQ(c.models[0].name, "net");
  EXPECT_EQ(c.models[0].kind, "wide_unet");
  EXPECT_EQ(c.models[0].options, nlohmann::json::object());

  const TrainingConfig& t = c.training;
  EXPECT_EQ(t.optimizer, "adam");
  EXPECT_DOUBLE_EQ(t.lr, 1e-3);
  EXPECT_EQ(t.loss, "dice_ce");
  EXPECT_EQ(t.batch, 8);
  EXPECT_EQ(t.epochs, 100);
  EXPECT_EQ(t.steps_per_epoch, 50);
  EXPECT_EQ(t.patience, 10);
  EXPECT_EQ(t.early_stop_metric, "val_dsc");
  EXPECT_DOUBLE_EQ(t.foreground_fraction, 0.5);
  EXPECT_EQ(t.threads, 0);

  ASSERT_EQ(c.tables.size(), 1u);
  const TableConfig& table = c.tables[0];
  EXPECT_EQ(table.name, "t1");
  EXPECT_EQ(table.title, "");
  // Without a label, a row or column is labelled by its name.
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0].key, "vessels");
  EXPECT_EQ(table.rows[0].label, "vessels");
  EXPECT_EQ(table.rows[0].dataset, "vessels");
  ASSERT_EQ(table.columns.size(), 1u);
  EXPECT_EQ(table.columns[0].label, "net");
  EXPECT_EQ(table.columns[0].model, "net");
  EXPECT_EQ(table.bold, "row");  // columns of models: the best of each row is bold
  EXPECT_EQ(table.metrics, (std::vector<std::string>{"dsc", "iou"}));
  EXPECT_TRUE(table.published.empty());

  EXPECT_EQ(&c.dataset("vessels"), &c.datasets[0]);
  EXPECT_EQ(&c.model("net"), &c.models[0]);
  EXPECT_THROW(c.dataset("nope"), Error);
  EXPECT_THROW(c.model("nope"), Error);
}

TEST_F(ConfigTest, FullySpecifiedFieldsAreParsedIntoTypedValues) {
  const std::string path = write(
      "full.yaml", {
                       "version: 1",
                       "name: full",
                       "output: elsewhere/run1",
                       "datasets:",
                       "  vessels:",
                       "    kind: hepatic_vessel",
                       "    root: " + root_,
                       "    num_classes: 3",
                       "    split: {train: 20, val: 5, seed: 11}",
                       "    preprocess:",
                       "      label_map: {2: 0, 3: 1}",
                       "      steps:",
                       "        - window: [-100, 300.5]",
                       "        - crop: [0, 64, 8, 72]",
                       "        - znorm: foreground",
                       "        - resample: [0.5, 0.75, 2]",
                       "        - crop: [1, 9, 2, 10, 3, 11]",
                       "        - resize: [32, 48]",
                       "models:",
                       "  net:",
                       "    kind: wide_unet",
                       "    options: {width: 0.5, depth: 4, bias: true, act: relu, list: [1, 2]}",
                       "training:",
                       "  lr: 0.005",
                       "  batch: 4",
                       "  early_stop_metric: val_loss",
                       "  foreground_fraction: 0.25",
                       "  threads: 2",
                       "seeds: [3, 1, 2]",
                       "tables:",
                       "  t1:",
                       "    title: \"Table 2: DSC\"",
                       "    rows:",
                       "      - {dataset: vessels, label: \"Liver vessels\"}",
                       "    columns:",
                       "      - {model: net, label: U-Net}",
                       "    metrics: [precision, recall]",
                       "    published:",
                       "      vessels:",
                       "        net: {precision: 0.5, recall: 0.25}",
                   });
  const ExperimentConfig c = load_experiment(path, "", test_validators());
  EXPECT_EQ(c.output, "elsewhere/run1");
  EXPECT_EQ(c.seeds, (std::vector<std::uint64_t>{3, 1, 2}));  // file order kept
  const DatasetConfig& d = c.datasets.at(0);
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_DOUBLE_EQ(d.split.train, 20);
  EXPECT_DOUBLE_EQ(d.split.val, 5);
  EXPECT_EQ(d.split.seed, 11u);
  EXPECT_EQ(d.preprocess.label_map, (std::map<int, int>{{2, 0}, {3, 1}}));
  const auto& st = d.preprocess.steps;
  ASSERT_EQ(st.size(), 6u);  // in file order
  EXPECT_EQ(st[0].op, "window");
  EXPECT_EQ(st[0].args, (std::vector<double>{-100, 300.5}));
  EXPECT_EQ(st[1].op, "crop");
  EXPECT_EQ(st[1].args, (std::vector<double>{0, 64, 8, 72}));
  EXPECT_EQ(st[2].op, "znorm");
  EXPECT_EQ(st[2].mode, "foreground");
  EXPECT_EQ(st[3].op, "resample");
  EXPECT_EQ(st[3].args, (std::vector<double>{0.5, 0.75, 2}));
  EXPECT_EQ(st[4].args, (std::vector<double>{1, 9, 2, 10, 3, 11}));
  EXPECT_EQ(st[5].op, "resize");
  EXPECT_EQ(st[5].args, (std::vector<double>{32, 48}));

  // Option scalars are typed: int, float, bool, string; lists stay lists.
  const nlohmann::json& o = c.models.at(0).options;
  EXPECT_TRUE(o.at("width").is_number_float());
  EXPECT_DOUBLE_EQ(o.at("width").get<double>(), 0.5);
  EXPECT_TRUE(o.at("depth").is_number_integer());
  EXPECT_EQ(o.at("depth").get<int>(), 4);
  EXPECT_TRUE(o.at("bias").is_boolean());
  EXPECT_EQ(o.at("act"), "relu");
  EXPECT_EQ(o.at("list"), nlohmann::json::parse("[1, 2]"));

  EXPECT_DOUBLE_EQ(c.training.lr, 0.005);
  EXPECT_EQ(c.training.batch, 4);
  EXPECT_EQ(c.training.epochs, 100);  // untouched fields keep their defaults
  EXPECT_EQ(c.training.early_stop_metric, "val_loss");
  EXPECT_DOUBLE_EQ(c.training.foreground_fraction, 0.25);
  EXPECT_EQ(c.training.threads, 2);

  const TableConfig& t = c.tables.at(0);
  EXPECT_EQ(t.title, "Table 2: DSC");
  EXPECT_EQ(t.rows.at(0).label, "Liver vessels");
  EXPECT_EQ(t.columns.at(0).label, "U-Net");
  EXPECT_EQ(t.metrics, (std::vector<std::string>{"precision", "recall"}));
  const auto& pub = t.published.at({"vessels", "net"});
  EXPECT_DOUBLE_EQ(pub.at("precision"), 0.5);
  EXPECT_DOUBLE_EQ(pub.at("recall"), 0.25);
}

class ProfileTest : public ConfigTest {
 protected:
  std::string file() {
    return write("profiles.yaml", {
                                      "version: 1",
                                      "name: prof",
                                      "default_profile: quick",
                                      "datasets:",
                                      "  vessels:",
                                      "    kind: hepatic_vessel",
                                      "    root: " + root_,
                                      "    split: {train: 0.8, val: 0.1, seed: 3}",
                                      "    preprocess: {steps: [{window: [0, 300]}]}",
                                      "models:",
                                      "  net:",
                                      "    kind: wide_unet",
                                      "    options: {width: 1.0, depth: 4}",
                                      "training:",
                                      "  lr: 0.005",
                                      "  epochs: 150",
                                      "seeds: [0, 1]",
                                      "tables:",
                                      "  t1:",
                                      "    rows: [{dataset: vessels}]",
                                      "    columns: [{model: net}]",
                                      "profiles:",
                                      "  quick:",
                                      "    output: runs/quick",
                                      "    datasets:",
                                      "      vessels:",
                                      "        phantom: {cases: 12, seed: 7, size: [64, 64, 24]}",
                                      "        split: {train: 0.5, val: 0.17}",
                                      "    models:",
                                      "      net:",
                                      "        options: {width: 0.25, bn_momentum: 0.1}",
                                      "    training:",
                                      "      lr: 0.002",
                                      "      epochs: 8",
                                      "    seeds: [5]",
                                      "  other:",
                                      "    training:",
                                      "      epochs: 3",
                                  });
  }
};

TEST_F(ProfileTest, DefaultProfileIsAppliedWhenNoneIsGiven) {
  const ExperimentConfig c = load_experiment(file(), "", test_validators());
  EXPECT_EQ(c.profile, "quick");
  EXPECT_EQ(c.output, "runs/quick");
  EXPECT_EQ(c.seeds, std::vector<std::uint64_t>{5});

  // Training: overridden fields change, the others keep the base file's (or default) values.
  EXPECT_DOUBLE_EQ(c.training.lr, 0.002);
  EXPECT_EQ(c.training.epochs, 8);
  EXPECT_EQ(c.training.batch, 8);

  // Model options merge key by key: width replaced, depth kept, bn_momentum added.
  EXPECT_EQ(c.models.at(0).kind, "wide_unet");
  EXPECT_EQ(c.models.at(0).options,
            nlohmann::json::parse(R"({"width": 0.25, "depth": 4, "bn_momentum": 0.1})"));

  // Dataset: the profile's phantom fields apply but do not switch phantoms on (only the file's
  // own block or an explicit `enabled: true` does); split fields merge (seed kept).
  const DatasetConfig& d = c.datasets.at(0);
  EXPECT_EQ(d.root, root_);
  EXPECT_FALSE(d.phantom.enabled);
  EXPECT_EQ(d.phantom.cases, 12);
  EXPECT_EQ(d.phantom.seed, 7u);
  EXPECT_EQ(d.phantom.size, (std::array<int, 3>{64, 64, 24}));
  EXPECT_DOUBLE_EQ(d.split.train, 0.5);
  EXPECT_DOUBLE_EQ(d.split.val, 0.17);
  EXPECT_EQ(d.split.seed, 3u);
  ASSERT_EQ(d.preprocess.steps.size(), 1u);  // untouched by the profile
  EXPECT_EQ(d.preprocess.steps[0].args, (std::vector<double>{0, 300}));
}

// Regression: a profile's phantom block used to turn a phantom the file had switched off back
// on, so a mistyped root would silently get synthetic data.
TEST_F(ConfigTest, AProfileNeverRevivesAPhantomTheFileSwitchedOff) {
  const std::string yaml =
      write("phantom_off.yaml", {
                                    "version: 1",
                                    "name: p",
                                    "default_profile: quick",
                                    "datasets:",
                                    "  d:",
                                    "    kind: hepatic_vessel",
                                    "    root: /nonexistent/typo",
                                    "    phantom: {enabled: false}",
                                    "models: {m: {kind: wide_unet}}",
                                    "tables:",
                                    "  t: {rows: [{dataset: d}], columns: [{model: m}]}",
                                    "profiles:",
                                    "  quick:",
                                    "    datasets: {d: {phantom: {cases: 4}}}",
                                    "  on:",
                                    "    datasets: {d: {phantom: {enabled: true}}}",
                                });
  EXPECT_TRUE(Contains(error_of(yaml), "root '/nonexistent/typo' does not exist"));
  EXPECT_TRUE(load_experiment(yaml, "on", test_validators()).datasets[0].phantom.enabled);
}

TEST_F(ProfileTest, NoneAppliesNoProfile) {
  const ExperimentConfig c = load_experiment(file(), "none", test_validators());
  EXPECT_EQ(c.profile, "");
  EXPECT_EQ(c.output, "runs/prof");
  EXPECT_EQ(c.seeds, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_DOUBLE_EQ(c.training.lr, 0.005);
  EXPECT_EQ(c.training.epochs, 150);
  EXPECT_EQ(c.models.at(0).options, nlohmann::json::parse(R"({"width": 1.0, "depth": 4})"));
  EXPECT_FALSE(c.datasets.at(0).phantom.enabled);
  EXPECT_DOUBLE_EQ(c.datasets.at(0).split.train, 0.8);
  EXPECT_DOUBLE_EQ(c.datasets.at(0).split.val, 0.1);
}

TEST_F(ProfileTest, ExplicitProfileOverridesTheDefaultProfile) {
  const ExperimentConfig c = load_experiment(file(), "other", test_validators());
  EXPECT_EQ(c.profile, "other");
  EXPECT_EQ(c.training.epochs, 3);
  EXPECT_DOUBLE_EQ(c.training.lr, 0.005);  // from the base file, not from `quick`
  EXPECT_EQ(c.seeds, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_FALSE(c.datasets.at(0).phantom.enabled);
  EXPECT_EQ(c.models.at(0).options, nlohmann::json::parse(R"({"width": 1.0, "depth": 4})"));
}

TEST_F(ProfileTest, UnknownProfileIsAnErrorListingTheDefinedOnes) {
  const std::string path = file();
  const std::string e = error_of(path, "fast");
  EXPECT_TRUE(BeginsWith(e, path + ": "));
  EXPECT_TRUE(Contains(e, "unknown profile 'fast'"));
  EXPECT_TRUE(Contains(e, "quick, other"));
}

TEST_F(ConfigTest, DefaultProfileThatDoesNotExistIsAnError) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 2, "default_profile: quick");
  const std::string path = write("bad_default.yaml", lines);
  const std::string e = error_of(path);
  EXPECT_TRUE(Contains(e, "unknown profile 'quick'"));
  EXPECT_TRUE(Contains(e, "defines: none"));
  // "none" still loads the file.
  EXPECT_EQ(load_experiment(path, "none", test_validators()).profile, "");
}

TEST_F(ConfigTest, ShippedAllTablesExperimentLoadsWithEachProfile) {
  const std::string path = std::string(ORCH_SOURCE_DIR) + "/experiments/all_tables.yaml";
  for (const char* profile : {"", "quick", "paper", "none"}) {
    SCOPED_TRACE(profile);
    // Names only: the kinds' own option checks live above common/ (orchestrator tests).
    ConfigValidators v;
    add_training_names(v);
    v.model_kinds = {"attention_unet2d", "fcn_rnn",    "refnet", "resunet2d", "resunet3d",
                     "spider_unet",      "swin_unetr", "unet3d", "wide_unet"};
    v.label_input_kinds = {"refnet"};
    v.dataset_kinds = {"hepatic_vessel", "mra", "york_cardiac", "btcv", "isbi_ms", "lidc"};
    // resunet_btcv.yaml's `expect:` names organ rows, so btcv needs its class names (the label
    // table of docs/DATASETS.md section 1).
    v.class_names = [](const std::string& kind) {
      return kind == "btcv" ? std::vector<std::string>{"background",
                                                       "spleen",
                                                       "right kidney",
                                                       "left kidney",
                                                       "gallbladder",
                                                       "esophagus",
                                                       "liver",
                                                       "stomach",
                                                       "aorta",
                                                       "inferior vena cava",
                                                       "portal and splenic veins",
                                                       "pancreas",
                                                       "right adrenal gland",
                                                       "left adrenal gland"}
                            : std::vector<std::string>{};
    };
    const ExperimentConfig c = load_experiment(path, profile, v);
    EXPECT_EQ(c.name, "all_tables");
    EXPECT_FALSE(c.tables.empty());
  }
}

// --- errors ------------------------------------------------------------------------------------

TEST_F(ConfigTest, MissingFileIsAnErrorNamingIt) {
  const std::string path = (dir_ / "absent.yaml").string();
  EXPECT_TRUE(BeginsWith(error_of(path), path + ": "));
}

TEST_F(ConfigTest, YamlSyntaxErrorPointsAtTheOffendingCharacter) {
  const std::string path = write("syntax.yaml", {
                                                    "version: 1",  // 1
                                                    "name: a: b",  // 2: second ':' is column 8
                                                });
  const std::string e = error_of(path);
  expect_located(e, path, 2, 8);
  EXPECT_TRUE(Contains(e, "YAML syntax error"));
}

// One change to minimal(), in the numbering of the file written: `line` is the line replaced or
// erased, or the line the first inserted line becomes. "{absent}" in a text stands for a folder
// that does not exist.
struct Edit {
  enum Kind { kReplace, kInsert, kErase, kAppend } kind;
  int line;
  Lines text;
};
Edit Replace(int line, std::string text) { return {Edit::kReplace, line, {std::move(text)}}; }
Edit Insert(int line, Lines text) { return {Edit::kInsert, line, std::move(text)}; }
Edit Erase(int line) { return {Edit::kErase, line, {}}; }
Edit Append(Lines text) { return {Edit::kAppend, 0, std::move(text)}; }

// A file that load_experiment refuses with a one-line error at line:col.
struct ErrorCase {
  std::string name;                    // the test's name
  std::vector<Edit> edits;             // applied to minimal() in order
  int line, col;                       // where the error points
  std::vector<std::string> fragments;  // each appears in the message
  std::string profile = "";            // "" applies the file's default_profile (none here)
  bool loads_without_profile = false;  // the profile's error: with "none" the file loads
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::string substituted(std::string text, const std::string& absent) {
  const std::string mark = "{absent}";
  for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at))
    text.replace(at, mark.size(), absent);
  return text;
}

class ConfigErrorTest : public ConfigTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(ConfigErrorTest, PointsAtTheLineAndSaysWhy) {
  const ErrorCase& k = GetParam();
  const std::string absent = (dir_ / "absent").string();
  Lines lines = minimal();
  for (const Edit& edit : k.edits) {
    Lines text;
    for (const auto& t : edit.text) text.push_back(substituted(t, absent));
    const auto at = lines.begin() + (edit.line - 1);
    switch (edit.kind) {
      case Edit::kReplace:
        lines.at(edit.line - 1) = text.at(0);
        break;
      case Edit::kInsert:
        lines.insert(at, text.begin(), text.end());
        break;
      case Edit::kErase:
        lines.erase(at);
        break;
      case Edit::kAppend:
        lines.insert(lines.end(), text.begin(), text.end());
        break;
    }
  }
  const std::string path = write(k.name + ".yaml", lines);
  const std::string e = error_of(path, k.profile);
  expect_located(e, path, k.line, k.col);
  for (const auto& fragment : k.fragments) EXPECT_TRUE(Contains(e, substituted(fragment, absent)));
  if (k.loads_without_profile) {
    EXPECT_EQ(error_of(path, "none"), "");
  }
}

// minimal() is lines 1-15; line and column are counted by hand from the edited lines.
const ErrorCase kErrorCases[] = {
    // --- the document, unknown and duplicate keys
    {"UnsupportedVersion", {Replace(1, "version: 2")}, 1, 10, {"unsupported schema version '2'"}},
    {"MissingTopLevelName",  // the document mapping starts at line 1 col 1
     {Erase(2)},
     1,
     1,
     {"missing required key 'name'"}},
    {"UnknownTopLevelKeyListsTheAllowedKeys",
     {Insert(3, {"epochs: 3"})},
     3,
     1,
     {"unknown key 'epochs' in the experiment",
      "version, name, output, cache, default_profile, datasets, models, training, inference, "
      "seeds, tables, profiles"}},
    {"UnknownTrainingKeyListsTheAllowedKeys",
     {Append({
         "training:",   // 16
         "  lr: 0.1",   // 17
         "  epoch: 5",  // 18: the key starts at column 3
         "  batch: 2",  // 19
     })},
     18,
     3,
     {"unknown key 'epoch' in training",
      "expected one of: optimizer, lr, momentum, weight_decay, schedule, warmup_epochs, min_lr, "
      "plateau_factor, plateau_patience, grad_clip, precision, loss, focal_beta, batch, epochs, "
      "steps_per_epoch, patience, early_stop_metric, foreground_fraction, patch, sampler, "
      "samples_per_volume, augment, threads"}},
    {"UnknownInferenceKeyListsTheAllowedKeys",
     {Append({"inference:", "  overlp: 0.5"})},  // 16, 17: key at column 3
     17,
     3,
     {"overlp", "save_predictions"}},
    {"DuplicateKeyAtTheSecondOccurrence",
     {Append({"seeds: [1]", "seeds: [2]"})},  // 16, 17
     17,
     1,
     {"duplicate key 'seeds'"}},

    // --- datasets
    {"UnknownDatasetKindListsKnownKinds",
     {Replace(5, "    kind: liver")},  // value at column 11
     5,
     11,
     {"datasets.vessels: unknown dataset kind 'liver'; known: hepatic_vessel"}},
    {"MissingDatasetKind",  // the mapping now starts at "root", line 5 col 5
     {Erase(5)},
     5,
     5,
     {"datasets.vessels: missing required key 'kind'"}},
    {"MissingDatasetRoot",  // the mapping starts at "kind", line 5 col 5
     {Erase(6)},
     5,
     5,
     {"datasets.vessels: missing required key 'root'"}},
    {"MissingRootDirectoryWithoutPhantom",
     {Replace(6, "    root: {absent}")},  // value at column 11
     6,
     11,
     {"datasets.vessels: root '{absent}' does not exist"}},
    {"DisabledPhantomDoesNotExcuseAMissingRoot",
     {Replace(6, "    root: {absent}"), Insert(7, {"    phantom: {enabled: false}"})},
     6,
     11,
     {"datasets.vessels: root '{absent}' does not exist"}},
    {"NonBooleanPhantomEnabled",
     {Insert(7,
             {
                 "    phantom:",          // 7
                 "      enabled: maybe",  // 8: value at column 16
             })},
     8,
     16,
     {"datasets.vessels.phantom.enabled: expected true or false"}},
    {"UnknownDatasetOptionPointsAtTheKey",
     {Insert(7,
             {
                 "    options: {channel: t2, rater: 3}",  // 7: key `rater` at column 28
                 "    split: {scheme: synapse}",          // 8
             })},
     7,
     28,
     {"datasets.vessels.options: unknown option 'rater'"}},
    {"UnknownSplitSchemePointsAtTheValue",
     {Insert(7,
             {
                 "    options: {channel: t2}",  // 7
                 "    split: {scheme: monai}",  // 8: value at column 21
             })},
     8,
     21,
     {"datasets.vessels.split: unknown split scheme 'monai'"}},
    {"SplitFractionsLeavingNoTestCases",
     {Insert(7, {"    split: {train: 0.9, val: 0.1}"})},  // 7: '{' at column 12
     7,
     12,
     {"leave some cases for the test split"}},
    {"UnknownPreprocessingStep",
     {Insert(7,
             {
                 "    preprocess:",             // 7
                 "      steps:",                // 8
                 "        - window: [0, 300]",  // 9
                 "        - blur: 2",           // 10: key at column 11
             })},
     10,
     11,
     {"datasets.vessels.preprocess.steps[1]: unknown preprocessing step 'blur'"}},
    {"UnknownZnormMask",
     {Insert(7,
             {
                 "    preprocess:",             // 7
                 "      steps:",                // 8
                 "        - window: [0, 300]",  // 9
                 "        - znorm: median",     // 10: value at column 18
             })},
     10,
     18,
     {"unknown mask 'median'"}},
    {"WindowBoundsOutOfOrder",
     {Insert(7,
             {
                 "    preprocess:",             // 7
                 "      steps:",                // 8
                 "        - window: [0, 300]",  // 9
                 "        - window: [300, 0]",  // 10: '[' at column 19
             })},
     10,
     19,
     {"low < high"}},
    {"FractionalCrop",
     // "    preprocess: {steps: [{crop: [0.5, 8, 0, 8]}]}": "0.5" at column 34
     {Insert(6, {"    preprocess: {steps: [{crop: [0.5, 8, 0, 8]}]}"})},
     6,
     34,
     {"expected an integer, got '0.5'"}},
    // The steps added for E6/E7; `steps[0]` is the first item of the list.
    {"NegativeCropNonzeroMargin",
     {Insert(7,
             {
                 "    preprocess:",                     // 7
                 "      steps:",                        // 8
                 "        - crop_nonzero: [1, -1, 0]",  // 9: '[' at column 25
             })},
     9,
     25,
     {"datasets.vessels.preprocess.steps[0].crop_nonzero: margins must be >= 0"}},
    {"CenterCropFractionOfZero",
     {Insert(7,
             {
                 "    preprocess:",                  // 7
                 "      steps:",                     // 8
                 "        - center_crop: [0, 0.5]",  // 9: '[' at column 24
             })},
     9,
     24,
     {"datasets.vessels.preprocess.steps[0].center_crop: fractions must be in (0, 1]"}},
    {"CenterCropFractionAboveOne",
     {Insert(7,
             {
                 "    preprocess:",                   // 7
                 "      steps:",                      // 8
                 "        - window: [0, 300]",        // 9
                 "        - center_crop: [1, 1.25]",  // 10: '[' at column 24
             })},
     10,
     24,
     {"datasets.vessels.preprocess.steps[1].center_crop: fractions must be in (0, 1]"}},
    {"PadSizeOfZero",
     {Insert(7,
             {
                 "    preprocess:",           // 7
                 "      steps:",              // 8
                 "        - pad: [8, 0, 8]",  // 9: '[' at column 16
             })},
     9,
     16,
     {"datasets.vessels.preprocess.steps[0].pad: sizes must be in [1, 4096]"}},
    {"PadSizeAbove4096",
     {Insert(7,
             {
                 "    preprocess:",              // 7
                 "      steps:",                 // 8
                 "        - pad: [8, 8, 4097]",  // 9: '[' at column 16
             })},
     9,
     16,
     {"sizes must be in [1, 4096]"}},
    {"UnknownPreprocessingStepListsTheNewSteps",
     {Insert(7,
             {
                 "    preprocess:",       // 7
                 "      steps:",          // 8
                 "        - crop_nz: 2",  // 9: key at column 11
             })},
     9,
     11,
     {"unknown preprocessing step 'crop_nz'; known: window, clip, scale, znorm, resample, crop, "
      "crop_foreground, crop_nonzero, center_crop, pad, resize"}},
    // E8: `val: test` still needs a positive train share.
    {"ValTestWithoutTrainCases",
     {Insert(7, {"    split: {train: 0, val: test}"})},  // 7: '{' at column 12
     7,
     12,
     {"datasets.vessels.split: train must be > 0 (a fraction < 1 or a count)"}},
    {"NonBooleanGroupBySubject",
     // "    split: {group_by_subject: maybe}": '{' 12, key 13-28, ':' 29, value at column 31
     {Insert(7, {"    split: {group_by_subject: maybe}"})},
     7,
     31,
     {"expected true or false"}},
    {"UnknownValLoss",
     {Append({"training:", "  val_loss: fast"})},  // 16, 17: value at column 13
     17,
     13,
     {"training.val_loss: expected dice_ce (CE + soft Dice over every class) or training"}},

    // --- models
    {"UnknownModelKindListsKnownKinds",
     {Replace(9, "    kind: wide_unetx")},  // value at column 11
     9,
     11,
     {"models.net: unknown model kind 'wide_unetx'; known: wide_unet"}},
    {"MissingModelKind",
     {Replace(9, "    options: {width: 1}")},  // mapping at column 5
     9,
     5,
     {"models.net: missing required key 'kind'"}},
    {"RejectedModelOptionPointsAtThatOption",
     {Insert(10,
             {
                 "    options:",       // 10
                 "      width: 1.0",   // 11
                 "      colour: red",  // 12: key at column 7
             })},
     12,
     7,
     {"models.net.options: 'colour' is not an option of wide_unet"}},
    {"RejectedFlowStyleModelOptionPointsInsideTheLine",
     // "    options: {width: 1, colour: red}": '{' is column 14, 'c' of colour column 25.
     {Insert(10, {"    options: {width: 1, colour: red}"})},
     10,
     25,
     {"'colour' is not an option"}},

    // --- training and inference values
    {"WrongTypeForANumber",
     {Append({"training:", "  lr: fast"})},  // 16, 17: value at column 7
     17,
     7,
     {"training.lr: expected a number, got 'fast'"}},
    {"FractionWhereAnIntegerIsExpected",
     {Append({"training:", "  epochs: 2.5"})},  // 16, 17: value at column 11
     17,
     11,
     {"training.epochs: expected an integer, got '2.5'"}},
    {"OversizedInteger",
     {Append({"training: {epochs: 4294967297}"})},  // 16: value at column 20
     16,
     20,
     {"4294967297 is out of range"}},
    {"NonPositiveLearningRate",
     {Append({"training:", "  lr: 0"})},  // 16, 17: value at column 7
     17,
     7,
     {"training.lr: must be > 0"}},
    // Each of the following appends `training:` or `inference:` (16) and the keys (17 on).
    {"NegativeEpochs",
     {Append({"training:", "  epochs: -1"})},
     17,
     11,
     {"training.epochs: must be >= 0"}},
    {"UnknownOptimizer",
     {Append({"training:", "  optimizer: lamb"})},
     17,
     14,
     {"training.optimizer: unknown optimizer 'lamb'; known: adam, adamw, rmsprop, sgd"}},
    {"MomentumOfOne",
     {Append({"training:", "  momentum: 1"})},
     17,
     13,
     {"training.momentum: must be in [0, 1)"}},
    {"NegativeWeightDecay",
     {Append({"training:", "  weight_decay: -0.1"})},
     17,
     17,
     {"training.weight_decay: must be >= 0"}},
    {"UnknownSchedule",
     {Append({"training:", "  schedule: cosine"})},
     17,
     13,
     {"training.schedule: unknown schedule 'cosine'; known: constant, warmup_cosine, plateau"}},
    {"WarmupAsLongAsTraining",
     {Append({"training:", "  schedule: warmup_cosine", "  epochs: 10", "  warmup_epochs: 10"})},
     19,
     18,
     {"training.warmup_epochs: must be < epochs (10)"}},
    {"MinLrAboveLr",
     {Append({"training:", "  lr: 0.01", "  min_lr: 0.1"})},
     18,
     11,
     {"training.min_lr: must be in [0, lr]"}},
    {"PlateauFactorOfOne",
     {Append({"training:", "  plateau_factor: 1"})},
     17,
     19,
     {"training.plateau_factor: must be in (0, 1)"}},
    {"NegativePlateauPatience",
     {Append({"training:", "  plateau_patience: -1"})},
     17,
     21,
     {"training.plateau_patience: must be >= 0"}},
    {"NegativeGradClip",
     {Append({"training:", "  grad_clip: -1"})},
     17,
     14,
     {"training.grad_clip: must be >= 0"}},
    {"UnknownPrecision",
     {Append({"training:", "  precision: fp16"})},
     17,
     14,
     {"training.precision: unknown precision 'fp16'; known: fp32, bf16"}},
    {"FocalBetaBelowOne",
     {Append({"training:", "  loss: focal_dice", "  focal_beta: 0.5"})},
     18,
     15,
     {"training.focal_beta: must be >= 1"}},
    {"TwoClassLossOnADatasetWithMoreClasses",
     {Insert(7, {"    num_classes: 3"}),              // 7; training moves to 17
      Append({"training:", "  loss: spider_dice"})},  // 17, 18: value at column 9
     18,
     9,
     {"training.loss: spider_dice is a two-class loss, but dataset 'vessels' has num_classes "
      "3"}},
    {"UnknownEarlyStopMetric",
     {Append({"training:", "  early_stop_metric: val_hd"})},
     17,
     22,
     {"training.early_stop_metric: unknown metric 'val_hd'; known: val_dsc, val_iou, val_loss, "
      "train_loss"}},
    {"ZeroPatchSize",
     {Append({"training:", "  patch: [96, 0, 96]"})},
     17,
     10,
     {"training.patch: expected [i, j, k] with every size > 0"}},
    {"UnknownSampler",
     {Append({"training:", "  sampler: random"})},
     17,
     12,
     {"training.sampler: unknown sampler 'random'; known: foreground, uniform, label"}},
    {"ZeroSamplesPerVolume",
     {Append({"training:", "  samples_per_volume: 0"})},
     17,
     23,
     {"training.samples_per_volume: must be > 0"}},
    {"UnknownAugmentTransform",
     {Insert(10,
             {
                 "training:",            // 10
                 "  augment:",           // 11
                 "    - flip(axes=0)",   // 12
                 "    - nois(std=0.1)",  // 13: value at column 7
             })},
     13,
     7,
     {"training.augment[1]: unknown transform 'nois(std=0.1)'"}},
    {"InferenceOverlapOfOne",
     {Append({"inference:", "  overlap: 1"})},
     17,
     12,
     {"inference.overlap: must be in [0, 1)"}},
    {"ZeroSwBatch",
     {Append({"inference:", "  sw_batch: 0"})},
     17,
     13,
     {"inference.sw_batch: must be > 0"}},
    {"UnknownBlend",
     {Append({"inference:", "  blend: median"})},
     17,
     10,
     {"inference.blend: unknown blend 'median'; known: gaussian, average"}},

    // --- tables
    {"TableRowNamingAnUnknownDataset",
     {Replace(13, "      - dataset: vesels")},  // value at column 18
     13,
     18,
     {"tables.t1.rows[]: no dataset named 'vesels' in this file"}},
    {"TableColumnNamingAnUnknownModel",
     {Replace(15, "      - model: nett")},  // value at column 16
     15,
     16,
     {"tables.t1.columns[]: no model named 'nett' in this file"}},
    {"PublishedValueForANonRow",
     {Append({
         "    published:",           // 16
         "      liver:",             // 17: key at column 7
         "        net: {dsc: 0.5}",  // 18
     })},
     17,
     7,
     {"tables.t1.published: 'liver' is not a row of this table"}},
    {"PublishedValueForANonColumn",
     {Append({
         "    published:",            // 16
         "      vessels:",            // 17
         "        unet: {dsc: 0.5}",  // 18: key at column 9
     })},
     18,
     9,
     {"'unet' is not a column of this table"}},
    {"UnknownTableMetricListsAllNine",
     {Append({"    metrics: [dsc, hd96]"})},  // 16: '[' is column 14, "hd96" column 20
     16,
     20,
     {"tables.t1.metrics: unknown metric 'hd96'; expected one of: dsc, iou, precision, recall, "
      "hd95, assd, nsd, dsc_slice, dsc_slice_nonempty"}},
    // Table keys of the report engine's second round.
    {"UnknownAggregate",
     {Append({"    aggregate: median"})},  // 16: value at column 16
     16,
     16,
     {"tables.t1.aggregate: expected mean or pooled"}},
    {"UnknownBaseline",
     {Append({"    baseline: trained"})},  // 16: value at column 15
     16,
     15,
     {"tables.t1.baseline: expected untrained"}},
    {"ExpectationKeyThatIsNeitherRowNorColumn",
     {Append({
         "    expect:",                // 16
         "      claim: \"net wins\"",  // 17
         "      above: [net]",         // 18
         "      below: [liver]",       // 19
     })},
     11,  // checked once the rows are known: at the table's key, `t1` on line 11
     3,
     {"tables.t1.expect: 'liver' is neither a row nor a column key"}},
    {"ExpectationWithAnUnknownMetric",
     {Append({
         "    expect:",             // 16
         "      claim: c",          // 17
         "      above: [net]",      // 18
         "      below: [vessels]",  // 19
         "      metric: hd96",      // 20: value at column 15
     })},
     20,
     15,
     {"tables.t1.expect.metric: unknown metric 'hd96'"}},
    {"ExpectationWithoutAClaim",
     {Append({
         "    expect:",             // 16: the mapping starts at column 7 of line 17
         "      above: [net]",      // 17
         "      below: [vessels]",  // 18
     })},
     17,
     7,
     {"missing required key 'claim'"}},
    {"ImprovementPublishedForANonRow",
     {Append({
         "    improvement:",               // 16
         "      from: net",                // 17
         "      to: net",                  // 18
         "      published: {liver: 1.5}",  // 19: key `liver` at column 19
     })},
     19,
     19,
     {"tables.t1.improvement.published: 'liver' is not a row of this table"}},
    {"UnknownImprovementAverageListsTheThreeRules",
     {Append({
         "    improvement:",        // 16
         "      from: net",         // 17
         "      to: net",           // 18
         "      average: of_rows",  // 19: value at column 16
     })},
     19,
     16,
     {"tables.t1.improvement.average: expected mean_of_rows, mean_of_all_rows or of_means"}},

    // --- profiles: the error is at the profile's line when the profile brings it
    {"ProfileOverridingAnUnknownModel",
     {Append({
         "profiles:",    // 16
         "  quick:",     // 17
         "    models:",  // 18
         "      nett:",  // 19: key at column 7
         "        options: {width: 1}",
     })},
     19,
     7,
     {"unknown model 'nett'"},
     "quick",
     true},
    {"ModelKindChangedByAProfile",
     {Append({
         "profiles:",           // 16
         "  p:",                // 17
         "    models:",         // 18
         "      net:",          // 19
         "        kind: vnet",  // 20: value at column 15
     })},
     20,
     15,
     {"unknown model kind 'vnet'"},
     "p",
     true},
    {"RejectedModelOptionAddedByAProfile",
     {Append({
         "profiles:",              // 16
         "  p:",                   // 17
         "    models:",            // 18
         "      net:",             // 19
         "        options:",       // 20
         "          colour: red",  // 21: key at column 11
     })},
     21,
     11,
     {"models.net.options: 'colour' is not an option of wide_unet"},
     "p",
     true},
    {"InvalidBaseTrainingValueWhenAProfileSetsOtherFields",
     {Append({
         "training:",        // 16
         "  lr: 0",          // 17: value at column 7
         "profiles:",        // 18
         "  p:",             // 19
         "    training:",    // 20
         "      epochs: 3",  // 21
     })},
     17,
     7,
     {"training.lr: must be > 0"},
     "p"},
    {"InvalidTrainingValueFromAProfile",
     {Append({
         "training:",          // 16
         "  lr: 0.1",          // 17
         "profiles:",          // 18
         "  p:",               // 19
         "    training:",      // 20
         "      loss: focal",  // 21: value at column 13
     })},
     21,
     13,
     {"training.loss: unknown loss 'focal'; known: dice_ce, ce, dice, bce_dice, "
      "generalized_dice, focal_dice, spider_dice, refnet"},
     "p",
     true},
    {"InferenceValueFromAProfile",
     {Append({
         "inference:",              // 16
         "  sw_batch: 8",           // 17
         "  mirror: true",          // 18
         "profiles:",               // 19
         "  p:",                    // 20
         "    inference:",          // 21
         "      overlap: 0.75",     // 22
         "      blend: gaussan",    // 23: value at column 14
         "    training:",           // 24
         "      schedule: plateau"  // 25
     })},
     23,
     14,
     {"inference.blend: unknown blend 'gaussan'; known: gaussian, average"},
     "p",
     true},
};

INSTANTIATE_TEST_SUITE_P(Cases, ConfigErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& c) { return c.param.name; });

// The tests below check more than one error's location and message.

TEST_F(ConfigTest, TrainingNamesComeFromTheValidators) {
  struct Case {
    const char* key;
    std::string name;
    std::vector<std::string> ConfigValidators::*names;
    std::string message;  // without `name` in the vocabulary
  };
  const std::vector<Case> cases = {
      {"optimizer", "sgd", &ConfigValidators::optimizers,
       "training.optimizer: unknown optimizer 'sgd'; known: adam, adamw, rmsprop"},
      {"schedule", "plateau", &ConfigValidators::schedules,
       "training.schedule: unknown schedule 'plateau'; known: constant, warmup_cosine"},
      {"loss", "focal_dice", &ConfigValidators::losses,
       "training.loss: unknown loss 'focal_dice'; known: dice_ce, ce, dice, bce_dice, "
       "generalized_dice, spider_dice, refnet"},
      {"sampler", "label", &ConfigValidators::samplers,
       "training.sampler: unknown sampler 'label'; known: foreground, uniform"},
      {"early_stop_metric", "val_iou", &ConfigValidators::early_stop_metrics,
       "training.early_stop_metric: unknown metric 'val_iou'; known: val_dsc, val_loss, "
       "train_loss"},
      {"precision", "bf16", &ConfigValidators::precisions,
       "training.precision: unknown precision 'bf16'; known: fp32"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.key);
    Lines lines = minimal();
    lines.insert(lines.end(), {"training:", std::string("  ") + k.key + ": " + k.name});  // 16, 17
    const std::string path = write(std::string(k.key) + ".yaml", lines);
    EXPECT_EQ(error_of(path), "");  // the stand-in vocabulary has it

    ConfigValidators without = test_validators();
    auto& names = without.*k.names;
    names.erase(std::find(names.begin(), names.end(), k.name));
    std::string e;
    try {
      load_experiment(path, "", without);
    } catch (const Error& err) {
      e = err.what();
    }
    expect_located(e, path, 17, static_cast<int>(std::string(k.key).size()) + 5);  // the value
    EXPECT_TRUE(Contains(e, k.message));
  }

  // A name only the validators know is accepted: the parser has none of its own.
  Lines lines = minimal();
  lines.insert(lines.end(), {"training:", "  optimizer: lamb", "  sampler: grid"});
  const std::string path = write("added.yaml", lines);
  EXPECT_TRUE(Contains(error_of(path), "unknown optimizer 'lamb'"));
  ConfigValidators more = test_validators();
  more.optimizers.push_back("lamb");
  more.samplers.push_back("grid");
  const ExperimentConfig c = load_experiment(path, "", more);
  EXPECT_EQ(c.training.optimizer, "lamb");
  EXPECT_EQ(c.training.sampler, "grid");
}

TEST_F(ConfigTest, SurfaceMetricsAreTableMetrics) {
  for (const std::string metric : {"hd95", "nsd"}) {
    SCOPED_TRACE(metric);
    Lines lines = minimal();
    lines.insert(lines.end(), {
                                  "    metrics: [" + metric + "]",                           // 16
                                  "    published: {vessels: {net: {" + metric + ": 2.5}}}",  // 17
                              });
    const ExperimentConfig c =
        load_experiment(write(metric + ".yaml", lines), "", test_validators());
    EXPECT_EQ(c.tables.at(0).metrics, std::vector<std::string>{metric});
    EXPECT_DOUBLE_EQ(c.tables.at(0).published.at({"vessels", "net"}).at(metric), 2.5);
  }
  Lines all = minimal();
  all.push_back("    metrics: [dsc, iou, precision, recall, hd95, assd, nsd]");
  const ExperimentConfig c = load_experiment(write("all.yaml", all), "", test_validators());
  EXPECT_EQ(c.tables.at(0).metrics,
            (std::vector<std::string>{"dsc", "iou", "precision", "recall", "hd95", "assd", "nsd"}));
}

TEST_F(ConfigTest, DatasetOptionsAndSchemeAreKept) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, {"    options: {channel: t2}", "    split: {scheme: synapse}"});
  const ExperimentConfig c = load_experiment(write("ok.yaml", lines), "", test_validators());
  EXPECT_EQ(c.datasets[0].options.at("channel"), "t2");
  EXPECT_EQ(c.datasets[0].split.scheme, "synapse");
}

TEST_F(ConfigTest, AugmentationTransformsAreKeptInOrder) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 9,
               {"training:", "  augment:", "    - flip(axes=0)", "    - flip(axes=1)"});
  const ExperimentConfig c = load_experiment(write("aug.yaml", lines), "", test_validators());
  EXPECT_EQ(c.training.augment, (std::vector<std::string>{"flip(axes=0)", "flip(axes=1)"}));
}

TEST_F(ConfigTest, MissingRootDirectoryIsFineWhenAPhantomWillBeWrittenThere) {
  Lines lines = minimal();
  lines[5] = "    root: " + (dir_ / "absent").string();
  lines.insert(lines.begin() + 6, "    phantom: {cases: 4}");
  const ExperimentConfig c = load_experiment(write("phantom.yaml", lines), "", test_validators());
  EXPECT_TRUE(c.datasets.at(0).phantom.enabled);
  EXPECT_EQ(c.datasets.at(0).phantom.cases, 4);
  // Writing the file must not create the root: that is ensure_dataset's job.
  EXPECT_FALSE(fs::exists(dir_ / "absent"));
}

TEST_F(ConfigTest, ValidFileProducesNoErrorUnderTheSameHelpers) {
  // Guards the error tests above: the unmodified minimal file is accepted.
  EXPECT_EQ(error_of(write("ok.yaml", minimal())), "");
}

// --- optimiser, schedule, loss, patches and inference ----------------------------------------

TEST_F(ConfigTest, OptimiserScheduleLossPatchAndInferenceHaveTheDocumentedDefaults) {
  const ExperimentConfig c = load_experiment(write("mini.yaml", minimal()), "", test_validators());
  const TrainingConfig& t = c.training;
  EXPECT_EQ(t.optimizer, "adam");
  EXPECT_DOUBLE_EQ(t.momentum, 0.9);
  EXPECT_DOUBLE_EQ(t.weight_decay, 0.0);
  EXPECT_EQ(t.schedule, "constant");
  EXPECT_EQ(t.warmup_epochs, 0);
  EXPECT_DOUBLE_EQ(t.min_lr, 0.0);
  EXPECT_DOUBLE_EQ(t.plateau_factor, 0.5);
  EXPECT_EQ(t.plateau_patience, 5);
  EXPECT_DOUBLE_EQ(t.grad_clip, 0.0);
  EXPECT_EQ(t.precision, "fp32");
  EXPECT_DOUBLE_EQ(t.focal_beta, 1.5);
  EXPECT_EQ(t.patch, (std::array<int, 3>{96, 96, 96}));
  EXPECT_EQ(t.sampler, "foreground");
  EXPECT_EQ(t.samples_per_volume, 1);
  const InferenceConfig& i = c.inference;
  EXPECT_DOUBLE_EQ(i.overlap, 0.5);
  EXPECT_EQ(i.sw_batch, 4);
  EXPECT_EQ(i.blend, "gaussian");
  EXPECT_FALSE(i.mirror);
  EXPECT_TRUE(i.save_predictions);
}

TEST_F(ConfigTest, EveryTrainingAndInferenceKeyIsParsed) {
  Lines lines = minimal();
  lines.insert(lines.end(), {"training:",
                             "  optimizer: adamw",
                             "  lr: 1.0e-4",
                             "  momentum: 0.95",
                             "  weight_decay: 1.0e-5",
                             "  schedule: warmup_cosine",
                             "  warmup_epochs: 50",
                             "  epochs: 5000",
                             "  min_lr: 1.0e-6",
                             "  plateau_factor: 0.2",
                             "  plateau_patience: 7",
                             "  grad_clip: 12.5",
                             "  precision: bf16",
                             "  loss: focal_dice",
                             "  focal_beta: 2",
                             "  early_stop_metric: val_iou",
                             "  patch: [128, 96, 64]",
                             "  sampler: label",
                             "  samples_per_volume: 4",
                             "inference:",
                             "  overlap: 0.25",
                             "  sw_batch: 2",
                             "  blend: average",
                             "  mirror: true",
                             "  save_predictions: false"});
  const ExperimentConfig c = load_experiment(write("all.yaml", lines), "", test_validators());
  const TrainingConfig& t = c.training;
  EXPECT_EQ(t.optimizer, "adamw");
  EXPECT_DOUBLE_EQ(t.lr, 1e-4);
  EXPECT_DOUBLE_EQ(t.momentum, 0.95);
  EXPECT_DOUBLE_EQ(t.weight_decay, 1e-5);
  EXPECT_EQ(t.schedule, "warmup_cosine");
  EXPECT_EQ(t.warmup_epochs, 50);
  EXPECT_EQ(t.epochs, 5000);
  EXPECT_DOUBLE_EQ(t.min_lr, 1e-6);
  EXPECT_DOUBLE_EQ(t.plateau_factor, 0.2);
  EXPECT_EQ(t.plateau_patience, 7);
  EXPECT_DOUBLE_EQ(t.grad_clip, 12.5);
  EXPECT_EQ(t.precision, "bf16");
  EXPECT_EQ(t.loss, "focal_dice");
  EXPECT_DOUBLE_EQ(t.focal_beta, 2.0);
  EXPECT_EQ(t.early_stop_metric, "val_iou");
  EXPECT_EQ(t.patch, (std::array<int, 3>{128, 96, 64}));
  EXPECT_EQ(t.sampler, "label");
  EXPECT_EQ(t.samples_per_volume, 4);
  const InferenceConfig& i = c.inference;
  EXPECT_DOUBLE_EQ(i.overlap, 0.25);
  EXPECT_EQ(i.sw_batch, 2);
  EXPECT_EQ(i.blend, "average");
  EXPECT_TRUE(i.mirror);
  EXPECT_FALSE(i.save_predictions);
}

TEST_F(ConfigTest, AProfileOverridesInferenceKeyByKey) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "inference:",              // 16
                                "  sw_batch: 8",           // 17
                                "  mirror: true",          // 18
                                "profiles:",               // 19
                                "  p:",                    // 20
                                "    inference:",          // 21
                                "      overlap: 0.75",     // 22
                                "      blend: average",    // 23 (ConfigErrorTest: gaussan)
                                "    training:",           // 24
                                "      schedule: plateau"  // 25
                            });
  const ExperimentConfig c =
      load_experiment(write("ok_profile.yaml", lines), "p", test_validators());
  EXPECT_DOUBLE_EQ(c.inference.overlap, 0.75);
  EXPECT_EQ(c.inference.blend, "average");
  EXPECT_EQ(c.inference.sw_batch, 8);  // kept from the file
  EXPECT_TRUE(c.inference.mirror);
  EXPECT_EQ(c.training.schedule, "plateau");
}

TEST_F(ConfigTest, AMultiClassLossAcceptsADatasetWithMoreClasses) {
  // ConfigErrorTest's TwoClassLossOnADatasetWithMoreClasses, with a loss for any class count.
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, "    num_classes: 3");
  lines.insert(lines.end(), {"training:", "  loss: generalized_dice"});
  EXPECT_EQ(error_of(write("multi_class.yaml", lines)), "");
}

TEST(TrainingConfigJson, FieldsAtTheirDefaultsAreLeftOutSoOlderTrialIdsStayValid) {
  const nlohmann::json j = TrainingConfig{};
  std::set<std::string> keys;
  for (const auto& item : j.items()) keys.insert(item.key());
  EXPECT_EQ(keys, (std::set<std::string>{"optimizer", "lr", "loss", "batch", "epochs",
                                         "steps_per_epoch", "patience", "early_stop_metric",
                                         "foreground_fraction", "threads"}));
}

TEST(TrainingConfigJson, EveryChangedFieldIsWrittenAndReadBack) {
  TrainingConfig t;
  t.optimizer = "rmsprop";
  t.momentum = 0.5;
  t.weight_decay = 1e-5;
  t.schedule = "plateau";
  t.warmup_epochs = 3;
  t.min_lr = 1e-7;
  t.plateau_factor = 0.1;
  t.plateau_patience = 2;
  t.grad_clip = 1.0;
  t.precision = "bf16";
  t.loss = "focal_dice";
  t.focal_beta = 3.0;
  t.patch = {64, 48, 32};
  t.sampler = "uniform";
  t.samples_per_volume = 10;
  const nlohmann::json j = t;
  for (const char* key : {"momentum", "weight_decay", "schedule", "warmup_epochs", "min_lr",
                          "plateau_factor", "plateau_patience", "grad_clip", "precision",
                          "focal_beta", "patch", "sampler", "samples_per_volume"})
    EXPECT_TRUE(j.contains(key)) << key;
  const TrainingConfig back = nlohmann::json::parse(j.dump()).get<TrainingConfig>();
  EXPECT_EQ(back.optimizer, "rmsprop");
  EXPECT_DOUBLE_EQ(back.momentum, 0.5);
  EXPECT_DOUBLE_EQ(back.weight_decay, 1e-5);
  EXPECT_EQ(back.schedule, "plateau");
  EXPECT_EQ(back.warmup_epochs, 3);
  EXPECT_DOUBLE_EQ(back.min_lr, 1e-7);
  EXPECT_DOUBLE_EQ(back.plateau_factor, 0.1);
  EXPECT_EQ(back.plateau_patience, 2);
  EXPECT_DOUBLE_EQ(back.grad_clip, 1.0);
  EXPECT_EQ(back.precision, "bf16");
  EXPECT_DOUBLE_EQ(back.focal_beta, 3.0);
  EXPECT_EQ(back.patch, (std::array<int, 3>{64, 48, 32}));
  EXPECT_EQ(back.sampler, "uniform");
  EXPECT_EQ(back.samples_per_volume, 10);
  EXPECT_EQ(nlohmann::json(back), j);
}

TEST(InferenceConfigJson, WritesEveryFieldAndReadsItBack) {
  const nlohmann::json defaults = InferenceConfig{};
  EXPECT_EQ(defaults, nlohmann::json::parse(R"({"overlap": 0.5, "sw_batch": 4,
      "blend": "gaussian", "mirror": false, "save_predictions": true})"));
  InferenceConfig c;
  c.overlap = 0.625;
  c.sw_batch = 1;
  c.blend = "average";
  c.mirror = true;
  c.save_predictions = false;
  const InferenceConfig back =
      nlohmann::json::parse(nlohmann::json(c).dump()).get<InferenceConfig>();
  EXPECT_DOUBLE_EQ(back.overlap, 0.625);
  EXPECT_EQ(back.sw_batch, 1);
  EXPECT_EQ(back.blend, "average");
  EXPECT_TRUE(back.mirror);
  EXPECT_FALSE(back.save_predictions);
}

// --- per-model training and the refinement stage ----------------------------------------------

class RefineConfigTest : public ConfigTest {
 protected:
  static ConfigValidators validators() {
    ConfigValidators v = test_validators();
    v.model_kinds = {"refnet", "wide_unet"};
    v.label_input_kinds = {"refnet"};
    return v;
  }
  std::string error_of(const std::string& path, const std::string& profile = "") {
    try {
      load_experiment(path, profile, validators());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  // minimal() with a refnet that refines `net` after line 9 (lines 10-16, the table moves to
  // 17-22), then a shared training and a profile (23-25).
  Lines refine_file() const {
    Lines l = minimal();
    const Lines more = {
        "  ref:",                                                                    // 10
        "    kind: refnet",                                                          // 11
        "    refines: net",                                                          // 12
        "    repetitions: 3",                                                        // 13
        "    training:",                                                             // 14
        "      optimizer: rmsprop",                                                  // 15
        "      loss: refnet",                                                        // 16
        "training: {lr: 0.01, epochs: 40, batch: 4}",                                // 23
        "profiles:",                                                                 // 24
        "  quick: {training: {epochs: 2}, models: {ref: {training: {lr: 0.002}}}}",  // 25
    };
    l.insert(l.begin() + 9, more.begin(), more.begin() + 7);  // after "kind: wide_unet"
    l.insert(l.end(), more.begin() + 7, more.end());
    return l;
  }
};

TEST_F(RefineConfigTest, AModelsOwnTrainingKeysWinOverTheSharedOnesAndTheProfilesToo) {
  const std::string path = write("refine.yaml", refine_file());
  const ExperimentConfig c = load_experiment(path, "", validators());
  const ModelConfig& net = c.model("net");
  const ModelConfig& ref = c.model("ref");
  EXPECT_FALSE(net.training.has_value());
  EXPECT_TRUE(net.refines.empty());
  ASSERT_TRUE(ref.training.has_value());
  EXPECT_EQ(ref.refines, "net");
  EXPECT_EQ(ref.repetitions, 3);
  EXPECT_EQ(ref.training->optimizer, "rmsprop");  // its own
  EXPECT_EQ(ref.training->loss, "refnet");
  EXPECT_DOUBLE_EQ(ref.training->lr, 0.01);  // the shared keys it does not set
  EXPECT_EQ(ref.training->epochs, 40);
  EXPECT_EQ(ref.training->batch, 4);

  // The profile's shared epochs reach the model; its model lr beats the shared lr.
  const ExperimentConfig q = load_experiment(path, "quick", validators());
  EXPECT_EQ(q.training.epochs, 2);
  EXPECT_EQ(q.model("ref").training->epochs, 2);
  EXPECT_DOUBLE_EQ(q.model("ref").training->lr, 0.002);
  EXPECT_DOUBLE_EQ(q.training.lr, 0.01);
  EXPECT_EQ(q.model("ref").training->optimizer, "rmsprop");

  // JSON round trip keeps all three.
  const ModelConfig back = nlohmann::json(ref).get<ModelConfig>();
  EXPECT_EQ(back.refines, "net");
  EXPECT_EQ(back.repetitions, 3);
  ASSERT_TRUE(back.training.has_value());
  EXPECT_EQ(nlohmann::json(*back.training), nlohmann::json(*ref.training));
  // An ordinary model's JSON has none of them (ids of existing trials stay as they were).
  const nlohmann::json plain = net;
  EXPECT_FALSE(plain.contains("training") || plain.contains("refines") ||
               plain.contains("repetitions"));
}

TEST_F(RefineConfigTest, ErrorsNameTheKeyAndLine) {
  {  // a label-map model without a source
    Lines l = refine_file();
    l.erase(l.begin() + 11, l.begin() + 13);  // refines, repetitions
    const std::string path = write("nosource.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 10, 3);
    EXPECT_TRUE(Contains(e, "models.ref: a refnet model reads another model's label maps"));
  }
  {  // refines a model that does not exist
    Lines l = refine_file();
    l[11] = "    refines: nets";
    const std::string path = write("unknown.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 12, 14);
    EXPECT_TRUE(Contains(e, "models.ref.refines: no other model named 'nets'"));
  }
  {  // an image model cannot refine
    Lines l = refine_file();
    l[10] = "    kind: wide_unet";
    l[15] = "      loss: dice_ce";
    const std::string path = write("image.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 12, 14);
    EXPECT_TRUE(Contains(e, "only models that read label maps can refine (refnet)"));
  }
  {  // repetitions out of range
    Lines l = refine_file();
    l[12] = "    repetitions: 0";
    const std::string path = write("reps.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 13, 18);
    EXPECT_TRUE(Contains(e, "models.ref.repetitions: expected an integer in 1..100"));
  }
  {  // the refnet loss on a model without source labels (the shared training applies to net)
    Lines l = refine_file();
    l[22] = "training: {lr: 0.01, epochs: 40, batch: 4, loss: refnet}";
    const std::string path = write("loss.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 23, 50);
    EXPECT_TRUE(Contains(e, "training.loss: 'refnet' compares the output with the source"));
    EXPECT_TRUE(Contains(e, "model 'net' has none"));
  }
  {  // an intensity transform would corrupt the class indices a refining model reads
    Lines l = refine_file();
    l.insert(l.begin() + 16, "      augment: [\"znorm\"]");
    const std::string path = write("augment.yaml", l);
    const std::string e = [&] {
      ConfigValidators v = validators();
      v.check_transform = [](const std::string&) { return Status::Ok(); };
      try {
        load_experiment(path, "", v);
      } catch (const Error& err) {
        return std::string(err.what());
      }
      return std::string();
    }();
    expect_located(e, path, 17, 16);
    EXPECT_TRUE(Contains(e, "models.ref.training.augment: 'znorm' would change the class"));
  }
  {  // a model's own training is validated like the shared one, at its own line
    Lines l = refine_file();
    l[14] = "      optimizer: lbfgs";
    const std::string path = write("optim.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 15, 18);
    EXPECT_TRUE(Contains(e, "models.ref.training.optimizer: unknown optimizer 'lbfgs'"));
  }
  {  // repetitions without refines
    Lines l = minimal();
    l.insert(l.begin() + 9, "    repetitions: 2");
    const std::string path = write("repsonly.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 10, 18);
    EXPECT_TRUE(Contains(e, "only a model with `refines:` has source repetitions"));
  }
}

// --- splits, preprocessing steps and validation loss of the paper reproductions ----------------

TEST_F(ConfigTest, SplitDefaultsGroupBySubjectAndAValPartOfItsOwn) {
  const ExperimentConfig c = load_experiment(write("mini.yaml", minimal()), "", test_validators());
  EXPECT_TRUE(c.datasets.at(0).split.group_by_subject);
  EXPECT_FALSE(c.datasets.at(0).split.val_is_test);
  EXPECT_EQ(c.training.val_loss, "dice_ce");
}

TEST_F(ConfigTest, ValTestAndGroupBySubjectFalseAreParsed) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, "    split: {train: 0.8, val: test, group_by_subject: false}");
  const ExperimentConfig c = load_experiment(write("valtest.yaml", lines), "", test_validators());
  const SplitOptions& s = c.datasets.at(0).split;
  EXPECT_TRUE(s.val_is_test);
  EXPECT_FALSE(s.group_by_subject);
  EXPECT_DOUBLE_EQ(s.train, 0.8);

  // A profile's numeric val switches `val: test` off again; group_by_subject stays as the file
  // set it.
  lines.insert(lines.end(), {"profiles:", "  p:", "    datasets: {vessels: {split: {val: 0.15}}}"});
  const ExperimentConfig p =
      load_experiment(write("valtest_p.yaml", lines), "p", test_validators());
  EXPECT_FALSE(p.datasets.at(0).split.val_is_test);
  EXPECT_DOUBLE_EQ(p.datasets.at(0).split.val, 0.15);
  EXPECT_FALSE(p.datasets.at(0).split.group_by_subject);
}

// experiments/README.md: `split.train` is "a fraction (< 1) or a count (>= 1)", so `train: 1`
// with `val: test` is one training subject, the rest test, and leaves cases for the test split.
TEST_F(ConfigTest, ValTestAcceptsATrainCountOfOne) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, "    split: {train: 1, val: test}");
  EXPECT_EQ(error_of(write("valtest_one.yaml", lines)), "");
  lines[6] = "    split: {train: 2, val: test}";  // a count of two is accepted
  EXPECT_EQ(error_of(write("valtest_two.yaml", lines)), "");
}

TEST_F(ConfigTest, CropNonzeroCenterCropAndPadKeepTheirArgumentsInFileOrder) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, {
                                      "    preprocess:",
                                      "      steps:",
                                      "        - crop_nonzero: [2, 1, 0]",
                                      "        - center_crop: [0.75, 1]",
                                      "        - pad: [8, 16, 1]",
                                  });
  const ExperimentConfig c = load_experiment(write("steps.yaml", lines), "", test_validators());
  const auto& st = c.datasets.at(0).preprocess.steps;
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].op, "crop_nonzero");
  EXPECT_EQ(st[0].args, (std::vector<double>{2, 1, 0}));
  EXPECT_EQ(st[1].op, "center_crop");
  EXPECT_EQ(st[1].args, (std::vector<double>{0.75, 1}));  // 1 is inside (0, 1]
  EXPECT_EQ(st[2].op, "pad");
  EXPECT_EQ(st[2].args, (std::vector<double>{8, 16, 1}));  // 1 is the smallest size
}

TEST_F(ConfigTest, ValLossTrainingIsParsedForTheSharedTrainingAndAModelsOwn) {
  Lines lines = minimal();
  lines.insert(lines.end(), {"training:", "  val_loss: training"});
  EXPECT_EQ(load_experiment(write("vl.yaml", lines), "", test_validators()).training.val_loss,
            "training");
}

TEST_F(RefineConfigTest, ValLossTrainingIsRejectedWithTheRefnetLoss) {
  Lines l = refine_file();
  l.insert(l.begin() + 16, "      val_loss: training");  // 17: value at column 17
  const std::string path = write("vl_refnet.yaml", l);
  const std::string e = error_of(path);
  expect_located(e, path, 17, 17);
  EXPECT_TRUE(Contains(e,
                       "models.ref.training.val_loss: 'training' cannot score whole cases with "
                       "the refnet loss"));
  // dice_ce, the default, is fine with it.
  l[16] = "      val_loss: dice_ce";
  EXPECT_EQ(error_of(write("vl_refnet_ok.yaml", l)), "");
}

TEST(TrainingConfigJson, ValLossIsWrittenOnlyWhenNotTheDefault) {
  EXPECT_FALSE(nlohmann::json(TrainingConfig{}).contains("val_loss"));
  TrainingConfig t;
  t.val_loss = "training";
  const nlohmann::json j = t;
  ASSERT_TRUE(j.contains("val_loss"));
  EXPECT_EQ(j.at("val_loss"), "training");
  EXPECT_EQ(nlohmann::json::parse(j.dump()).get<TrainingConfig>().val_loss, "training");
}

TEST(DatasetConfigJson, NewSplitFieldsAreWrittenOnlyWhenNotTheDefault) {
  DatasetConfig d;
  d.name = "vessels";
  d.kind = "hepatic_vessel";
  const nlohmann::json plain = d;
  ASSERT_TRUE(plain.contains("split"));
  EXPECT_FALSE(plain.at("split").contains("group_by_subject"));
  EXPECT_FALSE(plain.at("split").contains("val_is_test"));
  // Exactly the keys older specs had (so their trial ids are unchanged).
  std::set<std::string> keys;
  for (const auto& item : plain.at("split").items()) keys.insert(item.key());
  EXPECT_EQ(keys, (std::set<std::string>{"train", "val", "seed", "scheme"}));

  d.split.group_by_subject = false;
  d.split.val_is_test = true;
  const nlohmann::json j = d;
  EXPECT_EQ(j.at("split").at("group_by_subject"), false);
  EXPECT_EQ(j.at("split").at("val_is_test"), true);
  const DatasetConfig back = nlohmann::json::parse(j.dump()).get<DatasetConfig>();
  EXPECT_FALSE(back.split.group_by_subject);
  EXPECT_TRUE(back.split.val_is_test);
  // Reading an old spec gives the defaults.
  const DatasetConfig old = nlohmann::json::parse(plain.dump()).get<DatasetConfig>();
  EXPECT_TRUE(old.split.group_by_subject);
  EXPECT_FALSE(old.split.val_is_test);
}

// --- init_from --------------------------------------------------------------------------------

class InitFromConfigTest : public ConfigTest {
 protected:
  // Three wide_unet models; `stage` starts from `line10`'s value (lines 1-9 as minimal(), then
  // lines 10-15, then the table at 16-21).
  Lines file(const std::string& init_line) const {
    Lines l = minimal();
    l.insert(l.begin() + 9, {
                                "  stage:",                 // 10
                                "    kind: wide_unet",      // 11
                                "    " + init_line,         // 12
                                "  other:",                 // 13
                                "    kind: wide_unet",      // 14
                                "    options: {width: 2}",  // 15
                            });
    return l;
  }
};

TEST_F(InitFromConfigTest, AnotherModelOrAnExistingCheckpointFileIsAccepted) {
  const ExperimentConfig c =
      load_experiment(write("model.yaml", file("init_from: net")), "", test_validators());
  EXPECT_EQ(c.model("stage").init_from, "net");
  EXPECT_EQ(c.model("net").init_from, "");

  const std::string ckpt = (dir_ / "weights.pt").string();
  std::ofstream(ckpt) << "not really torch, but a regular file";
  const ExperimentConfig f =
      load_experiment(write("file.yaml", file("init_from: " + ckpt)), "", test_validators());
  EXPECT_EQ(f.model("stage").init_from, ckpt);

  // JSON: written only when set; read back.
  EXPECT_FALSE(nlohmann::json(c.model("net")).contains("init_from"));
  const nlohmann::json j = c.model("stage");
  EXPECT_EQ(j.at("init_from"), "net");
  EXPECT_EQ(j.get<ModelConfig>().init_from, "net");
}

TEST_F(InitFromConfigTest, ItselfAChainOrAMissingFileIsAnErrorAtTheValue) {
  {
    const std::string path = write("self.yaml", file("init_from: stage"));  // value at column 16
    const std::string e = error_of(path);
    expect_located(e, path, 12, 16);
    EXPECT_TRUE(Contains(e, "models.stage.init_from: a model cannot start from itself"));
  }
  {  // other -> stage -> net: `other` starts from a later stage
    Lines l = file("init_from: net");
    l.insert(l.begin() + 15, "    init_from: stage");  // 16: value at column 16
    const std::string path = write("chain.yaml", l);
    const std::string e = error_of(path);
    expect_located(e, path, 16, 16);
    EXPECT_TRUE(Contains(e, "models.other.init_from: 'stage' is itself a later stage"));
    EXPECT_TRUE(Contains(e, "chains are not supported"));
  }
  {
    const std::string absent = (dir_ / "absent.pt").string();
    const std::string path = write("missing.yaml", file("init_from: " + absent));
    const std::string e = error_of(path);
    expect_located(e, path, 12, 16);
    EXPECT_TRUE(Contains(e, "models.stage.init_from: '" + absent +
                                "' is neither a model of this file nor a checkpoint file"));
  }
  {  // a folder is no checkpoint file
    const std::string path = write("folder.yaml", file("init_from: " + root_));
    EXPECT_TRUE(Contains(error_of(path), "is neither a model of this file nor a checkpoint file"));
  }
}

TEST_F(RefineConfigTest, InitFromARefiningModelIsAChain) {
  Lines l = refine_file();
  l.insert(l.begin() + 9, "    init_from: ref");  // 10: in `net`, value at column 16
  const std::string path = write("init_ref.yaml", l);
  const std::string e = error_of(path);
  expect_located(e, path, 10, 16);
  EXPECT_TRUE(Contains(e, "models.net.init_from: 'ref' is itself a later stage"));
}

// --- table keys -------------------------------------------------------------------------------

TEST_F(ConfigTest, NewTableKeysHaveTheirDefaults) {
  const ExperimentConfig c = load_experiment(write("mini.yaml", minimal()), "", test_validators());
  const TableConfig& t = c.tables.at(0);
  EXPECT_EQ(t.aggregate, "mean");
  EXPECT_EQ(t.baseline, "");
  EXPECT_TRUE(t.deviations.empty());
  EXPECT_FALSE(t.expect.has_value());
}

TEST_F(ConfigTest, AggregateBaselineDeviationsExpectAndImprovementAreParsed) {
  Lines l = minimal();
  l.insert(l.begin() + 9, {"  net2:", "    kind: wide_unet", "    options: {width: 2}"});
  l.insert(l.end(), {
                        "      - {model: net2, key: wide}",
                        "    aggregate: pooled",
                        "    baseline: untrained",
                        "    deviations:",
                        "      - \"orch trains on phantoms\"",
                        "      - second",
                        "    expect:",
                        "      claim: \"the wide net wins\"",
                        "      above: [wide]",
                        "      below: [net]",
                        "      metric: iou",
                        "    improvement:",
                        "      from: net",
                        "      to: wide",
                        "      average: mean_of_all_rows",
                        "      published: {vessels: 1.27}",
                    });
  const ExperimentConfig c = load_experiment(write("keys.yaml", l), "", test_validators());
  const TableConfig& t = c.tables.at(0);
  EXPECT_EQ(t.aggregate, "pooled");
  EXPECT_EQ(t.baseline, "untrained");
  EXPECT_EQ(t.deviations, (std::vector<std::string>{"orch trains on phantoms", "second"}));
  ASSERT_TRUE(t.expect.has_value());
  EXPECT_EQ(t.expect->claim, "the wide net wins");
  EXPECT_EQ(t.expect->above, std::vector<std::string>{"wide"});
  EXPECT_EQ(t.expect->below, std::vector<std::string>{"net"});
  EXPECT_EQ(t.expect->metric, "iou");
  ASSERT_TRUE(t.improvement.has_value());
  EXPECT_EQ(t.improvement->average, "mean_of_all_rows");
  EXPECT_EQ(t.improvement->published, (std::map<std::string, double>{{"vessels", 1.27}}));

  // The expectation's metric defaults to dsc; the parser only asks that each key names a row or
  // a column (here `vessels`, the row).
  Lines d = l;
  d.erase(d.end() - 6);  // "      metric: iou"
  const std::size_t below = d.size() - 6;
  d[below] = "      below: [vessels]";
  const ExperimentConfig e = load_experiment(write("keys_dsc.yaml", d), "", test_validators());
  EXPECT_EQ(e.tables.at(0).expect->metric, "dsc");
  EXPECT_EQ(e.tables.at(0).expect->below, std::vector<std::string>{"vessels"});

  // The JSON form keeps them.
  const TableConfig back = nlohmann::json(t).get<TableConfig>();
  EXPECT_EQ(back.aggregate, "pooled");
  EXPECT_EQ(back.baseline, "untrained");
  EXPECT_EQ(back.deviations, t.deviations);
  ASSERT_TRUE(back.expect.has_value());
  EXPECT_EQ(back.expect->above, std::vector<std::string>{"wide"});
  EXPECT_EQ(back.expect->metric, "iou");
  EXPECT_EQ(back.improvement->published, t.improvement->published);
}

// --- include ----------------------------------------------------------------------------------

class IncludeConfigTest : public ConfigTest {
 protected:
  // A whole experiment of one dataset `ds`, one model `model` and one table `table`; its shared
  // training has lr `lr`, and profile `quick` sets epochs `quick_epochs`.
  Lines part(const std::string& ds, const std::string& model, const std::string& table,
             const std::string& lr, int quick_epochs, const std::string& seeds = "[0, 1]") const {
    return {
        "version: 1",
        "name: part_" + table,
        "datasets:",
        "  " + ds + ":",
        "    kind: hepatic_vessel",
        "    root: " + root_,
        "models:",
        "  " + model + ":",
        "    kind: wide_unet",
        "training: {lr: " + lr + "}",
        "seeds: " + seeds,
        "tables:",
        "  " + table + ":",
        "    rows: [{dataset: " + ds + "}]",
        "    columns: [{model: " + model + "}]",
        "profiles:",
        "  quick: {training: {epochs: " + std::to_string(quick_epochs) + "}}",
    };
  }
  Lines top(const Lines& files, const std::string& extra = "") const {
    Lines l = {"version: 1", "name: all"};
    if (!extra.empty()) l.push_back(extra);
    l.push_back("include:");
    for (const auto& f : files) l.push_back("  - " + f);
    return l;
  }
};

TEST_F(IncludeConfigTest, EachFileIsParsedAloneAndMergedKeepingItsModelsTraining) {
  write("a.yaml", part("vessels", "net_a", "ta", "0.01", 3));
  Lines b = part("vessels", "net_b", "tb", "0.002", 5);
  b.insert(b.begin() + 9, "    training: {batch: 2}");  // net_b's own key; lr from b's training
  write("b.yaml", b);
  const std::string path = write("all.yaml", top({"a.yaml", "b.yaml"}, "default_profile: quick"));
  const ExperimentConfig c = load_experiment(path, "", test_validators());
  EXPECT_EQ(c.name, "all");
  EXPECT_EQ(c.output, "runs/all");
  EXPECT_EQ(c.profile, "quick");
  EXPECT_EQ(c.includes,
            (std::vector<std::string>{(dir_ / "a.yaml").string(), (dir_ / "b.yaml").string()}));
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.models[0].name, "net_a");
  EXPECT_EQ(c.models[1].name, "net_b");
  // Every model carries the training of its own file, with that file's profile applied.
  ASSERT_TRUE(c.model("net_a").training.has_value());
  ASSERT_TRUE(c.model("net_b").training.has_value());
  EXPECT_DOUBLE_EQ(c.model("net_a").training->lr, 0.01);
  EXPECT_EQ(c.model("net_a").training->epochs, 3);
  EXPECT_EQ(c.model("net_a").training->batch, 8);  // the default
  EXPECT_DOUBLE_EQ(c.model("net_b").training->lr, 0.002);
  EXPECT_EQ(c.model("net_b").training->epochs, 5);
  EXPECT_EQ(c.model("net_b").training->batch, 2);
  // The same dataset, defined alike in both, is kept once; tables in file order; seeds agree.
  ASSERT_EQ(c.datasets.size(), 1u);
  EXPECT_EQ(c.datasets[0].name, "vessels");
  ASSERT_EQ(c.tables.size(), 2u);
  EXPECT_EQ(c.tables[0].name, "ta");
  EXPECT_EQ(c.tables[1].name, "tb");
  EXPECT_EQ(c.seeds, (std::vector<std::uint64_t>{0, 1}));

  // `none` reaches the included files too.
  const ExperimentConfig n = load_experiment(path, "none", test_validators());
  EXPECT_EQ(n.model("net_a").training->epochs, 100);
  EXPECT_EQ(n.model("net_b").training->epochs, 100);
}

TEST_F(IncludeConfigTest, DuplicateNamesAreAnErrorNamingTheFile) {
  write("a.yaml", part("vessels", "net", "ta", "0.01", 3));
  write("same_model.yaml", part("vessels", "net", "tb", "0.01", 3));
  write("same_table.yaml", part("vessels", "net_b", "ta", "0.01", 3));
  Lines other_ds = part("vessels", "net_c", "tc", "0.01", 3);
  other_ds.insert(other_ds.begin() + 6, "    num_classes: 3");  // another `vessels`
  write("other_ds.yaml", other_ds);
  write("seeds.yaml", part("liver", "net_d", "td", "0.01", 3, "[0]"));
  const struct {
    const char* file;
    std::string message;
  } cases[] = {
      {"same_model.yaml", "include: model 'net' of " + (dir_ / "same_model.yaml").string() +
                              " is also defined by an earlier file; names must be unique"},
      {"same_table.yaml", "include: table 'ta' of " + (dir_ / "same_table.yaml").string() +
                              " is also defined by an earlier file"},
      {"other_ds.yaml", "include: dataset 'vessels' of " + (dir_ / "other_ds.yaml").string() +
                            " is also defined by an earlier file"},
      {"seeds.yaml",
       "include: " + (dir_ / "seeds.yaml").string() + " has other seeds than the files before it"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.file);
    const std::string path = write("top.yaml", top({"a.yaml", k.file}));
    const std::string e = error_of(path);
    expect_located(e, path, 5, 5);  // the second item of `include:` (line 5, after "  - ")
    EXPECT_TRUE(Contains(e, k.message));
  }
}

TEST_F(IncludeConfigTest, AMissingFileOrAKeyBesideTheIncludesIsAnError) {
  write("a.yaml", part("vessels", "net", "ta", "0.01", 3));
  {
    const std::string path = write("missing.yaml", top({"a.yaml", "nope.yaml"}));
    const std::string e = error_of(path);
    expect_located(e, path, 5, 5);
    EXPECT_TRUE(Contains(e, "include: no file '" + (dir_ / "nope.yaml").string() + "'"));
  }
  {
    const std::string path = write("models.yaml", top({"a.yaml"}, "models: {}"));
    EXPECT_TRUE(Contains(error_of(path), "unknown key 'models' in an experiment of `include:`s"));
  }
  {  // an included file's own error keeps its own file and line
    write("bad.yaml", part("vessels", "net_b", "tb", "fast", 3));
    const std::string path = write("bad_top.yaml", top({"a.yaml", "bad.yaml"}));
    const std::string e = error_of(path);
    EXPECT_TRUE(BeginsWith(e, (dir_ / "bad.yaml").string() + ":10:")) << e;
  }
}

}  // namespace
}  // namespace orch
