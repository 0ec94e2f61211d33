// ResultStore on a real SQLite file: schema, WAL mode, the trial state machine, per-epoch and
// per-case records, and refusal of stores written by a newer orch.
#include "datastore/store/results_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/status.h"

namespace orch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A raw sqlite3 connection, independent of orch's wrappers, to look at what was written.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Every row of `sql` as strings; SQL NULL reads as "<null>".
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const auto* t = sqlite3_column_text(s, i);
        row.push_back(sqlite3_column_type(s, i) == SQLITE_NULL ? "<null>"
                                                               : reinterpret_cast<const char*>(t));
      }
      out.push_back(row);
    }
    sqlite3_finalize(s);
    return out;
  }
  // The REAL columns of the first row of `sql`, read as doubles (not through text).
  std::vector<double> reals(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db_));
    std::vector<double> out;
    if (sqlite3_step(s) == SQLITE_ROW)
      for (int i = 0; i < sqlite3_column_count(s); ++i) out.push_back(sqlite3_column_double(s, i));
    sqlite3_finalize(s);
    return out;
  }
  std::string scalar(const std::string& sql) {
    const auto r = rows(sql);
    if (r.empty() || r[0].empty()) throw std::runtime_error("no row for " + sql);
    return r[0][0];
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(msg);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

class ResultStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("orch_results_store_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "results.sqlite").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static TrialRecord trial(const std::string& id, std::uint64_t seed = 0) {
    TrialRecord t;
    t.id = id;
    t.experiment = "exp";
    t.model = "unet";
    t.dataset = "vessels";
    t.seed = seed;
    t.spec = json{{"lr", 0.001}, {"seed", seed}};
    return t;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(ResultStoreTest, CreatesTheSchemaInWalMode) {
  { ResultStore store(path_); }
  ASSERT_TRUE(fs::exists(path_));
  RawDb raw(path_);
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");  // WAL persists in the file
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), "1");
  std::set<std::string> tables;
  for (const auto& r : raw.rows("SELECT name FROM sqlite_master WHERE type='table'"))
    tables.insert(r[0]);
  for (const char* t :
       {"experiments", "trials", "table_cells", "epochs", "case_metrics", "artifacts"})
    EXPECT_EQ(tables.count(t), 1u) << t;
}

TEST_F(ResultStoreTest, NewTrialIsPendingAndNeverRun) {
  ResultStore store(path_);
  store.add_trial(trial("t1", 4));
  const auto t = store.trial("t1");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, TrialState::kPending);
  EXPECT_EQ(t->attempts, 0);
  EXPECT_EQ(t->rank, -1);
  EXPECT_EQ(t->error, "");
  EXPECT_EQ(t->best_epoch, -1);
  EXPECT_EQ(t->metrics, json::object());
  EXPECT_EQ(t->experiment, "exp");
  EXPECT_EQ(t->model, "unet");
  EXPECT_EQ(t->dataset, "vessels");
  EXPECT_EQ(t->seed, 4u);
  EXPECT_EQ(t->spec, (json{{"lr", 0.001}, {"seed", 4}}));
  EXPECT_FALSE(store.trial("absent").has_value());
}

TEST_F(ResultStoreTest, AddingAnExistingTrialAgainDoesNotResetIt) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  store.mark_running("t1", 2);
  TrialRecord again = trial("t1");
  again.experiment = "renamed";  // a renamed experiment finds the same trial
  store.add_trial(again);
  const auto t = store.trial("t1");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, TrialState::kRunning);
  EXPECT_EQ(t->attempts, 1);
  EXPECT_EQ(t->rank, 2);
  EXPECT_EQ(t->experiment, "exp");  // the experiment that first planned it
  EXPECT_EQ(store.trials().size(), 1u);
}

