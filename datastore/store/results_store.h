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

#include "datastore/store/records.h"
#include "datastore/store/sqlite.h"

namespace orch {

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

  // What produced a run of `experiment` (orchestrator/provenance.h), appended at its end.
  void record_run(const std::string& experiment, const nlohmann::json& provenance);

  // Reading.
  std::vector<nlohmann::json> experiments() const;  // {name, file, profile, config}
  // The provenance of the latest recorded run of `experiment`; nullopt when none was recorded.
  std::optional<nlohmann::json> last_run(const std::string& experiment) const;
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
