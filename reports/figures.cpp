#include "reports/figures.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iterator>

#include <fmt/format.h>

#include "common/fs.h"
#include "common/status.h"

namespace orch::figures {

namespace fs = std::filesystem;

namespace {

// Colour-blind-safe enough, distinct on white (matplotlib's tab10).
constexpr const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* colour(size_t i) { return kColours[i % std::size(kColours)]; }

// The length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one.
size_t utf8_length(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = 0;
  unsigned min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0)
    n = 2, min = 0x80;
  else if ((c & 0xF0) == 0xE0)
    n = 3, min = 0x800;
  else if ((c & 0xF8) == 0xF0)
    n = 4, min = 0x10000;
  else
    return 0;
  if (i + n > s.size()) return 0;
  unsigned cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// `text` as a gnuplot double-quoted string: backslash and double quote escaped, newlines and
// other control characters turned into spaces, invalid UTF-8 bytes into '?' (the SVG must stay
// well-formed XML). gnuplot expands neither '$' nor '@' inside a quoted string.
std::string quote(const std::string& text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      out += ' ';
      ++i;
    } else if (const size_t n = utf8_length(text, i)) {
      out.append(text, i, n);
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out + "\"";
}

// A file name for `set output`: quoted like a label, but never silently changed.
std::string quote_path(const fs::path& path) {
  const std::string s = path.string();
  if (s.find_first_of(std::string("\n\r\0", 3)) != std::string::npos)
    throw Error("gnuplot: cannot write to a path holding a newline: '" + s + "'");
  std::string out = "\"";
  for (const char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Shortest round-trip form, independent of the C locale.
std::string num(double v) { return fmt::format("{}", v); }

// A datablock `$name` of rows (every value finite).
void datablock(std::string& s, const std::string& name,
               const std::vector<std::vector<double>>& rows) {
  s += "$" + name + " << EOD\n";
  for (const auto& row : rows) {
    for (size_t k = 0; k < row.size(); ++k) {
      if (k) s += ' ';
      s += num(row[k]);
    }
    s += '\n';
  }
  s += "EOD\n";
}

std::string svg_header(int width, int height, const fs::path& tmp) {
  return fmt::format(
      "set encoding utf8\n"
      "set terminal svg size {},{} dynamic font \"sans,10\" background rgb \"white\"\n"
      "set termoption noenhanced\n"
      "set output {}\n",
      width, height, quote_path(tmp));
}

// The xtics command naming `labels` at positions first, first + 1, ...
std::string xtics(const std::vector<std::string>& labels, int first) {
  std::string s = "set xtics (";
  for (size_t i = 0; i < labels.size(); ++i)
    s += fmt::format("{}{} {}", i ? ", " : "", quote(labels[i]), first + static_cast<int>(i));
  s += ") scale 0";
  if (labels.size() > 6) s += " rotate by 45 right";
  return s + "\n";
}

// Draws `script_for(tmp)` into a temporary sibling of `path`, renamed over `path` on success.
template <typename ScriptFor>
void draw(const std::string& path, ScriptFor script_for) {
  if (path.empty()) throw Error("gnuplot: no output path given");
  try {
    write_atomic_with(path, [&](const fs::path& tmp) {
      run_gnuplot(script_for(tmp) + "unset output\n");
      std::error_code ec;
      if (fs::file_size(tmp, ec) == 0 || ec)
        throw Error("gnuplot: wrote no output to '" + tmp.string() + "'", ErrorCode::kFailed);
    });
  } catch (const fs::filesystem_error& e) {  // the folder or the rename
    throw Error(fmt::format("cannot write '{}': {}", path, e.code().message()), ErrorCode::kFailed);
  }
}

bool executable_on_path(const std::string& name) {
  const char* env = std::getenv("PATH");
  const std::string path = env ? env : "/bin:/usr/bin";  // execvp's default
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string file = dir + "/" + name;
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(file.c_str(), X_OK) == 0)
      return true;
    start = end + 1;
  }
  return false;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string trimmed(std::string s) {
  const auto last = s.find_last_not_of(" \t\r\n");
  s.erase(last == std::string::npos ? 0 : last + 1);
  const auto first = s.find_first_not_of("\r\n");
  return first == std::string::npos ? std::string() : s.substr(first);
}

}  // namespace

bool gnuplot_available() {
  static const bool available = executable_on_path("gnuplot");
  return available;
}

void run_gnuplot(const std::string& script) {
  int in[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0)
    throw Error("gnuplot: pipe: " + std::string(std::strerror(errno)), ErrorCode::kFailed);
  if (::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    close_fd(in[0]);
    close_fd(in[1]);
    throw Error("gnuplot: pipe: " + std::string(std::strerror(e)), ErrorCode::kFailed);
  }
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  char arg0[] = "gnuplot", arg1[] = "-d";  // -d: no gnuplotrc / ~/.gnuplot
  char* argv[] = {arg0, arg1, nullptr};
  static const char kExecFailed[] = "cannot run gnuplot (not found on PATH?)\n";
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (int* fd : {&in[0], &in[1], &err[0], &err[1]}) close_fd(*fd);
    throw Error("gnuplot: fork: " + std::string(std::strerror(e)), ErrorCode::kFailed);
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDOUT_FILENO);  // a failed `set output` would plot to stdout
    ::execvp(argv[0], argv);
    [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, kExecFailed, sizeof kExecFailed - 1);
    ::_exit(127);
  }
  close_fd(in[0]);
  close_fd(err[1]);
  ::fcntl(in[1], F_SETFL, ::fcntl(in[1], F_GETFL) | O_NONBLOCK);

