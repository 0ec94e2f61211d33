// DICOM reading through GDCM: headers of a whole folder through gdcm::Scanner (which stops
// reading each file at the last requested tag, before the pixel data), pixels through
// gdcm::ImageReader, which decodes every compressed transfer syntax GDCM was built with.
#include "datastore/formats/dicom.h"

#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmScanner.h>
#include <gdcmTrace.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/status.h"
#include "common/strings.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

using Vec3 = std::array<double, 3>;

const gdcm::Tag kSeriesUid(0x0020, 0x000e), kStudyUid(0x0020, 0x000d), kModality(0x0008, 0x0060),
    kSopUid(0x0008, 0x0018), kInstance(0x0020, 0x0013), kPosition(0x0020, 0x0032),
    kOrientation(0x0020, 0x0037), kRows(0x0028, 0x0010), kColumns(0x0028, 0x0011),
    kPixelSpacing(0x0028, 0x0030), kThickness(0x0018, 0x0050), kSyntax(0x0002, 0x0010),
    kIntercept(0x0028, 0x1052), kSlope(0x0028, 0x1053);

// GDCM reports through a process-wide trace on stderr; orch reports through exceptions instead.
void quiet_gdcm() {
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::DebugOff();
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
  });
}

std::string trim(const std::string& s) {
  const auto keep = [](char c) { return c != ' ' && c != '\0'; };
  const auto b = std::find_if(s.begin(), s.end(), keep);
  const auto e = std::find_if(s.rbegin(), s.rend(), keep).base();
  return b < e ? std::string(b, e) : std::string();
}

// Backslash-separated decimal strings (DS/IS). Returns an empty vector if any value is not a
// number, so that callers report the tag as missing or malformed.
std::vector<double> parse_numbers(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, '\\')) {
    item = trim(item);
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(v)) return {};
    out.push_back(v);
  }
  return out;
}

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

// The header facts of one file that series assembly needs.
struct Header {
  std::string file, series_uid, study_uid, modality, sop_uid, syntax;
  int instance = 0;
  std::vector<double> position, orientation, pixel_spacing, thickness;
  std::int64_t rows = 0, columns = 0;
};

std::vector<Header> scan_headers(const std::string& dir) {
  quiet_gdcm();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("DICOM folder '" + dir + "' is not a directory");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  gdcm::Scanner scanner;
  for (const auto& t : {kSeriesUid, kStudyUid, kModality, kSopUid, kInstance, kPosition,
                        kOrientation, kRows, kColumns, kPixelSpacing, kThickness, kSyntax})
    scanner.AddTag(t);
  if (!scanner.Scan(files)) throw Error("cannot scan DICOM folder '" + dir + "'");
  std::vector<Header> out;
  for (const auto& f : files) {
    if (!scanner.IsKey(f.c_str())) continue;  // not DICOM
    const auto get = [&](const gdcm::Tag& t) {
      const char* v = scanner.GetValue(f.c_str(), t);
      return v ? trim(v) : std::string();
    };
    Header h;
    h.file = f;
    h.series_uid = get(kSeriesUid);
    h.study_uid = get(kStudyUid);
    h.modality = get(kModality);
    h.sop_uid = get(kSopUid);
    h.syntax = get(kSyntax);
    if (h.series_uid.empty()) continue;  // not an image of any series
    const auto instance = parse_numbers(get(kInstance));
    h.instance = instance.size() == 1 ? static_cast<int>(instance[0]) : 0;
    h.position = parse_numbers(get(kPosition));
    h.orientation = parse_numbers(get(kOrientation));
    h.pixel_spacing = parse_numbers(get(kPixelSpacing));
    h.thickness = parse_numbers(get(kThickness));
    const auto rows = parse_numbers(get(kRows)), columns = parse_numbers(get(kColumns));
    h.rows = rows.size() == 1 ? static_cast<std::int64_t>(rows[0]) : 0;
    h.columns = columns.size() == 1 ? static_cast<std::int64_t>(columns[0]) : 0;
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<Header> select_series(std::vector<Header> headers, const std::string& dir,
                                  const std::string& wanted) {
  std::vector<std::string> uids;
  for (const auto& h : headers) uids.push_back(h.series_uid);
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  if (uids.empty()) throw Error("DICOM folder '" + dir + "' holds no DICOM image series");
  std::string uid = wanted;
  if (uid.empty()) {
    if (uids.size() > 1) {
      throw Error("DICOM folder '" + dir + "' holds " + std::to_string(uids.size()) + " series (" +
                  join(uids) + "); choose one by SeriesInstanceUID");
    }
    uid = uids[0];
  }
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [&](const Header& h) { return h.series_uid != uid; }),
                headers.end());
  if (headers.empty()) throw Error("DICOM folder '" + dir + "' has no series '" + uid + "'");
  return headers;
}

