#include "reports/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/hash.h"
#include "common/metrics/aggregate.h"

namespace orch {

std::map<std::string, double> row_case_values(const std::vector<CaseClassCounts>& counts,
                                              const TableEntry& entry, const std::string& metric) {
  if (entry.class_index < 0 && entry.average != "all") return case_values(counts, metric);
  const MetricDef& m = orch::metric(metric);
  std::map<std::string, std::vector<double>> per_case;
  for (const auto& c : counts)
    if (entry.average == "all" || c.label == entry.class_index)
      per_case[c.case_id].push_back(m.of(c));
  std::map<std::string, double> out;
  for (const auto& [id, values] : per_case) out[id] = mean_over_classes(values);
  return out;
}

double pooled_value(const std::vector<CaseClassCounts>& counts, const TableEntry& entry,
                    const std::string& metric) {
  // The classes the row selects, each with its counts summed over the cases; the value is the
  // mean over those classes of the metric of the summed counts.
  std::map<int, CaseClassCounts> sums;
  for (const auto& c : counts) {
    const bool selected = entry.class_index >= 0   ? c.label == entry.class_index
                          : entry.average == "all" ? true
                                                   : c.label >= 1;
    if (!selected) continue;
    auto& s = sums[c.label];
    s.case_id = "pooled";
    s.label = c.label;
    s.counts.tp += c.counts.tp;
    s.counts.fp += c.counts.fp;
    s.counts.fn += c.counts.fn;
    s.counts.tn += c.counts.tn;
  }
  const MetricDef& m = orch::metric(metric);
  std::vector<double> values;
  for (const auto& [label, s] : sums) values.push_back(m.of(s));
  return values.empty() ? stats::kNaN : mean_over_classes(values);
}

namespace {

// The metrics a cell of `row` (a display row) and `column` shows.
std::vector<std::string> cell_metrics(const TableConfig& t, const TableEntry& row,
                                      const std::string& sub_metric, const TableEntry& column) {
  if (!row.metric.empty()) return {row.metric};
  if (!column.metric.empty()) return {column.metric};
  if (!sub_metric.empty()) return {sub_metric};
  return t.metrics;
}

std::uint64_t cell_seed(const std::string& table, const std::string& row, const std::string& col,
                        const std::string& metric) {
  Fnv1a64 h;
  for (const auto* s : {&table, &row, &col, &metric}) {
    h.update(*s);
    h.update("\x1f", 1);
  }
  return h.digest();
}

class Builder {
 public:
  Builder(const ResultStore& store, const std::string& experiment) : store_(store) {
    for (const auto& c : store.table_cells(experiment)) cells_.push_back(c);
  }

  Table build(const TableConfig& config) {
    Table t;
    t.config = config;
    const TableConfig& cfg = t.config;
    for (std::size_t c = 0; c < cfg.columns.size(); ++c)
      if (cfg.columns[c].key == cfg.reference) t.reference = c;
    const bool axis_metric = std::any_of(cfg.columns.begin(), cfg.columns.end(),
                                         [](const TableEntry& e) { return !e.metric.empty(); });
    for (const auto& row : cfg.rows) {
      std::vector<std::string> subs = {""};
      if (row.metric.empty() && !axis_metric && !cfg.combine && cfg.metrics.size() > 1)
        subs = cfg.metrics;
      for (const auto& sub : subs) t.rows.push_back(make_row(cfg, row, sub));
    }
    test(t);
    mark_best(t);
    improve(t);
    check_expectation(t);
    write_notes(t);
    return t;
  }

