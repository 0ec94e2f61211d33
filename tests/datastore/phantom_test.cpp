#include "datastore/datasets/hepatic_vessel/hepatic_vessel.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/formats/nifti.h"
#include "tests/support/phantom_support.h"
#include "tests/support/temp_dir.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

using testing::phantom_options;
using testing::TempDir;
using testing::tree_bytes;

constexpr std::array<int, 3> kSize = {64, 64, 16};  // phantom volumes

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }

// Per-case intensity statistics. "Liverish" voxels are unlabelled voxels whose 3x3 in-plane mean
// lies in [70, 140] HU: liver parenchyma, which no other tissue of the phantom resembles.
struct CaseStats {
  std::int64_t counts[3] = {0, 0, 0};
  double mean[3] = {0, 0, 0};
  std::int64_t liverish = 0;
  double liver_mean = 0;
  double air_mean = 0;
  std::vector<bool> liverish_mask;
};

double mean3x3(const HepaticPhantomCase& c, std::int64_t n) {
  const std::int64_t ni = c.image.dims[0];
  double m = 0;
  for (int dj = -1; dj <= 1; ++dj)
    for (int di = -1; di <= 1; ++di) m += c.image.data[n + dj * ni + di];
  return m / 9.0;
}

CaseStats case_stats(const HepaticPhantomCase& c) {
  const auto [ni, nj, nk] = c.image.dims;
  CaseStats s;
  s.liverish_mask.assign(c.label.size(), false);
  double air = 0;
  for (std::int64_t k = 0; k < nk; ++k)
    for (std::int64_t j = 1; j + 1 < nj; ++j)
      for (std::int64_t i = 1; i + 1 < ni; ++i) {
        const std::int64_t n = (k * nj + j) * ni + i;
        const int l = c.label[n];
        s.counts[l]++;
        s.mean[l] += c.image.data[n];
        if (i < 4 && j < 4) air += c.image.data[n];  // corner: outside the body
        const double m = mean3x3(c, n);
        if (l != 0 || m < 70 || m > 140) continue;
        s.liverish_mask[n] = true;
        s.liverish++;
        s.liver_mean += c.image.data[n];
      }
  for (int l = 0; l < 3; ++l) s.mean[l] /= std::max<std::int64_t>(1, s.counts[l]);
  s.liver_mean /= std::max<std::int64_t>(1, s.liverish);
  s.air_mean = air / double(nk * 3 * 3);
  return s;
}

TEST(PhantomTest, SameSeedGivesIdenticalBytes) {
  TempDir a("same_a"), b("same_b");
  EXPECT_EQ(write_hepatic_vessel_phantom(a.path(), phantom_options(7, 3, kSize)), 3);
  EXPECT_EQ(write_hepatic_vessel_phantom(b.path(), phantom_options(7, 3, kSize)), 3);
  const auto ta = tree_bytes(a.path()), tb = tree_bytes(b.path());
  ASSERT_EQ(ta.size(), 3u * 2 + 1 + 1);  // images + labels, one test image, dataset.json
  ASSERT_EQ(ta.size(), tb.size());
  for (const auto& [name, bytes] : ta) {
    ASSERT_TRUE(tb.count(name)) << name;
    EXPECT_TRUE(bytes == tb.at(name)) << name << " differs";
  }
}

TEST(PhantomTest, DifferentSeedOrIndexGivesDifferentData) {
  const auto a = make_hepatic_vessel_case(phantom_options(1, 3, kSize), 1);
  const auto b = make_hepatic_vessel_case(phantom_options(2, 3, kSize), 1);
  const auto c = make_hepatic_vessel_case(phantom_options(1, 3, kSize), 2);
  const auto a2 = make_hepatic_vessel_case(phantom_options(1, 3, kSize), 1);
  EXPECT_NE(a.image.data, b.image.data);
  EXPECT_NE(a.label, b.label);
  EXPECT_NE(a.image.data, c.image.data);
  EXPECT_EQ(a.image.data, a2.image.data);
  EXPECT_EQ(a.label, a2.label);

  TempDir da("diff_a"), db("diff_b");
  write_hepatic_vessel_phantom(da.path(), phantom_options(1, 2, kSize));
  write_hepatic_vessel_phantom(db.path(), phantom_options(2, 2, kSize));
  EXPECT_NE(tree_bytes(da.path()), tree_bytes(db.path()));
}