// In-plane geometry shared by every slice of a stackable series.
struct Geometry {
  Vec3 row{}, column{}, normal{};  // LPS direction cosines: along i, along j, row x column
  double row_spacing = 0, column_spacing = 0;  // PixelSpacing[0] (along j), [1] (along i)
  std::int64_t rows = 0, columns = 0;
};

void require_tags(const Header& h) {
  const auto bad = [&](const char* what) {
    throw Error("DICOM file '" + h.file + "': missing or malformed " + what);
  };
  if (h.position.size() != 3) bad("ImagePositionPatient (0020,0032)");
  if (h.orientation.size() != 6) bad("ImageOrientationPatient (0020,0037)");
  if (h.pixel_spacing.size() != 2 || h.pixel_spacing[0] <= 0 || h.pixel_spacing[1] <= 0)
    bad("PixelSpacing (0028,0030)");
  if (h.rows <= 0 || h.columns <= 0) bad("Rows/Columns (0028,0010/0011)");
}

// Throws naming the folder and both files when a slice differs from the first in orientation,
// size or pixel spacing: such files cannot be stacked into one volume.
Geometry check_stackable(const std::vector<Header>& hs, const std::string& dir) {
  for (const auto& h : hs) require_tags(h);
  const Header& first = hs.front();
  for (const auto& h : hs) {
    std::string what;
    for (int i = 0; i < 6 && what.empty(); ++i)
      if (std::abs(h.orientation[i] - first.orientation[i]) > 1e-4) what = "orientation";
    if (h.rows != first.rows || h.columns != first.columns) what = "size";
    for (int i = 0; i < 2 && what.empty(); ++i)
      if (std::abs(h.pixel_spacing[i] - first.pixel_spacing[i]) > 1e-4 * first.pixel_spacing[i])
        what = "pixel spacing";
    if (!what.empty())
      throw Error("DICOM series " + first.series_uid + " in '" + dir + "' is not stackable: the " +
                  what + " of '" + h.file + "' differs from '" + first.file + "'");
  }
  Geometry g;
  g.row = {first.orientation[0], first.orientation[1], first.orientation[2]};
  g.column = {first.orientation[3], first.orientation[4], first.orientation[5]};
  g.normal = cross(g.row, g.column);
  if (std::abs(dot(g.normal, g.normal) - 1) > 1e-3 || std::abs(dot(g.row, g.column)) > 1e-3)
    throw Error("DICOM file '" + first.file + "': ImageOrientationPatient is not two unit, " +
                "orthogonal cosines");
  g.row_spacing = first.pixel_spacing[0];
  g.column_spacing = first.pixel_spacing[1];
  g.rows = first.rows;
  g.columns = first.columns;
  return g;
}

