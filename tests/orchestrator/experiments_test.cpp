// The shipped experiment files load with orch's real validators (every dataset kind's options,
// split schemes, model options, augmentation strings) under each of their profiles, and plan the
// trials their tables ask for.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "orchestrator/plan.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

ModelConfig model_config(const std::string& name, const std::string& kind,
                         const nlohmann::json& options) {
  ModelConfig m;
  m.name = name;
  m.kind = kind;
  m.options = options;
  return m;
}

TableEntry entry(const std::string& key, const std::string& label, const std::string& dataset,
                 const std::string& model) {
  TableEntry e;
  e.key = key;
  e.label = label;
  e.dataset = dataset;
  e.model = model;
  return e;
}

TEST(ShippedExperiments, EveryFileLoadsAndPlansUnderEveryProfile) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(ORCH_SOURCE_DIR) / "experiments")) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    for (const char* profile : {"", "quick", "paper", "none"}) {
      SCOPED_TRACE(entry.path().string() + " profile '" + profile + "'");
      const ExperimentConfig c =
          load_experiment(entry.path().string(), profile, config_validators());
      const Plan plan = make_plan(c, "runs/test");
      // One cell per (dataset, model) of a table and seed; `baseline: untrained` adds a second
      // one under "<table>/untrained".
      std::size_t cells = 0;
      std::map<std::string, std::size_t> per_table;
      for (const auto& t : c.tables) {
        std::set<std::pair<std::string, std::string>> sources;
        for (const auto& r : t.rows)
          for (const auto& col : t.columns) sources.insert(t.cell_source(r, col));
        per_table[t.name] = sources.size() * c.seeds.size();
        if (t.baseline == "untrained") per_table[t.name + "/untrained"] = per_table[t.name];
        cells += sources.size() * c.seeds.size() * (t.baseline == "untrained" ? 2 : 1);
      }
      EXPECT_EQ(plan.cells.size(), cells);
      std::map<std::string, std::size_t> planned;
      for (const auto& cell : plan.cells) ++planned[cell.table];
      EXPECT_EQ(planned, per_table);
      EXPECT_FALSE(plan.trials.empty());
      // Every baseline cell's trial is planned and trains for zero epochs.
      std::map<std::string, const TrialSpec*> by_id;
      for (const auto& s : plan.trials) by_id[s.id] = &s;
      for (const auto& cell : plan.cells) {
        ASSERT_TRUE(by_id.count(cell.trial_id)) << cell.table << " " << cell.model;
        const bool baseline = cell.table.size() > 10 &&
                              cell.table.compare(cell.table.size() - 10, 10, "/untrained") == 0;
        if (baseline) {
          EXPECT_EQ(by_id.at(cell.trial_id)->training.epochs, 0) << cell.table;
        }
      }
    }
  }
  EXPECT_GE(files, 1);
}

TEST(ShippedExperiments, AllTablesHasTheThesisTable2RowsWithTheirPublishedValues) {
  const ExperimentConfig c = load_experiment(
      std::string(ORCH_SOURCE_DIR) + "/experiments/all_tables.yaml", "", config_validators());
  const TableConfig* t = nullptr;
  for (const auto& table : c.tables)
    if (table.name == "spider_table2") t = &table;
  ASSERT_NE(t, nullptr);
  // Thesis Table 2, 2D U-Net column: MRA 0.745|0.673, abdominal CT 0.327|0.277, cardiac
  // 0.772|0.681 (the Spider thesis, seed 000, section 3.2).
  EXPECT_DOUBLE_EQ(t->published.at({"brain_mra", "unet2d"}).at("dsc"), 0.745);
  EXPECT_DOUBLE_EQ(t->published.at({"liver_vessel", "unet2d"}).at("iou"), 0.277);
  EXPECT_DOUBLE_EQ(t->published.at({"cardiac_lv", "unet2d"}).at("dsc"), 0.772);
  EXPECT_EQ(c.dataset("brain_mra").kind, "mra");
  EXPECT_EQ(c.dataset("cardiac_lv").kind, "york_cardiac");
}

