// Checks shared by the model tests: parameter counts (compared against hand arithmetic in each
// test) and the gradient-flow property every model must have.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace orch::testing {

// Trainable scalars of `m`, optionally only those whose name starts with `prefix`.
inline int64_t parameter_count(const torch::nn::Module& m, const std::string& prefix = "") {
  int64_t n = 0;
  for (const auto& p : m.named_parameters())
    if (p.key().rfind(prefix, 0) == 0) n += p.value().numel();
  return n;
}

// After a backward pass: every parameter has a defined, finite, not-all-zero gradient. Fails
// naming the first parameter that does not; `checked` receives how many were checked.
inline ::testing::AssertionResult every_parameter_has_a_gradient(const torch::nn::Module& m,
                                                                 int64_t* checked = nullptr) {
  int64_t n = 0;
  for (const auto& p : m.named_parameters()) {
    const auto& g = p.value().grad();
    if (!g.defined()) return ::testing::AssertionFailure() << p.key() << " has no gradient";
    if (!torch::isfinite(g).all().item<bool>())
      return ::testing::AssertionFailure() << p.key() << " has a non-finite gradient";
    if (!(g.abs().sum().item<double>() > 0))
      return ::testing::AssertionFailure() << p.key() << " has an all-zero gradient";
    ++n;
  }
  if (checked) *checked = n;
  return ::testing::AssertionSuccess() << n << " parameters";
}

}  // namespace orch::testing
