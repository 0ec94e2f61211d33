#include "common/config/yaml_reader.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>

#include "common/status.h"
#include "common/strings.h"

namespace orch {

namespace {

std::string join_key(const std::string& ctx, const char* key) {
  return ctx.empty() ? std::string(key) : ctx + "." + key;
}

// How a node that is not the expected scalar reads in an error message.
std::string describe(const YAML::Node& n) {
  if (!n || n.IsNull()) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  return n.IsMap() ? "a mapping" : "a list";
}

bool parse_int(const std::string& s, std::int64_t& v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  v = x;
  return true;
}

bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(x)) return false;
  v = x;
  return true;
}

}  // namespace

YAML::Node YamlReader::load() const {
  if (!std::filesystem::exists(file_)) throw Error(file_ + ": no such file");
  if (!std::filesystem::is_regular_file(file_)) throw Error(file_ + ": not a regular file");
  try {
    YAML::Node root = YAML::LoadFile(file_);
    if (!root.IsMap()) fail(root, "expected a mapping at the top level of the experiment");
    return root;
  } catch (const YAML::ParserException& e) {
    throw Error(file_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  } catch (const YAML::BadFile&) {
    throw Error(file_ + ": cannot read the file");
  } catch (const YAML::Exception& e) {
    throw Error(file_ + ": " + e.what());
  }
}

std::string YamlReader::where(const YAML::Node& at) const {
  if (!at.IsDefined()) return file_;
  const YAML::Mark m = at.Mark();
  if (m.is_null()) return file_;
  return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

void YamlReader::fail(const YAML::Node& at, const std::string& message) const {
  throw Error(where(at) + ": " + message);
}

void YamlReader::expect_map(const YAML::Node& n, const std::string& what) const {
  if (!n.IsMap()) fail(n, what + ": expected a mapping of key: value, got " + describe(n));
  std::set<std::string> seen;
  for (const auto& kv : n)
    if (!seen.insert(kv.first.Scalar()).second)
      fail(kv.first, what + ": duplicate key '" + kv.first.Scalar() + "'");
}

void YamlReader::expect_sequence(const YAML::Node& n, const std::string& what) const {
  if (!n.IsSequence()) fail(n, what + ": expected a list");
}

void YamlReader::check_keys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                            const std::string& context) const {
  expect_map(map, context);
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok)
      fail(kv.first,
           "unknown key '" + key + "' in " + context + "; expected one of: " + join(allowed));
  }
}

YAML::Node YamlReader::key_node(const YAML::Node& map, const std::string& key) const {
  for (const auto& kv : map)
    if (kv.first.Scalar() == key) return kv.first;
  return map;
}

YAML::Node YamlReader::require(const YAML::Node& map, const std::string& key,
                               const std::string& context) const {
  const YAML::Node n = map[key];
  if (!n || n.IsNull()) fail(map, context + ": missing required key '" + key + "'");
  return n;
}

std::string YamlReader::as_string(const YAML::Node& n, const std::string& what) const {
  if (!n.IsScalar()) fail(n, what + ": expected a string, got " + describe(n));
  return n.Scalar();
}

double YamlReader::as_double(const YAML::Node& n, const std::string& what) const {
  double v = 0;
  if (!n.IsScalar() || !parse_double(n.Scalar(), v))
    fail(n, what + ": expected a number, got " + describe(n));
  return v;
}

std::int64_t YamlReader::as_int(const YAML::Node& n, const std::string& what) const {
  std::int64_t v = 0;
  if (!n.IsScalar() || !parse_int(n.Scalar(), v))
    fail(n, what + ": expected an integer, got " + describe(n));
  return v;
}

bool YamlReader::as_bool(const YAML::Node& n, const std::string& what) const {
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(n, what + ": expected true or false");
}

int YamlReader::as_int32(const YAML::Node& n, const std::string& what) const {
  const std::int64_t v = as_int(n, what);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    fail(n, what + ": " + std::to_string(v) + " is out of range");
  return static_cast<int>(v);
}

std::vector<int> YamlReader::as_ints(const YAML::Node& n, std::size_t count,
                                     const std::string& what) const {
  if (!n.IsSequence() || n.size() != count)
    fail(n, what + ": expected a list of " + std::to_string(count) + " integers");
  std::vector<int> out;
  for (const auto& x : n) out.push_back(as_int32(x, what));
  return out;
}

std::vector<double> YamlReader::as_doubles(const YAML::Node& n, std::size_t count,
                                           const std::string& what) const {
  if (!n.IsSequence() || n.size() != count)
    fail(n, what + ": expected a list of " + std::to_string(count) + " numbers");
  std::vector<double> out;
  for (const auto& x : n) out.push_back(as_double(x, what));
  return out;
}

nlohmann::json YamlReader::as_json(const YAML::Node& n) const {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : n) j[kv.first.Scalar()] = as_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& x : n) j.push_back(as_json(x));
    return j;
  }
  if (n.IsNull()) return nullptr;
  const std::string& s = n.Scalar();
  std::int64_t i = 0;
  double d = 0;
  if (n.Tag() != "!" && parse_int(s, i)) return i;
  if (n.Tag() != "!" && parse_double(s, d)) return d;
  if (s == "true" || s == "false") return s == "true";
  return s;
}

void YamlReader::opt(const YAML::Node& map, const char* key, std::string& out,
                     const std::string& ctx) const {
  if (const YAML::Node n = map[key]) out = as_string(n, join_key(ctx, key));
}
void YamlReader::opt(const YAML::Node& map, const char* key, double& out,
                     const std::string& ctx) const {
  if (const YAML::Node n = map[key]) out = as_double(n, join_key(ctx, key));
}
void YamlReader::opt(const YAML::Node& map, const char* key, int& out,
                     const std::string& ctx) const {
  if (const YAML::Node n = map[key]) out = as_int32(n, join_key(ctx, key));
}
void YamlReader::opt(const YAML::Node& map, const char* key, std::uint64_t& out,
                     const std::string& ctx) const {
  if (const YAML::Node n = map[key]) {
    const std::int64_t v = as_int(n, join_key(ctx, key));
    if (v < 0) fail(n, join_key(ctx, key) + ": expected a non-negative integer");
    out = static_cast<std::uint64_t>(v);
  }
}
void YamlReader::opt(const YAML::Node& map, const char* key, bool& out,
                     const std::string& ctx) const {
  if (const YAML::Node n = map[key]) out = as_bool(n, join_key(ctx, key));
}

}  // namespace orch
