// Parsing `NAME(key=value,...)` into a TransformSpec, with TorchIO's names, keys and rules for
// expanding scalars into ranges (RandomTransform._parse_range and parse_params).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>

#include "common/status.h"
#include "common/strings.h"
#include "worker/data/transforms.h"

namespace orch {

namespace {

struct Value {
  std::vector<double> numbers;  // a number or a tuple
  std::string word;             // true, false, label, ...
};

const std::map<std::string, std::vector<std::string>>& known_keys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"flip", {"axes", "flip_probability", "p"}},
      {"affine", {"scales", "degrees", "translation", "isotropic", "p"}},
      {"elastic", {"num_control_points", "max_displacement", "locked_borders", "p"}},
      {"motion", {"degrees", "translation", "num_transforms", "p"}},
      {"bias_field", {"coefficients", "order", "p"}},
      {"noise", {"mean", "std", "p"}},
      {"gamma", {"log_gamma", "p"}},
      {"znorm", {"masking_method", "p"}}};
  return keys;
}

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  // NAME [ '(' key=value {, key=value} ')' ]
  std::pair<std::string, std::map<std::string, Value>> parse() {
    const std::string name = word();
    if (name.empty()) fail("expected a transform name");
    std::map<std::string, Value> args;
    skip();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      skip();
      while (!eat(')')) {
        if (!args.empty() && !eat(',')) fail("expected ',' or ')'");
        const std::string key = word();
        if (key.empty()) fail("expected a key");
        if (!eat('=')) fail("expected '=' after '" + key + "'");
        if (args.count(key)) fail("key '" + key + "' given twice");
        args[key] = value();
      }
    }
    skip();
    if (pos_ != text_.size()) fail("unexpected text after the transform");
    return {name, args};
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("transform '" + text_ + "': " + what + " at character " + std::to_string(pos_));
  }
  void skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      skip();
      return true;
    }
    return false;
  }
  std::string word() {
    skip();
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }
  double number() {
    skip();
    const char* begin = text_.c_str() + pos_;
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin) fail("expected a number");
    pos_ += static_cast<size_t>(end - begin);
    skip();
    return v;
  }
  Value value() {
    Value v;
    if (eat('(')) {
      do v.numbers.push_back(number());
      while (eat(','));
      if (!eat(')')) fail("expected ')' closing a tuple");
    } else if (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) {
      v.word = word();
      skip();
    } else {
      v.numbers.push_back(number());
    }
    return v;
  }

  std::string text_;
  size_t pos_ = 0;
};

// Reads the keys of one transform with messages that name the transform and the key.
class Args {
 public:
  Args(std::string name, std::map<std::string, Value> args)
      : name_(std::move(name)), args_(std::move(args)) {}
  bool has(const std::string& key) const { return args_.count(key) > 0; }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error("transform '" + name_ + "': " + key + " " + what);
  }
  std::vector<double> numbers(const std::string& key, std::vector<size_t> counts) const {
    const auto& v = args_.at(key);
    for (size_t c : counts)
      if (v.numbers.size() == c && v.word.empty()) return v.numbers;
    fail(key, "must be a number or a tuple of " + std::to_string(counts.back()) + " numbers");
  }
  double real(const std::string& key, double lo, double hi) const {
    const double v = numbers(key, {1})[0];
    if (!(v >= lo && v <= hi))
      fail(key, "must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }
  int integer(const std::string& key, int lo, int hi) const {
    const double v = real(key, lo, hi);
    if (v != std::floor(v)) fail(key, "must be a whole number");
    return static_cast<int>(v);
  }
  std::string word(const std::string& key) const {
    const auto& v = args_.at(key);
    if (v.word.empty()) fail(key, "must be a word");
    return v.word;
  }
  // TorchIO's _parse_range: x -> (-x, x) (or (min, x) when a minimum applies), (a, b) as given.
  Range range(const std::string& key, bool from_zero = false) const {
    const auto v = numbers(key, {1, 2});
    if (v.size() == 2) {
      if (v[0] > v[1]) fail(key, "range must have min <= max");
      if (from_zero && v[0] < 0) fail(key, "must not be negative");
      return {v[0], v[1]};
    }
    if (v[0] < 0) fail(key, "must not be negative when it is a single number");
    return {from_zero ? 0.0 : -v[0], v[0]};
  }
  // RandomAffine's parse_params: x, (a, b), (x1, x2, x3) around `around`, or six bounds.
  std::array<Range, 3> triplet(const std::string& key, double around) const {
    auto v = numbers(key, {1, 2, 3, 6});
    if (v.size() == 1) v = {v[0], v[0], v[0]};
    if (v.size() == 2) v = {v[0], v[1], v[0], v[1], v[0], v[1]};
    if (v.size() == 3)
      v = {around - v[0], around + v[0], around - v[1],
           around + v[1], around - v[2], around + v[2]};
    std::array<Range, 3> r;
    for (size_t a = 0; a < 3; ++a) {
      r[a] = {v[2 * a], v[2 * a + 1]};
      if (r[a].lo > r[a].hi) fail(key, "range must have min <= max");
    }
    return r;
  }

 private:
  std::string name_;
  std::map<std::string, Value> args_;
};

TransformOptions make_options(const std::string& name, const Args& a);

}  // namespace

