// York cardiac MRI adapter. Both files are read through matio, which also handles compressed
// (v7) and HDF5-based (v7.3) files. The image is read one frame at a time (a hyperslab of
// sol_yxzt), since a whole real file is 256x256x14x20 doubles (147 MB).
#include "datastore/datasets/york_cardiac/york_cardiac.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <regex>
#include <utility>

#include "common/status.h"
#include "datastore/formats/mat.h"
#include "datastore/formats/polygon.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

constexpr const char* kImageVar = "sol_yxzt";
constexpr const char* kSegVar = "manual_seg_32points";
constexpr int kPoints = 32;                 // points per contour
constexpr int kCellRows = 2 * kPoints + 1;  // endo, [0 0] separator, epi

// A Z x T cell array of contours; cells[z + nz * t] is empty where the slice has no contour,
// else the 65x2 cell's column-major values.
struct Contours {
  std::size_t nz = 0, nt = 0;
  std::vector<std::vector<double>> cells;
  bool frame_has_contour(std::size_t t) const {
    for (std::size_t z = 0; z < nz; ++z)
      if (!cells[z + nz * t].empty()) return true;
    return false;
  }
};

std::string cell_name(std::size_t z, std::size_t t) {
  return std::string(kSegVar) + "{" + std::to_string(z + 1) + "," + std::to_string(t + 1) + "}";
}

Contours read_contours(const std::string& path) {
  const MatPtr mat = open_mat(path);
  const VarPtr var = read_var(mat.get(), path, kSegVar, false);
  if (var->class_type != MAT_C_CELL || var->rank != 2)
    throw Error(path + ": variable '" + kSegVar + "' is " + class_name(var->class_type) + " " +
                dims_text(var.get()) + "; expected a 2-D cell array (slices x frames)");
  Contours c;
  c.nz = var->dims[0];
  c.nt = var->dims[1];
  c.cells.resize(c.nz * c.nt);
  for (std::size_t t = 0; t < c.nt; ++t) {
    for (std::size_t z = 0; z < c.nz; ++z) {
      const matvar_t* cell = Mat_VarGetCell(var.get(), static_cast<int>(z + c.nz * t));
      if (!cell || numel(cell) == 0) continue;  // an empty cell: no contour either
      const std::string what = path + ": " + cell_name(z, t);
      const std::vector<double> v = numeric_values(cell, what);
      if (v.size() == 1 && v[0] == kYorkMissingContour) continue;
      if (cell->rank != 2 || cell->dims[0] != kCellRows || cell->dims[1] != 2)
        throw Error(what + " is " + dims_text(cell) + "; expected 65x2 (endo, [0 0], epi) or " +
                    "the scalar -99999");
      c.cells[z + c.nz * t] = v;
    }
  }
  return c;
}

struct FrameShape {
  std::size_t ny = 0, nx = 0, nz = 0, nt = 1;
};

FrameShape image_shape(const matvar_t* v, const std::string& path) {
  if (!is_real_numeric(v) || v->rank < 3 || v->rank > 4)
    throw Error(path + ": variable '" + kImageVar + "' is " + class_name(v->class_type) +
                (v->isComplex ? " complex " : " ") + dims_text(v) +
                "; expected a real numeric y x x x z x t array");
  return {v->dims[0], v->dims[1], v->dims[2], v->rank == 4 ? v->dims[3] : 1};
}

// Frame t of sol_yxzt as doubles in MATLAB order (y fastest, then x, then z): a frame is a
// contiguous run of elements. (matio 1.5.23's N-D Mat_VarReadData returns wrong elements for
// rank-4 hyperslabs; the linear read is correct, compressed or not.)
std::vector<double> read_frame(mat_t* mat, matvar_t* info, const FrameShape& s, std::size_t t,
                               const std::string& path) {
  const std::size_t n = s.ny * s.nx * s.nz;
  std::vector<char> buf(n * Mat_SizeOfClass(info->class_type));
  std::vector<double> out;
  out.reserve(n);
  const auto push = [&out](double x) { out.push_back(x); };
  if (n * s.nt <= static_cast<std::size_t>(std::numeric_limits<int>::max()) &&
      Mat_VarReadDataLinear(mat, info, buf.data(), static_cast<int>(n * t), 1,
                            static_cast<int>(n)) == 0) {
    visit_numeric(buf.data(), class_type(info->class_type), n, push);
    return out;
  }
  // Fall back to reading the whole variable.
  const VarPtr all = read_var(mat, path, kImageVar, false);
  const std::vector<double> v = numeric_values(all.get(), path + ": variable 'sol_yxzt'");
  out.assign(v.begin() + static_cast<std::ptrdiff_t>(n * t),
             v.begin() + static_cast<std::ptrdiff_t>(n * (t + 1)));
  return out;
}

