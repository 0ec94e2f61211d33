// Plain records of the results store: what a trial, an epoch, an artifact and a table cell are.
// No SQLite here: the worker and the protocol use these records without the database header.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/metrics/metric.h"

namespace orch {

enum class TrialState { kPending, kRunning, kDone, kFailed };
std::string to_string(TrialState s);
TrialState trial_state_from_string(const std::string& s);

struct TrialRecord {
  std::string id;          // stable hash of the resolved config
  std::string experiment;  // experiment name that first planned it
  std::string model;       // model name in the YAML
  std::string dataset;     // dataset name in the YAML
  std::uint64_t seed = 0;
  nlohmann::json spec;  // the resolved trial config
  TrialState state = TrialState::kPending;
  int attempts = 0;                                   // assignments so far
  int rank = -1;                                      // rank of the latest attempt, -1 if never run
  std::string error;                                  // failure reason, "" unless failed
  nlohmann::json metrics = nlohmann::json::object();  // summary, e.g. {"dsc": 0.8, "iou": 0.7}
  int best_epoch = -1;
};

struct EpochRecord {
  int epoch = 0;  // 0-based
  double train_loss = 0;
  double val_loss = 0;
  double val_dsc = 0;  // mean foreground DSC over validation cases
  double lr = 0;
  double seconds = 0;  // wall time of the epoch
  double val_iou = 0;  // mean foreground IoU over validation cases
};

struct Artifact {
  std::string kind;  // "best", "last"
  std::string path;
  std::string checksum;  // "fnv1a64:<hex>"
  std::int64_t bytes = 0;
};

// Cells of a table's untrained baseline (`baseline: untrained`) are stored under the table's
// name plus this suffix, beside the trained cells.
inline constexpr const char* kBaselineSuffix = "/untrained";

struct TableCellRecord {
  std::string experiment, table, dataset, model;
  std::uint64_t seed = 0;
  std::string trial_id;
};

}  // namespace orch
