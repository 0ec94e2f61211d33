// Confusion counts and the metrics derived from them, against counts made by hand.
#include "worker/infer/scoring.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/metrics/aggregate.h"
#include "common/metrics/confusion.h"
#include "common/status.h"

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

// --- per-slice Dice --------------------------------------------------------------------------

// A 3x3x3 volume (ni = nj = nk = 3), flat index i + 3j + 9k, so axial slice k holds the indices
// 9k..9k+8. Drawn by hand, per slice (every other voxel 0 in both maps):
//   k=0 (0..8):   reference 0..3 -> 1;        prediction 0..3 -> 1, 8 -> 2 (a false alarm)
//   k=1 (9..17):  reference 9,10 -> 1;        prediction 10,11 -> 1
//   k=2 (18..26): reference 18 -> 2;          prediction 18,19 -> 2
struct SlicedVolume {
  std::vector<std::uint8_t> reference = std::vector<std::uint8_t>(27, 0);
  std::vector<std::uint8_t> prediction = std::vector<std::uint8_t>(27, 0);
  SlicedVolume() {
    for (std::size_t v : {0, 1, 2, 3, 9, 10}) reference[v] = 1;
    reference[18] = 2;
    for (std::size_t v : {0, 1, 2, 3, 10, 11}) prediction[v] = 1;
    for (std::size_t v : {8, 18, 19}) prediction[v] = 2;
  }
};

TEST(SliceDice, ScorePredictionAveragesTheAxialSlicesOfAHandDrawnVolume) {
  const SlicedVolume v;
  const auto rows = score_prediction("c", v.prediction.data(), v.reference.data(), {3, 3, 3},
                                     {1.0, 1.0, 1.0}, /*num_classes=*/4, 1.0,
                                     /*background=*/true);
  ASSERT_EQ(rows.size(), 4u);  // classes 0, 1, 2, 3
  // Class 1, per slice (TP, FP, FN):
  //   k=0: TP {0,1,2,3} = 4, FP 0, FN 0          -> 8/8 = 1
  //   k=1: TP {10} = 1, FP {11} = 1, FN {9} = 1  -> 2/4 = 0.5
  //   k=2: nothing in either map                 -> empty-empty
  EXPECT_EQ(rows[1].label, 1);
  EXPECT_DOUBLE_EQ(rows[1].dsc_slice, (1.0 + 0.5 + 0.0) / 3.0);
  EXPECT_DOUBLE_EQ(rows[1].dsc_slice_nonempty, (1.0 + 0.5) / 2.0);
  // ... unlike the volume Dice: TP 5, FP 1, FN 1 -> 10/12.
  EXPECT_DOUBLE_EQ(dice(rows[1].counts), 10.0 / 12.0);
  // Class 2:
  //   k=0: TP 0, FP {8} = 1, FN 0                -> 0/1 = 0 (a non-empty slice)
  //   k=1: nothing                               -> empty-empty
  //   k=2: TP {18} = 1, FP {19} = 1, FN 0        -> 2/3
  EXPECT_DOUBLE_EQ(rows[2].dsc_slice, (0.0 + 0.0 + 2.0 / 3.0) / 3.0);
  EXPECT_DOUBLE_EQ(rows[2].dsc_slice_nonempty, (0.0 + 2.0 / 3.0) / 2.0);
  // Class 3 is in neither map: every slice is empty-empty.
  EXPECT_EQ(rows[3].dsc_slice, 0.0);
  EXPECT_TRUE(std::isnan(rows[3].dsc_slice_nonempty));
  // Class 0 (background), 9 voxels a slice:
  //   k=0: reference {4..8} (5), prediction {4..7} (4), TP 4     -> 8/9
  //   k=1: reference {11..17} (7), prediction {9,12..17} (7), TP 6 -> 12/14
  //   k=2: reference {19..26} (8), prediction {20..26} (7), TP 7   -> 14/15
  EXPECT_EQ(rows[0].label, 0);
  const double background = (8.0 / 9.0 + 12.0 / 14.0 + 14.0 / 15.0) / 3.0;
  EXPECT_DOUBLE_EQ(rows[0].dsc_slice, background);
  EXPECT_DOUBLE_EQ(rows[0].dsc_slice_nonempty, background);
  // The registry's metrics read these fields.
  EXPECT_DOUBLE_EQ(case_class_metric(rows[1], "dsc_slice"), 0.5);
  EXPECT_DOUBLE_EQ(case_class_metric(rows[1], "dsc_slice_nonempty"), 0.75);
}

TEST(SliceDice, WithoutBackgroundTheForegroundRowsCarryTheSameSliceDice) {
  const SlicedVolume v;
  const auto rows = score_prediction("c", v.prediction.data(), v.reference.data(), {3, 3, 3},
                                     {1.0, 1.0, 1.0}, /*num_classes=*/3);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].label, 1);
  EXPECT_DOUBLE_EQ(rows[0].dsc_slice, 0.5);
  EXPECT_DOUBLE_EQ(rows[1].dsc_slice_nonempty, 1.0 / 3.0);
}

TEST(SliceDice, SlicesRunAlongTheThirdAxis) {
  // ni = 2, nj = 1, nk = 2: slice k=0 is indices {0, 1}, slice k=1 is {2, 3}.
  // reference {1, 1, 0, 0}, prediction {1, 0, 0, 0}:
  //   k=0: TP 1, FN 1 -> 2/3; k=1: empty-empty.
  // (Slicing along i instead would give slices {0, 2} -> 1 and {1, 3} -> 0.)
  const std::vector<std::uint8_t> ref = {1, 1, 0, 0}, pred = {1, 0, 0, 0};
  const SliceDice d = slice_dice(pred.data(), ref.data(), {2, 1, 2}, 2);
  EXPECT_DOUBLE_EQ(d.all[1], (2.0 / 3.0 + 0.0) / 2.0);
  EXPECT_DOUBLE_EQ(d.nonempty[1], 2.0 / 3.0);
}

TEST(SliceDice, IgnoresVoxelsWithALabelBeyondNumClasses) {
  // One slice of 3: voxel 1 (reference 5) and voxel 2 (prediction 9) are dropped, as
  // confusion_counts drops them; voxel 0 is a hit -> Dice 1.
  const std::vector<std::uint8_t> ref = {1, 5, 1}, pred = {1, 1, 9};
  const SliceDice d = slice_dice(pred.data(), ref.data(), {3, 1, 1}, 2);
  EXPECT_DOUBLE_EQ(d.all[1], 1.0);
  EXPECT_DOUBLE_EQ(d.nonempty[1], 1.0);
}

TEST(SliceDice, NoSlicesGiveNaNAndNegativeDimensionsThrow) {
  const std::uint8_t none[1] = {0};
  const SliceDice d = slice_dice(none, none, {3, 3, 0}, 2);
  ASSERT_EQ(d.all.size(), 2u);
  EXPECT_TRUE(std::isnan(d.all[1]));
  EXPECT_TRUE(std::isnan(d.nonempty[1]));
  EXPECT_THROW(slice_dice(none, none, {-1, 1, 1}, 2), Error);
}

}  // namespace
}  // namespace orch
