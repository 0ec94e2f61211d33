// Schema v1 parsing (common/config.h, config_yaml.cpp), plus the small pure helpers of
// orch_common that everything above relies on: confusion-count metrics, FNV-1a hashing and Rng.
//
// Line and column numbers in the expected errors are counted by hand from the YAML lines written
// in each test (the trailing comment on each line is its 1-based line number).
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/confusion.h"
#include "common/hash.h"
#include "common/rng.h"
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
std::pair<std::string, std::string> reject_colour(const std::string& kind,
                                                  const nlohmann::json& options) {
  if (options.contains("colour")) return {"colour", "'colour' is not an option of " + kind};
  return {"", ""};
}

// Datasets accept only the option `channel` and the split schemes random and synapse.
std::pair<std::string, std::string> dataset_options(const std::string&,
                                                    const nlohmann::json& options,
                                                    const std::string& scheme) {
  if (scheme != "random" && scheme != "synapse")
    return {"split.scheme", "unknown split scheme '" + scheme + "'"};
  for (const auto& [key, value] : options.items())
    if (key != "channel") return {key, "unknown option '" + key + "'"};
  return {"", ""};
}

ConfigValidators test_validators() {
  ConfigValidators v;
  v.model_kinds = {"wide_unet"};
  v.dataset_kinds = {"hepatic_vessel"};
  v.check_model_options = &reject_colour;
  v.check_dataset_options = &dataset_options;
  v.check_transform = [](const std::string& spec) -> std::string {
    return spec.rfind("flip(", 0) == 0 ? "" : "unknown transform '" + spec + "'";
  };
  return v;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("orch_config_test_" + std::to_string(::getpid()) + "_" + info->name());
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
  EXPECT_EQ(table.rows, (std::vector<std::pair<std::string, std::string>>{{"vessels", "vessels"}}));
  EXPECT_EQ(table.columns, (std::vector<std::pair<std::string, std::string>>{{"net", "net"}}));
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
  EXPECT_EQ(t.rows.at(0).second, "Liver vessels");
  EXPECT_EQ(t.columns.at(0).second, "U-Net");
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

TEST_F(ConfigTest, DuplicateKeysAreErrorsAtTheSecondOccurrence) {
  Lines lines = minimal();
  lines.push_back("seeds: [1]");
  lines.push_back("seeds: [2]");
  const std::string path = write("dup.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, static_cast<int>(lines.size()), 1);
  EXPECT_TRUE(Contains(e, "duplicate key 'seeds'"));
}

TEST_F(ConfigTest, FractionalCropsAndOversizedIntegersAreRejected) {
  Lines crop = minimal();
  crop.insert(crop.begin() + 5, "    preprocess: {steps: [{crop: [0.5, 8, 0, 8]}]}");
  EXPECT_TRUE(Contains(error_of(write("crop.yaml", crop)), "expected an integer, got '0.5'"));
  Lines big = minimal();
  big.push_back("training: {epochs: 4294967297}");
  EXPECT_TRUE(Contains(error_of(write("big.yaml", big)), "4294967297 is out of range"));
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

TEST_F(ConfigTest, ProfileOverridingAnUnknownModelPointsAtItsName) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "profiles:",    // 16
                                "  quick:",     // 17
                                "    models:",  // 18
                                "      nett:",  // 19
                                "        options: {width: 1}",
                            });
  const std::string path = write("profile_model.yaml", lines);
  const std::string e = error_of(path, "quick");
  expect_located(e, path, 19, 7);
  EXPECT_TRUE(Contains(e, "unknown model 'nett'"));
  EXPECT_EQ(error_of(path, "none"), "");
}

