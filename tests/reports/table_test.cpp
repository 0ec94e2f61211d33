// build_table and pooled_value (reports/table.h) on a real results store: pooled (micro)
// aggregation, the paper's claim check (`expect:`) and the untrained baseline. Every expected
// value is worked out by hand in the comments from the confusion counts written here.
#include "reports/table.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "datastore/store/results_store.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

// Three cases; per class (tp, fp, fn, tn):
//            class 0 (bg)        class 1        class 2
//   case a   (100, 1, 1, 10)     (8, 2, 0, 90)  (3, 1, 1, 95)
//   case b   (100, 1, 1, 10)     (1, 0, 9, 90)  (0, 0, 2, 98)
//   case c   (100, 1, 1, 10)     (0, 3, 1, 96)  (5, 0, 0, 95)
// Per-case DSC = 2TP / (2TP + FP + FN):
//   class 1: a 16/18 = 8/9, b 2/11, c 0/4 = 0   -> mean (8/9 + 2/11 + 0) / 3 = (88 + 18) / 297
//                                                  = 106/297
//   class 2: a 6/8 = 3/4,  b 0/2 = 0, c 10/10 = 1 -> mean (3/4 + 0 + 1) / 3 = 7/12
// Pooled (sums over the cases):
//   class 0: TP 300, FP 3, FN 3   -> 600 / 606 = 100/101
//   class 1: TP 9, FP 5, FN 10    -> 18 / 33 = 6/11
//   class 2: TP 8, FP 1, FN 3     -> 16 / 20 = 4/5
std::vector<CaseClassCounts> three_cases() {
  return {
      {"a", 0, {100, 1, 1, 10}}, {"a", 1, {8, 2, 0, 90}}, {"a", 2, {3, 1, 1, 95}},
      {"b", 0, {100, 1, 1, 10}}, {"b", 1, {1, 0, 9, 90}}, {"b", 2, {0, 0, 2, 98}},
      {"c", 0, {100, 1, 1, 10}}, {"c", 1, {0, 3, 1, 96}}, {"c", 2, {5, 0, 0, 95}},
  };
}

TableEntry class_row(int index, const std::string& key) {
  TableEntry e;
  e.key = e.label = key;
  e.class_index = index;
  return e;
}

TableEntry average_row(const std::string& average) {
  TableEntry e;
  e.key = e.label = "average";
  e.average = average;
  return e;
}

TEST(PooledValue, IsTheMetricOfTheSummedCountsNotTheMeanOfTheCases) {
  const auto counts = three_cases();
  const double pooled = pooled_value(counts, class_row(1, "c1"), "dsc");
  EXPECT_NEAR(pooled, 18.0 / 33.0, 1e-12);  // 2*9 / (2*9 + 5 + 10)
  // The mean of the per-case values is another number: 106/297 = 0.357 vs 0.545.
  EXPECT_GT(std::abs(pooled - 106.0 / 297.0), 0.1);
  EXPECT_NEAR(pooled_value(counts, class_row(1, "c1"), "iou"), 9.0 / 24.0, 1e-12);  // 9/(9+5+10)
  EXPECT_NEAR(pooled_value(counts, class_row(2, "c2"), "dsc"), 0.8, 1e-12);
  EXPECT_NEAR(pooled_value(counts, class_row(0, "bg"), "dsc"), 600.0 / 606.0, 1e-12);
}

TEST(PooledValue, SelectsTheRowsClassesAndAveragesOverThem) {
  const auto counts = three_cases();
  // A row without a class (a dataset row): the foreground classes 1 and 2.
  TableEntry dataset_row;
  dataset_row.key = "d";
  dataset_row.dataset = "d";
  EXPECT_NEAR(pooled_value(counts, dataset_row, "dsc"), (18.0 / 33.0 + 0.8) / 2, 1e-12);
  EXPECT_NEAR(pooled_value(counts, average_row("foreground"), "dsc"), (18.0 / 33.0 + 0.8) / 2,
              1e-12);
  // average: all takes the background too.
  EXPECT_NEAR(pooled_value(counts, average_row("all"), "dsc"),
              (600.0 / 606.0 + 18.0 / 33.0 + 0.8) / 3, 1e-12);
  // A class no case holds: nothing selected.
  EXPECT_TRUE(std::isnan(pooled_value(counts, class_row(3, "c3"), "dsc")));
  EXPECT_TRUE(std::isnan(pooled_value({}, dataset_row, "dsc")));
}

