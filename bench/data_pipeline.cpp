// Data-pipeline benchmark: the MS paper's 3-D augmentation chain on 144^3 patches and a 2-D
// slice chain, on 1 and 2 threads. Prints a table and writes JSON (--json PATH); see
// bench/README.md.
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/fft.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "worker/data/transforms.h"

namespace {

using nlohmann::json;
using orch::Pipeline;
using orch::StageTime;
using orch::Subject;

const std::vector<std::string> kMsChain = {
    "flip(axes=(0,1,2))",
    "affine(scales=0.1,degrees=10)",
    "elastic(num_control_points=7,max_displacement=7.5,locked_borders=2)",
    "motion(degrees=10,translation=10,num_transforms=2)",
    "bias_field(coefficients=0.5,order=3)",
    "noise(std=0.25)",
    "znorm"};
const std::vector<std::string> k2dChain = {"flip(axes=(0,1))", "affine(scales=0.1,degrees=10)",
                                           "noise(std=0.25)", "znorm"};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median seconds of `fn` over `runs` calls after `warmup` calls.
template <typename Fn>
double time_median(int warmup, int runs, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const double t0 = now();
    fn();
    t.push_back(now() - t0);
  }
  return median(t);
}

long vm_hwm_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

Subject make_subject(int64_t z, int64_t y, int64_t x) {
  torch::manual_seed(0);
  Subject s;
  s.image = torch::rand({1, z, y, x}) * 1000;
  s.label = (torch::rand({z, y, x}) > 0.9).to(torch::kUInt8);
  return s;
}

Pipeline make_pipeline(const std::vector<std::string>& chain) {
  std::vector<orch::TransformSpec> specs;
  for (const auto& t : chain) specs.push_back(orch::parse_transform(t));
  return Pipeline(specs);
}

// Runs the chain `runs` times after `warmup`; returns per-item seconds and stage medians.
json run_chain(const Pipeline& p, const Subject& s, int warmup, int runs, int batch) {
  std::map<std::string, std::vector<double>> stages;
  std::vector<double> totals;
  for (int r = -warmup; r < runs; ++r) {
    std::vector<StageTime> times;
    const double t0 = now();
    for (int b = 0; b < batch; ++b) {
      auto out = p(s, static_cast<std::uint64_t>(1000 * (r + warmup) + b), &times);
    }
    const double dt = (now() - t0) / batch;
    if (r < 0) continue;
    totals.push_back(dt);
    std::map<std::string, double> sum;
    for (const auto& st : times) sum[st.stage] += st.seconds / batch;
    for (const auto& [k, v] : sum) stages[k].push_back(v);
  }
  json stage_ms = json::object();
  for (const auto& [k, v] : stages) stage_ms[k] = 1e3 * median(v);
  const double med = median(totals);
  return {{"median_s", med}, {"per_s", 1.0 / med}, {"stages_ms", stage_ms}};
}

// What bounds the resampling: grid_sample against a plain copy of the same output bytes.
json bounds(const Subject& s, int warmup, int runs) {
  const int64_t z = s.image.size(1), y = s.image.size(2), x = s.image.size(3);
  auto theta = torch::tensor({0.99, 0.05, 0.0, 0.01, -0.05, 0.99, 0.0, 0.0, 0.0, 0.0, 1.0, 0.02})
                   .view({1, 3, 4})
                   .to(torch::kFloat);
  const auto grid = torch::affine_grid_generator(theta, {1, 1, z, y, x}, true);
  const auto input = s.image.unsqueeze(0);
  const double copy = time_median(warmup, runs, [&] { auto c = s.image.clone(); });
  const double grid_copy = time_median(warmup, runs, [&] { auto c = grid.clone(); });
  const double trilinear =
      time_median(warmup, runs, [&] { auto o = torch::grid_sampler(input, grid, 0, 1, true); });
  const double nearest =
      time_median(warmup, runs, [&] { auto o = torch::grid_sampler(input, grid, 1, 0, true); });
  const double affine_grid = time_median(warmup, runs, [&] {
    auto g = torch::affine_grid_generator(theta, {1, 1, z, y, x}, true);
  });
  const double rfft = time_median(warmup, runs, [&] {
    auto f = torch::fft::rfft(input.expand({3, 1, z, y, x}), z, 2);
  });
  const double randn = time_median(warmup, runs, [&] { auto r = torch::randn_like(s.image); });
  const double exp = time_median(warmup, runs, [&] { auto e = s.image.exp(); });
  return {{"copy_image_ms", 1e3 * copy},
          {"copy_grid_ms", 1e3 * grid_copy},
          {"grid_sample_trilinear_ms", 1e3 * trilinear},
          {"grid_sample_nearest_ms", 1e3 * nearest},
          {"affine_grid_ms", 1e3 * affine_grid},
          {"rfft_z_3_volumes_ms", 1e3 * rfft},
          {"randn_ms", 1e3 * randn},
          {"exp_ms", 1e3 * exp}};
}