 private:
  TableRow make_row(const TableConfig& cfg, const TableEntry& row, const std::string& sub) {
    TableRow r;
    r.entry = &row;
    r.label = row.label;
    r.metric = sub;
    r.average = !row.average.empty();
    for (const auto& col : cfg.columns) {
      TableCell cell;
      std::tie(cell.dataset, cell.model) = cfg.cell_source(row, col);
      std::vector<std::pair<std::uint64_t, std::string>> trials;  // (seed, id)
      std::vector<std::pair<std::uint64_t, std::string>> untrained;
      for (const auto& c : cells_) {
        if (c.dataset != cell.dataset || c.model != cell.model) continue;
        const auto rec = trial(c.trial_id);
        const bool done = rec && rec->state == TrialState::kDone;
        if (c.table == cfg.name) {
          ++cell.planned;
          if (done) {
            cell.trials.push_back(c.trial_id);
            trials.emplace_back(c.seed, c.trial_id);
          }
        } else if (done && c.table == cfg.name + kBaselineSuffix) {
          untrained.emplace_back(c.seed, c.trial_id);
        }
      }
      for (const auto& metric : cell_metrics(cfg, row, sub, col)) {
        MetricCell m;
        m.metric = metric;
        std::map<std::uint64_t, std::vector<double>> by_seed;
        m.cases = values_of(trials, row, metric, cfg.aggregate, &by_seed);
        if (!untrained.empty()) {
          std::vector<double> u;
          for (const auto& [k, v] : values_of(untrained, row, metric, cfg.aggregate, nullptr))
            if (std::isfinite(v)) u.push_back(v);
          if (!u.empty()) m.untrained = stats::describe(u).mean;
        }
        std::vector<double> values;
        for (const auto& [k, v] : m.cases) {
          values.push_back(v);
          if (std::isinf(v)) ++m.infinite;
        }
        m.summary = stats::describe(values);
        if (m.summary.n > 0)
          m.ci = stats::bootstrap_ci(values,
                                     cell_seed(cfg.name, row.key + "/" + sub, col.key, metric));
        std::vector<double> seed_means;
        for (const auto& [seed, v] : by_seed) {
          const auto s = stats::describe(v);
          if (s.n > 0) seed_means.push_back(s.mean);
        }
        m.seeds = seed_means.size();
        if (seed_means.size() > 1) m.seed_sd = stats::describe(seed_means).sd;
        const auto pub = cfg.published.find({row.key, col.key});
        if (pub != cfg.published.end() && pub->second.count(metric)) {
          m.published = pub->second.at(metric);
          m.delta = m.summary.mean - *m.published;
        }
        cell.metrics.push_back(std::move(m));
      }
      r.cells.push_back(std::move(cell));
    }
    return r;
  }

  // Each cell against the reference column's cell of its row, then Holm over the table.
  void test(Table& t) {
    std::vector<MetricCell*> tested;
    std::vector<double> p;
    for (auto& row : t.rows) {
      const TableCell& ref = row.cells[t.reference];
      for (std::size_t c = 0; c < row.cells.size(); ++c) {
        if (c == t.reference) continue;
        TableCell& cell = row.cells[c];
        if (cell.dataset == ref.dataset && cell.model == ref.model) continue;  // the same trials
        for (std::size_t k = 0; k < cell.metrics.size() && k < ref.metrics.size(); ++k) {
          MetricCell& m = cell.metrics[k];
          const MetricCell& r = ref.metrics[k];
          if (m.metric != r.metric || m.cases.empty() || r.cases.empty()) continue;
          std::vector<double> x, y;
          for (const auto& [key, v] : m.cases) {
            const auto it = r.cases.find(key);
            if (it != r.cases.end()) {
              x.push_back(v);
              y.push_back(it->second);
            }
          }
          m.tested = true;
          m.test = stats::wilcoxon(x, y);
          if (m.test.computed) {
            tested.push_back(&m);
            p.push_back(m.test.p);
          }
        }
      }
    }
    const auto adjusted = stats::holm(p);
    for (std::size_t i = 0; i < tested.size(); ++i) tested[i]->p_holm = adjusted[i];
    t.tests = tested.size();
  }

  void mark_best(Table& t) {
    const std::string& bold = t.config.bold;
    if (bold == "none") return;
    const auto mark = [](std::vector<MetricCell*> group) {
      // A best value needs something to be better than.
      if (std::count_if(group.begin(), group.end(),
                        [](const MetricCell* m) { return m->summary.n > 0; }) < 2)
        return;
      MetricCell* best = nullptr;
      for (auto* m : group) {
        if (m->summary.n == 0) continue;
        const bool higher = orch::metric(m->metric).higher_is_better;
        if (!best ||
            (higher ? m->summary.mean > best->summary.mean : m->summary.mean < best->summary.mean))
          best = m;
      }
      if (!best) return;
      for (auto* m : group)  // ties are all bold
        if (m->summary.n && m->summary.mean == best->summary.mean) m->best = true;
    };
    if (bold == "row") {
      for (auto& row : t.rows) {
        const std::size_t k = row.cells.empty() ? 0 : row.cells[0].metrics.size();
        for (std::size_t i = 0; i < k; ++i) {
          std::vector<MetricCell*> group;
          for (auto& cell : row.cells)
            if (i < cell.metrics.size()) group.push_back(&cell.metrics[i]);
          mark(group);
        }
      }
    } else {
      // Within a column, among the rows that show the same metric.
      const std::size_t columns = t.config.columns.size();
      for (std::size_t c = 0; c < columns; ++c) {
        std::map<std::string, std::vector<MetricCell*>> by_metric;
        for (auto& row : t.rows)
          if (!row.average)
            for (auto& m : row.cells[c].metrics) by_metric[m.metric].push_back(&m);
        for (auto& [metric, group] : by_metric) mark(group);
      }
    }
  }