TEST_F(ResultStoreTest, TrialMovesFromPendingThroughRunningToDone) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));

  store.mark_running("t1", 3);
  auto t = store.trial("t1");
  EXPECT_EQ(t->state, TrialState::kRunning);
  EXPECT_EQ(t->attempts, 1);
  EXPECT_EQ(t->rank, 3);

  const std::vector<CaseClassCounts> counts = {{"case_a", 1, {6, 2, 4, 100}},
                                               {"case_b", 1, {0, 0, 0, 50}}};
  const std::vector<Artifact> artifacts = {{"best", "/runs/t1/best.pt", "fnv1a64:0123", 4096},
                                           {"last", "/runs/t1/last.pt", "fnv1a64:4567", 4097}};
  store.record_done("t1", counts, artifacts, json{{"dsc", 0.8}, {"iou", 0.7}}, 6);

  t = store.trial("t1");
  EXPECT_EQ(t->state, TrialState::kDone);
  EXPECT_EQ(t->attempts, 1);
  EXPECT_EQ(t->rank, 3);
  EXPECT_EQ(t->best_epoch, 6);
  EXPECT_EQ(t->metrics, (json{{"dsc", 0.8}, {"iou", 0.7}}));
  EXPECT_EQ(t->error, "");

  const auto stored = store.artifacts("t1");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].kind, "best");
  EXPECT_EQ(stored[0].path, "/runs/t1/best.pt");
  EXPECT_EQ(stored[0].checksum, "fnv1a64:0123");
  EXPECT_EQ(stored[0].bytes, 4096);
  EXPECT_EQ(stored[1].kind, "last");
  EXPECT_EQ(stored[1].bytes, 4097);

  // The derived metrics are written beside the counts: 2*6/(12+2+4), 6/12, 6/8, 6/10.
  RawDb raw(path_);
  const auto row = raw.reals(
      "SELECT dsc, iou, precision, recall FROM case_metrics WHERE trial_id='t1' AND "
      "case_id='case_a'");
  ASSERT_EQ(row.size(), 4u);
  EXPECT_DOUBLE_EQ(row[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(row[1], 0.5);
  EXPECT_DOUBLE_EQ(row[2], 0.75);
  EXPECT_DOUBLE_EQ(row[3], 0.6);
}

TEST_F(ResultStoreTest, EachAssignmentCountsAsAnAttempt) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  store.mark_running("t1", 1);
  store.record_failed("t1", "out of memory");
  EXPECT_EQ(store.requeue({"t1"}), 1);
  store.mark_running("t1", 2);
  const auto t = store.trial("t1");
  EXPECT_EQ(t->attempts, 2);
  EXPECT_EQ(t->rank, 2);    // the latest attempt's rank
  EXPECT_EQ(t->error, "");  // a new attempt clears the old reason
}

TEST_F(ResultStoreTest, FailedTrialKeepsItsError) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  store.mark_running("t1", 1);
  store.record_failed("t1", "CUDA error: device-side assert; see rank 1 log");
  const auto t = store.trial("t1");
  EXPECT_EQ(t->state, TrialState::kFailed);
  EXPECT_EQ(t->error, "CUDA error: device-side assert; see rank 1 log");
  EXPECT_EQ(t->attempts, 1);
}

TEST_F(ResultStoreTest, RequeueMovesRunningAndFailedBackToPending) {
  ResultStore store(path_);
  const std::vector<std::string> ids = {"pending", "running", "failed", "done"};
  for (const auto& id : ids) store.add_trial(trial(id.c_str()));
  store.mark_running("running", 1);
  store.mark_running("failed", 2);
  store.record_failed("failed", "boom");
  store.mark_running("done", 3);
  store.record_done("done", {}, {}, json::object(), 0);

  EXPECT_EQ(store.requeue(ids), 2);
  EXPECT_EQ(store.trial("pending")->state, TrialState::kPending);
  EXPECT_EQ(store.trial("running")->state, TrialState::kPending);
  EXPECT_EQ(store.trial("failed")->state, TrialState::kPending);
  EXPECT_EQ(store.trial("done")->state, TrialState::kDone);
  // Attempts are history: requeueing does not reset them.
  EXPECT_EQ(store.trial("running")->attempts, 1);
  EXPECT_EQ(store.trial("failed")->attempts, 1);

  EXPECT_EQ(store.requeue(ids), 0);  // nothing left to requeue
}