  // gnuplot may stop reading (or write much to stderr) before it has the whole script: write
  // and read together. SIGPIPE is blocked in this thread while writing; a write to a pipe
  // gnuplot has closed then fails with EPIPE, and the pending SIGPIPE is taken before the mask is
  // restored (unless one was pending already).
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool sigpipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
  bool broke_pipe = false;

  constexpr size_t kMaxStderr = 64 * 1024;
  std::string errors;
  size_t written = 0;
  if (script.empty()) close_fd(in[1]);
  while (err[0] >= 0) {
    pollfd fds[2];
    nfds_t n = 0;
    fds[n++] = {err[0], POLLIN, 0};
    if (in[1] >= 0) fds[n++] = {in[1], POLLOUT, 0};
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 2 && fds[1].revents) {
      const ssize_t w = ::write(in[1], script.data() + written, script.size() - written);
      if (w > 0) {
        written += static_cast<size_t>(w);
        if (written == script.size()) close_fd(in[1]);
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        broke_pipe = errno == EPIPE;
        close_fd(in[1]);  // gnuplot stopped reading; its stderr says why
      }
    }
    if (fds[0].revents) {
      char buf[4096];
      const ssize_t r = ::read(err[0], buf, sizeof buf);
      if (r > 0) {
        if (errors.size() < kMaxStderr)
          errors.append(buf, std::min(static_cast<size_t>(r), kMaxStderr - errors.size()));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        close_fd(err[0]);
      }
    }
  }
  close_fd(in[1]);
  close_fd(err[0]);
  if (broke_pipe && !sigpipe_was_pending) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw Error("gnuplot: waitpid: " + std::string(std::strerror(errno)), ErrorCode::kFailed);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string message = trimmed(errors);
  if (message.empty())
    message = WIFSIGNALED(status) ? fmt::format("killed by signal {}", WTERMSIG(status))
                                  : fmt::format("exited with status {}", WEXITSTATUS(status));
  throw Error("gnuplot: " + message, ErrorCode::kFailed);
}

// ---------------------------------------------------------------------------------------------
// Training curves

