// `orch eval`: scores a folder of predicted NIfTI label maps against a folder of references, per
// case and class: every metric of the registry (common/metrics/metric.h): confusion counts, DSC,
// IoU, precision, recall and HD95, ASSD, surface Dice (worker/infer/surface_metrics.h), in mm
// from the reference header's spacing, and the per-slice Dice over the axial (k) slices.
//
// Files pair by case name: the file name without .nii / .nii.gz, so "case.nii.gz" meets
// "case.nii.gz" or "case.nii"; a prediction named with nnU-Net's channel suffix ("case_0000")
// also meets "case". Unpaired files are listed on stderr; no pair at all is an error.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/metrics/aggregate.h"
#include "common/metrics/metric.h"
#include "common/status.h"
#include "common/strings.h"
#include "datastore/formats/nifti.h"
#include "orchestrator/cli/cli.h"
#include "worker/infer/scoring.h"

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Case name of a NIfTI file name, "" for any other file.
std::string case_name(const std::string& file) {
  for (const std::string ext : {".nii.gz", ".nii"})
    if (file.size() > ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0)
      return file.substr(0, file.size() - ext.size());
  return "";
}

std::map<std::string, fs::path> nifti_files(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error("'" + dir + "' is not a folder");
  std::map<std::string, fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = case_name(e.path().filename().string());
    if (e.is_regular_file() && !name.empty()) out[name] = e.path();
  }
  return out;
}

struct CasePair {
  std::string name;
  fs::path pred, gt;
};

// Pairs predictions with references by case name; lists the unpaired ones on stderr.
std::vector<CasePair> pair_cases(const std::string& pred_dir, const std::string& gt_dir) {
  const auto preds = nifti_files(pred_dir);
  auto gts = nifti_files(gt_dir);
  std::vector<CasePair> out;
  for (const auto& [name, path] : preds) {
    std::string key = name;
    const bool channel_suffix =
        name.size() > 5 && name[name.size() - 5] == '_' &&
        std::all_of(name.end() - 4, name.end(), [](unsigned char ch) { return std::isdigit(ch); });
    if (!gts.count(key) && channel_suffix) key = name.substr(0, name.size() - 5);
    const auto it = gts.find(key);
    if (it == gts.end()) {
      std::cerr << "orch eval: no reference for prediction " << path.string() << "\n";
      continue;
    }
    out.push_back({key, path, it->second});
    gts.erase(it);
  }
  for (const auto& [name, path] : gts)
    std::cerr << "orch eval: no prediction for reference " << path.string() << "\n";
  if (out.empty())
    throw Error("no prediction in '" + pred_dir + "' has a reference of the same name in '" +
                gt_dir + "'");
  return out;
}

std::vector<std::uint8_t> to_labels(const NiftiImage& img, const std::string& path) {
  std::vector<std::uint8_t> out(img.data.size());
  for (std::size_t i = 0; i < img.data.size(); ++i) {
    const float v = img.data[i];
    if (!(v >= 0 && v <= 255) || v != std::round(v))
      throw Error("label map '" + path + "' holds " + std::to_string(v) + " at voxel " +
                  std::to_string(i) + "; labels must be whole numbers in 0..255");
    out[i] = static_cast<std::uint8_t>(v);
  }
  return out;
}

// Scores one pair for every class 1..max label seen (in either map or in `wanted`).
std::vector<CaseClassCounts> score_pair(const CasePair& p, const std::set<int>& wanted,
                                        double tolerance, std::set<int>& gt_labels) {
  const NiftiImage gt = read_nifti(p.gt.string());
  const NiftiImage pred = read_nifti(p.pred.string());
  const auto is3d = [](const std::vector<std::int64_t>& s) {
    return s.size() == 3 || (s.size() == 4 && s[3] == 1);
  };
  if (pred.shape != gt.shape || !is3d(gt.shape))
    throw Error("prediction '" + p.pred.string() + "' has shape " + join(pred.shape, "x") +
                " and reference '" + p.gt.string() + "' has shape " + join(gt.shape, "x") +
                "; both must be the same 3D shape");
  const auto ref = to_labels(gt, p.gt.string());
  const auto prd = to_labels(pred, p.pred.string());
  int max_label = wanted.empty() ? 1 : *wanted.rbegin();  // at least one class: every voxel count
  for (std::size_t i = 0; i < ref.size(); ++i) {
    max_label = std::max({max_label, int{ref[i]}, int{prd[i]}});
    if (ref[i]) gt_labels.insert(ref[i]);
  }
  return score_prediction(p.name, prd.data(), ref.data(), {gt.shape[0], gt.shape[1], gt.shape[2]},
                          gt.spacing, max_label + 1, tolerance);
}

// The rows of `classes`, by case and class. A class absent from both maps of a case still gets
// its row: counts 0 but tn, surface metrics NaN, dsc_slice 0 (every slice is empty-empty) and
// dsc_slice_nonempty NaN.
std::vector<CaseClassCounts> select_rows(
    const std::map<std::string, std::vector<CaseClassCounts>>& scored,
    const std::set<int>& classes) {
  std::vector<CaseClassCounts> out;
  for (const auto& [name, case_rows] : scored) {
    std::map<int, CaseClassCounts> by_class;
    for (const auto& r : case_rows) by_class[r.label] = r;
    const auto& any = case_rows.at(0).counts;  // classes 1..max >= 1 always give a row
    for (int c : classes) {
      const auto it = by_class.find(c);
      if (it != by_class.end()) {
        out.push_back(it->second);
      } else {
        CaseClassCounts absent{name, c,
                               ConfusionCounts{0, 0, 0, any.tp + any.fp + any.fn + any.tn}};
        absent.dsc_slice = 0.0;
        out.push_back(absent);
      }
    }
  }
  return out;
}

