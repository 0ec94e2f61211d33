// MATLAB .mat files through matio: owned handles, variables read with a message that names the
// file and the variable, class names, and the values of a real numeric array as doubles. The
// York cardiac adapter and `orch inspect` read their .mat files through this.
#pragma once

#include <matio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace orch {

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatPtr = std::unique_ptr<mat_t, MatCloser>;
using VarPtr = std::unique_ptr<matvar_t, VarFreer>;

// Opens `path` read-only; throws orch::Error naming it when it is no .mat file.
MatPtr open_mat(const std::string& path);

// Reads variable `name` (with its data unless `info_only`); throws naming file and variable.
VarPtr read_var(mat_t* mat, const std::string& path, const std::string& name, bool info_only);

// "double", "cell", ... ("unknown" for a class matio adds later).
std::string class_name(matio_classes c);
// The in-memory element type of a real numeric class, MAT_T_UNKNOWN for any other class.
matio_types class_type(matio_classes c);
std::vector<std::size_t> dims_of(const matvar_t* v);
std::string dims_text(const matvar_t* v);  // "65x2"
std::size_t numel(const matvar_t* v);
bool is_real_numeric(const matvar_t* v);

template <typename T, typename F>
bool visit_as(const void* data, std::size_t n, F& f) {
  const T* p = static_cast<const T*>(data);
  for (std::size_t i = 0; i < n; ++i) f(static_cast<double>(p[i]));
  return true;
}

// Calls f(double) for the n elements of `data` of element type `type`; false if unsupported.
template <typename F>
bool visit_numeric(const void* data, matio_types type, std::size_t n, F&& f) {
  // clang-format off
  switch (type) {
    case MAT_T_DOUBLE: return visit_as<double>(data, n, f);
    case MAT_T_SINGLE: return visit_as<float>(data, n, f);
    case MAT_T_INT8: return visit_as<std::int8_t>(data, n, f);
    case MAT_T_UINT8: return visit_as<std::uint8_t>(data, n, f);
    case MAT_T_INT16: return visit_as<std::int16_t>(data, n, f);
    case MAT_T_UINT16: return visit_as<std::uint16_t>(data, n, f);
    case MAT_T_INT32: return visit_as<std::int32_t>(data, n, f);
    case MAT_T_UINT32: return visit_as<std::uint32_t>(data, n, f);
    case MAT_T_INT64: return visit_as<std::int64_t>(data, n, f);
    case MAT_T_UINT64: return visit_as<std::uint64_t>(data, n, f);
    default: return false;
  }
  // clang-format on
}

// The values of a numeric variable read with its data; throws naming `what` otherwise.
std::vector<double> numeric_values(const matvar_t* v, const std::string& what);

}  // namespace orch