// all_tables.yaml is five `include:`s (experiments/all_tables.yaml, default_profile quick): it
// plans exactly the trials and cells its files plan alone, so every model trains as in its own
// file.
TEST(ShippedExperiments, AllTablesPlansWhatItsIncludedFilesPlanAlone) {
  const std::string all = std::string(ORCH_SOURCE_DIR) + "/experiments/all_tables.yaml";
  for (const std::string profile : {"", "paper", "none"}) {
    SCOPED_TRACE("profile '" + profile + "'");
    const ExperimentConfig c = load_experiment(all, profile, config_validators());
    ASSERT_EQ(c.includes.size(), 5u);
    const Plan plan = make_plan(c, "runs/all");
    std::set<std::string> ids;
    for (const auto& s : plan.trials) ids.insert(s.id);
    std::set<std::string> want_ids;
    std::vector<std::string> want_tables;
    std::size_t want_cells = 0;
    for (const auto& file : c.includes) {
      const ExperimentConfig sub =
          load_experiment(file, profile.empty() ? "quick" : profile, config_validators());
      const Plan p = make_plan(sub, "runs/sub");
      for (const auto& s : p.trials) want_ids.insert(s.id);
      for (const auto& t : sub.tables) want_tables.push_back(t.name);
      want_cells += p.cells.size();
      for (const auto& m : sub.models) {
        SCOPED_TRACE(file + ": " + m.name);
        ASSERT_TRUE(c.model(m.name).training.has_value());
        EXPECT_EQ(nlohmann::json(*c.model(m.name).training),
                  nlohmann::json(m.training.value_or(sub.training)));
      }
    }
    std::vector<std::string> tables;
    for (const auto& t : c.tables) tables.push_back(t.name);
    EXPECT_EQ(tables, want_tables);
    EXPECT_EQ(plan.cells.size(), want_cells);
    EXPECT_EQ(ids, want_ids);
  }
}

// RefNet's trial graph: each refinement trial carries K source trials with seeds seed..seed+K-1,
// which the plan lists before it, shared with the table's own column where the seeds meet.
TEST(RefinementPlan, SourcesPrecedeTheirRefinementAndAreSharedWithTheRawColumn) {
  ExperimentConfig c;
  c.name = "refine";
  DatasetConfig d;
  d.name = "btcv";
  d.kind = "btcv";
  d.root = "data/btcv";
  d.num_classes = 14;
  c.datasets = {d};
  ModelConfig net = model_config("swin", "swin_unetr", {{"feature_size", 12}});
  ModelConfig ref = model_config("ref", "refnet", nlohmann::json::object());
  ref.training = c.training;
  ref.refines = "swin";
  ref.repetitions = 2;
  ref.training->optimizer = "rmsprop";
  ref.training->loss = "refnet";
  c.models = {net, ref};
  c.seeds = {0, 5};
  TableConfig t;
  t.name = "t2";
  t.rows = {entry("btcv", "Synapse", "btcv", "")};
  t.columns = {entry("swin", "Raw", "", "swin"), entry("ref", "Refined", "", "ref")};
  c.tables = {t};

  const Plan plan = make_plan(c, "runs/r");
  std::map<std::string, const TrialSpec*> by_id;
  std::vector<std::string> order;
  for (const auto& s : plan.trials) {
    for (const auto& src : s.sources)
      EXPECT_TRUE(by_id.count(src.id)) << "source " << src.id << " is not planned before " << s.id;
    by_id[s.id] = &s;
    order.push_back(s.model.name + std::to_string(s.seed));
  }
  // Raw column seeds 0 and 5, then ref seed 0 needs swin seeds 0 (shared) and 1, ref seed 5
  // needs 5 (shared) and 6.
  EXPECT_EQ(order, (std::vector<std::string>{"swin0", "swin5", "swin1", "ref0", "swin6", "ref5"}));
  const TrialSpec& r0 = plan.trials[3];
  ASSERT_EQ(r0.sources.size(), 2u);
  EXPECT_EQ(r0.sources[0].id, plan.trials[0].id);  // the raw column's trial of the same seed
  EXPECT_EQ(r0.sources[1].seed, 1u);
  EXPECT_EQ(r0.sources[1].training.optimizer, "adam");  // sources train with their own settings
  EXPECT_EQ(r0.training.optimizer, "rmsprop");
  EXPECT_EQ(r0.training.loss, "refnet");
  EXPECT_EQ(plan.cells.size(), 4u);

  // The refinement's id follows its sources: another source model gives another trial.
  c.models[0].options["feature_size"] = 24;
  const Plan other = make_plan(c, "runs/r");
  EXPECT_NE(other.trials[3].id, r0.id);
  EXPECT_EQ(other.trials[3].model.name, "ref");
  // ... and the spec with its sources survives the JSON that travels to worker ranks.
  const TrialSpec back = trial_spec_from_json(to_json(r0));
  ASSERT_EQ(back.sources.size(), 2u);
  EXPECT_EQ(trial_id(back), r0.id);
  EXPECT_EQ(back.sources[1].id, r0.sources[1].id);
}

