// The metric vocabulary (common/metrics/), checked on hand-computed counts, including the
// empty-mask policy and the aggregation over classes and cases.
#include "common/metrics/aggregate.h"
#include "common/metrics/metric.h"
#include "common/status.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace orch {
namespace {
TEST(ConfusionTest, MetricsFromHandComputedCounts) {
  const ConfusionCounts c{6, 2, 4, 100};   // tp, fp, fn, tn
  EXPECT_DOUBLE_EQ(dice(c), 12.0 / 18.0);  // 2*6 / (12 + 2 + 4)
  EXPECT_DOUBLE_EQ(iou(c), 0.5);           // 6 / (6 + 2 + 4)
  EXPECT_DOUBLE_EQ(precision(c), 0.75);    // 6 / 8
  EXPECT_DOUBLE_EQ(recall(c), 0.6);        // 6 / 10
  EXPECT_DOUBLE_EQ(case_class_metric(CaseClassCounts{"case", 1, c}, "dsc"), 12.0 / 18.0);
  EXPECT_DOUBLE_EQ(case_class_metric(CaseClassCounts{"case", 1, c}, "iou"), 0.5);
  EXPECT_DOUBLE_EQ(case_class_metric(CaseClassCounts{"case", 1, c}, "precision"), 0.75);
  EXPECT_DOUBLE_EQ(case_class_metric(CaseClassCounts{"case", 1, c}, "recall"), 0.6);
}

TEST(ConfusionTest, TrueNegativesDoNotAffectAnyMetric) {
  const ConfusionCounts few{3, 1, 2, 0}, many{3, 1, 2, 1000000};
  EXPECT_DOUBLE_EQ(dice(few), dice(many));
  EXPECT_DOUBLE_EQ(iou(few), iou(many));
  EXPECT_DOUBLE_EQ(precision(few), precision(many));
  EXPECT_DOUBLE_EQ(recall(few), recall(many));
}

TEST(ConfusionTest, PerfectPredictionScoresOne) {
  const ConfusionCounts c{7, 0, 0, 9};
  EXPECT_DOUBLE_EQ(dice(c), 1.0);
  EXPECT_DOUBLE_EQ(iou(c), 1.0);
  EXPECT_DOUBLE_EQ(precision(c), 1.0);
  EXPECT_DOUBLE_EQ(recall(c), 1.0);
}

TEST(ConfusionTest, BothMasksEmptyMakesEveryMetricNaN) {
  const ConfusionCounts c{0, 0, 0, 50};
  EXPECT_TRUE(std::isnan(dice(c)));
  EXPECT_TRUE(std::isnan(iou(c)));
  EXPECT_TRUE(std::isnan(precision(c)));
  EXPECT_TRUE(std::isnan(recall(c)));
}

TEST(ConfusionTest, FalseAlarmOnEmptyReferenceScoresZeroDiceAndNaNRecall) {
  const ConfusionCounts c{0, 5, 0, 50};
  EXPECT_EQ(dice(c), 0.0);
  EXPECT_EQ(iou(c), 0.0);
  EXPECT_EQ(precision(c), 0.0);
  EXPECT_TRUE(std::isnan(recall(c)));
}

TEST(ConfusionTest, EmptyPredictionOfNonEmptyReferenceScoresZeroDiceAndNaNPrecision) {
  const ConfusionCounts c{0, 0, 3, 50};
  EXPECT_EQ(dice(c), 0.0);
  EXPECT_EQ(iou(c), 0.0);
  EXPECT_TRUE(std::isnan(precision(c)));
  EXPECT_EQ(recall(c), 0.0);
}

TEST(ConfusionTest, UnknownMetricNameThrows) {
  const CaseClassCounts c{"case", 1, ConfusionCounts{1, 1, 1, 1}};
  EXPECT_THROW(case_class_metric(c, "DSC"), Error);
  EXPECT_THROW(case_class_metric(c, "hausdorff"), Error);
}

TEST(ConfusionTest, LargeCountsDoNotOverflow) {
  const std::int64_t big = std::int64_t{1} << 40;
  const ConfusionCounts c{big, big, big, 0};
  EXPECT_DOUBLE_EQ(dice(c), 0.5);  // 2b / 4b
  EXPECT_DOUBLE_EQ(iou(c), 1.0 / 3.0);
}

TEST(MeanStdTest, UsesTheSampleStandardDeviation) {
  const MeanStd r = mean_std({1, 2, 3, 4});
  EXPECT_EQ(r.n, 4u);
  EXPECT_DOUBLE_EQ(r.mean, 2.5);
  // Squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n - 1 = 3.
  EXPECT_DOUBLE_EQ(r.std, std::sqrt(5.0 / 3.0));
}

TEST(MeanStdTest, SkipsNaNAndInfiniteValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const MeanStd r = mean_std({nan, 1, 2, nan, 3, 4, inf});
  EXPECT_EQ(r.n, 4u);
  EXPECT_DOUBLE_EQ(r.mean, 2.5);
  EXPECT_DOUBLE_EQ(r.std, std::sqrt(5.0 / 3.0));
}

TEST(MeanStdTest, NoFiniteValuesGivesNaN) {
  for (const auto& values :
       {std::vector<double>{}, std::vector<double>{std::numeric_limits<double>::quiet_NaN()}}) {
    const MeanStd r = mean_std(values);
    EXPECT_EQ(r.n, 0u);
    EXPECT_TRUE(std::isnan(r.mean));
    EXPECT_TRUE(std::isnan(r.std));
  }
}

TEST(MeanStdTest, SingleValueHasZeroSpread) {
  const MeanStd r = mean_std({std::numeric_limits<double>::quiet_NaN(), 0.7});
  EXPECT_EQ(r.n, 1u);
  EXPECT_DOUBLE_EQ(r.mean, 0.7);
  EXPECT_EQ(r.std, 0.0);
}

// --- aggregation over classes and cases ----------------------------------------------------

TEST(CaseValues, SkipClassesWhoseMetricIsUndefined) {
  // Class 1 absent from both (NaN), class 2 has DSC 2*1/(2+1+1) = 0.5, class 3 is a false alarm
  // (DSC 0).
  const std::vector<CaseClassCounts> rows = {
      {"a", 1, {0, 0, 0, 10}}, {"a", 2, {1, 1, 1, 7}}, {"a", 3, {0, 4, 0, 6}}};
  EXPECT_DOUBLE_EQ(case_values(rows, "dsc").at("a"), 0.25);
}

TEST(CaseValues, AreNanWhenEveryClassIsUndefined) {
  const std::vector<CaseClassCounts> rows = {{"a", 1, {0, 0, 0, 5}}, {"a", 2, {0, 0, 0, 5}}};
  EXPECT_TRUE(std::isnan(case_values(rows, "dsc").at("a")));
}

TEST(CaseValues, AreInfiniteWhenAnyClassHasAnInfiniteSurfaceDistance) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<CaseClassCounts> rows = {{"a", 1, {5, 0, 0, 5}}, {"a", 2, {0, 3, 0, 5}}};
  rows[0].hd95 = 2.0;
  rows[1].hd95 = inf;  // a false alarm: no reference surface
  EXPECT_TRUE(std::isinf(case_values(rows, "hd95").at("a")));
  rows[1].hd95 = 4.0;
  EXPECT_DOUBLE_EQ(case_values(rows, "hd95").at("a"), 3.0);
}

