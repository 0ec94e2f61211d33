// YamlReader: typed access to a yaml-cpp document whose every error is one line,
// "file:line:col: message", naming the key and what was expected. Used only by config_yaml.cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  YAML::Node load() const;  // parses file_, turning syntax errors into located errors

  [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const;
  std::string where(const YAML::Node& at) const;  // "file:line:col"

  // Fails on any key of `map` not in `allowed`, listing the allowed ones.
  void check_keys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                  const std::string& context) const;
  void expect_map(const YAML::Node& n, const std::string& what) const;
  void expect_sequence(const YAML::Node& n, const std::string& what) const;
  YAML::Node key_node(const YAML::Node& map, const std::string& key) const;  // the key itself
  YAML::Node require(const YAML::Node& map, const std::string& key,
                     const std::string& context) const;

  std::string as_string(const YAML::Node& n, const std::string& what) const;
  double as_double(const YAML::Node& n, const std::string& what) const;
  std::int64_t as_int(const YAML::Node& n, const std::string& what) const;
  bool as_bool(const YAML::Node& n, const std::string& what) const;
  int as_int32(const YAML::Node& n, const std::string& what) const;  // range-checked
  std::vector<int> as_ints(const YAML::Node& n, std::size_t count, const std::string& what) const;
  std::vector<double> as_doubles(const YAML::Node& n, std::size_t count,
                                 const std::string& what) const;
  nlohmann::json as_json(const YAML::Node& n) const;  // scalars typed: int, float, bool, string

  // Sets `out` from map[key] when present.
  void opt(const YAML::Node& map, const char* key, std::string& out, const std::string& ctx) const;
  void opt(const YAML::Node& map, const char* key, double& out, const std::string& ctx) const;
  void opt(const YAML::Node& map, const char* key, int& out, const std::string& ctx) const;
  void opt(const YAML::Node& map, const char* key, std::uint64_t& out,
           const std::string& ctx) const;
  void opt(const YAML::Node& map, const char* key, bool& out, const std::string& ctx) const;

 private:
  std::string file_;
};

}  // namespace orch
