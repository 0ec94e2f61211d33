// The shipped experiment files load with orch's real validators (every dataset kind's options,
// split schemes, model options, augmentation strings) under each of their profiles, and plan the
// trials their tables ask for.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "common/config/config.h"
#include "orchestrator/plan.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

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
      std::size_t cells = 0;
      for (const auto& t : c.tables) {
        std::set<std::pair<std::string, std::string>> sources;
        for (const auto& r : t.rows)
          for (const auto& col : t.columns) sources.insert(t.cell_source(r, col));
        cells += sources.size() * c.seeds.size();
      }
      EXPECT_EQ(plan.cells.size(), cells);
      EXPECT_FALSE(plan.trials.empty());
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
  ModelConfig net{"swin", "swin_unetr", {{"feature_size", 12}}, std::nullopt, "", 1};
  ModelConfig ref{"ref", "refnet", nlohmann::json::object(), c.training, "swin", 2};
  ref.training->optimizer = "rmsprop";
  ref.training->loss = "refnet";
  c.models = {net, ref};
  c.seeds = {0, 5};
  TableConfig t;
  t.name = "t2";
  t.rows = {TableEntry{"btcv", "Synapse", "btcv"}};
  t.columns = {TableEntry{"swin", "Raw", "", "swin"}, TableEntry{"ref", "Refined", "", "ref"}};
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

}  // namespace
}  // namespace orch