void training_curves(const std::string& svg_path, const std::string& title,
                     const std::string& metric_label, const std::vector<Curve>& curves) {
  // (x, y) rows of the finite points of one series.
  const auto series = [](const Curve& c, const std::vector<double>& y, const char* what) {
    if (!y.empty() && y.size() != c.epoch.size())
      throw Error(fmt::format("training_curves: curve '{}' has {} {} values for {} epochs", c.label,
                              y.size(), what, c.epoch.size()));
    std::vector<std::vector<double>> rows;
    for (size_t i = 0; i < y.size(); ++i)
      if (std::isfinite(c.epoch[i]) && std::isfinite(y[i])) rows.push_back({c.epoch[i], y[i]});
    return rows;
  };
  std::string data;
  std::string loss_items, metric_items, labels;
  double xmin = INFINITY, xmax = -INFINITY;
  for (size_t i = 0; i < curves.size(); ++i) {
    const Curve& c = curves[i];
    const std::string col = quote(colour(i));
    const auto item = [&](const std::vector<std::vector<double>>& rows, const std::string& name,
                          const std::string& style, std::string& items) {
      if (rows.empty()) return;
      for (const auto& r : rows) xmin = std::min(xmin, r[0]), xmax = std::max(xmax, r[0]);
      datablock(data, name, rows);
      items += fmt::format("${} using 1:2 with {} lc rgb {} {} notitle, \\\n  ", name,
                           rows.size() == 1 ? "points pt 7 ps 0.6" : "lines", col, style);
    };
    item(series(c, c.train_loss, "train_loss"), fmt::format("t{}", i), "lw 1.5 dt 1", loss_items);
    item(series(c, c.val_loss, "val_loss"), fmt::format("v{}", i), "lw 1.5 dt 2", loss_items);
    const auto metric = series(c, c.val_metric, "val_metric");
    item(metric, fmt::format("m{}", i), "lw 1.5 dt 1", metric_items);
    if (c.best_epoch >= 0) {
      for (size_t k = 0; k < c.epoch.size(); ++k) {
        if (c.epoch[k] != c.best_epoch || k >= c.val_metric.size() ||
            !std::isfinite(c.val_metric[k]))
          continue;
        datablock(data, fmt::format("b{}", i), {{c.epoch[k], c.val_metric[k]}});
        metric_items +=
            fmt::format("$b{} using 1:2 with points pt 7 ps 1.2 lc rgb {} notitle, \\\n  ", i, col);
        labels += fmt::format("set label \"best\" at {},{} offset char 0.6,0.6 tc rgb {} front\n",
                              num(c.epoch[k]), num(c.val_metric[k]), col);
        break;
      }
    }
  }
  std::string key;  // one entry per curve, then the line styles
  for (size_t i = 0; i < curves.size(); ++i)
    key += fmt::format("keyentry with lines lw 1.5 lc rgb {} title {}, \\\n  ", quote(colour(i)),
                       quote(curves[i].label));
  key +=
      "keyentry with lines lw 1.5 dt 1 lc rgb \"black\" title \"train\", \\\n  "
      "keyentry with lines lw 1.5 dt 2 lc rgb \"black\" title \"val\"\n";
  if (!(xmin <= xmax)) xmin = 0, xmax = 1;
  if (xmin == xmax) xmin -= 0.5, xmax += 0.5;

  const int entries = static_cast<int>(curves.size()) + 2;
  const int height = std::max(700, 2 * (90 + 16 * entries));
  // A panel without data still needs a plot item that is not a keyentry (gnuplot 5.4 fails an
  // assertion on a plot of keyentries alone).
  const auto empty_panel = "set label 99 \"no data\" at graph 0.5,0.5 center\nset yrange [0:1]\n";
  const bool no_loss = loss_items.empty();
  draw(svg_path, [&](const fs::path& tmp) {
    std::string s = svg_header(960, height, tmp);
    s += data;
    s += "set multiplot layout 2,1 title " + quote(title) + "\n";
    s += "set lmargin 10\nset rmargin at screen 0.70\nset grid\n";
    s += fmt::format("set xrange [{}:{}]\n", num(xmin), num(xmax));
    s += "set key outside right top Left reverse noautotitle\n";
    s += "set ylabel \"loss\"\n";
    if (no_loss) s += empty_panel;
    s += "plot " + (no_loss ? std::string("NaN notitle, \\\n  ") : loss_items) + key;
    s += "unset label\nset yrange [*:*]\nunset key\n";
    s += "set xlabel \"epoch\"\nset ylabel " + quote(metric_label) + "\n";
    s += labels;
    if (metric_items.empty()) {
      s += empty_panel;
      s += "plot NaN notitle\n";
    } else {
      s += "plot " + metric_items.substr(0, metric_items.rfind(',')) + "\n";
    }
    s += "unset multiplot\n";
    return s;
  });
}

// ---------------------------------------------------------------------------------------------
// Bar chart

