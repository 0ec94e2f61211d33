#include "common/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace orch {

namespace {

constexpr const char* kClearLine = "\r\x1b[K";  // carriage return, then erase to the line's end

int terminal_columns() {
  winsize w{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 100;
}

// Cuts `s` to at most `bytes` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string s, size_t bytes) {
  if (s.size() <= bytes) return s;
  size_t n = bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

std::string format_rate(double per_second, const std::string& unit) {
  if (!(per_second > 0)) return "";
  if (per_second >= 1) return fmt::format("{:.1f} {}/s", per_second, unit);
  return fmt::format("{:.1f} s/{}", 1.0 / per_second, unit);
}

int percent(const ProgressState& s) {
  if (s.total <= 0) return 0;
  return static_cast<int>(std::clamp<std::int64_t>(100 * s.done / s.total, 0, 100));
}

bool complete(const ProgressState& s) { return s.total > 0 && s.done >= s.total; }

std::string counts(const ProgressState& s) {
  return s.total > 0 ? fmt::format("{}/{} {}", s.done, s.total, s.unit)
                     : fmt::format("{} {}", s.done, s.unit);
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = total / 60 % 60, sec = total % 60;
  return h > 0 ? fmt::format("{}:{:02}:{:02}", h, m, sec) : fmt::format("{}:{:02}", m, sec);
}

double progress_rate(const ProgressState& s, double now) {
  const double elapsed = now - s.started;
  const auto moved = static_cast<double>(s.done - s.start_done);
  return elapsed > 0 && moved > 0 ? moved / elapsed : 0;
}

std::optional<double> progress_eta(const ProgressState& s, double now) {
  if (s.eta) return std::max(0.0, *s.eta - (now - s.eta_at));
  if (s.total <= 0) return std::nullopt;
  if (s.done >= s.total) return 0.0;
  const double r = progress_rate(s, now);
  if (!(r > 0)) return std::nullopt;
  return static_cast<double>(s.total - s.done) / r;
}

std::string render_bar(const ProgressState& s, double now, int bar_width) {
  std::string out = s.label;
  if (s.total > 0 && bar_width > 0) {
    const int filled = static_cast<int>(std::clamp<std::int64_t>(
        s.done * bar_width / s.total, 0, static_cast<std::int64_t>(bar_width)));
    out += " [" + std::string(static_cast<size_t>(filled), '#') +
           std::string(static_cast<size_t>(bar_width - filled), '-') + "]";
  }
  if (s.total > 0) out += fmt::format(" {:3}%", percent(s));
  out += " " + counts(s);
  if (const std::string r = format_rate(progress_rate(s, now), s.unit); !r.empty()) out += " " + r;
  if (const auto eta = progress_eta(s, now)) out += " ETA " + format_duration(*eta);
  if (!s.detail.empty()) out += " " + s.detail;
  return out;
}

std::string render_plain(const ProgressState& s, double now) {
  std::string out = s.label + ": " + counts(s);
  if (s.total > 0) out += fmt::format(" ({}%)", percent(s));
  if (const std::string r = format_rate(progress_rate(s, now), s.unit); !r.empty()) out += ", " + r;
  if (const auto eta = progress_eta(s, now)) out += ", ETA " + format_duration(*eta);
  if (!s.detail.empty()) out += ", " + s.detail;
  return out;
}

std::string render_final(const ProgressState& s, double now) {
  std::string out = fmt::format("{} done: {} in {:.1f} s", s.label, counts(s), now - s.started);
  if (const std::string r = format_rate(progress_rate(s, now), s.unit); !r.empty())
    out += " (" + r + ")";
  if (!s.detail.empty()) out += ", " + s.detail;
  return out;
}

ProgressOptions stderr_progress_options(std::optional<double> interval_s) {
  ProgressOptions o;
  o.terminal = isatty(STDERR_FILENO) == 1;
  if (interval_s && *interval_s >= 0) o.interval_s = *interval_s;
  return o;
}

// ProgressTask ----------------------------------------------------------------------------------

ProgressTask::ProgressTask(ProgressTask&& other) noexcept
    : console_(other.console_), id_(other.id_) {
  other.console_ = nullptr;
}

ProgressTask& ProgressTask::operator=(ProgressTask&& other) noexcept {
  if (this != &other) {
    if (console_) console_->end(id_, false);
    console_ = other.console_;
    id_ = other.id_;
    other.console_ = nullptr;
  }
  return *this;
}

ProgressTask::~ProgressTask() {
  if (console_) console_->end(id_, false);
}

void ProgressTask::update(std::int64_t done) {
  if (console_) console_->edit(id_, [done](ProgressState& s) { s.done = done; });
}

void ProgressTask::advance(std::int64_t n) {
  if (console_) console_->edit(id_, [n](ProgressState& s) { s.done += n; });
}

void ProgressTask::set_total(std::int64_t total) {
  if (console_) console_->edit(id_, [total](ProgressState& s) { s.total = total; });
}

void ProgressTask::set_detail(const std::string& detail) {
  if (console_) console_->edit(id_, [&detail](ProgressState& s) { s.detail = detail; });
}

void ProgressTask::set_eta(std::optional<double> seconds) {
  if (!console_) return;
  const double t = console_->now();
  console_->edit(id_, [seconds, t](ProgressState& s) {
    s.eta = seconds;
    s.eta_at = t;
  });
}

void ProgressTask::finish() {
  if (!console_) return;
  console_->end(id_, true);
  console_ = nullptr;
}

// ProgressConsole -------------------------------------------------------------------------------

ProgressConsole::ProgressConsole(ProgressOptions options) : options_(std::move(options)) {}

ProgressConsole::~ProgressConsole() {
  const std::lock_guard<std::mutex> lock(mu_);
  if (drawn_) write_locked(kClearLine);
}

void ProgressConsole::configure(ProgressOptions options) {
  const std::lock_guard<std::mutex> lock(mu_);
  if (drawn_) write_locked(kClearLine);
  drawn_ = false;
  options_ = std::move(options);
}

bool ProgressConsole::terminal() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return options_.terminal;
}

double ProgressConsole::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ProgressTask ProgressConsole::start(const std::string& label, std::int64_t total,
                                    const std::string& unit, std::int64_t done) {
  const std::lock_guard<std::mutex> lock(mu_);
  const double t = now();
  const int id = next_id_++;
  Task& task = tasks_[id];
  task.state.label = label;
  task.state.unit = unit;
  task.state.total = total;
  task.state.done = task.state.start_done = done;
  task.line_done = done;
  task.state.started = t;
  task.last_line = t;
  if (options_.terminal) draw_locked(t, false);
  return ProgressTask(this, id);
}

void ProgressConsole::edit(int id, const std::function<void(ProgressState&)>& change) {
  std::string line;
  {
    const std::lock_guard<std::mutex> lock(mu_);
    const auto it = tasks_.find(id);
    if (it == tasks_.end()) return;
    Task& task = it->second;
    change(task.state);
    const double t = now();
    if (options_.terminal) {
      draw_locked(t, false);
    } else if (t - task.last_line >= options_.interval_s && !complete(task.state) &&
               (task.state.done != task.line_done || task.state.detail != task.line_detail)) {
      // A complete task says so in its final line; an intermediate "100%" would only repeat it.
      line = "progress: " + render_plain(task.state, t);
      task.last_line = t;
      task.line_done = task.state.done;
      task.line_detail = task.state.detail;
    }
  }
  if (!line.empty()) emit(line);
}

void ProgressConsole::end(int id, bool final_line) {
  std::string line;
  {
    const std::lock_guard<std::mutex> lock(mu_);
    const auto it = tasks_.find(id);
    if (it == tasks_.end()) return;
    const double t = now();
    if (final_line) line = "progress: " + render_final(it->second.state, t);
    tasks_.erase(it);
    if (options_.terminal) draw_locked(t, true);
  }
  if (!line.empty()) emit(line);
}

void ProgressConsole::print_above(const std::function<void()>& print) {
  const std::lock_guard<std::mutex> lock(mu_);
  if (!options_.terminal) {
    print();
    return;
  }
  if (drawn_) write_locked(kClearLine);
  drawn_ = false;
  print();
  if (!tasks_.empty()) draw_locked(now(), true);
}

std::string ProgressConsole::line_locked(double t) const {
  const int bar = tasks_.size() == 1 ? 20 : 10;
  std::string line;
  for (const auto& [id, task] : tasks_) {
    if (!line.empty()) line += " | ";
    line += render_bar(task.state, t, bar);
  }
  const int width = options_.width > 0 ? options_.width : terminal_columns();
  return truncate_utf8(std::move(line), static_cast<size_t>(std::max(1, width - 1)));
}

void ProgressConsole::draw_locked(double t, bool force) {
  if (!force && t - last_draw_ < options_.redraw_s) return;
  last_draw_ = t;
  if (tasks_.empty()) {
    if (drawn_) write_locked(kClearLine);
    drawn_ = false;
    return;
  }
  write_locked("\r" + line_locked(t) + "\x1b[K");
  drawn_ = true;
}

void ProgressConsole::write_locked(const std::string& text) const {
  if (options_.write) {
    options_.write(text);
    return;
  }
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

void ProgressConsole::emit(const std::string& line) const {
  std::function<void(const std::string&)> log_line;
  {
    const std::lock_guard<std::mutex> lock(mu_);
    log_line = options_.log_line;
  }
  if (log_line)
    log_line(line);
  else
    spdlog::info("{}", line);
}

ProgressConsole& progress_console() {
  // Never destroyed: a log line written during static destruction still finds it.
  static ProgressConsole* const console = new ProgressConsole();
  return *console;
}

}  // namespace orch
