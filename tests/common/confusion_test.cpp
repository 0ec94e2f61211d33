// Metrics derived from confusion counts (common/confusion.h), checked on hand-computed counts,
// including the empty-mask policy.
#include "common/confusion.h"

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
  EXPECT_DOUBLE_EQ(metric_from_counts("dsc", c), 12.0 / 18.0);
  EXPECT_DOUBLE_EQ(metric_from_counts("iou", c), 0.5);
  EXPECT_DOUBLE_EQ(metric_from_counts("precision", c), 0.75);
  EXPECT_DOUBLE_EQ(metric_from_counts("recall", c), 0.6);
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
  EXPECT_THROW(metric_from_counts("hd95", ConfusionCounts{1, 1, 1, 1}), std::invalid_argument);
  EXPECT_THROW(metric_from_counts("DSC", ConfusionCounts{1, 1, 1, 1}), std::invalid_argument);
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

// --- hashing -----------------------------------------------------------------------------------

}  // namespace
}  // namespace orch
