#include "datastore/formats/nifti.h"

#include <nifti2_io.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <type_traits>

#include "common/fs.h"
#include "common/status.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

struct NimDeleter {
  void operator()(nifti_image* nim) const { nifti_image_free(nim); }
};
using NimPtr = std::unique_ptr<nifti_image, NimDeleter>;

struct DtypeInfo {
  int code;
  const char* name;
};

// The real-valued NIfTI types orch handles; RGB and complex types have no single float value.
constexpr DtypeInfo kDtypes[] = {
    {DT_UINT8, "uint8"},     {DT_INT8, "int8"},       {DT_INT16, "int16"}, {DT_UINT16, "uint16"},
    {DT_INT32, "int32"},     {DT_UINT32, "uint32"},   {DT_INT64, "int64"}, {DT_UINT64, "uint64"},
    {DT_FLOAT32, "float32"}, {DT_FLOAT64, "float64"},
};

const DtypeInfo* dtype_by_code(int code) {
  for (const auto& d : kDtypes)
    if (d.code == code) return &d;
  return nullptr;
}

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

// niftilib reports through stderr according to a process-wide level; orch reports through
// exceptions instead, so the chatter is turned off once.
void quiet_niftilib() {
  static std::once_flag once;
  std::call_once(once, [] { nifti_set_debug_level(0); });
}

[[noreturn]] void read_error(const std::string& path, const std::string& why) {
  throw Error("cannot read NIfTI '" + path + "': " + why);
}

[[noreturn]] void write_error(const std::string& path, const std::string& why) {
  throw Error("cannot write NIfTI '" + path + "': " + why);
}

// Calls `fn(static_cast<T*>(nullptr))` with the C++ type matching a supported datatype code.
template <typename Fn>
void with_type(int code, Fn&& fn) {
  switch (code) {
    case DT_UINT8:
      return fn(static_cast<std::uint8_t*>(nullptr));
    case DT_INT8:
      return fn(static_cast<std::int8_t*>(nullptr));
    case DT_INT16:
      return fn(static_cast<std::int16_t*>(nullptr));
    case DT_UINT16:
      return fn(static_cast<std::uint16_t*>(nullptr));
    case DT_INT32:
      return fn(static_cast<std::int32_t*>(nullptr));
    case DT_UINT32:
      return fn(static_cast<std::uint32_t*>(nullptr));
    case DT_INT64:
      return fn(static_cast<std::int64_t*>(nullptr));
    case DT_UINT64:
      return fn(static_cast<std::uint64_t*>(nullptr));
    case DT_FLOAT32:
      return fn(static_cast<float*>(nullptr));
    case DT_FLOAT64:
      return fn(static_cast<double*>(nullptr));
    default:
      throw Error("unsupported NIfTI datatype " + std::to_string(code));
  }
}

bool scaling_applies(double slope) { return slope != 0.0 && std::isfinite(slope); }

Affine to_affine(const nifti_dmat44& m) {
  Affine a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[r][c] = m.m[r][c];
  return a;
}

nifti_dmat44 to_dmat44(const Affine& a) {
  nifti_dmat44 m{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = a[r][c];
  return m;
}

// nibabel's get_best_affine, except that without any xform the origin stays at voxel 0 rather
// than the volume centre (orch's convention, see nifti.h).
Affine best_affine(const nifti_image& nim) {
  if (nim.sform_code > 0) return to_affine(nim.sto_xyz);
  if (nim.qform_code > 0) return to_affine(nim.qto_xyz);
  Affine a = identity_affine();
  a[0][0] = nim.dx;
  a[1][1] = nim.dy;
  a[2][2] = nim.dz;
  return a;
}

// Scales the raw values into `out` in double precision, then narrows to float.
template <typename T>
void scale_to_float(const nifti_image& nim, double slope, double inter, std::vector<float>& out) {
  const T* src = static_cast<const T*>(nim.data);
  out.resize(static_cast<std::size_t>(nim.nvox));
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(static_cast<double>(src[i]) * slope + inter);
}

// min/max/mean over the non-NaN values, so that one masked voxel does not poison the summary.
void compute_stats(NiftiImage& image) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  std::size_t n = 0;
  for (const float v : image.data) {
    if (std::isnan(v)) continue;
    lo = std::min<double>(lo, v);
    hi = std::max<double>(hi, v);
    sum += v;
    ++n;
  }
  if (n == 0) return;
  image.min = lo;
  image.max = hi;
  image.mean = sum / static_cast<double>(n);
}

