// The wire protocol's typed messages (orchestrator/protocol/messages.h): every kind survives
// encode and decode, the JSON is the documented one, and a broken message is an orch::Error that
// names the kind and the field.
#include "orchestrator/protocol/messages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace orch::protocol {
namespace {

using nlohmann::json;

const double kInf = std::numeric_limits<double>::infinity();

// The message decode() throws for `payload`, "" when it throws nothing.
template <typename M>
std::string decode_error(const std::string& payload) {
  try {
    M::decode(payload);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
    return e.what();
  }
  return "";
}

TEST(MessagesTest, TagsAreTheWireNumbers) {
  EXPECT_EQ(Ready::kTag, 1);
  EXPECT_EQ(Assign::kTag, 2);
  EXPECT_EQ(Progress::kTag, 3);
  EXPECT_EQ(Result::kTag, 4);
  EXPECT_EQ(Shutdown::kTag, 5);
  EXPECT_EQ(Fatal::kTag, 6);
  EXPECT_EQ(tag_name(kResult), "RESULT");
  EXPECT_EQ(tag_name(99), "tag 99");
}

TEST(MessagesTest, ReadyAndShutdownAreEmptyObjects) {
  EXPECT_EQ(Ready{}.encode(), "{}");
  EXPECT_EQ(Shutdown{}.encode(), "{}");
  Ready::decode("{}");
  Shutdown::decode("{}");
  EXPECT_NE(decode_error<Ready>("not json").find("READY message"), std::string::npos);
}

TEST(MessagesTest, AssignRoundTripsTheSpecWithItsSourcesAndTheAttempt) {
  Assign a;
  a.spec.id = "cccc";
  a.spec.model.name = "refnet";
  a.spec.dataset.name = "d";
  a.spec.seed = 7;
  a.spec.training.epochs = 3;
  TrialSpec src;
  src.id = "aaaa";
  src.model.name = "unet";
  a.spec.sources = {src};
  a.attempt = 2;
  const std::string wire = a.encode();
  const json j = json::parse(wire);
  EXPECT_EQ(j.at("attempt"), 2);
  EXPECT_EQ(j.at("spec"), to_json(a.spec));
  const Assign b = Assign::decode(wire);
  EXPECT_EQ(b.attempt, 2);
  EXPECT_EQ(b.spec.id, "cccc");
  EXPECT_EQ(b.spec.seed, 7u);
  EXPECT_EQ(b.spec.training.epochs, 3);
  ASSERT_EQ(b.spec.sources.size(), 1u);
  EXPECT_EQ(b.spec.sources[0].id, "aaaa");
  EXPECT_EQ(b.spec.sources[0].model.name, "unet");
}

TEST(MessagesTest, ProgressRoundTripsAnEpochWithNanAsNullAndInfinityAsInf) {
  Progress p{"aaaa", EpochRecord{4, 0.5, std::nan(""), 0.75, 0.01, 12.5, 0.6}};
  const json j = json::parse(p.encode());
  EXPECT_EQ(j.at("trial"), "aaaa");
  EXPECT_EQ(j.at("epoch").at("epoch"), 4);
  EXPECT_TRUE(j.at("epoch").at("val_loss").is_null());
  const Progress q = Progress::decode(p.encode());
  EXPECT_EQ(q.trial, "aaaa");
  EXPECT_EQ(q.epoch.epoch, 4);
  EXPECT_EQ(q.epoch.train_loss, 0.5);
  EXPECT_TRUE(std::isnan(q.epoch.val_loss));
  EXPECT_EQ(q.epoch.val_dsc, 0.75);
  EXPECT_EQ(q.epoch.lr, 0.01);
  EXPECT_EQ(q.epoch.seconds, 12.5);
  EXPECT_EQ(q.epoch.val_iou, 0.6);
  // A diverged loss travels as "inf" and reads back as infinity (stored as REAL Inf).
  p.epoch.train_loss = kInf;
  EXPECT_EQ(json::parse(p.encode()).at("epoch").at("train_loss"), "inf");
  EXPECT_TRUE(std::isinf(Progress::decode(p.encode()).epoch.train_loss));
  // An epoch without val_iou reads as NaN.
  const Progress old = Progress::decode(
      R"({"trial":"a","epoch":{"epoch":0,"train_loss":1,"val_loss":1,"val_dsc":0.5,"lr":0.1,)"
      R"("seconds":2}})");
  EXPECT_TRUE(std::isnan(old.epoch.val_iou));
}

TEST(MessagesTest, ResultRoundTripsCountsWithNanAndInfinitySurfaceValuesAndArtifacts) {
  Result r;
  r.trial = "aaaa";
  r.best_epoch = 3;
  CaseClassCounts hit{"c1", 1, ConfusionCounts{8, 1, 1, 90}};
  hit.hd95 = 2.0;
  hit.assd = 0.5;
  hit.nsd = 0.9;
  hit.dsc_slice = 0.5;
  hit.dsc_slice_nonempty = 0.75;
  CaseClassCounts missed{"c2", 2, ConfusionCounts{0, 0, 5, 95}};
  missed.hd95 = kInf;
  missed.assd = kInf;
  missed.nsd = 0.0;
  missed.dsc_slice = 0.0;  // dsc_slice_nonempty left NaN
  const CaseClassCounts absent{"c3", 1, ConfusionCounts{0, 0, 0, 100}};  // surface all NaN
  r.counts = {hit, missed, absent};
  r.artifacts = {{"best", "/runs/x/best.pt", "fnv1a64:00ff", 1234}};

  const std::string wire = r.encode();
  const json j = json::parse(wire);
  EXPECT_EQ(j.at("counts").at(0), json::parse(R"(["c1",1,8,1,1,90,2.0,0.5,0.9,0.5,0.75])"));
  EXPECT_EQ(j.at("counts").at(1), json::parse(R"(["c2",2,0,0,5,95,"inf","inf",0.0,0.0,null])"));
  EXPECT_EQ(j.at("counts").at(2), json::parse(R"(["c3",1,0,0,0,100,null,null,null,null,null])"));
  EXPECT_EQ(j.at("artifacts"), json::parse(R"([["best","/runs/x/best.pt","fnv1a64:00ff",1234]])"));
  EXPECT_EQ(j.at("ok"), true);
  EXPECT_EQ(j.at("error"), "");
  EXPECT_EQ(j.at("best_epoch"), 3);

  const Result d = Result::decode(wire);
  EXPECT_EQ(d.trial, "aaaa");
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.best_epoch, 3);
  ASSERT_EQ(d.counts.size(), 3u);
  EXPECT_EQ(d.counts[0].case_id, "c1");
  EXPECT_EQ(d.counts[0].label, 1);
  EXPECT_EQ(d.counts[0].counts.tp, 8);
  EXPECT_EQ(d.counts[0].counts.fp, 1);
  EXPECT_EQ(d.counts[0].counts.fn, 1);
  EXPECT_EQ(d.counts[0].counts.tn, 90);
  EXPECT_EQ(d.counts[0].hd95, 2.0);
  EXPECT_EQ(d.counts[0].assd, 0.5);
  EXPECT_EQ(d.counts[0].nsd, 0.9);
  EXPECT_EQ(d.counts[0].dsc_slice, 0.5);
  EXPECT_EQ(d.counts[0].dsc_slice_nonempty, 0.75);
  EXPECT_EQ(d.counts[1].label, 2);
  EXPECT_EQ(d.counts[1].hd95, kInf);
  EXPECT_EQ(d.counts[1].assd, kInf);
  EXPECT_EQ(d.counts[1].nsd, 0.0);
  EXPECT_EQ(d.counts[1].dsc_slice, 0.0);
  EXPECT_TRUE(std::isnan(d.counts[1].dsc_slice_nonempty));
  EXPECT_TRUE(std::isnan(d.counts[2].hd95));
  EXPECT_TRUE(std::isnan(d.counts[2].assd));
  EXPECT_TRUE(std::isnan(d.counts[2].nsd));
  EXPECT_TRUE(std::isnan(d.counts[2].dsc_slice));
  ASSERT_EQ(d.artifacts.size(), 1u);
  EXPECT_EQ(d.artifacts[0].kind, "best");
  EXPECT_EQ(d.artifacts[0].path, "/runs/x/best.pt");
  EXPECT_EQ(d.artifacts[0].checksum, "fnv1a64:00ff");
  EXPECT_EQ(d.artifacts[0].bytes, 1234);
  EXPECT_EQ(d.encode(), wire);
}

