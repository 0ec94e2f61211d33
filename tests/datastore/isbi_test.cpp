#include "datastore/datasets/isbi_ms/isbi_ms.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/datasets/dataset.h"
#include "datastore/formats/nifti.h"
#include "tests/support/phantom_support.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

fs::path temp_root(const std::string& tag) {
  const fs::path p =
      fs::temp_directory_path() / ("orch_isbi_test_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(p);
  return p;
}

using testing::phantom_options;
using testing::tree_bytes;

std::unique_ptr<DatasetAdapter> open_isbi(const fs::path& root, nlohmann::json options = {}) {
  DatasetConfig c;
  c.name = "ms";
  c.kind = "isbi_ms";
  c.root = root.string();
  c.options = options.is_null() ? nlohmann::json::object() : options;
  return dataset_kind("isbi_ms").open(c);
}

// Channel c of a loaded multi-channel image.
std::vector<float> channel(const Volume& v, int c) {
  const auto n = static_cast<std::ptrdiff_t>(v.voxels());
  return {v.data.begin() + c * n, v.data.begin() + (c + 1) * n};
}

double mean_over(const std::vector<float>& image, const std::vector<bool>& mask) {
  double sum = 0;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < image.size(); ++i)
    if (mask[i]) sum += image[i], ++n;
  EXPECT_GT(n, 0);
  return n ? sum / n : 0;
}

// Voxels of `among` whose value in `image` is at or above (top) or below (!top) the share-quantile.
std::vector<bool> quantile_mask(const std::vector<float>& image, const std::vector<bool>& among,
                                double share, bool top) {
  std::vector<float> values;
  for (std::size_t i = 0; i < image.size(); ++i)
    if (among[i]) values.push_back(image[i]);
  std::sort(values.begin(), values.end());
  const float cut =
      values[static_cast<std::size_t>((top ? 1 - share : share) * (values.size() - 1))];
  std::vector<bool> out(image.size(), false);
  for (std::size_t i = 0; i < image.size(); ++i)
    out[i] = among[i] && (top ? image[i] >= cut : image[i] <= cut);
  return out;
}

// One phantom shared by the suite: 3 patients on an odd-shaped grid, written through the kind.
class IsbiMs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(temp_root("suite"));
    written_ = dataset_kind("isbi_ms").write_phantom(*root_, phantom_options(11, 3, {61, 71, 53}));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
  }
  static fs::path* root_;
  static int written_;
};
fs::path* IsbiMs::root_ = nullptr;
int IsbiMs::written_ = 0;

TEST_F(IsbiMs, WritesFourChannelsAndTwoRaterMasksPerTimepointAtThePublishersPaths) {
  const std::regex image("(training0[1-3])_(0[1-5])_(flair|mprage|pd|t2)_pp\\.nii");
  const std::regex mask("(training0[1-3])_(0[1-5])_mask([12])\\.nii");
  std::map<std::string, std::set<std::string>> files;  // "trainingNN_MM" -> kinds seen
  std::set<std::string> patients;
  for (const auto& e : fs::directory_iterator(*root_ / "training")) {
    const std::string patient = e.path().filename().string();
    patients.insert(patient);
    std::smatch m;
    for (const auto& f : fs::directory_iterator(e.path() / "preprocessed")) {
      const std::string name = f.path().filename().string();
      ASSERT_TRUE(std::regex_match(name, m, image)) << name;
      EXPECT_EQ(m[1].str(), patient);
      files[m[1].str() + "_" + m[2].str()].insert(m[3].str());
    }
    for (const auto& f : fs::directory_iterator(e.path() / "masks")) {
      const std::string name = f.path().filename().string();
      ASSERT_TRUE(std::regex_match(name, m, mask)) << name;
      files[m[1].str() + "_" + m[2].str()].insert("mask" + m[3].str());
    }
  }
  EXPECT_EQ(patients, (std::set<std::string>{"training01", "training02", "training03"}));
  const std::set<std::string> all = {"flair", "mprage", "pd", "t2", "mask1", "mask2"};
  std::map<std::string, int> timepoints;
  for (const auto& [tp, kinds] : files) {
    EXPECT_EQ(kinds, all) << tp;
    ++timepoints[tp.substr(0, 10)];
  }
  for (const auto& [patient, n] : timepoints) {
    EXPECT_GE(n, 2) << patient;
    EXPECT_LE(n, 5) << patient;
    for (int t = 1; t <= n; ++t) EXPECT_TRUE(files.count(patient + "_0" + std::to_string(t)));
  }
  EXPECT_EQ(written_, static_cast<int>(files.size()));
}

