// Rng: the project's only source of randomness. Seeded explicitly, never from std::random_device,
// and built on mt19937_64's raw output with our own transforms so that a seed gives the same
// stream on every platform and standard library (std::*_distribution is implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace orch {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  // Derives an independent seed from a parent seed and a stream tag (SplitMix64 finaliser).
  static std::uint64_t derive(std::uint64_t seed, std::uint64_t tag) {
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (tag + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t next() { return engine_(); }
  // Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * n) % n; }
  // Standard normal (Box-Muller, one value per call).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double std) { return mean + std * normal(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace orch
