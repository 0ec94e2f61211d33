#include "reports/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace orch::stats {
namespace {

std::vector<double> finite_only(const std::vector<double>& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) out.push_back(v);
  }
  return out;
}

double mean_of(const std::vector<double>& v) {
  double sum = 0.0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

// splitmix64 (Steele, Lea & Flood), used only to expand the seed into xoshiro's state.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** 1.0 (Blackman & Vigna).
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n) for n >= 1, without modulo bias: draws below 2^64 mod n are rejected.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// 2 * P(Z >= |z|) for a standard normal Z.
double two_sided_normal_p(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

}  // namespace

Summary describe(const std::vector<double>& values) {
  std::vector<double> v = finite_only(values);
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  s.mean = mean_of(v);
  if (v.size() >= 2) {
    double ss = 0.0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  s.median = v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2.0;
  return s;
}

double quantile_linear(std::vector<double> values, double q) {
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("quantile_linear: q must be in [0, 1]");
  if (values.empty()) return kNaN;
  for (double v : values) {
    if (std::isnan(v)) return kNaN;
  }
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double virtual_index = static_cast<double>(n - 1) * q;
  const double floor_index = std::floor(virtual_index);
  const auto lo = static_cast<std::size_t>(floor_index);
  if (lo >= n - 1) return values[n - 1];
  const double a = values[lo];
  const double b = values[lo + 1];
  const double t = virtual_index - floor_index;
  // numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

Interval bootstrap_ci(const std::vector<double>& values, std::uint64_t seed, int resamples,
                      double level) {
  if (resamples < 1) throw std::invalid_argument("bootstrap_ci: resamples must be at least 1");
  if (!(level > 0.0 && level < 1.0)) {
    throw std::invalid_argument("bootstrap_ci: level must be in (0, 1)");
  }
  const std::vector<double> v = finite_only(values);
  if (v.empty()) return {};
  const auto [min_it, max_it] = std::minmax_element(v.begin(), v.end());
  if (*min_it == *max_it) return {*min_it, *min_it};

  Xoshiro256 rng(seed);
  const std::size_t n = v.size();
  std::vector<double> means(static_cast<std::size_t>(resamples));
  for (double& m : means) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += v[static_cast<std::size_t>(rng.below(n))];
    m = sum / static_cast<double>(n);
  }
  const double alpha = 1.0 - level;
  std::sort(means.begin(), means.end());
  return {quantile_linear(means, alpha / 2.0), quantile_linear(means, 1.0 - alpha / 2.0)};
}

TestResult wilcoxon(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw std::invalid_argument("wilcoxon: x and y differ in length");
  std::vector<double> d;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    const double diff = x[i] - y[i];
    if (diff != 0.0) d.push_back(diff);
  }
  const bool had_zero = [&] {
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::isfinite(x[i]) && std::isfinite(y[i]) && x[i] - y[i] == 0.0) return true;
    }
    return false;
  }();

  TestResult result;
  const std::size_t n = d.size();
  result.n = n;
  if (n < kMinWilcoxonPairs) {
    result.note = "too few cases (" + std::to_string(n) + " nonzero pair" + (n == 1 ? "" : "s") +
                  "; at least " + std::to_string(kMinWilcoxonPairs) + " needed)";
    return result;
  }

  // Average ranks of |d| (1-based), and the sizes of the groups of tied |d|.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return std::fabs(d[a]) < std::fabs(d[b]); });
  std::vector<double> rank(n);
  std::vector<std::size_t> tie_sizes;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && std::fabs(d[order[j]]) == std::fabs(d[order[i]])) ++j;
    const double average = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) rank[order[k]] = average;
    if (j - i > 1) tie_sizes.push_back(j - i);
    i = j;
  }
  double w_plus = 0.0;
  double w_minus = 0.0;
  for (std::size_t i = 0; i < n; ++i) (d[i] > 0 ? w_plus : w_minus) += rank[i];
  result.statistic = std::min(w_plus, w_minus);
  result.computed = true;

  if (!had_zero && tie_sizes.empty() && n <= 50) {
    // counts[s]: how many of the 2^n sign patterns give W+ = s (at most 2^50, exact in uint64).
    const std::size_t max_sum = n * (n + 1) / 2;
    std::vector<std::uint64_t> counts(max_sum + 1, 0);
    counts[0] = 1;
    for (std::size_t k = 1; k <= n; ++k) {
      for (std::size_t s = k * (k + 1) / 2; s >= k; --s) counts[s] += counts[s - k];
    }
    const auto w = static_cast<std::size_t>(w_plus);
    std::uint64_t at_most = 0;
    for (std::size_t s = 0; s <= w; ++s) at_most += counts[s];
    std::uint64_t at_least = 0;
    for (std::size_t s = w; s <= max_sum; ++s) at_least += counts[s];
    const double total = std::ldexp(1.0, static_cast<int>(n));
    const double p = 2.0 * static_cast<double>(std::min(at_most, at_least)) / total;
    result.p = std::min(p, 1.0);
    result.method = "exact";
    return result;
  }

  const auto nd = static_cast<double>(n);
  const double mean = nd * (nd + 1.0) * 0.25;
  double variance_times_24 = nd * (nd + 1.0) * (2.0 * nd + 1.0);
  double tie_term = 0.0;
  for (std::size_t t : tie_sizes) {
    const auto td = static_cast<double>(t);
    tie_term += td * (td * td - 1.0);
  }
  variance_times_24 -= 0.5 * tie_term;
  const double z = (result.statistic - mean) / std::sqrt(variance_times_24 / 24.0);
  result.p = two_sided_normal_p(z);
  result.method = "normal";
  return result;
}

std::vector<double> holm(const std::vector<double>& p) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!std::isnan(p[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(p.size(), kNaN);
  const std::size_t m = order.size();
  double running_max = 0.0;
  for (std::size_t k = 0; k < m; ++k) {
    const double scaled = static_cast<double>(m - k) * p[order[k]];
    running_max = std::min(1.0, std::max(running_max, scaled));
    adjusted[order[k]] = running_max;
  }
  return adjusted;
}

}  // namespace orch::stats