TEST_F(IsbiMs, CasesArePatientTimepointsGroupedByPatient) {
  const auto cases = open_isbi(*root_)->cases();
  ASSERT_EQ(static_cast<int>(cases.size()), written_);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const CaseRef& c = cases[i];
    ASSERT_TRUE(std::regex_match(c.id, std::regex("training0[1-3]_0[1-5]"))) << c.id;
    EXPECT_EQ(c.group, c.id.substr(0, 10));
    const std::string p = c.group, tp = c.id.substr(11);
    const fs::path dir = *root_ / "training" / p;
    EXPECT_EQ(c.files,
              (std::vector<std::string>{(dir / "preprocessed" / (c.id + "_flair_pp.nii")).string(),
                                        (dir / "masks" / (c.id + "_mask1.nii")).string()}));
    if (i > 0) {
      EXPECT_LT(cases[i - 1].id, c.id);
    }
  }
  const auto consensus = open_isbi(*root_, {{"rater", "consensus"}})->cases();
  EXPECT_EQ(consensus[0].files.size(), 3u);  // flair, mask1, mask2
}

TEST_F(IsbiMs, ChannelOptionPicksImagesInTheListedOrder) {
  const CaseRef ref = open_isbi(*root_)->cases().at(1);
  std::map<std::string, Volume> single;
  for (const std::string ch : {"flair", "mprage", "t2", "pd"}) {
    auto adapter = open_isbi(*root_, {{"channel", ch}});
    single[ch] = adapter->load(adapter->cases().at(1)).image;
    EXPECT_EQ(single[ch].channels, 1);
  }
  EXPECT_NE(single["flair"].data, single["t2"].data);
  auto all = open_isbi(*root_, {{"channel", "all"}});
  const Case c = all->load(all->cases().at(1));
  ASSERT_EQ(c.image.channels, 4);
  EXPECT_EQ(c.image.data.size(), 4 * single["flair"].data.size());
  const std::vector<std::string> order = {"flair", "mprage", "t2", "pd"};
  for (int k = 0; k < 4; ++k) EXPECT_EQ(channel(c.image, k), single[order[k]].data) << order[k];
  auto two = open_isbi(*root_, {{"channel", {"t2", "flair"}}});
  const Case d = two->load(two->cases().at(1));
  ASSERT_EQ(d.image.channels, 2);
  EXPECT_EQ(channel(d.image, 0), single["t2"].data);
  EXPECT_EQ(channel(d.image, 1), single["flair"].data);
  EXPECT_EQ(ref.id, c.id);
}

TEST_F(IsbiMs, RaterMasksAreBinaryAndDifferSlightlyButOverlapStrongly) {
  auto r1 = open_isbi(*root_, {{"rater", 1}}), r2 = open_isbi(*root_, {{"rater", 2}});
  auto both = open_isbi(*root_, {{"rater", "consensus"}});
  const auto cases = r1->cases();
  std::int64_t a = 0, b = 0, ab = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case c1 = r1->load(cases[i]), c2 = r2->load(r2->cases()[i]);
    const Case cc = both->load(both->cases()[i]);
    for (std::size_t v = 0; v < c1.label.size(); ++v) {
      ASSERT_LE(c1.label[v], 1);
      ASSERT_LE(c2.label[v], 1);
      EXPECT_EQ(cc.label[v], c1.label[v] & c2.label[v]);
      a += c1.label[v], b += c2.label[v], ab += c1.label[v] & c2.label[v];
    }
  }
  const double dice = 2.0 * ab / (a + b);
  EXPECT_GT(a, 0);
  EXPECT_GT(dice, 0.7) << "rater 1: " << a << ", rater 2: " << b << ", both: " << ab;
  EXPECT_LT(dice, 0.99);
}

