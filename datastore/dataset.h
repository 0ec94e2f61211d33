// Dataset adapters: each turns a dataset root in its publisher's layout into labelled cases and
// provides the split. Adapters are looked up by `kind` (the YAML's datasets.*.kind).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "datastore/volume.h"

namespace orch {

// A case on disk, before loading.
struct CaseRef {
  std::string id;     // e.g. "hepaticvessel_001"
  std::string image;  // path
  std::string label;  // path
};

struct Split {
  std::vector<std::string> train, val, test;  // case ids
};

class DatasetAdapter {
 public:
  virtual ~DatasetAdapter() = default;
  virtual std::vector<CaseRef> cases() const = 0;   // labelled cases, sorted by id
  virtual Case load(const CaseRef& ref) const = 0;  // throws orch::Error naming the file
};

// Known dataset kinds, for config validation and error messages.
std::vector<std::string> dataset_kinds();

// Opens `config.root` with the adapter for `config.kind`.
std::unique_ptr<DatasetAdapter> open_dataset(const DatasetConfig& config);

// Writes the kind's phantom into `config.root` when phantoms are enabled and the root is missing
// or empty. Returns true when it generated data.
bool ensure_dataset(const DatasetConfig& config);

// Deterministic split of `ids` (sorted first) by `options`: a seeded shuffle, then train, val,
// and the rest as test. Each part gets at least one case when there are three or more.
Split make_split(std::vector<std::string> ids, const SplitOptions& options);

}  // namespace orch
