// The mra kind: the TopCoW layout written by the phantom and read back through the registry,
// binarisation of the Circle-of-Willis segments, vessel statistics, geometry and determinism.
#include "datastore/datasets/mra/mra.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/formats/nifti.h"
#include "tests/support/phantom_support.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

fs::path temp_root(const std::string& tag) {
  return fs::temp_directory_path() / ("orch_mra_test_" + std::to_string(::getpid()) + "_" + tag);
}

using testing::phantom_options;
using testing::tree_bytes;

constexpr std::array<int, 3> kSize = {64, 64, 24};  // phantom volumes (one test asks for more)

DatasetConfig config(const fs::path& root) {
  DatasetConfig c;
  c.name = "tof";
  c.kind = "mra";
  c.root = root.string();
  return c;
}

// Size of the largest 26-connected component of the nonzero voxels.
std::int64_t largest_component(const std::vector<std::uint8_t>& mask,
                               const std::array<std::int64_t, 3>& d) {
  std::vector<char> seen(mask.size(), 0);
  std::int64_t best = 0;
  std::vector<std::int64_t> stack;
  for (std::int64_t start = 0; start < std::int64_t(mask.size()); ++start) {
    if (!mask[start] || seen[start]) continue;
    std::int64_t size = 0;
    stack.assign(1, start);
    seen[start] = 1;
    while (!stack.empty()) {
      const std::int64_t n = stack.back();
      stack.pop_back();
      ++size;
      const std::int64_t i = n % d[0], j = (n / d[0]) % d[1], k = n / (d[0] * d[1]);
      for (int dk = -1; dk <= 1; ++dk)
        for (int dj = -1; dj <= 1; ++dj)
          for (int di = -1; di <= 1; ++di) {
            const std::int64_t a = i + di, b = j + dj, c = k + dk;
            if (a < 0 || b < 0 || c < 0 || a >= d[0] || b >= d[1] || c >= d[2]) continue;
            const std::int64_t m = (c * d[1] + b) * d[0] + a;
            if (mask[m] && !seen[m]) seen[m] = 1, stack.push_back(m);
          }
    }
    best = std::max(best, size);
  }
  return best;
}

class MraTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(temp_root("shared"));
    fs::remove_all(*root_);
    ASSERT_EQ(dataset_kind("mra").write_phantom(*root_, phantom_options(4, 3, kSize)), 3);
    adapter_ = dataset_kind("mra").open(config(*root_)).release();
  }
  static void TearDownTestSuite() {
    delete adapter_;
    fs::remove_all(*root_);
    delete root_;
  }
  static fs::path* root_;
  static DatasetAdapter* adapter_;
};
fs::path* MraTest::root_ = nullptr;
DatasetAdapter* MraTest::adapter_ = nullptr;

TEST_F(MraTest, WritesTheTopcowLayout) {
  const std::vector<CaseRef> refs = adapter_->cases();
  ASSERT_EQ(refs.size(), 3u);
  for (int n = 1; n <= 3; ++n) {
    const std::string id = "topcow_mr_00" + std::to_string(n);
    EXPECT_EQ(refs[n - 1].id, id);
    EXPECT_TRUE(fs::is_regular_file(*root_ / "imagesTr" / (id + "_0000.nii.gz"))) << id;
    EXPECT_TRUE(fs::is_regular_file(*root_ / "cow_seg_labelsTr" / (id + ".nii.gz"))) << id;
  }
}

TEST_F(MraTest, LabelsAreBinarisedSegmentsWithFewVesselVoxels) {
  const std::set<int> segments = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15};  // docs/DATASETS.md
  for (const CaseRef& ref : adapter_->cases()) {
    const Case c = adapter_->load(ref);
    const NiftiImage raw = read_nifti(ref.files[1]);
    ASSERT_EQ(raw.data.size(), c.label.size());
    std::set<int> values;
    std::int64_t vessel = 0;
    for (std::size_t n = 0; n < c.label.size(); ++n) {
      const int v = int(raw.data[n]);
      if (v) values.insert(v);
      ASSERT_EQ(c.label[n], v > 0 ? 1 : 0) << ref.id << " voxel " << n;
      vessel += c.label[n];
    }
    EXPECT_GE(values.size(), 6u) << ref.id << ": several Circle-of-Willis segments";
    for (int v : values) EXPECT_TRUE(segments.count(v)) << ref.id << " holds segment " << v;
    const double fraction = double(vessel) / double(c.label.size());
    EXPECT_GT(fraction, 0.002) << ref.id;
    EXPECT_LT(fraction, 0.01) << ref.id;
    EXPECT_GE(largest_component(c.label, c.image.dims), vessel * 9 / 10)
        << ref.id << ": one connected tree";
  }
}

