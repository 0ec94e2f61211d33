#include "datastore/datasets/mra/mra.h"

#include <algorithm>

#include "common/status.h"
#include "datastore/formats/nifti.h"

namespace orch {
namespace fs = std::filesystem;

std::string topcow_case_id(const std::string& image_name) {
  const std::string prefix = "topcow_mr_";
  for (const std::string suffix : {"_0000.nii.gz", "_0000.nii"}) {
    const std::size_t n = image_name.size();
    if (n <= prefix.size() + suffix.size() || image_name.rfind(prefix, 0) != 0) continue;
    if (image_name.compare(n - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string id = image_name.substr(0, n - suffix.size());
    if (id.find_first_of("/\\") == std::string::npos) return id;
  }
  return "";
}

MraDataset::MraDataset(fs::path root) : root_(std::move(root)) {}

std::vector<CaseRef> MraDataset::cases() const {
  const fs::path images = root_ / "imagesTr", labels = root_ / "cow_seg_labelsTr";
  if (!fs::is_directory(images))
    throw Error("mra: '" + images.string() + "' is not a folder (expected the TopCoW layout)");
  std::vector<CaseRef> out;
  for (const auto& e : fs::directory_iterator(images)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.' || name[0] == '_' || !e.is_regular_file()) continue;
    const std::string id = topcow_case_id(name);
    if (id.empty()) continue;  // CT images and anything else
    const std::string ext =
        name.size() > 3 && name.substr(name.size() - 3) == ".gz" ? ".nii.gz" : ".nii";
    fs::path label = labels / (id + ext);
    if (!fs::exists(label)) label = labels / (id + (ext == ".nii" ? ".nii.gz" : ".nii"));
    if (!fs::exists(label))
      throw Error("mra: image '" + e.path().string() + "' has no label '" +
                  (labels / (id + ext)).string() + "'");
    out.push_back({id, "", {e.path().string(), label.string()}});
  }
  std::sort(out.begin(), out.end(), [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
  return out;
}

Case MraDataset::load(const CaseRef& ref) const {
  Case c;
  c.id = ref.id;
  c.image = to_volume(read_nifti(ref.files.at(0)));
  c.label = read_nifti_label(ref.files.at(1), c.image.dims);
  for (auto& v : c.label) v = v > 0 ? 1 : 0;  // every Circle-of-Willis segment is vessel
  return c;
}

DatasetKind mra_kind() {
  DatasetKind k;
  k.name = "mra";
  k.class_names = {"background", "vessel"};
  k.open = [](const DatasetConfig& c) { return std::make_unique<MraDataset>(c.root); };
  k.write_phantom = [](const fs::path& root, const PhantomOptions& p) {
    return write_mra_phantom(root, p);
  };
  k.check_options = [](const nlohmann::json& o) { return check_option_keys(o, {}); };
  return k;
}

}  // namespace orch
