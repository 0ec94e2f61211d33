// Data commands: `orch data synth` (phantoms), `orch inspect` (one file or series) and
// `orch prepare` (build the HDF5 caches ahead of a run).
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/dataset.h"
#include "datastore/dicom.h"
#include "datastore/nifti.h"
#include "datastore/york.h"
#include "orchestrator/cli.h"
#include "orchestrator/plan.h"
#include "worker/prepare.h"

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string kinds_text() {
  std::string s;
  for (const auto& k : dataset_kinds()) s += (s.empty() ? "" : ", ") + k;
  return s;
}

int inspect_nifti(const std::string& file, bool as_json) {
  const NiftiImage img = read_nifti(file);
  if (as_json) {
    std::cout
        << json{{"file", file},           {"shape", img.shape},   {"dtype", img.dtype},
                {"spacing", img.spacing}, {"affine", img.affine}, {"min", img.min},
                {"max", img.max},         {"mean", img.mean},     {"nifti_version", img.version}}
               .dump(2)
        << "\n";
    return 0;
  }
  std::string shape;
  for (auto d : img.shape) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
  std::cout << fmt::format("file     {}\nformat   NIfTI-{}\nshape    {}\ndtype    {}\n", file,
                           img.version, shape, img.dtype);
  std::cout << fmt::format("spacing  {:.6g} x {:.6g} x {:.6g} mm\naffine   (RAS)\n", img.spacing[0],
                           img.spacing[1], img.spacing[2]);
  for (const auto& row : img.affine)
    std::cout << fmt::format("         [{:>10.4f} {:>10.4f} {:>10.4f} {:>10.4f}]\n", row[0], row[1],
                             row[2], row[3]);
  std::cout << fmt::format("min      {:.6g}\nmax      {:.6g}\nmean     {:.8g}\n", img.min, img.max,
                           img.mean);
  return 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int inspect_dicom_folder(const std::string& dir, bool as_json) {
  const json j = inspect_dicom(dir);
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const auto& shape = j.at("shape");
  const auto& sp = j.at("spacing");
  std::cout << fmt::format("folder      {}\nformat      DICOM series, {} ({})\nseries      {}\n",
                           dir, j.at("modality").get<std::string>(),
                           j.at("transfer_syntax").get<std::string>(),
                           j.at("series_uid").get<std::string>());
  std::cout << fmt::format("shape       {} x {} x {} (columns x rows x slices)\n",
                           shape[0].get<int>(), shape[1].get<int>(), shape[2].get<int>());
  std::cout << fmt::format(
      "spacing     {:.6g} x {:.6g} x {:.6g} mm (slices: median position step)\n",
      sp[0].get<double>(), sp[1].get<double>(), sp[2].get<double>());
  std::cout << "affine      (RAS)\n";
  for (const auto& row : j.at("affine"))
    std::cout << fmt::format("            [{:>10.4f} {:>10.4f} {:>10.4f} {:>10.4f}]\n",
                             row[0].get<double>(), row[1].get<double>(), row[2].get<double>(),
                             row[3].get<double>());
  std::cout << fmt::format(
      "values      min {:.6g}, max {:.6g}, mean {:.8g} (rescaled, HU for CT)\n",
      j.at("min").get<double>(), j.at("max").get<double>(), j.at("mean").get<double>());
  std::cout << fmt::format("uniform     {}\n", j.at("uniform").get<bool>() ? "yes" : "no");
  for (const auto& g : j.at("gaps"))
    std::cout << fmt::format("gap         after slice {}: {:.6g} -> {:.6g} mm (step {:.6g})\n",
                             g.at("after_slice").get<int>(), g.at("from").get<double>(),
                             g.at("to").get<double>(), g.at("step").get<double>());
  for (const auto& w : j.at("warnings"))
    std::cout << "warning     " << w.get<std::string>() << "\n";
  return 0;
}

int inspect_mat(const std::string& file, bool as_json) {
  const json j = inspect_york_mat(file);
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("file        {}\nformat      {}\n", file,
                           j.at("format").get<std::string>());
  for (const auto& v : j.at("variables")) {
    std::string dims;
    for (const auto& d : v.at("dims"))
      dims += (dims.empty() ? "" : " x ") + std::to_string(d.get<long>());
    std::cout << fmt::format("variable    {} ({}, {})\n", v.at("name").get<std::string>(),
                             v.at("class").get<std::string>(), dims);
    for (const auto& [key, value] : v.items())
      if (key != "name" && key != "class" && key != "dims")
        std::cout << fmt::format("  {:<18}{}\n", key, value.dump());
  }
  return 0;
}

}  // namespace

