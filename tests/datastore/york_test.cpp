#include "datastore/datasets/york_cardiac/york_cardiac.h"

#include <matio.h>
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

#include "common/fs.h"
#include "common/status.h"
#include "datastore/formats/polygon.h"
#include "tests/support/phantom_support.h"
#include "tests/support/temp_dir.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

using testing::phantom_options;
using testing::TempDir;
using testing::tree_bytes;

constexpr std::array<int, 3> kSize = {48, 40, 10};  // i = x = 48 columns, j = y = 40 rows

DatasetConfig york_config(const fs::path& root, nlohmann::json options = {}) {
  DatasetConfig c;
  c.name = "york";
  c.kind = "york_cardiac";
  c.root = root.string();
  c.options = options.is_null() ? nlohmann::json::object() : options;
  return c;
}

struct MatVar {  // a variable read back with matio, freed on scope exit
  matvar_t* v = nullptr;
  explicit MatVar(const fs::path& path, const char* name) {
    mat_t* mat = Mat_Open(path.string().c_str(), MAT_ACC_RDONLY);
    if (mat) {
      v = Mat_VarRead(mat, name);
      Mat_Close(mat);
    }
  }
  ~MatVar() { Mat_VarFree(v); }
};

void write_var(const fs::path& path, matvar_t* var,
               matio_compression compression = MAT_COMPRESSION_NONE) {
  mat_t* mat = Mat_CreateVer(path.string().c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr);
  EXPECT_EQ(Mat_VarWrite(mat, var, compression), 0);
  Mat_Close(mat);
  Mat_VarFree(var);
}

// A 65x2 cell (column-major) with two axis-aligned squares, 8 points per side, 1-based corners.
std::vector<double> square_cell(double endo_lo, double endo_hi, double epi_lo, double epi_hi) {
  std::vector<double> cell(130, 0.0);
  const auto square = [&cell](double lo, double hi, int row0) {
    const double side = hi - lo;
    for (int k = 0; k < 32; ++k) {
      const int s = k / 8;
      const double f = (k % 8) * side / 8.0;
      const double x = s == 0 ? lo + f : s == 1 ? hi : s == 2 ? hi - f : lo;
      const double y = s == 0 ? lo : s == 1 ? lo + f : s == 2 ? hi : hi - f;
      cell[row0 + k] = x;
      cell[65 + row0 + k] = y;
    }
  };
  square(endo_lo, endo_hi, 0);
  square(epi_lo, epi_hi, 33);
  return cell;
}

matvar_t* make_cells(std::size_t nz, std::size_t nt, const std::vector<double>& contour) {
  std::size_t dims[2] = {nz, nt};
  matvar_t* cells =
      Mat_VarCreate("manual_seg_32points", MAT_C_CELL, MAT_T_CELL, 2, dims, nullptr, 0);
  for (std::size_t i = 0; i < nz * nt; ++i) {
    std::vector<double> v = i == 0 ? contour : std::vector<double>{-99999.0};
    std::size_t cd[2] = {i == 0 ? contour.size() / 2 : 1, i == 0 ? std::size_t(2) : 1};
    Mat_VarSetCell(cells, static_cast<int>(i),
                   Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, cd, v.data(), 0));
  }
  return cells;
}

TEST(YorkWallMask, SquareContoursGiveTheHandCountedRing) {
  // 1-based epi square (2,2)-(9,9) is 0-based [1,8]: poly2mask keeps pixel centres 1..7 (left and
  // top edges in, right and bottom out), 49 pixels; endo (4,4)-(7,7) keeps 3..5, 9 pixels.
  const std::vector<std::uint8_t> m = york_wall_mask(square_cell(4, 7, 2, 9), 12, 10);
  int area = 0;
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 12; ++x) {
      const bool in_epi = x >= 1 && x <= 7 && y >= 1 && y <= 7;
      const bool in_endo = x >= 3 && x <= 5 && y >= 3 && y <= 5;
      EXPECT_EQ(m[y * 12 + x], in_epi && !in_endo ? 1 : 0) << "x=" << x << " y=" << y;
      area += m[y * 12 + x];
    }
  }
  EXPECT_EQ(area, 49 - 9);
}

