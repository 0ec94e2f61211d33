#include "datastore/datasets/lidc/lidc.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

struct LidcDataset::Scan {
  std::string xml;                                 // the XML path: the scan's identity
  Case volume;                                     // the volume case (id, image, label)
  LidcGrid grid;                                   // the geometry the masks were drawn on
  std::vector<std::vector<std::int64_t>> nodules;  // per cluster, its consensus voxels
};

namespace {

constexpr const char* kSliceTag = "_z";

std::string slice_id(const std::string& volume_id, int k) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%03d", k);
  return volume_id + kSliceTag + buf;
}

// Slice k of `c` as a one-slice case: same spacing, the affine's origin moved to slice k.
Case slice_of(const Case& c, int k, const std::string& id) {
  const Volume& v = c.image;
  const std::int64_t ni = v.dims[0], nj = v.dims[1], nk = v.dims[2], plane = ni * nj;
  Case out;
  out.id = id;
  out.image.dims = {ni, nj, 1};
  out.image.channels = v.channels;
  out.image.spacing = v.spacing;
  out.image.affine = v.affine;
  for (int r = 0; r < 3; ++r) out.image.affine[r][3] += v.affine[r][2] * k;
  out.image.data.reserve(static_cast<std::size_t>(v.channels * plane));
  for (std::int64_t ch = 0; ch < v.channels; ++ch) {
    const auto from = v.data.begin() + (ch * nk + k) * plane;
    out.image.data.insert(out.image.data.end(), from, from + plane);
  }
  out.label.assign(c.label.begin() + k * plane, c.label.begin() + (k + 1) * plane);
  return out;
}

}  // namespace

LidcDataset::LidcDataset(fs::path root, LidcOptions options)
    : root_(std::move(root)), options_(options) {}

LidcDataset::LidcDataset(fs::path root, double consensus, bool refuse_gaps)
    : LidcDataset(std::move(root), LidcOptions{consensus, refuse_gaps}) {}

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
    if (options_.unit == LidcUnit::kVolume) {
      out.push_back(std::move(ref));
      continue;
    }
    for (int k : nodule_slices(ref)) {
      CaseRef s = ref;
      s.id = slice_id(ref.id, k);
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
  return out;
}

std::vector<int> LidcDataset::nodule_slices(const CaseRef& volume) const {
  const std::string& xml = volume.files.at(0);
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = slices_.find(xml); it != slices_.end()) return it->second;
  }
  const std::shared_ptr<const Scan> scan = read_scan(xml, volume.id);
  const std::int64_t plane = std::int64_t(scan->grid.ni) * scan->grid.nj;
  std::vector<int> ks;
  for (const auto& nodule : scan->nodules)
    for (const auto& part : lidc_components(nodule, scan->grid)) {
      if (lidc_max_extent_mm(part, scan->grid) < options_.min_diameter_mm) continue;
      for (std::int64_t v : part) ks.push_back(static_cast<int>(v / plane));
    }
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  const std::lock_guard<std::mutex> lock(mutex_);
  return slices_.emplace(xml, std::move(ks)).first->second;
}

