// Live progress of long work (writing phantoms, building caches, training, the run as a whole).
//
// A ProgressConsole holds the active tasks and shows them all on one line of stderr:
// - on a terminal, as bars (label, bar, percent, done/total, rate, ETA, detail) redrawn in place
//   with '\r' at most every `redraw_s`; every log line is printed with the bar cleared first and
//   redrawn after it (init_logging installs a sink that calls print_above), so the two never
//   garble each other;
// - elsewhere (a file, a pipe), as plain log lines: at most one per task every `interval_s`, and
//   only when the task moved and is not complete, plus one line when a task finishes.
//
// Threads: every member is safe to call from any thread; a task's updates may come from one
// thread while another starts its own (single-process mode shows the coordinator's run and the
// worker's training on the same line). The console must outlive its tasks. The clock, the output
// and the terminal decision are injected (ProgressOptions) so tests need neither sleep nor a tty.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace orch {

struct ProgressOptions {
  bool terminal = false;    // true: one redrawn bar line; false: plain lines
  double interval_s = 5.0;  // plain lines: at most one per task per this many seconds
  double redraw_s = 0.1;    // terminal: at most one redraw per this many seconds
  int width = 0;            // terminal line width in columns; 0: ask the terminal (else 100)
  // Monotonic seconds; empty: std::chrono::steady_clock.
  std::function<double()> clock;
  // Raw terminal output (bars, '\r', clears); empty: write and flush stderr.
  std::function<void(const std::string&)> write;
  // One plain line (no newline); empty: spdlog::info. Never called with the console locked, so
  // it may log through a sink that calls print_above.
  std::function<void(const std::string&)> log_line;
};

// The options for the process's stderr: a terminal when stderr is a tty. `interval_s` is the
// plain-line interval (the CLI passes ORCH_PROGRESS_INTERVAL_S when set).
ProgressOptions stderr_progress_options(std::optional<double> interval_s = std::nullopt);

class ProgressConsole;

// A handle on one active task; finishing or destroying it removes the task from the console.
// Movable, not copyable.
class ProgressTask {
 public:
  ProgressTask() = default;  // a handle on nothing: every call is a no-op
  ProgressTask(ProgressTask&& other) noexcept;
  ProgressTask& operator=(ProgressTask&& other) noexcept;
  ProgressTask(const ProgressTask&) = delete;
  ProgressTask& operator=(const ProgressTask&) = delete;
  // Without finish(): the task disappears without its final line (an exception unwound it).
  ~ProgressTask();

  void update(std::int64_t done);  // absolute count
  void advance(std::int64_t n = 1);
  void set_total(std::int64_t total);
  void set_detail(const std::string& detail);  // shown after the counts ("epoch 3/10")
  // An ETA that the owner knows better than the rate does (seconds from now; nullopt: from the
  // rate again). It counts down between updates.
  void set_eta(std::optional<double> seconds);
  // Removes the task and prints its final line ("<label> done: 12/12 case in 3.4 s").
  void finish();

 private:
  friend class ProgressConsole;
  ProgressTask(ProgressConsole* console, int id) : console_(console), id_(id) {}
  ProgressConsole* console_ = nullptr;
  int id_ = -1;
};

// One task's state as the console keeps it; the formatting functions below read it.
struct ProgressState {
  std::string label, unit, detail;
  std::int64_t total = 0, done = 0;  // total 0: unknown
  std::int64_t start_done = 0;       // `done` when the task started: the rate counts from it
  double started = 0;                // clock at start
  std::optional<double> eta;         // set_eta's value ...
  double eta_at = 0;                 // ... and the clock when it was set
};

// Pure formatting, for the console and its tests.
std::string format_duration(double seconds);  // "0:05", "12:34", "1:02:03"; "?" if not finite
// Units per second since the task started; 0 while unknown.
double progress_rate(const ProgressState& s, double now);
// Seconds left: set_eta's value counted down, else (total - done) / rate; nullopt if unknown.
std::optional<double> progress_eta(const ProgressState& s, double now);
// "label [#####-----] 50% 5/10 case 2.0 case/s ETA 0:02 detail" (no bar with bar_width 0).
std::string render_bar(const ProgressState& s, double now, int bar_width);
// "label: 5/10 case (50%), 2.0 case/s, ETA 0:02, detail": a plain line while it runs.
std::string render_plain(const ProgressState& s, double now);
// "label done: 10/10 case in 5.0 s (2.0 case/s), detail": the line when it finishes.
std::string render_final(const ProgressState& s, double now);

class ProgressConsole {
 public:
  explicit ProgressConsole(ProgressOptions options = {});
  ProgressConsole(const ProgressConsole&) = delete;
  ProgressConsole& operator=(const ProgressConsole&) = delete;
  ~ProgressConsole();

  // Replaces the options; for main(), before any task starts.
  void configure(ProgressOptions options);
  bool terminal() const;

  // A task of `total` `unit`s (total 0: unknown, counts only) of which `done` are done already
  // (a resumed task); the rate counts only what is done after the start.
  ProgressTask start(const std::string& label, std::int64_t total, const std::string& unit,
                     std::int64_t done = 0);

  // Runs `print` (one log line written to the terminal) with the bar cleared, then redraws the
  // bar. `print` must not call back into the console.
  void print_above(const std::function<void()>& print);

 private:
  friend class ProgressTask;
  struct Task {
    ProgressState state;
    double last_line = 0;        // clock at the last plain line (or the start)
    std::int64_t line_done = 0;  // `done` at the last plain line
    std::string line_detail;     // `detail` at the last plain line
  };

  void edit(int id, const std::function<void(ProgressState&)>& change);
  void end(int id, bool final_line);
  double now() const;
  std::string line_locked(double t) const;  // the bar line for the terminal
  void draw_locked(double t, bool force);
  void write_locked(const std::string& text) const;
  void emit(const std::string& line) const;

  mutable std::mutex mu_;
  ProgressOptions options_;
  std::map<int, Task> tasks_;  // by id, in start order
  int next_id_ = 0;
  double last_draw_ = -1e300;
  bool drawn_ = false;  // a bar is on the line now
};

// The process-wide console on stderr, configured by init_logging (common/log.h).
ProgressConsole& progress_console();

// Starts a task on the process-wide console.
inline ProgressTask start_progress(const std::string& label, std::int64_t total,
                                   const std::string& unit, std::int64_t done = 0) {
  return progress_console().start(label, total, unit, done);
}

}  // namespace orch