// WM: the brightest fifth of brain voxels on T1 (MPRAGE), outside lesions; lesions: rater 1.
TEST_F(IsbiMs, LesionsAreBrighterThanWhiteMatterInFlairAndT2) {
  auto adapter = open_isbi(*root_, {{"channel", "all"}});
  for (const CaseRef& ref : adapter->cases()) {
    const Case c = adapter->load(ref);
    const auto flair = channel(c.image, 0), t1 = channel(c.image, 1), t2 = channel(c.image, 2);
    std::vector<bool> lesion(flair.size()), brain(flair.size());
    for (std::size_t v = 0; v < flair.size(); ++v)
      lesion[v] = c.label[v] == 1, brain[v] = flair[v] > 0 && !lesion[v];
    if (std::none_of(lesion.begin(), lesion.end(), [](bool x) { return x; })) continue;
    const std::vector<bool> wm = quantile_mask(t1, brain, 0.2, true);
    EXPECT_GT(mean_over(flair, lesion), 1.3 * mean_over(flair, wm)) << ref.id;
    EXPECT_GT(mean_over(t2, lesion), 1.3 * mean_over(t2, wm)) << ref.id;
  }
}

// CSF: the darkest T1 voxels of the brain's central third (the ventricles), against T1-bright WM.
TEST_F(IsbiMs, CsfIsDarkInFlairAndBrightInT2) {
  auto adapter = open_isbi(*root_, {{"channel", "all"}});
  const Case c = adapter->load(adapter->cases().at(0));
  const auto flair = channel(c.image, 0), t1 = channel(c.image, 1), t2 = channel(c.image, 2);
  const auto& d = c.image.dims;
  std::vector<bool> central(flair.size(), false), brain(flair.size());
  for (std::int64_t k = d[2] / 3; k < 2 * d[2] / 3; ++k)
    for (std::int64_t j = d[1] / 3; j < 2 * d[1] / 3; ++j)
      for (std::int64_t i = d[0] / 3; i < 2 * d[0] / 3; ++i) {
        const std::int64_t v = (k * d[1] + j) * d[0] + i;
        central[v] = flair[v] > 0 && c.label[v] == 0;
      }
  for (std::size_t v = 0; v < flair.size(); ++v) brain[v] = flair[v] > 0 && c.label[v] == 0;
  const std::vector<bool> csf = quantile_mask(t1, central, 0.02, false);
  const std::vector<bool> wm = quantile_mask(t1, brain, 0.2, true);
  EXPECT_LT(mean_over(flair, csf), 0.5 * mean_over(flair, wm));
  EXPECT_GT(mean_over(t2, csf), 1.5 * mean_over(t2, wm));
}

