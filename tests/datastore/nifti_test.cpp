// Tests for datastore/formats/nifti: the reader against real files written by other tools (the
// expected values are what nibabel reports for those files), and write-then-read round trips.
#include "datastore/formats/nifti.h"

#include <gtest/gtest.h>
#include <nifti2_io.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/temp_dir.h"

#ifndef ORCH_TESTDATA_DIR
#error "ORCH_TESTDATA_DIR must name the shared testdata folder, e.g. -DORCH_TESTDATA_DIR=\"...\""
#endif

namespace orch {
namespace {
namespace fs = std::filesystem;

std::string testdata(const std::string& name) {
  return std::string(ORCH_TESTDATA_DIR) + "/nifti/" + name;
}

// A fresh directory under the system temp folder, removed with everything in it.
using testing::TempDir;

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Expects the top three rows of `a` to match `rows` to within `tol` absolute.
void expect_affine_near(const Affine& a, const std::vector<std::array<double, 4>>& rows,
                        double tol) {
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_NEAR(a[r][c], rows[r][c], tol) << "row " << r << " col " << c;
  EXPECT_EQ(a[3][0], 0.0);
  EXPECT_EQ(a[3][1], 0.0);
  EXPECT_EQ(a[3][2], 0.0);
  EXPECT_EQ(a[3][3], 1.0);
}

void expect_rel_near(double actual, double expected, double rel) {
  EXPECT_NEAR(actual, expected, std::abs(expected) * rel);
}

Affine affine_from(const nifti_dmat44& m) {
  Affine a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[r][c] = m.m[r][c];
  return a;
}

// The header as niftilib parses it, independent of orch's reader.
struct RawHeader {
  explicit RawHeader(const std::string& path) : nim(nifti_image_read(path.c_str(), 0)) {}
  ~RawHeader() { nifti_image_free(nim); }
  RawHeader(const RawHeader&) = delete;
  RawHeader& operator=(const RawHeader&) = delete;
  nifti_image* nim;
};

// example4d's affine rows as nibabel reports them, shared by example_nifti2.
const std::vector<std::array<double, 4>> kExample4dAffine = {
    {{-2, 0, 0, 117.8551}}, {{0, 1.9737, -0.3555, -35.7229}}, {{0, 0.3232, 2.1711, -7.2488}}};

std::vector<float> ramp(std::size_t n, float start, float step) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

NiftiWriteOptions as(const std::string& dtype) {
  NiftiWriteOptions options;
  options.dtype = dtype;
  return options;
}

Affine scaled_affine(double sx, double sy, double sz, double ox, double oy, double oz) {
  return {{{sx, 0, 0, ox}, {0, sy, 0, oy}, {0, 0, sz, oz}, {0, 0, 0, 1}}};
}

// ---- Reading real files ----

TEST(NiftiRead, ReadsObliqueExample4dWithExtensionAsNibabelDoes) {
  const NiftiImage im = read_nifti(testdata("example4d.nii.gz"));
  EXPECT_EQ(im.shape, (std::vector<std::int64_t>{128, 96, 24, 2}));
  EXPECT_EQ(im.dtype, "int16");
  EXPECT_EQ(im.version, 1);
  EXPECT_EQ(im.data.size(), 128u * 96 * 24 * 2);
  expect_affine_near(im.affine, kExample4dAffine, 1e-3);
  // pixdim agrees with the affine's column lengths (2, 2, 2.2).
  for (int c = 0; c < 3; ++c) {
    const double norm = std::hypot(im.affine[0][c], im.affine[1][c], im.affine[2][c]);
    EXPECT_NEAR(im.spacing[c], norm, 1e-3) << "axis " << c;
  }
  EXPECT_LE(im.min, im.max);
}

TEST(NiftiRead, ReadsNifti2HeaderWithTheSameAffineAsExample4d) {
  const NiftiImage im = read_nifti(testdata("example_nifti2.nii.gz"));
  EXPECT_EQ(im.version, 2);
  EXPECT_EQ(im.shape, (std::vector<std::int64_t>{32, 20, 12, 2}));
  EXPECT_EQ(im.dtype, "int16");
  EXPECT_EQ(im.data.size(), 32u * 20 * 12 * 2);
  expect_affine_near(im.affine, kExample4dAffine, 1e-3);
}

TEST(NiftiRead, AppliesSclSlopeAndInterToFunctional) {
  const NiftiImage im = read_nifti(testdata("functional.nii"));
  EXPECT_EQ(im.shape, (std::vector<std::int64_t>{17, 21, 3, 20}));
  EXPECT_EQ(im.dtype, "int16");  // the on-disk type, although the values are scaled floats
  EXPECT_EQ(im.version, 1);
  expect_rel_near(im.min, 629.826, 1e-5);
  expect_rel_near(im.max, 5571.622, 1e-5);
  expect_rel_near(im.mean, 3637.4085, 1e-5);
  const auto [lo, hi] = std::minmax_element(im.data.begin(), im.data.end());
  EXPECT_FLOAT_EQ(*lo, static_cast<float>(im.min));
  EXPECT_FLOAT_EQ(*hi, static_cast<float>(im.max));
}

TEST(NiftiRead, UsesSformWhenQformCodeIsZero) {
  const NiftiImage im = read_nifti(testdata("standard.nii.gz"));
  EXPECT_EQ(im.shape, (std::vector<std::int64_t>{4, 5, 7}));
  EXPECT_EQ(im.dtype, "uint8");
  expect_affine_near(im.affine, {{{1, 0, 0, 0}}, {{0, 3, 0, 0}}, {{0, 0, 2, 0}}}, 1e-6);
}

TEST(NiftiRead, SwapsBigEndianInt16ToNativeValues) {
  const NiftiImage im = read_nifti(testdata("anatomical_bigendian.nii"));
  EXPECT_EQ(im.shape, (std::vector<std::int64_t>{33, 41, 25}));
  EXPECT_EQ(im.dtype, "int16");
  expect_affine_near(im.affine, {{{-2, 0, 0, 32}}, {{0, 2, 0, -40}}, {{0, 0, 2, -16}}}, 1e-3);
  EXPECT_EQ(im.min, -610.0);
  EXPECT_EQ(im.max, 30393.0);
  expect_rel_near(im.mean, 8401.0667, 1e-6);
}

// ---- to_volume ----

TEST(NiftiToVolume, TurnsTheFourthDimensionIntoChannels) {
  const Volume v = to_volume(read_nifti(testdata("example4d.nii.gz")));
  EXPECT_EQ(v.dims, (std::array<std::int64_t, 3>{128, 96, 24}));
  EXPECT_EQ(v.channels, 2);
  EXPECT_EQ(static_cast<std::int64_t>(v.data.size()), v.channels * v.voxels());
  expect_affine_near(v.affine, kExample4dAffine, 1e-3);
}

TEST(NiftiToVolume, GivesA3dImageOneChannelAndKeepsSpacing) {
  const Volume v = to_volume(read_nifti(testdata("standard.nii.gz")));
  EXPECT_EQ(v.dims, (std::array<std::int64_t, 3>{4, 5, 7}));
  EXPECT_EQ(v.channels, 1);
  EXPECT_EQ(v.spacing, (std::array<double, 3>{1, 3, 2}));
  EXPECT_EQ(v.data.size(), 4u * 5 * 7);
}

TEST(NiftiToVolume, TreatsA2dImageAsOneSlice) {
  TempDir dir;
  const std::string path = dir.file("slice.nii");
  write_nifti(path, {5, 7}, ramp(35, 0, 1), {1, 1, 1}, identity_affine());
  const Volume v = to_volume(read_nifti(path));
  EXPECT_EQ(v.dims, (std::array<std::int64_t, 3>{5, 7, 1}));
  EXPECT_EQ(v.channels, 1);
  EXPECT_EQ(v.data, ramp(35, 0, 1));
}

TEST(NiftiToVolume, RejectsAFifthDimensionLargerThanOne) {
  TempDir dir;
  const std::string path = dir.file("five.nii");
  write_nifti(path, {2, 2, 2, 2, 3}, ramp(48, 0, 1), {1, 1, 1}, identity_affine());
  const NiftiImage im = read_nifti(path);
  EXPECT_EQ(im.shape.size(), 5u);
  EXPECT_THROW(to_volume(im), Error);
}

// ---- Round trips ----

TEST(NiftiWrite, RoundTripsUint8LabelsThroughGzip) {
  TempDir dir;
  const std::string path = dir.file("label.nii.gz");
  std::vector<float> labels(4 * 3 * 2);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<float>(i % 3);
  labels.back() = 255;
  write_nifti(path, {4, 3, 2}, labels, {1, 1, 1}, identity_affine(), as("uint8"));
  const NiftiImage im = read_nifti(path);
  EXPECT_EQ(im.dtype, "uint8");
  EXPECT_EQ(im.shape, (std::vector<std::int64_t>{4, 3, 2}));
  EXPECT_EQ(im.data, labels);
  EXPECT_EQ(im.max, 255.0);
}

TEST(NiftiWrite, RoundsAndClampsToTheIntegerTypesRange) {
  TempDir dir;
  const std::string path = dir.file("clamped.nii");
  write_nifti(path, {6, 1, 1}, {-5.f, 300.f, 2.5f, 2.4f, -0.6f, 254.5f}, {1, 1, 1},
              identity_affine(), as("uint8"));
  EXPECT_EQ(read_nifti(path).data, (std::vector<float>{0, 255, 3, 2, 0, 255}));
}

TEST(NiftiWrite, StoresInt16WithSclSlopeAndInterAndReadsBackScaledValues) {
  TempDir dir;
  const std::string path = dir.file("ct.nii.gz");
  NiftiWriteOptions options;
  options.dtype = "int16";
  options.scl_slope = 0.5;
  options.scl_inter = -1024;
  const std::vector<float> hu = ramp(5 * 4 * 3, -1024, 0.5f);
  write_nifti(path, {5, 4, 3}, hu, {0.7, 0.7, 2.5}, scaled_affine(0.7, 0.7, 2.5, 0, 0, 0), options);

  const NiftiImage im = read_nifti(path);
  EXPECT_EQ(im.dtype, "int16");
  EXPECT_EQ(im.data, hu);
  RawHeader raw(path);
  ASSERT_NE(raw.nim, nullptr);
  EXPECT_EQ(raw.nim->scl_slope, 0.5);
  EXPECT_EQ(raw.nim->scl_inter, -1024.0);
}

TEST(NiftiWrite, RoundTripsFloat32ExactlyIncludingSpacing) {
  TempDir dir;
  const std::string path = dir.file("prob.nii");
  const std::vector<float> values = {0.1f, -3.25f, 1e-7f, 12345.678f, -0.0f, 1e30f, 0.5f, 2.f};
  write_nifti(path, {2, 2, 2}, values, {0.8, 0.9, 3.0}, scaled_affine(0.8, 0.9, 3.0, 1, 2, 3));
  const NiftiImage im = read_nifti(path);
  EXPECT_EQ(im.dtype, "float32");
  EXPECT_EQ(im.data, values);
  EXPECT_EQ(im.spacing, (std::array<double, 3>{0.8f, 0.9f, 3.0f}));  // pixdim is float32 in NIfTI-1
  expect_affine_near(im.affine, {{{0.8, 0, 0, 1}}, {{0, 0.9, 0, 2}}, {{0, 0, 3, 3}}}, 1e-6);
}

TEST(NiftiWrite, CompressesOnlyForTheNiiGzSuffix) {
  TempDir dir;
  const std::vector<float> values = ramp(3 * 3 * 3, -10, 1);
  for (const std::string name : {"a.nii", "a.nii.gz"}) {
    const std::string path = dir.file(name);
    write_nifti(path, {3, 3, 3}, values, {1, 1, 1}, identity_affine(), as("int16"));
    const std::string bytes = file_bytes(path);
    ASSERT_GE(bytes.size(), 4u);
    const bool gzip = bytes[0] == '\x1f' && bytes[1] == '\x8b';
    EXPECT_EQ(gzip, name == "a.nii.gz") << name;
    if (!gzip) {
      EXPECT_EQ(bytes.size(), 352u + 27 * 2);  // header + 4-byte extender + data
    }
    EXPECT_EQ(read_nifti(path).data, values) << name;
  }
}

TEST(NiftiWrite, WritesANifti2HeaderWhenAskedFor) {
  TempDir dir;
  for (const std::string name : {"v2.nii", "v2.nii.gz"}) {
    const std::string path = dir.file(name);
    NiftiWriteOptions options;
    options.version = 2;
    const std::vector<float> values = ramp(4 * 2 * 3, 1, 0.25f);
    write_nifti(path, {4, 2, 3}, values, {1, 2, 3}, scaled_affine(-1, 2, 3, 10, 20, 30), options);
    const NiftiImage im = read_nifti(path);
    EXPECT_EQ(im.version, 2) << name;
    EXPECT_EQ(im.data, values) << name;
    expect_affine_near(im.affine, {{{-1, 0, 0, 10}}, {{0, 2, 0, 20}}, {{0, 0, 3, 30}}}, 1e-9);
  }
  const std::string bytes = file_bytes(dir.file("v2.nii"));
  ASSERT_GE(bytes.size(), 4u);
  std::int32_t sizeof_hdr = 0;
  std::memcpy(&sizeof_hdr, bytes.data(), 4);
  // sizeof_hdr 540 (NIfTI-1 has 348), then the single-file magic.
  EXPECT_EQ(sizeof_hdr, 540);
  EXPECT_EQ(bytes.substr(4, 4), std::string("n+2\0", 4));
}

TEST(NiftiWrite, KeepsAnObliqueAffineInBothSformAndQform) {
  TempDir dir;
  // Rotations about z then x, scaled by spacing, with and without a flipped axis (qfac -1).
  const double a = 0.3, b = -0.2;
  const std::array<double, 3> spacing = {0.8, 1.2, 2.5};
  for (const double flip : {1.0, -1.0}) {
    const double rot[3][3] = {{std::cos(a), -std::sin(a), 0},
                              {std::sin(a) * std::cos(b), std::cos(a) * std::cos(b), -std::sin(b)},
                              {std::sin(a) * std::sin(b), std::cos(a) * std::sin(b), std::cos(b)}};
    Affine affine = identity_affine();
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) affine[r][c] = rot[r][c] * spacing[c] * (c == 0 ? flip : 1);
    affine[0][3] = -90.5;
    affine[1][3] = 12.25;
    affine[2][3] = 40;

    const std::string path = dir.file(flip > 0 ? "oblique.nii.gz" : "oblique_flipped.nii.gz");
    write_nifti(path, {3, 4, 5}, ramp(60, 0, 1), spacing, affine);
    std::vector<std::array<double, 4>> rows(affine.begin(), affine.begin() + 3);
    expect_affine_near(read_nifti(path).affine, rows, 1e-5);  // via the sform

    RawHeader raw(path);
    ASSERT_NE(raw.nim, nullptr);
    EXPECT_EQ(raw.nim->sform_code, 1);
    EXPECT_EQ(raw.nim->qform_code, 1);
    // Flipping i makes the determinant negative, which the quaternion stores as qfac -1.
    EXPECT_EQ(raw.nim->qfac, flip > 0 ? 1.0 : -1.0);
    expect_affine_near(affine_from(raw.nim->qto_xyz), rows, 1e-5);
  }
}

TEST(NiftiWrite, PreservesMemoryOrderForOddShapes) {
  TempDir dir;
  const std::vector<std::vector<std::int64_t>> shapes = {{5, 7, 3}, {3, 4, 5, 2}};
  for (const auto& shape : shapes) {
    std::size_t n = 1;
    for (const auto d : shape) n *= static_cast<std::size_t>(d);
    const std::string path = dir.file("odd" + std::to_string(shape.size()) + ".nii.gz");
    const std::vector<float> values = ramp(n, 0, 1);  // value == linear index
    write_nifti(path, shape, values, {1, 1, 1}, identity_affine(), as("int32"));
    const NiftiImage im = read_nifti(path);
    EXPECT_EQ(im.shape, shape);
    EXPECT_EQ(im.data, values);
    const Volume v = to_volume(im);
    EXPECT_EQ(v.dims, (std::array<std::int64_t, 3>{shape[0], shape[1], shape[2]}));
    EXPECT_EQ(v.channels, shape.size() == 4 ? shape[3] : 1);
    // voxel (i, j, k) of channel c sits at ((c * nk + k) * nj + j) * ni + i
    const std::int64_t i = 2, j = 3, k = 1, c = v.channels - 1;
    EXPECT_EQ(v.data[((c * v.dims[2] + k) * v.dims[1] + j) * v.dims[0] + i],
              static_cast<float>(((c * shape[2] + k) * shape[1] + j) * shape[0] + i));
  }
}

TEST(NiftiWrite, WritesIdenticalBytesForIdenticalInput) {
  TempDir dir;
  const std::vector<float> values = ramp(6 * 5 * 4, -100, 3.5f);
  NiftiWriteOptions options;
  options.dtype = "int16";
  options.description = "determinism";
  const Affine affine = scaled_affine(-1.5, 1.5, 3, 5, 6, 7);
  write_nifti(dir.file("one.nii.gz"), {6, 5, 4}, values, {1.5, 1.5, 3}, affine, options);
  write_nifti(dir.file("two.nii.gz"), {6, 5, 4}, values, {1.5, 1.5, 3}, affine, options);
  const std::string first = file_bytes(dir.file("one.nii.gz"));
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, file_bytes(dir.file("two.nii.gz")));
  // Overwriting in place gives the same bytes as well.
  write_nifti(dir.file("one.nii.gz"), {6, 5, 4}, values, {1.5, 1.5, 3}, affine, options);
  EXPECT_EQ(first, file_bytes(dir.file("one.nii.gz")));
}