int cmd_data(const std::vector<std::string>& args) {
  std::string action, dataset, out;
  PhantomOptions p;
  p.enabled = true;
  std::vector<int> size;
  po::options_description desc("orch data synth options");
  desc.add_options()("action", po::value(&action)->required(), "synth")(
      "dataset", po::value(&dataset)->required(), ("dataset kind: " + kinds_text()).c_str())(
      "out", po::value(&out)->required(), "folder to write the dataset into (new or empty)")(
      "cases", po::value(&p.cases)->default_value(p.cases), "labelled cases (patients)")(
      "seed", po::value(&p.seed)->default_value(p.seed),
      "seed; the same seed gives the same bytes")(
      "size", po::value(&size)->multitoken(), "volume size in voxels: I J K (default 96 96 32)");
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch data synth --dataset KIND --out DIR [--cases N] [--seed S]", desc,
                     pos, vm))
    return 0;
  if (action != "synth") throw Error("unknown data action '" + action + "'; expected: synth");
  if (!size.empty()) {
    if (size.size() != 3) throw Error("--size takes three numbers: I J K");
    for (int i = 0; i < 3; ++i) p.size[static_cast<size_t>(i)] = size[static_cast<size_t>(i)];
  }
  if (p.cases < 1) throw Error("--cases must be at least 1");
  const DatasetKind& kind = dataset_kind(dataset);
  if (!dir_missing_or_empty(out))
    throw Error("--out '" + out + "' is not empty; phantoms are written into a new folder");
  const int n = kind.write_phantom(out, p);
  std::cout << fmt::format("wrote {} {} cases to {}\n", n, dataset, out);
  return 0;
}

int cmd_inspect(const std::vector<std::string>& args) {
  std::string path;
  po::options_description desc("orch inspect options");
  desc.add_options()("path", po::value(&path)->required(),
                     "NIfTI file (.nii, .nii.gz), DICOM series folder, or York .mat file")(
      "json", "print JSON");
  po::positional_options_description pos;
  pos.add("path", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch inspect PATH [--json]", desc, pos, vm)) return 0;
  if (!fs::exists(path)) throw Error("'" + path + "' does not exist");
  const bool as_json = vm.count("json") > 0;
  if (fs::is_directory(path)) return inspect_dicom_folder(path, as_json);
  if (ends_with(path, ".mat")) return inspect_mat(path, as_json);
  return inspect_nifti(path, as_json);
}

int cmd_prepare(const std::vector<std::string>& args) {
  std::string yaml, profile;
  po::options_description desc("orch prepare options");
  desc.add_options()("file", po::value(&yaml)->required(), "experiment YAML")(
      "profile", po::value(&profile), "profile to apply (default: the file's default_profile)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch prepare FILE.yaml [--profile P]", desc, pos, vm)) return 0;
  const ExperimentConfig cfg = load_experiment(yaml, profile, config_validators());
  for (const auto& d : cfg.datasets) {
    ensure_dataset(d);
    const auto adapter = open_dataset(d);
    const auto cases = adapter->cases();
    if (cases.empty()) throw Error("dataset '" + d.name + "' has no labelled cases");
    const CacheInfo info = ensure_cache(d, *adapter, cases, cfg.cache, /*verify_all=*/true);
    std::cout << fmt::format("{:<16} {:>4} cases  {:>9.1f} MiB  {}  {}\n", d.name, info.cases,
                             static_cast<double>(info.bytes) / (1 << 20),
                             info.built ? "built   " : "verified", info.path);
  }
  return 0;
}

}  // namespace orch
