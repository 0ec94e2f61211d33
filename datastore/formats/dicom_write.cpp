// Writing a volume as a CT series through gdcm::Writer. The data set is built element by element
// (not through gdcm::ImageWriter) so that every byte is chosen here: no generated UIDs, no dates,
// DS strings formatted to fit their 16 characters.
#include <gdcmDataElement.h>
#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmWriter.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "common/status.h"
#include "common/strings.h"
#include "datastore/formats/dicom.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

using Vec3 = std::array<double, 3>;

// LPS geometry of the stack: cosines, spacings, origin and the k step vector.
struct Stack {
  Vec3 row{}, column{}, step{}, origin{};
  double column_spacing = 0, row_spacing = 0, thickness = 0;  // along i, along j, along k
};

double norm(const Vec3& v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }

// Reads the LPS frame out of the RAS affine (x and y rows negated back) and checks that the
// stack is one DICOM can express: orthogonal in-plane axes and k along the slice normal.
Stack stack_from_affine(const Affine& ras) {
  Stack s;
  Vec3 col[3];
  for (int r = 0; r < 3; ++r) {
    const double sign = r < 2 ? -1 : 1;
    for (int c = 0; c < 3; ++c) col[c][r] = sign * ras[r][c];
    s.origin[r] = sign * ras[r][3];
  }
  s.column_spacing = norm(col[0]);
  s.row_spacing = norm(col[1]);
  s.thickness = norm(col[2]);
  if (s.column_spacing <= 0 || s.row_spacing <= 0 || s.thickness <= 0)
    throw Error("write_dicom_series: the affine has a zero-length axis");
  for (int r = 0; r < 3; ++r) {
    s.row[r] = col[0][r] / s.column_spacing;
    s.column[r] = col[1][r] / s.row_spacing;
    s.step[r] = col[2][r];
  }
  const Vec3 n{s.row[1] * s.column[2] - s.row[2] * s.column[1],
               s.row[2] * s.column[0] - s.row[0] * s.column[2],
               s.row[0] * s.column[1] - s.row[1] * s.column[0]};
  const double rc = s.row[0] * s.column[0] + s.row[1] * s.column[1] + s.row[2] * s.column[2];
  const double along = (n[0] * col[2][0] + n[1] * col[2][1] + n[2] * col[2][2]) / s.thickness;
  if (std::abs(rc) > 1e-6 || std::abs(std::abs(along) - 1) > 1e-6)
    throw Error(
        "write_dicom_series: the affine's axes are not orthogonal (sheared stack); "
        "DICOM slices cannot express it");
  return s;
}

// A DS value: the most precise %g rendering that fits DICOM's 16 characters.
std::string ds(double v) {
  if (std::abs(v) < 1e-12) v = 0;  // never "-0"
  char buf[40];
  for (int precision = 12; precision > 0; --precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strlen(buf) <= 16) break;
  }
  return buf;
}

std::string ds_list(std::initializer_list<double> values) {
  std::vector<std::string> items;
  for (double v : values) items.push_back(ds(v));
  return join(items, "\\");
}

// Inserts a string element, padded to even length (UI with NUL, the rest with a space).
void put(gdcm::DataSet& set, std::uint16_t group, std::uint16_t element, gdcm::VR vr,
         std::string value) {
  if (value.size() % 2) value += vr == gdcm::VR::UI ? '\0' : ' ';
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(vr);
  de.SetByteValue(value.data(), static_cast<std::uint32_t>(value.size()));
  set.Replace(de);
}

void put_us(gdcm::DataSet& set, std::uint16_t group, std::uint16_t element, std::uint16_t v) {
  const char bytes[2] = {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(gdcm::VR::US);
  de.SetByteValue(bytes, 2);
  set.Replace(de);
}

void check_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64 || uid.find_first_not_of("0123456789.") != std::string::npos)
    throw Error("write_dicom_series: '" + uid + "' is not a valid DICOM UID (digits and dots, " +
                "at most 64 characters)");
}

