// DICOM series reading and writing. Expected values come from outside orch: the DICOM tags as
// gdcmdump prints them, pixel values and sums as pydicom 2.3.1 decodes them (numbers quoted in
// comments), and hand computations from the DICOM and NIfTI definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include "common/status.h"
#include "datastore/formats/dicom.h"

namespace orch {
namespace {
namespace fs = std::filesystem;

const std::string kData = std::string(ORCH_TESTDATA_DIR) + "/dicom/";

// A fresh, empty folder for one test.
std::string scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("orch_dicom_test_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

double sum(const std::vector<float>& v, size_t from, size_t count) {
  return std::accumulate(v.begin() + from, v.begin() + from + count, 0.0);
}

void expect_affine(const Affine& got, const Affine& want, double tol = 1e-5) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_NEAR(got[r][c], want[r][c], tol) << "row " << r << " col " << c;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no orch::Error)";
}

TEST(DicomSeries, SortsByPositionAlongTheNormalNotByNameOrInstanceNumber) {
  const DicomSeries s = read_dicom_series(kData + "ct5n_series");
  ASSERT_EQ(s.slices.size(), 5u);
  // As gdcmdump shows: InstanceNumber 6..10 while z falls 8.7625 .. -1.2375; the normal is +z.
  const double z[] = {-1.2375, 1.2625, 3.7625, 6.2625, 8.7625};
  const int instance[] = {10, 9, 8, 7, 6};
  const char* file[] = {"3353", "3023", "2693", "2392", "2062"};
  for (int k = 0; k < 5; ++k) {
    EXPECT_NEAR(s.slices[k].normal_position, z[k], 1e-5);
    EXPECT_EQ(s.slices[k].instance_number, instance[k]);
    EXPECT_EQ(fs::path(s.slices[k].file).filename(), file[k]);
  }
  EXPECT_TRUE(s.uniform);
  EXPECT_EQ(s.duplicates_dropped, 0);
  EXPECT_EQ(s.modality, "CT");
  EXPECT_EQ(s.transfer_syntax, "1.2.840.10008.1.2.1");
  EXPECT_EQ(s.series_uid, "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.6");
  EXPECT_EQ(s.study_uid, "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.1");
  EXPECT_EQ(s.slices[0].sop_instance_uid, "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.16");
}

TEST(DicomSeries, TakesSliceSpacingFromPositionsAndBuildsTheRasAffine) {
  const DicomSeries s = read_dicom_series(kData + "ct5n_series");
  EXPECT_EQ(s.volume.dims, (std::array<std::int64_t, 3>{16, 16, 5}));
  EXPECT_NEAR(s.volume.spacing[0], 0.488281, 1e-9);
  EXPECT_NEAR(s.volume.spacing[1], 0.488281, 1e-9);
  EXPECT_NEAR(s.volume.spacing[2], 2.5, 1e-6);
  // IOP (1,0,0)/(0,1,0), IPP of the lowest slice (-72.199997, -143, -1.2375), LPS -> RAS.
  expect_affine(s.volume.affine, {{{-0.488281, 0, 0, 72.199997},
                                   {0, -0.488281, 0, 143.0},
                                   {0, 0, 2.5, -1.2375},
                                   {0, 0, 0, 1}}});
}

TEST(DicomSeries, RescalesStoredValuesToHounsfieldUnits) {
  const DicomSeries s = read_dicom_series(kData + "ct5n_series");
  const auto& d = s.volume.data;
  // pydicom, file 3353 (k = 0): a[0,0]=991 a[0,1]=999 a[1,0]=1003 a[15,15]=929, sum 244550.
  EXPECT_FLOAT_EQ(d[0], 991 - 1024);
  EXPECT_FLOAT_EQ(d[1], 999 - 1024);    // i = 1: next column
  EXPECT_FLOAT_EQ(d[16], 1003 - 1024);  // j = 1: next row
  EXPECT_FLOAT_EQ(d[255], 929 - 1024);
  EXPECT_DOUBLE_EQ(sum(d, 0, 256), 244550.0 - 256 * 1024);
  // pydicom, file 2062 (k = 4): sum 171447.
  EXPECT_DOUBLE_EQ(sum(d, 4 * 256, 256), 171447.0 - 256 * 1024);
}

TEST(DicomSeries, DetectsAndReportsAGapInSliceSpacing) {
  const DicomSeries s = read_dicom_series(kData + "ct2_gap_series");
  EXPECT_FALSE(s.uniform);
  ASSERT_EQ(s.steps.size(), 3u);  // z -99.48, 103.02, 104.27, 105.52
  EXPECT_NEAR(s.steps[0], 202.5, 1e-4);
  EXPECT_NEAR(s.steps[1], 1.25, 1e-4);
  EXPECT_NEAR(s.median_step, 1.25, 1e-4);
  EXPECT_EQ(s.volume.dims[2], 4);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("202.5"), std::string::npos) << s.warnings[0];
  EXPECT_NE(s.warnings[0].find("17106"), std::string::npos) << s.warnings[0];
}