TEST_F(ConfigTest, ShippedAllTablesExperimentLoadsWithEachProfile) {
  const std::string path = std::string(ORCH_SOURCE_DIR) + "/experiments/all_tables.yaml";
  for (const char* profile : {"", "quick", "paper", "none"}) {
    SCOPED_TRACE(profile);
    // Kind names only: the kinds' own option checks live above common/ (orchestrator tests).
    ConfigValidators v;
    v.model_kinds = {"attention_unet2d", "fcn_rnn",    "refnet", "resunet2d", "resunet3d",
                     "spider_unet",      "swin_unetr", "unet3d", "wide_unet"};
    v.label_input_kinds = {"refnet"};
    v.dataset_kinds = {"hepatic_vessel", "mra", "york_cardiac", "btcv", "isbi_ms", "lidc"};
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

TEST_F(ConfigTest, UnsupportedVersionPointsAtTheValue) {
  Lines lines = minimal();
  lines[0] = "version: 2";  // value at column 10
  const std::string path = write("version.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 1, 10);
  EXPECT_TRUE(Contains(e, "unsupported schema version '2'"));
}

TEST_F(ConfigTest, UnknownKeyPointsAtTheKeyAndListsTheAllowedKeys) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "training:",   // 16
                                "  lr: 0.1",   // 17
                                "  epoch: 5",  // 18: the key starts at column 3
                                "  batch: 2",  // 19
                            });
  const std::string path = write("unknown_key.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 18, 3);
  EXPECT_TRUE(Contains(e, "unknown key 'epoch' in training"));
  EXPECT_TRUE(Contains(e,
                       "expected one of: optimizer, lr, momentum, weight_decay, schedule, "
                       "warmup_epochs, min_lr, plateau_factor, plateau_patience, grad_clip, "
                       "precision, loss, focal_beta, batch, epochs, steps_per_epoch, patience, "
                       "early_stop_metric, foreground_fraction, patch, sampler, "
                       "samples_per_volume, augment, threads"));
}

TEST_F(ConfigTest, UnknownTopLevelKeyIsAnError) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 2, "epochs: 3");  // line 3, column 1
  const std::string path = write("unknown_top.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 3, 1);
  EXPECT_TRUE(Contains(e, "unknown key 'epochs' in the experiment"));
  EXPECT_TRUE(Contains(e,
                       "version, name, output, cache, default_profile, datasets, models, training, "
                       "inference, seeds, tables, profiles"));
}

TEST_F(ConfigTest, UnknownModelKindPointsAtTheKindAndListsKnownKinds) {
  Lines lines = minimal();
  lines[8] = "    kind: wide_unetx";  // line 9, value at column 11
  const std::string path = write("model_kind.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 9, 11);
  EXPECT_TRUE(Contains(e, "models.net: unknown model kind 'wide_unetx'; known: wide_unet"));
}

TEST_F(ConfigTest, UnknownDatasetKindPointsAtTheKindAndListsKnownKinds) {
  Lines lines = minimal();
  lines[4] = "    kind: liver";  // line 5, value at column 11
  const std::string path = write("dataset_kind.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 5, 11);
  EXPECT_TRUE(Contains(e, "datasets.vessels: unknown dataset kind 'liver'; known: hepatic_vessel"));
}

TEST_F(ConfigTest, DatasetOptionsAndSchemeAreKeptAndTheirErrorsPointAtTheKey) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, {"    options: {channel: t2}", "    split: {scheme: synapse}"});
  const ExperimentConfig c = load_experiment(write("ok.yaml", lines), "", test_validators());
  EXPECT_EQ(c.datasets[0].options.at("channel"), "t2");
  EXPECT_EQ(c.datasets[0].split.scheme, "synapse");

  lines[6] = "    options: {channel: t2, rater: 3}";  // line 7, key `rater` at column 28
  std::string path = write("option.yaml", lines);
  std::string e = error_of(path);
  expect_located(e, path, 7, 28);
  EXPECT_TRUE(Contains(e, "datasets.vessels.options: unknown option 'rater'"));

  lines[6] = "    options: {channel: t2}";
  lines[7] = "    split: {scheme: monai}";  // line 8, value at column 21
  path = write("scheme.yaml", lines);
  e = error_of(path);
  expect_located(e, path, 8, 21);
  EXPECT_TRUE(Contains(e, "datasets.vessels.split: unknown split scheme 'monai'"));
}

