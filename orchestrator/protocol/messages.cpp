#include "orchestrator/protocol/messages.h"

#include <cstdint>
#include <exception>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/status.h"

namespace orch::protocol {

using nlohmann::json;

namespace {

// Reads one message's JSON, turning every problem into an orch::Error that names the message
// kind and the field.
class Reader {
 public:
  Reader(const char* kind, const std::string& payload) : kind_(kind) {
    body_ = json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (body_.is_discarded()) fail("is not JSON: '" + payload.substr(0, 80) + "'");
    if (!body_.is_object()) fail("is not a JSON object");
  }

  const json& body() const { return body_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(std::string(kind_) + " message " + what, ErrorCode::kCorrupt);
  }
  [[noreturn]] void bad(const std::string& field, const std::string& what) const {
    throw Error(std::string(kind_) + " message: " + field + " " + what, ErrorCode::kCorrupt);
  }

  const json& at(const json& parent, const char* key, const std::string& field) const {
    const auto it = parent.find(key);
    if (it == parent.end()) bad(field, "is missing");
    return *it;
  }
  const json& at(const char* key) const { return at(body_, key, key); }

  std::string string(const json& v, const std::string& field) const {
    if (!v.is_string()) bad(field, "is not a string");
    return v.get<std::string>();
  }
  bool boolean(const json& v, const std::string& field) const {
    if (!v.is_boolean()) bad(field, "is not a boolean");
    return v.get<bool>();
  }
  template <typename Int>
  Int integer(const json& v, const std::string& field) const {
    if (!v.is_number()) bad(field, "is not a number");
    return v.get<Int>();
  }
  const json& array(const json& v, const std::string& field) const {
    if (!v.is_array()) bad(field, "is not an array");
    return v;
  }