void read_values(const std::string& path, const nifti_image& nim, NiftiImage& image) {
  double slope = 1.0, inter = 0.0;
  if (scaling_applies(nim.scl_slope)) {
    if (!std::isfinite(nim.scl_inter)) read_error(path, "scl_slope is valid but scl_inter is not");
    slope = nim.scl_slope;
    inter = nim.scl_inter;
  }
  with_type(nim.datatype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    scale_to_float<T>(nim, slope, inter, image.data);
  });
  compute_stats(image);
}

NimPtr open_nifti(const std::string& path) {
  // niftilib would otherwise try sibling names (x.nii, x.hdr, ...) for a path that is missing.
  std::error_code ec;
  if (!fs::exists(path, ec)) read_error(path, "no such file");
  if (!fs::is_regular_file(path, ec)) read_error(path, "not a regular file");
  quiet_niftilib();
  NimPtr nim(nifti_image_read(path.c_str(), 1));
  if (!nim) read_error(path, "not a readable NIfTI-1/NIfTI-2 file (bad header or truncated data)");
  if (!nim->data) read_error(path, "image data could not be loaded");
  return nim;
}

// niftilib marks images read from NIfTI-2 files as NIFTI_FTYPE_NIFTI1_1 too, so the version comes
// from the header itself (sizeof_hdr 348 or 540).
int header_version(const std::string& path) {
  int version = 0;
  void* header = nifti_read_header(path.c_str(), &version, 0);
  std::free(header);
  if (version != 1 && version != 2) read_error(path, "unrecognised header");
  return version;
}

}  // namespace

NiftiImage read_nifti(const std::string& path) {
  NimPtr nim = open_nifti(path);
  const DtypeInfo* dtype = dtype_by_code(nim->datatype);
  if (!dtype) {
    read_error(path, "unsupported datatype " + std::to_string(nim->datatype) + " (" +
                         nifti_datatype_to_string(nim->datatype) + ")");
  }
  NiftiImage image;
  for (std::int64_t d = 1; d <= nim->ndim; ++d) image.shape.push_back(nim->dim[d]);
  image.dtype = dtype->name;
  image.version = header_version(path);
  image.spacing = {nim->dx, nim->dy, nim->dz};
  image.affine = best_affine(*nim);
  read_values(path, *nim, image);
  return image;
}

Volume to_volume(NiftiImage image) {
  const auto& s = image.shape;
  for (std::size_t d = 4; d < s.size(); ++d) {
    if (s[d] > 1) {
      throw Error("NIfTI image has " + std::to_string(s.size()) +
                  " dimensions; orch volumes take at most 4 (i, j, k, channels)");
    }
  }
  const auto dim = [&](std::size_t d) { return d < s.size() ? s[d] : std::int64_t{1}; };
  Volume v;
  v.dims = {dim(0), dim(1), dim(2)};
  v.channels = dim(3);
  v.spacing = image.spacing;
  v.affine = image.affine;
  v.data = std::move(image.data);
  if (static_cast<std::int64_t>(v.data.size()) != v.channels * v.voxels())
    throw Error("NIfTI image data size does not match its shape");
  return v;
}

namespace {

// Converts to T: integers are rounded half away from zero (as std::lround, but std::round also
// covers uint64 beyond long) and clamped to T's range, NaN becoming 0; floats keep NaN and
// infinities, and finite values are clamped because converting one out of range is undefined.
template <typename T>
T narrow_value(double v) {
  using Limits = std::numeric_limits<T>;
  constexpr double lo = static_cast<double>(Limits::lowest());
  constexpr double hi = static_cast<double>(Limits::max());
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(std::isfinite(v) ? std::clamp(v, lo, hi) : v);
  } else {
    if (std::isnan(v)) return T{0};
    if (v <= lo) return Limits::lowest();
    if (v >= hi) return Limits::max();
    return static_cast<T>(std::round(v));
  }
}