  void improve(Table& t) {
    if (!t.config.improvement) return;
    const TableImprovement& imp = *t.config.improvement;
    std::size_t from = 0, to = 0;
    for (std::size_t c = 0; c < t.config.columns.size(); ++c) {
      if (t.config.columns[c].key == imp.from) from = c;
      if (t.config.columns[c].key == imp.to) to = c;
    }
    const auto of = [&](const TableRow& row) {
      if (row.cells[from].metrics.empty() || row.cells[to].metrics.empty()) return stats::kNaN;
      const double a = row.cells[from].metrics[0].summary.mean;
      const double b = row.cells[to].metrics[0].summary.mean;
      return imp.kind == "relative" ? (b - a) / a * 100.0 : b - a;
    };
    for (auto& row : t.rows) row.improvement = of(row);
    if (imp.average == "of_means") return;
    for (auto& row : t.rows) {
      if (!row.average) continue;
      // The rows it averages: the foreground classes, or every class.
      const int lowest = row.entry->average == "all" || imp.average == "mean_of_all_rows" ? 0 : 1;
      double sum = 0;
      int n = 0;
      for (const auto& other : t.rows)
        if (!other.average && other.entry->class_index >= lowest && other.metric == row.metric &&
            std::isfinite(other.improvement)) {
          sum += other.improvement;
          ++n;
        }
      row.improvement = n ? sum / n : stats::kNaN;
    }
  }

  // "seed/case" -> value over the trials' cases (or "seed/pooled" -> the metric of the counts
  // summed over the seed's cases); `by_seed` collects the finite and infinite values per seed.
  std::map<std::string, double> values_of(
      const std::vector<std::pair<std::uint64_t, std::string>>& trials, const TableEntry& row,
      const std::string& metric, const std::string& aggregate,
      std::map<std::uint64_t, std::vector<double>>* by_seed) {
    std::map<std::string, double> out;
    for (const auto& [seed, id] : trials) {
      const auto values =
          aggregate == "pooled"
              ? std::map<std::string, double>{{"pooled", pooled_value(counts(id), row, metric)}}
              : row_case_values(counts(id), row, metric);
      for (const auto& [case_id, v] : values) {
        if (std::isnan(v)) continue;
        out[std::to_string(seed) + "/" + case_id] = v;
        if (by_seed) (*by_seed)[seed].push_back(v);
      }
    }
    return out;
  }