TEST_F(ResultStoreTest, RequeueLeavesTrialsOutsideThePlanAlone) {
  ResultStore store(path_);
  for (const char* id : {"planned", "stale"}) {
    store.add_trial(trial(id));
    store.mark_running(id, 1);
  }
  EXPECT_EQ(store.requeue({"planned", "unknown"}), 1);
  EXPECT_EQ(store.trial("planned")->state, TrialState::kPending);
  EXPECT_EQ(store.trial("stale")->state, TrialState::kRunning);
}

TEST_F(ResultStoreTest, RecordingAnEpochTwiceReplacesIt) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  store.record_epoch("t1", {0, 1.0, 0.9, 0.1, 0.01, 2.5});
  store.record_epoch("t1", {1, 0.8, 0.7, 0.2, 0.01, 2.0});
  store.record_epoch("t1", {1, 0.6, 0.5, 0.3, 0.005, 1.5});  // resumed run redoes epoch 1

  const auto e = store.epochs("t1");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].epoch, 0);
  EXPECT_DOUBLE_EQ(e[0].train_loss, 1.0);
  EXPECT_EQ(e[1].epoch, 1);
  EXPECT_DOUBLE_EQ(e[1].train_loss, 0.6);
  EXPECT_DOUBLE_EQ(e[1].val_loss, 0.5);
  EXPECT_DOUBLE_EQ(e[1].val_dsc, 0.3);
  EXPECT_DOUBLE_EQ(e[1].lr, 0.005);
  EXPECT_DOUBLE_EQ(e[1].seconds, 1.5);

  RawDb raw(path_);
  EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM epochs WHERE trial_id='t1' AND epoch=1"), "1");
}

TEST_F(ResultStoreTest, EpochsAreReturnedInEpochOrder) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  for (int epoch : {2, 0, 1}) store.record_epoch("t1", {epoch, 0, 0, 0, 0, 0});
  const auto e = store.epochs("t1");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].epoch, 0);
  EXPECT_EQ(e[1].epoch, 1);
  EXPECT_EQ(e[2].epoch, 2);
  EXPECT_TRUE(store.epochs("other").empty());
}

TEST_F(ResultStoreTest, NaNValidationDiceIsStoredAsNullAndReadBackAsNaN) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  store.record_epoch("t1", {0, 1.0, 0.9, std::numeric_limits<double>::quiet_NaN(), 0.01, 1.0});
  RawDb raw(path_);
  EXPECT_EQ(raw.scalar("SELECT val_dsc FROM epochs WHERE trial_id='t1'"), "<null>");
  EXPECT_TRUE(std::isnan(store.epochs("t1").at(0).val_dsc));
}

TEST_F(ResultStoreTest, CaseCountsRoundTrip) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  const std::int64_t big = std::int64_t{1} << 40;  // beyond 32 bits
  const std::vector<CaseClassCounts> counts = {{"case_b", 2, {1, 2, 3, 4}},
                                               {"case_a", 1, {big, 0, 7, big + 1}},
                                               {"case_a", 2, {0, 0, 0, 9}}};
  store.record_done("t1", counts, {}, json::object(), 0);

  const auto back = store.case_counts("t1");
  ASSERT_EQ(back.size(), 3u);
  // Ordered by case, then class.
  EXPECT_EQ(back[0].case_id, "case_a");
  EXPECT_EQ(back[0].label, 1);
  EXPECT_EQ(back[0].counts.tp, big);
  EXPECT_EQ(back[0].counts.fp, 0);
  EXPECT_EQ(back[0].counts.fn, 7);
  EXPECT_EQ(back[0].counts.tn, big + 1);
  EXPECT_EQ(back[1].case_id, "case_a");
  EXPECT_EQ(back[1].label, 2);
  EXPECT_EQ(back[1].counts.tn, 9);
  EXPECT_EQ(back[2].case_id, "case_b");
  EXPECT_EQ(back[2].label, 2);
  EXPECT_EQ(back[2].counts.tp, 1);
  EXPECT_EQ(back[2].counts.fp, 2);
  EXPECT_EQ(back[2].counts.fn, 3);
  EXPECT_EQ(back[2].counts.tn, 4);
  EXPECT_TRUE(store.case_counts("other").empty());
}