// The elements every slice shares: patient, study, series, frame of reference, pixel module.
gdcm::DataSet common_elements(const Volume& volume, const Stack& s, const DicomWriteOptions& o,
                              const std::string& study, const std::string& series) {
  gdcm::DataSet set;
  put(set, 0x0008, 0x0008, gdcm::VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
  put(set, 0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.2");  // CT Image Storage
  put(set, 0x0008, 0x0060, gdcm::VR::CS, "CT");
  put(set, 0x0010, 0x0010, gdcm::VR::PN, o.patient_id);
  put(set, 0x0010, 0x0020, gdcm::VR::LO, o.patient_id);
  put(set, 0x0018, 0x0050, gdcm::VR::DS, ds(s.thickness));
  put(set, 0x0020, 0x000d, gdcm::VR::UI, study);
  put(set, 0x0020, 0x000e, gdcm::VR::UI, series);
  put(set, 0x0020, 0x0011, gdcm::VR::IS, "1");
  put(set, 0x0020, 0x0037, gdcm::VR::DS,
      ds_list({s.row[0], s.row[1], s.row[2], s.column[0], s.column[1], s.column[2]}));
  put(set, 0x0020, 0x0052, gdcm::VR::UI, series + ".0");
  put_us(set, 0x0028, 0x0002, 1);
  put(set, 0x0028, 0x0004, gdcm::VR::CS, "MONOCHROME2");
  put_us(set, 0x0028, 0x0010, static_cast<std::uint16_t>(volume.dims[1]));  // rows: j
  put_us(set, 0x0028, 0x0011, static_cast<std::uint16_t>(volume.dims[0]));  // columns: i
  put(set, 0x0028, 0x0030, gdcm::VR::DS, ds_list({s.row_spacing, s.column_spacing}));
  put_us(set, 0x0028, 0x0100, 16);
  put_us(set, 0x0028, 0x0101, 16);
  put_us(set, 0x0028, 0x0102, 15);
  put_us(set, 0x0028, 0x0103, 1);
  put(set, 0x0028, 0x1052, gdcm::VR::DS, ds(o.intercept));
  put(set, 0x0028, 0x1053, gdcm::VR::DS, "1");
  put(set, 0x0028, 0x1054, gdcm::VR::LO, "HU");
  return set;
}

// int16 little-endian stored values of slice k: round(value - intercept), clamped.
std::string slice_bytes(const Volume& volume, std::int64_t k, double intercept) {
  const std::int64_t plane = volume.dims[0] * volume.dims[1];
  std::string bytes(static_cast<size_t>(plane * 2), '\0');
  for (std::int64_t p = 0; p < plane; ++p) {
    const double stored = std::round(static_cast<double>(volume.data[k * plane + p]) - intercept);
    const auto v = static_cast<std::int16_t>(std::clamp(stored, -32768.0, 32767.0));
    const auto u = static_cast<std::uint16_t>(v);
    bytes[2 * p] = static_cast<char>(u & 0xff);
    bytes[2 * p + 1] = static_cast<char>(u >> 8);
  }
  return bytes;
}

std::string file_name(const DicomWriteOptions& o, std::int64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld.dcm", static_cast<long long>(number));
  return o.prefix + buf;
}

void check_volume(const Volume& v) {
  if (v.channels != 1) throw Error("write_dicom_series: the volume must have one channel");
  for (auto d : v.dims)
    if (d < 1) throw Error("write_dicom_series: the volume has an empty dimension");
  if (v.dims[0] > 65535 || v.dims[1] > 65535)
    throw Error("write_dicom_series: rows and columns must fit in 16 bits");
  if (static_cast<std::int64_t>(v.data.size()) != v.voxels())
    throw Error("write_dicom_series: the volume's data size does not match its dims");
}

}  // namespace

std::vector<std::string> write_dicom_series(const std::string& dir, const Volume& volume,
                                            const DicomWriteOptions& options) {
  check_volume(volume);
  const Stack s = stack_from_affine(volume.affine);
  const std::string study = options.study_uid.empty() ? options.uid_root + ".1" : options.study_uid;
  const std::string series =
      options.series_uid.empty() ? options.uid_root + ".2" : options.series_uid;
  check_uid(study);
  check_uid(series + ".0");
  check_uid(series + "." + std::to_string(volume.dims[2]));
  gdcm::Trace::WarningOff();
  fs::create_directories(dir);
  const gdcm::DataSet common = common_elements(volume, s, options, study, series);
  std::vector<std::string> sops;
  for (std::int64_t k = 0; k < volume.dims[2]; ++k) {
    const std::string sop = series + "." + std::to_string(k + 1);
    const std::int64_t instance = options.reverse_instance_numbers ? volume.dims[2] - k : k + 1;
    const Vec3 p{s.origin[0] + k * s.step[0], s.origin[1] + k * s.step[1],
                 s.origin[2] + k * s.step[2]};
    gdcm::Writer writer;
    gdcm::DataSet& set = writer.GetFile().GetDataSet();
    set = common;
    put(set, 0x0008, 0x0018, gdcm::VR::UI, sop);
    put(set, 0x0020, 0x0013, gdcm::VR::IS, std::to_string(instance));
    put(set, 0x0020, 0x0032, gdcm::VR::DS, ds_list({p[0], p[1], p[2]}));
    put(set, 0x0020, 0x1041, gdcm::VR::DS, ds(p[2]));  // SliceLocation, as LIDC's readers use z
    const std::string pixels = slice_bytes(volume, k, options.intercept);
    gdcm::DataElement de(gdcm::Tag(0x7fe0, 0x0010));
    de.SetVR(gdcm::VR::OW);
    de.SetByteValue(pixels.data(), static_cast<std::uint32_t>(pixels.size()));
    set.Replace(de);
    writer.GetFile().GetHeader().SetDataSetTransferSyntax(
        gdcm::TransferSyntax::ExplicitVRLittleEndian);
    const std::string path = (fs::path(dir) / file_name(options, k + 1)).string();
    writer.SetFileName(path.c_str());
    if (!writer.Write()) throw Error("cannot write DICOM file '" + path + "'");
    sops.push_back(sop);
  }
  return sops;
}

}  // namespace orch