 private:
  const char* kind_;
  json body_;
};

std::string index_field(const std::string& field, size_t i) {
  return field + "[" + std::to_string(i) + "]";
}

// Epoch values through common/json.h's codec: NaN as null, infinities as "inf" / "-inf".
json epoch_json(const EpochRecord& e) {
  return {{"epoch", e.epoch},
          {"train_loss", number_json(e.train_loss)},
          {"val_loss", number_json(e.val_loss)},
          {"val_dsc", number_json(e.val_dsc)},
          {"val_iou", number_json(e.val_iou)},
          {"lr", number_json(e.lr)},
          {"seconds", number_json(e.seconds)}};
}

EpochRecord epoch_from_json(const Reader& r, const json& j) {
  if (!j.is_object()) r.bad("epoch", "is not a JSON object");
  const auto num = [&](const char* key) {
    return number_from_json(r.at(j, key, std::string("epoch.") + key));
  };
  EpochRecord e;
  e.epoch = r.integer<int>(r.at(j, "epoch", "epoch.epoch"), "epoch.epoch");
  e.train_loss = num("train_loss");
  e.val_loss = num("val_loss");
  e.val_dsc = num("val_dsc");
  e.lr = num("lr");
  e.seconds = num("seconds");
  e.val_iou = j.contains("val_iou") ? num("val_iou") : nan_value();
  return e;
}

constexpr const char* kCountColumns[] = {"case",
                                         "class",
                                         "tp",
                                         "fp",
                                         "fn",
                                         "tn",
                                         "hd95",
                                         "assd",
                                         "nsd",
                                         "dsc_slice",
                                         "dsc_slice_nonempty"};

CaseClassCounts count_from_json(const Reader& r, const json& row, const std::string& field) {
  r.array(row, field);
  if (row.size() < 6)
    r.bad(field, "has " + std::to_string(row.size()) + " values; a count row has 6, 9 or 11");
  const auto col = [&](size_t i) { return index_field(field, i) + " (" + kCountColumns[i] + ")"; };
  CaseClassCounts c;
  c.case_id = r.string(row[0], col(0));
  c.label = r.integer<int>(row[1], col(1));
  c.counts = ConfusionCounts{
      r.integer<std::int64_t>(row[2], col(2)), r.integer<std::int64_t>(row[3], col(3)),
      r.integer<std::int64_t>(row[4], col(4)), r.integer<std::int64_t>(row[5], col(5))};
  if (row.size() >= 9) {  // rows without surface metrics keep NaN
    c.hd95 = number_from_json(row[6]);
    c.assd = number_from_json(row[7]);
    c.nsd = number_from_json(row[8]);
  }
  if (row.size() >= 11) {  // rows without the per-slice Dice keep NaN
    c.dsc_slice = number_from_json(row[9]);
    c.dsc_slice_nonempty = number_from_json(row[10]);
  }
  return c;
}

Artifact artifact_from_json(const Reader& r, const json& row, const std::string& field) {
  r.array(row, field);
  if (row.size() < 4)
    r.bad(field, "has " + std::to_string(row.size()) +
                     " values; an artifact row has 4 (kind, path, checksum, bytes)");
  return {r.string(row[0], index_field(field, 0) + " (kind)"),
          r.string(row[1], index_field(field, 1) + " (path)"),
          r.string(row[2], index_field(field, 2) + " (checksum)"),
          r.integer<std::int64_t>(row[3], index_field(field, 3) + " (bytes)")};
}

}  // namespace

std::string tag_name(int tag) {
  switch (tag) {
    case kReady:
      return "READY";
    case kAssign:
      return "ASSIGN";
    case kProgress:
      return "PROGRESS";
    case kResult:
      return "RESULT";
    case kShutdown:
      return "SHUTDOWN";
    case kFatal:
      return "FATAL";
  }
  return "tag " + std::to_string(tag);
}

std::string Ready::encode() const { return json::object().dump(); }

Ready Ready::decode(const std::string& payload) {
  static_cast<void>(Reader("READY", payload));
  return {};
}

std::string Assign::encode() const {
  return json{{"spec", to_json(spec)}, {"attempt", attempt}}.dump();
}

Assign Assign::decode(const std::string& payload) {
  const Reader r("ASSIGN", payload);
  Assign m;
  try {
    m.spec = trial_spec_from_json(r.at("spec"));
  } catch (const std::exception& e) {
    r.bad("spec", std::string("is not a trial spec: ") + e.what());
  }
  m.attempt = r.integer<int>(r.at("attempt"), "attempt");
  return m;
}

std::string Progress::encode() const {
  return json{{"trial", trial}, {"epoch", epoch_json(epoch)}}.dump();
}

Progress Progress::decode(const std::string& payload) {
  const Reader r("PROGRESS", payload);
  Progress m;
  m.trial = r.string(r.at("trial"), "trial");
  m.epoch = epoch_from_json(r, r.at("epoch"));
  return m;
}

std::string Result::encode() const {
  json rows = json::array(), files = json::array();
  for (const auto& c : counts)
    rows.push_back(
        json::array({c.case_id, c.label, c.counts.tp, c.counts.fp, c.counts.fn, c.counts.tn,
                     number_json(c.hd95), number_json(c.assd), number_json(c.nsd),
                     number_json(c.dsc_slice), number_json(c.dsc_slice_nonempty)}));
  for (const auto& a : artifacts)
    files.push_back(json::array({a.kind, a.path, a.checksum, a.bytes}));
  return json{{"trial", trial}, {"ok", ok},           {"error", error},
              {"counts", rows}, {"artifacts", files}, {"best_epoch", best_epoch}}
      .dump();
}

Result Result::decode(const std::string& payload) {
  const Reader r("RESULT", payload);
  Result m;
  m.trial = r.string(r.at("trial"), "trial");
  m.ok = r.boolean(r.at("ok"), "ok");
  m.error = r.string(r.at("error"), "error");
  const json& rows = r.array(r.at("counts"), "counts");
  for (size_t i = 0; i < rows.size(); ++i)
    m.counts.push_back(count_from_json(r, rows[i], index_field("counts", i)));
  const json& files = r.array(r.at("artifacts"), "artifacts");
  for (size_t i = 0; i < files.size(); ++i)
    m.artifacts.push_back(artifact_from_json(r, files[i], index_field("artifacts", i)));
  m.best_epoch = r.integer<int>(r.at("best_epoch"), "best_epoch");
  return m;
}

std::string Shutdown::encode() const { return json::object().dump(); }

Shutdown Shutdown::decode(const std::string& payload) {
  static_cast<void>(Reader("SHUTDOWN", payload));
  return {};
}

std::string Fatal::encode() const { return json{{"error", error}}.dump(); }

Fatal Fatal::decode(const std::string& payload) {
  const Reader r("FATAL", payload);
  Fatal m;
  const auto it = r.body().find("error");
  m.error = it == r.body().end() ? "unknown error" : r.string(*it, "error");
  return m;
}

}  // namespace orch::protocol