TEST(PhantomTest, WritesMsdLayoutAndDatasetJson) {
  TempDir d("layout");
  const PhantomOptions o = phantom_options(11, 10, kSize);
  ASSERT_EQ(write_hepatic_vessel_phantom(d.path(), o), 10);
  for (const char* dir : {"imagesTr", "labelsTr", "imagesTs"})
    EXPECT_TRUE(fs::is_directory(d.path() / dir)) << dir;
  const std::regex name_re(R"(hepaticvessel_\d{3}\.nii\.gz)");
  std::map<std::string, int> per_dir;
  for (const auto& e : fs::recursive_directory_iterator(d.path())) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name == "dataset.json") continue;
    EXPECT_TRUE(std::regex_match(name, name_re)) << name;  // no leftover temporary files
    per_dir[e.path().parent_path().filename().string()]++;
  }
  EXPECT_EQ(per_dir["imagesTr"], 10);
  EXPECT_EQ(per_dir["labelsTr"], 10);
  EXPECT_EQ(per_dir["imagesTs"], 2);  // max(1, cases / 5)

  const nlohmann::json j = read_json(d.path() / "dataset.json");
  for (const char* key :
       {"name", "description", "reference", "licence", "release", "tensorImageSize", "modality",
        "labels", "numTraining", "numTest", "training", "test"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["name"], "HepaticVessel");
  EXPECT_NE(j["description"].get<std::string>().find("orch phantom"), std::string::npos);
  EXPECT_EQ(j["tensorImageSize"], "3D");
  EXPECT_EQ(j["modality"], nlohmann::json({{"0", "CT"}}));
  EXPECT_EQ(j["labels"], nlohmann::json({{"0", "background"}, {"1", "Vessel"}, {"2", "Tumour"}}));
  EXPECT_EQ(j["numTraining"], 10);
  EXPECT_EQ(j["numTest"], 2);
  ASSERT_EQ(j["training"].size(), 10u);
  ASSERT_EQ(j["test"].size(), 2u);

  std::set<std::string> ids;
  for (const auto& t : j["training"]) {
    const std::string image = t["image"], label = t["label"];
    ASSERT_EQ(image.rfind("./imagesTr/", 0), 0u) << image;
    ASSERT_EQ(label.rfind("./labelsTr/", 0), 0u) << label;
    EXPECT_EQ(image.substr(11), label.substr(11));
    EXPECT_TRUE(fs::is_regular_file(d.path() / image.substr(2))) << image;
    EXPECT_TRUE(fs::is_regular_file(d.path() / label.substr(2))) << label;
    ids.insert(image.substr(11));
  }
  for (const auto& t : j["test"]) {
    const std::string image = t.get<std::string>();
    ASSERT_EQ(image.rfind("./imagesTs/", 0), 0u) << image;
    EXPECT_TRUE(fs::is_regular_file(d.path() / image.substr(2))) << image;
    EXPECT_TRUE(ids.insert(image.substr(11)).second) << "id used twice: " << image;
  }
}

TEST(PhantomTest, FilesHoldTheInMemoryCases) {
  TempDir d("files");
  const PhantomOptions o = phantom_options(5, 2, kSize);
  write_hepatic_vessel_phantom(d.path(), o);
  const nlohmann::json j = read_json(d.path() / "dataset.json");
  for (const auto& t : j["training"]) {
    const std::string image = t["image"];
    const int id = std::stoi(image.substr(image.find('_') + 1, 3));
    const HepaticPhantomCase c = make_hepatic_vessel_case(o, id);
    const NiftiImage img = read_nifti((d.path() / image.substr(2)).string());
    const NiftiImage lab = read_nifti((d.path() / std::string(t["label"]).substr(2)).string());
    EXPECT_EQ(img.dtype, "int16");
    EXPECT_EQ(lab.dtype, "uint8");
    EXPECT_EQ(img.shape, (std::vector<std::int64_t>{64, 64, 16}));
    EXPECT_EQ(lab.shape, img.shape);
    EXPECT_EQ(img.data, c.image.data);
    EXPECT_EQ(lab.data, std::vector<float>(c.label.begin(), c.label.end()));
    for (int r = 0; r < 4; ++r)
      for (int col = 0; col < 4; ++col) {
        EXPECT_NEAR(img.affine[r][col], c.image.affine[r][col], 1e-4) << r << "," << col;
        EXPECT_NEAR(lab.affine[r][col], c.image.affine[r][col], 1e-4) << r << "," << col;
      }
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(img.spacing[a], c.image.spacing[a], 1e-5);
  }
}

