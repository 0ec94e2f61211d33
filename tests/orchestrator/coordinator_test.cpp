// The coordinator protocol (orchestrator/protocol/messages.h), driven first by a scripted fake
// communicator that checks every message the coordinator sends, then by real worker loops on
// threads.
#include "orchestrator/coordinator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <limits>
#include <set>
#include <thread>
#include <utility>

#include "common/metrics/aggregate.h"
#include "common/status.h"
#include "orchestrator/comm/local_communicator.h"
#include "orchestrator/protocol/messages.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/worker_loop.h"

namespace orch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace protocol;  // NOLINT: the message kinds and tags

// Delivers a fixed script of incoming messages and records what the coordinator sends.
class FakeCommunicator : public Communicator {
 public:
  FakeCommunicator(int size, std::deque<Message> inbox) : size_(size), inbox_(std::move(inbox)) {}
  int rank() const override { return 0; }
  int size() const override { return size_; }
  void send(int dest, int tag, const std::string& payload) override {
    sent.push_back({dest, tag, payload});
  }
  std::optional<Message> receive(std::chrono::milliseconds) override {
    if (inbox_.empty()) throw Error("the coordinator waited for a message the script lacks");
    Message m = inbox_.front();
    inbox_.pop_front();
    return m;
  }
  void broadcast(std::string&, int) override {}
  void barrier() override {}
  std::vector<Message> sent;  // Message.source holds the destination here

