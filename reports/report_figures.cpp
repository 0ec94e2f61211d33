#include "reports/report_figures.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/metrics/metric.h"
#include "datastore/cache/h5cache.h"
#include "datastore/formats/nifti.h"
#include "reports/figures.h"

namespace orch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxCurves = 16;
constexpr std::size_t kMaxBoxes = 30;

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// The overlay of `trial`'s first scored case: image and reference from the dataset's cache, the
// prediction from the trial's predictions folder.
bool draw_overlay(const ResultStore& store, const TrialRecord& trial, const std::string& cache,
                  const std::string& path, std::string& caption) {
  const auto counts = store.case_counts(trial.id);
  if (counts.empty() || cache.empty()) return false;
  const std::string case_id = counts.front().case_id;
  const std::string out_dir = trial.spec.value("out_dir", std::string());
  const fs::path pred_file =
      fs::path(out_dir) / "trials" / trial.id / "predictions" / (case_id + ".nii.gz");
  if (!fs::exists(pred_file)) return false;
  const CacheReader reader(cache);
  const CachedCase c = reader.read(case_id);
  const auto& d = c.image.dims;
  const auto pred = read_nifti_label(pred_file.string(), d);
  const int ni = static_cast<int>(d[0]), nj = static_cast<int>(d[1]), nk = static_cast<int>(d[2]);
  int k = figures::largest_area_slice(c.label, ni, nj, nk);
  if (k < 0) k = figures::largest_area_slice(pred, ni, nj, nk);
  if (k < 0) k = nk / 2;
  figures::Slice s;
  s.width = ni;
  s.height = nj;
  const std::size_t plane = static_cast<std::size_t>(ni) * static_cast<std::size_t>(nj);
  const std::size_t offset = plane * static_cast<std::size_t>(k);
  s.image.assign(c.image.data.begin() + static_cast<std::ptrdiff_t>(offset),
                 c.image.data.begin() + static_cast<std::ptrdiff_t>(offset + plane));
  s.pred.resize(plane);
  s.ref.resize(plane);
  for (std::size_t i = 0; i < plane; ++i) {
    s.pred[i] = pred[offset + i] != 0;
    s.ref[i] = c.label[offset + i] != 0;
  }
  double dsc = NAN, iou = NAN;
  int n = 0;
  for (const auto& row : counts)
    if (row.case_id == case_id && row.label >= 1) {
      dsc = (n ? dsc : 0) + metric("dsc").of(row);
      iou = (n ? iou : 0) + metric("iou").of(row);
      ++n;
    }
  if (n) {
    dsc /= n;
    iou /= n;
  }
  caption = fmt::format("{} slice {}  DSC {:.3f} | IoU {:.3f}", case_id, k, dsc, iou);
  figures::overlay_png(path, s, caption);
  return true;
}

}  // namespace

