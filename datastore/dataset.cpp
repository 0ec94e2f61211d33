#include "datastore/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/rng.h"
#include "common/status.h"
#include "datastore/msd.h"
#include "datastore/phantom.h"

namespace orch {

std::vector<std::string> dataset_kinds() { return {"hepatic_vessel"}; }

std::unique_ptr<DatasetAdapter> open_dataset(const DatasetConfig& config) {
  if (config.kind == "hepatic_vessel") return std::make_unique<MsdDataset>(config.root);
  throw Error("unknown dataset kind '" + config.kind + "'");
}

bool ensure_dataset(const DatasetConfig& config) {
  if (!config.phantom.enabled || !dir_missing_or_empty(config.root)) return false;
  if (config.kind != "hepatic_vessel")
    throw Error("no phantom generator for dataset kind '" + config.kind + "'");
  spdlog::info("dataset '{}': root '{}' is empty; writing a {}-case {} phantom there (seed {})",
               config.name, config.root, config.phantom.cases, config.kind, config.phantom.seed);
  // Write beside the root and rename into place, so a kill mid-way never leaves a half dataset
  // that later runs would take for real data.
  const std::filesystem::path root = std::filesystem::absolute(config.root).lexically_normal();
  const std::filesystem::path partial =
      root.parent_path() /
      ("." + root.filename().string() + ".partial-" + std::to_string(::getpid()));
  std::filesystem::remove_all(partial);
  write_hepatic_vessel_phantom(partial, config.phantom);
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

Split make_split(std::vector<std::string> ids, const SplitOptions& options) {
  std::sort(ids.begin(), ids.end());
  Rng rng(Rng::derive(options.seed, 0x5011));
  for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.below(i)]);
  const auto n = static_cast<double>(ids.size());
  const auto count = [&](double share) {
    return static_cast<std::size_t>(share >= 1 ? share : std::round(share * n));
  };
  std::size_t n_train = count(options.train), n_val = count(options.val);
  // With three or more cases every part gets one (val only when its share is > 0): rounded
  // fractions give way, explicit counts that do not fit are an error below.
  const std::size_t total = ids.size(), min_test = total >= 3 ? 1 : 0;
  if (total >= 3) {
    n_val = std::max<std::size_t>(n_val, options.val > 0 ? 1 : 0);
    if (options.val < 1) n_val = std::min(n_val, total - 2);
    n_train = std::max<std::size_t>(n_train, 1);
    if (options.train < 1 && n_val + 2 <= total) n_train = std::min(n_train, total - n_val - 1);
  }
  if (n_train + n_val + min_test > total)
    throw Error("split asks for " + std::to_string(n_train) + " train and " +
                std::to_string(n_val) + " val cases but the dataset has " + std::to_string(total) +
                (min_test ? ", and the test split needs at least one" : ""));
  Split s;
  s.train.assign(ids.begin(), ids.begin() + n_train);
  s.val.assign(ids.begin() + n_train, ids.begin() + n_train + n_val);
  s.test.assign(ids.begin() + n_train + n_val, ids.end());
  return s;
}

}  // namespace orch
