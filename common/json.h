// JSON for numbers that may be NaN or infinite. JSON has neither: orch writes NaN (undefined) as
// null and +inf (a surface distance to an empty mask) as the string "inf", and reads them back.
// Used by the wire protocol, `orch eval --json` and the checkpoint's epoch history.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace orch {

inline nlohmann::json number_json(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

// The inverse of number_json: a number as is, "inf"/"-inf" as infinities, anything else NaN.
inline double number_from_json(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace orch