TEST(YorkPhantom, RoundTripsThroughTheAdapterAsPatientFrames) {
  TempDir dir("roundtrip");
  const PhantomOptions o = phantom_options(5, 3, kSize);
  const DatasetKind& kind = dataset_kind("york_cardiac");
  EXPECT_EQ(kind.write_phantom(dir.path(), o), 3 * 20);
  const auto adapter = kind.open(york_config(dir.path(), {{"spacing", {1.25, 1.4, 7.0}}}));
  const std::vector<CaseRef> cases = adapter->cases();
  ASSERT_EQ(cases.size(), 60u);
  EXPECT_EQ(cases.front().id, "pat1_t01");
  EXPECT_EQ(cases.back().id, "pat3_t20");
  const std::regex id_re(R"(pat([123])_t(0[1-9]|1[0-9]|20))");
  for (const CaseRef& c : cases) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(c.id, m, id_re)) << c.id;
    EXPECT_EQ(c.group, "pat" + m[1].str());
    ASSERT_EQ(c.files.size(), 2u);
    EXPECT_EQ(fs::path(c.files[0]).filename(), "sol_yxzt_pat" + m[1].str() + ".mat");
    EXPECT_EQ(fs::path(c.files[1]).filename(), "manual_seg_32points_pat" + m[1].str() + ".mat");
  }
  for (const char* id : {"pat1_t01", "pat2_t09", "pat3_t20"}) {
    const auto ref =
        std::find_if(cases.begin(), cases.end(), [id](const CaseRef& c) { return c.id == id; });
    const Case c = adapter->load(*ref);
    const auto& d = c.image.dims;
    EXPECT_EQ(d[0], 48);
    EXPECT_EQ(d[1], 40);
    EXPECT_GE(d[2], 8);
    EXPECT_LE(d[2], 10);
    EXPECT_EQ(c.image.spacing, (std::array<double, 3>{1.25, 1.4, 7.0}));
    EXPECT_DOUBLE_EQ(c.image.affine[0][0], 1.25);
    EXPECT_DOUBLE_EQ(c.image.affine[1][1], 1.4);
    EXPECT_DOUBLE_EQ(c.image.affine[2][2], 7.0);
    EXPECT_DOUBLE_EQ(c.image.affine[0][1], 0.0);
    ASSERT_EQ(c.label.size(), c.image.data.size());
    // The image is frame t of the raw array, transposed to (x, y) slices.
    const MatVar raw(ref->files[0], "sol_yxzt");
    ASSERT_NE(raw.v, nullptr);
    const double* px = static_cast<const double*>(raw.v->data);
    const std::size_t t = std::stoul(std::string(id).substr(std::string(id).size() - 2)) - 1;
    const auto nz = static_cast<std::size_t>(d[2]);
    std::size_t mismatches = 0;
    for (std::size_t z = 0; z < nz; ++z)
      for (std::size_t y = 0; y < 40; ++y)
        for (std::size_t x = 0; x < 48; ++x)
          mismatches += c.image.data[(z * 40 + y) * 48 + x] != px[y + 40 * (x + 48 * (z + nz * t))];
    EXPECT_EQ(mismatches, 0u) << id;
    // Which slices have contours, read independently from the raw cell array.
    const MatVar seg(ref->files[1], "manual_seg_32points");
    ASSERT_NE(seg.v, nullptr);
    const std::size_t slice = 48 * 40;
    int contoured = 0;
    for (std::int64_t z = 0; z < d[2]; ++z) {
      const matvar_t* cell = Mat_VarGetCell(seg.v, static_cast<int>(z + d[2] * t));
      const bool missing = cell->dims[0] == 1 && static_cast<double*>(cell->data)[0] == -99999.0;
      std::size_t area = 0;
      for (std::size_t n = z * slice; n < (z + 1) * slice; ++n) {
        EXPECT_LE(c.label[n], 1);
        area += c.label[n];
      }
      if (missing) {
        EXPECT_EQ(area, 0u) << id << " slice " << z;
      } else {
        EXPECT_GT(area, 0u) << id << " slice " << z;
        ++contoured;
      }
    }
    EXPECT_GE(contoured, 4) << id;
  }
}