  // E10: every `above` key must score higher than every `below` key. Keys name rows (compared
  // within each column) or columns (compared within each row), on the expectation's metric.
  void check_expectation(Table& t) {
    if (!t.config.expect) return;
    const auto& x = *t.config.expect;
    // The claim's value of a cell: nullopt when the cell does not show the claim's metric (a
    // metric row or column of another metric), NaN when it does but holds no case yet.
    const auto value = [&](const TableRow& r, std::size_t c) -> std::optional<double> {
      for (const auto& m : r.cells[c].metrics)
        if (m.metric == x.metric) return m.summary.n ? m.summary.mean : stats::kNaN;
      return std::nullopt;
    };
    std::vector<std::vector<std::pair<std::string, double>>> groups;  // per comparison: key, v
    const auto is_row = [&](const std::string& k) {
      return std::any_of(t.rows.begin(), t.rows.end(),
                         [&](const TableRow& r) { return r.entry->key == k; });
    };
    const bool rows = !x.above.empty() && is_row(x.above.front());
    if (rows) {
      for (std::size_t c = 0; c < t.config.columns.size(); ++c) {
        std::vector<std::pair<std::string, double>> g;
        for (const auto& r : t.rows)
          if (!r.average)
            if (const auto v = value(r, c)) g.emplace_back(r.entry->key, *v);
        if (!g.empty()) groups.push_back(std::move(g));
      }
    } else {
      for (const auto& r : t.rows) {
        std::vector<std::pair<std::string, double>> g;
        for (std::size_t c = 0; c < t.config.columns.size(); ++c)
          if (const auto v = value(r, c)) g.emplace_back(t.config.columns[c].key, *v);
        if (!g.empty()) groups.push_back(std::move(g));
      }
    }
    ExpectationCheck& e = t.expectation;
    e.evaluated = !groups.empty();
    e.agrees = true;
    std::string detail;
    const bool higher = orch::metric(x.metric).higher_is_better;
    for (const auto& g : groups) {
      const auto find = [&](const std::string& k) {
        for (const auto& [key, v] : g)
          if (key == k) return v;
        return stats::kNaN;
      };
      std::string worst_above, best_below;
      double lo = stats::kNaN, hi = stats::kNaN;
      for (const auto& k : x.above) {
        const double v = higher ? find(k) : -find(k);
        if (std::isnan(v)) e.evaluated = false;
        if (std::isnan(lo) || v < lo) lo = v, worst_above = k;
      }
      for (const auto& k : x.below) {
        const double v = higher ? find(k) : -find(k);
        if (std::isnan(v)) e.evaluated = false;
        if (std::isnan(hi) || v > hi) hi = v, best_below = k;
      }
      if (!(lo > hi)) e.agrees = false;
      std::vector<std::pair<std::string, double>> ranked;
      for (const auto& [k, v] : g)
        if (!std::isnan(v)) ranked.emplace_back(k, v);
      std::sort(ranked.begin(), ranked.end(), [&](auto& a, auto& b) {
        return higher ? a.second > b.second : a.second < b.second;
      });
      std::string order;
      for (const auto& [k, v] : ranked)
        order += (order.empty() ? "" : " > ") + k + " " + fmt_value(v);
      if (!detail.empty()) detail += "; ";
      detail += "lowest of the higher group: " + worst_above + " " + fmt_value(higher ? lo : -lo) +
                ", highest of the lower group: " + best_below + " " + fmt_value(higher ? hi : -hi) +
                " (ranking: " + order + ")";
    }
    if (!e.evaluated) e.agrees = false;
    e.detail = detail;
  }

  void write_notes(Table& t) {
    const TableConfig& cfg = t.config;
    if (cfg.baseline == "untrained")
      for (const auto& r : t.rows) {
        if (r.entry->class_index >= 0) continue;  // per-class rows: their Average speaks for them
        for (std::size_t c = 0; c < r.cells.size(); ++c)
          for (const auto& m : r.cells[c].metrics) {
            if (m.metric != "dsc" || !m.summary.n) continue;
            t.notes.push_back(
                "Untrained baseline (epochs: 0, same data and seed), " + r.label +
                (r.metric.empty() ? "" : " " + r.metric) + " / " + cfg.columns[c].label + ": DSC " +
                fmt_value(m.untrained) + " untrained, " + fmt_value(m.summary.mean) + " trained (" +
                (std::isnan(m.untrained) ? std::string("no baseline")
                                         : (m.summary.mean >= m.untrained ? "+" : "") +
                                               fmt_value(m.summary.mean - m.untrained)) +
                ")");
          }
      }
    if (cfg.expect) {
      const auto& e = t.expectation;
      t.notes.push_back("The paper's claim: " + cfg.expect->claim + ". orch " +
                        (!e.evaluated ? "cannot check it yet (cells missing)"
                         : e.agrees   ? "agrees"
                                      : "does not agree") +
                        ": " + e.detail + ".");
    }
    for (const auto& d : cfg.deviations) t.notes.push_back("Deviation: " + d);
  }

  static std::string fmt_value(double v) {
    if (std::isnan(v)) return "–";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
  }

  std::optional<TrialRecord> trial(const std::string& id) {
    auto it = trials_.find(id);
    if (it == trials_.end()) it = trials_.emplace(id, store_.trial(id)).first;
    return it->second;
  }

  const std::vector<CaseClassCounts>& counts(const std::string& id) {
    auto it = counts_.find(id);
    if (it == counts_.end()) it = counts_.emplace(id, store_.case_counts(id)).first;
    return it->second;
  }

  const ResultStore& store_;
  std::vector<TableCellRecord> cells_;
  std::map<std::string, std::optional<TrialRecord>> trials_;
  std::map<std::string, std::vector<CaseClassCounts>> counts_;
};

}  // namespace

Table build_table(const ResultStore& store, const std::string& experiment,
                  const TableConfig& config) {
  return Builder(store, experiment).build(config);
}

}  // namespace orch