TEST_F(IsbiMs, GeometryKeepsTheRealMniFieldOfViewAndRoundTrips) {
  auto adapter = open_isbi(*root_, {{"channel", "all"}, {"rater", "consensus"}});
  const CaseRef ref = adapter->cases().at(0);
  const Case c = adapter->load(ref);
  const std::array<double, 3> fov = {181, 217, 181};  // the ISBI grid: 181x217x181 at 1 mm
  const std::array<std::int64_t, 3> dims = {61, 71, 53};
  EXPECT_EQ(c.image.dims, dims);
  std::array<std::int64_t, 3> origin{};  // the voxel holding world (0, 0, 0): the AC, in the brain
  for (int a = 0; a < 3; ++a) {
    EXPECT_NEAR(c.image.spacing[a] * dims[a], fov[a], dims[a] / 2048.0);
    for (int b = 0; b < 3; ++b)
      EXPECT_DOUBLE_EQ(c.image.affine[a][b], a == b ? c.image.spacing[a] : 0.0);
    origin[a] = std::llround(-c.image.affine[a][3] / c.image.spacing[a]);
    ASSERT_GE(origin[a], 0);
    ASSERT_LT(origin[a], dims[a]);
  }
  EXPECT_GT(c.image.data[(origin[2] * dims[1] + origin[1]) * dims[0] + origin[0]], 0.f);
  for (const std::string& f : ref.files) {  // every channel and mask has the same grid
    const NiftiImage n = read_nifti(f);
    EXPECT_EQ(n.affine, c.image.affine) << f;
    EXPECT_EQ(n.spacing, c.image.spacing) << f;
  }
}

TEST_F(IsbiMs, LesionsPersistAcrossTimepointsOfAPatient) {
  auto adapter = open_isbi(*root_);
  const auto cases = adapter->cases();
  for (std::size_t i = 1; i < cases.size(); ++i) {
    if (cases[i].group != cases[i - 1].group) continue;
    const Case before = adapter->load(cases[i - 1]), after = adapter->load(cases[i]);
    std::int64_t kept = 0, n = 0;
    for (std::size_t v = 0; v < before.label.size(); ++v)
      n += before.label[v], kept += before.label[v] & after.label[v];
    EXPECT_GT(kept, 0.6 * n) << cases[i - 1].id << " -> " << cases[i].id;
  }
}

TEST_F(IsbiMs, GroupSplitNeverDividesAPatient) {
  const auto cases = open_isbi(*root_)->cases();
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SplitOptions o;
    o.seed = seed;
    const Split s = make_split(cases, o);
    std::map<std::string, std::set<int>> parts;  // group -> parts it appears in
    std::size_t total = 0;
    int part = 0;
    for (const auto* ids : {&s.train, &s.val, &s.test}) {
      for (const auto& id : *ids) parts[id.substr(0, 10)].insert(part);
      total += ids->size();
      ++part;
    }
    EXPECT_EQ(total, cases.size());
    EXPECT_EQ(parts.size(), 3u);
    for (const auto& [group, in] : parts) EXPECT_EQ(in.size(), 1u) << group << " seed " << seed;
  }
}

TEST(IsbiMsPhantom, SameSeedGivesIdenticalBytesAndAnotherSeedDiffers) {
  const fs::path a = temp_root("a"), b = temp_root("b"), c = temp_root("c");
  write_isbi_ms_phantom(a, phantom_options(5, 1, {33, 37, 29}));
  write_isbi_ms_phantom(b, phantom_options(5, 1, {33, 37, 29}));
  write_isbi_ms_phantom(c, phantom_options(6, 1, {33, 37, 29}));
  const auto ta = tree_bytes(a), tb = tree_bytes(b), tc = tree_bytes(c);
  EXPECT_EQ(ta, tb);
  const std::string flair = "training/training01/preprocessed/training01_01_flair_pp.nii";
  ASSERT_TRUE(ta.count(flair) && tc.count(flair));
  EXPECT_NE(ta.at(flair), tc.at(flair));
  for (const auto& p : {a, b, c}) fs::remove_all(p);
}

