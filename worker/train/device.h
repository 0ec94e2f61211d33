// Where a worker computes, and the CUDA-only settings that come with it.
//
// A trial's results never depend on the device by design (the same spec, the same trial id), but
// floating-point sums differ between CPU and CUDA kernels, so they agree to a tolerance only.
//   - Batches are sampled and augmented on the CPU loader thread, then moved to the device;
//     predictions come back to the CPU for scoring and NIfTI output.
//   - On CUDA, cudnn.benchmark is on (kernels picked per input shape: training shapes are fixed)
//     and training.precision bf16 runs forward passes under autocast to bfloat16; losses promote
//     the logits to float32 (worker/train/losses.h). On CPU, bf16 is ignored with a warning.
#pragma once

#include <torch/torch.h>

#include <string>

namespace orch {

// "auto" (CUDA when LibTorch sees a GPU, else CPU), "cpu", "cuda" or "cuda:N". For auto and cuda,
// `local_rank` picks GPU local_rank % device count, so the ranks of one node share its GPUs.
// Throws orch::Error for an unknown request, or for cuda when no GPU is visible.
torch::Device resolve_device(const std::string& request, int local_rank = 0);

// The device of the module's first parameter (CPU for a module without parameters).
torch::Device module_device(const torch::nn::Module& module);

// Autocast to bfloat16 for the scope when `enabled` and `device` is CUDA; otherwise nothing.
// Restores the previous autocast state on exit. Thread-local, like LibTorch's autocast.
class AutocastScope {
 public:
  AutocastScope(const torch::Device& device, bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kHalf;
};

}  // namespace orch