std::set<int> parse_labels(const std::string& text) {
  std::set<int> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 1 || v > 255)
      throw Error("--labels: '" + item + "' is not a class in 1..255 (e.g. --labels 1,2)");
    out.insert(v);
  }
  return out;
}

// Values as common/json.h writes them: NaN as null and +inf as "inf", as in RESULT messages.
json row_json(const CaseClassCounts& c) {
  json j = {{"case", c.case_id}, {"class", c.label},  {"tp", c.counts.tp},
            {"fp", c.counts.fp}, {"fn", c.counts.fn}, {"tn", c.counts.tn}};
  for (const auto& m : metric_registry()) j[m.name] = number_json(m.of(c));
  return j;
}

// Per class and metric: mean ± sample std over cases of the finite values, their number, and
// how many cases were infinite (an empty mask on one side only).
json class_summary(const std::vector<CaseClassCounts>& rows, int label) {
  json out = json::object();
  for (const auto& m : metric_registry()) {
    std::vector<double> v;
    std::int64_t inf = 0;
    for (const auto& r : rows)
      if (r.label == label) {
        v.push_back(m.of(r));
        inf += std::isinf(v.back()) ? 1 : 0;
      }
    const MeanStd s = mean_std(v);
    out[m.name] = {
        {"mean", number_json(s.mean)}, {"std", number_json(s.std)}, {"n", s.n}, {"inf", inf}};
  }
  return out;
}

std::string cell(double v) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return "inf";
  return fmt::format("{:.4f}", v);
}

// A metric's column heading in the per-case table: its name, shortened to fit ("prec",
// "dsc_sl", "dsc_slne"), and
// surface Dice with its tolerance ("nsd@1").
std::string heading(const MetricDef& m, double tol) {
  const std::string name = m.name;
  if (name == "precision") return "prec";
  if (name == "dsc_slice") return "dsc_sl";
  if (name == "dsc_slice_nonempty") return "dsc_slne";
  if (name == "nsd") return fmt::format("nsd@{:g}", tol);
  return name;
}

void print_table(const std::vector<CaseClassCounts>& rows, const std::set<int>& classes,
                 const json& summary, double tol) {
  std::cout << fmt::format("{:<24} {:>5}", "case", "class");
  for (const auto& m : metric_registry()) std::cout << fmt::format(" {:>8}", heading(m, tol));
  std::cout << "\n";
  for (const auto& r : rows) {
    std::cout << fmt::format("{:<24} {:>5}", r.case_id, r.label);
    for (const auto& m : metric_registry()) std::cout << fmt::format(" {:>8}", cell(m.of(r)));
    std::cout << "\n";
  }
  std::cout << "\nper class, over cases (distances in mm; undefined values skipped, infinite ones "
               "counted apart)\n";
  std::cout << fmt::format("{:<5} {:<18} {:>8} {:>8} {:>5} {:>5}\n", "class", "metric", "mean",
                           "std", "n", "inf");
  for (int c : classes)
    for (const auto& m : metric_registry()) {
      const json& s = summary.at("classes").at(std::to_string(c)).at(m.name);
      std::cout << fmt::format("{:<5} {:<18} {:>8} {:>8} {:>5} {:>5}\n", c, m.name,
                               cell(number_from_json(s.at("mean"))),
                               cell(number_from_json(s.at("std"))), s.at("n").get<std::int64_t>(),
                               s.at("inf").get<std::int64_t>());
    }
}

}  // namespace

int cmd_eval(const std::vector<std::string>& args) {
  std::string pred_dir, gt_dir, labels_text;
  double tolerance = 1.0;
  po::options_description desc("orch eval options");
  desc.add_options()("pred", po::value(&pred_dir)->required(), "folder of predicted label maps")(
      "gt", po::value(&gt_dir)->required(), "folder of reference label maps (same file names)")(
      "labels", po::value(&labels_text),
      "classes to score, e.g. 1,2 (default: every label > 0 "
      "found in the references)")("tolerance", po::value(&tolerance),
                                  "surface Dice tolerance in mm (default 1)")(
      "json", "print one JSON object instead of tables");
  po::variables_map vm;
  if (!parse_options(args, "orch eval --pred DIR --gt DIR [--labels 1,2] [--tolerance MM] [--json]",
                     desc, {}, vm))
    return 0;
  if (!(tolerance >= 0) || !std::isfinite(tolerance))
    throw Error("--tolerance must be a finite number of mm >= 0");
  const std::set<int> wanted = labels_text.empty() ? std::set<int>{} : parse_labels(labels_text);
  std::set<int> gt_labels;
  std::map<std::string, std::vector<CaseClassCounts>> scored;  // by case
  const auto pairs = pair_cases(pred_dir, gt_dir);
  for (const auto& p : pairs) scored[p.name] = score_pair(p, wanted, tolerance, gt_labels);
  const std::set<int>& classes = wanted.empty() ? gt_labels : wanted;
  const auto rows = select_rows(scored, classes);
  json summary = {{"tolerance_mm", tolerance},
                  {"cases", pairs.size()},
                  {"overall", summarize_counts(rows)},
                  {"classes", json::object()}};
  for (int c : classes) summary["classes"][std::to_string(c)] = class_summary(rows, c);
  if (vm.count("json")) {
    json cases = json::array();
    for (const auto& r : rows) cases.push_back(row_json(r));
    std::cout << json{{"cases", cases}, {"summary", summary}}.dump(2) << "\n";
  } else {
    print_table(rows, classes, summary, tolerance);
  }
  return 0;
}

}  // namespace orch