TEST_F(ConfigTest, AugmentationTransformsAreKeptInOrderAndCheckedWhereWritten) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 9,
               {"training:", "  augment:", "    - flip(axes=0)", "    - flip(axes=1)"});
  const ExperimentConfig c = load_experiment(write("aug.yaml", lines), "", test_validators());
  EXPECT_EQ(c.training.augment, (std::vector<std::string>{"flip(axes=0)", "flip(axes=1)"}));
  lines[12] = "    - nois(std=0.1)";  // line 13, value at column 7
  const std::string path = write("bad_aug.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 13, 7);
  EXPECT_TRUE(Contains(e, "training.augment[1]: unknown transform 'nois(std=0.1)'"));
}

TEST_F(ConfigTest, PreprocessingStepsAreCheckedWhereTheyAreWritten) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, {"    preprocess:", "      steps:", "        - window: [0, 300]",
                                   "        - blur: 2"});  // line 10, key at column 11
  std::string path = write("step.yaml", lines);
  std::string e = error_of(path);
  expect_located(e, path, 10, 11);
  EXPECT_TRUE(
      Contains(e, "datasets.vessels.preprocess.steps[1]: unknown preprocessing step 'blur'"));
  lines[9] = "        - znorm: median";  // value at column 18
  path = write("znorm.yaml", lines);
  e = error_of(path);
  expect_located(e, path, 10, 18);
  EXPECT_TRUE(Contains(e, "unknown mask 'median'"));
  lines[9] = "        - window: [300, 0]";
  EXPECT_TRUE(Contains(error_of(write("window.yaml", lines)), "low < high"));
}

TEST_F(ConfigTest, ModelKindChangedByAProfileIsCheckedAtTheProfileLine) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "profiles:",           // 16
                                "  p:",                // 17
                                "    models:",         // 18
                                "      net:",          // 19
                                "        kind: vnet",  // 20: value at column 15
                            });
  const std::string path = write("profile_kind.yaml", lines);
  const std::string e = error_of(path, "p");
  expect_located(e, path, 20, 15);
  EXPECT_TRUE(Contains(e, "unknown model kind 'vnet'"));
}

TEST_F(ConfigTest, RejectedModelOptionPointsAtThatOption) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 9, {
                                      "    options:",       // 10
                                      "      width: 1.0",   // 11
                                      "      colour: red",  // 12: key at column 7
                                  });
  const std::string path = write("option.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 12, 7);
  EXPECT_TRUE(Contains(e, "models.net.options: 'colour' is not an option of wide_unet"));
}

TEST_F(ConfigTest, RejectedFlowStyleModelOptionPointsInsideTheLine) {
  Lines lines = minimal();
  // "    options: {width: 1, colour: red}": '{' is column 14, 'c' of colour column 25.
  lines.insert(lines.begin() + 9, "    options: {width: 1, colour: red}");  // 10
  const std::string path = write("option_flow.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 10, 25);
  EXPECT_TRUE(Contains(e, "'colour' is not an option"));
}

TEST_F(ConfigTest, RejectedModelOptionAddedByAProfilePointsIntoTheProfile) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "profiles:",              // 16
                                "  p:",                   // 17
                                "    models:",            // 18
                                "      net:",             // 19
                                "        options:",       // 20
                                "          colour: red",  // 21: key at column 11
                            });
  const std::string path = write("option_profile.yaml", lines);
  const std::string e = error_of(path, "p");
  expect_located(e, path, 21, 11);
  EXPECT_EQ(error_of(path, "none"), "");
}