// A one-dataset experiment for the plan tests below: models `stage` (wide_unet, width 1) and
// `later` (init_from: stage); the table shows `later` only.
ExperimentConfig staged_experiment() {
  ExperimentConfig c;
  c.name = "staged";
  DatasetConfig d;
  d.name = "nodules";
  d.kind = "lidc";
  d.root = "data/lidc";
  c.datasets = {d};
  ModelConfig stage = model_config("stage", "wide_unet", {{"width", 1.0}});
  ModelConfig later = model_config("later", "wide_unet", {{"width", 1.0}});
  later.init_from = "stage";
  ModelConfig other = model_config("other", "wide_unet", {{"width", 0.5}});
  c.models = {stage, later, other};
  c.seeds = {0, 4};
  TableConfig t;
  t.name = "t1";
  t.rows = {entry("nodules", "LIDC", "nodules", "")};
  t.columns = {entry("later", "Later", "", "later")};
  c.tables = {t};
  return c;
}

const TrialSpec* planned(const Plan& plan, const std::string& id) {
  for (const auto& s : plan.trials)
    if (s.id == id) return &s;
  return nullptr;
}

TEST(InitFromPlan, TheStageTrialOfTheSameDatasetAndSeedIsPlannedFirstAndPartOfTheId) {
  ExperimentConfig c = staged_experiment();
  const Plan plan = make_plan(c, "runs/s");
  // Two seeds, each: the stage trial, then the later one; only the later ones are cells.
  ASSERT_EQ(plan.trials.size(), 4u);
  ASSERT_EQ(plan.cells.size(), 2u);
  std::vector<std::string> order;
  for (const auto& s : plan.trials) order.push_back(s.model.name + std::to_string(s.seed));
  EXPECT_EQ(order, (std::vector<std::string>{"stage0", "later0", "stage4", "later4"}));
  for (std::size_t k = 0; k < 2; ++k) {
    const TrialSpec& stage = plan.trials[2 * k];
    const TrialSpec& later = plan.trials[2 * k + 1];
    SCOPED_TRACE(later.seed);
    EXPECT_EQ(plan.cells[k].trial_id, later.id);
    ASSERT_EQ(later.init.size(), 1u);
    EXPECT_EQ(later.init[0].id, stage.id);
    EXPECT_EQ(later.init[0].model.name, "stage");
    EXPECT_EQ(later.init[0].seed, later.seed);
    EXPECT_EQ(later.init[0].dataset.name, "nodules");
    EXPECT_TRUE(later.init_checksum.empty());
    EXPECT_TRUE(stage.init.empty());
    // Same options as `stage`, but starting from it: another trial.
    EXPECT_NE(later.id, stage.id);
  }
  EXPECT_NE(plan.trials[0].id, plan.trials[2].id);  // seeds differ

  // The stage's options reach the later trial's id; an unrelated model's do not.
  const std::string later0 = plan.trials[1].id;
  c.models[2].options["width"] = 0.25;
  EXPECT_EQ(make_plan(c, "runs/s").trials[1].id, later0);
  c.models[0].options["width"] = 2.0;
  const Plan changed = make_plan(c, "runs/s");
  EXPECT_NE(changed.trials[0].id, plan.trials[0].id);
  EXPECT_EQ(changed.trials[1].model.name, "later");
  EXPECT_NE(changed.trials[1].id, later0);
  EXPECT_EQ(changed.trials[1].init.at(0).id, changed.trials[0].id);

  // The spec with its stage survives the JSON that travels to worker ranks.
  const TrialSpec back = trial_spec_from_json(to_json(plan.trials[1]));
  ASSERT_EQ(back.init.size(), 1u);
  EXPECT_EQ(back.init[0].id, plan.trials[0].id);
  EXPECT_EQ(trial_id(back), later0);
  // Without the stage the identity is another one.
  TrialSpec bare = plan.trials[1];
  bare.init.clear();
  EXPECT_NE(trial_id(bare), later0);
}