TEST(NiftiWrite, WritesTheSameBytesAsNiftiImageWrite) {
  TempDir dir;
  NiftiWriteOptions options = as("int16");
  options.scl_slope = 2;
  options.scl_inter = -7;
  options.description = "same bytes";
  const Affine affine = scaled_affine(-1.5, 1.5, 3, 5, 6, 7);
  for (const std::string ext : {".nii", ".nii.gz"}) {
    const std::string ours = dir.file("ours" + ext), theirs = dir.file("theirs" + ext);
    write_nifti(ours, {4, 3, 2}, ramp(24, -7, 2), {1.5, 1.5, 3}, affine, options);
    nifti_image* nim = nifti_image_read(ours.c_str(), 1);
    ASSERT_NE(nim, nullptr);
    ASSERT_EQ(nifti_set_filenames(nim, theirs.c_str(), 0, 0), 0);
    nifti_image_write(nim);
    nifti_image_free(nim);
    EXPECT_EQ(file_bytes(ours), file_bytes(theirs)) << ext;
  }
}

TEST(NiftiWrite, StoresATruncatedDescriptionAndLeavesNoTemporaryFiles) {
  TempDir dir;
  const std::string path = dir.file("described.nii.gz");
  NiftiWriteOptions options;
  options.description = std::string(100, 'x');
  write_nifti(path, {2, 2, 2}, ramp(8, 0, 1), {1, 1, 1}, identity_affine(), options);
  RawHeader raw(path);
  ASSERT_NE(raw.nim, nullptr);
  EXPECT_EQ(std::string(raw.nim->descrip), std::string(79, 'x'));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"described.nii.gz"}));
}

