// The one reader of a model's YAML `options:` object.
//
// A model lists the keys it accepts, each with the code that reads that key's value through the
// typed getters of ModelOption; ModelOptionReader::read then walks the options in their (sorted)
// key order, hands each value to its key's reader and rejects a key nobody registered, listing
// the registered ones. Every failure is an orch::Error::Option(key, "expected ..."), whose key()
// the YAML parser uses to point at the offending line.
//
//   ModelOptionReader reader("wide_unet");
//   reader.on("width", [&](const ModelOption& v) { w = v.number_in(0, 4, Ends::kOpenClosed); });
//   reader.read(j);
//
// Values are read exactly as nlohmann::json gives them (get<int64_t>, get<double>), so a value
// accepted here is the value the model is built with and the trial id is hashed from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch {

// Which ends of a number range belong to it: kOpenClosed is (lo, hi], kClosedOpen is [lo, hi).
enum class Ends { kClosed, kOpenClosed, kClosedOpen, kOpen };

// How one_of quotes the allowed values in its message.
enum class Quote { kNone, kSingle, kDouble };

// One option's value and its key. Each getter returns the value when it has the named type and
// range, and otherwise throws orch::Error::Option(key, "expected ...").
class ModelOption {
 public:
  // Keeps a pointer to `value`, which must outlive this.
  ModelOption(std::string key, const nlohmann::json& value)
      : key_(std::move(key)), value_(&value) {}
  ModelOption(std::string key, nlohmann::json&& value) = delete;

  const std::string& key() const { return key_; }
  const nlohmann::json& json() const { return *value_; }

  // An integer >= 1: "expected a positive integer".
  int64_t positive_int() const;
  // An odd integer >= 1: "expected a positive odd integer".
  int64_t positive_odd_int() const;
  // An integer >= min: "expected an integer >= <min>".
  int64_t int_at_least(int64_t min) const;
  // An integer in lo..hi: "expected an integer in <lo>..<hi>".
  int64_t int_in(int64_t lo, int64_t hi) const;
  // Any number (integer or not) in the range: "expected a number in (lo, hi]" (brackets per
  // `ends`).
  double number_in(double lo, double hi, Ends ends) const;
  // true or false: "expected true or false".
  bool boolean() const;
  // Any string: "expected <what>".
  std::string string(const std::string& what) const;
  // One of `allowed`: "expected 'a' or 'b'" for two values, else "expected one of a, b, c"
  // (quoted per `quote`).
  std::string one_of(const std::vector<std::string>& allowed, Quote quote) const;
  // One of `allowed`, with the message "expected <what>".
  std::string one_of(const std::vector<std::string>& allowed, const std::string& what) const;
  // A list of min_size..max_size values: "expected a list of <what>". Each item is a ModelOption
  // under the same key, for the item's own getter.
  std::vector<ModelOption> list(size_t min_size, size_t max_size, const std::string& what) const;
  // A list of `size` integers >= 1: "expected a list of <what>", then, for a bad item, "expected
  // positive integers".
  std::vector<int64_t> positive_ints(size_t size, const std::string& what) const;

  // Throws orch::Error::Option(key, text): for a rule the getters do not cover.
  [[noreturn]] void fail(const std::string& text) const;

 private:
  std::string key_;
  const nlohmann::json* value_;
};

// The keys a model accepts and how each is read.
class ModelOptionReader {
 public:
  using ReadFn = std::function<void(const ModelOption& value)>;

  // `model` names the model in the unknown-key message.
  explicit ModelOptionReader(std::string model) : model_(std::move(model)) {}

  // Accepts `key`, read by `read`. Keys are listed, in the unknown-key message, in the order
  // they were added. Adding a key again replaces its reader and keeps its place.
  ModelOptionReader& on(const std::string& key, ReadFn read);
  // Stops accepting `key` (a model that reuses another's options without one of them).
  ModelOptionReader& remove(const std::string& key);

  // Reads `options`: null (no options) or a mapping. For each key in the mapping's order, calls
  // its reader; throws orch::Error::Option(key, "unknown option for <model>; expected one of:
  // <keys>") for a key not added, and orch::Error("options: expected a mapping") (no key) for
  // options that are neither null nor a mapping.
  void read(const nlohmann::json& options) const;

  // The accepted keys, in the order they were added.
  std::vector<std::string> keys() const;

 private:
  struct Entry {
    std::string key;
    ReadFn read;
  };
  std::string model_;
  std::vector<Entry> entries_;
};

}  // namespace orch