TEST(SummarizeCounts, MeansCaseValuesAndCountsInfiniteCasesApart) {
  const double inf = std::numeric_limits<double>::infinity();
  // Case a: DSC 1 (class 1), case b: DSC 2*1/(2+1+1) = 0.5; mean 0.75.
  std::vector<CaseClassCounts> rows = {{"a", 1, {4, 0, 0, 4}}, {"b", 1, {1, 1, 1, 5}}};
  rows[0].hd95 = 0.0;
  rows[1].hd95 = inf;
  const auto s = summarize_counts(rows);
  EXPECT_DOUBLE_EQ(s.at("dsc").get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(s.at("hd95").get<double>(), 0.0);  // the finite case only
  EXPECT_EQ(s.at("hd95_inf_cases").get<int>(), 1);
  EXPECT_FALSE(s.contains("dsc_inf_cases"));
  EXPECT_TRUE(s.at("assd").is_null());  // never computed: NaN in every case
}

TEST(MetricRegistry, HoldsEveryMetricTheStoreKeeps) {
  EXPECT_EQ(metric_names(),
            (std::vector<std::string>{"dsc", "iou", "precision", "recall", "hd95", "assd", "nsd",
                                      "dsc_slice", "dsc_slice_nonempty"}));
  EXPECT_EQ(find_metric("DSC"), nullptr);
  EXPECT_FALSE(metric("hd95").higher_is_better);
  EXPECT_TRUE(metric("nsd").higher_is_better);
  EXPECT_TRUE(metric("dsc_slice").higher_is_better);
  EXPECT_TRUE(metric("dsc_slice_nonempty").higher_is_better);
}

TEST(MetricRegistry, SliceDiceMetricsReadTheirFieldsNotTheVolumeCounts) {
  // Volume counts with DSC 2*6/(12+2+4) = 2/3; the slice means are their own quantities.
  CaseClassCounts c{"case", 1, {6, 2, 4, 100}};
  EXPECT_TRUE(std::isnan(case_class_metric(c, "dsc_slice")));  // not computed
  EXPECT_TRUE(std::isnan(case_class_metric(c, "dsc_slice_nonempty")));
  c.dsc_slice = 0.5;
  c.dsc_slice_nonempty = 0.75;
  EXPECT_EQ(case_class_metric(c, "dsc_slice"), 0.5);
  EXPECT_EQ(case_class_metric(c, "dsc_slice_nonempty"), 0.75);
  EXPECT_DOUBLE_EQ(case_class_metric(c, "dsc"), 2.0 / 3.0);
}

TEST(SummarizeCounts, AveragesTheSliceDiceOverClassesThenCases) {
  // Case a: class 1 with dsc_slice 0.2, class 2 absent from both masks (every slice empty-empty:
  // dsc_slice 0, dsc_slice_nonempty NaN); case b: class 1 with 0.8.
  // dsc_slice: a = (0.2 + 0) / 2 = 0.1, b = 0.8; mean 0.45.
  // dsc_slice_nonempty: a = 0.5 (the NaN class skipped), b = 0.9; mean 0.7.
  std::vector<CaseClassCounts> rows = {
      {"a", 1, {1, 0, 0, 9}}, {"a", 2, {0, 0, 0, 10}}, {"b", 1, {2, 0, 0, 8}}};
  rows[0].dsc_slice = 0.2;
  rows[0].dsc_slice_nonempty = 0.5;
  rows[1].dsc_slice = 0.0;
  rows[2].dsc_slice = 0.8;
  rows[2].dsc_slice_nonempty = 0.9;
  const auto s = summarize_counts(rows);
  EXPECT_DOUBLE_EQ(s.at("dsc_slice").get<double>(), 0.45);
  EXPECT_DOUBLE_EQ(s.at("dsc_slice_nonempty").get<double>(), 0.7);
}

}  // namespace
}  // namespace orch
