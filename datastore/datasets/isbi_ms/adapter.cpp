#include "datastore/datasets/isbi_ms/isbi_ms.h"

#include <algorithm>
#include <regex>
#include <set>
#include <utility>

#include "common/status.h"
#include "common/strings.h"
#include "datastore/formats/nifti.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

struct IsbiOptions {
  std::vector<std::string> channels = {"flair"};  // image channels, in this order
  std::string rater = "1";                        // "1", "2" or "consensus"
};

Status parse_channel(const nlohmann::json& v, std::vector<std::string>& out) {
  const auto& known = isbi_channels();
  const std::string allowed = join(known) + ", all, or a list of the first four";
  const auto bad = [&](const std::string& what) {
    return Status::Invalid("channel", "channel " + what + " is not one of " + allowed);
  };
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "all") {
      out = known;
      return Status::Ok();
    }
    if (std::find(known.begin(), known.end(), s) == known.end()) return bad("'" + s + "'");
    out = {s};
    return Status::Ok();
  }
  if (!v.is_array() || v.empty()) return bad(v.dump());
  out.clear();
  for (const auto& item : v) {
    const std::string s = item.is_string() ? item.get<std::string>() : item.dump();
    if (!item.is_string() || std::find(known.begin(), known.end(), s) == known.end())
      return bad("'" + s + "' (in the list)");
    if (std::find(out.begin(), out.end(), s) != out.end())
      return Status::Invalid("channel", "channel '" + s + "' is listed twice");
    out.push_back(s);
  }
  return Status::Ok();
}

Status parse_rater(const nlohmann::json& v, std::string& out) {
  if (v.is_number_integer() && (v.get<long long>() == 1 || v.get<long long>() == 2)) {
    out = std::to_string(v.get<long long>());
    return Status::Ok();
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "1" || s == "2" || s == "consensus") {
      out = s;
      return Status::Ok();
    }
  }
  const std::string shown = v.is_string() ? "'" + v.get<std::string>() + "'" : v.dump();
  return Status::Invalid(
      "rater",
      "rater " + shown + " is not one of 1, 2, consensus (both raters agree: the intersection)");
}

Status parse_options(const nlohmann::json& options, IsbiOptions& out) {
  Status st = check_option_keys(options, {"channel", "rater"});
  if (!st.ok()) return st;
  if (options.contains("channel")) st = parse_channel(options["channel"], out.channels);
  if (st.ok() && options.contains("rater")) st = parse_rater(options["rater"], out.rater);
  return st;
}

bool hidden(const std::string& name) { return name.empty() || name[0] == '.' || name[0] == '_'; }

// The file itself, or its .nii.gz sibling; throws naming the .nii path when neither exists.
std::string existing(const fs::path& nii, const std::string& case_id) {
  if (fs::is_regular_file(nii)) return nii.string();
  fs::path gz = nii;
  gz += ".gz";
  if (fs::is_regular_file(gz)) return gz.string();
  throw Error("ISBI MS case " + case_id + ": missing file '" + nii.string() + "'");
}

class IsbiMsDataset : public DatasetAdapter {
 public:
  IsbiMsDataset(fs::path root, IsbiOptions options)
      : root_(std::move(root)), options_(std::move(options)) {}

