#include "worker/data/prepare.h"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/progress.h"
#include "common/status.h"
#include "datastore/cache/h5cache.h"

namespace orch {

namespace fs = std::filesystem;

namespace {

CachedCase to_cached(const PreparedCase& p) {
  CachedCase c;
  c.id = p.id;
  c.group = p.group;
  const auto img = p.image.contiguous();
  c.image.channels = img.size(0);
  c.image.dims = {img.size(3), img.size(2), img.size(1)};
  c.image.spacing = p.spacing;
  c.image.affine = p.affine;
  c.image.data.assign(img.data_ptr<float>(), img.data_ptr<float>() + img.numel());
  const auto lab = p.label.contiguous();
  c.label.assign(lab.data_ptr<std::uint8_t>(), lab.data_ptr<std::uint8_t>() + lab.numel());
  c.fg = p.fg;
  return c;
}

PreparedCase from_cached(CachedCase c, int num_classes) {
  PreparedCase p;
  p.id = c.id;
  p.group = c.group;
  const auto& d = c.image.dims;
  p.image =
      torch::from_blob(c.image.data.data(), {c.image.channels, d[2], d[1], d[0]}, torch::kFloat32)
          .clone();
  p.label = torch::from_blob(c.label.data(), {d[2], d[1], d[0]}, torch::kUInt8).clone();
  p.spacing = c.image.spacing;
  p.affine = c.image.affine;
  if (c.fg.size() == static_cast<size_t>(num_classes)) {
    p.fg = std::move(c.fg);
    const int64_t plane = p.label.size(1) * p.label.size(2);
    for (const auto& indices : p.fg)  // ascending per class: collect each class's slices
      for (int64_t n : indices) p.fg_slices.push_back(n / plane);
    std::sort(p.fg_slices.begin(), p.fg_slices.end());
    p.fg_slices.erase(std::unique(p.fg_slices.begin(), p.fg_slices.end()), p.fg_slices.end());
  } else {
    index_foreground(p, num_classes);
  }
  return p;
}

std::string cache_path(const DatasetConfig& d, const std::string& dir, const std::string& key) {
  return (fs::path(dir) / (d.name + "-" + key + ".h5")).string();
}

void build(const DatasetConfig& d, const DatasetAdapter& adapter, const std::vector<CaseRef>& cases,
           const std::string& path, const std::string& key, const std::string& key_json) {
  CacheWriter writer(path, key, key_json);
  ProgressTask progress =
      start_progress("cache " + d.name, static_cast<std::int64_t>(cases.size()), "case");
  for (const CaseRef& ref : cases) {
    progress.set_detail(ref.id);
    PreparedCase p = prepare_case(adapter.load(ref), d.preprocess, d.num_classes);
    p.group = ref.group.empty() ? ref.id : ref.group;
    writer.add(to_cached(p));
    progress.advance();
  }
  progress.set_detail("");
  writer.commit();
  progress.finish();
}

// Opens the file (and with `full`, reads and checks every case); returns false, after a warning,
// when it cannot be served.
bool verify(const std::string& path, const std::string& key, bool full) {
  try {
    const CacheReader reader(path, key);
    if (full)
      for (const auto& id : reader.ids()) reader.read(id);
    return true;
  } catch (const CacheCorrupt& e) {
    spdlog::warn("cache '{}' cannot be served ({}); rebuilding it", path, e.what());
    return false;
  }
}

}  // namespace

nlohmann::json cache_key_json(const DatasetConfig& d, const std::vector<CaseRef>& cases) {
  nlohmann::json pre;
  to_json(pre, d);
  nlohmann::json files = nlohmann::json::array();
  const fs::path root = fs::absolute(d.root).lexically_normal();
  for (const auto& c : cases)
    for (const auto& f : c.files)
      files.push_back({{"case", c.id},
                       {"group", c.group},
                       {"path", fs::absolute(f).lexically_normal().lexically_relative(root)},
                       {"bytes", fs::file_size(f)},
                       {"checksum", file_checksum(f)}});
  return {{"format", kCacheFormatVersion},
          {"kind", d.kind},
          {"options", d.options},
          {"num_classes", d.num_classes},
          {"preprocess", pre.at("preprocess")},
          {"files", files}};
}

CacheInfo ensure_cache(const DatasetConfig& d, const DatasetAdapter& adapter,
                       const std::vector<CaseRef>& cases, const std::string& cache_dir,
                       bool verify_all) {
  const std::string key_json = cache_key_json(d, cases).dump();
  CacheInfo info;
  info.key = hash_hex(key_json);
  info.path = cache_path(d, cache_dir, info.key);
  info.cases = static_cast<int>(cases.size());
  fs::create_directories(cache_dir);
  const FileLock lock(info.path + ".lock", /*wait=*/true);
  if (!fs::exists(info.path) || !verify(info.path, info.key, verify_all)) {
    std::error_code ec;
    fs::remove(info.path, ec);
    spdlog::info("dataset '{}': building cache {} ({} cases)", d.name, info.path, cases.size());
    build(d, adapter, cases, info.path, info.key, key_json);
    info.built = true;
  }
  info.bytes = static_cast<std::int64_t>(fs::file_size(info.path));
  return info;
}

std::vector<std::vector<PreparedCase>> load_prepared(
    const DatasetConfig& d, const DatasetAdapter& adapter, const std::vector<CaseRef>& cases,
    const std::vector<std::vector<std::string>>& parts, const std::string& cache_dir) {
  const CacheInfo info = ensure_cache(d, adapter, cases, cache_dir, /*verify_all=*/false);
  for (int attempt = 0;; ++attempt) {
    try {
      const CacheReader reader(info.path, info.key);
      std::vector<std::vector<PreparedCase>> out(parts.size());
      for (std::size_t p = 0; p < parts.size(); ++p)
        for (const auto& id : parts[p])
          out[p].push_back(from_cached(reader.read(id), d.num_classes));
      return out;
    } catch (const CacheCorrupt& e) {
      // Damaged after ensure_cache opened it, or replaced by another rank meanwhile. Under the
      // lock, verify again: only a file that still fails is removed and rebuilt, so a good cache
      // that another rank has just written is never deleted.
      if (attempt > 0) throw;
      spdlog::warn("cache '{}' failed while reading ({})", info.path, e.what());
      const FileLock lock(info.path + ".lock", /*wait=*/true);
      if (!fs::exists(info.path) || !verify(info.path, info.key, /*full=*/true)) {
        std::error_code ec;
        fs::remove(info.path, ec);
        spdlog::warn("dataset '{}': rebuilding cache {}", d.name, info.path);
        build(d, adapter, cases, info.path, info.key, cache_key_json(d, cases).dump());
      }
    }
  }
}

}  // namespace orch
