// The btcv kind: the BTCV/Synapse layout written by the phantom and read back through the
// registry, the published splits (lists copied from docs/DATASETS.md section 1, not from the code),
// geometry, anatomy and determinism.
#include "datastore/datasets/btcv/btcv.h"

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

// docs/DATASETS.md section 1.
const std::vector<int> kSynapseTest = {1, 2, 3, 4, 8, 22, 25, 29, 32, 35, 36, 38};
const std::vector<int> kSynapseTrain = {5,  6,  7,  9,  10, 21, 23, 24, 26,
                                        27, 28, 30, 31, 33, 34, 37, 39, 40};

std::string id(int n) {
  std::string s = std::to_string(n);
  return "img" + std::string(4 - s.size(), '0') + s;
}

std::set<std::string> ids(const std::vector<int>& numbers) {
  std::set<std::string> out;
  for (int n : numbers) out.insert(id(n));
  return out;
}

std::set<std::string> range_ids(int lo, int hi) {
  std::set<std::string> out;
  for (int n = lo; n <= hi; ++n) out.insert(id(n));
  return out;
}

fs::path temp_root(const std::string& tag) {
  return fs::temp_directory_path() / ("orch_btcv_test_" + std::to_string(::getpid()) + "_" + tag);
}

using testing::phantom_options;
using testing::tree_bytes;

constexpr std::array<int, 3> kSize = {64, 64, 24};  // phantom volumes

DatasetConfig config(const fs::path& root) {
  DatasetConfig c;
  c.name = "abdomen";
  c.kind = "btcv";
  c.root = root.string();
  return c;
}

// One 14-case phantom shared by the tests that only read it.
class BtcvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(temp_root("shared"));
    fs::remove_all(*root_);
    ASSERT_EQ(dataset_kind("btcv").write_phantom(*root_, phantom_options(3, 14, kSize)), 14);
    adapter_ = dataset_kind("btcv").open(config(*root_)).release();
  }
  static void TearDownTestSuite() {
    delete adapter_;
    fs::remove_all(*root_);
    delete root_;
  }
  static std::vector<std::string> case_ids() {
    std::vector<std::string> out;
    for (const auto& c : adapter_->cases()) out.push_back(c.id);
    return out;
  }
  static Split split(const std::string& scheme, double val = 0.1) {
    SplitOptions o;
    o.scheme = scheme;
    o.val = val;
    return adapter_->split(adapter_->cases(), o);
  }
  static fs::path* root_;
  static DatasetAdapter* adapter_;
};
fs::path* BtcvTest::root_ = nullptr;
DatasetAdapter* BtcvTest::adapter_ = nullptr;

TEST_F(BtcvTest, WritesThePublishersLayoutWithRealCaseNumbers) {
  const std::vector<std::string> cases = case_ids();
  ASSERT_EQ(cases.size(), 14u);
  std::set<std::string> real = range_ids(1, 10);
  for (const auto& s : range_ids(21, 40)) real.insert(s);
  for (const auto& c : cases) {
    EXPECT_TRUE(real.count(c)) << c << " is not a labelled BTCV case number";
    const std::string digits = c.substr(3);
    EXPECT_TRUE(fs::is_regular_file(*root_ / "RawData/Training/img" / (c + ".nii.gz"))) << c;
    EXPECT_TRUE(
        fs::is_regular_file(*root_ / "RawData/Training/label" / ("label" + digits + ".nii.gz")))
        << c;
  }
  // Unlabelled test images: present, in the Testing range, never listed as cases.
  int testing = 0;
  for (const auto& e : fs::directory_iterator(*root_ / "RawData/Testing/img")) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(range_ids(61, 80).count(name.substr(0, 7))) << name;
    EXPECT_EQ(std::count(cases.begin(), cases.end(), name.substr(0, 7)), 0) << name;
    ++testing;
  }
  EXPECT_EQ(testing, 2);  // max(1, 14 / 5)
  EXPECT_FALSE(fs::exists(*root_ / "RawData/Testing/label"));
}

TEST_F(BtcvTest, EveryOrganIsPresentInEveryCase) {
  for (const CaseRef& ref : adapter_->cases()) {
    const Case c = adapter_->load(ref);
    std::array<std::int64_t, 256> counts{};
    for (auto v : c.label) counts[v]++;
    for (int l = 1; l <= 13; ++l) EXPECT_GT(counts[l], 0) << ref.id << " lacks label " << l;
    for (int l = 14; l < 256; ++l) EXPECT_EQ(counts[l], 0) << ref.id << " holds label " << l;
    EXPECT_GT(counts[0], c.label.size() / 2) << "background should dominate";
  }
}

