// Prepared datasets: every case of a dataset, preprocessed once and kept in the HDF5 cache
// (datastore/cache/h5cache.h), keyed by what decides its content.
//
// The key hashes the cache format version, the dataset kind, its options and num_classes, the
// preprocessing (label_map and steps), and every input file (path relative to the root, size and
// content checksum). A changed input or setting gives a new key and so a new file; a moved data
// folder keeps its key. Files are named <cache_dir>/<dataset name>-<key>.h5.
//
// Building takes an exclusive lock on "<file>.lock", so that concurrent ranks build a missing
// cache once and the rest wait for it and read. A file that fails to open or to verify is logged,
// removed and rebuilt; a corrupt file is never served.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "datastore/datasets/dataset.h"
#include "worker/data/preprocess.h"

namespace orch {

struct CacheInfo {
  std::string path;        // the cache file
  std::string key;         // 16 hex digits
  bool built = false;      // true when this call wrote it
  std::int64_t bytes = 0;  // file size
  int cases = 0;
};

// What the key hashes (canonical JSON, keys sorted).
nlohmann::json cache_key_json(const DatasetConfig& dataset, const std::vector<CaseRef>& cases);

// Makes sure the cache of `dataset` exists and opens (with `verify_all`, that every case passes
// its checksum), building it from `adapter` if needed.
CacheInfo ensure_cache(const DatasetConfig& dataset, const DatasetAdapter& adapter,
                       const std::vector<CaseRef>& cases, const std::string& cache_dir,
                       bool verify_all);

// Reads the cases of each part (e.g. train, val, test ids, in that order) from the dataset's
// cache, building it first when it is missing, and rebuilding it once when a case fails to read
// or verify. The key (and so every input file's checksum) is computed once per call.
std::vector<std::vector<PreparedCase>> load_prepared(
    const DatasetConfig& dataset, const DatasetAdapter& adapter, const std::vector<CaseRef>& cases,
    const std::vector<std::vector<std::string>>& parts, const std::string& cache_dir);

}  // namespace orch