// A results store in a temporary folder with done trials and the experiment's table cells.
class TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("orch_table_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::make_unique<ResultStore>((dir_ / "results.sqlite").string());
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Trial `id` of `model` on dataset "d", planned in table `table` for `seed`; done with
  // `counts` unless `counts` is null (then it stays pending).
  void trial(const std::string& table, const std::string& model, std::uint64_t seed,
             const std::string& id, const std::vector<CaseClassCounts>* counts) {
    TrialRecord t;
    t.id = id;
    t.experiment = "exp";
    t.model = model;
    t.dataset = "d";
    t.seed = seed;
    t.spec = nlohmann::json{{"id", id}};
    store_->add_trial(t);
    if (counts) {
      store_->mark_running(id, 1);
      store_->record_done(id, *counts, {}, nlohmann::json::object(), 0);
    }
    cells_.push_back({"exp", table, "d", model, seed, id});
  }

  Table build(const TableConfig& config) {
    store_->replace_table_cells("exp", cells_);
    return build_table(*store_, "exp", config);
  }

  // A table of the class rows 1 and 2 (keys c1, c2) and their foreground Average, one column per
  // model, metric dsc.
  static TableConfig class_table(const std::string& name, const std::vector<std::string>& models) {
    TableConfig t;
    t.name = name;
    t.dataset = "d";
    t.rows = {class_row(1, "c1"), class_row(2, "c2"), average_row("foreground")};
    for (const auto& m : models) {
      TableEntry c;
      c.key = c.label = c.model = m;
      t.columns.push_back(c);
    }
    t.metrics = {"dsc"};
    return t;
  }

  static const MetricCell& cell(const Table& t, std::size_t row, std::size_t col) {
    return t.rows.at(row).cells.at(col).metrics.at(0);
  }

  static bool has_note(const Table& t, const std::string& part) {
    for (const auto& n : t.notes)
      if (n.find(part) != std::string::npos) return true;
    return false;
  }

  fs::path dir_;
  std::unique_ptr<ResultStore> store_;
  std::vector<TableCellRecord> cells_;
};

TEST_F(TableTest, PooledCellsHoldOneValuePerSeedAndMeanCellsOnePerCase) {
  const auto counts = three_cases();
  trial("t", "m", 0, "trial_0", &counts);
  TableConfig cfg = class_table("t", {"m"});
  cfg.aggregate = "pooled";
  const Table pooled = build(cfg);
  ASSERT_EQ(pooled.rows.size(), 3u);
  EXPECT_EQ(cell(pooled, 0, 0).cases.size(), 1u);
  EXPECT_NEAR(cell(pooled, 0, 0).cases.at("0/pooled"), 18.0 / 33.0, 1e-12);
  EXPECT_NEAR(cell(pooled, 0, 0).summary.mean, 18.0 / 33.0, 1e-12);
  EXPECT_NEAR(cell(pooled, 1, 0).summary.mean, 0.8, 1e-12);
  EXPECT_NEAR(cell(pooled, 2, 0).summary.mean, (18.0 / 33.0 + 0.8) / 2, 1e-12);

  cfg.aggregate = "mean";
  const Table mean = build(cfg);
  EXPECT_EQ(cell(mean, 0, 0).cases.size(), 3u);
  EXPECT_NEAR(cell(mean, 0, 0).cases.at("0/a"), 8.0 / 9.0, 1e-12);
  EXPECT_NEAR(cell(mean, 0, 0).summary.mean, 106.0 / 297.0, 1e-12);
  EXPECT_NEAR(cell(mean, 1, 0).summary.mean, 7.0 / 12.0, 1e-12);
}