// "patN_tTT" -> TT - 1.
std::size_t frame_of(const std::string& id) {
  const std::size_t at = id.rfind("_t");
  if (at == std::string::npos) throw Error("york: case id '" + id + "' is not patN_tTT");
  return static_cast<std::size_t>(std::stoul(id.substr(at + 2))) - 1;
}

std::string two_digits(std::size_t v) {
  const std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}

// Reads the spacing option into `spacing` (the default when absent).
Status parse_spacing(const nlohmann::json& options, std::array<double, 3>& spacing) {
  spacing = kYorkDefaultSpacing;
  if (!options.is_object() || !options.contains("spacing")) return Status::Ok();
  const nlohmann::json& s = options["spacing"];
  const Status bad =
      Status::Invalid("spacing", "spacing must be three positive numbers [sx, sy, sz] in mm");
  if (!s.is_array() || s.size() != 3) return bad;
  for (std::size_t d = 0; d < 3; ++d) {
    if (!s[d].is_number()) return bad;
    spacing[d] = s[d].get<double>();
    if (!(spacing[d] > 0) || !std::isfinite(spacing[d])) return bad;
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::uint8_t> york_wall_mask(const std::vector<double>& cell, int width, int height) {
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(width) * height, 0);
  if (cell.size() != 2 * kCellRows) return mask;
  // Column-major 65x2: x of row r at [r], y at [65 + r]; 1-based -> 0-based pixel centres.
  const auto contour = [&cell](int first_row) {
    std::vector<std::array<double, 2>> pts;
    for (int r = first_row; r < first_row + kPoints; ++r)
      pts.push_back({cell[r] - 1.0, cell[kCellRows + r] - 1.0});
    return pts;
  };
  fill_polygon(contour(kPoints + 1), width, height, 1, mask);  // epicardium
  fill_polygon(contour(0), width, height, 0, mask);            // minus endocardium
  return mask;
}

YorkDataset::YorkDataset(fs::path root, std::array<double, 3> spacing)
    : root_(std::move(root)), spacing_(spacing) {}

std::vector<CaseRef> YorkDataset::cases() const {
  if (!fs::is_directory(root_))
    throw Error("york: dataset root '" + root_.string() + "' is not a folder");
  const std::regex image_re(R"(sol_yxzt_pat(\d+)\.mat)"),
      seg_re(R"(manual_seg_32points_pat(\d+)\.mat)");
  std::map<int, std::pair<fs::path, fs::path>> patients;
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    const std::string name = e.path().filename().string();
    std::smatch m;
    if (!e.is_regular_file() || name.empty() || name[0] == '.' || name[0] == '_') continue;
    const bool image = std::regex_match(name, m, image_re);
    if (!image && !std::regex_match(name, m, seg_re)) continue;
    fs::path& slot = image ? patients[std::stoi(m[1])].first : patients[std::stoi(m[1])].second;
    if (!slot.empty())
      throw Error("york: '" + name + "' found twice under '" + root_.string() + "'");
    slot = e.path();
  }
  std::vector<CaseRef> out;
  for (const auto& [n, files] : patients) {
    if (files.first.empty() || files.second.empty()) continue;  // unlabelled or image-less
    const Contours c = read_contours(files.second.string());
    const std::string group = "pat" + std::to_string(n);
    for (std::size_t t = 0; t < c.nt; ++t)
      if (c.frame_has_contour(t))
        out.push_back({group + "_t" + two_digits(t + 1),
                       group,
                       {files.first.string(), files.second.string()}});
  }
  if (patients.empty())
    throw Error("york: no sol_yxzt_patN.mat / manual_seg_32points_patN.mat under '" +
                root_.string() + "'");
  std::sort(out.begin(), out.end(), [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; });
  return out;
}

Case YorkDataset::load(const CaseRef& ref) const {
  const std::string& image_path = ref.files.at(0);
  const std::string& seg_path = ref.files.at(1);
  const std::size_t t = frame_of(ref.id);
  const MatPtr mat = open_mat(image_path);
  const VarPtr info = read_var(mat.get(), image_path, kImageVar, true);
  const FrameShape s = image_shape(info.get(), image_path);
  const Contours c = read_contours(seg_path);
  if (c.nz != s.nz || c.nt != s.nt)
    throw Error(seg_path + ": variable '" + kSegVar + "' is " + std::to_string(c.nz) + "x" +
                std::to_string(c.nt) + " but '" + kImageVar + "' in " + image_path + " has " +
                std::to_string(s.nz) + " slices and " + std::to_string(s.nt) + " frames");
  if (t >= s.nt) throw Error(image_path + ": case '" + ref.id + "' names a missing frame");
  const std::vector<double> frame = read_frame(mat.get(), info.get(), s, t, image_path);

  Case out;
  out.id = ref.id;
  Volume& v = out.image;
  const auto nx = static_cast<std::int64_t>(s.nx), ny = static_cast<std::int64_t>(s.ny);
  v.dims = {nx, ny, static_cast<std::int64_t>(s.nz)};
  v.spacing = spacing_;
  v.affine = {
      {{spacing_[0], 0, 0, 0}, {0, spacing_[1], 0, 0}, {0, 0, spacing_[2], 0}, {0, 0, 0, 1}}};
  v.data.resize(static_cast<std::size_t>(v.voxels()));
  out.label.assign(v.data.size(), 0);
  for (std::size_t z = 0; z < s.nz; ++z) {
    const std::size_t slice = z * s.nx * s.ny;  // same offset in both orders
    for (std::size_t x = 0; x < s.nx; ++x)
      for (std::size_t y = 0; y < s.ny; ++y)
        v.data[slice + y * s.nx + x] = static_cast<float>(frame[slice + x * s.ny + y]);
    const std::vector<double>& cell = c.cells[z + c.nz * t];
    if (cell.empty()) continue;
    const std::vector<std::uint8_t> m =
        york_wall_mask(cell, static_cast<int>(nx), static_cast<int>(ny));
    std::copy(m.begin(), m.end(), out.label.begin() + static_cast<std::ptrdiff_t>(slice));
  }
  return out;
}