TEST_F(ConfigTest, MissingDatasetKindPointsAtTheDatasetMapping) {
  Lines lines = minimal();
  lines.erase(lines.begin() + 4);  // drop "kind"; the mapping now starts at "root", line 5 col 5
  const std::string path = write("no_kind.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 5, 5);
  EXPECT_TRUE(Contains(e, "datasets.vessels: missing required key 'kind'"));
}

TEST_F(ConfigTest, MissingDatasetRootPointsAtTheDatasetMapping) {
  Lines lines = minimal();
  lines.erase(lines.begin() + 5);  // drop "root"; the mapping starts at "kind", line 5 col 5
  const std::string path = write("no_root.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 5, 5);
  EXPECT_TRUE(Contains(e, "datasets.vessels: missing required key 'root'"));
}

TEST_F(ConfigTest, MissingModelKindPointsAtTheModelMapping) {
  Lines lines = minimal();
  lines[8] = "    options: {width: 1}";  // line 9, mapping at column 5
  const std::string path = write("no_model_kind.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 9, 5);
  EXPECT_TRUE(Contains(e, "models.net: missing required key 'kind'"));
}

TEST_F(ConfigTest, MissingTopLevelNameIsAnError) {
  Lines lines = minimal();
  lines.erase(lines.begin() + 1);  // the document mapping starts at line 1 col 1
  const std::string path = write("no_name.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 1, 1);
  EXPECT_TRUE(Contains(e, "missing required key 'name'"));
}

TEST_F(ConfigTest, MissingRootDirectoryWithoutPhantomNamesTheRootAndItsLine) {
  Lines lines = minimal();
  const std::string absent = (dir_ / "absent").string();
  lines[5] = "    root: " + absent;  // line 6, value at column 11
  const std::string path = write("absent_root.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 6, 11);
  EXPECT_TRUE(Contains(e, "datasets.vessels: root '" + absent + "' does not exist"));
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

TEST_F(ConfigTest, DisabledPhantomDoesNotExcuseAMissingRoot) {
  Lines lines = minimal();
  lines[5] = "    root: " + (dir_ / "absent").string();
  lines.insert(lines.begin() + 6, "    phantom: {enabled: false}");
  const std::string path = write("phantom_off.yaml", lines);
  expect_located(error_of(path), path, 6, 11);
}

TEST_F(ConfigTest, WrongTypeForANumberPointsAtTheValue) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "training:",   // 16
                                "  lr: fast",  // 17: value at column 7
                            });
  const std::string path = write("lr_type.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 17, 7);
  EXPECT_TRUE(Contains(e, "training.lr: expected a number, got 'fast'"));
}

TEST_F(ConfigTest, FractionWhereAnIntegerIsExpectedIsAnError) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "training:",      // 16
                                "  epochs: 2.5",  // 17: value at column 11
                            });
  const std::string path = write("epochs_type.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 17, 11);
  EXPECT_TRUE(Contains(e, "training.epochs: expected an integer, got '2.5'"));
}

TEST_F(ConfigTest, NonBooleanPhantomEnabledIsAnError) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, {
                                      "    phantom:",          // 7
                                      "      enabled: maybe",  // 8: value at column 16
                                  });
  const std::string path = write("bool_type.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 8, 16);
  EXPECT_TRUE(Contains(e, "datasets.vessels.phantom.enabled: expected true or false"));
}

TEST_F(ConfigTest, NonPositiveLearningRatePointsAtTheValue) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "training:",  // 16
                                "  lr: 0",    // 17: value at column 7
                            });
  const std::string path = write("lr_zero.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 17, 7);
  EXPECT_TRUE(Contains(e, "training.lr: must be > 0"));
}

TEST_F(ConfigTest, InvalidBaseTrainingValuePointsAtItsLineWhenAProfileSetsOtherFields) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "training:",        // 16
                                "  lr: 0",          // 17: value at column 7
                                "profiles:",        // 18
                                "  p:",             // 19
                                "    training:",    // 20
                                "      epochs: 3",  // 21
                            });
  const std::string path = write("lr_zero_profile.yaml", lines);
  const std::string e = error_of(path, "p");
  expect_located(e, path, 17, 7);
  EXPECT_TRUE(Contains(e, "training.lr: must be > 0"));
}