  std::vector<CaseRef> cases() const override {
    std::vector<CaseRef> out;
    for (const std::string& patient : patients())
      for (const std::string& tp : timepoints(patient)) out.push_back(make_ref(patient, tp));
    std::sort(out.begin(), out.end(),
              [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
    return out;
  }

  Case load(const CaseRef& ref) const override {
    const std::size_t n = options_.channels.size();
    if (ref.files.size() < n + 1)
      throw Error("ISBI MS case " + ref.id + ": expected " + std::to_string(n) +
                  " image files and a mask, got " + std::to_string(ref.files.size()) + " files");
    Case c;
    c.id = ref.id;
    c.image = load_channels(ref, n);
    c.label.assign(static_cast<std::size_t>(c.image.voxels()), 1);
    for (std::size_t f = n; f < ref.files.size(); ++f) {  // all masks must agree (consensus)
      const std::vector<std::uint8_t> mask = read_nifti_label(ref.files[f], c.image.dims);
      for (std::size_t v = 0; v < mask.size(); ++v) c.label[v] &= mask[v] != 0 ? 1 : 0;
    }
    return c;
  }

 private:
  std::vector<std::string> patients() const {
    const fs::path training = root_ / "training";
    if (!fs::is_directory(training))
      throw Error("ISBI MS dataset '" + root_.string() + "': missing folder '" + training.string() +
                  "'");
    static const std::regex kPatient("training[0-9]+");
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(training)) {
      const std::string name = e.path().filename().string();
      if (!hidden(name) && e.is_directory() && std::regex_match(name, kPatient))
        out.push_back(name);
    }
    if (out.empty())
      throw Error("ISBI MS dataset: no trainingNN folders in '" + training.string() + "'");
    std::sort(out.begin(), out.end());
    return out;
  }

  // Timepoints "01", "02", ... that have any preprocessed image of `patient`.
  std::vector<std::string> timepoints(const std::string& patient) const {
    const fs::path dir = root_ / "training" / patient / "preprocessed";
    if (!fs::is_directory(dir))
      throw Error("ISBI MS patient " + patient + ": missing folder '" + dir.string() + "'");
    const std::regex image(patient + "_([0-9]+)_(flair|mprage|pd|t2)_pp\\.nii(\\.gz)?");
    std::set<std::string> found;
    std::smatch m;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (!hidden(name) && std::regex_match(name, m, image)) found.insert(m[1].str());
    }
    if (found.empty())
      throw Error("ISBI MS patient " + patient + ": no *_pp.nii images in '" + dir.string() + "'");
    return {found.begin(), found.end()};
  }

  CaseRef make_ref(const std::string& patient, const std::string& tp) const {
    CaseRef ref;
    ref.id = patient + "_" + tp;
    ref.group = patient;
    for (const std::string& ch : options_.channels)
      ref.files.push_back(existing(isbi_image_path(root_, patient, tp, ch), ref.id));
    for (int rater : {1, 2})
      if (options_.rater == "consensus" || options_.rater == std::to_string(rater))
        ref.files.push_back(existing(isbi_mask_path(root_, patient, tp, rater), ref.id));
    return ref;
  }

  Volume load_channels(const CaseRef& ref, std::size_t n) const {
    Volume out;
    for (std::size_t f = 0; f < n; ++f) {
      Volume v = to_volume(read_nifti(ref.files[f]));
      if (v.channels != 1)
        throw Error("ISBI MS image '" + ref.files[f] + "' has " + std::to_string(v.channels) +
                    " channels; expected a 3D image");
      if (f == 0) {
        out = std::move(v);
        out.data.reserve(out.data.size() * n);
        continue;
      }
      if (v.dims != out.dims)
        throw Error("ISBI MS image '" + ref.files[f] + "' differs in shape from '" + ref.files[0] +
                    "'");
      out.data.insert(out.data.end(), v.data.begin(), v.data.end());
    }
    out.channels = static_cast<std::int64_t>(n);
    return out;
  }

  fs::path root_;
  IsbiOptions options_;
};

}  // namespace

const std::vector<std::string>& isbi_channels() {
  static const std::vector<std::string> kChannels = {"flair", "mprage", "t2", "pd"};
  return kChannels;
}

std::string isbi_patient(int number) {
  const std::string n = std::to_string(number);
  return "training" + std::string(n.size() < 2 ? 2 - n.size() : 0, '0') + n;
}

fs::path isbi_image_path(const fs::path& root, const std::string& patient,
                         const std::string& timepoint, const std::string& channel) {
  return root / "training" / patient / "preprocessed" /
         (patient + "_" + timepoint + "_" + channel + "_pp.nii");
}

fs::path isbi_mask_path(const fs::path& root, const std::string& patient,
                        const std::string& timepoint, int rater) {
  return root / "training" / patient / "masks" /
         (patient + "_" + timepoint + "_mask" + std::to_string(rater) + ".nii");
}

DatasetKind isbi_ms_kind() {
  DatasetKind k;
  k.name = "isbi_ms";
  k.class_names = {"background", "lesion"};
  k.open = [](const DatasetConfig& c) -> std::unique_ptr<DatasetAdapter> {
    IsbiOptions o;
    const Status st = parse_options(c.options, o);
    if (!st.ok())
      throw Error("dataset '" + c.name + "' (isbi_ms): option '" + st.key() + "': " + st.message(),
                  ErrorCode::kInvalidInput, st.key());
    return std::make_unique<IsbiMsDataset>(c.root, std::move(o));
  };
  k.write_phantom = [](const fs::path& root, const PhantomOptions& p) {
    return write_isbi_ms_phantom(root, p);
  };
  k.check_options = [](const nlohmann::json& options) {
    IsbiOptions o;
    return parse_options(options, o);
  };
  return k;
}

}  // namespace orch
