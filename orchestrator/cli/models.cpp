// `orch models` and `orch model-info`: what the model registry holds, and what one model built
// with given options weighs and outputs. Both work for any registered kind; nothing here knows a
// model by name.
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/strings.h"
#include "models/registry.h"
#include "orchestrator/cli/cli.h"

namespace orch {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

constexpr const char* kModelInfoUsage =
    "orch model-info NAME [--set key=value ...] [--in-channels C] [--classes K]\n"
    "                [--input-shape S1,S2,...] [--json]\n\n"
    "Builds model NAME with the options (values are read as JSON when they parse: --set "
    "width=0.25\n--set depths=[2,2,2,2]; otherwise as strings), prints its parameter count and "
    "the output\nshape for the input shape. Default input shape by input form: slice2d "
    "(B,C,H,W) = 1,C,64,64;\nsequence (B,T,C,H,W) = 1,T,C,64,64 with the model's T; patch3d "
    "(B,C,D,H,W) = 1,C,32,32,32.";

// key=value pairs into a JSON object; a value that is not JSON is kept as a string.
json parse_sets(const std::vector<std::string>& sets) {
  json options = json::object();
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--set '" + s + "': expected key=value");
    const std::string key = s.substr(0, eq), text = s.substr(eq + 1);
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    options[key] = value.is_discarded() ? json(text) : value;
  }
  return options;
}

// "1,1,64,64" (or "1x1x64x64") into sizes; every size must be a positive integer.
std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> shape;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, text.find('x') != std::string::npos ? 'x' : ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != part.size() || part.empty() || v < 1)
      throw Error("--input-shape '" + text + "': '" + part + "' is not a positive integer");
    shape.push_back(v);
  }
  return shape;
}

std::vector<int64_t> default_shape(const SegmentationModelImpl& m, int64_t channels) {
  switch (m.input_form()) {
    case InputForm::kSlice2d:
      return {1, channels, 64, 64};
    case InputForm::kSequence:
      return {1, m.sequence_length(), channels, 64, 64};
    case InputForm::kPatch3d:
      return {1, channels, 32, 32, 32};
  }
  return {};
}

// Rejects a shape of the wrong rank for the form, or whose channel axis is not `channels`.
void check_shape(const std::vector<int64_t>& shape, InputForm form, int64_t channels,
                 const std::string& text) {
  const bool seq = form == InputForm::kSequence;
  const size_t rank = form == InputForm::kSlice2d ? 4 : 5;
  const char* layout = form == InputForm::kSlice2d ? "(B,C,H,W)"
                       : seq                       ? "(B,T,C,H,W)"
                                                   : "(B,C,D,H,W)";
  if (shape.size() != rank)
    throw Error(fmt::format("--input-shape '{}': a {} model takes {} sizes {}", text,
                            to_string(form), rank, layout));
  if (shape[seq ? 2 : 1] != channels)
    throw Error(fmt::format("--input-shape '{}': C = {} but the model has {} input channel(s)",
                            text, shape[seq ? 2 : 1], channels));
}

}  // namespace

int cmd_models(const std::vector<std::string>& args) {
  bool as_json = false;
  po::options_description desc("orch models options");
  desc.add_options()("json", po::bool_switch(&as_json), "print a JSON array");
  po::variables_map vm;
  if (!parse_options(args, "orch models [--json]", desc, {}, vm)) return 0;
  json out = json::array();
  size_t width = 4;
  for (const auto& k : model_registry()) width = std::max(width, k.name.size());
  for (const auto& k : model_registry()) {
    out.push_back({{"name", k.name}, {"input_form", to_string(k.form)}, {"summary", k.summary}});
    if (!as_json)
      std::cout << fmt::format("{:<{}}  {:<8}  {}\n", k.name, width, to_string(k.form), k.summary);
  }
  if (as_json) std::cout << out.dump(2) << "\n";
  return 0;
}

int cmd_model_info(const std::vector<std::string>& args) {
  std::string name, shape_text;
  std::vector<std::string> sets;
  ModelShape ms;
  bool as_json = false;
  po::options_description desc("orch model-info options");
  desc.add_options()("name", po::value(&name)->required(), "registered model kind")(
      "set", po::value(&sets)->composing(), "key=value: one model option (repeatable)")(
      "in-channels", po::value(&ms.in_channels)->default_value(1), "image channels C")(
      "classes", po::value(&ms.num_classes)->default_value(2), "classes K, background included")(
      "input-shape", po::value(&shape_text), "comma-separated input sizes")(
      "json", po::bool_switch(&as_json), "print a JSON object");
  po::positional_options_description pos;
  pos.add("name", 1);
  po::variables_map vm;
  if (!parse_options(args, kModelInfoUsage, desc, pos, vm)) return 0;
  if (ms.in_channels < 1) throw Error("--in-channels must be at least 1");
  if (ms.num_classes < 2) throw Error("--classes must be at least 2 (background included)");

  const json options = parse_sets(sets);
  SegmentationModel model;
  try {
    model = make_model(name, options, ms);
  } catch (const Error&) {
    throw;  // already names the kind and the offending option
  } catch (const std::exception& e) {
    throw Error("model '" + name + "': " + e.what());
  }
  const std::vector<int64_t> shape =
      shape_text.empty() ? default_shape(*model, ms.in_channels) : parse_shape(shape_text);
  check_shape(shape, model->input_form(), ms.in_channels, shape_text.empty() ? "" : shape_text);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();

  torch::NoGradGuard no_grad;
  model->eval();  // running statistics: any batch size, no update
  torch::Tensor out;
  try {
    out = model->forward(torch::zeros(shape));
  } catch (const c10::Error& e) {  // LibTorch's message: its first line says what failed
    const std::string what = e.what_without_backtrace();
    throw Error(fmt::format("{} on input shape {}: {}", name, join(shape, ","),
                            what.substr(0, what.find('\n'))));
  }
  const std::vector<int64_t> out_shape(out.sizes().begin(), out.sizes().end());

  if (as_json) {
    const json j = {{"name", name},         {"input_form", to_string(model->input_form())},
                    {"options", options},   {"params", params},
                    {"input_shape", shape}, {"output_shape", out_shape}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("model   {} ({})\noptions {}\nparams  {}\ninput   {}\noutput  {}\n",
                           name, to_string(model->input_form()), options.dump(), params,
                           join(shape, " x "), join(out_shape, " x "));
  return 0;
}

}  // namespace orch
