#include "datastore/datasets/lidc/lidc.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <spdlog/spdlog.h>

#include "common/status.h"
#include "datastore/formats/dicom.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

struct ScanFolder {
  fs::path xml;
  std::vector<std::string> others;  // the folder's other regular files, sorted
};

// Folders under `root` that hold an LIDC XML and at least one other file, in path order. A folder
// with several LIDC XML files uses the first by name.
std::vector<ScanFolder> find_scans(const fs::path& root) {
  std::map<fs::path, ScanFolder> found;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const fs::path& p = e.path();
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext == ".xml") continue;
    found[p.parent_path()].others.push_back(p.string());
  }
  std::vector<ScanFolder> out;
  for (auto& [dir, folder] : found) {
    std::vector<fs::path> xmls;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      if (e.is_regular_file() && ext == ".xml" && is_lidc_xml(e.path())) xmls.push_back(e.path());
    }
    if (xmls.empty()) continue;
    std::sort(xmls.begin(), xmls.end());
    if (xmls.size() > 1)
      spdlog::warn("lidc: '{}' holds {} LIDC XML files; using '{}'", dir.string(), xmls.size(),
                   xmls.front().filename().string());
    folder.xml = xmls.front();
    std::sort(folder.others.begin(), folder.others.end());
    out.push_back(std::move(folder));
  }
  return out;
}

}  // namespace

LidcDataset::LidcDataset(fs::path root, double consensus, bool refuse_gaps)
    : root_(std::move(root)), consensus_(consensus), refuse_gaps_(refuse_gaps) {}

std::vector<CaseRef> LidcDataset::cases() const {
  if (!fs::is_directory(root_))
    throw Error("lidc: dataset root '" + root_.string() + "' is missing");
  std::map<std::string, int> seen;  // patient -> scans so far
  std::vector<CaseRef> out;
  for (ScanFolder& scan : find_scans(root_)) {
    const fs::path rel = fs::relative(scan.xml.parent_path(), root_);
    std::string patient =
        rel.empty() || rel == "." ? root_.filename().string() : rel.begin()->string();
    const int n = ++seen[patient];
    CaseRef ref;
    ref.id = n == 1 ? patient : patient + "_" + std::to_string(n);
    ref.group = patient;
    ref.files.push_back(scan.xml.string());
    for (auto& f : scan.others) ref.files.push_back(std::move(f));
    out.push_back(std::move(ref));
  }
  std::sort(out.begin(), out.end(), [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
  return out;
}

Case LidcDataset::load(const CaseRef& ref) const {
  const fs::path xml = ref.files.at(0);
  const LidcRead read = read_lidc_xml(xml);
  DicomSeriesOptions opts;
  opts.series_uid = read.series_uid;
  opts.non_uniform = refuse_gaps_ ? NonUniformPolicy::kRefuse : NonUniformPolicy::kWarn;
  DicomSeries series = read_dicom_series(xml.parent_path().string(), opts);
  for (const auto& w : series.warnings) spdlog::warn("lidc: case {}: {}", ref.id, w);
  LidcGrid grid;
  grid.ni = static_cast<int>(series.volume.dims[0]);
  grid.nj = static_cast<int>(series.volume.dims[1]);
  grid.pixel_spacing = {series.volume.spacing[0], series.volume.spacing[1]};
  for (const auto& s : series.slices) grid.slices.push_back({s.sop_instance_uid, s.position[2]});
  if (grid.slices.size() != static_cast<std::size_t>(series.volume.dims[2]))
    throw Error(xml.parent_path().string() + ": the series reader returned " +
                std::to_string(grid.slices.size()) + " slice records for " +
                std::to_string(series.volume.dims[2]) + " slices");
  std::vector<std::string> warnings;
  Case c;
  c.id = ref.id;
  c.label = lidc_label(read, grid, consensus_, &warnings);
  for (const auto& w : warnings) spdlog::warn("lidc: case {} ({}): {}", ref.id, xml.string(), w);
  c.image = std::move(series.volume);
  return c;
}

namespace {

Status check_lidc_options(const nlohmann::json& o) {
  const Status keys = check_option_keys(o, {"consensus", "slice_gaps"});
  if (!keys.ok()) return keys;
  if (o.contains("consensus")) {
    const auto& c = o["consensus"];
    if (!c.is_number() || !(c.get<double>() > 0.0) || c.get<double>() > 1.0)
      return Status::Invalid("consensus",
                             "consensus must be a number in (0, 1], the share of a nodule's "
                             "readers that must mark a voxel (pylidc clevel)");
  }
  if (o.contains("slice_gaps") && !(o["slice_gaps"] == "warn" || o["slice_gaps"] == "refuse"))
    return Status::Invalid(
        "slice_gaps", "slice_gaps must be warn or refuse (got " + o["slice_gaps"].dump() + ")");
  return Status::Ok();
}

}  // namespace

DatasetKind lidc_kind() {
  DatasetKind k;
  k.name = "lidc";
  k.class_names = {"background", "nodule"};
  k.open = [](const DatasetConfig& c) -> std::unique_ptr<DatasetAdapter> {
    const nlohmann::json o = c.options.is_null() ? nlohmann::json::object() : c.options;
    const Status st = check_lidc_options(o);
    if (!st.ok())
      throw Error("dataset '" + c.name + "': " + st.message(), ErrorCode::kInvalidInput, st.key());
    const double level = o.value("consensus", 0.5);
    return std::make_unique<LidcDataset>(c.root, level, o.value("slice_gaps", "warn") == "refuse");
  };
  k.write_phantom = [](const fs::path& root, const PhantomOptions& p) {
    return write_lidc_phantom(root, p);
  };
  k.check_options = check_lidc_options;
  return k;
}

}  // namespace orch