void bar_chart(const std::string& svg_path, const std::string& title, const std::string& ylabel,
               const std::vector<std::string>& categories, const std::vector<BarGroup>& groups) {
  const size_t nc = categories.size(), ng = groups.size();
  for (const auto& g : groups) {
    if (g.values.size() != nc)
      throw Error(fmt::format("bar_chart: group '{}' has {} values for {} categories", g.label,
                              g.values.size(), nc));
    if ((!g.err_low.empty() || !g.err_high.empty()) &&
        (g.err_low.size() != nc || g.err_high.size() != nc))
      throw Error(fmt::format("bar_chart: group '{}' needs both err_low and err_high, {} each",
                              g.label, nc));
  }
  const double width = 0.8 / static_cast<double>(std::max<size_t>(ng, 1));
  std::string data, items;
  double ymin = INFINITY;
  for (size_t g = 0; g < ng; ++g) {
    std::vector<std::vector<double>> bars, errs;
    for (size_t c = 0; c < nc; ++c) {
      const double v = groups[g].values[c];
      if (!std::isfinite(v)) continue;
      const double x = static_cast<double>(c) - 0.4 + width * (static_cast<double>(g) + 0.5);
      bars.push_back({x, v});
      ymin = std::min(ymin, v);
      if (!groups[g].err_low.empty()) {
        const double lo = groups[g].err_low[c], hi = groups[g].err_high[c];
        if (std::isfinite(lo) && std::isfinite(hi)) {
          errs.push_back({x, std::min(lo, hi), std::max(lo, hi)});
          ymin = std::min(ymin, std::min(lo, hi));
        }
      }
    }
    const std::string col = quote(colour(g));
    if (!bars.empty()) {
      datablock(data, fmt::format("g{}", g), bars);
      items += fmt::format("$g{} using 1:2 with boxes lc rgb {} notitle, \\\n  ", g, col);
    }
    if (!errs.empty()) {
      datablock(data, fmt::format("e{}", g), errs);
      // Drawn as vectors: gnuplot's yerrorbars blank a disc around the (here meaningless) point.
      items += fmt::format(
          "$e{0} using 1:2:(0):($3 - $2) with vectors nohead lc rgb \"black\" notitle, \\\n  "
          "$e{0} using ($1 - {1}):2:({2}):(0) with vectors nohead lc rgb \"black\" notitle, \\\n  "
          "$e{0} using ($1 - {1}):3:({2}):(0) with vectors nohead lc rgb \"black\" notitle, \\\n  ",
          g, num(width / 4), num(width / 2));
    }
  }
  std::string key;
  for (size_t g = 0; g < ng; ++g)
    key += fmt::format("keyentry with boxes lc rgb {} title {}, \\\n  ", quote(colour(g)),
                       quote(groups[g].label));
  const int width_px =
      std::clamp(160 + static_cast<int>(nc * std::max<size_t>(ng, 1)) * 24, 640, 2400);
  draw(svg_path, [&](const fs::path& tmp) {
    std::string s = svg_header(width_px, 520, tmp);
    s += data;
    s += "set title " + quote(title) + "\nset ylabel " + quote(ylabel) + "\n";
    s += "set style fill solid 0.9 border lc rgb \"#333333\"\n";
    s += fmt::format("set boxwidth {} absolute\n", num(width));
    s += fmt::format("set xrange [-0.5:{}]\n", num(std::max<double>(nc, 1) - 0.5));
    s += nc ? xtics(categories, 0) : std::string("unset xtics\n");
    s += "set grid ytics\nset key outside bottom center horizontal noautotitle\n";
    if (!std::isfinite(ymin))
      s += "set yrange [0:1]\nset label 99 \"no data\" at graph 0.5,0.5 center\n";
    else if (ymin >= 0)
      s += "set yrange [0:*]\n";
    if (items.empty()) items = "NaN notitle, \\\n  ";  // not keyentries alone (see above)
    if (key.empty()) key = "NaN notitle, \\\n  ";
    s += "plot " + items + key.substr(0, key.rfind(',')) + "\n";
    return s;
  });
}

// ---------------------------------------------------------------------------------------------
// Box plot

BoxStats box_stats(const std::vector<double>& values) {
  std::vector<double> v;
  for (const double x : values)
    if (std::isfinite(x)) v.push_back(x);
  BoxStats b;
  b.n = static_cast<int>(v.size());
  if (v.empty()) {
    b.whisker_low = b.q1 = b.median = b.q3 = b.whisker_high = NAN;
    return b;
  }
  std::sort(v.begin(), v.end());
  const auto quantile = [&](double p) {
    const double h = p * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(h));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
  };
  b.q1 = quantile(0.25);
  b.median = quantile(0.5);
  b.q3 = quantile(0.75);
  const double iqr = b.q3 - b.q1;
  b.whisker_low = *std::lower_bound(v.begin(), v.end(), b.q1 - 1.5 * iqr);
  b.whisker_high = *(std::upper_bound(v.begin(), v.end(), b.q3 + 1.5 * iqr) - 1);
  return b;
}

