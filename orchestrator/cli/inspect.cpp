// `orch inspect`: geometry and values of a NIfTI file, a DICOM series folder or a York .mat
// file, as text or JSON.
#include <filesystem>
#include <iostream>
#include <vector>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/strings.h"
#include "datastore/datasets/york_cardiac/york_cardiac.h"
#include "datastore/formats/dicom.h"
#include "datastore/formats/nifti.h"
#include "orchestrator/cli/cli.h"

namespace orch {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

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
  std::cout << fmt::format("file     {}\nformat   NIfTI-{}\nshape    {}\ndtype    {}\n", file,
                           img.version, join(img.shape, " x "), img.dtype);
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
    std::vector<long> dims;
    for (const auto& d : v.at("dims")) dims.push_back(d.get<long>());
    std::cout << fmt::format("variable    {} ({}, {})\n", v.at("name").get<std::string>(),
                             v.at("class").get<std::string>(), join(dims, " x "));
    for (const auto& [key, value] : v.items())
      if (key != "name" && key != "class" && key != "dims")
        std::cout << fmt::format("  {:<18}{}\n", key, value.dump());
  }
  return 0;
}

}  // namespace

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

}  // namespace orch