TEST_F(ConfigTest, InvalidTrainingValueFromAProfilePointsIntoTheProfile) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "training:",          // 16
                                "  lr: 0.1",          // 17
                                "profiles:",          // 18
                                "  p:",               // 19
                                "    training:",      // 20
                                "      loss: focal",  // 21: value at column 13
                            });
  const std::string path = write("loss_profile.yaml", lines);
  const std::string e = error_of(path, "p");
  expect_located(e, path, 21, 13);
  EXPECT_TRUE(Contains(e, "training.loss: unknown loss 'focal'; known: dice_ce"));
}

TEST_F(ConfigTest, TableRowNamingAnUnknownDatasetPointsAtTheName) {
  Lines lines = minimal();
  lines[12] = "      - dataset: vesels";  // line 13, value at column 18
  const std::string path = write("row.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 13, 18);
  EXPECT_TRUE(Contains(e, "tables.t1.rows[]: no dataset named 'vesels' in this file"));
}

TEST_F(ConfigTest, TableColumnNamingAnUnknownModelPointsAtTheName) {
  Lines lines = minimal();
  lines[14] = "      - model: nett";  // line 15, value at column 16
  const std::string path = write("column.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 15, 16);
  EXPECT_TRUE(Contains(e, "tables.t1.columns[]: no model named 'nett' in this file"));
}

TEST_F(ConfigTest, PublishedValueForANonRowPointsAtItsKey) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "    published:",           // 16
                                "      liver:",             // 17: key at column 7
                                "        net: {dsc: 0.5}",  // 18
                            });
  const std::string path = write("published_row.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 17, 7);
  EXPECT_TRUE(Contains(e, "tables.t1.published: 'liver' is not a row of this table"));
}

TEST_F(ConfigTest, PublishedValueForANonColumnPointsAtItsKey) {
  Lines lines = minimal();
  lines.insert(lines.end(), {
                                "    published:",            // 16
                                "      vessels:",            // 17
                                "        unet: {dsc: 0.5}",  // 18: key at column 9
                            });
  const std::string path = write("published_column.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 18, 9);
  EXPECT_TRUE(Contains(e, "'unet' is not a column of this table"));
}

TEST_F(ConfigTest, UnknownTableMetricIsAnError) {
  Lines lines = minimal();
  lines.push_back("    metrics: [dsc, hd95]");  // line 16: '[' is column 14, "hd95" column 20
  const std::string path = write("metric.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 16, 20);
  EXPECT_TRUE(Contains(e, "unknown metric 'hd95'"));
}

TEST_F(ConfigTest, SplitFractionsLeavingNoTestCasesAreAnError) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, "    split: {train: 0.9, val: 0.1}");  // 7: '{' at column 12
  const std::string path = write("split.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 7, 12);
  EXPECT_TRUE(Contains(e, "leave some cases for the test split"));
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
                                "      blend: gaussan",    // 23: value at column 14
                                "    training:",           // 24
                                "      schedule: plateau"  // 25
                            });
  const std::string path = write("inference_profile.yaml", lines);
  const std::string e = error_of(path, "p");
  expect_located(e, path, 23, 14);
  EXPECT_TRUE(Contains(e, "inference.blend: unknown blend 'gaussan'; known: gaussian, average"));

  lines[22] = "      blend: average";
  const ExperimentConfig c =
      load_experiment(write("ok_profile.yaml", lines), "p", test_validators());
  EXPECT_DOUBLE_EQ(c.inference.overlap, 0.75);
  EXPECT_EQ(c.inference.blend, "average");
  EXPECT_EQ(c.inference.sw_batch, 8);  // kept from the file
  EXPECT_TRUE(c.inference.mirror);
  EXPECT_EQ(c.training.schedule, "plateau");
}