TEST(DicomSeries, RefusePolicyThrowsOnUnevenSpacing) {
  DicomSeriesOptions o;
  o.non_uniform = NonUniformPolicy::kRefuse;
  const std::string msg = error_of([&] { read_dicom_series(kData + "ct2_gap_series", o); });
  EXPECT_NE(msg.find("non-uniform"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ct2_gap_series"), std::string::npos) << msg;
}

TEST(DicomSeries, ResamplePolicyInterpolatesOntoAnEvenGrid) {
  DicomSeriesOptions o;
  o.non_uniform = NonUniformPolicy::kResample;
  const DicomSeries s = read_dicom_series(kData + "ct2_gap_series", o);
  EXPECT_TRUE(s.resampled);
  // (105.52 - -99.48) / 1.25 = 164 steps -> 165 slices.
  ASSERT_EQ(s.volume.dims[2], 165);
  EXPECT_NEAR(s.volume.spacing[2], 1.25, 1e-5);
  EXPECT_NEAR(s.volume.affine[2][2], 1.25, 1e-5);
  EXPECT_NEAR(s.volume.affine[2][3], -99.48, 1e-5);
  const auto& d = s.volume.data;
  const size_t plane = 256;
  // pydicom a[0,0]: 17106 -> 1100, 17136 -> 1929, 17196 -> 1646 (stored; HU = -1024).
  EXPECT_NEAR(d[0], 1100 - 1024, 1e-3);
  EXPECT_NEAR(d[164 * plane], 1646 - 1024, 1e-3);
  EXPECT_NEAR(d[162 * plane], 1929 - 1024, 1e-2);  // z = -99.48 + 162 * 1.25 = 103.02
  // z = 1.77 lies halfway across the 202.5 mm gap: the mean of its two neighbours.
  EXPECT_NEAR(d[81 * plane], 0.5 * ((1100 - 1024) + (1929 - 1024)), 1e-2);
}

TEST(DicomSeries, RefusesANonStackableSeriesNamingTheFolder) {
  const std::string msg = error_of([] { read_dicom_series(kData + "ct2n_nonstackable"); });
  EXPECT_NE(msg.find("not stackable"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ct2n_nonstackable"), std::string::npos) << msg;
}

TEST(DicomSeries, SagittalSliceUsesRowSpacingAlongJAndTheCrossProductNormal) {
  // One file of the non-stackable pair on its own: IOP row (0,-1,0), column (0,0,-1), so the
  // normal is (1,0,0); PixelSpacing 0.545455 (rows, along j) \ 0.596847 (columns, along i);
  // IPP (0,265,50); a single slice takes SliceThickness 650.181824 as its k spacing.
  const std::string dir = scratch("sagittal");
  fs::copy_file(kData + "ct2n_nonstackable/6293", dir + "/6293");
  const DicomSeries s = read_dicom_series(dir);
  EXPECT_NEAR(s.volume.spacing[0], 0.596847, 1e-9);
  EXPECT_NEAR(s.volume.spacing[1], 0.545455, 1e-9);
  expect_affine(
      s.volume.affine,
      {{{0, 0, -650.181824, 0}, {0.596847, 0, 0, -265}, {0, -0.545455, 0, 50}, {0, 0, 0, 1}}});
  EXPECT_DOUBLE_EQ(sum(s.volume.data, 0, 256), 330365.0 - 256 * 1024);  // pydicom sum 330365
}

TEST(DicomSeries, ListsSeriesAndAsksForAChoiceWhenAFolderHoldsSeveral) {
  const auto uids = dicom_series_uids(kData + "single");
  EXPECT_EQ(uids, (std::vector<std::string>{"1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322",
                                            "1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457"}));
  const std::string msg = error_of([] { read_dicom_series(kData + "single"); });
  EXPECT_NE(msg.find("2 series"), std::string::npos) << msg;
  DicomSeriesOptions o;
  o.series_uid = "1.2.3.4";
  EXPECT_THROW(read_dicom_series(kData + "single", o), Error);
  EXPECT_THROW(read_dicom_series(scratch("empty")), Error);
}

TEST(DicomSeries, ReadsAChosenSingleSliceSeries) {
  DicomSeriesOptions o;
  o.series_uid = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322";  // CT_small.dcm
  const DicomSeries s = read_dicom_series(kData + "single", o);
  EXPECT_EQ(s.volume.dims, (std::array<std::int64_t, 3>{128, 128, 1}));
  // IPP (-158.135803, -179.035797, -75.699997), PixelSpacing 0.661468, SliceThickness 5.
  expect_affine(s.volume.affine, {{{-0.661468, 0, 0, 158.135803},
                                   {0, -0.661468, 0, 179.035797},
                                   {0, 0, 5, -75.699997},
                                   {0, 0, 0, 1}}});
}

TEST(DicomImage, DecodesCtSmallWithItsRescaleIntercept) {
  const DicomImage img = read_dicom_image(kData + "single/CT_small.dcm");
  EXPECT_EQ(img.columns, 128);
  EXPECT_EQ(img.rows, 128);
  EXPECT_EQ(img.frames, 1);
  EXPECT_EQ(img.photometric, "MONOCHROME2");
  EXPECT_EQ(img.bits_stored, 16);
  EXPECT_EQ(img.pixel_representation, 1);
  EXPECT_DOUBLE_EQ(img.intercept, -1024);
  EXPECT_DOUBLE_EQ(img.slope, 1);
  // pydicom: a[0,0]=175, a[127,127]=909, a[3,100]=1184, sum 14826310.
  EXPECT_FLOAT_EQ(img.values[0], 175 - 1024);
  EXPECT_FLOAT_EQ(img.values[127 * 128 + 127], 909 - 1024);
  EXPECT_FLOAT_EQ(img.values[3 * 128 + 100], 1184 - 1024);
  EXPECT_DOUBLE_EQ(sum(img.values, 0, img.values.size()), 14826310.0 - 128 * 128 * 1024);
}

// no_meta.dcm as shipped (pydicom's test file) starts with one stray byte, the space that pads
// CT_small's ImplementationVersionName; neither GDCM nor pydicom can parse it. Without that byte
// it is a genuine preamble-less, meta-less file, which must decode like CT_small.
TEST(DicomImage, FileWithoutPreambleOrMetaReadsLikeTheOriginal) {
  const std::string shipped = kData + "single/no_meta.dcm";
  EXPECT_NE(error_of([&] { read_dicom_image(shipped); }).find("no_meta.dcm"), std::string::npos);
  const std::string fixed = scratch("no_meta") + "/no_meta.dcm";
  spit(fixed, slurp(shipped).substr(1));
  const DicomImage a = read_dicom_image(kData + "single/CT_small.dcm");
  const DicomImage b = read_dicom_image(fixed);
  EXPECT_EQ(b.columns, 128);
  EXPECT_DOUBLE_EQ(b.intercept, -1024);
  EXPECT_EQ(a.values, b.values);
}

TEST(DicomImage, EveryTransferSyntaxDecodesToTheSamePixels) {
  const DicomImage ref = read_dicom_image(kData + "single/MR_small.dcm");
  ASSERT_EQ(ref.values.size(), 64u * 64u);
  // pydicom: a[0,0]=905, a[0,1]=1019, a[1,0]=628, sum 2125338; MR has no rescale tags.
  EXPECT_FLOAT_EQ(ref.values[0], 905);
  EXPECT_FLOAT_EQ(ref.values[1], 1019);
  EXPECT_FLOAT_EQ(ref.values[64], 628);
  EXPECT_DOUBLE_EQ(sum(ref.values, 0, ref.values.size()), 2125338.0);
  const std::pair<const char*, const char*> variants[] = {
      {"MR_small_implicit.dcm", "1.2.840.10008.1.2"},
      {"MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"},
      {"MR_small_RLE.dcm", "1.2.840.10008.1.2.5"},
      {"MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"},
      {"MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"},
  };
  for (const auto& [file, syntax] : variants) {
    const DicomImage img = read_dicom_image(kData + "single/" + file);
    EXPECT_EQ(img.transfer_syntax, syntax) << file;
    EXPECT_EQ(img.values, ref.values) << file;
  }
}

TEST(DicomInspect, ReportsGeometryAndValuesOfASeries) {
  const nlohmann::json j = inspect_dicom(kData + "ct5n_series");
  EXPECT_EQ(j["shape"], (nlohmann::json{16, 16, 5}));
  EXPECT_NEAR(j["spacing"][2].get<double>(), 2.5, 1e-6);
  EXPECT_NEAR(j["positions"][0].get<double>(), -1.2375, 1e-6);
  EXPECT_NEAR(j["positions"][4].get<double>(), 8.7625, 1e-6);
  EXPECT_EQ(j["instance_numbers"], (nlohmann::json{10, 9, 8, 7, 6}));
  EXPECT_TRUE(j["uniform"].get<bool>());
  EXPECT_TRUE(j["gaps"].empty());
  // pydicom over the five slices, HU: min -888, max 85, mean -138.53125.
  EXPECT_DOUBLE_EQ(j["min"].get<double>(), -888);
  EXPECT_DOUBLE_EQ(j["max"].get<double>(), 85);
  EXPECT_NEAR(j["mean"].get<double>(), -138.53125, 1e-9);
}

TEST(DicomInspect, ReportsTheGap) {
  const nlohmann::json j = inspect_dicom(kData + "ct2_gap_series");
  EXPECT_FALSE(j["uniform"].get<bool>());
  ASSERT_EQ(j["gaps"].size(), 1u);
  EXPECT_EQ(j["gaps"][0]["after_slice"], 0);
  EXPECT_NEAR(j["gaps"][0]["step"].get<double>(), 202.5, 1e-4);
  EXPECT_NEAR(j["gaps"][0]["from"].get<double>(), -99.48, 1e-5);
  EXPECT_NEAR(j["gaps"][0]["to"].get<double>(), 103.02, 1e-5);
  EXPECT_EQ(j["warnings"].size(), 1u);
}

// A (5, 3, 4) volume with values that are not whole numbers, and the given RAS affine.
Volume synthetic_volume(const Affine& affine) {
  Volume v;
  v.dims = {5, 3, 4};
  v.affine = affine;
  for (std::int64_t k = 0; k < 4; ++k)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t i = 0; i < 5; ++i)
        v.data.push_back(static_cast<float>((i * 37 + j * 101 + k * 13) % 2000 - 1024) + 0.3f);
  return v;
}

TEST(DicomWrite, RoundTripsValuesAffineAndOrder) {
  // Axial, LPS spacing 0.7 x 0.9 x 2.5: RAS diag(-0.7, -0.9, 2.5) with an offset origin.
  const Affine affine{{{-0.7, 0, 0, 10}, {0, -0.9, 0, -20}, {0, 0, 2.5, 30}, {0, 0, 0, 1}}};
  const Volume v = synthetic_volume(affine);
  const std::string dir = scratch("roundtrip");
  DicomWriteOptions o;
  o.uid_root = "1.2.826.0.1.3680043.10.1149.7";
  const auto sops = write_dicom_series(dir, v, o);
  spit(dir + "/scan.xml", "<LidcReadMessage/>\n");  // LIDC keeps its XML beside the slices
  ASSERT_EQ(sops.size(), 4u);
  EXPECT_EQ(sops[0], "1.2.826.0.1.3680043.10.1149.7.2.1");
  EXPECT_TRUE(fs::exists(dir + "/0001.dcm"));
  EXPECT_TRUE(fs::exists(dir + "/0004.dcm"));
  const DicomSeries s = read_dicom_series(dir);
  EXPECT_EQ(s.series_uid, "1.2.826.0.1.3680043.10.1149.7.2");
  EXPECT_EQ(s.study_uid, "1.2.826.0.1.3680043.10.1149.7.1");
  EXPECT_EQ(s.modality, "CT");
  EXPECT_EQ(s.transfer_syntax, "1.2.840.10008.1.2.1");  // explicit VR little endian
  EXPECT_EQ(s.volume.dims, v.dims);
  expect_affine(s.volume.affine, affine, 1e-9);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(s.slices[k].instance_number, k + 1);
    EXPECT_EQ(s.slices[k].sop_instance_uid, sops[k]);
    EXPECT_NEAR(s.slices[k].normal_position, 30 + 2.5 * k, 1e-9);
  }
  ASSERT_EQ(s.volume.data.size(), v.data.size());
  for (size_t n = 0; n < v.data.size(); ++n)  // int16 stored values: x.3 rounds down to x
    EXPECT_FLOAT_EQ(s.volume.data[n], std::floor(v.data[n])) << n;
  const DicomImage img = read_dicom_image(dir + "/0002.dcm");
  EXPECT_DOUBLE_EQ(img.intercept, -1024);
  EXPECT_EQ(img.bits_stored, 16);
  EXPECT_EQ(img.pixel_representation, 1);
}

TEST(DicomWrite, RoundTripsACoronalStackWithReversedInstanceNumbers) {
  // LPS row (1,0,0), column (0,0,-1): normal (0,1,0), so k runs along LPS +y (RAS -y).
  const Affine affine{{{-0.8, 0, 0, 5}, {0, 0, -3, 40}, {0, -0.6, 0, 12}, {0, 0, 0, 1}}};
  const Volume v = synthetic_volume(affine);
  const std::string dir = scratch("coronal");
  DicomWriteOptions o;
  o.reverse_instance_numbers = true;
  write_dicom_series(dir, v, o);
  const DicomSeries s = read_dicom_series(dir);
  expect_affine(s.volume.affine, affine, 1e-9);
  EXPECT_NEAR(s.volume.spacing[0], 0.8, 1e-12);
  EXPECT_NEAR(s.volume.spacing[1], 0.6, 1e-12);
  EXPECT_NEAR(s.volume.spacing[2], 3, 1e-12);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(s.slices[k].instance_number, 4 - k);
  EXPECT_FLOAT_EQ(s.volume.data[3 * 15 + 7], std::floor(v.data[3 * 15 + 7]));
}

TEST(DicomWrite, SameInputGivesTheSameBytes) {
  const Volume v = synthetic_volume(identity_affine());
  const std::string a = scratch("bytes_a"), b = scratch("bytes_b");
  write_dicom_series(a, v);
  write_dicom_series(b, v);
  for (const char* f : {"/0001.dcm", "/0004.dcm"}) {
    const std::string bytes = slurp(a + f);
    EXPECT_GT(bytes.size(), 5u * 3u * 2u);
    EXPECT_EQ(bytes.substr(128, 4), "DICM");
    EXPECT_EQ(bytes, slurp(b + f)) << f;
  }
}

TEST(DicomWrite, RefusesAShearedAffine) {
  Affine sheared = identity_affine();
  sheared[0][2] = 0.5;  // k leans along x: not along the slice normal
  const std::string msg =
      error_of([&] { write_dicom_series(scratch("sheared"), synthetic_volume(sheared)); });
  EXPECT_NE(msg.find("sheared"), std::string::npos) << msg;
}

// Constant-valued two-slice volume on an axial 1 mm grid.
Volume two_slices(float first, float second) {
  Volume v;
  v.dims = {2, 2, 2};
  v.affine = identity_affine();
  v.data = {first, first, first, first, second, second, second, second};
  return v;
}

TEST(DicomSeries, KeepsTheLowerInstanceNumberWhenTwoSlicesShareAPosition) {
  // Two writes of the same series and geometry: "a" numbers k = 0, 1 as 2, 1 and "b" as 1, 2,
  // so b wins at k = 0 and a wins at k = 1. (Their SOPInstanceUIDs coincide; orch ignores that.)
  const std::string dir = scratch("duplicates");
  DicomWriteOptions o;
  o.prefix = "a";
  o.reverse_instance_numbers = true;
  write_dicom_series(dir, two_slices(100, 200), o);
  o.prefix = "b";
  o.reverse_instance_numbers = false;
  write_dicom_series(dir, two_slices(300, 400), o);
  const DicomSeries s = read_dicom_series(dir);
  EXPECT_EQ(s.duplicates_dropped, 2);
  EXPECT_EQ(s.warnings.size(), 2u);
  ASSERT_EQ(s.slices.size(), 2u);
  EXPECT_EQ(fs::path(s.slices[0].file).filename(), "b0001.dcm");
  EXPECT_EQ(fs::path(s.slices[1].file).filename(), "a0002.dcm");
  EXPECT_FLOAT_EQ(s.volume.data[0], 300);
  EXPECT_FLOAT_EQ(s.volume.data[4], 200);
  EXPECT_NEAR(s.volume.spacing[2], 1, 1e-12);
}

// Rewrites the 2-byte value of a US element in an explicit VR little endian file.
void patch_us(std::string& bytes, std::uint16_t element, std::uint16_t old_v, std::uint16_t new_v) {
  const std::string tag{
      '\x28', '\x00', static_cast<char>(element & 0xff), static_cast<char>(element >> 8), 'U', 'S',
      '\x02', '\x00', static_cast<char>(old_v),          static_cast<char>(old_v >> 8)};
  const auto at = bytes.find(tag);
  ASSERT_NE(at, std::string::npos) << "element (0028," << element << ")";
  bytes[at + 8] = static_cast<char>(new_v);
  bytes[at + 9] = static_cast<char>(new_v >> 8);
}

TEST(DicomImage, HonoursBitsStoredHighBitAndPixelRepresentation) {
  // Stored 16-bit words 0x0FFF, 0xF005 (garbage above bit 11), 0x07FF, 0x0800, relabelled as
  // 12 bits stored with high bit 11. Signed 12-bit: -1, 5, 2047, -2048; unsigned: 4095, 5,
  // 2047, 2048. Intercept 0 makes the stored words equal to the volume values.
  Volume v;
  v.dims = {4, 1, 1};
  v.data = {4095, -4091, 2047, 2048};
  const std::string dir = scratch("bits");
  DicomWriteOptions o;
  o.intercept = 0;
  write_dicom_series(dir, v, o);
  std::string bytes = slurp(dir + "/0001.dcm");
  patch_us(bytes, 0x0101, 16, 12);  // BitsStored
  patch_us(bytes, 0x0102, 15, 11);  // HighBit
  spit(dir + "/signed.dcm", bytes);
  patch_us(bytes, 0x0103, 1, 0);  // PixelRepresentation: unsigned
  spit(dir + "/unsigned.dcm", bytes);
  EXPECT_EQ(read_dicom_image(dir + "/signed.dcm").values, (std::vector<float>{-1, 5, 2047, -2048}));
  EXPECT_EQ(read_dicom_image(dir + "/unsigned.dcm").values,
            (std::vector<float>{4095, 5, 2047, 2048}));
}

}  // namespace
}  // namespace orch