TEST_F(ResultStoreTest, RecordingDoneAgainReplacesTheCaseRows) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  store.record_done("t1", {{"a", 1, {1, 1, 1, 1}}, {"b", 1, {2, 2, 2, 2}}}, {}, json::object(), 0);
  store.record_done("t1", {{"a", 1, {5, 0, 0, 5}}}, {}, json::object(), 1);
  const auto back = store.case_counts("t1");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].counts.tp, 5);
  EXPECT_EQ(store.trial("t1")->best_epoch, 1);
}

TEST_F(ResultStoreTest, UndefinedMetricsOfEmptyMasksAreStoredAsNull) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  store.record_done("t1",
                    {{"empty", 1, {0, 0, 0, 100}},        // both masks empty: all undefined
                     {"false_alarm", 1, {0, 5, 0, 95}}},  // empty reference: recall undefined
                    {}, json::object(), 0);
  RawDb raw(path_);
  const auto empty =
      raw.rows("SELECT dsc, iou, precision, recall FROM case_metrics WHERE case_id='empty'");
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0], (std::vector<std::string>{"<null>", "<null>", "<null>", "<null>"}));
  const auto alarm =
      raw.rows("SELECT dsc, iou, precision, recall FROM case_metrics WHERE case_id='false_alarm'");
  ASSERT_EQ(alarm.size(), 1u);
  EXPECT_EQ(alarm[0][0], "0.0");  // SQLite's text form of the REAL 0
  EXPECT_EQ(alarm[0][2], "0.0");
  EXPECT_EQ(alarm[0][3], "<null>");
  // The counts themselves are always kept.
  EXPECT_EQ(raw.scalar("SELECT tn FROM case_metrics WHERE case_id='empty'"), "100");
}

TEST_F(ResultStoreTest, DoneForAnUnknownTrialFailsAndWritesNothing) {
  ResultStore store(path_);
  EXPECT_THROW(store.record_done("ghost", {{"a", 1, {1, 1, 1, 1}}}, {}, json::object(), 0), Error);
  RawDb raw(path_);
  EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM case_metrics"), "0");
}

TEST_F(ResultStoreTest, ExperimentsAndTableCellsAreUpserted) {
  ResultStore store(path_);
  store.put_experiment("exp", "a.yaml", "quick", json{{"k", 1}});
  store.put_experiment("exp", "b.yaml", "", json{{"k", 2}});
  const auto exps = store.experiments();
  ASSERT_EQ(exps.size(), 1u);
  EXPECT_EQ(exps[0]["file"], "b.yaml");
  EXPECT_EQ(exps[0]["profile"], "");
  EXPECT_EQ(exps[0]["config"], (json{{"k", 2}}));

  store.add_trial(trial("t1"));
  store.add_trial(trial("t2"));
  store.add_trial(trial("t3"));
  store.replace_table_cells("exp", {{"exp", "tab", "vessels", "unet", 0, "t1"},
                                    {"exp", "tab", "vessels", "unet", 1, "t3"}});
  store.replace_table_cells("other", {{"other", "tab", "vessels", "unet", 0, "t1"}});
  // Replan with one seed and another trial in the cell: the seed-1 cell is gone.
  store.replace_table_cells("exp", {{"exp", "tab", "vessels", "unet", 0, "t2"}});
  const auto cells = store.table_cells("exp");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].trial_id, "t2");
  EXPECT_EQ(store.table_cells("other").size(), 1u);  // other experiments keep theirs
}

TEST_F(ResultStoreTest, TrialsCanBeListedPerExperiment) {
  ResultStore store(path_);
  TrialRecord a = trial("a"), b = trial("b");
  b.experiment = "other";
  store.add_trial(a);
  store.add_trial(b);
  EXPECT_EQ(store.trials().size(), 2u);
  ASSERT_EQ(store.trials("other").size(), 1u);
  EXPECT_EQ(store.trials("other")[0].id, "b");
  EXPECT_TRUE(store.trials("none").empty());
}