TEST(YorkPhantom, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir a("seed_a"), b("seed_b"), c("seed_c");
  PhantomOptions o = phantom_options(11, 2, kSize);
  o.size = {32, 36, 8};
  write_york_cardiac_phantom(a.path(), o);
  write_york_cardiac_phantom(b.path(), o);
  o.seed = 12;
  write_york_cardiac_phantom(c.path(), o);
  const auto ta = tree_bytes(a.path()), tb = tree_bytes(b.path()), tc = tree_bytes(c.path());
  ASSERT_EQ(ta.size(), 4u);
  EXPECT_TRUE(ta == tb);
  for (const auto& [name, bytes] : ta) {
    ASSERT_TRUE(tc.count(name)) << name;
    EXPECT_NE(bytes, tc.at(name)) << name;
    EXPECT_EQ(bytes.compare(0, 19, "MATLAB 5.0 MAT-file"), 0) << name;
  }
}

TEST(YorkPhantom, WritesTheRealCellLayoutWithOneBasedPointsOnTheImageWall) {
  TempDir dir("raw");
  const PhantomOptions o = phantom_options(3, 1, kSize);
  write_york_cardiac_phantom(dir.path(), o);
  const MatVar img(dir.path() / "sol_yxzt_pat1.mat", "sol_yxzt");
  const MatVar seg(dir.path() / "manual_seg_32points_pat1.mat", "manual_seg_32points");
  ASSERT_NE(img.v, nullptr);
  ASSERT_NE(seg.v, nullptr);
  ASSERT_EQ(img.v->class_type, MAT_C_DOUBLE);
  ASSERT_EQ(img.v->rank, 4);
  EXPECT_EQ(img.v->dims[0], 40u);  // y (rows) first
  EXPECT_EQ(img.v->dims[1], 48u);
  EXPECT_EQ(img.v->dims[3], 20u);
  const std::size_t nz = img.v->dims[2];
  ASSERT_EQ(seg.v->class_type, MAT_C_CELL);
  ASSERT_EQ(seg.v->rank, 2);
  EXPECT_EQ(seg.v->dims[0], nz);
  EXPECT_EQ(seg.v->dims[1], 20u);
  const double* pixels = static_cast<const double*>(img.v->data);
  int checked = 0;
  for (std::size_t i = 0; i < nz * 20; ++i) {
    const matvar_t* cell = Mat_VarGetCell(seg.v, static_cast<int>(i));
    ASSERT_EQ(cell->class_type, MAT_C_DOUBLE);
    const double* v = static_cast<const double*>(cell->data);
    if (cell->dims[0] == 1) {
      EXPECT_EQ(cell->dims[1], 1u);
      EXPECT_EQ(v[0], -99999.0);
      continue;
    }
    ASSERT_EQ(cell->dims[0], 65u);
    ASSERT_EQ(cell->dims[1], 2u);
    EXPECT_EQ(v[32], 0.0);  // separator row 33 = [0 0]
    EXPECT_EQ(v[65 + 32], 0.0);
    // Reading the points as 1-based puts the mask on the dark wall; reading them as 0-based
    // (one pixel down and right) does not fit as well.
    std::vector<double> shifted(v, v + 130);
    for (double& s : shifted) s += 1.0;
    const auto wall_mean = [&](const std::vector<double>& c) {
      const std::vector<std::uint8_t> m = york_wall_mask(c, 48, 40);
      double sum = 0;
      int n = 0;
      for (int y = 0; y < 40; ++y)
        for (int x = 0; x < 48; ++x)
          if (m[y * 48 + x]) sum += pixels[i * 48 * 40 + x * 40 + y], ++n;
      return sum / std::max(1, n);
    };
    // Blood: the endocardial fill alone.
    std::vector<std::array<double, 2>> endo;
    for (int r = 0; r < 32; ++r) endo.push_back({v[r] - 1, v[65 + r] - 1});
    std::vector<std::uint8_t> blood(48 * 40, 0);
    fill_polygon(endo, 48, 40, 1, blood);
    double blood_sum = 0;
    int blood_n = 0;
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 48; ++x)
        if (blood[y * 48 + x]) blood_sum += pixels[i * 48 * 40 + x * 40 + y], ++blood_n;
    const std::vector<double> cell_values(v, v + 130);
    EXPECT_LT(wall_mean(cell_values), wall_mean(shifted)) << "cell " << i;
    if (blood_n > 0) {
      EXPECT_LT(wall_mean(cell_values), 0.6 * blood_sum / blood_n) << "cell " << i;
    }
    ++checked;
  }
  EXPECT_GT(checked, static_cast<int>(nz) * 20 / 2);
}

