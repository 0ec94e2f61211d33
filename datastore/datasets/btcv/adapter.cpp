#include "datastore/datasets/btcv/btcv.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/status.h"
#include "datastore/formats/nifti.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

std::vector<int> range(int lo, int hi) {  // [lo, hi]
  std::vector<int> v;
  for (int n = lo; n <= hi; ++n) v.push_back(n);
  return v;
}

std::vector<std::string> ids(const std::vector<int>& numbers) {
  std::vector<std::string> out;
  for (int n : numbers) out.push_back(btcv_case_id(n));
  return out;
}

// "img0012.nii.gz" -> "0012" (the digits after "img"), "" when the name does not fit.
std::string image_digits(const std::string& name) {
  for (const std::string ext : {".nii.gz", ".nii"}) {
    if (name.size() <= 3 + ext.size() || name.rfind("img", 0) != 0) continue;
    if (name.compare(name.size() - ext.size(), ext.size(), ext) != 0) continue;
    const std::string digits = name.substr(3, name.size() - 3 - ext.size());
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit)) return digits;
  }
  return "";
}

// The label beside an image: label/labelNNNN with the image's suffix.
fs::path label_for(const fs::path& training, const std::string& image_name) {
  return training / "label" / ("label" + image_name.substr(3));
}

}  // namespace

std::string btcv_case_id(int number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "img%04d", number);
  return buf;
}

const BtcvLists& btcv_lists() {
  static const BtcvLists lists = [] {
    BtcvLists l;
    l.synapse_test = {1, 2, 3, 4, 8, 22, 25, 29, 32, 35, 36, 38};
    l.synapse_train = {5, 6, 7, 9, 10, 21, 23, 24, 26, 27, 28, 30, 31, 33, 34, 37, 39, 40};
    l.monai_train = range(1, 10);
    for (int n : range(21, 34)) l.monai_train.push_back(n);
    l.monai_val = range(35, 40);
    return l;
  }();
  return lists;
}

BtcvDataset::BtcvDataset(fs::path root) {
  training_ = root / "RawData" / "Training";
  if (!fs::is_directory(training_) && fs::is_directory(root / "Training"))
    training_ = root / "Training";  // root is the RawData folder itself
}

std::vector<CaseRef> BtcvDataset::cases() const {
  const fs::path img_dir = training_ / "img";
  if (!fs::is_directory(img_dir))
    throw Error("btcv: '" + img_dir.string() + "' is not a folder (expected RawData/Training/img)");
  std::vector<CaseRef> out;
  for (const auto& e : fs::directory_iterator(img_dir)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.' || name[0] == '_' || !e.is_regular_file()) continue;
    const std::string digits = image_digits(name);
    if (digits.empty()) continue;  // not an image of the release
    const fs::path label = label_for(training_, name);
    if (!fs::exists(label))
      throw Error("btcv: image '" + e.path().string() + "' has no label '" + label.string() + "'");
    out.push_back({"img" + digits, "", {e.path().string(), label.string()}});
  }
  std::sort(out.begin(), out.end(), [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i].id == out[i - 1].id)
      throw Error("btcv: case '" + out[i].id + "' appears twice in '" + img_dir.string() + "'");
  return out;
}

Case BtcvDataset::load(const CaseRef& ref) const {
  Case c;
  c.id = ref.id;
  c.image = to_volume(read_nifti(ref.files.at(0)));
  c.label = read_nifti_label(ref.files.at(1), c.image.dims);
  const auto top = std::max_element(c.label.begin(), c.label.end());
  if (top != c.label.end() && *top >= kBtcvLabels.size())
    throw Error("btcv: label '" + ref.files.at(1) + "' holds " + std::to_string(*top) +
                "; BTCV labels are 0..13");
  return c;
}

Split BtcvDataset::split(const std::vector<CaseRef>& cases, const SplitOptions& options) const {
  const BtcvLists& l = btcv_lists();
  if (options.scheme == "random") return make_split(cases, options);
  if (options.scheme == "monai")
    return named_split(cases, ids(l.monai_train), ids(l.monai_val), ids(l.monai_val), "monai");
  if (options.scheme != "synapse")
    throw Error("unknown split scheme '" + options.scheme +
                "'; btcv knows: random, synapse, monai");
  Split s = named_split(cases, ids(l.synapse_train), {}, ids(l.synapse_test), "synapse");
  std::sort(s.train.begin(), s.train.end());
  if (options.val_is_test) {  // RefNet: all 18 train, the 12 both validate and test
    s.val = s.test;
    return s;
  }
  const auto n = static_cast<double>(s.train.size());
  std::size_t n_val =
      static_cast<std::size_t>(options.val >= 1 ? options.val : std::round(options.val * n));
  if (options.val > 0) n_val = std::max<std::size_t>(n_val, 1);
  n_val = std::min(n_val, s.train.size() - 1);  // keep one training case
  s.val.assign(s.train.end() - static_cast<std::ptrdiff_t>(n_val), s.train.end());
  s.train.resize(s.train.size() - n_val);
  return s;
}

DatasetKind btcv_kind() {
  DatasetKind k;
  k.name = "btcv";
  k.class_names = std::vector<std::string>(kBtcvLabels.begin(), kBtcvLabels.end());
  k.open = [](const DatasetConfig& c) { return std::make_unique<BtcvDataset>(c.root); };
  k.write_phantom = [](const fs::path& root, const PhantomOptions& p) {
    return write_btcv_phantom(root, p);
  };
  k.check_options = [](const nlohmann::json& o) { return check_option_keys(o, {}); };
  k.split_schemes = {"random", "synapse", "monai"};
  return k;
}

}  // namespace orch