std::vector<Figure> draw_table_figures(const ResultStore& store, const ExperimentReport& e,
                                       const Table& t, const std::string& out_dir) {
  std::vector<Figure> out;
  if (!figures::gnuplot_available()) {
    spdlog::warn("report: gnuplot is not installed; the figures are left out");
    return out;
  }
  const std::string base = safe_name(e.name) + "-" + safe_name(t.config.name);
  const fs::path dir = fs::path(out_dir) / "figures";
  const std::string caption = t.config.title.empty() ? t.config.name : t.config.title;
  const auto attempt = [&](const char* kind, const std::string& file, const std::string& title,
                           const auto& draw) {
    try {
      draw((dir / file).string());
      out.push_back({kind, title, "figures/" + file});
    } catch (const std::exception& ex) {
      spdlog::warn("report: figure {} of table '{}' not drawn: {}", kind, t.config.name, ex.what());
    }
  };

  // Training curves of every trial the table shows.
  std::vector<figures::Curve> curves;
  std::set<std::string> seen;
  for (const auto& row : t.rows)
    for (const auto& cell : row.cells)
      for (const auto& id : cell.trials) {
        if (!seen.insert(id).second || curves.size() >= kMaxCurves) continue;
        const auto rec = store.trial(id);
        figures::Curve c;
        c.label = fmt::format("{} / {} / seed {}", rec->model, rec->dataset, rec->seed);
        for (const auto& ep : store.epochs(id)) {
          c.epoch.push_back(ep.epoch);
          c.train_loss.push_back(ep.train_loss);
          c.val_loss.push_back(ep.val_loss);
          c.val_metric.push_back(ep.val_dsc);
        }
        c.best_epoch = rec->best_epoch;
        if (!c.epoch.empty()) curves.push_back(std::move(c));
      }
  if (!curves.empty())
    attempt("curves", base + "-curves.svg", caption + ": training curves",
            [&](const std::string& p) {
              figures::training_curves(p, caption, "validation DSC", curves);
            });

  // Per-case distributions, one box per cell (first metric).
  std::vector<figures::Distribution> boxes;
  std::string ylabel;
  for (const auto& row : t.rows)
    for (std::size_t c = 0; c < row.cells.size() && boxes.size() < kMaxBoxes; ++c) {
      const auto& cell = row.cells[c];
      if (cell.metrics.empty() || cell.metrics[0].cases.empty()) continue;
      figures::Distribution d;
      d.label =
          t.config.columns.size() == 1 ? row.label : row.label + " / " + t.config.columns[c].label;
      // One metric per figure: of metric sub-rows, those of the table's first metric.
      if (!row.metric.empty() && row.metric != t.config.metrics.front()) continue;
      for (const auto& [k, v] : cell.metrics[0].cases) d.values.push_back(v);
      const std::string label = metric(cell.metrics[0].metric).label;
      ylabel = ylabel.empty() || ylabel == label ? label : "value";  // metric rows mix metrics
      boxes.push_back(std::move(d));
    }
  if (!boxes.empty())
    attempt("distributions", base + "-cases.svg", caption + ": per-case values",
            [&](const std::string& p) { figures::box_plot(p, caption, ylabel, boxes); });

  // Per-class bars: ours per column, and the paper's where given.
  if (t.config.class_rows) {
    std::vector<std::string> categories;
    for (const auto& row : t.rows) categories.push_back(row.label);
    std::vector<figures::BarGroup> groups;
    for (std::size_t c = 0; c < t.config.columns.size(); ++c) {
      figures::BarGroup ours{t.config.columns[c].label, {}, {}, {}};
      figures::BarGroup paper{t.config.columns[c].label + " (paper)", {}, {}, {}};
      bool any_paper = false;
      for (const auto& row : t.rows) {
        const auto& m = row.cells[c].metrics.at(0);
        ours.values.push_back(m.summary.n ? m.summary.mean : NAN);
        ours.err_low.push_back(m.ci.low);
        ours.err_high.push_back(m.ci.high);
        paper.values.push_back(m.published ? *m.published : NAN);
        any_paper = any_paper || m.published.has_value();
      }
      groups.push_back(std::move(ours));
      if (any_paper) groups.push_back(std::move(paper));
    }
    attempt("classes", base + "-classes.svg", caption + ": per class", [&](const std::string& p) {
      figures::bar_chart(p, caption, metric(t.rows.at(0).cells.at(0).metrics.at(0).metric).label,
                         categories, groups);
    });
  }

  // Qualitative overlays, one per (dataset, model).
  std::map<std::string, std::string> caches;
  if (e.provenance.is_object() && e.provenance.contains("datasets"))
    for (const auto& d : e.provenance["datasets"])
      caches[d.value("name", std::string())] = d.value("cache_file", std::string());
  std::set<std::pair<std::string, std::string>> drawn;
  for (const auto& row : t.rows)
    for (const auto& cell : row.cells) {
      if (cell.trials.empty() || !drawn.insert({cell.dataset, cell.model}).second) continue;
      std::optional<TrialRecord> first;
      for (const auto& id : cell.trials) {
        auto rec = store.trial(id);
        if (rec && (!first || rec->seed < first->seed)) first = rec;
      }
      const std::string file =
          base + "-overlay-" + safe_name(cell.dataset) + "-" + safe_name(cell.model) + ".png";
      try {
        std::string text;
        if (draw_overlay(store, *first, caches[cell.dataset], (dir / file).string(), text))
          out.push_back(
              {"overlay", cell.model + " on " + cell.dataset + ": " + text, "figures/" + file});
      } catch (const std::exception& ex) {
        spdlog::warn("report: overlay of {} on {} not drawn: {}", cell.model, cell.dataset,
                     ex.what());
      }
    }
  return out;
}

}  // namespace orch