void print_chain(const std::string& name, const json& j, const std::string& unit) {
  std::cout << fmt::format("  {:<10} {:>9.1f} ms  {:>8.2f} {}\n", name,
                           1e3 * j["median_s"].get<double>(), j["per_s"].get<double>(), unit);
  for (const auto& [k, v] : j["stages_ms"].items())
    std::cout << fmt::format("      {:<16} {:>8.1f} ms\n", k, v.get<double>());
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  int runs = 7, warmup = 2;
  int64_t size = 144;
  std::vector<int> threads = {1, 2};
  bool keep_malloc = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--json")
      json_path = next();
    else if (a == "--runs")
      runs = std::stoi(next());
    else if (a == "--warmup")
      warmup = std::stoi(next());
    else if (a == "--size")
      size = std::stoll(next());
    else if (a == "--threads")
      threads = {std::stoi(next())};
    else if (a == "--malloc-default")
      keep_malloc = true;
    else {
      std::cerr << "usage: bench_data_pipeline [--json PATH] [--runs N] [--warmup N] [--size N] "
                   "[--threads T] [--malloc-default]\n";
      return 2;
    }
  }
  // glibc serves blocks above 32 MiB (a 144^3 grid is 36 MiB) with fresh mmap pages, and every
  // page faults on first touch; a high mmap threshold lets the heap reuse them across patches.
  if (!keep_malloc) {
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  const Subject patch = make_subject(size, size, size);
  const Subject slice = make_subject(1, 256, 256);
  const Pipeline ms = make_pipeline(kMsChain), two_d = make_pipeline(k2dChain);
  json results = {{"patch", {size, size, size}},
                  {"slice", {256, 256}},
                  {"runs", runs},
                  {"warmup", warmup},
                  {"mallopt", !keep_malloc},
                  {"ms_chain", kMsChain},
                  {"chain_2d", k2dChain},
                  {"threads", json::object()}};
  for (int t : threads) {
    torch::set_num_threads(t);
    json r;
    r["ms_3d"] = run_chain(ms, patch, warmup, runs, 1);
    r["slice_2d"] = run_chain(two_d, slice, warmup, runs, 50);
    r["bounds_3d"] = bounds(patch, warmup, runs);
    std::cout << fmt::format("threads {}\n", t);
    print_chain("MS 3-D", r["ms_3d"], "patches/s");
    print_chain("2-D", r["slice_2d"], "slices/s");
    std::cout << "    bounds (one 144^3 volume):\n";
    for (const auto& [k, v] : r["bounds_3d"].items())
      std::cout << fmt::format("      {:<26} {:>8.1f} ms\n", k, v.get<double>());
    results["threads"][std::to_string(t)] = r;
  }
  results["peak_rss_kib"] = max_rss_kib();
  results["vm_hwm_kib"] = vm_hwm_kib();
  std::cout << fmt::format("peak memory: ru_maxrss {} KiB, VmHWM {} KiB\n", max_rss_kib(),
                           vm_hwm_kib());
  if (!json_path.empty()) std::ofstream(json_path) << results.dump(2) << "\n";
  return 0;
}
