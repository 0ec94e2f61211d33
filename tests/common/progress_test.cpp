#include "common/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace orch {
namespace {

// A console on a fake clock that records what it writes (terminal) and logs (plain lines).
struct FakeConsole {
  double now = 0;
  std::vector<std::string> lines;  // plain lines
  std::string written;             // raw terminal output
  ProgressConsole console;

  explicit FakeConsole(bool terminal, double interval_s = 5) : console(options(terminal)) {
    ProgressOptions o = options(terminal);
    o.interval_s = interval_s;
    console.configure(o);
  }
  ProgressOptions options(bool terminal) {
    ProgressOptions o;
    o.terminal = terminal;
    o.width = 200;
    o.clock = [this] { return now; };
    o.write = [this](const std::string& s) { written += s; };
    o.log_line = [this](const std::string& s) { lines.push_back(s); };
    return o;
  }
};

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Progress, PlainLinesAreThrottledToOnePerInterval) {
  FakeConsole f(/*terminal=*/false, /*interval_s=*/5);
  ProgressTask task = f.console.start("cache liver", 1000, "case");
  for (int i = 1; i <= 1000; ++i) {  // 1000 updates over 3 simulated seconds
    f.now = 3.0 * i / 1000;
    task.update(i);
  }
  EXPECT_LE(f.lines.size(), 1u);
  EXPECT_TRUE(f.written.empty()) << "no bar off a terminal";
}

TEST(Progress, PlainLinesComeEveryIntervalWhileTheTaskMoves) {
  FakeConsole f(false, 2);
  ProgressTask task = f.console.start("train", 100, "step");
  for (int i = 1; i <= 100; ++i) {  // 10 simulated seconds, 10 updates a second
    f.now = 0.1 * i;
    task.update(i);
  }
  // Lines at 2, 4, 6, 8 and 10 s at the most; never two within one interval.
  EXPECT_GE(f.lines.size(), 4u);
  EXPECT_LE(f.lines.size(), 5u);
  for (const auto& line : f.lines) EXPECT_EQ(line.rfind("progress: train: ", 0), 0u) << line;
}

TEST(Progress, AnIdleTaskPrintsNothingMore) {
  FakeConsole f(false, 1);
  ProgressTask task = f.console.start("run", 4, "trial");
  f.now = 2;
  task.update(1);
  ASSERT_EQ(f.lines.size(), 1u);
  for (int s = 3; s < 60; ++s) {  // the coordinator ticks without news
    f.now = s;
    task.update(1);
  }
  EXPECT_EQ(f.lines.size(), 1u);
}

TEST(Progress, AFinishedTaskPrintsItsFinalCount) {
  FakeConsole f(false, 5);
  ProgressTask task = f.console.start("phantom hepatic_vessel", 12, "case");
  for (int i = 1; i <= 12; ++i) {
    f.now = 0.25 * i;
    task.update(i);
  }
  task.finish();
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_EQ(f.lines[0], "progress: phantom hepatic_vessel done: 12/12 case in 3.0 s (4.0 case/s)");
  task.update(13);  // a finished handle is inert
  EXPECT_EQ(f.lines.size(), 1u);
}

TEST(Progress, ACompleteTaskLeavesItsCountToTheFinalLine) {
  FakeConsole f(false, 1);
  ProgressTask task = f.console.start("train", 10, "step");
  f.now = 5;
  task.update(10);
  task.set_detail("10 epoch(s)");
  EXPECT_TRUE(f.lines.empty()) << f.lines.front();
  task.finish();
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_EQ(f.lines[0], "progress: train done: 10/10 step in 5.0 s (2.0 step/s), 10 epoch(s)");
}

TEST(Progress, ATaskUnwoundWithoutFinishPrintsNoFinalLine) {
  FakeConsole f(false, 5);
  { ProgressTask task = f.console.start("cache", 3, "case"); }
  EXPECT_TRUE(f.lines.empty());
}