TEST(MessagesTest, AResultRowOfSixColumnsHasNoSurfaceMetrics) {
  const Result d = Result::decode(
      R"({"trial":"a","ok":true,"error":"","counts":[["c1",1,3,1,2,94]],"artifacts":[],)"
      R"("best_epoch":1})");
  ASSERT_EQ(d.counts.size(), 1u);
  EXPECT_EQ(d.counts[0].case_id, "c1");
  EXPECT_EQ(d.counts[0].counts.tp, 3);
  EXPECT_EQ(d.counts[0].counts.fp, 1);
  EXPECT_EQ(d.counts[0].counts.fn, 2);
  EXPECT_EQ(d.counts[0].counts.tn, 94);
  EXPECT_TRUE(std::isnan(d.counts[0].hd95));
  EXPECT_TRUE(std::isnan(d.counts[0].assd));
  EXPECT_TRUE(std::isnan(d.counts[0].nsd));
  EXPECT_TRUE(std::isnan(d.counts[0].dsc_slice));
  EXPECT_TRUE(std::isnan(d.counts[0].dsc_slice_nonempty));
}

TEST(MessagesTest, AResultRowOfNineColumnsHasNoSliceDice) {
  const Result d = Result::decode(
      R"({"trial":"a","ok":true,"error":"","counts":[["c1",1,3,1,2,94,2.0,"inf",0.5]],)"
      R"("artifacts":[],"best_epoch":1})");
  ASSERT_EQ(d.counts.size(), 1u);
  EXPECT_EQ(d.counts[0].counts.tn, 94);
  EXPECT_EQ(d.counts[0].hd95, 2.0);
  EXPECT_EQ(d.counts[0].assd, kInf);
  EXPECT_EQ(d.counts[0].nsd, 0.5);
  EXPECT_TRUE(std::isnan(d.counts[0].dsc_slice));
  EXPECT_TRUE(std::isnan(d.counts[0].dsc_slice_nonempty));
}

