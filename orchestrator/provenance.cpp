#include "orchestrator/provenance.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <ATen/Version.h>
#include <torch/version.h>

#include "common/sha256.h"
#include "common/time.h"
#include "datastore/datasets/dataset.h"

#ifndef ORCH_VERSION
#define ORCH_VERSION "0.0.0"
#endif
#ifndef ORCH_GIT_COMMIT
#define ORCH_GIT_COMMIT "unknown"
#endif
#ifndef ORCH_BUILD_TYPE
#define ORCH_BUILD_TYPE "unknown"
#endif

namespace orch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The value after `key` in LibTorch's show_config() ("  - CuDNN 8.9" or "BLAS_INFO=open, ..."),
// up to the end of the line or the next comma; "" when absent.
std::string config_value(const std::string& config, const std::string& key) {
  const auto at = config.find(key);
  if (at == std::string::npos) return "";
  auto begin = at + key.size();
  while (begin < config.size() && (config[begin] == ' ' || config[begin] == '=')) ++begin;
  auto end = config.find_first_of(",\n", begin);
  return config.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The most recently written cache file of dataset `name` (<cache>/<name>-<key>.h5).
std::pair<std::string, std::string> cache_file(const std::string& cache_dir,
                                               const std::string& name) {
  std::error_code ec;
  fs::path best;
  fs::file_time_type best_time{};
  for (const auto& e : fs::directory_iterator(cache_dir, ec)) {
    const std::string f = e.path().filename().string();
    if (e.path().extension() != ".h5" || f.rfind(name + "-", 0) != 0) continue;
    const std::string key = f.substr(name.size() + 1, f.size() - name.size() - 4);
    if (key.size() != 16 || key.find_first_not_of("0123456789abcdef") != std::string::npos)
      continue;
    const auto t = fs::last_write_time(e.path(), ec);
    if (best.empty() || t > best_time) {
      best = e.path();
      best_time = t;
    }
  }
  if (best.empty()) return {"", ""};
  const std::string f = best.filename().string();
  return {best.string(), f.substr(name.size() + 1, 16)};
}

}  // namespace

json build_provenance() {
  const std::string config = at::show_config();
  json j = {{"orch_version", ORCH_VERSION},
            {"git_commit", ORCH_GIT_COMMIT},
            {"build_type", ORCH_BUILD_TYPE},
            {"libtorch", TORCH_VERSION},
            {"blas", config_value(config, "BLAS_INFO")},
            {"cuda", config_value(config, "CUDA Runtime")},
            {"cudnn", config_value(config, "CuDNN")}};
  return j;
}

json run_provenance(const ExperimentConfig& cfg, const json& resolved, const RunContext& ctx,
                    const std::string& started_at) {
  json j = build_provenance();
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  j["host"] = host;
  j["device"] = ctx.device;
  j["threads"] = ctx.threads;
  j["ranks"] = ctx.ranks;
  j["started_at"] = started_at;
  j["finished_at"] = utc_now();
  j["experiment"] = cfg.name;
  j["yaml"] = {{"path", fs::absolute(cfg.file).lexically_normal().string()},
               {"sha256", sha256_file(cfg.file)}};
  j["config_sha256"] = sha256_hex(resolved.dump());
  j["profile"] = cfg.profile;
  json datasets = json::array();
  for (const auto& d : cfg.datasets) {
    json e = {{"name", d.name}, {"kind", d.kind}, {"root", d.root}};
    const fs::path marker = fs::path(d.root) / kPhantomMarker;
    std::ifstream in(marker);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      e["data"] = "phantom";
      e["phantom"] = json::parse(ss.str(), nullptr, false);
    } else {
      e["data"] = "real";
    }
    const auto [file, key] = cache_file(cfg.cache, d.name);
    e["cache_file"] = file;
    e["cache_key"] = key;
    datasets.push_back(e);
  }
  j["datasets"] = datasets;
  return j;
}

}  // namespace orch
