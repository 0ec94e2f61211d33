#include "models/options.h"

#include <algorithm>
#include <sstream>

#include "common/status.h"
#include "common/strings.h"

namespace orch {

namespace {

// A bound as the messages print it: 0, 4, 16, 0.5.
std::string bound(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

std::string quoted(const std::string& s, Quote quote) {
  switch (quote) {
    case Quote::kSingle:
      return "'" + s + "'";
    case Quote::kDouble:
      return "\"" + s + "\"";
    case Quote::kNone:
      break;
  }
  return s;
}

}  // namespace

// Each check is written as the models wrote theirs (rejecting v < lo rather than accepting
// v >= lo), so the same values pass: a NaN passes a number range, as it always did.

int64_t ModelOption::positive_int() const {
  if (!json().is_number_integer() || json().get<int64_t>() < 1) fail("expected a positive integer");
  return json().get<int64_t>();
}

int64_t ModelOption::positive_odd_int() const {
  if (!json().is_number_integer() || json().get<int64_t>() < 1 || json().get<int64_t>() % 2 == 0)
    fail("expected a positive odd integer");
  return json().get<int64_t>();
}

int64_t ModelOption::int_at_least(int64_t min) const {
  if (!json().is_number_integer() || json().get<int64_t>() < min)
    fail("expected an integer >= " + std::to_string(min));
  return json().get<int64_t>();
}

int64_t ModelOption::int_in(int64_t lo, int64_t hi) const {
  if (!json().is_number_integer() || json().get<int64_t>() < lo || json().get<int64_t>() > hi)
    fail("expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  return json().get<int64_t>();
}

double ModelOption::number_in(double lo, double hi, Ends ends) const {
  const bool lo_open = ends == Ends::kOpen || ends == Ends::kOpenClosed;
  const bool hi_open = ends == Ends::kOpen || ends == Ends::kClosedOpen;
  bool bad = !json().is_number();
  if (!bad) {
    const double v = json().get<double>();
    bad = (lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi);
  }
  if (bad)
    fail("expected a number in " + std::string(lo_open ? "(" : "[") + bound(lo) + ", " + bound(hi) +
         (hi_open ? ")" : "]"));
  return json().get<double>();
}

bool ModelOption::boolean() const {
  if (!json().is_boolean()) fail("expected true or false");
  return json().get<bool>();
}

std::string ModelOption::string(const std::string& what) const {
  if (!json().is_string()) fail("expected " + what);
  return json().get<std::string>();
}

std::string ModelOption::one_of(const std::vector<std::string>& allowed, Quote quote) const {
  std::vector<std::string> shown;
  for (const auto& a : allowed) shown.push_back(quoted(a, quote));
  return one_of(allowed,
                shown.size() == 2 ? shown[0] + " or " + shown[1] : "one of " + join(shown));
}

std::string ModelOption::one_of(const std::vector<std::string>& allowed,
                                const std::string& what) const {
  if (!json().is_string() ||
      std::find(allowed.begin(), allowed.end(), json().get<std::string>()) == allowed.end())
    fail("expected " + what);
  return json().get<std::string>();
}

std::vector<ModelOption> ModelOption::list(size_t min_size, size_t max_size,
                                           const std::string& what) const {
  if (!json().is_array() || json().size() < min_size || json().size() > max_size)
    fail("expected a list of " + what);
  std::vector<ModelOption> items;
  for (const auto& item : json()) items.emplace_back(key_, item);
  return items;
}

std::vector<int64_t> ModelOption::positive_ints(size_t size, const std::string& what) const {
  std::vector<int64_t> out;
  for (const auto& item : list(size, size, what)) {
    if (!item.json().is_number_integer() || item.json().get<int64_t>() < 1)
      fail("expected positive integers");
    out.push_back(item.json().get<int64_t>());
  }
  return out;
}

void ModelOption::fail(const std::string& text) const { throw Error::Option(key_, text); }

ModelOptionReader& ModelOptionReader::on(const std::string& key, ReadFn read) {
  for (auto& e : entries_) {
    if (e.key == key) {
      e.read = std::move(read);
      return *this;
    }
  }
  entries_.push_back({key, std::move(read)});
  return *this;
}

ModelOptionReader& ModelOptionReader::remove(const std::string& key) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.key == key; }),
                 entries_.end());
  return *this;
}

std::vector<std::string> ModelOptionReader::keys() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.key);
  return out;
}

void ModelOptionReader::read(const nlohmann::json& options) const {
  if (!options.is_null() && !options.is_object()) throw Error("options: expected a mapping");
  for (const auto& [key, value] : options.items()) {
    const Entry* entry = nullptr;
    for (const auto& e : entries_)
      if (e.key == key) entry = &e;
    if (!entry)
      throw Error::Option(key,
                          "unknown option for " + model_ + "; expected one of: " + join(keys()));
    entry->read(ModelOption(key, value));
  }
}

}  // namespace orch
