#include "datastore/msd.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/nifti.h"

namespace orch {
namespace fs = std::filesystem;

MsdDataset::MsdDataset(fs::path root) : root_(std::move(root)) {}

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

std::vector<CaseRef> MsdDataset::cases() const {
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
    CaseRef ref{msd_case_id(image), (root_ / image).lexically_normal().string(),
                (root_ / item["label"].get<std::string>()).lexically_normal().string()};
    for (const auto& p : {ref.image, ref.label})
      if (!fs::exists(p)) throw Error(json_path.string() + ": listed file '" + p + "' is missing");
    out.push_back(std::move(ref));
  }
  std::sort(out.begin(), out.end(), [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
  return out;
}

Case MsdDataset::load(const CaseRef& ref) const {
  Case c;
  c.id = ref.id;
  c.image = to_volume(read_nifti(ref.image));
  const Volume label = to_volume(read_nifti(ref.label));
  if (label.dims != c.image.dims)
    throw Error("label '" + ref.label + "' has a different shape from image '" + ref.image + "'");
  c.label.resize(label.data.size());
  for (std::size_t i = 0; i < label.data.size(); ++i) {
    const float v = label.data[i];
    if (v < 0 || v > 255) throw Error("label '" + ref.label + "' holds a value outside 0..255");
    c.label[i] = static_cast<std::uint8_t>(v + 0.5f);
  }
  return c;
}

}  // namespace orch
