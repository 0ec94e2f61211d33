// Trial ids: a stable hash of what decides a trial's result, and nothing else. A changed id
// means "run it again", so both directions matter: labels must not change it, and every input
// to training must.
#include "worker/trial/trial_spec.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "common/hash.h"

namespace orch {
namespace {

using nlohmann::json;

// A small, fully specified spec; every field is set here so that the golden values below do
// not depend on the defaults in config.h.
TrialSpec fixed_spec() {
  TrialSpec s;
  s.experiment = "all_tables";
  s.out_dir = "runs/all_tables";

  DatasetConfig& d = s.dataset;
  d.name = "liver";
  d.kind = "hepatic_vessel";
  d.root = "/data/hv";
  d.num_classes = 2;
  d.split.train = 0.5;
  d.split.val = 0.25;
  d.split.seed = 3;
  d.phantom.enabled = false;
  d.phantom.cases = 10;
  d.phantom.seed = 1;
  d.phantom.size = {96, 96, 32};
  d.preprocess.steps = {{"window", {0, 300}, ""}};
  d.preprocess.label_map = {{2, 0}};

  s.model.name = "unet";
  s.model.kind = "wide_unet";
  s.model.options = json{{"width", 0.25}};

  TrainingConfig& t = s.training;
  t.optimizer = "adam";
  t.lr = 0.001;
  t.loss = "dice_ce";
  t.batch = 8;
  t.epochs = 100;
  t.steps_per_epoch = 50;
  t.patience = 10;
  t.early_stop_metric = "val_dsc";
  t.foreground_fraction = 0.5;
  t.threads = 0;

  s.seed = 7;
  s.id = trial_id(s);
  return s;
}

// Written by hand from identity_json's documented content: keys sorted (nlohmann's object is a
// std::map), no whitespace, names and output folder left out, doubles in shortest round-trip form
// with ".0" on integral values.
const char* const kFixedIdentity =
    R"({"dataset":{"kind":"hepatic_vessel","num_classes":2,"options":{},)"
    R"("phantom":{"cases":10,"enabled":false,"seed":1,"size":[96,96,32]},)"
    R"("preprocess":{"label_map":{"2":0},)"
    R"("steps":[{"args":[0.0,300.0],"mode":"","op":"window"}]},"root":"/data/hv",)"
    R"("split":{"scheme":"random","seed":3,"train":0.5,"val":0.25}},)"
    R"("model":{"kind":"wide_unet","options":{"width":0.25}},"schema":1,"seed":7,)"
    R"("training":{"batch":8,"early_stop_metric":"val_dsc","epochs":100,)"
    R"("foreground_fraction":0.5,"loss":"dice_ce","lr":0.001,"optimizer":"adam",)"
    R"("patience":10,"steps_per_epoch":50}})";

TEST(TrialIdTest, IsSixteenLowerCaseHexDigits) {
  const std::string id = trial_id(fixed_spec());
  ASSERT_EQ(id.size(), 16u);
  for (char c : id) EXPECT_TRUE(std::isdigit(c) || (c >= 'a' && c <= 'f')) << id;
}

TEST(TrialIdTest, IsTheFnvHashOfTheCanonicalIdentityJson) {
  const TrialSpec s = fixed_spec();
  EXPECT_EQ(trial_id(s), hash_hex(identity_json(s).dump()));
}

TEST(TrialIdTest, IdentityOfAFixedSpecIsPinned) {
  // Adding, removing or renaming a field of the identity changes every trial id and makes a
  // resumed run redo finished trials: this must only happen on purpose.
  EXPECT_EQ(identity_json(fixed_spec()).dump(), kFixedIdentity);
}

TEST(TrialIdTest, IdOfAFixedSpecIsPinned) {
  // FNV-1a 64 of kFixedIdentity, computed outside orch (a 5-line Python implementation checked
  // against the published vectors cbf29ce484222325 for "" and af63dc4c8601ec8c for "a").
  EXPECT_EQ(trial_id(fixed_spec()), "2dd1a36400982d8e");
}

TEST(TrialIdTest, EqualConfigsGiveEqualIds) {
  EXPECT_EQ(trial_id(fixed_spec()), trial_id(fixed_spec()));
}

TEST(TrialIdTest, LabelsAndOutputFolderDoNotChangeTheId) {
  const std::string base = trial_id(fixed_spec());
  const std::vector<std::pair<const char*, std::function<void(TrialSpec&)>>> labels = {
      {"experiment", [](TrialSpec& s) { s.experiment = "renamed"; }},
      {"out_dir", [](TrialSpec& s) { s.out_dir = "/elsewhere/run"; }},
      {"dataset name", [](TrialSpec& s) { s.dataset.name = "abdominal_ct"; }},
      {"model name", [](TrialSpec& s) { s.model.name = "unet2d"; }},
      {"stale id", [](TrialSpec& s) { s.id = "0000000000000000"; }},
      {"cache_dir", [](TrialSpec& s) { s.cache_dir = "/scratch/cache"; }},
      {"threads", [](TrialSpec& s) { s.training.threads = 3; }},
      {"root spelling", [](TrialSpec& s) { s.dataset.root = "/data/./hv/"; }},
  };
  for (const auto& [what, change] : labels) {
    TrialSpec s = fixed_spec();
    change(s);
    EXPECT_EQ(trial_id(s), base) << what;
  }
}

TEST(TrialIdTest, EveryInputToTrainingChangesTheId) {
  const std::string base = trial_id(fixed_spec());
  const std::vector<std::pair<const char*, std::function<void(TrialSpec&)>>> inputs = {
      {"lr", [](TrialSpec& s) { s.training.lr = 0.002; }},
      {"epochs", [](TrialSpec& s) { s.training.epochs = 101; }},
      {"batch", [](TrialSpec& s) { s.training.batch = 4; }},
      {"seed", [](TrialSpec& s) { s.seed = 8; }},
      {"model kind", [](TrialSpec& s) { s.model.kind = "other_unet"; }},
      {"model option value", [](TrialSpec& s) { s.model.options["width"] = 0.5; }},
      {"model option added", [](TrialSpec& s) { s.model.options["depth"] = 4; }},
      {"dataset root", [](TrialSpec& s) { s.dataset.root = "/data/hv2"; }},
      {"dataset kind", [](TrialSpec& s) { s.dataset.kind = "other"; }},
      {"num_classes", [](TrialSpec& s) { s.dataset.num_classes = 3; }},
      {"window", [](TrialSpec& s) { s.dataset.preprocess.steps[0].args[1] = 400; }},
      {"no window", [](TrialSpec& s) { s.dataset.preprocess.steps.clear(); }},
      {"znorm mode",
       [](TrialSpec& s) {
         s.dataset.preprocess.steps.push_back({"znorm", {}, "all"});
       }},
      {"step order",
       [](TrialSpec& s) {
         s.dataset.preprocess.steps.insert(s.dataset.preprocess.steps.begin(),
                                           {"resize", {64, 64}, ""});
       }},
      {"dataset option", [](TrialSpec& s) { s.dataset.options["channel"] = "t2"; }},
      {"split scheme", [](TrialSpec& s) { s.dataset.split.scheme = "synapse"; }},
      {"label_map", [](TrialSpec& s) { s.dataset.preprocess.label_map[2] = 1; }},
      {"crop",
       [](TrialSpec& s) {
         s.dataset.preprocess.steps.push_back({"crop", {0, 64, 0, 64}, ""});
       }},
      {"resize",
       [](TrialSpec& s) {
         s.dataset.preprocess.steps.push_back({"resize", {64, 64}, ""});
       }},
      {"split seed", [](TrialSpec& s) { s.dataset.split.seed = 4; }},
      {"split train", [](TrialSpec& s) { s.dataset.split.train = 0.6; }},
      {"split val", [](TrialSpec& s) { s.dataset.split.val = 0.2; }},
      {"phantom enabled", [](TrialSpec& s) { s.dataset.phantom.enabled = true; }},
      {"phantom seed", [](TrialSpec& s) { s.dataset.phantom.seed = 2; }},
      {"phantom size", [](TrialSpec& s) { s.dataset.phantom.size[2] = 24; }},
  };
  std::vector<std::string> ids = {base};
  for (const auto& [what, change] : inputs) {
    TrialSpec s = fixed_spec();
    change(s);
    const std::string id = trial_id(s);
    EXPECT_NE(id, base) << what;
    ids.push_back(id);
  }
  // And no two of these one-field changes collide with each other.
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
}

TEST(TrialSpecJsonTest, RoundTripPreservesEveryFieldAndTheId) {
  TrialSpec s = fixed_spec();
  s.dataset.preprocess.steps.push_back({"crop", {1, 65, 2, 66}, ""});
  s.dataset.preprocess.steps.push_back({"znorm", {}, "nonzero"});
  s.dataset.preprocess.steps.push_back({"resize", {32, 48}, ""});
  s.dataset.options["rater"] = 2;
  s.dataset.split.scheme = "monai";
  s.cache_dir = "/scratch/cache";
  s.dataset.preprocess.label_map[10] = 1;
  s.model.options["act"] = "relu";
  s.model.options["bias"] = true;
  s.id = trial_id(s);

  const TrialSpec back = trial_spec_from_json(to_json(s));
  EXPECT_EQ(back.id, s.id);
  EXPECT_EQ(trial_id(back), s.id);
  EXPECT_EQ(back.experiment, s.experiment);
  EXPECT_EQ(back.out_dir, s.out_dir);
  EXPECT_EQ(back.seed, s.seed);
  EXPECT_EQ(back.dataset.name, "liver");
  EXPECT_EQ(back.model.name, "unet");
  EXPECT_EQ(back.dataset.preprocess.label_map, s.dataset.preprocess.label_map);
  ASSERT_EQ(back.dataset.preprocess.steps.size(), 4u);
  for (std::size_t n = 0; n < 4; ++n) {
    EXPECT_EQ(back.dataset.preprocess.steps[n].op, s.dataset.preprocess.steps[n].op);
    EXPECT_EQ(back.dataset.preprocess.steps[n].args, s.dataset.preprocess.steps[n].args);
    EXPECT_EQ(back.dataset.preprocess.steps[n].mode, s.dataset.preprocess.steps[n].mode);
  }
  EXPECT_EQ(back.dataset.options, s.dataset.options);
  EXPECT_EQ(back.dataset.split.scheme, "monai");
  EXPECT_EQ(back.cache_dir, "/scratch/cache");
  EXPECT_EQ(back.model.options, s.model.options);
  EXPECT_EQ(identity_json(back), identity_json(s));
}

TEST(TrialSpecJsonTest, RoundTripThroughTextKeepsTheIdOfAwkwardValues) {
  // What travels between ranks is the dumped text: doubles that need all 17 digits and seeds
  // beyond the signed range must come back bit for bit.
  TrialSpec s = fixed_spec();
  s.training.lr = 0.1 + 0.2;  // 0.30000000000000004
  s.training.foreground_fraction = 1.0 / 3.0;
  s.seed = 18446744073709551615ULL;
  s.dataset.split.seed = 9223372036854775808ULL;
  s.id = trial_id(s);

  const TrialSpec back = trial_spec_from_json(json::parse(to_json(s).dump()));
  EXPECT_EQ(back.training.lr, s.training.lr);
  EXPECT_EQ(back.training.foreground_fraction, s.training.foreground_fraction);
  EXPECT_EQ(back.seed, s.seed);
  EXPECT_EQ(back.dataset.split.seed, s.dataset.split.seed);
  EXPECT_EQ(trial_id(back), s.id);
  EXPECT_EQ(back.id, s.id);
}

TEST(TrialSpecJsonTest, OptionalPreprocessingStaysAbsent) {
  TrialSpec s = fixed_spec();
  s.dataset.preprocess = PreprocessOptions{};
  const TrialSpec back = trial_spec_from_json(json::parse(to_json(s).dump()));
  EXPECT_TRUE(back.dataset.preprocess.steps.empty());
  EXPECT_TRUE(back.dataset.preprocess.label_map.empty());
  EXPECT_EQ(trial_id(back), trial_id(s));
}

TEST(TrialSpecJsonTest, MissingFieldIsAnError) {
  json j = to_json(fixed_spec());
  j.erase("seed");
  EXPECT_THROW(trial_spec_from_json(j), json::exception);
}

}  // namespace
}  // namespace orch
