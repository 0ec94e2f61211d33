// The shipped experiment files load with orch's real validators (every dataset kind's options,
// split schemes, model options, augmentation strings) under each of their profiles, and plan the
// trials their tables ask for.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/config.h"
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
      for (const auto& t : c.tables) cells += t.rows.size() * t.columns.size() * c.seeds.size();
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
  // 0.772|0.681 (seeds/000, section 3.2).
  EXPECT_DOUBLE_EQ(t->published.at({"brain_mra", "unet2d"}).at("dsc"), 0.745);
  EXPECT_DOUBLE_EQ(t->published.at({"liver_vessel", "unet2d"}).at("iou"), 0.277);
  EXPECT_DOUBLE_EQ(t->published.at({"cardiac_lv", "unet2d"}).at("dsc"), 0.772);
  EXPECT_EQ(c.dataset("brain_mra").kind, "mra");
  EXPECT_EQ(c.dataset("cardiac_lv").kind, "york_cardiac");
}

}  // namespace
}  // namespace orch