namespace {

// Contour counts of a cell array: 65x2 cells, -99999 scalars, anything else, and 65x2 cells per
// column (frame).
void add_cell_stats(const matvar_t* v, nlohmann::json& j) {
  int contoured = 0, missing = 0;
  std::vector<int> per_frame(v->dims[1], 0);
  for (std::size_t i = 0; i < numel(v); ++i) {
    const matvar_t* cell = Mat_VarGetCell(const_cast<matvar_t*>(v), static_cast<int>(i));
    if (!cell) continue;
    double first = 0;
    const bool scalar = numel(cell) == 1 && cell->data &&
                        visit_numeric(cell->data, cell->data_type, 1, [&](double x) { first = x; });
    if (cell->rank == 2 && cell->dims[0] == kCellRows && cell->dims[1] == 2 &&
        is_real_numeric(cell)) {
      ++contoured;
      ++per_frame[i / v->dims[0]];
    } else if (scalar && first == kYorkMissingContour) {
      ++missing;
    }
  }
  j["contoured_cells"] = contoured;
  j["missing_cells"] = missing;
  j["other_cells"] = static_cast<int>(numel(v)) - contoured - missing;
  j["contoured_per_frame"] = per_frame;
}

void add_value_stats(const matvar_t* v, nlohmann::json& j) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  visit_numeric(v->data, v->data_type, numel(v), [&](double x) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
  });
  j["min"] = lo;
  j["max"] = hi;
  j["mean"] = sum / static_cast<double>(numel(v));
}

}  // namespace

nlohmann::json inspect_york_mat(const std::string& path) {
  const MatPtr mat = open_mat(path);
  std::vector<std::string> names;
  for (VarPtr v(Mat_VarReadNextInfo(mat.get())); v; v.reset(Mat_VarReadNextInfo(mat.get())))
    if (v->name) names.emplace_back(v->name);
  const enum mat_ft version = Mat_GetVersion(mat.get());
  const char* header = Mat_GetHeader(mat.get());
  nlohmann::json out = {{"path", path},
                        {"format", version == MAT_FT_MAT73  ? "MATLAB 7.3 (HDF5)"
                                   : version == MAT_FT_MAT4 ? "MATLAB 4"
                                                            : "MATLAB 5"},
                        {"header", header ? header : ""},
                        {"variables", nlohmann::json::array()}};
  for (const std::string& name : names) {
    const VarPtr v = read_var(mat.get(), path, name, false);
    nlohmann::json j = {
        {"name", name}, {"class", class_name(v->class_type)}, {"dims", dims_of(v.get())}};
    if (v->class_type == MAT_C_CELL && v->rank == 2)
      add_cell_stats(v.get(), j);
    else if (is_real_numeric(v.get()) && v->data && numel(v.get()) > 0)
      add_value_stats(v.get(), j);
    out["variables"].push_back(j);
  }
  return out;
}

DatasetKind york_cardiac_kind() {
  DatasetKind k;
  k.name = "york_cardiac";
  k.class_names = {"background", "LV wall"};
  k.open = [](const DatasetConfig& c) -> std::unique_ptr<DatasetAdapter> {
    std::array<double, 3> spacing{};
    const Status st = parse_spacing(c.options, spacing);
    if (!st.ok()) throw Error("dataset '" + c.name + "': options.spacing: " + st.message());
    return std::make_unique<YorkDataset>(c.root, spacing);
  };
  k.write_phantom = [](const fs::path& root, const PhantomOptions& p) {
    return write_york_cardiac_phantom(root, p);
  };
  k.check_options = [](const nlohmann::json& o) {
    const Status keys = check_option_keys(o, {"spacing"});
    if (!keys.ok()) return keys;
    std::array<double, 3> spacing{};
    return parse_spacing(o, spacing);
  };
  return k;
}

}  // namespace orch
