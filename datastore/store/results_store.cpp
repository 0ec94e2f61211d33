#include "datastore/store/results_store.h"

#include <cmath>
#include <stdexcept>

#include "common/status.h"

namespace orch {

using nlohmann::json;

namespace {

constexpr int kStoreVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS experiments(
  name TEXT PRIMARY KEY, file TEXT NOT NULL, profile TEXT NOT NULL, config TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE IF NOT EXISTS trials(
  id TEXT PRIMARY KEY, experiment TEXT NOT NULL, model TEXT NOT NULL, dataset TEXT NOT NULL,
  seed INTEGER NOT NULL, spec TEXT NOT NULL,
  state TEXT NOT NULL CHECK(state IN ('pending','running','done','failed')),
  attempts INTEGER NOT NULL DEFAULT 0, rank INTEGER NOT NULL DEFAULT -1,
  error TEXT NOT NULL DEFAULT '', metrics TEXT NOT NULL DEFAULT '{}',
  best_epoch INTEGER NOT NULL DEFAULT -1, started_at TEXT, finished_at TEXT);
CREATE TABLE IF NOT EXISTS table_cells(
  experiment TEXT NOT NULL, table_name TEXT NOT NULL, dataset TEXT NOT NULL, model TEXT NOT NULL,
  seed INTEGER NOT NULL, trial_id TEXT NOT NULL REFERENCES trials(id),
  PRIMARY KEY(experiment, table_name, dataset, model, seed));
CREATE TABLE IF NOT EXISTS epochs(
  trial_id TEXT NOT NULL REFERENCES trials(id), epoch INTEGER NOT NULL, train_loss REAL,
  val_loss REAL, val_dsc REAL, lr REAL, seconds REAL, val_iou REAL, PRIMARY KEY(trial_id, epoch));
CREATE TABLE IF NOT EXISTS case_metrics(
  trial_id TEXT NOT NULL REFERENCES trials(id), case_id TEXT NOT NULL, class INTEGER NOT NULL,
  tp INTEGER NOT NULL, fp INTEGER NOT NULL, fn INTEGER NOT NULL, tn INTEGER NOT NULL,
  dsc REAL, iou REAL, precision REAL, recall REAL, hd95 REAL, assd REAL, nsd REAL,
  dsc_slice REAL, dsc_slice_nonempty REAL, PRIMARY KEY(trial_id, case_id, class));
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT, experiment TEXT NOT NULL, provenance TEXT NOT NULL,
  recorded_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE IF NOT EXISTS artifacts(
  trial_id TEXT NOT NULL REFERENCES trials(id), kind TEXT NOT NULL, path TEXT NOT NULL,
  checksum TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY(trial_id, kind));
)sql";

// Columns added after version 1 shipped, as (table, column, type). A store written before them
// gets each one by ALTER TABLE; old rows read NULL (NaN) there.
struct AddedColumn {
  const char* table;
  const char* column;
  const char* type;
};
constexpr AddedColumn kAddedColumns[] = {{"case_metrics", "hd95", "REAL"},
                                         {"case_metrics", "assd", "REAL"},
                                         {"case_metrics", "nsd", "REAL"},
                                         {"case_metrics", "dsc_slice", "REAL"},
                                         {"case_metrics", "dsc_slice_nonempty", "REAL"},
                                         {"epochs", "val_iou", "REAL"}};

// The ALTER TABLE statements a store still needs (none for a fresh or up-to-date one).
std::vector<std::string> missing_columns(SqliteDb& db) {
  std::vector<std::string> out;
  for (const auto& c : kAddedColumns) {
    auto info = db.prepare(std::string("PRAGMA table_info(") + c.table + ")");
    bool present = false;
    while (info.step()) present = present || info.text(1) == c.column;
    if (!present)
      out.push_back(std::string("ALTER TABLE ") + c.table + " ADD COLUMN " + c.column + " " +
                    c.type);
  }
  return out;
}

}  // namespace

std::string to_string(TrialState s) {
  switch (s) {
    case TrialState::kPending:
      return "pending";
    case TrialState::kRunning:
      return "running";
    case TrialState::kDone:
      return "done";
    case TrialState::kFailed:
      return "failed";
  }
  return "pending";
}

TrialState trial_state_from_string(const std::string& s) {
  if (s == "pending") return TrialState::kPending;
  if (s == "running") return TrialState::kRunning;
  if (s == "done") return TrialState::kDone;
  if (s == "failed") return TrialState::kFailed;
  throw Error("unknown trial state '" + s + "' in the results store");
}

ResultStore::ResultStore(const std::string& path) : db_(std::make_unique<SqliteDb>(path)) {
  migrate();
}

void ResultStore::migrate() {
  auto v = db_->prepare("PRAGMA user_version");
  v.step();
  const auto version = v.int64(0);
  if (version > kStoreVersion)
    throw Error("results store '" + db_->path() + "' has schema version " +
                std::to_string(version) + ", newer than this orch (" +
                std::to_string(kStoreVersion) + ")");
  // An up-to-date store is opened without taking the write lock, so readers never wait on the
  // coordinator.
  if (version == kStoreVersion && missing_columns(*db_).empty()) return;
  SqliteTransaction tx(*db_);
  if (version < kStoreVersion) {
    db_->exec(kSchema);
    db_->exec("PRAGMA user_version=" + std::to_string(kStoreVersion));
  }
  for (const auto& alter : missing_columns(*db_)) db_->exec(alter);
  tx.commit();
}

void ResultStore::put_experiment(const std::string& name, const std::string& file,
                                 const std::string& profile, const json& config) {
  db_->prepare(
         "INSERT INTO experiments(name, file, profile, config) VALUES(?1, ?2, ?3, ?4) "
         "ON CONFLICT(name) DO UPDATE SET file=?2, profile=?3, config=?4, "
         "updated_at=datetime('now')")
      .bind(1, name)
      .bind(2, file)
      .bind(3, profile)
      .bind(4, config.dump())
      .run();
}

void ResultStore::add_trial(const TrialRecord& t) {
  db_->prepare(
         "INSERT OR IGNORE INTO trials(id, experiment, model, dataset, seed, spec, state) "
         "VALUES(?, ?, ?, ?, ?, ?, 'pending')")
      .bind(1, t.id)
      .bind(2, t.experiment)
      .bind(3, t.model)
      .bind(4, t.dataset)
      .bind(5, static_cast<std::int64_t>(t.seed))
      .bind(6, t.spec.dump())
      .run();
}

void ResultStore::replace_table_cells(const std::string& experiment,
                                      const std::vector<TableCellRecord>& cells) {
  SqliteTransaction tx(*db_);
  db_->prepare("DELETE FROM table_cells WHERE experiment=?").bind(1, experiment).run();
  for (const auto& c : cells)
    db_->prepare("INSERT OR REPLACE INTO table_cells VALUES(?, ?, ?, ?, ?, ?)")
        .bind(1, c.experiment)
        .bind(2, c.table)
        .bind(3, c.dataset)
        .bind(4, c.model)
        .bind(5, static_cast<std::int64_t>(c.seed))
        .bind(6, c.trial_id)
        .run();
  tx.commit();
}

int ResultStore::requeue(const std::vector<std::string>& ids) {
  SqliteTransaction tx(*db_);
  int changed = 0;
  for (const auto& id : ids) {
    db_->prepare("UPDATE trials SET state='pending' WHERE id=? AND state IN ('running','failed')")
        .bind(1, id)
        .run();
    changed += sqlite3_changes(db_->handle());
  }
  tx.commit();
  return changed;
}

void ResultStore::mark_running(const std::string& id, int rank) {
  db_->prepare(
         "UPDATE trials SET state='running', attempts=attempts+1, rank=?, error='', "
         "started_at=datetime('now') WHERE id=?")
      .bind(1, rank)
      .bind(2, id)
      .run();
}

void ResultStore::record_epoch(const std::string& id, const EpochRecord& e) {
  db_->prepare(
         "INSERT OR REPLACE INTO epochs(trial_id, epoch, train_loss, val_loss, val_dsc, lr, "
         "seconds, val_iou) VALUES(?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, id)
      .bind(2, e.epoch)
      .bind(3, e.train_loss)
      .bind(4, e.val_loss)
      .bind(5, e.val_dsc)
      .bind(6, e.lr)
      .bind(7, e.seconds)
      .bind(8, e.val_iou)
      .run();
}

void ResultStore::record_done(const std::string& id, const std::vector<CaseClassCounts>& counts,
                              const std::vector<Artifact>& artifacts, const json& metrics,
                              int best_epoch) {
  SqliteTransaction tx(*db_);
  db_->prepare("DELETE FROM case_metrics WHERE trial_id=?").bind(1, id).run();
  for (const auto& c : counts) {
    const ConfusionCounts& k = c.counts;
    db_->prepare(
           "INSERT INTO case_metrics(trial_id, case_id, class, tp, fp, fn, tn, dsc, iou, "
           "precision, recall, hd95, assd, nsd, dsc_slice, dsc_slice_nonempty) "
           "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, id)
        .bind(2, c.case_id)
        .bind(3, c.label)
        .bind(4, k.tp)
        .bind(5, k.fp)
        .bind(6, k.fn)
        .bind(7, k.tn)
        .bind(8, dice(k))
        .bind(9, iou(k))
        .bind(10, precision(k))
        .bind(11, recall(k))
        .bind(12, c.hd95)  // NaN -> NULL, +inf -> REAL Inf
        .bind(13, c.assd)
        .bind(14, c.nsd)
        .bind(15, c.dsc_slice)  // NaN -> NULL
        .bind(16, c.dsc_slice_nonempty)
        .run();
  }
  for (const auto& a : artifacts)
    db_->prepare("INSERT OR REPLACE INTO artifacts VALUES(?, ?, ?, ?, ?)")
        .bind(1, id)
        .bind(2, a.kind)
        .bind(3, a.path)
        .bind(4, a.checksum)
        .bind(5, a.bytes)
        .run();
  db_->prepare(
         "UPDATE trials SET state='done', error='', metrics=?, best_epoch=?, "
         "finished_at=datetime('now') WHERE id=?")
      .bind(1, metrics.dump())
      .bind(2, best_epoch)
      .bind(3, id)
      .run();
  tx.commit();
}

void ResultStore::record_failed(const std::string& id, const std::string& error) {
  db_->prepare("UPDATE trials SET state='failed', error=?, finished_at=datetime('now') WHERE id=?")
      .bind(1, error)
      .bind(2, id)
      .run();
}

void ResultStore::record_run(const std::string& experiment, const json& provenance) {
  db_->prepare("INSERT INTO runs(experiment, provenance) VALUES(?1, ?2)")
      .bind(1, experiment)
      .bind(2, provenance.dump())
      .run();
}

std::optional<json> ResultStore::last_run(const std::string& experiment) const {
  auto s =
      db_->prepare("SELECT provenance FROM runs WHERE experiment = ?1 ORDER BY id DESC LIMIT 1");
  s.bind(1, experiment);
  if (!s.step()) return std::nullopt;
  return json::parse(s.text(0));
}

std::vector<json> ResultStore::experiments() const {
  std::vector<json> out;
  auto s = db_->prepare("SELECT name, file, profile, config FROM experiments ORDER BY name");
  while (s.step())
    out.push_back({{"name", s.text(0)},
                   {"file", s.text(1)},
                   {"profile", s.text(2)},
                   {"config", json::parse(s.text(3))}});
  return out;
}

std::vector<TrialRecord> ResultStore::query_trials(const std::string& where,
                                                   const std::string& arg) const {
  auto s = db_->prepare(
      "SELECT id, experiment, model, dataset, seed, spec, state, attempts, rank, error, metrics, "
      "best_epoch FROM trials " +
      where + " ORDER BY experiment, dataset, model, seed, id");
  if (!arg.empty()) s.bind(1, arg);
  std::vector<TrialRecord> out;
  while (s.step()) {
    TrialRecord t;
    t.id = s.text(0);
    t.experiment = s.text(1);
    t.model = s.text(2);
    t.dataset = s.text(3);
    t.seed = static_cast<std::uint64_t>(s.int64(4));
    t.spec = json::parse(s.text(5));
    t.state = trial_state_from_string(s.text(6));
    t.attempts = static_cast<int>(s.int64(7));
    t.rank = static_cast<int>(s.int64(8));
    t.error = s.text(9);
    t.metrics = json::parse(s.text(10));
    t.best_epoch = static_cast<int>(s.int64(11));
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<TrialRecord> ResultStore::trials(const std::string& experiment) const {
  return experiment.empty() ? query_trials("", "") : query_trials("WHERE experiment=?", experiment);
}

std::optional<TrialRecord> ResultStore::trial(const std::string& id) const {
  auto rows = query_trials("WHERE id=?", id);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<TableCellRecord> ResultStore::table_cells(const std::string& experiment) const {
  auto s = db_->prepare(
      "SELECT experiment, table_name, dataset, model, seed, trial_id FROM table_cells "
      "WHERE experiment=? ORDER BY table_name, dataset, model, seed");
  s.bind(1, experiment);
  std::vector<TableCellRecord> out;
  while (s.step())
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3),
                   static_cast<std::uint64_t>(s.int64(4)), s.text(5)});
  return out;
}

std::vector<EpochRecord> ResultStore::epochs(const std::string& id) const {
  auto s = db_->prepare(
      "SELECT epoch, train_loss, val_loss, val_dsc, lr, seconds, val_iou FROM epochs "
      "WHERE trial_id=? ORDER BY epoch");
  s.bind(1, id);
  std::vector<EpochRecord> out;
  while (s.step())
    out.push_back({static_cast<int>(s.int64(0)), s.real(1), s.real(2), s.real(3), s.real(4),
                   s.real(5), s.real(6)});
  return out;
}

std::vector<CaseClassCounts> ResultStore::case_counts(const std::string& id) const {
  auto s = db_->prepare(
      "SELECT case_id, class, tp, fp, fn, tn, hd95, assd, nsd, dsc_slice, dsc_slice_nonempty "
      "FROM case_metrics WHERE trial_id=? ORDER BY case_id, class");
  s.bind(1, id);
  std::vector<CaseClassCounts> out;
  while (s.step())
    out.push_back({s.text(0), static_cast<int>(s.int64(1)),
                   ConfusionCounts{s.int64(2), s.int64(3), s.int64(4), s.int64(5)}, s.real(6),
                   s.real(7), s.real(8), s.real(9), s.real(10)});
  return out;
}

std::vector<Artifact> ResultStore::artifacts(const std::string& id) const {
  auto s = db_->prepare(
      "SELECT kind, path, checksum, bytes FROM artifacts WHERE trial_id=? ORDER BY kind");
  s.bind(1, id);
  std::vector<Artifact> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.int64(3)});
  return out;
}

}  // namespace orch
