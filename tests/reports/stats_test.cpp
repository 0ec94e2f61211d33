// Statistics for reports, checked against facts worked out by hand (sums, numpy's quantile
// definition, counts of sign patterns) and against values printed by SciPy 1.10.1's
// scipy.stats.wilcoxon (/usr/bin/python3), never against this code's own output.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "reports/stats.h"

namespace orch::stats {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// |actual - expected| <= rel * |expected|.
void expect_rel(double actual, double expected, double rel) {
  EXPECT_LE(std::fabs(actual - expected), rel * std::fabs(expected))
      << "actual " << actual << ", expected " << expected;
}

// ---- describe ----------------------------------------------------------------------------------

TEST(Stats, DescribeUsesFiniteValuesOnly) {
  const Summary s = describe({4, 1, kNaN, 3, kInf, 2, -kInf});
  EXPECT_EQ(s.n, 4u);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  // Squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n - 1 = 3.
  EXPECT_DOUBLE_EQ(s.sd, std::sqrt(5.0 / 3.0));
  EXPECT_DOUBLE_EQ(s.median, 2.5);  // (2 + 3) / 2
}

TEST(Stats, DescribeOddCountSingleValueAndEmpty) {
  const Summary odd = describe({5, 1, 9});
  EXPECT_DOUBLE_EQ(odd.median, 5.0);
  EXPECT_DOUBLE_EQ(odd.sd, 4.0);  // (16 + 0 + 16) / 2 = 16

  const Summary one = describe({7, kNaN});
  EXPECT_EQ(one.n, 1u);
  EXPECT_DOUBLE_EQ(one.mean, 7.0);
  EXPECT_DOUBLE_EQ(one.median, 7.0);
  EXPECT_TRUE(std::isnan(one.sd));

  for (const Summary& empty : {describe({}), describe({kNaN, kInf})}) {
    EXPECT_EQ(empty.n, 0u);
    EXPECT_TRUE(std::isnan(empty.mean));
    EXPECT_TRUE(std::isnan(empty.sd));
    EXPECT_TRUE(std::isnan(empty.median));
  }
}

// ---- quantile_linear ---------------------------------------------------------------------------

TEST(Stats, QuantileLinearFollowsNumpysDefinition) {
  // numpy "linear": sorted a, h = (n - 1) q, a[floor h] + (h - floor h) (a[floor h + 1] - a[floor
  // h]). Sorted {1, 1, 3, 4, 5}, n = 5:
  const std::vector<double> v = {3, 1, 4, 1, 5};
  EXPECT_DOUBLE_EQ(quantile_linear(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile_linear(v, 0.1), 1.0);  // h = 0.4, between 1 and 1
  EXPECT_DOUBLE_EQ(quantile_linear(v, 0.5), 3.0);  // h = 2
  EXPECT_DOUBLE_EQ(quantile_linear(v, 0.9), 4.6);  // h = 3.6: 4 + 0.6 * 1
  EXPECT_DOUBLE_EQ(quantile_linear(v, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(quantile_linear({2, 10}, 0.3), 4.4);           // h = 0.3: 2 + 0.3 * 8
  EXPECT_DOUBLE_EQ(quantile_linear({4, 1, 3, 2}, 0.75), 3.25);    // h = 2.25
  EXPECT_DOUBLE_EQ(quantile_linear({4, 1, 3, 2}, 0.025), 1.075);  // h = 0.075
  EXPECT_DOUBLE_EQ(quantile_linear({42}, 0.975), 42.0);
}

TEST(Stats, QuantileLinearEdgeCases) {
  EXPECT_TRUE(std::isnan(quantile_linear({}, 0.5)));
  EXPECT_TRUE(std::isnan(quantile_linear({1, kNaN, 3}, 0.5)));  // like numpy: NaN poisons
  EXPECT_THROW(quantile_linear({1, 2}, 1.5), std::invalid_argument);
  EXPECT_THROW(quantile_linear({1, 2}, -0.1), std::invalid_argument);
}

// ---- bootstrap_ci ------------------------------------------------------------------------------

std::vector<double> spread_values(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(0.5 + 0.4 * std::sin(1.7 * i));
  return v;
}

TEST(Stats, BootstrapContainsTheMeanAndIsReproducible) {
  const std::vector<double> v = spread_values(30);
  const double mean = describe(v).mean;
  const Interval ci = bootstrap_ci(v, 123);
  EXPECT_LT(ci.low, mean);
  EXPECT_GT(ci.high, mean);
  // Roughly mean +- 1.96 sd / sqrt(n); the percentile interval is within 30% of that width.
  const double normal_width = 2 * 1.96 * describe(v).sd / std::sqrt(30.0);
  EXPECT_NEAR(ci.high - ci.low, normal_width, 0.3 * normal_width);

  const Interval again = bootstrap_ci(v, 123);
  EXPECT_EQ(again.low, ci.low);
  EXPECT_EQ(again.high, ci.high);
  const Interval other = bootstrap_ci(v, 124);
  EXPECT_TRUE(other.low != ci.low || other.high != ci.high);
}

TEST(Stats, BootstrapNarrowsWithMoreDataAndLowerLevel) {
  const Interval small = bootstrap_ci(spread_values(10), 7);
  const Interval large = bootstrap_ci(spread_values(200), 7);
  EXPECT_LT(large.high - large.low, small.high - small.low);
  const std::vector<double> v = spread_values(40);
  const Interval ci95 = bootstrap_ci(v, 7, 10000, 0.95);
  const Interval ci50 = bootstrap_ci(v, 7, 10000, 0.50);
  EXPECT_LT(ci50.high - ci50.low, ci95.high - ci95.low);
}

TEST(Stats, BootstrapConstantNonFiniteAndBadArguments) {
  const Interval constant = bootstrap_ci({0.1, 0.1, 0.1, kNaN, 0.1}, 1);
  EXPECT_EQ(constant.low, 0.1);
  EXPECT_EQ(constant.high, 0.1);
  const Interval none = bootstrap_ci({kNaN, kInf}, 1);
  EXPECT_TRUE(std::isnan(none.low));
  EXPECT_TRUE(std::isnan(none.high));
  // Non-finite values are left out: the same interval as without them.
  std::vector<double> with_nan = spread_values(20);
  const Interval clean = bootstrap_ci(with_nan, 5);
  with_nan.push_back(kNaN);
  with_nan.insert(with_nan.begin(), kInf);
  const Interval dirty = bootstrap_ci(with_nan, 5);
  EXPECT_EQ(dirty.low, clean.low);
  EXPECT_EQ(dirty.high, clean.high);
  EXPECT_THROW(bootstrap_ci({1, 2}, 1, 0), std::invalid_argument);
  EXPECT_THROW(bootstrap_ci({1, 2}, 1, 100, 1.0), std::invalid_argument);
}

// ---- wilcoxon: exact p-values by hand
// ------------------------------------------------------------

std::vector<double> zeros(std::size_t n) { return std::vector<double>(n, 0.0); }

TEST(Stats, WilcoxonExactByHand) {
  // n = 6, all differences positive: W- = 0; only the empty set of ranks sums to 0, so
  // P(W- <= 0) = 1/64 and p = 2/64.
  TestResult r = wilcoxon({1, 2, 3, 4, 5, 6}, zeros(6));
  ASSERT_TRUE(r.computed);
  EXPECT_EQ(r.n, 6u);
  EXPECT_EQ(r.method, "exact");
  EXPECT_EQ(r.statistic, 0.0);
  expect_rel(r.p, 2.0 / 64, 1e-12);

  // n = 7, rank 2 negative: W- = 2. Subsets of {1..7} summing to <= 2: {}, {1}, {2}: 3 of 128,
  // so p = 2 * 3 / 128 = 0.046875.
  r = wilcoxon({1, -2, 3, 4, 5, 6, 7}, zeros(7));
  EXPECT_EQ(r.statistic, 2.0);
  expect_rel(r.p, 6.0 / 128, 1e-12);

  // n = 7, rank 3 negative: W- = 3. Subsets summing to <= 3: {}, {1}, {2}, {3}, {1,2}: 5 of 128,
  // p = 10 / 128 = 0.078125.
  r = wilcoxon({1, 2, -3, 4, 5, 6, 7}, zeros(7));
  EXPECT_EQ(r.statistic, 3.0);
  expect_rel(r.p, 10.0 / 128, 1e-12);

  // n = 6, W+ = 1 + 2 + 3 + 4 = 10, W- = 11: at the centre of the symmetric distribution (total
  // 21), P(W+ <= 10) = 1/2, so p = min(1, 2 * 1/2) = 1.
  r = wilcoxon({1, 2, 3, 4, -5, -6}, zeros(6));
  EXPECT_EQ(r.statistic, 10.0);
  EXPECT_EQ(r.p, 1.0);

  // The sign of x - y does not matter for the two-sided test.
  const TestResult flipped = wilcoxon(zeros(7), {1, -2, 3, 4, 5, 6, 7});
  expect_rel(flipped.p, 6.0 / 128, 1e-12);
}

// ---- wilcoxon: against SciPy 1.10.1
// --------------------------------------------------------------

TEST(Stats, WilcoxonExactMatchesScipy) {
  // d = {1.5, -2.25, 3, 4.5, -0.75, 6, 7.25, 8, -9.5, 10}: no ties, no zeros.
  // wilcoxon([4.5,4.75,4,8.5,8.25,8,15.25,13,-3.5,10], [3,7,1,4,9,2,8,5,6,0])
  //   -> WilcoxonResult(statistic=13.0, pvalue=0.16015625)
  TestResult r =
      wilcoxon({4.5, 4.75, 4, 8.5, 8.25, 8, 15.25, 13, -3.5, 10}, {3, 7, 1, 4, 9, 2, 8, 5, 6, 0});
  EXPECT_EQ(r.method, "exact");
  EXPECT_EQ(r.n, 10u);
  EXPECT_EQ(r.statistic, 13.0);
  expect_rel(r.p, 0.16015625, 1e-12);

  // n = 20: wilcoxon(x20, y20) -> WilcoxonResult(statistic=60.0, pvalue=0.09730720520019531)
  const std::vector<double> x20 = {8.25,  -1.25, 11.25,  6.25,  3.75,  9.25,  17.25,
                                   12.25, 1.75,  15.25,  0.75,  18.25, 13.25, 21.25,
                                   16.25, -8.25, -15.25, 27.25, 22.25, 30.25};
  const std::vector<double> y20 = {7, 1, 8, 2, 9, 3, 10, 4, 11, 5, 12, 6, 0, 7, 1, 8, 2, 9, 3, 10};
  r = wilcoxon(x20, y20);
  EXPECT_EQ(r.method, "exact");
  EXPECT_EQ(r.n, 20u);
  EXPECT_EQ(r.statistic, 60.0);
  expect_rel(r.p, 0.09730720520019531, 1e-12);
}

TEST(Stats, WilcoxonTiesUseTheNormalApproximation) {
  // d = {1, 2, 2, -2, 3, -2, 3, 3, 3, 3}: tied |d|. SciPy 1.10.1's default method="auto" keeps
  // the exact distribution here (p = 0.037109375); we use the normal approximation with the tie
  // correction instead, which is SciPy's
  // wilcoxon([1,2,3,4,5,6,7,8,9,10], [0,0,1,6,2,8,4,5,6,7], method="approx")
  //   -> WilcoxonResult(statistic=7.0, pvalue=0.03304891851505088)
  const TestResult r = wilcoxon({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {0, 0, 1, 6, 2, 8, 4, 5, 6, 7});
  ASSERT_TRUE(r.computed);
  EXPECT_EQ(r.method, "normal");
  EXPECT_EQ(r.statistic, 7.0);
  expect_rel(r.p, 0.03304891851505088, 1e-9);
}

TEST(Stats, WilcoxonZerosAreDroppedAndForceTheNormalApproximation) {
  // d = {0, 1, 2, 3, -4, 5, 6, 7}: SciPy switches to the normal approximation when there are zeros
  // and drops them (7 pairs left). wilcoxon([10,11,12,13,14,15,16,17], [10,10,10,10,18,10,10,10])
  //   -> WilcoxonResult(statistic=4.0, pvalue=0.09096894797535775)
  TestResult r = wilcoxon({10, 11, 12, 13, 14, 15, 16, 17}, {10, 10, 10, 10, 18, 10, 10, 10});
  ASSERT_TRUE(r.computed);
  EXPECT_EQ(r.n, 7u);
  EXPECT_EQ(r.method, "normal");
  EXPECT_EQ(r.statistic, 4.0);
  expect_rel(r.p, 0.09096894797535775, 1e-9);

  // Zeros and ties: d = {0, 2, 6, 0, 6, -6, 6.5, -4.5, 3.75, 0, 9.25, 8}.
  // wilcoxon([5,3,8,1,9,4,7,2,6,10,11,12], [5,1,2,1,3,10,0.5,6.5,2.25,10,1.75,4])
  //   -> WilcoxonResult(statistic=8.0, pvalue=0.08473112189471733)
  r = wilcoxon({5, 3, 8, 1, 9, 4, 7, 2, 6, 10, 11, 12},
               {5, 1, 2, 1, 3, 10, 0.5, 6.5, 2.25, 10, 1.75, 4});
  EXPECT_EQ(r.n, 9u);
  EXPECT_EQ(r.method, "normal");
  EXPECT_EQ(r.statistic, 8.0);
  expect_rel(r.p, 0.08473112189471733, 1e-9);
}

TEST(Stats, WilcoxonMoreThanFiftyPairsUseTheNormalApproximation) {
  // 60 pairs, some tied |d|:
  // xb = [(i*37) % 101 for i in range(1, 61)]; yb = [(i*53) % 97 for i in range(1, 61)]
  // wilcoxon(xb, yb) -> WilcoxonResult(statistic=794.5, pvalue=0.375021718859592)
  std::vector<double> x, y;
  for (int i = 1; i <= 60; ++i) {
    x.push_back((i * 37) % 101);
    y.push_back((i * 53) % 97);
  }
  TestResult r = wilcoxon(x, y);
  EXPECT_EQ(r.n, 60u);
  EXPECT_EQ(r.method, "normal");
  EXPECT_EQ(r.statistic, 794.5);
  expect_rel(r.p, 0.375021718859592, 1e-9);

  // 55 pairs, no ties, no zeros:
  // yc = [(i*53) % 97 for i in range(1, 56)]
  // xc = [y + (-1 if (i*i) % 5 == 1 else 1) * (i + 0.5) for i, y in enumerate(yc, 1)]
  // wilcoxon(xc, yc) -> WilcoxonResult(statistic=605.0, pvalue=0.166830364431092)
  x.clear();
  y.clear();
  for (int i = 1; i <= 55; ++i) {
    y.push_back((i * 53) % 97);
    x.push_back(y.back() + ((i * i) % 5 == 1 ? -1 : 1) * (i + 0.5));
  }
  r = wilcoxon(x, y);
  EXPECT_EQ(r.n, 55u);
  EXPECT_EQ(r.method, "normal");
  EXPECT_EQ(r.statistic, 605.0);
  expect_rel(r.p, 0.166830364431092, 1e-9);
}

TEST(Stats, WilcoxonDropsNonFinitePairs) {
  // The n = 10 SciPy case above with three extra pairs that have a NaN or inf on one side.
  const TestResult r = wilcoxon({4.5, 4.75, kNaN, 4, 8.5, 8.25, 8, 15.25, 1, 13, -3.5, 10, kInf},
                                {3, 7, 1, 1, 4, 9, 2, 8, -kInf, 5, 6, 0, 2});
  EXPECT_EQ(r.n, 10u);
  EXPECT_EQ(r.method, "exact");
  EXPECT_EQ(r.statistic, 13.0);
  expect_rel(r.p, 0.16015625, 1e-12);
}

TEST(Stats, WilcoxonTooFewPairsIsNotComputed) {
  // Five nonzero differences (and one zero): below kMinWilcoxonPairs.
  TestResult r = wilcoxon({1, 2, 3, 4, 5, 6}, {0, 0, 0, 0, 0, 6});
  EXPECT_FALSE(r.computed);
  EXPECT_EQ(r.n, 5u);
  EXPECT_TRUE(std::isnan(r.p));
  EXPECT_TRUE(std::isnan(r.statistic));
  EXPECT_EQ(r.note, "too few cases (5 nonzero pairs; at least 6 needed)");

  r = wilcoxon({1, 2, kNaN}, {1, 2, 3});
  EXPECT_FALSE(r.computed);
  EXPECT_EQ(r.n, 0u);
  EXPECT_NE(r.note.find("0 nonzero pairs"), std::string::npos) << r.note;

  EXPECT_FALSE(wilcoxon({}, {}).computed);
  EXPECT_THROW(wilcoxon({1, 2}, {1}), std::invalid_argument);
}

// ---- holm --------------------------------------------------------------------------------------

TEST(Stats, HolmByHand) {
  // Sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> running max
  // 0.06.
  const std::vector<double> adjusted = holm({0.01, 0.04, 0.03, 0.005});
  ASSERT_EQ(adjusted.size(), 4u);
  EXPECT_DOUBLE_EQ(adjusted[0], 0.03);
  EXPECT_DOUBLE_EQ(adjusted[1], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[2], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[3], 0.02);
}

TEST(Stats, HolmSkipsNaNAndCapsAtOne) {
  // m = 3 (the NaN does not count): 0.2 * 3 = 0.6, 0.3 * 2 = 0.6, 0.7 * 1 = 0.7.
  std::vector<double> adjusted = holm({0.3, kNaN, 0.2, 0.7});
  ASSERT_EQ(adjusted.size(), 4u);
  EXPECT_DOUBLE_EQ(adjusted[0], 0.6);
  EXPECT_TRUE(std::isnan(adjusted[1]));
  EXPECT_DOUBLE_EQ(adjusted[2], 0.6);
  EXPECT_DOUBLE_EQ(adjusted[3], 0.7);

  // 0.4 * 3 = 1.2 -> 1; then everything after is at least 1.
  adjusted = holm({0.5, 0.4, 0.9});
  EXPECT_EQ(adjusted, (std::vector<double>{1.0, 1.0, 1.0}));

  EXPECT_TRUE(holm({}).empty());
  adjusted = holm({kNaN});
  ASSERT_EQ(adjusted.size(), 1u);
  EXPECT_TRUE(std::isnan(adjusted[0]));
  // A single p-value is its own adjustment.
  EXPECT_EQ(holm({0.04}), (std::vector<double>{0.04}));
}

}  // namespace
}  // namespace orch::stats