TEST_F(BtcvTest, SynapseSchemeKeepsToThePublishedListsAndTakesValFromTrain) {
  const Split s = split("synapse", 0.1);
  const std::vector<std::string> present = case_ids();
  std::set<std::string> train_ids(s.train.begin(), s.train.end());
  std::set<std::string> val_ids(s.val.begin(), s.val.end());
  std::set<std::string> expect_train, expect_test;
  for (const auto& c : present) {
    if (ids(kSynapseTrain).count(c)) expect_train.insert(c);
    if (ids(kSynapseTest).count(c)) expect_test.insert(c);
  }
  EXPECT_EQ(std::set<std::string>(s.test.begin(), s.test.end()), expect_test);
  std::set<std::string> train_and_val = train_ids;
  train_and_val.insert(val_ids.begin(), val_ids.end());
  EXPECT_EQ(train_and_val, expect_train);
  EXPECT_EQ(train_ids.size() + val_ids.size(), expect_train.size());  // disjoint
  ASSERT_GE(expect_train.size(), 2u);
  ASSERT_EQ(s.val.size(), 1u);  // round(0.1 * n) is 0 or 1 here; at least one
  EXPECT_EQ(s.val[0], *expect_train.rbegin()) << "val is the last train case by id";
  EXPECT_EQ(split("synapse", 2.0).val.size(), 2u);
  EXPECT_TRUE(split("synapse", 0.0).val.empty());
}

// RefNet (`val: test`): all present synapse training cases train, and the synapse test cases
// both validate and test.
TEST(BtcvKindTest, SynapseWithValTestTrainsOnAll18AndValidatesOnThe12TestCases) {
  const BtcvDataset adapter("/nonexistent");
  std::vector<CaseRef> refs;
  for (int n = 1; n <= 10; ++n) refs.push_back({id(n), "", {}});
  for (int n = 21; n <= 40; ++n) refs.push_back({id(n), "", {}});
  SplitOptions o;
  o.scheme = "synapse";
  o.val = 0.1;  // ignored with val_is_test
  o.val_is_test = true;
  const Split s = adapter.split(refs, o);
  EXPECT_EQ(s.train.size(), 18u);
  EXPECT_EQ(std::set<std::string>(s.train.begin(), s.train.end()), ids(kSynapseTrain));
  EXPECT_EQ(s.test.size(), 12u);
  EXPECT_EQ(std::set<std::string>(s.test.begin(), s.test.end()), ids(kSynapseTest));
  EXPECT_EQ(s.val, s.test);
  // Without val_is_test, val comes out of the 18: round(0.1 * 18) = 2 leave train.
  o.val_is_test = false;
  const Split plain = adapter.split(refs, o);
  EXPECT_EQ(plain.train.size(), 16u);
  EXPECT_EQ(plain.val.size(), 2u);
  EXPECT_EQ(std::set<std::string>(plain.test.begin(), plain.test.end()), ids(kSynapseTest));
}

TEST_F(BtcvTest, SynapseWithValTestOnAPhantomKeepsThePresentCases) {
  SplitOptions o;
  o.scheme = "synapse";
  o.val_is_test = true;
  const Split s = adapter_->split(adapter_->cases(), o);
  std::set<std::string> expect_train, expect_test;
  for (const auto& c : case_ids()) {
    if (ids(kSynapseTrain).count(c)) expect_train.insert(c);
    if (ids(kSynapseTest).count(c)) expect_test.insert(c);
  }
  ASSERT_FALSE(expect_train.empty());
  ASSERT_FALSE(expect_test.empty());
  EXPECT_EQ(std::set<std::string>(s.train.begin(), s.train.end()), expect_train);
  EXPECT_EQ(s.train.size(), expect_train.size());
  EXPECT_EQ(std::set<std::string>(s.test.begin(), s.test.end()), expect_test);
  EXPECT_EQ(s.val, s.test);
}

