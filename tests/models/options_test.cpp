// The model option reader (models/options.h), by hand, and the exact messages the models give
// through it: the YAML parser shows them as "models.<name>.options: <message>", so a changed text
// is a user-visible change.
#include "models/options.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "models/registry.h"

namespace orch {
namespace {

using nlohmann::json;

// The Error `f` throws; fails the test when it throws none.
Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected orch::Error";
  return Error("");
}

// One getter's result on `value`, read under the key "k".
template <typename Get>
auto get(const json& value, Get getter) {
  return getter(ModelOption("k", value));
}

// A toy model with an integer `n` in 1..6 and a number `x` in (0, 4].
struct Toy {
  std::optional<int64_t> n;
  std::optional<double> x;
};

ModelOptionReader toy_reader(Toy& t) {
  ModelOptionReader reader("toy");
  reader.on("n", [&t](const ModelOption& v) { t.n = v.int_in(1, 6); });
  reader.on("x", [&t](const ModelOption& v) { t.x = v.number_in(0, 4, Ends::kOpenClosed); });
  return reader;
}

// ---- the reader -------------------------------------------------------------------------------

TEST(ModelOptionReader, AcceptsAValidIntAndLeavesAbsentKeysAlone) {
  Toy t;
  toy_reader(t).read(json{{"n", 3}});
  EXPECT_EQ(t.n, 3);
  EXPECT_FALSE(t.x.has_value());
  Toy empty;
  toy_reader(empty).read(json::object());
  toy_reader(empty).read(json());  // null: no options
  EXPECT_FALSE(empty.n.has_value());
  EXPECT_FALSE(empty.x.has_value());
}

TEST(ModelOptionReader, RejectsAnOutOfRangeValueNamingTheKey) {
  for (const int64_t bad : {0, 7, -1}) {
    Toy t;
    const Error e = error_of([&] { toy_reader(t).read(json{{"n", bad}}); });
    EXPECT_EQ(e.key(), "n");
    EXPECT_EQ(std::string(e.what()), "n: expected an integer in 1..6");
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
  }
}

TEST(ModelOptionReader, RejectsAnUnknownKeyListingTheKnownOnes) {
  Toy t;
  const Error e = error_of([&] { toy_reader(t).read(json{{"n", 2}, {"colour", "red"}}); });
  EXPECT_EQ(e.key(), "colour");
  EXPECT_EQ(std::string(e.what()), "colour: unknown option for toy; expected one of: n, x");
}

TEST(ModelOptionReader, ReadsKeysInTheirSortedOrderSoTheFirstBadKeyIsReported) {
  Toy t;
  // "a" < "x": the unknown key comes first; "x" < "zz": the bad value does.
  EXPECT_EQ(error_of([&] { toy_reader(t).read(json{{"x", 5}, {"a", 1}}); }).key(), "a");
  EXPECT_EQ(error_of([&] { toy_reader(t).read(json{{"x", 5}, {"zz", 1}}); }).key(), "x");
}

TEST(ModelOptionReader, RejectsOptionsThatAreNotAMappingWithoutAKey) {
  Toy t;
  for (const json& bad : {json::array(), json{1, 2}, json(3), json("n")}) {
    const Error e = error_of([&] { toy_reader(t).read(bad); });
    EXPECT_EQ(e.key(), "") << bad.dump();
    EXPECT_EQ(std::string(e.what()), "options: expected a mapping") << bad.dump();
  }
}

TEST(ModelOptionReader, RemoveAndReplaceKeepTheListedOrder) {
  Toy t;
  ModelOptionReader reader = toy_reader(t);
  reader.on("m", [](const ModelOption&) {});
  reader.on("n", [&t](const ModelOption& v) { t.n = v.positive_int(); });  // replaced in place
  EXPECT_EQ(reader.keys(), (std::vector<std::string>{"n", "x", "m"}));
  reader.read(json{{"n", 100}});
  EXPECT_EQ(t.n, 100);
  reader.remove("x");
  EXPECT_EQ(reader.keys(), (std::vector<std::string>{"n", "m"}));
  EXPECT_EQ(std::string(error_of([&] {
                          reader.read(json{{"x", 1}});
                        }).what()),
            "x: unknown option for toy; expected one of: n, m");
}

// ---- the getters ------------------------------------------------------------------------------

// "k: <text>" for a value the getter rejects.
template <typename Get>
std::string rejection(const json& value, Get getter) {
  const Error e = error_of([&] { get(value, getter); });
  EXPECT_EQ(e.key(), "k") << value.dump();
  return e.what();
}

TEST(ModelOption, IntegersRejectWrongTypesAndRanges) {
  const auto positive = [](const ModelOption& v) { return v.positive_int(); };
  EXPECT_EQ(get(json(5), positive), 5);
  for (const json& bad : {json(0), json(-3), json(2.5), json("3"), json(true), json::array()})
    EXPECT_EQ(rejection(bad, positive), "k: expected a positive integer") << bad.dump();

  const auto odd = [](const ModelOption& v) { return v.positive_odd_int(); };
  EXPECT_EQ(get(json(3), odd), 3);
  for (const json& bad : {json(2), json(0), json(-1), json(3.0)})
    EXPECT_EQ(rejection(bad, odd), "k: expected a positive odd integer") << bad.dump();

  const auto at_least = [](const ModelOption& v) { return v.int_at_least(12); };
  EXPECT_EQ(get(json(12), at_least), 12);
  EXPECT_EQ(rejection(json(11), at_least), "k: expected an integer >= 12");
  EXPECT_EQ(rejection(json(12.5), at_least), "k: expected an integer >= 12");

  const auto in = [](const ModelOption& v) { return v.int_in(1, 1024); };
  EXPECT_EQ(get(json(1024), in), 1024);
  EXPECT_EQ(rejection(json(1025), in), "k: expected an integer in 1..1024");
  EXPECT_EQ(rejection(json(nullptr), in), "k: expected an integer in 1..1024");
}

TEST(ModelOption, NumbersTakeIntegersAndHonourEachEnd) {
  const auto open_closed = [](const ModelOption& v) {
    return v.number_in(0, 4, Ends::kOpenClosed);
  };
  EXPECT_DOUBLE_EQ(get(json(4), open_closed), 4.0);  // an integer is a number
  EXPECT_DOUBLE_EQ(get(json(0.125), open_closed), 0.125);
  for (const json& bad : {json(0), json(-0.5), json(4.01), json("wide"), json(false)})
    EXPECT_EQ(rejection(bad, open_closed), "k: expected a number in (0, 4]") << bad.dump();

  const auto closed_open = [](const ModelOption& v) {
    return v.number_in(0, 1, Ends::kClosedOpen);
  };
  EXPECT_DOUBLE_EQ(get(json(0), closed_open), 0.0);
  EXPECT_EQ(rejection(json(1), closed_open), "k: expected a number in [0, 1)");

  const auto closed = [](const ModelOption& v) { return v.number_in(0, 1, Ends::kClosed); };
  EXPECT_DOUBLE_EQ(get(json(1), closed), 1.0);
  EXPECT_EQ(rejection(json(1.5), closed), "k: expected a number in [0, 1]");

  const auto open = [](const ModelOption& v) { return v.number_in(0, 16, Ends::kOpen); };
  EXPECT_EQ(rejection(json(16), open), "k: expected a number in (0, 16)");
}

TEST(ModelOption, BooleansAndStrings) {
  const auto boolean = [](const ModelOption& v) { return v.boolean(); };
  EXPECT_TRUE(get(json(true), boolean));
  EXPECT_FALSE(get(json(false), boolean));
  for (const json& bad : {json(1), json("yes"), json(nullptr)})
    EXPECT_EQ(rejection(bad, boolean), "k: expected true or false") << bad.dump();

  const auto string = [](const ModelOption& v) { return v.string("a name"); };
  EXPECT_EQ(get(json("relu"), string), "relu");
  EXPECT_EQ(rejection(json(1), string), "k: expected a name");
}

TEST(ModelOption, OneOfQuotesAsAsked) {
  const std::vector<std::string> two = {"deconv", "bilinear"};
  const auto single = [&](const ModelOption& v) { return v.one_of(two, Quote::kSingle); };
  EXPECT_EQ(get(json("bilinear"), single), "bilinear");
  for (const json& bad : {json("nearest"), json(1), json("Deconv")})
    EXPECT_EQ(rejection(bad, single), "k: expected 'deconv' or 'bilinear'") << bad.dump();
  const auto dbl = [&](const ModelOption& v) { return v.one_of(two, Quote::kDouble); };
  EXPECT_EQ(rejection(json("x"), dbl), "k: expected \"deconv\" or \"bilinear\"");
  const auto many = [](const ModelOption& v) { return v.one_of({"a", "b", "c"}, Quote::kNone); };
  EXPECT_EQ(get(json("c"), many), "c");
  EXPECT_EQ(rejection(json("d"), many), "k: expected one of a, b, c");
  const auto worded = [](const ModelOption& v) { return v.one_of({"a", "b"}, "a (this) or b"); };
  EXPECT_EQ(rejection(json("c"), worded), "k: expected a (this) or b");
}

TEST(ModelOption, ListsCheckTheirSizeThenEachItem) {
  const auto rates = [](const ModelOption& v) {
    std::vector<int64_t> out;
    for (const auto& item : v.list(1, 3, "1 to 3 rates")) out.push_back(item.positive_int());
    return out;
  };
  EXPECT_EQ(get(json{6, 12}, rates), (std::vector<int64_t>{6, 12}));
  for (const json& bad : {json::array(), json{1, 2, 3, 4}, json(6), json("6")})
    EXPECT_EQ(rejection(bad, rates), "k: expected a list of 1 to 3 rates") << bad.dump();
  EXPECT_EQ(rejection(json{6, 0}, rates), "k: expected a positive integer");

  const auto filters = [](const ModelOption& v) { return v.positive_ints(3, "3 filter counts"); };
  EXPECT_EQ(get(json{8, 16, 32}, filters), (std::vector<int64_t>{8, 16, 32}));
  EXPECT_EQ(rejection(json{8, 16}, filters), "k: expected a list of 3 filter counts");
  EXPECT_EQ(rejection(json{8, 16.5, 32}, filters), "k: expected positive integers");
  EXPECT_EQ(rejection(json{8, 0, 32}, filters), "k: expected positive integers");
}

TEST(ModelOption, FailThrowsAnOptionError) {
  const json four = 4;
  const Error e = error_of([&] { ModelOption("patch_size", four).fail("only 2 works"); });
  EXPECT_EQ(e.key(), "patch_size");
  EXPECT_EQ(std::string(e.what()), "patch_size: only 2 works");
}

// ---- every model's messages, as the YAML parser shows them ------------------------------------

struct Case {
  std::string kind;
  json options;
  std::string key;
  std::string message;
};

TEST(ModelOptionMessages, EveryModelKeepsItsTexts) {
  const std::string spider_keys =
      "filters, width, top_filters, bn_momentum, sequence_length, lstm_kernel, "
      "recurrent_activation, lstm_recurrent_init";
  const std::vector<Case> cases = {
      {"wide_unet", json{{"colour", "red"}, {"width", 5}}, "colour",
       "colour: unknown option for wide_unet; expected one of: filters, width, top_filters, "
       "bn_momentum"},
      {"wide_unet", json{{"filters", {1, 2, 3}}}, "filters",
       "filters: expected a list of 5 filter counts"},
      {"wide_unet", json{{"filters", {1, 2, 3, 4, 0}}}, "filters",
       "filters: expected positive integers"},
      {"wide_unet", json{{"width", 0}}, "width", "width: expected a number in (0, 4]"},
      {"wide_unet", json{{"top_filters", 2.5}}, "top_filters",
       "top_filters: expected a positive integer"},
      {"wide_unet", json{{"bn_momentum", 1.5}}, "bn_momentum",
       "bn_momentum: expected a number in (0, 1]"},
      {"unet3d", json{{"variant", "ronneberger"}}, "variant",
       "variant: expected \"cicek\" or \"thesis\""},
      {"unet3d", json{{"depth", 4}}, "depth",
       "depth: unknown option for unet3d; expected one of: variant, width, bn_momentum"},
      {"spider_unet", json{{"depth", 4}}, "depth",
       "depth: unknown option for spider_unet; expected one of: " + spider_keys},
      {"spider_unet", json{{"sequence_length", 0}}, "sequence_length",
       "sequence_length: expected a positive integer"},
      {"spider_unet", json{{"lstm_kernel", 2}}, "lstm_kernel",
       "lstm_kernel: expected a positive odd integer"},
      {"spider_unet", json{{"recurrent_activation", 1}}, "recurrent_activation",
       "recurrent_activation: expected \"hard_sigmoid\" or \"sigmoid\""},
      {"spider_unet", json{{"recurrent_activation", "relu"}}, "recurrent_activation",
       "recurrent_activation: expected \"hard_sigmoid\" or \"sigmoid\", got \"relu\""},
      {"spider_unet", json{{"lstm_recurrent_init", 0}}, "lstm_recurrent_init",
       "lstm_recurrent_init: expected \"orthogonal\" or \"glorot_uniform\""},
      {"spider_unet", json{{"lstm_recurrent_init", "zeros"}}, "lstm_recurrent_init",
       "lstm_recurrent_init: expected \"orthogonal\" or \"glorot_uniform\", got \"zeros\""},
      {"fcn_rnn", json{{"top_filters", 16}}, "top_filters",
       "top_filters: unknown option for fcn_rnn; expected one of: filters, width, bn_momentum, "
       "lstm_filters, sequence_length, lstm_kernel, recurrent_activation, lstm_recurrent_init"},
      {"fcn_rnn", json{{"lstm_filters", 0}}, "lstm_filters",
       "lstm_filters: expected a positive integer"},
      {"resunet2d", json{{"filters", {64, 128}}}, "filters",
       "filters: expected a list of 4 filter counts"},
      {"resunet2d", json{{"shortcut", "identity"}}, "shortcut",
       "shortcut: expected 'projection1x1' or 'conv3x3'"},
      {"resunet2d", json{{"upsample", 2}}, "upsample", "upsample: expected 'nearest' or 'deconv'"},
      {"resunet2d", json{{"depth", 4}}, "depth",
       "depth: unknown option for resunet2d; expected one of: filters, width, shortcut, upsample"},
      {"resunet3d", json{{"base_filters", 0}}, "base_filters",
       "base_filters: expected a positive integer"},
      {"resunet3d", json{{"dropout", 1}}, "dropout", "dropout: expected a number in [0, 1)"},
      {"resunet3d", json{{"shared_context_conv", 1}}, "shared_context_conv",
       "shared_context_conv: expected true or false"},
      {"resunet3d", json{{"depth", 4}}, "depth",
       "depth: unknown option for resunet3d; expected one of: base_filters, width, dropout, "
       "shared_context_conv"},
      {"swin_unetr", json{{"feature_size", 6}}, "feature_size",
       "feature_size: expected an integer >= 12"},
      {"swin_unetr", json{{"feature_size", 18}}, "feature_size",
       "feature_size: must be a positive multiple of 12 (MONAI's rule), got 18"},
      {"swin_unetr", json{{"depths", {2, 2}}}, "depths",
       "depths: expected a list of 4 positive integers, one per stage"},
      {"swin_unetr", json{{"num_heads", {3, 6, 12, 0}}}, "num_heads",
       "num_heads: expected an integer >= 1"},
      {"swin_unetr", json{{"num_heads", {5, 6, 12, 24}}}, "num_heads",
       "num_heads: stage 1 has 24 channels, not divisible by 5 heads"},
      {"swin_unetr", json{{"window_size", 0}}, "window_size",
       "window_size: expected an integer >= 1"},
      {"swin_unetr", json{{"patch_size", 4}}, "patch_size",
       "patch_size: only 2 works (the decoder up-samples the embedding once)"},
      {"swin_unetr", json{{"mlp_ratio", 17}}, "mlp_ratio",
       "mlp_ratio: expected a number in (0, 16]"},
      {"swin_unetr", json{{"dropout_path_rate", 1.5}}, "dropout_path_rate",
       "dropout_path_rate: expected a number in [0, 1]"},
      {"swin_unetr", json{{"qkv_bias", "yes"}}, "qkv_bias", "qkv_bias: expected true or false"},
      {"swin_unetr", json{{"width", 0.5}}, "width",
       "width: unknown option for swin_unetr; expected one of: feature_size, depths, num_heads, "
       "window_size, patch_size, mlp_ratio, qkv_bias, normalize, drop_rate, attn_drop_rate, "
       "dropout_path_rate"},
      {"refnet", json{{"depth", 7}}, "depth", "depth: expected an integer in 1..6"},
      {"refnet", json{{"embed_dim", 0}}, "embed_dim", "embed_dim: expected an integer in 1..1024"},
      {"refnet", json{{"upsample", "nearest"}}, "upsample",
       "upsample: expected 'deconv' or 'bilinear'"},
      {"refnet", json{{"colour", 1}}, "colour",
       "colour: unknown option for refnet; expected one of: embed_dim, base_filters, depth, "
       "width, upsample"},
      {"attention_unet2d", json{{"attention", "transformer"}}, "attention",
       "attention: expected one of none, se, attention_gate, bam, cbam, rb_cbam"},
      {"attention_unet2d", json{{"aspp_rates", json::array()}}, "aspp_rates",
       "aspp_rates: expected a list of 1 to 8 dilation rates"},
      {"attention_unet2d", json{{"aspp_rates", {6, 0}}}, "aspp_rates",
       "aspp_rates: expected a positive integer"},
      {"attention_unet2d", json{{"attention", "bam"}, {"bam_combine", "max"}}, "bam_combine",
       "bam_combine: expected sum (BAM paper) or product (bam.py)"},
      {"attention_unet2d", json{{"attention", "se"}, {"reverse", true}}, "reverse",
       "reverse: applies only to attention rb_cbam (attention is se)"},
      {"attention_unet2d", json{{"attention", "cbam"}, {"bam_combine", "sum"}}, "bam_combine",
       "bam_combine: applies only to attention bam (attention is cbam)"},
      {"attention_unet2d", json{{"aspp", false}, {"aspp_pooling", true}}, "aspp_pooling",
       "aspp_pooling: applies only with aspp: true"},
      {"attention_unet2d", json{{"depth", 4}}, "depth",
       "depth: unknown option for attention_unet2d; expected one of: attention, aspp, reverse, "
       "boundary, aspp_rates, aspp_pooling, bam_combine, base_filters, width, reduction"},
      {"attention_unet2d", json::array(), "", "options: expected a mapping"},
  };
  for (const auto& c : cases) {
    const Status st = check_model_options(c.kind, c.options);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidInput) << c.kind << " " << c.options.dump();
    EXPECT_EQ(st.key(), c.key) << c.kind << " " << c.options.dump();
    EXPECT_EQ(st.message(), c.message) << c.kind << " " << c.options.dump();
  }
}

TEST(ModelOptionMessages, MakeModelNamesTheModelAndKeepsTheKey) {
  const Error bad_width = error_of([] { make_model("wide_unet", json{{"width", -1}}, {}); });
  EXPECT_EQ(std::string(bad_width.what()), "model 'wide_unet': width: expected a number in (0, 4]");
  EXPECT_EQ(bad_width.key(), "width");
  const Error two_channels = error_of([] { make_model("refnet", json::object(), {2, 2}); });
  EXPECT_EQ(std::string(two_channels.what()),
            "model 'refnet': in_channels: refnet reads one label map, so the input needs 1 "
            "channel, got 2");
  const Error one_class = error_of([] { make_model("wide_unet", json::object(), {1, 1}); });
  EXPECT_EQ(std::string(one_class.what()),
            "model 'wide_unet': wide_unet needs in_channels >= 1 and num_classes >= 2");
}

}  // namespace
}  // namespace orch
