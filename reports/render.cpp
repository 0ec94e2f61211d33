#include "reports/render.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/metrics/metric.h"

namespace orch {

using nlohmann::json;

namespace {

// `s` with each character found in `table` replaced by its text.
std::string replace_chars(const std::string& s,
                          std::initializer_list<std::pair<char, const char*>> table) {
  std::string out;
  for (char c : s) {
    const auto* hit = std::find_if(table.begin(), table.end(),
                                   [c](const auto& entry) { return entry.first == c; });
    if (hit == table.end())
      out += c;
    else
      out += hit->second;
  }
  return out;
}

}  // namespace

std::string escape_html(const std::string& s) {
  return replace_chars(
      s, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"}});
}

std::string escape_markdown(const std::string& s) {
  return replace_chars(s, {{'\n', " "},
                           {'\r', " "},
                           {'|', "\\|"},
                           {'\\', "\\\\"},
                           {'`', "\\`"},
                           {'*', "\\*"},
                           {'_', "\\_"},
                           {'[', "\\["},
                           {']', "\\]"},
                           {'#', "\\#"},
                           {'<', "&lt;"},
                           {'>', "&gt;"},
                           {'&', "&amp;"}});
}

std::string escape_tex(const std::string& s) {
  return replace_chars(s, {{'&', "\\&"},
                           {'%', "\\%"},
                           {'$', "\\$"},
                           {'#', "\\#"},
                           {'_', "\\_"},
                           {'{', "\\{"},
                           {'}', "\\}"},
                           {'~', "\\textasciitilde{}"},
                           {'^', "\\textasciicircum{}"},
                           {'\\', "\\textbackslash{}"},
                           {'<', "\\textless{}"},
                           {'>', "\\textgreater{}"},
                           {'|', "\\textbar{}"},
                           {'\n', " "},
                           {'\r', " "}});
}

std::string escape_csv(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

namespace {

std::string num(double v, int digits = 3) {
  if (std::isnan(v)) return "–";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}f}", v, digits);
}

// Full precision for the CSV ("" for NaN).
std::string exact(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

std::string metric_heading(const std::string& name) {
  const MetricDef& d = metric(name);
  return *d.unit ? fmt::format("{} ({})", d.label, d.unit) : d.label;
}

std::string p_text(double p) { return p < 0.001 ? "< 0.001" : fmt::format("{:.3f}", p); }

bool significant(const MetricCell& m) { return m.test.computed && m.p_holm < 0.05; }

bool has_sub_metrics(const Table& t) {
  return std::any_of(t.rows.begin(), t.rows.end(),
                     [](const TableRow& r) { return !r.metric.empty(); });
}

// The headings of a table, in column order: marks, the row label, the sub-row metric, the
// columns, the improvement.
std::vector<std::string> headings(const Table& t) {
  std::vector<std::string> h;
  for (const auto& [key, label] : t.config.marks) h.push_back(label);
  h.push_back("");
  if (has_sub_metrics(t)) h.push_back("metric");
  for (const auto& c : t.config.columns) h.push_back(c.label);
  if (t.config.improvement) h.push_back(t.config.improvement->label);
  return h;
}

std::string improvement_text(const Table& t, const TableRow& r) {
  const auto& imp = *t.config.improvement;
  const auto text = [&](double v) {
    return imp.kind == "relative" ? fmt::format("{:+.2f}%", v) : fmt::format("{:+.3f}", v);
  };
  std::string s = std::isfinite(r.improvement) ? text(r.improvement) : "–";
  if (const auto p = imp.published.find(r.entry->key); p != imp.published.end() && r.metric.empty())
    s += " (paper " + text(p->second) + ")";
  return s;
}

// "mean ± sd" of each metric, joined by "|" in a combined cell.
std::string means_text(const TableCell& c, const std::string& bar) {
  std::string s;
  for (std::size_t i = 0; i < c.metrics.size(); ++i) {
    const auto& m = c.metrics[i];
    if (i) s += bar;
    s += m.summary.n ? fmt::format("{} ± {}", num(m.summary.mean),
                                   m.summary.n > 1 ? num(m.summary.sd) : std::string("–"))
                     : std::string("–");
  }
  return s;
}

std::string published_text(const TableCell& c, const std::string& bar, const std::string& delta) {
  std::string paper, diff;
  bool any = false;
  for (std::size_t i = 0; i < c.metrics.size(); ++i) {
    const auto& m = c.metrics[i];
    if (i) {
      paper += bar;
      diff += bar;
    }
    if (m.published) {
      any = true;
      paper += num(*m.published);
      diff += num(m.delta) == "–" ? "–" : fmt::format("{:+.3f}", m.delta);
    } else {
      paper += "–";
      diff += "–";
    }
  }
  if (!any) return "";
  return fmt::format("paper {}, {} {}", paper, delta, diff);
}

std::string trials_note(const TableCell& c) {
  if (c.planned == 0) return "not planned";
  if (static_cast<int>(c.trials.size()) < c.planned)
    return fmt::format("{} of {} trials done", c.trials.size(), c.planned);
  return "";
}

std::string n_text(const TableCell& c) {
  if (c.metrics.empty() || c.metrics[0].summary.n == 0) return "";
  const auto& m = c.metrics[0];
  std::string s = fmt::format("n={}", m.summary.n);
  if (m.seeds > 1) s += fmt::format(", {} seeds, seed sd {}", m.seeds, num(m.seed_sd));
  for (const auto& x : c.metrics)
    if (x.infinite)
      s += fmt::format(", {}: {} of {} cases inf", metric(x.metric).label, x.infinite,
                       x.infinite + x.summary.n);
  return s;
}

std::string ci_text(const MetricCell& m) {
  return m.summary.n ? fmt::format("[{}, {}]", num(m.ci.low), num(m.ci.high)) : "";
}

std::string banner_text(const ExperimentReport& e) {
  if (e.provenance.is_null())
    return "No run provenance is recorded in this store: whether the data are real or phantoms "
           "is unknown.";
  if (!e.phantom) return "";
  std::string names;
  for (const auto& d : e.provenance["datasets"])
    if (d.value("data", "") == "phantom")
      names += (names.empty() ? "" : ", ") + d.value("name", std::string());
  return "These numbers come from synthetic phantom data (" + names +
         "), not from the papers' datasets: they are not comparable with the published values, "
         "which are shown as reference only.";
}

// Provenance as (label, value) lines.
std::vector<std::pair<std::string, std::string>> provenance_lines(const json& p) {
  std::vector<std::pair<std::string, std::string>> out;
  if (p.is_null()) return out;
  const auto s = [&](const char* key) {
    return p.contains(key) ? (p[key].is_string() ? p[key].get<std::string>() : p[key].dump())
                           : std::string();
  };
  out.emplace_back(
      "orch", s("orch_version") + " (commit " + s("git_commit") + ", " + s("build_type") + ")");
  std::string torch = "LibTorch " + s("libtorch") + ", BLAS " + s("blas");
  if (!s("cuda").empty()) torch += ", CUDA " + s("cuda") + ", cuDNN " + s("cudnn");
  out.emplace_back("libraries", torch);
  out.emplace_back("devices", s("device") + ", " + s("threads") + " thread(s) per worker, " +
                                  s("ranks") + " rank(s)");
  out.emplace_back("host", s("host"));
  out.emplace_back("run", s("started_at") + " to " + s("finished_at"));
  if (p.contains("yaml"))
    out.emplace_back("experiment file", p["yaml"].value("path", std::string()) + " (SHA-256 " +
                                            p["yaml"].value("sha256", std::string()) + ")");
  out.emplace_back("resolved config SHA-256", s("config_sha256"));
  out.emplace_back("profile", s("profile").empty() ? "none" : s("profile"));
  if (p.contains("datasets"))
    for (const auto& d : p["datasets"]) {
      std::string v = d.value("kind", std::string()) + " at " + d.value("root", std::string()) +
                      ": " + d.value("data", std::string());
      if (d.contains("phantom") && d["phantom"].is_object())
        v += fmt::format(" (seed {}, {} cases)", d["phantom"].value("seed", 0),
                         d["phantom"].value("cases", 0));
      v += ", cache key " + (d.value("cache_key", std::string()).empty()
                                 ? std::string("none")
                                 : d.value("cache_key", std::string()));
      out.emplace_back("dataset " + d.value("name", std::string()), v);
    }
  return out;
}

std::vector<std::string> trial_lines(const std::vector<TrialRecord>& trials, bool markdown) {
  std::vector<std::string> out;
  for (const auto& t : trials)
    if (t.state == TrialState::kFailed)
      out.push_back(markdown ? fmt::format("trial `{}` ({} x {}, seed {}) failed: {}", t.id,
                                           escape_markdown(t.model), escape_markdown(t.dataset),
                                           t.seed, escape_markdown(t.error))
                             : fmt::format("trial {} ({} x {}, seed {}) failed: {}", t.id, t.model,
                                           t.dataset, t.seed, t.error));
  return out;
}

std::string trial_counts(const std::vector<TrialRecord>& trials) {
  std::map<std::string, int> by_state;
  for (const auto& t : trials) by_state[to_string(t.state)]++;
  std::string out = fmt::format("Trials: {} planned", trials.size());
  for (const auto& [state, n] : by_state) out += fmt::format(", {} {}", n, state);
  return out + ".";
}

// The test lines of a table: (row, column, metric, text).
struct TestLine {
  std::string row, column, metric, text;
  bool significant = false;
};
std::vector<TestLine> test_lines(const Table& t) {
  std::vector<TestLine> out;
  for (const auto& r : t.rows)
    for (std::size_t c = 0; c < r.cells.size(); ++c)
      for (const auto& m : r.cells[c].metrics) {
        if (!m.tested) continue;
        TestLine l{r.label, t.config.columns[c].label, metric(m.metric).label, "", significant(m)};
        l.text = m.test.computed
                     ? fmt::format("p = {}, Holm p = {} (n = {}, {}, W = {})", p_text(m.test.p),
                                   p_text(m.p_holm), m.test.n, m.test.method, m.test.statistic)
                     : m.test.note;
        out.push_back(l);
      }
  return out;
}

std::string table_caption(const TableConfig& c) { return c.title.empty() ? c.name : c.title; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string base64(const std::string& data) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i < data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < data.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string anchor(const std::string& experiment, const std::string& table) {
  std::string a = "t-";
  for (char c : experiment + "-" + table)
    a += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return a;
}

}  // namespace

// ---------------------------------------------------------------- Markdown

std::string render_markdown(const ReportDocument& doc) {
  std::string out;
  for (const auto& e : doc.experiments) {
    out += fmt::format("# {}\n\n", escape_markdown(e.name));
    if (const std::string b = banner_text(e); !b.empty()) out += "> **Note.** " + b + "\n\n";
    const auto prov = provenance_lines(e.provenance);
    if (!prov.empty()) {
      out += "Provenance:\n\n";
      for (const auto& [k, v] : prov) out += fmt::format("- {}: {}\n", k, escape_markdown(v));
      out += "\n";
    }
    out +=
        "Each cell: mean ± sd over test cases (pooled over seeds) of the per-case value (the "
        "mean over foreground classes, or the row's class), its 95% bootstrap CI and n; the "
        "paper's value and our difference follow. Bold: the best value; * : significantly "
        "different from the reference column (Wilcoxon signed-rank, Holm-corrected p < 0.05).\n\n";
    for (const auto& tr : e.tables) {
      const Table& t = tr.table;
      out += fmt::format("## {}\n\n", escape_markdown(table_caption(t.config)));
      if (!t.config.source.empty())
        out += fmt::format("Source: {}.\n\n", escape_markdown(t.config.source));
      const auto h = headings(t);
      out += "|";
      for (const auto& x : h) out += " " + escape_markdown(x) + " |";
      out += "\n|";
      for (std::size_t i = 0; i < h.size(); ++i) out += "---|";
      out += "\n";
      for (const auto& r : t.rows) {
        out += "|";
        for (const auto& [key, label] : t.config.marks)
          out += r.entry->marks.count(key) ? " ✓ |" : "  |";
        out += " " + escape_markdown(r.label) + " |";
        if (has_sub_metrics(t))
          out += " " + (r.metric.empty() ? "" : metric_heading(r.metric)) + " |";
        for (const auto& c : r.cells) {
          std::string s = means_text(c, " \\| ");
          const bool best = std::any_of(c.metrics.begin(), c.metrics.end(),
                                        [](const MetricCell& m) { return m.best; });
          if (best && !s.empty() && s != "–") s = "**" + s + "**";
          if (c.metrics.size() == 1 && c.metrics[0].summary.n) s += " " + ci_text(c.metrics[0]);
          if (const auto n = n_text(c); !n.empty()) s += " " + n;
          if (std::any_of(c.metrics.begin(), c.metrics.end(), significant)) s += " *";
          if (const auto p = published_text(c, " \\| ", "Δ"); !p.empty()) s += " (" + p + ")";
          if (const auto note = trials_note(c); !note.empty()) s += " (" + note + ")";
          out += " " + s + " |";
        }
        if (t.config.improvement) out += " " + improvement_text(t, r) + " |";
        out += "\n";
      }
      out += "\n";
      for (const auto& note : t.notes) out += "- " + escape_markdown(note) + "\n";
      if (!t.notes.empty()) out += "\n";
      const auto tests = test_lines(t);
      if (!tests.empty()) {
        out += fmt::format(
            "Paired tests against {} (two-sided Wilcoxon signed-rank over shared "
            "cases, Holm over {} test(s)):\n\n",
            escape_markdown(t.config.columns[t.reference].label), t.tests);
        for (const auto& l : tests)
          out +=
              fmt::format("- {} / {} / {}: {}{}\n", escape_markdown(l.row),
                          escape_markdown(l.column), l.metric, l.text, l.significant ? " *" : "");
        out += "\n";
      }
      for (const auto& f : tr.figures)
        out += fmt::format("![{}]({})\n\n", escape_markdown(f.title), f.file);
    }
    out += trial_counts(e.trials) + "\n\n";
    for (const auto& l : trial_lines(e.trials, true)) out += "- " + l + "\n";
    if (!trial_lines(e.trials, true).empty()) out += "\n";
  }
  return out;
}

// ---------------------------------------------------------------- HTML

std::string render_html(const ReportDocument& doc, const std::string& dir) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      // Nothing may load from anywhere: figures are data URIs, styles are inline.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
      "style-src 'unsafe-inline'\">\n"
      "<title>orch report</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em auto;max-width:1200px;color:#222}\n"
      "table.r{border-collapse:collapse;margin:1em 0}\n"
      "table.r th,table.r td{border-top:1px solid #ccc;border-bottom:1px solid #ccc;"
      "padding:4px 8px;vertical-align:top;text-align:left}\n"
      "table.r th{background:#f3f3f3}\n td.best .v{font-weight:bold}\n"
      ".s{color:#666;font-size:85%}\n.banner{background:#fff3cd;border:1px solid #e0b000;"
      "padding:0.8em;margin:1em 0}\n"
      ".figs{display:flex;flex-wrap:wrap;gap:1em}\n.figs figure{margin:0}\n"
      ".figs img{border:1px solid #eee}\n"
      ".figs figure.curves img,.figs figure.distributions img,.figs figure.classes img"
      "{width:560px}\n.figs figure.overlay img{width:280px}\n"
      "nav ul{line-height:1.6}\ntable.prov td{padding:2px 8px;vertical-align:top}\n"
      "</style></head><body>\n<h1>orch report</h1>\n";
  out += "<nav id=\"toc\"><h2>Contents</h2><ul>\n";
  for (const auto& e : doc.experiments) {
    out += "<li>" + escape_html(e.name) + "<ul>\n";
    for (const auto& tr : e.tables)
      out += fmt::format("<li><a href=\"#{}\">{}</a></li>\n", anchor(e.name, tr.table.config.name),
                         escape_html(table_caption(tr.table.config)));
    out += "</ul></li>\n";
  }
  out += "<li><a href=\"#provenance\">Provenance</a></li></ul></nav>\n";
  for (const auto& e : doc.experiments) {
    out += "<section class=\"experiment\"><h2>" + escape_html(e.name) + "</h2>\n";
    if (const std::string b = banner_text(e); !b.empty())
      out += "<div class=\"banner\" id=\"phantom-banner\"><strong>Note.</strong> " +
             escape_html(b) + "</div>\n";
    for (const auto& tr : e.tables) {
      const Table& t = tr.table;
      out += fmt::format("<section class=\"table\" id=\"{}\"><h3>{}</h3>\n",
                         anchor(e.name, t.config.name), escape_html(table_caption(t.config)));
      if (!t.config.source.empty())
        out += "<p class=\"s\">Source: " + escape_html(t.config.source) + "</p>\n";
      out += "<table class=\"r\"><thead><tr>";
      for (const auto& h : headings(t)) out += "<th>" + escape_html(h) + "</th>";
      out += "</tr></thead><tbody>\n";
      for (const auto& r : t.rows) {
        out += "<tr>";
        for (const auto& [key, label] : t.config.marks)
          out += r.entry->marks.count(key) ? "<td>&#10003;</td>" : "<td></td>";
        out += "<th>" + escape_html(r.label) + "</th>";
        if (has_sub_metrics(t))
          out += "<td>" + escape_html(r.metric.empty() ? "" : metric_heading(r.metric)) + "</td>";
        for (const auto& c : r.cells) {
          const bool best = std::any_of(c.metrics.begin(), c.metrics.end(),
                                        [](const MetricCell& m) { return m.best; });
          out += best ? "<td class=\"best\">" : "<td>";
          out += "<span class=\"v\">" + escape_html(means_text(c, " | ")) + "</span>";
          if (std::any_of(c.metrics.begin(), c.metrics.end(), significant)) out += " *";
          std::string ci;
          for (const auto& m : c.metrics)
            if (m.summary.n) ci += (ci.empty() ? "" : " | ") + ci_text(m);
          if (!ci.empty()) out += "<br><span class=\"s\">95% CI " + escape_html(ci) + "</span>";
          if (const auto n = n_text(c); !n.empty())
            out += "<br><span class=\"s\">" + escape_html(n) + "</span>";
          if (const auto p = published_text(c, " | ", "Δ"); !p.empty())
            out += "<br><span class=\"s\">" + escape_html(p) + "</span>";
          for (const auto& m : c.metrics)
            if (m.tested)
              out += "<br><span class=\"s\">" +
                     escape_html(m.test.computed
                                     ? "p " + p_text(m.test.p) + ", Holm " + p_text(m.p_holm)
                                     : m.test.note) +
                     "</span>";
          if (const auto note = trials_note(c); !note.empty())
            out += "<br><span class=\"s\">" + escape_html(note) + "</span>";
          out += "</td>";
        }
        if (t.config.improvement) out += "<td>" + escape_html(improvement_text(t, r)) + "</td>";
        out += "</tr>\n";
      }
      out += "</tbody></table>\n";
      out += fmt::format(
          "<p class=\"s\">Cells: mean ± sd over test cases (pooled over seeds), 95% bootstrap "
          "CI, n. Bold: best. *: Holm-corrected Wilcoxon p &lt; 0.05 against {} ({} "
          "test(s)).</p>\n",
          escape_html(t.config.columns[t.reference].label), t.tests);
      if (!t.notes.empty()) {
        out += "<ul class=\"notes\">\n";
        for (const auto& note : t.notes) out += "<li>" + escape_html(note) + "</li>\n";
        out += "</ul>\n";
      }
      if (!tr.figures.empty()) {
        out += "<div class=\"figs\">\n";
        for (const auto& f : tr.figures) {
          const std::string data = read_file(dir + "/" + f.file);
          const bool svg = f.file.size() > 4 && f.file.substr(f.file.size() - 4) == ".svg";
          out += fmt::format(
              "<figure class=\"{}\"><img alt=\"{}\" src=\"data:{};base64,{}\"><figcaption "
              "class=\"s\">{}</figcaption></figure>\n",
              f.kind, escape_html(f.title), svg ? "image/svg+xml" : "image/png", base64(data),
              escape_html(f.title));
        }
        out += "</div>\n";
      }
      out += "</section>\n";
    }
    out += "<p>" + escape_html(trial_counts(e.trials)) + "</p>\n";
    const auto failed = trial_lines(e.trials, false);
    if (!failed.empty()) {
      out += "<ul class=\"failed\">\n";
      for (const auto& l : failed) out += "<li>" + escape_html(l) + "</li>\n";
      out += "</ul>\n";
    }
    out += "</section>\n";
  }
  out += "<section id=\"provenance\"><h2>Provenance</h2>\n";
  for (const auto& e : doc.experiments) {
    out += "<h3>" + escape_html(e.name) + "</h3>\n";
    const auto lines = provenance_lines(e.provenance);
    if (lines.empty())
      out += "<p>No run provenance recorded.</p>\n";
    else {
      out += "<table class=\"prov\">\n";
      for (const auto& [k, v] : lines)
        out += "<tr><td>" + escape_html(k) + "</td><td>" + escape_html(v) + "</td></tr>\n";
      out += "</table>\n";
    }
  }
  out += "<p class=\"s\">Report written " +
         escape_html(doc.provenance.value("report", json::object()).value("written_at", "")) +
         " by orch " +
         escape_html(doc.provenance.value("report", json::object()).value("orch_version", "")) +
         "; provenance.json holds every field.</p>\n</section>\n</body></html>\n";
  return out;
}

// ---------------------------------------------------------------- CSV

std::string render_csv(const ReportDocument& doc) {
  std::string out = std::string(kReportCsvHeader) + "\n";
  for (const auto& e : doc.experiments)
    for (const auto& tr : e.tables) {
      const Table& t = tr.table;
      const std::string ref = t.config.columns[t.reference].label;
      for (const auto& r : t.rows) {
        for (std::size_t c = 0; c < r.cells.size(); ++c)
          for (const auto& m : r.cells[c].metrics) {
            const auto& s = m.summary;
            out += fmt::format(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", escape_csv(t.config.name),
                escape_csv(r.label), escape_csv(t.config.columns[c].label), m.metric, s.n,
                exact(s.mean), exact(s.sd), exact(s.median), exact(m.ci.low), exact(m.ci.high),
                m.published ? exact(*m.published) : "", exact(m.delta),
                m.test.computed ? exact(m.test.p) : "", m.test.computed ? exact(m.p_holm) : "",
                m.tested ? escape_csv(ref) : "");
          }
        if (t.config.improvement)
          out += fmt::format("{},{},{},improvement,,{},,,,,,,,,\n", escape_csv(t.config.name),
                             escape_csv(r.label), escape_csv(t.config.improvement->label),
                             exact(r.improvement));
      }
    }
  return out;
}

// ---------------------------------------------------------------- LaTeX

std::string render_tex(const ReportDocument& doc) {
  std::string out =
      "% orch report: one booktabs tabular per table. \\input{report.tex} after\n"
      "% \\usepackage{booktabs}. Cells: mean $\\pm$ sd over test cases; bold: best.\n";
  for (const auto& e : doc.experiments)
    for (const auto& tr : e.tables) {
      const Table& t = tr.table;
      const auto h = headings(t);
      out += "\\begin{table}[ht]\n\\centering\n";
      out += "\\caption{" + escape_tex(table_caption(t.config)) + "}\n";
      out += "\\begin{tabular}{" + std::string(h.size(), 'l') + "}\n\\toprule\n";
      for (std::size_t i = 0; i < h.size(); ++i) out += (i ? " & " : "") + escape_tex(h[i]);
      out += " \\\\\n\\midrule\n";
      for (const auto& r : t.rows) {
        std::vector<std::string> cells;
        for (const auto& [key, label] : t.config.marks)
          cells.push_back(r.entry->marks.count(key) ? "$\\bullet$" : "");
        cells.push_back(escape_tex(r.label));
        if (has_sub_metrics(t))
          cells.push_back(r.metric.empty() ? "" : escape_tex(metric_heading(r.metric)));
        for (const auto& c : r.cells) {
          std::string s;
          for (std::size_t i = 0; i < c.metrics.size(); ++i) {
            const auto& m = c.metrics[i];
            std::string v =
                m.summary.n ? num(m.summary.mean) +
                                  (m.summary.n > 1 ? " $\\pm$ " + num(m.summary.sd) : std::string())
                            : std::string("--");
            if (m.best) v = "\\textbf{" + v + "}";
            if (significant(m)) v += "$^{*}$";
            s += (i ? " \\textbar{} " : "") + v;
          }
          cells.push_back(s);
        }
        if (t.config.improvement) {
          const std::string imp = improvement_text(t, r);
          cells.push_back(imp == "–" ? "--" : escape_tex(imp));
        }
        for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? " & " : "") + cells[i];
        out += " \\\\\n";
      }
      out += "\\bottomrule\n\\end{tabular}\n";
      for (const auto& note : t.notes) out += "\n\\par\\footnotesize " + escape_tex(note) + "\n";
      out += "\\end{table}\n\n";
    }
  return out;
}

}  // namespace orch