template <typename T>
void fill_data(const std::vector<float>& src, const NiftiWriteOptions& o, void* dst) {
  T* out = static_cast<T*>(dst);
  const bool scale = scaling_applies(o.scl_slope);
  for (std::size_t i = 0; i < src.size(); ++i) {
    double v = src[i];
    if (scale) v = (v - o.scl_inter) / o.scl_slope;  // stored = (value - inter) / slope
    out[i] = narrow_value<T>(v);
  }
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_write_args(const std::string& path, const std::vector<std::int64_t>& shape,
                      std::size_t values, const std::array<double, 3>& spacing,
                      const NiftiWriteOptions& o) {
  if (!has_suffix(path, ".nii") && !has_suffix(path, ".nii.gz"))
    write_error(path, "the name must end in .nii or .nii.gz");
  if (o.version != 1 && o.version != 2)
    write_error(path, "NIfTI version must be 1 or 2, not " + std::to_string(o.version));
  if (!dtype_by_name(o.dtype)) write_error(path, "unsupported dtype '" + o.dtype + "'");
  if (shape.empty() || shape.size() > 7) write_error(path, "the shape must have 1 to 7 dimensions");
  std::int64_t n = 1;
  for (const auto d : shape) {
    if (d < 1) write_error(path, "every dimension must be at least 1");
    // NIfTI-1 stores dims as int16.
    if (o.version == 1 && d > std::numeric_limits<std::int16_t>::max())
      write_error(path, "dimension " + std::to_string(d) + " does not fit NIfTI-1; use version 2");
    n *= d;
  }
  if (static_cast<std::size_t>(n) != values)
    write_error(path, std::to_string(values) + " values do not fill the shape");
  for (const double s : spacing)
    if (!(s > 0) || !std::isfinite(s)) write_error(path, "spacing must be positive and finite");
}

// Stores `affine` as the sform and as the qform. The qform can only hold a rotation, an optional
// flip of k (qfac) and the pixdim scales, so for a sheared affine it is the nearest such transform.
void set_geometry(nifti_image& nim, const std::array<double, 3>& spacing, const Affine& affine) {
  nim.dx = nim.pixdim[1] = spacing[0];
  nim.dy = nim.pixdim[2] = spacing[1];
  nim.dz = nim.pixdim[3] = spacing[2];
  nim.xyz_units = NIFTI_UNITS_MM;

  const nifti_dmat44 m = to_dmat44(affine);
  nim.sform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim.sto_xyz = m;
  nim.sto_ijk = nifti_dmat44_inverse(m);

  double dx = 0, dy = 0, dz = 0;  // column norms of the affine; the header keeps `spacing`
  nifti_dmat44_to_quatern(m, &nim.quatern_b, &nim.quatern_c, &nim.quatern_d, &nim.qoffset_x,
                          &nim.qoffset_y, &nim.qoffset_z, &dx, &dy, &dz, &nim.qfac);
  nim.pixdim[0] = nim.qfac;
  nim.qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim.qto_xyz =
      nifti_quatern_to_dmat44(nim.quatern_b, nim.quatern_c, nim.quatern_d, nim.qoffset_x,
                              nim.qoffset_y, nim.qoffset_z, nim.dx, nim.dy, nim.dz, nim.qfac);
  nim.qto_ijk = nifti_dmat44_inverse(nim.qto_xyz);
}

NimPtr make_image(const std::string& path, const std::vector<std::int64_t>& shape,
                  const std::vector<float>& data, const std::array<double, 3>& spacing,
                  const Affine& affine, const NiftiWriteOptions& o) {
  std::int64_t dims[8] = {static_cast<std::int64_t>(shape.size()), 1, 1, 1, 1, 1, 1, 1};
  std::copy(shape.begin(), shape.end(), dims + 1);
  const int code = dtype_by_name(o.dtype)->code;
  NimPtr nim(nifti_make_new_nim(dims, code, 1));
  if (!nim || !nim->data) write_error(path, "niftilib could not allocate the image");
  set_geometry(*nim, spacing, affine);
  nim->scl_slope = o.scl_slope;
  nim->scl_inter = o.scl_inter;
  std::snprintf(nim->descrip, sizeof nim->descrip, "%s", o.description.c_str());
  with_type(code, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    fill_data<T>(data, o, nim->data);
  });
  return nim;
}