TEST_F(ResultStoreTest, LargestSeedSurvivesTheSignedColumn) {
  ResultStore store(path_);
  const std::uint64_t seed = std::numeric_limits<std::uint64_t>::max();
  store.add_trial(trial("t1", seed));
  EXPECT_EQ(store.trial("t1")->seed, seed);
}

TEST_F(ResultStoreTest, StoreFromANewerOrchIsRefusedNamingTheFile) {
  { ResultStore store(path_); }
  {
    RawDb raw(path_);
    raw.exec("PRAGMA user_version=2");
  }
  try {
    ResultStore store(path_);
    FAIL() << "a store with user_version 2 was opened";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path_), std::string::npos) << what;
    EXPECT_NE(what.find("version 2"), std::string::npos) << what;
  }
}

TEST_F(ResultStoreTest, ReopeningTheFileKeepsEverything) {
  {
    ResultStore store(path_);
    store.put_experiment("exp", "e.yaml", "quick", json{{"name", "exp"}});
    store.add_trial(trial("t1", 3));
    store.add_trial(trial("t2"));
    store.replace_table_cells("exp", {{"exp", "tab", "vessels", "unet", 3, "t1"}});
    store.mark_running("t1", 1);
    store.record_epoch("t1", {0, 1.0, 0.9, 0.4, 0.01, 3.0});
    store.record_done("t1", {{"case_a", 1, {6, 2, 4, 100}}},
                      {{"best", "/x/best.pt", "fnv1a64:00", 10}}, json{{"dsc", 0.66}}, 0);
    store.mark_running("t2", 2);
    store.record_failed("t2", "killed");
  }
  ResultStore store(path_);
  EXPECT_EQ(store.experiments().size(), 1u);
  EXPECT_EQ(store.trials().size(), 2u);
  const auto t1 = store.trial("t1");
  ASSERT_TRUE(t1.has_value());
  EXPECT_EQ(t1->state, TrialState::kDone);
  EXPECT_EQ(t1->seed, 3u);
  EXPECT_EQ(t1->metrics, (json{{"dsc", 0.66}}));
  EXPECT_EQ(store.epochs("t1").size(), 1u);
  ASSERT_EQ(store.case_counts("t1").size(), 1u);
  EXPECT_EQ(store.case_counts("t1")[0].counts.fn, 4);
  EXPECT_EQ(store.artifacts("t1").size(), 1u);
  EXPECT_EQ(store.table_cells("exp").size(), 1u);
  const auto t2 = store.trial("t2");
  EXPECT_EQ(t2->state, TrialState::kFailed);
  EXPECT_EQ(t2->error, "killed");
  // Reopening does not requeue by itself.
  EXPECT_EQ(store.requeue({"t1", "t2"}), 1);
}

TEST_F(ResultStoreTest, AReaderSeesCommittedResultsWhileTheWriterIsOpen) {
  ResultStore writer(path_);
  writer.add_trial(trial("t1"));
  writer.mark_running("t1", 1);
  ResultStore reader(path_);
  EXPECT_EQ(reader.trial("t1")->state, TrialState::kRunning);
  writer.record_done("t1", {}, {}, json{{"dsc", 0.5}}, 0);
  EXPECT_EQ(reader.trial("t1")->state, TrialState::kDone);
}