void box_plot(const std::string& svg_path, const std::string& title, const std::string& ylabel,
              const std::vector<Distribution>& groups) {
  constexpr double kBoxWidth = 0.5;
  std::string data, items;
  std::vector<std::string> labels;
  for (size_t i = 0; i < groups.size(); ++i) {
    labels.push_back(groups[i].label);
    const BoxStats b = box_stats(groups[i].values);
    if (b.n == 0) continue;
    const double x = static_cast<double>(i + 1);
    datablock(data, fmt::format("b{}", i),
              {{x, b.q1, b.whisker_low, b.whisker_high, b.q3, b.median}});
    // Points spread by the golden-ratio sequence: even, and the same on every run.
    std::vector<std::vector<double>> points;
    size_t k = 0;
    for (const double v : groups[i].values) {
      if (!std::isfinite(v)) continue;
      const double u = std::fmod(static_cast<double>(k++) * 0.6180339887498949, 1.0) - 0.5;
      points.push_back({x + u * kBoxWidth * 0.6, v});
    }
    datablock(data, fmt::format("p{}", i), points);
    const std::string col = quote(colour(i));
    items += fmt::format(
        "$b{0} using 1:2:3:4:5:({1}) with candlesticks whiskerbars 0.5 lc rgb {2} lw 1.2 "
        "fs transparent solid 0.25 border lc rgb {2} notitle, \\\n  "
        "$b{0} using 1:6:6:6:6:({1}) with candlesticks lc rgb \"black\" lw 2 notitle, \\\n  "
        "$p{0} using 1:2 with points pt 7 ps 0.45 lc rgb {2} notitle, \\\n  ",
        i, num(kBoxWidth), col);
  }
  const int width_px = std::clamp(160 + static_cast<int>(groups.size()) * 70, 640, 2400);
  draw(svg_path, [&](const fs::path& tmp) {
    std::string s = svg_header(width_px, 520, tmp);
    s += data;
    s += "set title " + quote(title) + "\nset ylabel " + quote(ylabel) + "\n";
    s += fmt::format("set xrange [0.5:{}]\n", num(std::max<double>(groups.size(), 1) + 0.5));
    s += groups.empty() ? std::string("unset xtics\n") : xtics(labels, 1);
    s += "set grid ytics\nunset key\n";
    if (items.empty())
      s += "set yrange [0:1]\nset label 99 \"no data\" at graph 0.5,0.5 center\n"
           "plot NaN notitle\n";
    else
      s += "plot " + items.substr(0, items.rfind(',')) + "\n";
    return s;
  });
}

// ---------------------------------------------------------------------------------------------
// Overlay

int largest_area_slice(const std::vector<std::uint8_t>& ref, int ni, int nj, int nk) {
  if (ni < 0 || nj < 0 || nk < 0 ||
      ref.size() != static_cast<size_t>(ni) * static_cast<size_t>(nj) * static_cast<size_t>(nk))
    throw Error(fmt::format("largest_area_slice: {} voxels for a volume of {}x{}x{}", ref.size(),
                            ni, nj, nk));
  const size_t plane = static_cast<size_t>(ni) * static_cast<size_t>(nj);
  int best = -1;
  size_t best_area = 0;
  for (int k = 0; k < nk; ++k) {
    const auto begin = ref.begin() + static_cast<std::ptrdiff_t>(plane * static_cast<size_t>(k));
    const size_t area = static_cast<size_t>(std::count_if(
        begin, begin + static_cast<std::ptrdiff_t>(plane), [](std::uint8_t v) { return v != 0; }));
    if (area > best_area) best = k, best_area = area;
  }
  return best;
}

