#include "datastore/datasets/hepatic_vessel/hepatic_vessel.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/formats/nifti.h"

namespace orch {
namespace fs = std::filesystem;

HepaticVesselDataset::HepaticVesselDataset(fs::path root) : root_(std::move(root)) {}

std::string msd_case_id(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  for (const char* ext : {".nii.gz", ".nii"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
      name.resize(name.size() - e.size());
      break;
    }
  }
  return name;
}

std::vector<CaseRef> HepaticVesselDataset::cases() const {
  const fs::path json_path = root_ / "dataset.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(json_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(json_path.string() + ": invalid JSON: " + e.what());
  }
  if (!j.contains("training") || !j["training"].is_array())
    throw Error(json_path.string() + ": missing the 'training' list");
  std::vector<CaseRef> out;
  for (const auto& item : j["training"]) {
    if (!item.is_object() || !item.contains("image") || !item.contains("label"))
      throw Error(json_path.string() + ": a 'training' entry lacks 'image' or 'label'");
    const std::string image = item["image"].get<std::string>();
    const std::string name = fs::path(image).filename().string();
    if (name.empty() || name[0] == '.' || name[0] == '_') continue;  // macOS ._ companions
    CaseRef ref{msd_case_id(image),
                "",
                {(root_ / image).lexically_normal().string(),
                 (root_ / item["label"].get<std::string>()).lexically_normal().string()}};
    for (const auto& p : ref.files)
      if (!fs::exists(p)) throw Error(json_path.string() + ": listed file '" + p + "' is missing");
    out.push_back(std::move(ref));
  }
  std::sort(out.begin(), out.end(), [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
  return out;
}

Case HepaticVesselDataset::load(const CaseRef& ref) const {
  Case c;
  c.id = ref.id;
  c.image = to_volume(read_nifti(ref.files.at(0)));
  c.label = read_nifti_label(ref.files.at(1), c.image.dims);
  return c;
}

DatasetKind hepatic_vessel_kind() {
  DatasetKind k;
  k.name = "hepatic_vessel";
  k.class_names = {"background", "vessel"};
  k.open = [](const DatasetConfig& c) { return std::make_unique<HepaticVesselDataset>(c.root); };
  k.write_phantom = [](const fs::path& root, const PhantomOptions& p) {
    return write_hepatic_vessel_phantom(root, p);
  };
  k.check_options = [](const nlohmann::json& o) { return check_option_keys(o, {}); };
  return k;
}

}  // namespace orch