TEST_F(ResultStoreTest, SurfaceMetricsAreStoredWithNaNAsNullAndInfinityAsRealInf) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  const double inf = std::numeric_limits<double>::infinity();
  CaseClassCounts both{"both", 1, {5, 1, 1, 90}};
  both.hd95 = 2.5;
  both.assd = 1.25;
  both.nsd = 0.75;
  CaseClassCounts missed{"missed", 1, {0, 0, 7, 90}};  // empty prediction
  missed.hd95 = inf;
  missed.assd = inf;
  missed.nsd = 0.0;
  const CaseClassCounts unscored{"unscored", 1, {1, 0, 0, 9}};  // surface metrics left NaN
  store.record_done("t1", {both, missed, unscored}, {}, json::object(), 0);

  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT hd95, assd, nsd FROM case_metrics WHERE case_id='both'")[0],
            (std::vector<std::string>{"2.5", "1.25", "0.75"}));
  EXPECT_EQ(raw.rows("SELECT typeof(hd95), hd95 > 1e308, quote(assd), nsd FROM case_metrics "
                     "WHERE case_id='missed'")[0],
            (std::vector<std::string>{"real", "1", "Inf", "0.0"}));
  EXPECT_EQ(raw.rows("SELECT hd95, assd, nsd FROM case_metrics WHERE case_id='unscored'")[0],
            (std::vector<std::string>{"<null>", "<null>", "<null>"}));

  const auto back = store.case_counts("t1");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].hd95, 2.5);
  EXPECT_EQ(back[0].assd, 1.25);
  EXPECT_EQ(back[0].nsd, 0.75);
  EXPECT_EQ(back[1].hd95, inf);
  EXPECT_EQ(back[1].assd, inf);
  EXPECT_EQ(back[1].nsd, 0.0);
  EXPECT_TRUE(std::isnan(back[2].hd95));
  EXPECT_TRUE(std::isnan(back[2].nsd));
}

TEST_F(ResultStoreTest, EpochValidationIouRoundTripsAndOldStoresGainItsColumn) {
  {
    ResultStore store(path_);
    store.add_trial(trial("t1"));
    store.record_epoch("t1", {0, 1.0, 0.9, 0.1, 0.01, 2.5, 0.25});
  }
  {  // a store from before epochs had val_iou
    RawDb raw(path_);
    raw.exec("ALTER TABLE epochs DROP COLUMN val_iou");
  }
  ResultStore store(path_);
  EXPECT_TRUE(std::isnan(store.epochs("t1").at(0).val_iou));  // the old row reads NULL
  store.record_epoch("t1", {1, 0.8, 0.7, 0.2, 0.01, 2.0, 0.125});
  EXPECT_DOUBLE_EQ(store.epochs("t1").at(1).val_iou, 0.125);
  RawDb raw(path_);
  EXPECT_EQ(raw.scalar("SELECT val_iou FROM epochs WHERE trial_id='t1' AND epoch=1"), "0.125");
}

TEST_F(ResultStoreTest, AStoreWrittenBeforeSurfaceMetricsGainsTheColumnsAndKeepsItsRows) {
  {
    ResultStore store(path_);
    store.add_trial(trial("t1"));
    store.record_done("t1", {{"old", 1, {6, 2, 4, 100}}}, {}, json::object(), 0);
  }
  {  // make it look like a store from before the columns existed
    RawDb raw(path_);
    for (const char* c : {"hd95", "assd", "nsd"})
      raw.exec(std::string("ALTER TABLE case_metrics DROP COLUMN ") + c);
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM pragma_table_info('case_metrics') "
                         "WHERE name IN ('hd95','assd','nsd')"),
              "0");
  }
  ResultStore store(path_);
  RawDb raw(path_);
  EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM pragma_table_info('case_metrics') "
                       "WHERE name IN ('hd95','assd','nsd')"),
            "3");
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), "1");
  const auto old = store.case_counts("t1");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].counts.fn, 4);
  EXPECT_TRUE(std::isnan(old[0].hd95));
  CaseClassCounts fresh{"new", 1, {1, 0, 0, 9}};
  fresh.hd95 = 3.0;
  store.record_done("t1", {fresh}, {}, json::object(), 0);
  EXPECT_EQ(store.case_counts("t1").at(0).hd95, 3.0);
}

TEST_F(ResultStoreTest, SliceDiceIsStoredAsRealWithNaNAsNull) {
  ResultStore store(path_);
  store.add_trial(trial("t1"));
  CaseClassCounts a{"a", 1, {5, 1, 1, 90}};
  a.dsc_slice = 0.5;
  a.dsc_slice_nonempty = 0.75;
  CaseClassCounts b{"b", 1, {0, 0, 0, 97}};  // absent everywhere: 0 and NaN
  b.dsc_slice = 0.0;
  const CaseClassCounts c{"c", 1, {1, 0, 0, 9}};  // not computed: both NaN
  store.record_done("t1", {a, b, c}, {}, json::object(), 0);

  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT typeof(dsc_slice), dsc_slice, dsc_slice_nonempty FROM case_metrics "
                     "ORDER BY case_id"),
            (std::vector<std::vector<std::string>>{
                {"real", "0.5", "0.75"}, {"real", "0.0", "<null>"}, {"null", "<null>", "<null>"}}));
  const auto back = store.case_counts("t1");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].dsc_slice, 0.5);
  EXPECT_EQ(back[0].dsc_slice_nonempty, 0.75);
  EXPECT_EQ(back[1].dsc_slice, 0.0);
  EXPECT_TRUE(std::isnan(back[1].dsc_slice_nonempty));
  EXPECT_TRUE(std::isnan(back[2].dsc_slice));
  EXPECT_TRUE(std::isnan(back[2].dsc_slice_nonempty));
}