TEST_F(MraTest, VesselsAreBrightOnDarkerTissueAndDarkBackground) {
  for (const CaseRef& ref : adapter_->cases()) {
    const Case c = adapter_->load(ref);
    const auto [ni, nj, nk] = c.image.dims;
    double vessel = 0, nv = 0, centre = 0, nc = 0, corner = 0, nb = 0;
    for (std::int64_t k = 0; k < nk; ++k)
      for (std::int64_t j = 0; j < nj; ++j)
        for (std::int64_t i = 0; i < ni; ++i) {
          const std::int64_t n = (k * nj + j) * ni + i;
          const double x = c.image.data[n];
          if (c.label[n]) vessel += x, ++nv;
          const bool central = std::abs(i - ni / 2) < ni / 6 && std::abs(j - nj / 2) < nj / 6;
          if (central && !c.label[n]) centre += x, ++nc;
          if (i < 3 && j < 3) corner += x, ++nb;
        }
    vessel /= nv, centre /= nc, corner /= nb;
    EXPECT_GT(vessel, 2.0 * centre) << ref.id;
    EXPECT_GT(centre, 4.0 * corner) << ref.id;
    EXPECT_GT(corner, 0.0) << ref.id << ": Rician noise floor";
  }
}

TEST_F(MraTest, GeometryRoundTripsAsRasFromLps) {
  const CaseRef ref = adapter_->cases()[1];
  const NiftiImage img = read_nifti(ref.files[0]);
  const NiftiImage lab = read_nifti(ref.files[1]);
  EXPECT_EQ(img.dtype, "int16");
  EXPECT_EQ(img.shape, (std::vector<std::int64_t>{64, 64, 24}));
  EXPECT_EQ(img.affine, lab.affine);
  // An LPS image with identity direction, stored as RAS: x and y axes flipped.
  EXPECT_LT(img.affine[0][0], 0);
  EXPECT_LT(img.affine[1][1], 0);
  EXPECT_GT(img.affine[2][2], 0);
  EXPECT_DOUBLE_EQ(-img.affine[0][0], img.spacing[0]);
  EXPECT_DOUBLE_EQ(img.affine[2][2], img.spacing[2]);
  const double fov = img.spacing[0] * 64, slab = img.spacing[2] * 24;
  EXPECT_GE(fov, 170);
  EXPECT_LE(fov, 240);
  EXPECT_GE(slab, 55);
  EXPECT_LE(slab, 105);
  const MraPhantomCase m = make_mra_case(phantom_options(4, 3, kSize), 2);
  EXPECT_EQ(img.data, m.image.data);
}

TEST_F(MraTest, RandomSplitNeitherLosesNorDuplicatesCases) {
  SplitOptions o;
  const Split s = adapter_->split(adapter_->cases(), o);
  std::vector<std::string> all = s.train;
  all.insert(all.end(), s.val.begin(), s.val.end());
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"topcow_mr_001", "topcow_mr_002", "topcow_mr_003"}));
  o.scheme = "synapse";
  EXPECT_THROW(adapter_->split(adapter_->cases(), o), Error);
  EXPECT_EQ(check_dataset_options("mra", {{"binarise", false}}, "random").key(), "binarise");
}

TEST(MraIdTest, ParsesTopcowNamesOfAnyWidth) {
  EXPECT_EQ(topcow_case_id("topcow_mr_001_0000.nii.gz"), "topcow_mr_001");
  EXPECT_EQ(topcow_case_id("topcow_mr_1234_0000.nii"), "topcow_mr_1234");
  EXPECT_EQ(topcow_case_id("topcow_ct_001_0000.nii.gz"), "");
  EXPECT_EQ(topcow_case_id("topcow_mr_001.nii.gz"), "");
}

TEST(MraPhantomTest, VesselFractionStaysUnderOnePercentAtALargerSize) {
  const MraPhantomCase c = make_mra_case(phantom_options(8, 1, {128, 112, 48}), 1);
  std::int64_t vessel = 0;
  for (auto v : c.label) vessel += v > 0;
  const double fraction = double(vessel) / double(c.label.size());
  EXPECT_GT(fraction, 0.002);
  EXPECT_LT(fraction, 0.01);
}

TEST(MraPhantomTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const fs::path a = temp_root("a"), b = temp_root("b"), c = temp_root("c");
  for (const auto& p : {a, b, c}) fs::remove_all(p);
  write_mra_phantom(a, phantom_options(9, 2, kSize));
  write_mra_phantom(b, phantom_options(9, 2, kSize));
  write_mra_phantom(c, phantom_options(10, 2, kSize));
  const auto ta = tree_bytes(a), tb = tree_bytes(b), tc = tree_bytes(c);
  EXPECT_EQ(ta.size(), 4u);
  EXPECT_TRUE(ta == tb);
  ASSERT_EQ(ta.size(), tc.size());
  for (const auto& [name, bytes] : ta) EXPECT_NE(bytes, tc.at(name)) << name;
  // Companion files and CT images are skipped; an image without its label names the label.
  write_file_atomic(a / "imagesTr/._topcow_mr_001_0000.nii.gz", "junk");
  write_file_atomic(a / "imagesTr/topcow_ct_001_0000.nii.gz", "junk");
  EXPECT_EQ(MraDataset(a).cases().size(), 2u);
  fs::remove(a / "cow_seg_labelsTr/topcow_mr_002.nii.gz");
  try {
    MraDataset(a).cases();
    ADD_FAILURE() << "a missing label went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("topcow_mr_002.nii.gz"), std::string::npos) << e.what();
  }
  for (const auto& p : {a, b, c}) fs::remove_all(p);
}

}  // namespace
}  // namespace orch