std::shared_ptr<LidcDataset::Scan> LidcDataset::read_scan(const std::string& xml_path,
                                                          const std::string& id) const {
  const fs::path xml = xml_path;
  const LidcRead read = read_lidc_xml(xml);
  DicomSeriesOptions opts;
  opts.series_uid = read.series_uid;
  opts.non_uniform = options_.refuse_gaps ? NonUniformPolicy::kRefuse : NonUniformPolicy::kWarn;
  DicomSeries series = read_dicom_series(xml.parent_path().string(), opts);
  for (const auto& w : series.warnings) spdlog::warn("lidc: case {}: {}", id, w);
  auto scan = std::make_shared<Scan>();
  scan->xml = xml_path;
  LidcGrid& grid = scan->grid;
  grid.ni = static_cast<int>(series.volume.dims[0]);
  grid.nj = static_cast<int>(series.volume.dims[1]);
  grid.pixel_spacing = {series.volume.spacing[0], series.volume.spacing[1]};
  for (const auto& s : series.slices) grid.slices.push_back({s.sop_instance_uid, s.position[2]});
  if (grid.slices.size() != static_cast<std::size_t>(series.volume.dims[2]))
    throw Error(xml.parent_path().string() + ": the series reader returned " +
                std::to_string(grid.slices.size()) + " slice records for " +
                std::to_string(series.volume.dims[2]) + " slices");
  std::vector<std::string> warnings;
  scan->nodules = lidc_nodules(read, grid, options_.consensus, &warnings);
  for (const auto& w : warnings) spdlog::warn("lidc: case {} ({}): {}", id, xml.string(), w);
  Case& c = scan->volume;
  c.id = id;
  c.label.assign(static_cast<std::size_t>(series.volume.voxels()), 0);
  for (const auto& nodule : scan->nodules)
    for (std::int64_t v : nodule) c.label[static_cast<std::size_t>(v)] = 1;
  c.image = std::move(series.volume);
  return scan;
}

Case LidcDataset::load(const CaseRef& ref) const {
  const std::string& xml = ref.files.at(0);
  if (options_.unit == LidcUnit::kVolume) {
    return std::move(read_scan(xml, ref.id)->volume);
  }
  const std::size_t tag = ref.id.rfind(kSliceTag);
  const std::string digits = tag == std::string::npos ? "" : ref.id.substr(tag + 2);
  if (digits.empty() || digits.size() > 6 ||
      !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    throw Error("lidc: case '" + ref.id + "' (" + xml +
                ") is not a slice case id \"<scan>_z<slice>\" (unit: slice)");
  const int k = std::stoi(digits);
  std::shared_ptr<const Scan> scan;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (last_ && last_->xml == xml) scan = last_;
  }
  if (!scan) {
    scan = read_scan(xml, ref.id.substr(0, tag));
    const std::lock_guard<std::mutex> lock(mutex_);
    last_ = scan;
  }
  if (k >= scan->volume.image.dims[2])
    throw Error("lidc: case '" + ref.id + "': slice " + std::to_string(k) + " is beyond the " +
                std::to_string(scan->volume.image.dims[2]) + " slices of '" +
                fs::path(xml).parent_path().string() + "'");
  return slice_of(scan->volume, k, ref.id);
}

namespace {

Status check_lidc_options(const nlohmann::json& o) {
  const Status keys = check_option_keys(o, {"consensus", "slice_gaps", "unit", "min_diameter_mm"});
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
  if (o.contains("unit") && !(o["unit"] == "volume" || o["unit"] == "slice"))
    return Status::Invalid("unit",
                           "unit must be volume (a case per scan) or slice (a case per "
                           "axial slice holding a nodule), got " +
                               o["unit"].dump());
  if (o.contains("min_diameter_mm")) {
    const auto& d = o["min_diameter_mm"];
    if (!d.is_number() || !std::isfinite(d.get<double>()) || d.get<double>() < 0.0)
      return Status::Invalid("min_diameter_mm",
                             "min_diameter_mm must be a finite number >= 0 (mm), got " + d.dump());
    if (o.value("unit", "volume") != "slice")
      return Status::Invalid("min_diameter_mm",
                             "min_diameter_mm applies only with unit: slice (it picks the nodule "
                             "slices that become cases)");
  }
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
    LidcOptions opts;
    opts.consensus = o.value("consensus", 0.5);
    opts.refuse_gaps = o.value("slice_gaps", "warn") == "refuse";
    opts.unit = o.value("unit", "volume") == "slice" ? LidcUnit::kSlice : LidcUnit::kVolume;
    opts.min_diameter_mm = o.value("min_diameter_mm", 3.0);
    return std::make_unique<LidcDataset>(c.root, opts);
  };
  k.write_phantom = [](const fs::path& root, const PhantomOptions& p) {
    return write_lidc_phantom(root, p);
  };
  k.check_options = check_lidc_options;
  return k;
}

}  // namespace orch