TEST(PhantomTest, LabelsAreVesselAndTumourInsideTheLiver) {
  PhantomOptions o = phantom_options(3, 3, kSize);
  o.size = {96, 96, 32};
  for (int id = 1; id <= 4; ++id) {
    const HepaticPhantomCase c = make_hepatic_vessel_case(o, id);
    ASSERT_EQ(c.label.size(), std::size_t(96 * 96 * 32));
    std::int64_t counts[256] = {};
    for (std::uint8_t l : c.label) counts[l]++;
    EXPECT_EQ(counts[0] + counts[1] + counts[2], std::int64_t(c.label.size())) << "labels 0/1/2";
    EXPECT_GT(counts[1], 0) << "case " << id;
    EXPECT_GT(counts[2], 0) << "case " << id;

    const CaseStats s = case_stats(c);
    const double region = double(s.liverish + s.counts[1] + s.counts[2]);
    const double vessel_fraction = s.counts[1] / region;
    EXPECT_GT(vessel_fraction, 0.015) << "case " << id;
    EXPECT_LT(vessel_fraction, 0.08) << "case " << id;
    // Every vessel voxel has liver parenchyma near it (9x9 in-plane window).
    const std::int64_t ni = 96, nj = 96;
    std::int64_t lonely = 0;
    for (std::int64_t n = 0; n < std::int64_t(c.label.size()); ++n) {
      if (c.label[n] != 1) continue;
      const std::int64_t i = n % ni, j = (n / ni) % nj, k = n / (ni * nj);
      int near = 0;
      for (std::int64_t jj = std::max<std::int64_t>(0, j - 4); jj <= std::min(nj - 1, j + 4); ++jj)
        for (std::int64_t ii = std::max<std::int64_t>(0, i - 4); ii <= std::min(ni - 1, i + 4);
             ++ii)
          near += s.liverish_mask[(k * nj + jj) * ni + ii];
      lonely += near < 5;
    }
    EXPECT_LE(lonely, s.counts[1] / 50) << "vessel voxels outside the liver, case " << id;
  }
}

TEST(PhantomTest, IntensitiesArePlausibleHu) {
  PhantomOptions o = phantom_options(9, 3, kSize);
  o.size = {96, 96, 32};
  for (int id = 1; id <= 4; ++id) {
    const HepaticPhantomCase c = make_hepatic_vessel_case(o, id);
    for (float v : c.image.data) {
      ASSERT_EQ(v, std::round(v));
      ASSERT_GE(v, -1024.0f);
      ASSERT_LE(v, 3071.0f);
    }
    EXPECT_GT(*std::max_element(c.image.data.begin(), c.image.data.end()), 350.0f) << "bone";
    const CaseStats s = case_stats(c);
    EXPECT_NEAR(s.air_mean, -1000.0, 15.0) << "case " << id;
    EXPECT_GT(s.liver_mean, 80.0) << "case " << id;
    EXPECT_LT(s.liver_mean, 125.0) << "case " << id;
    EXPECT_GT(s.mean[1], s.liver_mean + 50.0) << "vessels brighter, case " << id;
    EXPECT_LT(s.mean[2], s.liver_mean - 20.0) << "tumours hypodense, case " << id;
    EXPECT_GT(s.mean[2], 20.0) << "case " << id;
  }
}

TEST(PhantomTest, SpacingAndAffineLookLikeConvertedCt) {
  std::set<double> slice_spacings;
  for (int id = 1; id <= 12; ++id) {
    const HepaticPhantomCase c = make_hepatic_vessel_case(phantom_options(4, 3, kSize), id);
    const auto& sp = c.image.spacing;
    EXPECT_EQ(c.image.dims, (std::array<std::int64_t, 3>{64, 64, 16}));
    EXPECT_EQ(c.image.channels, 1);
    EXPECT_GE(sp[0], 0.7);
    EXPECT_LE(sp[0], 0.9);
    EXPECT_EQ(sp[0], sp[1]);
    EXPECT_TRUE(sp[2] == 2.5 || sp[2] == 3.0 || sp[2] == 5.0) << sp[2];
    slice_spacings.insert(sp[2]);
    const Affine& a = c.image.affine;
    EXPECT_EQ(a[0][0], -sp[0]);
    EXPECT_EQ(a[1][1], -sp[1]);
    EXPECT_EQ(a[2][2], sp[2]);
    for (int r = 0; r < 3; ++r)
      for (int col = 0; col < 3; ++col)
        if (r != col) {
          EXPECT_EQ(a[r][col], 0.0);
        }
    EXPECT_EQ(a[3], (std::array<double, 4>{0, 0, 0, 1}));
    EXPECT_GT(a[0][3], 0.0);  // i = 0 is the patient's right: positive RAS x
    EXPECT_GT(a[1][3], 0.0);  // j = 0 is anterior: positive RAS y
    EXPECT_LT(std::fabs(a[2][3]), 1000.0);
  }
  EXPECT_GE(slice_spacings.size(), 2u);
}

TEST(PhantomTest, RejectsBadOptions) {
  PhantomOptions o = phantom_options(7, 3, kSize);
  o.size = {8, 64, 16};
  EXPECT_THROW(make_hepatic_vessel_case(o, 1), Error);
  o = phantom_options(7, 3, kSize);
  o.cases = 0;
  TempDir d("bad");
  EXPECT_THROW(write_hepatic_vessel_phantom(d.path(), o), Error);
}

}  // namespace
}  // namespace orch