TEST(Progress, EtaIsTheRemainingWorkAtTheRateSinceTheStart) {
  ProgressState s;
  s.label = "train";
  s.unit = "step";
  s.total = 100;
  s.started = 10;
  s.done = 25;
  // 25 steps in 10 s = 2.5 step/s; 75 left -> 30 s.
  EXPECT_DOUBLE_EQ(progress_rate(s, 20), 2.5);
  ASSERT_TRUE(progress_eta(s, 20).has_value());
  EXPECT_DOUBLE_EQ(*progress_eta(s, 20), 30.0);
  EXPECT_EQ(render_plain(s, 20), "train: 25/100 step (25%), 2.5 step/s, ETA 0:30");
  // A resumed task counts only what it did since it started.
  s.start_done = 20;
  EXPECT_DOUBLE_EQ(*progress_eta(s, 20), 150.0);  // 5 steps in 10 s
  // Nothing done yet, or no total: unknown.
  s.done = 20;
  EXPECT_FALSE(progress_eta(s, 20).has_value());
  s.total = 0;
  EXPECT_FALSE(progress_eta(s, 20).has_value());
}

TEST(Progress, AnOwnersEtaCountsDownBetweenUpdates) {
  ProgressState s;
  s.total = 4;
  s.eta = 100;
  s.eta_at = 10;
  EXPECT_DOUBLE_EQ(*progress_eta(s, 40), 70.0);
  EXPECT_DOUBLE_EQ(*progress_eta(s, 500), 0.0);
}

TEST(Progress, DurationsReadAsClockTimes) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(5.4), "0:05");
  EXPECT_EQ(format_duration(754), "12:34");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(Progress, TerminalBarsRedrawInPlaceWithPercent) {
  FakeConsole f(true);
  ProgressTask task = f.console.start("cache liver", 10, "case");
  f.now = 1;
  task.update(5);
  ASSERT_NE(f.written.find('\r'), std::string::npos);
  EXPECT_NE(f.written.find(" 50% 5/10 case"), std::string::npos) << f.written;
  EXPECT_NE(f.written.find("[##########----------]"), std::string::npos) << f.written;
  EXPECT_NE(f.written.find("ETA 0:01"), std::string::npos) << f.written;
  EXPECT_TRUE(f.lines.empty()) << "no plain lines while the bar runs";
}

TEST(Progress, TerminalRedrawsAtMostTenTimesASecond) {
  FakeConsole f(true);
  ProgressTask task = f.console.start("train", 10000, "step");
  for (int i = 1; i <= 10000; ++i) {  // 10000 updates in 2 simulated seconds
    f.now = 2.0 * i / 10000;
    task.update(i);
  }
  EXPECT_LE(count(f.written, "\r"), 22u);  // 10/s, plus the first draw
  EXPECT_GE(count(f.written, "\r"), 10u);
}

TEST(Progress, TasksOfTwoOwnersShareOneLine) {
  FakeConsole f(true);
  ProgressTask run = f.console.start("run", 4, "trial");
  ProgressTask train = f.console.start("train 1a2b3c4d", 90, "step");
  f.now = 1;
  train.set_detail("epoch 1/3");
  const std::string last = f.written.substr(f.written.rfind('\r'));
  EXPECT_NE(last.find("run ["), std::string::npos) << last;
  EXPECT_NE(last.find(" | train 1a2b3c4d ["), std::string::npos) << last;
  EXPECT_NE(last.find("epoch 1/3"), std::string::npos) << last;
  EXPECT_EQ(last.find('\n'), std::string::npos) << "one line";
}

TEST(Progress, ALogLineClearsTheBarAndRedrawsItAfter) {
  FakeConsole f(true);
  ProgressTask task = f.console.start("cache", 4, "case");
  f.now = 1;
  task.update(1);
  f.written.clear();
  f.console.print_above([&] { f.written += "12:00:00 info a log line\n"; });
  const size_t clear = f.written.find("\r\x1b[K");
  const size_t log = f.written.find("a log line");
  const size_t redraw = f.written.find("\rcache [");
  ASSERT_NE(clear, std::string::npos) << f.written;
  EXPECT_LT(clear, log);
  EXPECT_LT(log, redraw) << f.written;
  task.finish();
  EXPECT_EQ(f.written.substr(f.written.size() - 4), "\r\x1b[K") << "the last task clears its line";
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_NE(f.lines[0].find("cache done: 1/4 case"), std::string::npos) << f.lines[0];
}

TEST(Progress, BarsAreCutToTheTerminalWidth) {
  FakeConsole f(true);
  ProgressOptions o = f.options(true);
  o.width = 40;
  f.console.configure(o);
  ProgressTask task = f.console.start(std::string(80, 'x'), 10, "case");
  f.now = 1;
  task.update(1);
  const std::string last = f.written.substr(f.written.rfind('\r') + 1);
  EXPECT_LE(last.size(), 39u + 3u) << last;  // the text, then the erase-to-end code
}

}  // namespace
}  // namespace orch