TEST(YorkPhantom, WallThickensAtSystole) {
  TempDir dir("systole");
  write_york_cardiac_phantom(dir.path(), phantom_options(9, 1, kSize));
  const MatVar seg(dir.path() / "manual_seg_32points_pat1.mat", "manual_seg_32points");
  ASSERT_NE(seg.v, nullptr);
  const std::size_t nz = seg.v->dims[0], z = nz / 2;  // a mid-ventricular slice
  std::vector<double> cavity, thickness;
  for (std::size_t t = 0; t < 20; ++t) {
    const matvar_t* cell = Mat_VarGetCell(seg.v, static_cast<int>(z + nz * t));
    ASSERT_EQ(cell->dims[0], 65u);
    const double* v = static_cast<const double*>(cell->data);
    const auto mean_radius = [v](int row0) {
      double cx = 0, cy = 0, r = 0;
      for (int k = 0; k < 32; ++k) cx += v[row0 + k] / 32, cy += v[65 + row0 + k] / 32;
      for (int k = 0; k < 32; ++k) r += std::hypot(v[row0 + k] - cx, v[65 + row0 + k] - cy) / 32;
      return r;
    };
    cavity.push_back(mean_radius(0));
    thickness.push_back(mean_radius(33) - mean_radius(0));
  }
  const std::size_t systole = std::min_element(cavity.begin(), cavity.end()) - cavity.begin();
  EXPECT_GE(systole, 5u);
  EXPECT_LE(systole, 11u);
  EXPECT_LT(cavity[systole], 0.85 * cavity[0]);
  EXPECT_GT(thickness[systole], 1.15 * thickness[0]);
}

