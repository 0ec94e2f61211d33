// ResultStore: the SQLite results database of a run (WAL mode). It holds the experiments, their
// trials and trial state machine, the table cells each trial fills, every epoch's record, the
// per-case per-class confusion counts with the metrics derived from them, and the artifacts
// (checkpoints) with checksums.
//
// Contract: only the coordinator (rank 0) writes; any process may read while it does (WAL).
// A trial's state moves pending -> running(attempt, rank) -> done | failed(reason). Writing a
// result is one transaction, so a crash never leaves half a result.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/confusion.h"
#include "datastore/sqlite.h"

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

struct CaseClassCounts {
  std::string case_id;
  int label = 1;  // class index
  ConfusionCounts counts;
  // Surface metrics (worker/surface_metrics.h), mm: NaN when undefined or not computed, +inf when
  // exactly one of prediction and reference is empty. Stored as NULL / REAL Inf.
  double hd95 = nan_value();
  double assd = nan_value();
  double nsd = nan_value();  // surface Dice at the trial's tolerance
};

// One metric of one case and class: dsc, iou, precision, recall (derived from the counts) or
// hd95, assd, nsd (as stored). Throws orch::Error naming any other metric.
double case_class_metric(const CaseClassCounts& c, const std::string& metric);

// A case's value from its per-class values: the mean over the defined (non-NaN) ones, +inf when
// any of them is +inf (a missed or hallucinated structure has no finite surface distance), NaN
// when none is defined.
double mean_over_classes(const std::vector<double>& values);

struct Artifact {
  std::string kind;  // "best", "last"
  std::string path;
  std::string checksum;  // "fnv1a64:<hex>"
  std::int64_t bytes = 0;
};

struct TableCellRecord {
  std::string experiment, table, dataset, model;
  std::uint64_t seed = 0;
  std::string trial_id;
};

class ResultStore {
 public:
  explicit ResultStore(const std::string& path);  // opens or creates, migrates the schema

  // Planning (idempotent).
  void put_experiment(const std::string& name, const std::string& file, const std::string& profile,
                      const nlohmann::json& config);
  void add_trial(const TrialRecord& t);  // inserts as pending unless the id exists already
  // The experiment's table cells become exactly `cells` (a replan drops cells it no longer has).
  void replace_table_cells(const std::string& experiment,
                           const std::vector<TableCellRecord>& cells);
  // Resume: among `ids`, running -> pending (interrupted) and failed -> pending (retry). Trials not
  // listed (other experiments, or ones the current plan no longer has) are left alone. Returns the
  // number requeued.
  int requeue(const std::vector<std::string>& ids);

  // State machine, coordinator only.
  void mark_running(const std::string& id, int rank);              // attempts += 1
  void record_epoch(const std::string& id, const EpochRecord& e);  // replaces a resumed epoch
  void record_done(const std::string& id, const std::vector<CaseClassCounts>& counts,
                   const std::vector<Artifact>& artifacts, const nlohmann::json& metrics,
                   int best_epoch);
  void record_failed(const std::string& id, const std::string& error);

  // Reading.
  std::vector<nlohmann::json> experiments() const;  // {name, file, profile, config}
  std::vector<TrialRecord> trials(const std::string& experiment = "") const;
  std::optional<TrialRecord> trial(const std::string& id) const;
  std::vector<TableCellRecord> table_cells(const std::string& experiment) const;
  std::vector<EpochRecord> epochs(const std::string& id) const;
  std::vector<CaseClassCounts> case_counts(const std::string& id) const;
  std::vector<Artifact> artifacts(const std::string& id) const;

  const std::string& path() const { return db_->path(); }

 private:
  void migrate();
  std::vector<TrialRecord> query_trials(const std::string& where, const std::string& arg) const;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace orch
