// Statistics for comparison reports: a summary of per-case values, a seeded percentile bootstrap
// interval of their mean, the two-sided paired Wilcoxon signed-rank test (matching SciPy 1.10.1's
// scipy.stats.wilcoxon with its defaults, except that tied |differences| always take the normal
// approximation) and Holm's step-down adjustment. Non-finite values are left out everywhere, and
// every result is the same on every platform and standard library: the bootstrap draws with its
// own xoshiro256** generator, never with <random>'s distributions. Standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace orch::stats {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Over the finite values only. NaN fields when n == 0; sd is the sample sd (N - 1 in the
// denominator), NaN when n < 2; median is the mean of the two middle values when n is even.
struct Summary {
  std::size_t n = 0;
  double mean = kNaN;
  double sd = kNaN;
  double median = kNaN;
};
Summary describe(const std::vector<double>& values);

struct Interval {
  double low = kNaN;  // both NaN when there is no finite value
  double high = kNaN;
};

// The `level` percentile bootstrap interval of the mean of the finite values: `resamples` resamples
// with replacement (indices drawn by xoshiro256** seeded through splitmix64 from `seed`), the
// interval's ends being the (1 - level) / 2 and (1 + level) / 2 quantiles (quantile_linear) of the
// resample means. All finite values equal: {value, value}. Throws std::invalid_argument when
// resamples < 1 or level is not in (0, 1).
Interval bootstrap_ci(const std::vector<double>& values, std::uint64_t seed, int resamples = 10000,
                      double level = 0.95);

// numpy.quantile(values, q) with its default method "linear" (Hyndman & Fan's type 7), including
// numpy's interpolation formula: NaN when `values` is empty or holds a NaN. Throws
// std::invalid_argument when q is not in [0, 1].
double quantile_linear(std::vector<double> sorted_or_not, double q);

struct TestResult {
  bool computed = false;    // false: too few pairs; `note` says why
  std::size_t n = 0;        // pairs used (finite on both sides, nonzero difference)
  double statistic = kNaN;  // min(W+, W-), SciPy's statistic for the two-sided test
  double p = kNaN;          // two-sided
  std::string method;       // "exact" or "normal"; "" when not computed
  std::string note;         // e.g. "too few cases (4 nonzero pairs; at least 6 needed)"
};

// Below 6 nonzero pairs the exact two-sided p can never reach 0.05 (with 5 it is at least 0.0625).
inline constexpr std::size_t kMinWilcoxonPairs = 6;

// Two-sided paired Wilcoxon signed-rank test of x - y. Pairs with a non-finite value on either side
// are dropped first, then zero differences (SciPy's zero_method="wilcox"); ranks of |d| are
// averaged over ties. With no zero difference, no tie among |d| and n <= 50: the exact null
// distribution of W+, p = min(1, 2 * min(P(W+ <= w), P(W+ >= w))). Otherwise the normal
// approximation without continuity correction, its variance reduced by sum(t^3 - t) / 48 over tie
// groups of size t. (SciPy 1.10.1's method="auto" keeps the exact distribution when |d| has ties,
// with W+ truncated to an integer; this follows its method="approx" there instead.) Throws
// std::invalid_argument when x and y differ in length.
TestResult wilcoxon(const std::vector<double>& x, const std::vector<double>& y);

// Holm-Bonferroni step-down adjusted p-values, in the input order. NaN entries stay NaN and do not
// count in m; the adjusted values are monotone in p and capped at 1.
std::vector<double> holm(const std::vector<double>& p);

}  // namespace orch::stats