std::string fmt_mm(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void warn(DicomSeries& s, const std::string& message) {
  spdlog::warn("{}", message);
  s.warnings.push_back(message);
}

// Sorts along the normal and drops slices that share a position with a lower InstanceNumber.
void sort_slices(const std::vector<Header>& hs, const Geometry& g, const std::string& dir,
                 DicomSeries& s) {
  std::vector<DicomSlice> all;
  for (const auto& h : hs) {
    DicomSlice sl;
    sl.file = h.file;
    sl.sop_instance_uid = h.sop_uid;
    sl.instance_number = h.instance;
    sl.position = {h.position[0], h.position[1], h.position[2]};
    sl.normal_position = dot(sl.position, g.normal);
    all.push_back(std::move(sl));
  }
  std::sort(all.begin(), all.end(), [](const DicomSlice& a, const DicomSlice& b) {
    if (a.normal_position != b.normal_position) return a.normal_position < b.normal_position;
    if (a.instance_number != b.instance_number) return a.instance_number < b.instance_number;
    return a.file < b.file;
  });
  constexpr double kSamePosition = 1e-3;  // mm
  for (auto& sl : all) {
    if (!s.slices.empty() &&
        std::abs(sl.normal_position - s.slices.back().normal_position) < kSamePosition) {
      ++s.duplicates_dropped;
      // The lower InstanceNumber sorts first among equal positions and is the one kept.
      warn(s, "DICOM folder '" + dir + "': '" + sl.file + "' (InstanceNumber " +
                  std::to_string(sl.instance_number) + ") shares its position with '" +
                  s.slices.back().file + "'; keeping the lower InstanceNumber");
      continue;
    }
    s.slices.push_back(std::move(sl));
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Fills steps, median_step and uniform; warns about (or refuses) uneven steps and slices that
// are not stacked along the normal (gantry tilt).
void check_spacing(const Geometry& g, const std::string& dir, const DicomSeriesOptions& options,
                   DicomSeries& s) {
  const auto& sl = s.slices;
  bool tilted = false;
  for (size_t k = 1; k < sl.size(); ++k) {
    s.steps.push_back(sl[k].normal_position - sl[k - 1].normal_position);
    Vec3 d{};
    for (int a = 0; a < 3; ++a) d[a] = sl[k].position[a] - sl[k - 1].position[a];
    const double along = dot(d, g.normal);
    tilted = tilted || dot(d, d) - along * along > 1e-4 * std::max(1.0, along * along);
  }
  if (tilted)
    warn(s, "DICOM folder '" + dir + "': slice positions are not along the slice normal " +
                "(gantry tilt?); the volume ignores the in-plane shift");
  if (s.steps.empty()) return;
  s.median_step = median(s.steps);
  std::string uneven;
  for (size_t k = 0; k < s.steps.size(); ++k) {
    if (std::abs(s.steps[k] - s.median_step) <= options.tolerance * s.median_step) continue;
    s.uniform = false;
    uneven += "; step of " + fmt_mm(s.steps[k]) + " mm between positions " +
              fmt_mm(sl[k].normal_position) + " ('" + fs::path(sl[k].file).filename().string() +
              "') and " + fmt_mm(sl[k + 1].normal_position) + " ('" +
              fs::path(sl[k + 1].file).filename().string() + "')";
  }
  if (s.uniform) return;
  const std::string message = "DICOM folder '" + dir + "': non-uniform slice spacing (median " +
                              fmt_mm(s.median_step) + " mm)" + uneven;
  if (options.non_uniform == NonUniformPolicy::kRefuse) throw Error(message);
  warn(s, message + (options.non_uniform == NonUniformPolicy::kResample
                         ? "; resampling onto an even grid"
                         : "; keeping the slices as they are"));
}

// Linear interpolation along k onto positions first + m * median_step.
void resample_even(DicomSeries& s) {
  Volume& v = s.volume;
  const auto& sl = s.slices;
  const double first = sl.front().normal_position, step = s.median_step;
  const auto nk =
      static_cast<std::int64_t>(std::llround((sl.back().normal_position - first) / step)) + 1;
  const std::int64_t plane = v.dims[0] * v.dims[1];
  std::vector<float> out(static_cast<size_t>(plane * nk));
  size_t src = 0;
  for (std::int64_t m = 0; m < nk; ++m) {
    const double t = std::min(first + static_cast<double>(m) * step, sl.back().normal_position);
    while (src + 2 < sl.size() && sl[src + 1].normal_position < t) ++src;
    const double p0 = sl[src].normal_position, p1 = sl[src + 1].normal_position;
    const double w = std::clamp((t - p0) / (p1 - p0), 0.0, 1.0);
    const float* a = v.data.data() + src * plane;
    const float* b = a + plane;
    float* o = out.data() + m * plane;
    for (std::int64_t p = 0; p < plane; ++p) o[p] = static_cast<float>((1 - w) * a[p] + w * b[p]);
  }
  v.data = std::move(out);
  v.dims[2] = nk;
  s.resampled = true;
}

// LPS affine from the cosines, spacings and first position, then x and y rows negated (RAS).
Affine ras_affine(const Geometry& g, const Vec3& origin, double step) {
  Affine a = identity_affine();
  for (int r = 0; r < 3; ++r) {
    const double sign = r < 2 ? -1 : 1;
    a[r][0] = sign * g.row[r] * g.column_spacing;
    a[r][1] = sign * g.column[r] * g.row_spacing;
    a[r][2] = sign * g.normal[r] * step;
    a[r][3] = sign * origin[r];
  }
  return a;
}

// Decodes the kept slices into the volume, checking each against the header geometry.
void load_pixels(const Geometry& g, DicomSeries& s) {
  Volume& v = s.volume;
  v.dims = {g.columns, g.rows, static_cast<std::int64_t>(s.slices.size())};
  const std::int64_t plane = g.columns * g.rows;
  v.data.resize(static_cast<size_t>(plane * v.dims[2]));
  for (size_t k = 0; k < s.slices.size(); ++k) {
    const DicomImage img = read_dicom_image(s.slices[k].file);
    if (img.columns != g.columns || img.rows != g.rows || img.frames != 1)
      throw Error("DICOM file '" + s.slices[k].file + "': decoded image is " +
                  std::to_string(img.columns) + "x" + std::to_string(img.rows) + "x" +
                  std::to_string(img.frames) + ", the series header says " +
                  std::to_string(g.columns) + "x" + std::to_string(g.rows) + "x1");
    std::copy(img.values.begin(), img.values.end(), v.data.begin() + k * plane);
    if (k == 0 && s.transfer_syntax.empty()) s.transfer_syntax = img.transfer_syntax;
  }
}

}  // namespace

std::vector<std::string> dicom_series_uids(const std::string& dir) {
  std::vector<std::string> uids;
  for (const auto& h : scan_headers(dir)) uids.push_back(h.series_uid);
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  return uids;
}

DicomSeries read_dicom_series(const std::string& dir, const DicomSeriesOptions& options) {
  const std::vector<Header> hs = select_series(scan_headers(dir), dir, options.series_uid);
  const Geometry g = check_stackable(hs, dir);
  DicomSeries s;
  s.series_uid = hs.front().series_uid;
  s.study_uid = hs.front().study_uid;
  s.modality = hs.front().modality;
  s.transfer_syntax = hs.front().syntax;
  sort_slices(hs, g, dir, s);
  check_spacing(g, dir, options, s);
  load_pixels(g, s);
  double step = s.median_step;
  if (s.slices.size() == 1) {
    // No position difference exists: the one case where SliceThickness is the best estimate.
    const auto& t = hs.front().thickness;
    step = t.size() == 1 && t[0] > 0 ? t[0] : 1.0;
  }
  if (!s.uniform && options.non_uniform == NonUniformPolicy::kResample) resample_even(s);
  s.volume.spacing = {g.column_spacing, g.row_spacing, step};
  s.volume.affine = ras_affine(g, s.slices.front().position, step);
  return s;
}

namespace {

// Stored values of one sample type: the low BitsStored bits below HighBit, sign-extended when
// PixelRepresentation is 1, so that overlay bits above HighBit never leak into the value.
template <typename Raw>
void unpack(const char* buf, std::size_t count, const gdcm::PixelFormat& pf, double slope,
            double intercept, std::vector<float>& out) {
  const int stored = pf.GetBitsStored(), high = pf.GetHighBit();
  const int shift = std::max(0, high + 1 - stored);
  const std::uint64_t mask = stored >= 64 ? ~0ULL : (1ULL << stored) - 1;
  const bool is_signed = pf.GetPixelRepresentation() == 1;
  out.resize(count);
  for (std::size_t n = 0; n < count; ++n) {
    Raw raw;
    std::memcpy(&raw, buf + n * sizeof(Raw), sizeof(Raw));
    std::uint64_t bits = (static_cast<std::uint64_t>(raw) >> shift) & mask;
    auto value = static_cast<std::int64_t>(bits);
    if (is_signed && stored < 64 && (bits >> (stored - 1)) & 1) value -= std::int64_t{1} << stored;
    out[n] = static_cast<float>(static_cast<double>(value) * slope + intercept);
  }
}

// RescaleSlope/RescaleIntercept straight from the data set whatever the modality (GDCM's own
// Image::GetSlope follows modality-specific rules); absent or malformed means 1 and 0.
double rescale_value(const gdcm::DataSet& ds, const gdcm::Tag& tag, double fallback) {
  if (!ds.FindDataElement(tag)) return fallback;
  const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
  if (!bv) return fallback;
  const auto v = parse_numbers(std::string(bv->GetPointer(), bv->GetLength()));
  return v.size() == 1 ? v[0] : fallback;
}

}  // namespace

DicomImage read_dicom_image(const std::string& path) {
  quiet_gdcm();
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  if (!reader.Read()) throw Error("cannot read DICOM image '" + path + "'");
  const gdcm::Image& image = reader.GetImage();
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  DicomImage out;
  out.columns = image.GetDimension(0);
  out.rows = image.GetDimension(1);
  out.frames = image.GetNumberOfDimensions() > 2 ? image.GetDimension(2) : 1;
  out.transfer_syntax = trim(image.GetTransferSyntax().GetString());
  out.photometric = image.GetPhotometricInterpretation().GetString();
  out.photometric = trim(out.photometric);
  out.bits_stored = pf.GetBitsStored();
  out.pixel_representation = pf.GetPixelRepresentation();
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  out.slope = rescale_value(ds, kSlope, 1.0);
  out.intercept = rescale_value(ds, kIntercept, 0.0);
  if (pf.GetSamplesPerPixel() != 1)
    throw Error("DICOM image '" + path + "': " + std::to_string(pf.GetSamplesPerPixel()) +
                " samples per pixel (" + out.photometric + "); only grey images are supported");
  std::vector<char> buf(image.GetBufferLength());
  if (!image.GetBuffer(buf.data()))
    throw Error("DICOM image '" + path + "': cannot decode pixel data (transfer syntax " +
                out.transfer_syntax + ")");
  const auto count = static_cast<std::size_t>(out.columns * out.rows * out.frames);
  const int allocated = pf.GetBitsAllocated();
  if (buf.size() < count * static_cast<std::size_t>(allocated / 8) ||
      (allocated != 8 && allocated != 16 && allocated != 32) || pf.GetBitsStored() < 1 ||
      pf.GetBitsStored() > allocated)
    throw Error("DICOM image '" + path + "': unsupported pixel format (BitsAllocated " +
                std::to_string(allocated) + ", BitsStored " + std::to_string(pf.GetBitsStored()) +
                ")");
  if (allocated == 8)
    unpack<std::uint8_t>(buf.data(), count, pf, out.slope, out.intercept, out.values);
  if (allocated == 16)
    unpack<std::uint16_t>(buf.data(), count, pf, out.slope, out.intercept, out.values);
  if (allocated == 32)
    unpack<std::uint32_t>(buf.data(), count, pf, out.slope, out.intercept, out.values);
  return out;
}

nlohmann::json inspect_dicom(const std::string& dir) {
  const DicomSeries s = read_dicom_series(dir);
  const Volume& v = s.volume;
  double lo = v.data.empty() ? 0 : v.data[0], hi = lo, sum = 0;
  for (float x : v.data) {
    lo = std::min<double>(lo, x);
    hi = std::max<double>(hi, x);
    sum += x;
  }
  nlohmann::json positions = nlohmann::json::array(), instances = nlohmann::json::array(),
                 files = nlohmann::json::array(), gaps = nlohmann::json::array();
  for (const auto& sl : s.slices) {
    positions.push_back(sl.normal_position);
    instances.push_back(sl.instance_number);
    files.push_back(fs::path(sl.file).filename().string());
  }
  for (size_t k = 0; k < s.steps.size(); ++k)
    if (std::abs(s.steps[k] - s.median_step) > DicomSeriesOptions{}.tolerance * s.median_step)
      gaps.push_back({{"after_slice", k},
                      {"from", s.slices[k].normal_position},
                      {"to", s.slices[k + 1].normal_position},
                      {"step", s.steps[k]}});
  return {{"folder", dir},
          {"series_uid", s.series_uid},
          {"study_uid", s.study_uid},
          {"modality", s.modality},
          {"transfer_syntax", s.transfer_syntax},
          {"shape", v.dims},
          {"spacing", v.spacing},
          {"affine", v.affine},
          {"positions", positions},
          {"instance_numbers", instances},
          {"files", files},
          {"steps", s.steps},
          {"median_step", s.median_step},
          {"uniform", s.uniform},
          {"gaps", gaps},
          {"duplicates_dropped", s.duplicates_dropped},
          {"min", lo},
          {"max", hi},
          {"mean", v.data.empty() ? 0.0 : sum / static_cast<double>(v.data.size())},
          {"warnings", s.warnings}};
}

}  // namespace orch