TEST_F(ResultStoreTest, AStoreWrittenBeforeSliceDiceGainsTheColumnsAndKeepsItsRows) {
  {
    ResultStore store(path_);
    store.add_trial(trial("t1"));
  }
  {  // case_metrics exactly as the orch before the slice Dice created it, with one row
    RawDb raw(path_);
    raw.exec("DROP TABLE case_metrics");
    raw.exec(R"sql(
CREATE TABLE IF NOT EXISTS case_metrics(
  trial_id TEXT NOT NULL REFERENCES trials(id), case_id TEXT NOT NULL, class INTEGER NOT NULL,
  tp INTEGER NOT NULL, fp INTEGER NOT NULL, fn INTEGER NOT NULL, tn INTEGER NOT NULL,
  dsc REAL, iou REAL, precision REAL, recall REAL, hd95 REAL, assd REAL, nsd REAL,
  PRIMARY KEY(trial_id, case_id, class));)sql");
    raw.exec(
        "INSERT INTO case_metrics VALUES('t1', 'old', 1, 6, 2, 4, 100, 0.6667, 0.5, 0.75, 0.6, "
        "2.5, 1.25, 0.8)");
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM pragma_table_info('case_metrics') "
                         "WHERE name LIKE 'dsc_slice%'"),
              "0");
  }
  ResultStore store(path_);
  RawDb raw(path_);
  EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM pragma_table_info('case_metrics') "
                       "WHERE name IN ('dsc_slice','dsc_slice_nonempty')"),
            "2");
  const auto old = store.case_counts("t1");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].case_id, "old");
  EXPECT_EQ(old[0].counts.fn, 4);
  EXPECT_EQ(old[0].hd95, 2.5);
  EXPECT_EQ(old[0].nsd, 0.8);
  EXPECT_TRUE(std::isnan(old[0].dsc_slice));  // old rows read NULL = NaN
  EXPECT_TRUE(std::isnan(old[0].dsc_slice_nonempty));
  CaseClassCounts fresh{"new", 1, {1, 0, 0, 9}};
  fresh.dsc_slice = 0.25;
  fresh.dsc_slice_nonempty = 0.5;
  store.record_done("t1", {fresh}, {}, json::object(), 0);
  EXPECT_EQ(store.case_counts("t1").at(0).dsc_slice, 0.25);
  EXPECT_EQ(ResultStore(path_).case_counts("t1").at(0).dsc_slice_nonempty, 0.5);
}

TEST_F(ResultStoreTest, OpeningAnUpToDateStoreDoesNotWaitForTheWriteLock) {
  { ResultStore store(path_); }
  RawDb raw(path_);
  raw.exec("BEGIN IMMEDIATE");  // another process holds the write lock
  ResultStore reader(path_);    // would wait out the 10 s busy timeout and throw if it wrote
  EXPECT_TRUE(reader.trials().empty());
  raw.exec("ROLLBACK");
}

TEST(TrialStateTest, StringFormsRoundTripAndUnknownIsAnError) {
  for (TrialState s :
       {TrialState::kPending, TrialState::kRunning, TrialState::kDone, TrialState::kFailed})
    EXPECT_EQ(trial_state_from_string(to_string(s)), s);
  EXPECT_EQ(to_string(TrialState::kRunning), "running");
  EXPECT_THROW(trial_state_from_string("Done"), Error);
}

}  // namespace
}  // namespace orch