TEST_F(TableTest, PooledOverTwoSeedsIsTheMeanOfTheSeedsPooledValues) {
  const auto counts = three_cases();
  // Seed 5: one case, class 1 (1, 1, 0): DSC 2/3; class 2 absent.
  const std::vector<CaseClassCounts> other = {{"a", 1, {1, 1, 0, 98}}};
  trial("t", "m", 0, "trial_0", &counts);
  trial("t", "m", 5, "trial_5", &other);
  TableConfig cfg = class_table("t", {"m"});
  cfg.aggregate = "pooled";
  const Table t = build(cfg);
  const MetricCell& c1 = cell(t, 0, 0);
  ASSERT_EQ(c1.cases.size(), 2u);
  EXPECT_NEAR(c1.cases.at("5/pooled"), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(c1.summary.mean, (18.0 / 33.0 + 2.0 / 3.0) / 2, 1e-12);
  EXPECT_EQ(c1.seeds, 2u);
  // Class 2 only in seed 0.
  EXPECT_EQ(cell(t, 1, 0).cases.size(), 1u);
  EXPECT_NEAR(cell(t, 1, 0).summary.mean, 0.8, 1e-12);
}

// The claim check on class rows (resunet_btcv's layout): class 2's mean DSC 7/12 = 0.583 is
// above class 1's 106/297 = 0.357.
TEST_F(TableTest, ExpectationOnClassRowsAgreesWhenTheAboveRowsScoreHigher) {
  const auto counts = three_cases();
  trial("t", "m", 0, "trial_0", &counts);
  TableConfig cfg = class_table("t", {"m"});
  cfg.expect = TableConfig::Expectation{"class 2 is easier", {"c2"}, {"c1"}, "dsc"};
  const Table t = build(cfg);
  EXPECT_TRUE(t.expectation.evaluated);
  EXPECT_TRUE(t.expectation.agrees);
  EXPECT_TRUE(has_note(t, "The paper's claim: class 2 is easier. orch agrees"));
}

TEST_F(TableTest, ExpectationOnClassRowsDisagreesWhenTheyDoNot) {
  const auto counts = three_cases();
  trial("t", "m", 0, "trial_0", &counts);
  TableConfig cfg = class_table("t", {"m"});
  cfg.expect = TableConfig::Expectation{"class 1 is easier", {"c1"}, {"c2"}, "dsc"};
  const Table t = build(cfg);
  EXPECT_TRUE(t.expectation.evaluated);
  EXPECT_FALSE(t.expectation.agrees);
  EXPECT_TRUE(has_note(t, "The paper's claim: class 1 is easier. orch does not agree"));
  // With pooled values the order is the same (class 2 0.8 > class 1 0.545): still disagrees.
  cfg.aggregate = "pooled";
  EXPECT_FALSE(build(cfg).expectation.agrees);
}

TEST_F(TableTest, ExpectationWithAMissingCellIsNotEvaluated) {
  const auto counts = three_cases();
  trial("t", "m", 0, "trial_0", &counts);
  trial("t", "n", 0, "trial_n", nullptr);  // planned, still pending
  TableConfig cfg = class_table("t", {"m", "n"});
  cfg.expect = TableConfig::Expectation{"class 2 is easier", {"c2"}, {"c1"}, "dsc"};
  const Table t = build(cfg);
  EXPECT_FALSE(t.expectation.evaluated);
  EXPECT_FALSE(t.expectation.agrees);
  EXPECT_TRUE(has_note(t, "orch cannot check it yet (cells missing)"));
}

// Two models on one case each, class 1 only: m1 (5, 5, 0) DSC 10/15 = 2/3, recall 1, precision
// 1/2; m2 (9, 1, 0) DSC 18/19, recall 1, precision 9/10.
class ExpectationLayoutTest : public TableTest {
 protected:
  void SetUp() override {
    TableTest::SetUp();
    trial("t", "m1", 0, "trial_m1", &m1_);
    trial("t", "m2", 0, "trial_m2", &m2_);
  }
  static TableEntry entry(const std::string& key, const std::string& model,
                          const std::string& metric) {
    TableEntry e;
    e.key = e.label = key;
    e.model = model;
    e.metric = metric;
    return e;
  }
  const std::vector<CaseClassCounts> m1_ = {{"a", 1, {5, 5, 0, 90}}};
  const std::vector<CaseClassCounts> m2_ = {{"a", 1, {9, 1, 0, 90}}};
};

// The check itself, on the simplest layout: one row, the models as columns.
TEST_F(ExpectationLayoutTest, ModelColumnsOfOneMetricAreCompared) {
  TableConfig cfg;
  cfg.name = "t";
  cfg.dataset = "d";
  cfg.rows = {entry("dsc", "", "dsc")};
  cfg.columns = {entry("m1", "m1", ""), entry("m2", "m2", "")};
  cfg.expect = TableConfig::Expectation{"m2 wins", {"m2"}, {"m1"}, "dsc"};
  const Table t = build(cfg);
  EXPECT_NEAR(t.rows.at(0).cells.at(1).metrics.at(0).summary.mean, 18.0 / 19.0, 1e-12);
  EXPECT_TRUE(t.expectation.evaluated);
  EXPECT_TRUE(t.expectation.agrees);
}

// rbcbam_table1's layout: rows are metrics (dsc, recall, precision), columns models, and the
// claim is about DSC. Every cell is done, so the claim can be checked: m2's DSC 0.947 is above
// m1's 0.667.
TEST_F(ExpectationLayoutTest, MetricRowsWithModelColumnsCheckTheClaimsMetricRow) {
  TableConfig cfg;
  cfg.name = "t";
  cfg.dataset = "d";
  cfg.rows = {entry("dsc", "", "dsc"), entry("recall", "", "recall"),
              entry("precision", "", "precision")};
  cfg.columns = {entry("m1", "m1", ""), entry("m2", "m2", "")};
  cfg.expect = TableConfig::Expectation{"m2 wins", {"m2"}, {"m1"}, "dsc"};
  const Table t = build(cfg);
  EXPECT_TRUE(t.expectation.evaluated) << t.expectation.detail;
  EXPECT_TRUE(t.expectation.agrees) << t.expectation.detail;
  EXPECT_FALSE(has_note(t, "cannot check it yet"));
}

// ms_table2's layout: rows are (model, dataset) keys, columns metrics (dsc, iou); the claim is
// about DSC. m2's DSC is above m1's.
TEST_F(ExpectationLayoutTest, ModelRowsWithMetricColumnsCheckTheClaimsMetricColumn) {
  TableConfig cfg;
  cfg.name = "t";
  cfg.dataset = "d";
  cfg.rows = {entry("k1", "m1", ""), entry("k2", "m2", "")};
  cfg.columns = {entry("dsc", "", "dsc"), entry("iou", "", "iou")};
  cfg.expect = TableConfig::Expectation{"k2 wins", {"k2"}, {"k1"}, "dsc"};
  const Table t = build(cfg);
  EXPECT_TRUE(t.expectation.evaluated) << t.expectation.detail;
  EXPECT_TRUE(t.expectation.agrees) << t.expectation.detail;
}

// The default metrics [dsc, iou] as sub-rows, models as columns, a claim about IoU: m2's IoU
// 9/10 is above m1's 5/10.
TEST_F(ExpectationLayoutTest, SubRowsOfSeveralMetricsCheckTheClaimsMetric) {
  TableConfig cfg;
  cfg.name = "t";
  cfg.dataset = "d";
  TableEntry row;
  row.key = row.label = row.dataset = "d";
  cfg.rows = {row};
  cfg.columns = {entry("m1", "m1", ""), entry("m2", "m2", "")};
  cfg.expect = TableConfig::Expectation{"m2 wins", {"m2"}, {"m1"}, "iou"};
  const Table t = build(cfg);
  ASSERT_EQ(t.rows.size(), 2u);  // one sub-row per metric
  EXPECT_TRUE(t.expectation.evaluated) << t.expectation.detail;
  EXPECT_TRUE(t.expectation.agrees) << t.expectation.detail;
}

// `baseline: untrained`: the epochs-0 trials are stored under "t/untrained". Trained: the three
// cases of class 1 above on a dataset row: mean 106/297. Untrained, class 1: seed 0 cases
// u1 (1, 9, 0) -> 2/11 and u2 (0, 5, 5) -> 0; seed 1 case u1 (2, 2, 0) -> 4/6 = 2/3. Mean over
// the untrained cases: (2/11 + 0 + 2/3) / 3 = (6 + 22) / 99 = 28/99.
class BaselineTest : public TableTest {
 protected:
  void SetUp() override {
    TableTest::SetUp();
    trial("t", "m", 0, "trained_0", &trained_);
    trial("t/untrained", "m", 0, "untrained_0", &u0_);
    trial("t/untrained", "m", 1, "untrained_1", &u1_);
    trial("t/untrained", "m", 2, "untrained_2", nullptr);  // pending: not counted
    trial("other/untrained", "m", 3, "other_3", &other_);  // another table's baseline
  }
  static TableConfig table() {
    TableConfig t;
    t.name = "t";
    TableEntry row;
    row.key = "d";
    row.label = "D";
    row.dataset = "d";
    TableEntry col;
    col.key = "m";
    col.label = "M";
    col.model = "m";
    t.rows = {row};
    t.columns = {col};
    t.metrics = {"dsc"};
    t.baseline = "untrained";
    return t;
  }
  const std::vector<CaseClassCounts> trained_ = {
      {"a", 1, {8, 2, 0, 90}}, {"b", 1, {1, 0, 9, 90}}, {"c", 1, {0, 3, 1, 96}}};
  const std::vector<CaseClassCounts> u0_ = {{"u1", 1, {1, 9, 0, 90}}, {"u2", 1, {0, 5, 5, 90}}};
  const std::vector<CaseClassCounts> u1_ = {{"u1", 1, {2, 2, 0, 96}}};
  const std::vector<CaseClassCounts> other_ = {{"u1", 1, {50, 0, 0, 50}}};  // DSC 1
};

TEST_F(BaselineTest, TheUntrainedValueIsTheMeanOfTheBaselineTrialsCases) {
  const Table t = build(table());
  const TableCell& c = t.rows.at(0).cells.at(0);
  EXPECT_EQ(c.planned, 1);  // baseline cells are not the cell's trials
  EXPECT_EQ(c.trials, std::vector<std::string>{"trained_0"});
  const MetricCell& m = c.metrics.at(0);
  EXPECT_EQ(m.cases.size(), 3u);
  EXPECT_NEAR(m.summary.mean, 106.0 / 297.0, 1e-12);  // (8/9 + 2/11 + 0) / 3
  EXPECT_NEAR(m.untrained, 28.0 / 99.0, 1e-12);
  // 28/99 = 84/297 = 0.2828, 106/297 = 0.3569, difference 22/297 = 0.0741.
  EXPECT_TRUE(has_note(t, "D / M: DSC 0.283 untrained, 0.357 trained (+0.074)"));
}

TEST_F(BaselineTest, PooledBaselineIsTheMeanOfTheSeedsPooledValues) {
  TableConfig cfg = table();
  cfg.aggregate = "pooled";
  const Table t = build(cfg);
  const MetricCell& m = t.rows.at(0).cells.at(0).metrics.at(0);
  // Trained: TP 9, FP 5, FN 10 -> 18/33. Untrained seed 0: TP 1, FP 14, FN 5 -> 2/21; seed 1:
  // 4/6 = 2/3; mean (2/21 + 14/21) / 2 = 8/21.
  EXPECT_NEAR(m.summary.mean, 18.0 / 33.0, 1e-12);
  EXPECT_NEAR(m.untrained, 8.0 / 21.0, 1e-12);
}

TEST_F(BaselineTest, WithoutBaselineCellsTheUntrainedValueIsNaN) {
  TableConfig cfg = table();
  cfg.name = "third";  // no "third/untrained" cells; its own trained cell is the same trial
  cells_.push_back({"exp", "third", "d", "m", 0, "trained_0"});
  const Table t = build(cfg);
  const MetricCell& m = t.rows.at(0).cells.at(0).metrics.at(0);
  EXPECT_NEAR(m.summary.mean, 106.0 / 297.0, 1e-12);
  EXPECT_TRUE(std::isnan(m.untrained));
  EXPECT_TRUE(has_note(t, "(no baseline)"));
}

}  // namespace
}  // namespace orch