TEST(IsbiMsPhantom, TimepointCountsVaryBetweenPatientsAndBadSizesAreRejected) {
  const fs::path root = temp_root("counts");
  const int n = write_isbi_ms_phantom(root, phantom_options(3, 8, {16, 18, 16}));
  std::set<int> counts;
  for (int p = 1; p <= 8; ++p) {
    int t = 0;
    while (fs::exists(isbi_mask_path(root, isbi_patient(p), "0" + std::to_string(t + 1), 2))) ++t;
    counts.insert(t);
    EXPECT_GE(t, 2);
    EXPECT_LE(t, 5);
  }
  EXPECT_GT(counts.size(), 1u);
  EXPECT_EQ(n, static_cast<int>(open_isbi(root)->cases().size()));
  fs::remove_all(root);
  EXPECT_THROW(write_isbi_ms_phantom(root, phantom_options(3, 1, {8, 64, 64})), Error);
  EXPECT_THROW(write_isbi_ms_phantom(root, phantom_options(3, 0, {32, 32, 32})), Error);
}

TEST(IsbiMsAdapter, MissingFilesAreNamedAndHiddenEntriesSkipped) {
  const fs::path root = temp_root("missing");
  EXPECT_THROW(open_isbi(root)->cases(), Error);  // no training/ folder
  write_isbi_ms_phantom(root, phantom_options(9, 2, {16, 16, 16}));
  const std::size_t n = open_isbi(root)->cases().size();
  fs::create_directories(root / "training" / "._training01");
  write_file_atomic(root / "training" / ".DS_Store", "x");
  write_file_atomic(root / "training" / "training01" / "preprocessed" / "._training01_07_t2_pp.nii",
                    "x");
  EXPECT_EQ(open_isbi(root)->cases().size(), n);
  const fs::path mask = isbi_mask_path(root, "training01", "02", 1);
  fs::remove(mask);
  try {
    open_isbi(root)->cases();
    ADD_FAILURE() << "a missing mask1 must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(mask.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(open_isbi(root, {{"rater", 2}})->cases().size(), n);  // rater 2's masks are there
  fs::remove_all(root);
}

TEST(IsbiMsAdapter, BadOptionsNameTheValueAndTheChoices) {
  const DatasetKind& kind = dataset_kind("isbi_ms");
  const auto check = [&](const char* text) {
    return kind.check_options(nlohmann::json::parse(text));
  };
  EXPECT_TRUE(check("{}").ok());
  EXPECT_TRUE(check(R"({"channel": "all", "rater": "consensus"})").ok());
  EXPECT_TRUE(check(R"({"channel": ["pd", "t2"], "rater": 2})").ok());
  const auto expect_bad = [&](const char* text, const std::string& key,
                              std::vector<std::string> words) {
    const Status st = check(text);
    EXPECT_FALSE(st.ok()) << text;
    EXPECT_EQ(st.key(), key) << text;
    for (const auto& w : words) EXPECT_NE(st.message().find(w), std::string::npos) << st.message();
  };
  expect_bad(R"({"channel": "flar"})", "channel", {"'flar'", "flair", "mprage", "t2", "pd"});
  expect_bad(R"({"channel": ["t2", "T1"]})", "channel", {"'T1'", "flair"});
  expect_bad(R"({"channel": ["t2", "t2"]})", "channel", {"'t2'", "twice"});
  expect_bad(R"({"channel": []})", "channel", {"flair"});
  expect_bad(R"({"rater": 3})", "rater", {"3", "1, 2, consensus"});
  expect_bad(R"({"rater": "union"})", "rater", {"'union'", "consensus"});
  expect_bad(R"({"chanel": "t2"})", "chanel", {"unknown", "channel"});
  EXPECT_EQ(check(R"({"channel": "flar"})").message(),
            "channel 'flar' is not one of flair, mprage, t2, pd, all, or a list of the first four");
  EXPECT_EQ(check(R"({"rater": 3})").message(),
            "rater 3 is not one of 1, 2, consensus (both raters agree: the intersection)");
  EXPECT_EQ(check(R"({"chanel": "t2"})").message(),
            "unknown option 'chanel'; known: channel, rater");
  try {
    open_isbi("/nonexistent", {{"rater", 0}});
    ADD_FAILURE() << "a bad rater must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rater"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace orch