// MATLAB saves v7 (compressed) by default; the frame read must work on compressed data too.
TEST(YorkAdapter, ReadsAnyNumericClassFrameByFrameFromCompressedFiles) {
  TempDir dir("uint16");
  fs::create_directories(dir.path());
  const std::size_t ny = 5, nx = 7, nz = 3, nt = 4;
  std::vector<std::uint16_t> pixels(ny * nx * nz * nt);
  for (std::size_t n = 0; n < pixels.size(); ++n) pixels[n] = static_cast<std::uint16_t>(n);
  std::size_t dims[4] = {ny, nx, nz, nt};
  write_var(dir.path() / "sol_yxzt_pat4.mat",
            Mat_VarCreate("sol_yxzt", MAT_C_UINT16, MAT_T_UINT16, 4, dims, pixels.data(), 0),
            MAT_COMPRESSION_ZLIB);
  // Only cell {1,1} has a contour: epi (2,2)-(6,6), endo (3,3)-(5,5), 1-based.
  write_var(dir.path() / "manual_seg_32points_pat4.mat",
            make_cells(nz, nt, square_cell(3, 5, 2, 6)));
  const YorkDataset york(dir.path(), kYorkDefaultSpacing);
  const std::vector<CaseRef> cases = york.cases();
  ASSERT_EQ(cases.size(), 1u);  // frames 2-4 have no contour anywhere
  EXPECT_EQ(cases[0].id, "pat4_t01");
  EXPECT_EQ(cases[0].group, "pat4");
  CaseRef later = cases[0];
  later.id = "pat4_t03";
  const Case c = york.load(later);
  ASSERT_EQ(c.image.dims, (std::array<std::int64_t, 3>{7, 5, 3}));
  EXPECT_EQ(c.image.spacing, kYorkDefaultSpacing);
  for (std::size_t z = 0; z < nz; ++z)
    for (std::size_t y = 0; y < ny; ++y)
      for (std::size_t x = 0; x < nx; ++x)  // sol_yxzt(y, x, z, t), column-major, t = 2
        EXPECT_EQ(c.image.data[(z * ny + y) * nx + x], float(y + ny * (x + nx * (z + nz * 2))));
  EXPECT_EQ(std::count(c.label.begin(), c.label.end(), 1), 0);  // frame 3 is uncontoured
  const Case first = york.load(cases[0]);
  EXPECT_EQ(std::count(first.label.begin(), first.label.end(), 1), 16 - 4);  // 4x4 minus 2x2
  EXPECT_EQ(first.label[(0 * ny + 1) * nx + 1], 1);                          // x=1, y=1
  EXPECT_EQ(first.label[(0 * ny + 2) * nx + 2], 0);                          // the cavity
}

TEST(YorkAdapter, ErrorsNameTheFileAndTheVariable) {
  TempDir dir("errors");
  fs::create_directories(dir.path());
  std::vector<double> zero(8 * 8 * 2 * 2, 0.0);
  std::size_t dims[4] = {8, 8, 2, 2};
  write_var(dir.path() / "sol_yxzt_pat1.mat",
            Mat_VarCreate("images", MAT_C_DOUBLE, MAT_T_DOUBLE, 4, dims, zero.data(), 0));
  write_var(dir.path() / "manual_seg_32points_pat1.mat", make_cells(2, 2, square_cell(3, 5, 2, 6)));
  const YorkDataset york(dir.path(), kYorkDefaultSpacing);
  const std::vector<CaseRef> cases = york.cases();
  ASSERT_EQ(cases.size(), 1u);
  try {
    york.load(cases[0]);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sol_yxzt_pat1.mat"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'sol_yxzt'"), std::string::npos) << e.what();
  }
  // A cell of the wrong size names the cell.
  write_var(dir.path() / "manual_seg_32points_pat1.mat",
            make_cells(2, 2, std::vector<double>(20, 1.0)));
  try {
    york.cases();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("manual_seg_32points_pat1.mat"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("manual_seg_32points{1,1} is 10x2"), std::string::npos)
        << e.what();
  }
}

TEST(YorkAdapter, RandomSplitKeepsEachPatientInOnePart) {
  TempDir dir("split");
  PhantomOptions o = phantom_options(21, 5, kSize);
  o.size = {32, 32, 8};
  write_york_cardiac_phantom(dir.path(), o);
  const auto adapter = dataset_kind("york_cardiac").open(york_config(dir.path()));
  const std::vector<CaseRef> cases = adapter->cases();
  ASSERT_EQ(cases.size(), 100u);
  SplitOptions s;
  s.train = 0.6;
  s.val = 0.2;
  const Split split = adapter->split(cases, s);
  EXPECT_EQ(split.train.size() + split.val.size() + split.test.size(), cases.size());
  std::map<std::string, std::set<int>> parts;  // group -> parts holding it
  const auto note = [&](const std::vector<std::string>& ids, int part) {
    for (const auto& id : ids) parts[id.substr(0, id.find('_'))].insert(part);
  };
  note(split.train, 0);
  note(split.val, 1);
  note(split.test, 2);
  EXPECT_EQ(parts.size(), 5u);
  for (const auto& [group, in] : parts) EXPECT_EQ(in.size(), 1u) << group;
  EXPECT_EQ(split.train.size(), 60u);  // 3 of 5 patients, 20 frames each
}