TEST(InitFromPlan, ACheckpointFileEntersTheIdByItsSha256) {
  const fs::path dir = fs::temp_directory_path() / ("orch_init_plan_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string file = (dir / "weights.pt").string();
  std::ofstream(file, std::ios::binary) << "abc";
  ExperimentConfig c = staged_experiment();
  c.models[1].init_from = file;
  const Plan plan = make_plan(c, "runs/s");
  ASSERT_EQ(plan.trials.size(), 2u);  // no stage trial
  const TrialSpec& s = plan.trials[0];
  EXPECT_EQ(s.model.name, "later");
  EXPECT_TRUE(s.init.empty());
  // SHA-256("abc"), FIPS 180-2's example.
  EXPECT_EQ(s.init_checksum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::ofstream(file, std::ios::binary) << "abd";
  const Plan other = make_plan(c, "runs/s");
  EXPECT_NE(other.trials[0].init_checksum, s.init_checksum);
  EXPECT_NE(other.trials[0].id, s.id);
  const TrialSpec back = trial_spec_from_json(to_json(s));
  EXPECT_EQ(back.init_checksum, s.init_checksum);
  EXPECT_EQ(trial_id(back), s.id);
  fs::remove_all(dir);
}

TEST(BaselinePlan, EachCellGetsAnUntrainedTwinUnderTheSuffixedTable) {
  ExperimentConfig c = staged_experiment();
  c.training.epochs = 30;
  c.training.lr = 0.01;
  c.tables[0].columns.push_back(entry("other", "Other", "", "other"));
  c.tables[0].baseline = "untrained";
  const Plan plan = make_plan(c, "runs/b");
  // 2 columns x 2 seeds, each trained and untrained.
  ASSERT_EQ(plan.cells.size(), 8u);
  // (model, seed) -> trial id, of the table's cells and of its baseline's.
  std::map<std::pair<std::string, std::uint64_t>, std::string> trained, untrained;
  for (const auto& cell : plan.cells) {
    EXPECT_EQ(cell.dataset, "nodules");
    if (cell.table == "t1") {
      trained[{cell.model, cell.seed}] = cell.trial_id;
    } else {
      EXPECT_EQ(cell.table, "t1/untrained");
      untrained[{cell.model, cell.seed}] = cell.trial_id;
    }
  }
  ASSERT_EQ(trained.size(), 4u);
  ASSERT_EQ(untrained.size(), 4u);
  for (const auto& [key, id] : trained) {
    SCOPED_TRACE(key.first + " seed " + std::to_string(key.second));
    ASSERT_TRUE(untrained.count(key));
    const std::string& base_id = untrained.at(key);
    EXPECT_NE(base_id, id);
    const TrialSpec* t = planned(plan, id);
    const TrialSpec* b = planned(plan, base_id);
    ASSERT_NE(t, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(t->training.epochs, 30);
    EXPECT_EQ(b->training.epochs, 0);
    // Otherwise the same trial: model, data, seed and the other training keys.
    EXPECT_EQ(b->model.name, t->model.name);
    EXPECT_EQ(b->model.options, t->model.options);
    EXPECT_EQ(b->seed, t->seed);
    EXPECT_EQ(b->dataset.name, t->dataset.name);
    EXPECT_DOUBLE_EQ(b->training.lr, 0.01);
    // Random weights: the untrained `later` does not start from `stage`.
    EXPECT_TRUE(b->init.empty());
  }
  // The trained `later` still starts from `stage`, planned before it.
  const TrialSpec* later0 = planned(plan, trained.at({"later", 0}));
  ASSERT_EQ(later0->init.size(), 1u);
  bool stage_first = false;
  for (const auto& s : plan.trials) {
    if (s.id == later0->init[0].id) stage_first = true;
    if (s.id == later0->id) break;
  }
  EXPECT_TRUE(stage_first);
  // Each trial once: 4 trained, 4 untrained, 2 stages.
  EXPECT_EQ(plan.trials.size(), 10u);
}

}  // namespace
}  // namespace orch
