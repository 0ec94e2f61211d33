#include "datastore/formats/mat.h"

#include <map>

#include "common/status.h"
#include "common/strings.h"

namespace orch {

namespace {

struct ClassInfo {
  const char* name;
  matio_types type;  // in-memory element type of a real numeric class, else MAT_T_UNKNOWN
};

ClassInfo class_info(matio_classes c) {
  // clang-format off
  static const std::map<matio_classes, ClassInfo> table = {
      {MAT_C_EMPTY, {"empty", MAT_T_UNKNOWN}},      {MAT_C_CELL, {"cell", MAT_T_UNKNOWN}},
      {MAT_C_STRUCT, {"struct", MAT_T_UNKNOWN}},    {MAT_C_OBJECT, {"object", MAT_T_UNKNOWN}},
      {MAT_C_CHAR, {"char", MAT_T_UNKNOWN}},        {MAT_C_SPARSE, {"sparse", MAT_T_UNKNOWN}},
      {MAT_C_DOUBLE, {"double", MAT_T_DOUBLE}},     {MAT_C_SINGLE, {"single", MAT_T_SINGLE}},
      {MAT_C_INT8, {"int8", MAT_T_INT8}},           {MAT_C_UINT8, {"uint8", MAT_T_UINT8}},
      {MAT_C_INT16, {"int16", MAT_T_INT16}},        {MAT_C_UINT16, {"uint16", MAT_T_UINT16}},
      {MAT_C_INT32, {"int32", MAT_T_INT32}},        {MAT_C_UINT32, {"uint32", MAT_T_UINT32}},
      {MAT_C_INT64, {"int64", MAT_T_INT64}},        {MAT_C_UINT64, {"uint64", MAT_T_UINT64}},
      {MAT_C_FUNCTION, {"function", MAT_T_UNKNOWN}}, {MAT_C_OPAQUE, {"opaque", MAT_T_UNKNOWN}}};
  // clang-format on
  const auto it = table.find(c);
  return it == table.end() ? ClassInfo{"unknown", MAT_T_UNKNOWN} : it->second;
}

}  // namespace

MatPtr open_mat(const std::string& path) {
  MatPtr m(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!m) throw Error(path + ": cannot open as a MATLAB .mat file");
  return m;
}

// Reads variable `name` (with its data unless `info_only`); throws naming file and variable.
VarPtr read_var(mat_t* mat, const std::string& path, const std::string& name, bool info_only) {
  VarPtr v(info_only ? Mat_VarReadInfo(mat, name.c_str()) : Mat_VarRead(mat, name.c_str()));
  if (!v) throw Error(path + ": no variable '" + name + "' (or it cannot be read)");
  return v;
}

std::string class_name(matio_classes c) { return class_info(c).name; }
matio_types class_type(matio_classes c) { return class_info(c).type; }

std::vector<std::size_t> dims_of(const matvar_t* v) {
  return std::vector<std::size_t>(v->dims, v->dims + v->rank);
}

std::string dims_text(const matvar_t* v) { return join(dims_of(v), "x"); }

std::size_t numel(const matvar_t* v) {
  std::size_t n = 1;
  for (int d = 0; d < v->rank; ++d) n *= v->dims[d];
  return n;
}

bool is_real_numeric(const matvar_t* v) {
  return class_type(v->class_type) != MAT_T_UNKNOWN && !v->isComplex;
}

// The values of a numeric variable read with its data; throws naming `what` otherwise.
std::vector<double> numeric_values(const matvar_t* v, const std::string& what) {
  std::vector<double> out;
  const std::size_t n = numel(v);
  out.reserve(n);
  if (!is_real_numeric(v) || (n > 0 && !v->data) ||
      !visit_numeric(v->data, v->data_type, n, [&out](double x) { out.push_back(x); }))
    throw Error(what + " is " + class_name(v->class_type) + (v->isComplex ? " complex" : "") +
                "; expected a real numeric array");
  return out;
}

}  // namespace orch