// Header bytes up to the data: the header, a zero extender (no extensions) and padding to the
// 16-byte aligned vox_offset. niftilib's own conversion fills the header, so the bytes are those
// nifti_image_write would produce.
std::string encode_header(const std::string& path, nifti_image& nim, int version) {
  std::string bytes;
  if (version == 1) {
    nifti_1_header h{};
    nim.nifti_type = NIFTI_FTYPE_NIFTI1_1;
    nim.iname_offset = (sizeof h + 4 + 15) / 16 * 16;
    if (nifti_convert_nim2n1hdr(&nim, &h) != 0)
      write_error(path, "the image does not fit a NIfTI-1 header");
    bytes.assign(reinterpret_cast<const char*>(&h), sizeof h);
  } else {
    nifti_2_header h{};
    nim.nifti_type = NIFTI_FTYPE_NIFTI2_1;  // selects the single-file magic "n+2"
    nim.iname_offset = (sizeof h + 4 + 15) / 16 * 16;
    if (nifti_convert_nim2n2hdr(&nim, &h) != 0)
      write_error(path, "the image does not fit a NIfTI-2 header");
    bytes.assign(reinterpret_cast<const char*>(&h), sizeof h);
  }
  bytes.resize(static_cast<std::size_t>(nim.iname_offset), '\0');
  return bytes;
}

// Writes header and data through znzlib, which gzips when asked. zlib's gzip header carries no
// timestamp or name, so the same image always gives the same bytes.
void write_stream(const std::string& path, const fs::path& tmp, const std::string& header,
                  const nifti_image& nim) {
  const bool gzip = has_suffix(path, ".gz");
  if (gzip && !nifti_compiled_with_zlib()) write_error(path, "niftilib was built without zlib");
  znzFile fp = znzopen(tmp.c_str(), "wb", gzip ? 1 : 0);
  if (znz_isnull(fp)) write_error(path, "cannot create '" + tmp.string() + "'");
  const auto data_bytes = static_cast<std::size_t>(nim.nvox) * static_cast<std::size_t>(nim.nbyper);
  bool ok = znzwrite(header.data(), 1, header.size(), fp) == header.size();
  ok = ok && znzwrite(nim.data, 1, data_bytes, fp) == data_bytes;
  ok = znzclose(fp) == 0 && ok;  // gzip flushes on close, so its result counts too
  if (!ok) write_error(path, "writing '" + tmp.string() + "' failed");
}

}  // namespace

void write_nifti(const std::string& path, const std::vector<std::int64_t>& shape,
                 const std::vector<float>& data, const std::array<double, 3>& spacing,
                 const Affine& affine, const NiftiWriteOptions& options) {
  check_write_args(path, shape, data.size(), spacing, options);
  quiet_niftilib();
  NimPtr nim = make_image(path, shape, data, spacing, affine, options);
  const std::string header = encode_header(path, *nim, options.version);
  write_atomic_with(path, [&](const fs::path& tmp) { write_stream(path, tmp, header, *nim); });
}

std::vector<std::uint8_t> read_nifti_label(const std::string& path,
                                           const std::array<std::int64_t, 3>& dims) {
  const Volume label = to_volume(read_nifti(path));
  if (label.dims != dims || label.channels != 1)
    throw Error("label '" + path + "' has shape " + std::to_string(label.dims[0]) + "x" +
                std::to_string(label.dims[1]) + "x" + std::to_string(label.dims[2]) +
                ", unlike its image (" + std::to_string(dims[0]) + "x" + std::to_string(dims[1]) +
                "x" + std::to_string(dims[2]) + ")");
  std::vector<std::uint8_t> out(label.data.size());
  for (std::size_t i = 0; i < label.data.size(); ++i) {
    const float v = label.data[i];
    if (!(v >= 0 && v <= 255) || v != std::round(v))
      throw Error("label '" + path + "' holds " + std::to_string(v) + " at voxel " +
                  std::to_string(i) + "; labels must be whole numbers in 0..255");
    out[i] = static_cast<std::uint8_t>(v);
  }
  return out;
}

}  // namespace orch