TransformSpec parse_transform(const std::string& text) {
  auto [name, args] = Parser(text).parse();
  const auto& keys = known_keys();
  const auto known = keys.find(name);
  if (known == keys.end()) {
    std::vector<std::string> names;
    for (const auto& [n, k] : keys) names.push_back(n);
    throw Error("unknown transform '" + name + "'; known: " + join(names));
  }
  for (const auto& [key, value] : args) {
    const auto& k = known->second;
    if (std::find(k.begin(), k.end(), key) == k.end())
      throw Error("transform '" + name + "': unknown key '" + key + "'; known: " + join(k));
  }
  const Args a(name, args);
  TransformSpec spec;
  spec.name = name;
  if (a.has("p")) spec.p = a.real("p", 0, 1);
  spec.options = make_options(name, a);
  return spec;
}

namespace {

TransformOptions make_spatial(const std::string& name, const Args& a) {
  if (name == "flip") {
    FlipOptions o;
    if (a.has("axes")) {
      o.axes.clear();
      for (double v : a.numbers("axes", {1, 2, 3})) {
        if (v != 0 && v != 1 && v != 2) a.fail("axes", "must be 0, 1 or 2");
        o.axes.push_back(static_cast<int>(v));
      }
    }
    if (a.has("flip_probability")) o.flip_probability = a.real("flip_probability", 0, 1);
    return o;
  }
  if (name == "affine") {
    AffineOptions o;
    if (a.has("scales")) o.scales = a.triplet("scales", 1.0);
    for (const auto& r : o.scales)
      if (r.lo < 0) a.fail("scales", "must not go below 0");
    if (a.has("degrees")) o.degrees = a.triplet("degrees", 0.0);
    if (a.has("translation")) o.translation = a.triplet("translation", 0.0);
    if (a.has("isotropic")) {
      const std::string w = a.word("isotropic");
      if (w != "true" && w != "false" && w != "True" && w != "False")
        a.fail("isotropic", "must be true or false");
      o.isotropic = w == "true" || w == "True";
    }
    return o;
  }
  ElasticOptions o;
  if (a.has("num_control_points")) {
    auto v = a.numbers("num_control_points", {1, 3});
    for (size_t i = 0; i < 3; ++i) {
      const double n = v[v.size() == 1 ? 0 : i];
      if (n < 4 || n != std::floor(n)) a.fail("num_control_points", "must be whole numbers >= 4");
      o.num_control_points[i] = static_cast<int>(n);
    }
  }
  if (a.has("max_displacement")) {
    auto v = a.numbers("max_displacement", {1, 3});
    for (size_t i = 0; i < 3; ++i) {
      o.max_displacement[i] = v[v.size() == 1 ? 0 : i];
      if (o.max_displacement[i] < 0) a.fail("max_displacement", "must not be negative");
    }
  }
  if (a.has("locked_borders")) o.locked_borders = a.integer("locked_borders", 0, 2);
  for (int n : o.num_control_points)
    if (o.locked_borders == 2 && n == 4)
      a.fail("locked_borders", "= 2 with 4 control points gives an identity transform");
  return o;
}

TransformOptions make_options(const std::string& name, const Args& a) {
  if (name == "flip" || name == "affine" || name == "elastic") return make_spatial(name, a);
  if (name == "motion") {
    MotionOptions o;
    if (a.has("degrees")) o.degrees = a.range("degrees");
    if (a.has("translation")) o.translation = a.range("translation");
    if (a.has("num_transforms")) o.num_transforms = a.integer("num_transforms", 1, 1000);
    return o;
  }
  if (name == "bias_field") {
    BiasFieldOptions o;
    if (a.has("coefficients")) o.coefficients = a.range("coefficients");
    if (a.has("order")) o.order = a.integer("order", 0, 10);
    return o;
  }
  if (name == "noise") {
    NoiseOptions o;
    if (a.has("mean")) o.mean = a.range("mean");
    if (a.has("std")) o.std = a.range("std", /*from_zero=*/true);
    return o;
  }
  if (name == "gamma") {
    GammaOptions o;
    if (a.has("log_gamma")) o.log_gamma = a.range("log_gamma");
    return o;
  }
  ZNormOptions o;
  if (a.has("masking_method")) {
    o.masking_method = a.word("masking_method");
    if (o.masking_method == "none" || o.masking_method == "None") o.masking_method.clear();
    if (!o.masking_method.empty() && o.masking_method != "label" && o.masking_method != "mean")
      a.fail("masking_method", "must be none, label or mean");
  }
  return o;
}

}  // namespace
}  // namespace orch