TEST(NiftiWrite, RejectsDataThatDoesNotFillTheShapeNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("short.nii");
  try {
    write_nifti(path, {2, 2, 2}, ramp(7, 0, 1), {1, 1, 1}, identity_affine());
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_THROW(write_nifti(dir.file("x.img"), {1}, {0.f}, {1, 1, 1}, identity_affine()), Error);
  EXPECT_THROW(
      write_nifti(dir.file("x.nii"), {1}, {0.f}, {1, 1, 1}, identity_affine(), as("rgb24")), Error);
}

// ---- Errors ----

void expect_read_error_naming(const std::string& path) {
  try {
    read_nifti(path);
    FAIL() << "expected orch::Error for " << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + path + "'"), std::string::npos) << e.what();
  }
}

TEST(NiftiReadErrors, MissingFileRaisesErrorNamingThePath) {
  TempDir dir;
  expect_read_error_naming(dir.file("absent.nii.gz"));
}

TEST(NiftiReadErrors, TruncatedDataRaisesErrorNamingThePath) {
  TempDir dir;
  const std::string whole = file_bytes(testdata("anatomical_bigendian.nii"));
  const std::string path = dir.file("truncated.nii");
  write_bytes(path, whole.substr(0, 1000));  // a valid header, most of the data missing
  expect_read_error_naming(path);
}

TEST(NiftiReadErrors, TruncatedGzipRaisesErrorNamingThePath) {
  TempDir dir;
  const std::string whole = file_bytes(testdata("example4d.nii.gz"));
  const std::string path = dir.file("truncated.nii.gz");
  write_bytes(path, whole.substr(0, whole.size() / 2));
  expect_read_error_naming(path);
}

TEST(NiftiReadErrors, GarbageHeaderRaisesErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("garbage.nii");
  write_bytes(path, std::string(2000, '\x5a'));
  expect_read_error_naming(path);
}

TEST(NiftiReadErrors, UnsupportedDatatypeRaisesErrorNamingFileAndCode) {
  TempDir dir;
  const std::string path = dir.file("rgb.nii");
  const int64_t dims[8] = {3, 2, 2, 2, 1, 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, DT_RGB24, 1);
  ASSERT_NE(nim, nullptr);
  ASSERT_EQ(nifti_set_filenames(nim, path.c_str(), 0, 0), 0);
  nifti_image_write(nim);
  nifti_image_free(nim);
  try {
    read_nifti(path);
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(std::to_string(DT_RGB24)), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace orch