TEST_F(BtcvTest, MonaiSchemeUsesItsTrainAndValidationCases) {
  const Split s = split("monai");
  std::set<std::string> train = range_ids(1, 10), val = range_ids(35, 40);
  for (const auto& c : range_ids(21, 34)) train.insert(c);
  std::set<std::string> expect_train, expect_val;
  for (const auto& c : case_ids()) {
    if (train.count(c)) expect_train.insert(c);
    if (val.count(c)) expect_val.insert(c);
  }
  ASSERT_FALSE(expect_val.empty());
  EXPECT_EQ(std::set<std::string>(s.train.begin(), s.train.end()), expect_train);
  EXPECT_EQ(std::set<std::string>(s.val.begin(), s.val.end()), expect_val);
  EXPECT_EQ(s.test, s.val) << "MONAI reports on its validation cases";
}

TEST_F(BtcvTest, RandomSchemeNeitherLosesNorDuplicatesCases) {
  const Split s = split("random");
  std::vector<std::string> all = s.train;
  all.insert(all.end(), s.val.begin(), s.val.end());
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, case_ids());
  EXPECT_THROW(split("transunet"), Error);
}

TEST(BtcvKindTest, AcceptsItsSchemesAndNoOptions) {
  for (const char* scheme : {"random", "synapse", "monai"}) {
    const Status st = check_dataset_options("btcv", nlohmann::json::object(), scheme);
    EXPECT_TRUE(st.ok()) << scheme << ": " << st.message();
  }
  const Status scheme = check_dataset_options("btcv", nlohmann::json::object(), "lists");
  EXPECT_EQ(scheme.code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(scheme.key(), "split.scheme");
  EXPECT_EQ(scheme.message(),
            "unknown split scheme 'lists' for kind 'btcv'; known: random, synapse, monai");
  const Status option = check_dataset_options("btcv", {{"merge_adrenals", true}}, "random");
  EXPECT_EQ(option.key(), "merge_adrenals");
  EXPECT_EQ(option.message(), "unknown option 'merge_adrenals'; known: none");
  const Status kind = check_dataset_options("nope", nlohmann::json::object(), "random");
  EXPECT_EQ(kind.key(), "");
  EXPECT_EQ(kind.message(), "unknown dataset kind 'nope'");
}

TEST(BtcvKindTest, EveryPhantomOfTwoOrMoreCasesSupportsBothPublishedSchemes) {
  const BtcvDataset adapter("/nonexistent");
  for (int n = 2; n <= 30; ++n) {
    std::vector<CaseRef> refs;
    for (int number : btcv_phantom_numbers(n)) refs.push_back({btcv_case_id(number), "", {}});
    ASSERT_EQ(refs.size(), std::size_t(n));
    for (const char* scheme : {"synapse", "monai"}) {
      SplitOptions o;
      o.scheme = scheme;
      EXPECT_NO_THROW(adapter.split(refs, o)) << n << " cases, " << scheme;
    }
  }
  const std::vector<int> all = btcv_phantom_numbers(30);
  std::vector<int> real;
  for (int n = 1; n <= 10; ++n) real.push_back(n);
  for (int n = 21; n <= 40; ++n) real.push_back(n);
  EXPECT_EQ(all, real);
  EXPECT_THROW(btcv_phantom_numbers(51), Error);
}

// World position (RAS mm) of the centroid of label l.
std::array<double, 3> centroid(const Case& c, int l) {
  const auto [ni, nj, nk] = c.image.dims;
  double s[3] = {0, 0, 0}, n = 0;
  for (std::int64_t k = 0; k < nk; ++k)
    for (std::int64_t j = 0; j < nj; ++j)
      for (std::int64_t i = 0; i < ni; ++i)
        if (c.label[(k * nj + j) * ni + i] == l) {
          s[0] += i, s[1] += j, s[2] += k;
          ++n;
        }
  std::array<double, 3> w{};
  for (int r = 0; r < 3; ++r)
    w[r] = c.image.affine[r][0] * s[0] / n + c.image.affine[r][1] * s[1] / n +
           c.image.affine[r][2] * s[2] / n + c.image.affine[r][3];
  return w;
}

double mean_hu(const Case& c, int l) {
  double s = 0, n = 0;
  for (std::size_t v = 0; v < c.label.size(); ++v)
    if (c.label[v] == l) s += c.image.data[v], ++n;
  return s / n;
}

TEST_F(BtcvTest, OrgansSitAtTheirAnatomicalPlacesWithPlausibleHu) {
  for (const CaseRef& ref : adapter_->cases()) {
    const Case c = adapter_->load(ref);
    // RAS+: x grows to the patient's right, y anteriorly, z superiorly.
    EXPECT_GT(centroid(c, 6)[0], centroid(c, 1)[0]) << ref.id << ": liver right of spleen";
    EXPECT_GT(centroid(c, 2)[0], centroid(c, 3)[0]) << ref.id << ": kidneys' sides";
    EXPECT_GT(centroid(c, 12)[0], centroid(c, 13)[0]) << ref.id << ": adrenals' sides";
    EXPECT_GT(centroid(c, 9)[0], centroid(c, 8)[0]) << ref.id << ": IVC right of the aorta";
    EXPECT_GT(centroid(c, 4)[1], centroid(c, 2)[1]) << ref.id << ": gallbladder anterior";
    EXPECT_GT(centroid(c, 12)[2], centroid(c, 2)[2]) << ref.id << ": adrenal above kidney";
    EXPECT_GT(centroid(c, 13)[2], centroid(c, 3)[2]) << ref.id << ": adrenal above kidney";
    const double liver = mean_hu(c, 6);
    EXPECT_GT(liver, 40) << ref.id;
    EXPECT_LT(liver, 130) << ref.id;
    EXPECT_GT(mean_hu(c, 8), liver) << ref.id << ": contrast-filled aorta";
    EXPECT_LT(mean_hu(c, 4), liver) << ref.id << ": bile";
    EXPECT_LT(c.image.data[0], -850) << ref.id << ": air in the corner";
  }
}

TEST_F(BtcvTest, GeometryRoundTripsLikeAConvertedCt) {
  const std::vector<CaseRef> refs = adapter_->cases();
  const NiftiImage img = read_nifti(refs[0].files[0]);
  const NiftiImage lab = read_nifti(refs[0].files[1]);
  EXPECT_EQ(img.dtype, "int16");
  EXPECT_EQ(lab.dtype, "uint8");
  EXPECT_EQ(img.shape, (std::vector<std::int64_t>{64, 64, 24}));
  const double sx = img.spacing[0], sz = img.spacing[2];
  EXPECT_GE(sx, 0.6 * 512 / 64);
  EXPECT_LE(sx, 1.0 * 512 / 64);
  EXPECT_EQ(img.spacing[1], sx);
  EXPECT_GE(sz, 2.5);
  EXPECT_LE(sz, 5.0);
  EXPECT_DOUBLE_EQ(img.affine[0][0], -sx);
  EXPECT_DOUBLE_EQ(img.affine[1][1], -sx);
  EXPECT_DOUBLE_EQ(img.affine[2][2], sz);
  EXPECT_EQ(img.affine, lab.affine);
  const Case c = adapter_->load(refs[0]);
  const BtcvPhantomCase m =
      make_btcv_case(phantom_options(3, 14, kSize), std::stoi(refs[0].id.substr(3)));
  EXPECT_EQ(c.image.data, m.image.data);
  EXPECT_EQ(c.label, m.label);
  for (int r = 0; r < 3; ++r)
    for (int q = 0; q < 4; ++q) EXPECT_NEAR(c.image.affine[r][q], m.image.affine[r][q], 1e-4);
}

TEST(BtcvPhantomTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const fs::path a = temp_root("a"), b = temp_root("b"), c = temp_root("c");
  for (const auto& p : {a, b, c}) fs::remove_all(p);
  write_btcv_phantom(a, phantom_options(9, 2, kSize));
  write_btcv_phantom(b, phantom_options(9, 2, kSize));
  write_btcv_phantom(c, phantom_options(10, 2, kSize));
  const auto ta = tree_bytes(a), tb = tree_bytes(b), tc = tree_bytes(c);
  EXPECT_EQ(ta.size(), 2u * 2 + 1);
  EXPECT_TRUE(ta == tb);
  ASSERT_EQ(ta.size(), tc.size());
  for (const auto& [name, bytes] : ta) EXPECT_NE(bytes, tc.at(name)) << name;
  // macOS companions are skipped; an image without its label is an error naming it.
  write_file_atomic(a / "RawData/Training/img/._img0005.nii.gz", "junk");
  EXPECT_EQ(BtcvDataset(a).cases().size(), 2u);
  fs::remove(a / "RawData/Training/label/label0005.nii.gz");
  try {
    BtcvDataset(a).cases();
    ADD_FAILURE() << "a missing label went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label0005.nii.gz"), std::string::npos) << e.what();
  }
  for (const auto& p : {a, b, c}) fs::remove_all(p);
}

}  // namespace
}  // namespace orch