void overlay_png(const std::string& png_path, const Slice& slice, const std::string& caption) {
  const int w = slice.width, h = slice.height;
  if (w <= 0 || h <= 0) throw Error(fmt::format("overlay_png: empty slice ({}x{})", w, h));
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h);
  if (slice.image.size() != n || (!slice.pred.empty() && slice.pred.size() != n) ||
      (!slice.ref.empty() && slice.ref.size() != n))
    throw Error(
        fmt::format("overlay_png: a {}x{} slice needs {} pixels (image {}, pred {}, ref {})", w, h,
                    n, slice.image.size(), slice.pred.size(), slice.ref.size()));

  // Grey levels from the 1st..99th percentile of the finite pixels.
  std::vector<float> finite;
  finite.reserve(n);
  for (const float v : slice.image)
    if (std::isfinite(v)) finite.push_back(v);
  double lo = 0, hi = 0;
  if (!finite.empty()) {
    const auto pick = [&](double p) {
      const size_t k = static_cast<size_t>(std::lround(p * static_cast<double>(finite.size() - 1)));
      std::nth_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(k),
                       finite.end());
      return static_cast<double>(finite[k]);
    };
    lo = pick(0.01);
    hi = pick(0.99);
  }
  // TP, FP and FN laid over the grey at alpha 0.6 (blended here: one rgbimage).
  constexpr double kAlpha = 0.6;
  constexpr int kTp[3] = {255, 255, 0}, kFp[3] = {255, 0, 0}, kFn[3] = {0, 0, 255};
  std::string data = "$img << EOD\n";
  data.reserve(n * 12 + 64);
  for (size_t i = 0; i < n; ++i) {
    const double v = slice.image[i];
    double t = 0;
    if (std::isfinite(v)) t = hi > lo ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.5;
    const double grey = 255.0 * t;
    const bool p = !slice.pred.empty() && slice.pred[i] != 0;
    const bool r = !slice.ref.empty() && slice.ref[i] != 0;
    const int* over = p && r ? kTp : p ? kFp : r ? kFn : nullptr;
    int rgb[3];
    for (int c = 0; c < 3; ++c)
      rgb[c] = static_cast<int>(std::lround(over ? (1 - kAlpha) * grey + kAlpha * over[c] : grey));
    fmt::format_to(std::back_inserter(data), "{} {} {}\n", rgb[0], rgb[1], rgb[2]);
  }
  data += "EOD\n";

  // Whole-number enlargement to about 512 pixels on the longer side; a strip below for the
  // caption and the legend.
  const int scale = std::max(1, 512 / std::max(w, h));
  const int pad = 8, strip = 58;
  const int iw = w * scale, ih = h * scale;
  const int cw = std::max(iw + 2 * pad, 360), ch = ih + pad + strip;
  const double x0 = static_cast<double>((cw - iw) / 2);
  draw(png_path, [&](const fs::path& tmp) {
    std::string s = fmt::format(
        "set encoding utf8\n"
        "set terminal pngcairo size {},{} font \"sans,10\" background rgb \"white\"\n"
        "set termoption noenhanced\n"
        "set output {}\n",
        cw, ch, quote_path(tmp));
    s += data;
    // The plot area overhangs the image by half a pixel left and right and by one pixel above
    // and below (the ranges by as much): that way pngcairo draws every image pixel as a crisp
    // scale x scale block, none of the edge ones cut or blended with the background.
    constexpr double ex = 0.5, ey = 1.0;
    s += fmt::format("set lmargin at screen {}\nset rmargin at screen {}\n", num((x0 - ex) / cw),
                     num((x0 + iw + ex) / cw));
    s += fmt::format("set bmargin at screen {}\nset tmargin at screen {}\n", num((strip - ey) / ch),
                     num((strip + ih + ey) / ch));
    s += fmt::format("set xrange [{}:{}]\nset yrange [{}:{}]\n", num(-0.5 - ex / scale),
                     num(w - 0.5 + ex / scale), num(h - 0.5 + ey / scale), num(-0.5 - ey / scale));
    s += "unset xtics\nunset ytics\nunset border\nunset colorbox\n";
    s += fmt::format("set label 1 {} at screen {},screen {} center front\n", quote(caption),
                     num(0.5), num((strip - 16.0) / ch));
    s += fmt::format(
        "set key at screen 0.5,screen {} center center horizontal samplen 1.5 "
        "noautotitle\n",
        num(14.0 / ch));
    s += fmt::format(
        "plot $img using ($0 - {0} * floor($0 / {0})):(floor($0 / {0})):1:2:3 with rgbimage "
        "notitle, \\\n  "
        "keyentry with boxes fs solid 0.6 lc rgb \"#ffff00\" title \"TP\", \\\n  "
        "keyentry with boxes fs solid 0.6 lc rgb \"#ff0000\" title \"FP\", \\\n  "
        "keyentry with boxes fs solid 0.6 lc rgb \"#0000ff\" title \"FN\"\n",
        w);
    return s;
  });
}

}  // namespace orch::figures