TEST(YorkAdapter, ChecksTheSpacingOption) {
  const DatasetKind& kind = dataset_kind("york_cardiac");
  EXPECT_TRUE(kind.check_options(nlohmann::json::object()).ok());
  EXPECT_TRUE(kind.check_options({{"spacing", {1.3, 1.3, 10}}}).ok());
  for (const nlohmann::json& bad :
       {nlohmann::json{1, 2}, nlohmann::json{1, -2, 3}, nlohmann::json{1, 0, 3},
        nlohmann::json{"1", 2, 3}, nlohmann::json(1.5)}) {
    const Status st = kind.check_options({{"spacing", bad}});
    EXPECT_EQ(st.key(), "spacing") << bad.dump();
    EXPECT_FALSE(st.message().empty()) << bad.dump();
  }
  EXPECT_EQ(kind.check_options({{"pixel_size", 1}}).key(), "pixel_size");
  EXPECT_EQ(kind.check_options({{"pixel_size", 1}}).message(),
            "unknown option 'pixel_size'; known: spacing");
  TempDir dir("options");
  EXPECT_THROW(kind.open(york_config(dir.path(), {{"spacing", {0, 1, 1}}})), Error);
}

TEST(YorkInspect, CountsContouredAndMissingCellsPerFrame) {
  TempDir dir("inspect");
  PhantomOptions o = phantom_options(4, 1, kSize);
  o.size = {32, 32, 9};
  write_york_cardiac_phantom(dir.path(), o);
  const fs::path seg_path = dir.path() / "manual_seg_32points_pat1.mat";
  const nlohmann::json seg = inspect_york_mat(seg_path.string());
  ASSERT_EQ(seg["variables"].size(), 1u);
  const nlohmann::json& v = seg["variables"][0];
  EXPECT_EQ(v["name"], "manual_seg_32points");
  EXPECT_EQ(v["class"], "cell");
  // Independent count from the raw cells.
  const MatVar raw(seg_path, "manual_seg_32points");
  const std::size_t nz = raw.v->dims[0];
  EXPECT_EQ(v["dims"], (nlohmann::json{nz, 20}));
  int contoured = 0;
  std::vector<int> per_frame(20, 0);
  for (std::size_t i = 0; i < nz * 20; ++i)
    if (Mat_VarGetCell(raw.v, static_cast<int>(i))->dims[0] == 65) ++contoured, ++per_frame[i / nz];
  EXPECT_EQ(v["contoured_cells"], contoured);
  EXPECT_EQ(v["missing_cells"], static_cast<int>(nz) * 20 - contoured);
  EXPECT_EQ(v["contoured_per_frame"], nlohmann::json(per_frame));

  const nlohmann::json img = inspect_york_mat((dir.path() / "sol_yxzt_pat1.mat").string());
  const nlohmann::json& iv = img["variables"][0];
  EXPECT_EQ(iv["name"], "sol_yxzt");
  EXPECT_EQ(iv["class"], "double");
  EXPECT_EQ(iv["dims"], (nlohmann::json{32, 32, nz, 20}));
  EXPECT_GE(iv["min"].get<double>(), 0.0);
  EXPECT_GT(iv["max"].get<double>(), iv["mean"].get<double>());
  EXPECT_THROW(inspect_york_mat((dir.path() / "absent.mat").string()), Error);
}

}  // namespace
}  // namespace orch