 private:
  int size_;
  std::deque<Message> inbox_;
};

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("orch_coord_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::make_unique<ResultStore>((dir_ / "orch.sqlite").string());
    for (const char* id : {"aaaa", "bbbb", "cccc"}) {
      TrialSpec s;
      s.id = id;
      s.model.name = "m";
      s.dataset.name = "d";
      s.training.epochs = 3;
      specs_.push_back(s);
      TrialRecord r;
      r.id = id;
      r.experiment = "e";
      r.model = "m";
      r.dataset = "d";
      r.spec = to_json(s);
      store_->add_trial(r);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A message from `source`, as a worker sends it.
  template <typename M>
  static Message msg(int source, const M& m) {
    return {source, M::kTag, m.encode()};
  }
  static Result result(const std::string& id, bool ok, const std::string& error = "") {
    Result r;
    r.trial = id;
    r.ok = ok;
    r.error = error;
    // case c1, class 1: tp 3, fp 1, fn 2 -> DSC 6/9, IoU 3/6; no surface metrics.
    if (ok) r.counts = {{"c1", 1, ConfusionCounts{3, 1, 2, 94}}};
    r.best_epoch = ok ? 1 : -1;
    return r;
  }
  // The trial id an ASSIGN the coordinator sent carries.
  static std::string assigned(const Message& m) {
    EXPECT_EQ(m.tag, kAssign);
    return Assign::decode(m.payload).spec.id;
  }

  fs::path dir_;
  std::unique_ptr<ResultStore> store_;
  std::vector<TrialSpec> specs_;
};

TEST_F(CoordinatorTest, AssignsOnReadyRecordsProgressAndResultsAndShutsDownIdleWorkers) {
  const EpochRecord epoch{0, 0.5, 0.4, 0.3, 0.01, 1.0};
  FakeCommunicator comm(3, {msg(1, Ready{}), msg(2, Ready{}), msg(1, Progress{"aaaa", epoch}),
                            msg(1, result("aaaa", true)), msg(1, Ready{}),
                            msg(2, result("bbbb", false, "CUDA out of memory")), msg(2, Ready{}),
                            msg(1, result("cccc", true)), msg(1, Ready{})});
  Coordinator(comm, *store_, specs_, {}).run();

  // ASSIGN aaaa->1, ASSIGN bbbb->2, ASSIGN cccc->1, SHUTDOWN->2, SHUTDOWN->1.
  ASSERT_EQ(comm.sent.size(), 5u);
  EXPECT_EQ(comm.sent[0].source, 1);
  EXPECT_EQ(comm.sent[0].tag, kAssign);
  EXPECT_EQ(assigned(comm.sent[0]), "aaaa");
  EXPECT_EQ(comm.sent[1].source, 2);
  EXPECT_EQ(assigned(comm.sent[1]), "bbbb");
  EXPECT_EQ(comm.sent[2].source, 1);
  EXPECT_EQ(assigned(comm.sent[2]), "cccc");
  EXPECT_EQ(Assign::decode(comm.sent[2].payload).attempt, 1);
  EXPECT_EQ(comm.sent[3].source, 2);
  EXPECT_EQ(comm.sent[3].tag, kShutdown);
  EXPECT_EQ(comm.sent[4].source, 1);
  EXPECT_EQ(comm.sent[4].tag, kShutdown);

  const auto a = store_->trial("aaaa");
  EXPECT_EQ(a->state, TrialState::kDone);
  EXPECT_EQ(a->rank, 1);
  EXPECT_EQ(a->attempts, 1);
  EXPECT_NEAR(a->metrics["dsc"].get<double>(), 6.0 / 9.0, 1e-12);
  EXPECT_NEAR(a->metrics["iou"].get<double>(), 0.5, 1e-12);
  ASSERT_EQ(store_->epochs("aaaa").size(), 1u);
  EXPECT_DOUBLE_EQ(store_->epochs("aaaa")[0].val_dsc, 0.3);
  const auto b = store_->trial("bbbb");
  EXPECT_EQ(b->state, TrialState::kFailed);
  EXPECT_EQ(b->rank, 2);
  EXPECT_EQ(b->error, "CUDA out of memory");
  EXPECT_EQ(store_->trial("cccc")->state, TrialState::kDone);
}

TEST_F(CoordinatorTest, WithNothingToRunEveryWorkerIsShutDownAtItsFirstReady) {
  FakeCommunicator comm(3, {msg(2, Ready{}), msg(1, Ready{})});
  Coordinator(comm, *store_, {}, {}).run();
  ASSERT_EQ(comm.sent.size(), 2u);
  EXPECT_EQ(comm.sent[0].source, 2);
  EXPECT_EQ(comm.sent[0].tag, kShutdown);
  EXPECT_EQ(comm.sent[1].source, 1);
  EXPECT_EQ(comm.sent[1].tag, kShutdown);
}

TEST_F(CoordinatorTest, AWorkerThatStopsFailsTheTrialItHeldAndTheOthersGoOn) {
  FakeCommunicator comm(3, {msg(1, Ready{}), msg(2, Ready{}), msg(2, Fatal{"bad message"}),
                            msg(1, result("aaaa", true)), msg(1, Ready{}),
                            msg(1, result("cccc", true)), msg(1, Ready{})});
  Coordinator(comm, *store_, specs_, {}).run();
  const auto b = store_->trial("bbbb");
  EXPECT_EQ(b->state, TrialState::kFailed);
  EXPECT_EQ(b->error, "worker rank 2 stopped: bad message");
  EXPECT_EQ(store_->trial("aaaa")->state, TrialState::kDone);
  EXPECT_EQ(store_->trial("cccc")->state, TrialState::kDone);
  EXPECT_EQ(store_->trial("cccc")->rank, 1);
  // Rank 2 is never sent anything after it stopped; rank 1 gets the last SHUTDOWN.
  EXPECT_EQ(comm.sent.back().source, 1);
  EXPECT_EQ(comm.sent.back().tag, kShutdown);
  for (size_t i = 2; i < comm.sent.size(); ++i) EXPECT_NE(comm.sent[i].source, 2);
}

TEST_F(CoordinatorTest, AWorkerLoopThatMeetsAnUnexpectedMessageSaysFatalAndThrows) {
  auto hub = std::make_shared<LocalHub>(2);
  LocalCommunicator coordinator(hub, 0), worker(hub, 1);
  coordinator.send(1, kProgress, "{}");  // a coordinator never sends PROGRESS
  EXPECT_THROW(
      worker_loop(worker, [](const TrialSpec&, const EpochCallback&) { return TrialOutcome{}; }),
      Error);
  EXPECT_EQ(coordinator.receive(std::chrono::milliseconds(100))->tag, kReady);
  const auto fatal = coordinator.receive(std::chrono::milliseconds(100));
  ASSERT_TRUE(fatal);
  EXPECT_EQ(fatal->tag, kFatal);
  EXPECT_NE(Fatal::decode(fatal->payload).error.find("unexpected message tag 3"),
            std::string::npos);
}

TEST_F(CoordinatorTest, RefusesToRunWithoutWorkerRanks) {
  FakeCommunicator comm(1, {});
  EXPECT_THROW(Coordinator(comm, *store_, specs_, {}), Error);
}

TEST_F(CoordinatorTest, AMessageWithAnUnknownTagIsAnError) {
  FakeCommunicator comm(2, {Message{1, 99, "{}"}});
  EXPECT_THROW(Coordinator(comm, *store_, specs_, {}).run(), Error);
}

// A refinement trial ("cccc", sources aaaa and bbbb) waits: the worker that asks while a source
// is still running is held, and gets the trial once the last source is done.
TEST_F(CoordinatorTest, ATrialWaitsForItsSourcesAndAHeldWorkerGetsItWhenTheyAreDone) {
  specs_[2].sources = {specs_[0], specs_[1]};
  FakeCommunicator comm(3, {msg(1, Ready{}), msg(2, Ready{}), msg(1, result("aaaa", true)),
                            msg(1, Ready{}), msg(2, result("bbbb", true)), msg(2, Ready{}),
                            msg(1, result("cccc", true)), msg(1, Ready{})});
  Coordinator(comm, *store_, specs_, {}).run();
  // ASSIGN aaaa->1, bbbb->2; rank 1's READY is held while bbbb runs; bbbb's result hands cccc
  // to rank 1; rank 2's READY finds nothing left, then rank 1's.
  ASSERT_EQ(comm.sent.size(), 5u);
  EXPECT_EQ(assigned(comm.sent[0]), "aaaa");
  EXPECT_EQ(assigned(comm.sent[1]), "bbbb");
  EXPECT_EQ(comm.sent[2].source, 1);
  EXPECT_EQ(comm.sent[2].tag, kAssign);
  EXPECT_EQ(assigned(comm.sent[2]), "cccc");
  // The sources travel with the trial, so the worker can find their checkpoints.
  EXPECT_EQ(Assign::decode(comm.sent[2].payload).spec.sources.size(), 2u);
  EXPECT_EQ(comm.sent[3].source, 2);
  EXPECT_EQ(comm.sent[3].tag, kShutdown);
  EXPECT_EQ(comm.sent[4].source, 1);
  EXPECT_EQ(comm.sent[4].tag, kShutdown);
  EXPECT_EQ(store_->trial("cccc")->state, TrialState::kDone);
}

TEST_F(CoordinatorTest, ATrialWhoseSourceFailedFailsWithoutRunningAndSaysWhich) {
  specs_[2].sources = {specs_[0], specs_[1]};
  FakeCommunicator comm(2, {msg(1, Ready{}), msg(1, result("aaaa", false, "loss is NaN")),
                            msg(1, Ready{}), msg(1, result("bbbb", true)), msg(1, Ready{})});
  Coordinator(comm, *store_, specs_, {}).run();
  ASSERT_EQ(comm.sent.size(), 3u);  // aaaa, bbbb, then SHUTDOWN: cccc is never assigned
  EXPECT_EQ(comm.sent[2].tag, kShutdown);
  const auto c = store_->trial("cccc");
  EXPECT_EQ(c->state, TrialState::kFailed);
  EXPECT_EQ(c->attempts, 0);
  EXPECT_NE(c->error.find("source trial aaaa"), std::string::npos) << c->error;
  EXPECT_NE(c->error.find("loss is NaN"), std::string::npos) << c->error;
}

// Sources done in an earlier run (not queued now) count as done.
TEST_F(CoordinatorTest, SourcesDoneInAnEarlierRunLetTheTrialStartAtOnce) {
  store_->mark_running("aaaa", 1);
  store_->record_done("aaaa", {}, {}, json::object(), 0);
  specs_[2].sources = {specs_[0]};
  FakeCommunicator comm(2, {msg(1, Ready{}), msg(1, result("cccc", true)), msg(1, Ready{})});
  Coordinator(comm, *store_, {specs_[2]}, {}).run();
  ASSERT_EQ(comm.sent.size(), 2u);
  EXPECT_EQ(assigned(comm.sent[0]), "cccc");
  EXPECT_EQ(store_->trial("cccc")->state, TrialState::kDone);
}

// The scheduler chooses among the ready trials: a policy that takes the last one reverses the
// plan order; the sources rule still holds back a trial whose sources are not done.
class LastReadyScheduler : public Scheduler {
 public:
  std::optional<size_t> pick(const std::vector<Candidate>& ready, int rank) override {
    seen.push_back({ready.size(), rank});
    return ready.size() - 1;
  }
  std::vector<std::pair<size_t, int>> seen;  // (ready trials, asking rank) per call
};

TEST_F(CoordinatorTest, TheSchedulerPicksWhichReadyTrialStarts) {
  specs_[1].sources = {specs_[0]};  // bbbb after aaaa
  auto scheduler = std::make_shared<LastReadyScheduler>();
  FakeCommunicator comm(2, {msg(1, Ready{}), msg(1, result("cccc", true)), msg(1, Ready{}),
                            msg(1, result("aaaa", true)), msg(1, Ready{}),
                            msg(1, result("bbbb", true)), msg(1, Ready{})});
  CoordinatorOptions options;
  options.scheduler = scheduler;
  Coordinator(comm, *store_, specs_, options).run();
  ASSERT_EQ(comm.sent.size(), 4u);
  EXPECT_EQ(assigned(comm.sent[0]), "cccc");  // ready: aaaa, cccc
  EXPECT_EQ(assigned(comm.sent[1]), "aaaa");  // ready: aaaa (bbbb waits for it)
  EXPECT_EQ(assigned(comm.sent[2]), "bbbb");
  EXPECT_EQ(comm.sent[3].tag, kShutdown);
  EXPECT_EQ(scheduler->seen, (std::vector<std::pair<size_t, int>>{{2, 1}, {1, 1}, {1, 1}}));
}

// A policy that always holds would wait forever with nothing running (a hold ends at the next
// result): the coordinator starts the first ready trial instead.
class AlwaysHoldScheduler : public Scheduler {
 public:
  std::optional<size_t> pick(const std::vector<Candidate>&, int) override { return std::nullopt; }
};

TEST_F(CoordinatorTest, AHoldWithNothingRunningStartsTheFirstReadyTrial) {
  FakeCommunicator comm(2, {msg(1, Ready{}), msg(1, result("aaaa", true)), msg(1, Ready{})});
  CoordinatorOptions options;
  options.scheduler = std::make_shared<AlwaysHoldScheduler>();
  Coordinator(comm, *store_, {specs_[0]}, options).run();
  ASSERT_EQ(comm.sent.size(), 2u);
  EXPECT_EQ(assigned(comm.sent[0]), "aaaa");
  EXPECT_EQ(comm.sent[1].tag, kShutdown);
}

// Real worker loops on two threads over the in-process communicator: every trial lands in the
// store, on both workers, and a trial function that throws becomes a failed trial.
TEST_F(CoordinatorTest, WorkerLoopsOnThreadsRunEveryTrialAndReportThrowsAsFailures) {
  auto hub = std::make_shared<LocalHub>(3);
  std::atomic<int> calls{0};
  const TrialFn fn = [&](const TrialSpec& s, const EpochCallback& on_epoch) {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // let the other worker ask
    if (s.id == "bbbb") throw std::runtime_error("loader thread died: bad slice");
    for (int e = 0; e < 2; ++e) on_epoch(EpochRecord{e, 1.0, 1.0, 0.5, 0.1, 0.01});
    TrialOutcome o;
    o.counts = {{"c1", 1, ConfusionCounts{1, 0, 0, 10}}};
    o.best_epoch = 1;
    return o;
  };
  std::vector<std::thread> workers;
  for (int r = 1; r <= 2; ++r)
    workers.emplace_back([hub, r, &fn] {
      LocalCommunicator comm(hub, r);
      worker_loop(comm, fn);
    });
  LocalCommunicator comm0(hub, 0);
  Coordinator(comm0, *store_, specs_, {std::chrono::milliseconds(50), nullptr}).run();
  for (auto& w : workers) w.join();

  EXPECT_EQ(calls.load(), 3);
  std::set<int> ranks;
  for (const auto& t : store_->trials()) {
    ranks.insert(t.rank);
    EXPECT_EQ(t.attempts, 1) << t.id;
    if (t.id == "bbbb") {
      EXPECT_EQ(t.state, TrialState::kFailed);
      EXPECT_EQ(t.error, "loader thread died: bad slice");
    } else {
      EXPECT_EQ(t.state, TrialState::kDone) << t.id;
      EXPECT_EQ(store_->epochs(t.id).size(), 2u);
      EXPECT_DOUBLE_EQ(t.metrics["dsc"].get<double>(), 1.0);
    }
  }
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
}

// Surface metrics travel in RESULT rows as numbers, null (undefined) or "inf" (one mask empty),
// whatever JSON itself cannot hold, and reach the store and the summary intact.
TEST_F(CoordinatorTest, SurfaceMetricsCrossTheWireIncludingInfinityAndUndefined) {
  auto hub = std::make_shared<LocalHub>(2);
  const double inf = std::numeric_limits<double>::infinity();
  const TrialFn fn = [&](const TrialSpec&, const EpochCallback&) {
    TrialOutcome o;
    CaseClassCounts hit{"c1", 1, ConfusionCounts{8, 1, 1, 90}};
    hit.hd95 = 2.0;
    hit.assd = 0.5;
    hit.nsd = 0.9;
    CaseClassCounts missed{"c2", 1, ConfusionCounts{0, 0, 5, 95}};
    missed.hd95 = inf;
    missed.assd = inf;
    missed.nsd = 0.0;
    const CaseClassCounts absent{"c3", 1, ConfusionCounts{0, 0, 0, 100}};  // all NaN
    o.counts = {hit, missed, absent};
    return o;
  };
  std::thread worker([hub, &fn] {
    LocalCommunicator comm(hub, 1);
    worker_loop(comm, fn);
  });
  LocalCommunicator comm0(hub, 0);
  Coordinator(comm0, *store_, {specs_[0]}, {std::chrono::milliseconds(50), nullptr}).run();
  worker.join();

  const auto rows = store_->case_counts("aaaa");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].hd95, 2.0);
  EXPECT_EQ(rows[0].assd, 0.5);
  EXPECT_EQ(rows[0].nsd, 0.9);
  EXPECT_EQ(rows[1].hd95, inf);
  EXPECT_EQ(rows[1].assd, inf);
  EXPECT_EQ(rows[1].nsd, 0.0);
  EXPECT_TRUE(std::isnan(rows[2].hd95));
  EXPECT_TRUE(std::isnan(rows[2].nsd));
  // Summary: the finite case values only, with the infinite case counted; NSD averages c1 and c2.
  const json m = store_->trial("aaaa")->metrics;
  EXPECT_DOUBLE_EQ(m["hd95"].get<double>(), 2.0);
  EXPECT_EQ(m["hd95_inf_cases"], 1);
  EXPECT_EQ(m["assd_inf_cases"], 1);
  EXPECT_DOUBLE_EQ(m["nsd"].get<double>(), 0.45);
  EXPECT_FALSE(m.contains("nsd_inf_cases"));
}

TEST(SummarizeCountsTest, ACaseWithOneInfiniteClassIsInfiniteAndLeftOutOfTheMean) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<CaseClassCounts> rows(4);
  rows[0] = {"a", 1, {1, 0, 0, 1}};
  rows[0].hd95 = 4.0;
  rows[1] = {"a", 2, {1, 0, 0, 1}};
  rows[1].hd95 = inf;
  rows[2] = {"b", 1, {1, 0, 0, 1}};
  rows[2].hd95 = 1.0;
  rows[3] = {"b", 2, {0, 0, 0, 2}};  // undefined: skipped within case b
  const json m = summarize_counts(rows);
  EXPECT_DOUBLE_EQ(m["hd95"].get<double>(), 1.0);
  EXPECT_EQ(m["hd95_inf_cases"], 1);
  EXPECT_TRUE(m["assd"].is_null());  // nothing scored
  EXPECT_DOUBLE_EQ(m["dsc"].get<double>(), 1.0);
}

}  // namespace
}  // namespace orch
