#include "worker/train/device.h"

#include <ATen/autocast_mode.h>

#include <string>

#include "common/status.h"

namespace orch {

torch::Device resolve_device(const std::string& request, int local_rank) {
  // One check of the name first, so that a typo is reported as such on every machine.
  const bool numbered = request.size() > 5 && request.rfind("cuda:", 0) == 0 &&
                        request.find_first_not_of("0123456789", 5) == std::string::npos;
  if (request != "auto" && request != "cpu" && request != "cuda" && !numbered)
    throw Error("device: unknown device '" + request + "'; expected auto, cpu, cuda or cuda:N");
  const bool has_cuda = torch::cuda::is_available();
  if (request == "cpu" || (request == "auto" && !has_cuda)) return torch::kCPU;
  if (!has_cuda)
    throw Error("device: '" + request + "' asked for, but LibTorch sees no CUDA device" +
                " (is this build CUDA-enabled, and CUDA_VISIBLE_DEVICES set?)");
  const auto count = static_cast<int>(torch::cuda::device_count());
  int index = local_rank < 0 ? 0 : local_rank % count;
  if (numbered) {
    index = std::stoi(request.substr(5));
    if (index >= count)
      throw Error("device: '" + request + "' is not one of the " + std::to_string(count) +
                  " visible CUDA devices");
  }
  at::globalContext().setBenchmarkCuDNN(true);
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)};
}

torch::Device module_device(const torch::nn::Module& module) {
  const auto params = module.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

AutocastScope::AutocastScope(const torch::Device& device, bool enabled)
    : active_(enabled && device.is_cuda()) {
  if (!active_) return;
  was_enabled_ = at::autocast::is_enabled();
  was_dtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  at::autocast::set_enabled(was_enabled_);
  at::autocast::set_autocast_gpu_dtype(was_dtype_);
  if (!was_enabled_) at::autocast::clear_cache();
}

}  // namespace orch