TEST_F(ConfigTest, TrainingAndInferenceValuesAreCheckedWhereTheyAreWritten) {
  struct Case {
    Lines extra;  // appended to minimal() from line 16 on
    int line, col;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"training:", "  epochs: -1"}, 17, 11, "training.epochs: must be >= 0"},
      {{"training:", "  optimizer: lamb"},
       17,
       14,
       "training.optimizer: unknown optimizer 'lamb'; known: adam, adamw, rmsprop, sgd"},
      {{"training:", "  momentum: 1"}, 17, 13, "training.momentum: must be in [0, 1)"},
      {{"training:", "  weight_decay: -0.1"}, 17, 17, "training.weight_decay: must be >= 0"},
      {{"training:", "  schedule: cosine"},
       17,
       13,
       "training.schedule: unknown schedule 'cosine'; known: constant, warmup_cosine, plateau"},
      {{"training:", "  schedule: warmup_cosine", "  epochs: 10", "  warmup_epochs: 10"},
       19,
       18,
       "training.warmup_epochs: must be < epochs (10)"},
      {{"training:", "  lr: 0.01", "  min_lr: 0.1"}, 18, 11, "training.min_lr: must be in [0, lr]"},
      {{"training:", "  plateau_factor: 1"}, 17, 19, "training.plateau_factor: must be in (0, 1)"},
      {{"training:", "  plateau_patience: -1"}, 17, 21, "training.plateau_patience: must be >= 0"},
      {{"training:", "  grad_clip: -1"}, 17, 14, "training.grad_clip: must be >= 0"},
      {{"training:", "  precision: fp16"},
       17,
       14,
       "training.precision: unknown precision 'fp16'; known: fp32, bf16"},
      {{"training:", "  loss: focal_dice", "  focal_beta: 0.5"},
       18,
       15,
       "training.focal_beta: must be >= 1"},
      {{"training:", "  early_stop_metric: val_hd"},
       17,
       22,
       "training.early_stop_metric: unknown metric 'val_hd'; known: val_dsc, val_iou, val_loss, "
       "train_loss"},
      {{"training:", "  patch: [96, 0, 96]"},
       17,
       10,
       "training.patch: expected [i, j, k] with every size > 0"},
      {{"training:", "  sampler: random"},
       17,
       12,
       "training.sampler: unknown sampler 'random'; known: foreground, uniform, label"},
      {{"training:", "  samples_per_volume: 0"},
       17,
       23,
       "training.samples_per_volume: must be > 0"},
      {{"inference:", "  overlap: 1"}, 17, 12, "inference.overlap: must be in [0, 1)"},
      {{"inference:", "  sw_batch: 0"}, 17, 13, "inference.sw_batch: must be > 0"},
      {{"inference:", "  blend: median"},
       17,
       10,
       "inference.blend: unknown blend 'median'; known: gaussian, average"},
  };
  for (const Case& k : cases) {
    Lines lines = minimal();
    lines.insert(lines.end(), k.extra.begin(), k.extra.end());
    const std::string path = write("bad.yaml", lines);
    const std::string e = error_of(path);
    expect_located(e, path, k.line, k.col);
    EXPECT_TRUE(Contains(e, k.message));
  }
}

TEST_F(ConfigTest, TwoClassLossesRefuseADatasetWithMoreClasses) {
  Lines lines = minimal();
  lines.insert(lines.begin() + 6, "    num_classes: 3");            // 7; training moves to 17
  lines.insert(lines.end(), {"training:", "  loss: spider_dice"});  // 17, 18: value at col 9
  const std::string path = write("two_class.yaml", lines);
  const std::string e = error_of(path);
  expect_located(e, path, 18, 9);
  EXPECT_TRUE(Contains(
      e,
      "training.loss: spider_dice is a two-class loss, but dataset 'vessels' has num_classes 3"));
  lines.back() = "  loss: generalized_dice";
  EXPECT_EQ(error_of(write("multi_class.yaml", lines)), "");
}

TEST_F(ConfigTest, UnknownInferenceKeyIsAnErrorListingTheAllowedKeys) {
  Lines lines = minimal();
  lines.insert(lines.end(), {"inference:", "  overlp: 0.5"});
  const std::string e = error_of(write("inference_key.yaml", lines));
  EXPECT_TRUE(Contains(e, "overlp"));
  EXPECT_TRUE(Contains(e, "save_predictions"));
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
      v.check_transform = [](const std::string&) -> std::string { return ""; };
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

// --- confusion metrics -------------------------------------------------------------------------

}  // namespace
}  // namespace orch
