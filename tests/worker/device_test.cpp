// Device selection and the CUDA-only settings (worker/train/device.h), then the forward pass of
// every registered model on CUDA against the same weights on the CPU. The CUDA half skips on
// machines without a GPU (CI); the CPU half is what every machine checks.
#include "worker/train/device.h"

#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>

#include <map>
#include <string>

#include "common/status.h"
#include "models/registry.h"
#include "worker/infer/predictor.h"

namespace orch {
namespace {

TEST(ResolveDevice, CpuIsAlwaysThereAndAutoFallsBackToIt) {
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_EQ(resolve_device("cpu", 3), torch::Device(torch::kCPU));
  if (!torch::cuda::is_available()) EXPECT_EQ(resolve_device("auto"), torch::Device(torch::kCPU));
}

TEST(ResolveDevice, UnknownNamesAndMissingGpusAreErrorsThatSayWhy) {
  for (const char* bad : {"gpu", "cudax", "cuda:", "cuda:1x", "cuda:-1"}) {
    try {
      resolve_device(bad);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("expected auto, cpu, cuda or cuda:N"), std::string::npos)
          << bad << ": " << e.what();
    }
  }
  if (torch::cuda::is_available()) {
    const auto count = static_cast<int>(torch::cuda::device_count());
    EXPECT_THROW(resolve_device("cuda:" + std::to_string(count)), Error);
    EXPECT_EQ(resolve_device("cuda", count + 1).index(), 1 % count);  // local rank modulo count
  } else {
    try {
      resolve_device("cuda");
      FAIL() << "no error for 'cuda' without a GPU";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("sees no CUDA device"), std::string::npos) << e.what();
    }
  }
}

TEST(AutocastScope, DoesNothingOnTheCpuAndRestoresTheStateOnCuda) {
  {
    const AutocastScope scope(torch::kCPU, true);
    EXPECT_FALSE(at::autocast::is_enabled());
  }
  if (!torch::cuda::is_available()) return;
  {
    const AutocastScope scope(torch::Device(torch::kCUDA, 0), true);
    EXPECT_TRUE(at::autocast::is_enabled());
    EXPECT_EQ(at::autocast::get_autocast_gpu_dtype(), at::kBFloat16);
    auto lin = torch::nn::Linear(4, 4);
    lin->to(torch::kCUDA);
    EXPECT_EQ(lin(torch::ones({2, 4}, torch::kCUDA)).scalar_type(), at::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_enabled());
}

TEST(ModuleDevice, IsTheDeviceOfTheParameters) {
  auto lin = torch::nn::Linear(2, 2);
  EXPECT_EQ(module_device(*lin), torch::Device(torch::kCPU));
}

// Every model: one input, the same initial weights on both devices, fp32 forward in eval mode.
// cuDNN and the CPU kernels sum in different orders, so agreement is to a tolerance relative to
// the logits' scale.
TEST(CudaAgreement, EveryModelsForwardPassMatchesTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::map<std::string, std::pair<nlohmann::json, std::vector<int64_t>>> cases = {
      {"wide_unet", {{{"width", 0.125}}, {2, 1, 37, 41}}},
      {"resunet2d", {{{"width", 0.125}}, {2, 1, 37, 41}}},
      {"attention_unet2d", {{{"width", 0.125}}, {2, 1, 37, 41}}},
      {"spider_unet", {{{"width", 0.125}, {"sequence_length", 3}}, {1, 3, 1, 37, 41}}},
      {"fcn_rnn", {{{"width", 0.125}, {"sequence_length", 3}}, {1, 3, 1, 37, 41}}},
      {"unet3d", {{{"width", 0.125}}, {1, 1, 19, 23, 21}}},
      {"resunet3d", {{{"base_filters", 4}}, {1, 1, 19, 23, 21}}},
      {"swin_unetr", {{{"feature_size", 12}}, {1, 1, 32, 32, 32}}},
      {"refnet", {{{"width", 0.125}, {"depth", 3}}, {2, 1, 37, 41}}},
  };
  for (const auto& kind : model_kinds()) {
    SCOPED_TRACE(kind);
    const auto it = cases.find(kind);
    ASSERT_NE(it, cases.end()) << "add an agreement case for the new model " << kind;
    const auto& [options, shape] = it->second;
    torch::manual_seed(3);
    SegmentationModel cpu = make_model(kind, options, {1, 3});
    SegmentationModel gpu = make_model(kind, options, {1, 3});
    {
      torch::NoGradGuard no_grad;
      auto dst = gpu->named_parameters(), src = cpu->named_parameters();
      for (const auto& p : src) dst[p.key()].copy_(p.value());
      auto dbuf = gpu->named_buffers(), sbuf = cpu->named_buffers();
      for (const auto& b : sbuf) dbuf[b.key()].copy_(b.value());
    }
    gpu->to(torch::Device(torch::kCUDA, 0));
    cpu->eval();
    gpu->eval();
    torch::Tensor x =
        kind == "refnet" ? torch::randint(0, 3, shape).to(torch::kFloat32) : torch::randn(shape);
    torch::NoGradGuard no_grad;
    const auto a = cpu->forward(x);
    const auto b = gpu->forward(x.to(torch::kCUDA)).to(torch::kCPU);
    ASSERT_EQ(a.sizes(), b.sizes());
    const double scale = std::max(1.0, a.abs().max().item<double>());
    EXPECT_LT((a - b).abs().max().item<double>() / scale, 1e-3);
  }
}

}  // namespace
}  // namespace orch
