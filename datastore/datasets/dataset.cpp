#include "datastore/datasets/dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/rng.h"
#include "common/status.h"
#include "common/strings.h"
#include "datastore/datasets/btcv/btcv.h"
#include "datastore/datasets/hepatic_vessel/hepatic_vessel.h"
#include "datastore/datasets/isbi_ms/isbi_ms.h"
#include "datastore/datasets/lidc/lidc.h"
#include "datastore/datasets/mra/mra.h"
#include "datastore/datasets/york_cardiac/york_cardiac.h"

namespace orch {

Split DatasetAdapter::split(const std::vector<CaseRef>& cases, const SplitOptions& options) const {
  if (options.scheme != "random")
    throw Error("unknown split scheme '" + options.scheme + "'; this dataset knows: random");
  return make_split(cases, options);
}

const std::vector<DatasetKind>& dataset_registry() {
  static const std::vector<DatasetKind> kinds = {hepatic_vessel_kind(), mra_kind(),
                                                 york_cardiac_kind(),   btcv_kind(),
                                                 isbi_ms_kind(),        lidc_kind()};
  return kinds;
}

const DatasetKind& dataset_kind(const std::string& name) {
  for (const auto& k : dataset_registry())
    if (k.name == name) return k;
  throw Error("unknown dataset kind '" + name + "'; known: " + join(dataset_kinds()));
}

std::vector<std::string> dataset_kinds() {
  std::vector<std::string> names;
  for (const auto& k : dataset_registry()) names.push_back(k.name);
  return names;
}

std::vector<std::string> dataset_class_names(const std::string& kind) {
  for (const auto& k : dataset_registry())
    if (k.name == kind) return k.class_names;
  return {};
}

Status check_option_keys(const nlohmann::json& options, const std::vector<std::string>& allowed) {
  if (!options.is_object()) return Status::Invalid("", "options must be a map");
  for (const auto& [key, value] : options.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return Status::Invalid(key, "unknown option '" + key + "'; known: " +
                                      (allowed.empty() ? std::string("none") : join(allowed)));
  return Status::Ok();
}

Status check_dataset_options(const std::string& kind, const nlohmann::json& options,
                             const std::string& split_scheme) {
  const DatasetKind* k = nullptr;
  for (const auto& candidate : dataset_registry())
    if (candidate.name == kind) k = &candidate;
  if (!k) return Status::Invalid("", "unknown dataset kind '" + kind + "'");
  if (std::find(k->split_schemes.begin(), k->split_schemes.end(), split_scheme) ==
      k->split_schemes.end())
    return Status::Invalid("split.scheme", "unknown split scheme '" + split_scheme +
                                               "' for kind '" + kind +
                                               "'; known: " + join(k->split_schemes));
  return k->check_options ? k->check_options(options) : check_option_keys(options, {});
}

std::unique_ptr<DatasetAdapter> open_dataset(const DatasetConfig& config) {
  return dataset_kind(config.kind).open(config);
}

bool ensure_dataset(const DatasetConfig& config) {
  if (!config.phantom.enabled || !dir_missing_or_empty(config.root)) return false;
  const DatasetKind& kind = dataset_kind(config.kind);
  spdlog::info("dataset '{}': root '{}' is empty; writing a {}-case {} phantom there (seed {})",
               config.name, config.root, config.phantom.cases, config.kind, config.phantom.seed);
  // Write beside the root and rename into place, so a kill mid-way never leaves a half dataset
  // that later runs would take for real data.
  std::filesystem::path root = std::filesystem::absolute(config.root).lexically_normal();
  if (!root.has_filename()) root = root.parent_path();  // "data/hv/" names the folder "hv"
  const std::filesystem::path partial =
      root.parent_path() /
      ("." + root.filename().string() + ".partial-" + std::to_string(::getpid()));
  std::filesystem::remove_all(partial);
  try {
    kind.write_phantom(partial, config.phantom);
    // Reports name phantom data as such (reports/provenance.h): the marker travels with the data.
    write_file_atomic(partial / kPhantomMarker, nlohmann::json{{"kind", config.kind},
                                                               {"cases", config.phantom.cases},
                                                               {"seed", config.phantom.seed},
                                                               {"size", config.phantom.size}}
                                                        .dump(2) +
                                                    "\n");
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(partial, ec);
    throw;
  }
  std::error_code ec;
  std::filesystem::remove(root, ec);  // an empty folder, if any
  std::filesystem::rename(partial, root, ec);
  if (ec) {
    std::filesystem::remove_all(partial);
    if (dir_missing_or_empty(root))
      throw Error("cannot move the phantom into '" + root.string() + "': " + ec.message());
  }
  return true;
}

Split make_split(const std::vector<CaseRef>& cases, const SplitOptions& options) {
  std::map<std::string, std::vector<std::string>> groups;  // sorted by group name
  for (const auto& c : cases)
    groups[c.group.empty() || !options.group_by_subject ? c.id : c.group].push_back(c.id);
  std::vector<std::string> names;
  for (const auto& [name, ids] : groups) names.push_back(name);
  const Split by_group = make_split(names, options, "subjects");
  Split s;
  const auto expand = [&](const std::vector<std::string>& from, std::vector<std::string>& to) {
    for (const auto& g : from) to.insert(to.end(), groups[g].begin(), groups[g].end());
  };
  expand(by_group.train, s.train);
  expand(by_group.val, s.val);
  expand(by_group.test, s.test);
  if (options.val_is_test) s.val = s.test;
  return s;
}

Split make_split(std::vector<std::string> ids, const SplitOptions& options, const char* noun) {
  std::sort(ids.begin(), ids.end());
  Rng rng(Rng::derive(options.seed, 0x5011));
  for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.below(i)]);
  const auto n = static_cast<double>(ids.size());
  const auto count = [&](double share) {
    return static_cast<std::size_t>(share >= 1 ? share : std::round(share * n));
  };
  // `val: test` validates on the test cases: no val part of its own.
  std::size_t n_train = count(options.train), n_val = options.val_is_test ? 0 : count(options.val);
  // With three or more cases every part gets one (val only when its share is > 0): rounded
  // fractions give way, explicit counts that do not fit are an error below.
  const std::size_t total = ids.size(), min_test = total >= 3 ? 1 : 0;
  if (total >= 3 && options.val_is_test) {
    if (options.train < 1) n_train = std::clamp<std::size_t>(n_train, 1, total - 1);
  } else if (total >= 3) {
    n_val = std::max<std::size_t>(n_val, options.val > 0 ? 1 : 0);
    if (options.val < 1) n_val = std::min(n_val, total - 2);
    // A fractional val gives way to an explicit train count (train: 8, val: 0.2 of 10).
    if (options.val < 1 && options.train >= 1 && n_train + 1 < total)
      n_val = std::min(n_val, std::max<std::size_t>(1, total - n_train - 1));
    n_train = std::max<std::size_t>(n_train, 1);
    if (options.train < 1 && n_val + 2 <= total) n_train = std::min(n_train, total - n_val - 1);
  }
  if (n_train + n_val + min_test > total)
    throw Error("split asks for " + std::to_string(n_train) + " train and " +
                std::to_string(n_val) + " val " + noun + " but the dataset has " +
                std::to_string(total) +
                (min_test ? ", and the test split needs at least one" : ""));
  Split s;
  s.train.assign(ids.begin(), ids.begin() + n_train);
  s.val.assign(ids.begin() + n_train, ids.begin() + n_train + n_val);
  s.test.assign(ids.begin() + n_train + n_val, ids.end());
  if (options.val_is_test) s.val = s.test;
  return s;
}

Split named_split(const std::vector<CaseRef>& cases, const std::vector<std::string>& train,
                  const std::vector<std::string>& val, const std::vector<std::string>& test,
                  const std::string& scheme) {
  std::set<std::string> present;
  for (const auto& c : cases) present.insert(c.id);
  Split s;
  const auto keep = [&](const std::vector<std::string>& from, std::vector<std::string>& to) {
    for (const auto& id : from)
      if (present.count(id)) to.push_back(id);
  };
  keep(train, s.train);
  keep(val, s.val);
  keep(test, s.test);
  if (s.train.empty() || s.test.empty())
    throw Error("split scheme '" + scheme + "': the dataset holds " +
                std::to_string(s.train.size()) + " of its training and " +
                std::to_string(s.test.size()) + " of its test cases; both need at least one");
  return s;
}

}  // namespace orch
