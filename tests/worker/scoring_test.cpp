// Confusion counts and the metrics derived from them, against counts made by hand.
#include "worker/infer/scoring.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/metrics/aggregate.h"
#include "common/metrics/confusion.h"

namespace orch {
namespace {

// A 3x4x5 volume (nk=3, nj=4, ni=5: 60 voxels), flattened in memory order. Only the flat index
// matters for counting, so the masks are described by index ranges:
//   reference: 0..9 -> 1, 10..14 -> 2, 15..59 -> 0
//   prediction: 3..11 -> 1, 12..15 and 58..59 -> 2, everything else (0..2, 16..57) -> 0
struct ThreeClassVolume {
  static constexpr std::size_t kVoxels = 3 * 4 * 5;
  std::vector<std::uint8_t> reference = std::vector<std::uint8_t>(kVoxels, 0);
  std::vector<std::uint8_t> prediction = std::vector<std::uint8_t>(kVoxels, 0);
  ThreeClassVolume() {
    for (std::size_t v = 0; v <= 9; ++v) reference[v] = 1;
    for (std::size_t v = 10; v <= 14; ++v) reference[v] = 2;
    for (std::size_t v = 3; v <= 11; ++v) prediction[v] = 1;
    for (std::size_t v = 12; v <= 15; ++v) prediction[v] = 2;
    prediction[58] = prediction[59] = 2;
  }
};

void expect_counts(const ConfusionCounts& c, std::int64_t tp, std::int64_t fp, std::int64_t fn,
                   std::int64_t tn) {
  EXPECT_EQ(c.tp, tp);
  EXPECT_EQ(c.fp, fp);
  EXPECT_EQ(c.fn, fn);
  EXPECT_EQ(c.tn, tn);
}

TEST(ConfusionCounts, CountsEveryClassOfAHandMadeVolume) {
  const ThreeClassVolume v;
  const auto counts = confusion_counts(v.prediction.data(), v.reference.data(),
                                       ThreeClassVolume::kVoxels, /*num_classes=*/3);
  ASSERT_EQ(counts.size(), 3u);
  // Class 0: ref {15..59} (45), pred {0,1,2} U {16..57} (45).
  //   TP {16..57} = 42, FP {0,1,2} = 3, FN {15,58,59} = 3, TN {3..14} = 12.
  expect_counts(counts[0], 42, 3, 3, 12);
  // Class 1: ref {0..9}, pred {3..11}. TP {3..9} = 7, FP {10,11} = 2, FN {0,1,2} = 3, TN 48.
  expect_counts(counts[1], 7, 2, 3, 48);
  // Class 2: ref {10..14}, pred {12..15,58,59}. TP {12,13,14} = 3, FP {15,58,59} = 3,
  //   FN {10,11} = 2, TN 60 - 8 = 52.
  expect_counts(counts[2], 3, 3, 2, 52);
}

TEST(ConfusionCounts, MetricsOfTheHandMadeVolumeMatchTheirDefinitions) {
  const ThreeClassVolume v;
  const auto counts =
      confusion_counts(v.prediction.data(), v.reference.data(), ThreeClassVolume::kVoxels, 3);
  // Class 1: TP 7, FP 2, FN 3.
  EXPECT_DOUBLE_EQ(dice(counts[1]), 14.0 / 19.0);
  EXPECT_DOUBLE_EQ(iou(counts[1]), 7.0 / 12.0);
  EXPECT_DOUBLE_EQ(precision(counts[1]), 7.0 / 9.0);
  EXPECT_DOUBLE_EQ(recall(counts[1]), 7.0 / 10.0);
  // Class 2: TP 3, FP 3, FN 2.
  EXPECT_DOUBLE_EQ(dice(counts[2]), 6.0 / 11.0);
  EXPECT_DOUBLE_EQ(iou(counts[2]), 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(precision(counts[2]), 0.5);
  EXPECT_DOUBLE_EQ(recall(counts[2]), 0.6);
  // The case value is the mean over the foreground classes: (14/19 + 6/11) / 2.
  std::vector<CaseClassCounts> rows;
  for (int c = 1; c < 3; ++c) rows.push_back({"case", c, counts[static_cast<std::size_t>(c)]});
  EXPECT_DOUBLE_EQ(case_values(rows, "dsc").at("case"), (14.0 / 19.0 + 6.0 / 11.0) / 2.0);
}

TEST(ConfusionCounts, IgnoresVoxelsWithALabelBeyondNumClasses) {
  // Voxels 1 (reference 5) and 2 (prediction 9) and 4 (both 255) are dropped from every count.
  const std::vector<std::uint8_t> ref = {1, 5, 1, 0, 255, 1};
  const std::vector<std::uint8_t> pred = {1, 1, 9, 0, 255, 0};
  const auto counts = confusion_counts(pred.data(), ref.data(), ref.size(), /*num_classes=*/2);
  ASSERT_EQ(counts.size(), 2u);
  // Remaining voxels 0 (1,1), 3 (0,0), 5 (ref 1, pred 0).
  expect_counts(counts[1], 1, 0, 1, 1);
  expect_counts(counts[0], 1, 1, 0, 1);
}

TEST(ConfusionCounts, ZeroVoxelsGiveZeroCounts) {
  const std::uint8_t none[1] = {0};
  const auto counts = confusion_counts(none, none, 0, 3);
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& c : counts) expect_counts(c, 0, 0, 0, 0);
}

TEST(ConfusionCounts, EmptyReferenceWithAFalseAlarmScoresZeroDiceAndNanRecall) {
  const std::vector<std::uint8_t> ref = {0, 0, 0, 0, 0, 0, 0};
  const std::vector<std::uint8_t> pred = {0, 1, 1, 0, 0, 0, 0};
  const auto c = confusion_counts(pred.data(), ref.data(), ref.size(), 2)[1];
  expect_counts(c, 0, 2, 0, 5);
  EXPECT_EQ(dice(c), 0.0);
  EXPECT_EQ(iou(c), 0.0);
  EXPECT_EQ(precision(c), 0.0);
  EXPECT_TRUE(std::isnan(recall(c)));
}

TEST(ConfusionCounts, EmptyPredictionOfAPresentClassScoresZeroDiceAndNanPrecision) {
  const std::vector<std::uint8_t> ref = {0, 1, 0, 1, 1};
  const std::vector<std::uint8_t> pred = {0, 0, 0, 0, 0};
  const auto c = confusion_counts(pred.data(), ref.data(), ref.size(), 2)[1];
  expect_counts(c, 0, 0, 3, 2);
  EXPECT_EQ(dice(c), 0.0);
  EXPECT_EQ(iou(c), 0.0);
  EXPECT_TRUE(std::isnan(precision(c)));
  EXPECT_EQ(recall(c), 0.0);
}

TEST(ConfusionCounts, ClassAbsentFromBothIsUndefinedForEveryMetric) {
  const std::vector<std::uint8_t> mask = {0, 0, 1, 0};
  const auto counts = confusion_counts(mask.data(), mask.data(), mask.size(), 3);
  expect_counts(counts[2], 0, 0, 0, 4);
  EXPECT_TRUE(std::isnan(dice(counts[2])));
  EXPECT_TRUE(std::isnan(iou(counts[2])));
  EXPECT_TRUE(std::isnan(precision(counts[2])));
  EXPECT_TRUE(std::isnan(recall(counts[2])));
  // The present class is perfect.
  EXPECT_EQ(dice(counts[1]), 1.0);
}

}  // namespace
}  // namespace orch