TEST(MessagesTest, AFailedResultCarriesItsError) {
  Result r;
  r.trial = "bbbb";
  r.ok = false;
  r.error = "CUDA out of memory";
  const Result d = Result::decode(r.encode());
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "CUDA out of memory");
  EXPECT_TRUE(d.counts.empty());
  EXPECT_EQ(d.best_epoch, -1);
}

TEST(MessagesTest, FatalRoundTripsAndAMissingErrorIsUnknown) {
  EXPECT_EQ(Fatal{"bad message"}.encode(), R"({"error":"bad message"})");
  EXPECT_EQ(Fatal::decode(Fatal{"bad message"}.encode()).error, "bad message");
  EXPECT_EQ(Fatal::decode("{}").error, "unknown error");
}

TEST(MessagesTest, ABrokenMessageNamesItsKindAndTheField) {
  const std::string tp_text = decode_error<Result>(
      R"({"trial":"a","ok":true,"error":"","counts":[["c1",1,"x",1,2,94]],"artifacts":[],)"
      R"("best_epoch":1})");
  EXPECT_NE(tp_text.find("RESULT message"), std::string::npos) << tp_text;
  EXPECT_NE(tp_text.find("counts[0][2] (tp)"), std::string::npos) << tp_text;

  const std::string short_row = decode_error<Result>(
      R"({"trial":"a","ok":true,"error":"","counts":[["c1",1,3]],"artifacts":[],"best_epoch":1})");
  EXPECT_NE(short_row.find("counts[0]"), std::string::npos) << short_row;

  const std::string no_ok =
      decode_error<Result>(R"({"trial":"a","error":"","counts":[],"artifacts":[],"best_epoch":1})");
  EXPECT_NE(no_ok.find("RESULT message: ok is missing"), std::string::npos) << no_ok;

  const std::string epoch = decode_error<Progress>(R"({"trial":"a","epoch":{"epoch":"one"}})");
  EXPECT_NE(epoch.find("PROGRESS message: epoch.epoch"), std::string::npos) << epoch;

  const std::string spec = decode_error<Assign>(R"({"spec":{},"attempt":1})");
  EXPECT_NE(spec.find("ASSIGN message: spec"), std::string::npos) << spec;

  const std::string not_json = decode_error<Fatal>("{");
  EXPECT_NE(not_json.find("FATAL message is not JSON"), std::string::npos) << not_json;
}

}  // namespace
}  // namespace orch::protocol
