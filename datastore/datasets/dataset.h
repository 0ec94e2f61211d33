// Dataset adapters: each turns a dataset root in its publisher's layout into labelled cases and
// provides the split. Adapters are looked up by `kind` (the YAML's datasets.*.kind) in the
// registry below; each kind also knows how to write its phantom and how to check its options.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "common/status.h"
#include "datastore/formats/volume.h"

namespace orch {

// A case on disk, before loading.
struct CaseRef {
  std::string id;                  // publisher's case id, e.g. "hepaticvessel_001", "img0005"
  std::string group;               // subject: splits never divide a group ("" = the id itself)
  std::vector<std::string> files;  // every input file the case is read from (cache key, errors)
};

struct Split {
  std::vector<std::string> train, val, test;  // case ids
};

class DatasetAdapter {
 public:
  virtual ~DatasetAdapter() = default;
  virtual std::vector<CaseRef> cases() const = 0;   // labelled cases, sorted by id
  virtual Case load(const CaseRef& ref) const = 0;  // throws orch::Error naming the file
  // The split for options.scheme. "random" is make_split over groups; adapters that know a
  // published split (btcv: synapse, monai) override this and call make_split for "random".
  virtual Split split(const std::vector<CaseRef>& cases, const SplitOptions& options) const;
};

// One dataset kind: how to open it, write its phantom and check its options.
struct DatasetKind {
  std::string name;  // the YAML's kind
  std::function<std::unique_ptr<DatasetAdapter>(const DatasetConfig&)> open;
  // Writes a phantom dataset in the publisher's layout under a new folder `root`; returns the
  // number of labelled cases. Deterministic: the same options give the same bytes.
  std::function<int(const std::filesystem::path& root, const PhantomOptions&)> write_phantom;
  // Status::Ok() when `options` suit the kind, else Status::Invalid(offending key, message).
  std::function<Status(const nlohmann::json& options)> check_options;
  std::vector<std::string> split_schemes = {"random"};  // the schemes split() accepts
  // The classes of its labels as orch's YAMLs use them, background first (reports' row names).
  std::vector<std::string> class_names;
};

// Every known kind, in a fixed order.
const std::vector<DatasetKind>& dataset_registry();
// The kind named `name`; throws orch::Error listing the known kinds otherwise.
const DatasetKind& dataset_kind(const std::string& name);
std::vector<std::string> dataset_kinds();
// ConfigValidators::class_names: the kind's class names (empty for an unknown kind).
std::vector<std::string> dataset_class_names(const std::string& kind);

// ConfigValidators::check_dataset_options: the kind's option check plus its split schemes
// (Status::Invalid("split.scheme", ...) for a scheme the kind does not know).
Status check_dataset_options(const std::string& kind, const nlohmann::json& options,
                             const std::string& split_scheme);

// Options helper for adapters: rejects keys outside `allowed` as
// Status::Invalid(key, "unknown option ..."), and options that are not a map as
// Status::Invalid("", "options must be a map").
Status check_option_keys(const nlohmann::json& options, const std::vector<std::string>& allowed);

// Opens `config.root` with the adapter for `config.kind`.
std::unique_ptr<DatasetAdapter> open_dataset(const DatasetConfig& config);

// Writes the kind's phantom into `config.root` when phantoms are enabled and the root is missing
// or empty (beside it first, then renamed into place). Returns true when it generated data.
bool ensure_dataset(const DatasetConfig& config);

// The file a generated phantom carries in its root: JSON {kind, cases, seed, size}. Its presence
// is how a later run and the reports know that a root holds a phantom, not real data.
inline constexpr const char* kPhantomMarker = ".orch-phantom.json";

// Deterministic split by `options` (train/val shares): a seeded shuffle of the sorted groups,
// then train, val, and the rest as test. Each part gets at least one group when there are three
// or more. Cases with an empty group are their own group.
Split make_split(const std::vector<CaseRef>& cases, const SplitOptions& options);
// The same over bare ids (each its own group); `noun` names them in errors.
Split make_split(std::vector<std::string> ids, const SplitOptions& options,
                 const char* noun = "cases");

// A published split given as id lists, restricted to the cases present (phantoms hold fewer
// cases than the real data). Throws orch::Error when train or test ends up empty. Cases that the
// lists do not name are left out.
Split named_split(const std::vector<CaseRef>& cases, const std::vector<std::string>& train,
                  const std::vector<std::string>& val, const std::vector<std::string>& test,
                  const std::string& scheme);

}  // namespace orch
