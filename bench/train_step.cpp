// Train-step benchmark: forward + backward + Adam step on dice_ce for every registered model, at
// its quick size (median of --steps steps after --warmup) and at its paper input size (one cold
// step). Prints a table and writes JSON (--json PATH); see bench/README.md.
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "models/registry.h"
#include "worker/train/losses.h"

namespace {

using nlohmann::json;
using orch::InputForm;
using orch::SegmentationModel;

// One benchmark case: a model, its options and the input it trains on.
struct Case {
  std::string model, size;  // size: "quick" or "paper"
  json options = json::object();
  int64_t batch = 1;
  std::vector<int64_t> spatial;  // (H, W) or (D, H, W)
  std::vector<int64_t> shape;    // explicit input shape (overrides batch/spatial) when not empty
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

long proc_status_kib(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

// Resets VmHWM to the current RSS (Linux >= 4.0: "5" to clear_refs); false where refused.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep))
    if (!part.empty()) out.push_back(part);
  return out;
}

// The quick profile's options: width 0.25 where the model has one, else feature_size 12 (Swin
// UNETR), else the defaults.
json quick_options(const std::string& kind) {
  for (const json& o : {json{{"width", 0.25}}, json{{"feature_size", 12}}})
    if (orch::check_model_options(kind, o).ok()) return o;
  return json::object();
}

// The papers' training inputs (docs/MODELS.md): 2-D models 256x256 batch 8, sequence models T
// slices of 256x256 batch 2, 3-D models 144^3 batch 1 (the MS paper), Swin UNETR 96^3 with feature
// 48 batch 1 (MONAI's BTCV recipe).
std::vector<Case> cases_for(const orch::ModelKind& k, const std::vector<std::string>& sizes,
                            const json& quick_overrides, const std::vector<int64_t>& quick_shape) {
  std::vector<Case> out;
  const bool is3d = k.form == InputForm::kPatch3d;
  const int64_t batch = k.form == InputForm::kSlice2d ? 8 : k.form == InputForm::kSequence ? 2 : 1;
  for (const auto& size : sizes) {
    Case c;
    c.model = k.name;
    c.size = size;
    c.batch = batch;
    if (size == "quick") {
      c.options = quick_options(k.name);
      c.options.update(quick_overrides);
      c.spatial = is3d ? std::vector<int64_t>{32, 32, 32} : std::vector<int64_t>{64, 64};
      c.shape = quick_shape;
    } else {
      const bool swin = k.name == "swin_unetr";
      if (swin) c.options = {{"feature_size", 48}};
      const int64_t s = swin ? 96 : 144;
      c.spatial = is3d ? std::vector<int64_t>{s, s, s} : std::vector<int64_t>{256, 256};
    }
    out.push_back(c);
  }
  return out;
}

std::vector<int64_t> input_shape(const Case& c, const orch::SegmentationModelImpl& m,
                                 int64_t channels) {
  if (!c.shape.empty()) return c.shape;
  std::vector<int64_t> shape = {c.batch};
  if (m.input_form() == InputForm::kSequence) shape.push_back(m.sequence_length());
  shape.push_back(channels);
  shape.insert(shape.end(), c.spatial.begin(), c.spatial.end());
  return shape;
}

// One training step; returns its seconds. Sequence logits (B, T, K, ...) train as B*T slices.
double train_step(orch::SegmentationModelImpl& model, torch::optim::Optimizer& opt,
                  const torch::Tensor& x, const torch::Tensor& y) {
  const double t0 = now();
  opt.zero_grad();
  auto logits = model.forward(x);
  auto target = y;
  if (model.input_form() == InputForm::kSequence) {
    logits = logits.flatten(0, 1);
    target = target.flatten(0, 1);
  }
  const auto loss = orch::dice_ce_loss(logits, target);
  loss.backward();
  opt.step();
  loss.item<float>();  // waits for the step (no-op on CPU, kept for a device port)
  return now() - t0;
}

// Builds, trains and measures one case. Throws on a failure; the caller records it.
json run_case(const Case& c, int warmup, int steps) {
  malloc_trim(0);  // hand freed memory back so that the peak below is this case's
  const long rss0 = proc_status_kib("VmRSS");
  const bool reset = reset_peak_rss();  // also lowers ru_maxrss on Linux: read it after
  const long maxrss0 = max_rss_kib();
  const double load = load_average();
  const orch::ModelShape ms;  // 1 channel, 2 classes
  torch::manual_seed(0);
  const SegmentationModel model = orch::make_model(c.model, c.options, ms);
  model->train();
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const auto shape = input_shape(c, *model, ms.in_channels);
  // Inputs are class indices as floats, valid for image models and for refnet's label maps.
  const auto x = torch::randint(0, ms.num_classes, shape).to(torch::kFloat);
  auto label_shape = shape;
  label_shape.erase(label_shape.begin() + (model->input_form() == InputForm::kSequence ? 2 : 1));
  const auto y = torch::randint(0, ms.num_classes, label_shape, torch::kLong);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  const bool quick = c.size == "quick";
  for (int i = 0; quick && i < warmup; ++i) train_step(*model, opt, x, y);
  std::vector<double> times;
  for (int i = 0; i < (quick ? steps : 1); ++i) times.push_back(train_step(*model, opt, x, y));
  const double med = median(times);
  int64_t voxels = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (d != (model->input_form() == InputForm::kSequence ? 2u : 1u)) voxels *= shape[d];
  return {{"model", c.model},
          {"size", c.size},
          {"status", "ok"},
          {"options", c.options},
          {"input_shape", shape},
          {"params", params},
          {"warmup", quick ? warmup : 0},
          {"steps", times.size()},
          {"step_s", times},
          {"median_step_s", med},
          {"steps_per_s", 1.0 / med},
          {"voxels_per_s", static_cast<double>(voxels) / med},
          {"peak_rss_delta_kib", reset ? proc_status_kib("VmHWM") - rss0 : -1},
          {"ru_maxrss_delta_kib", max_rss_kib() - maxrss0},
          {"load_average", load}};
}

std::string shape_text(const json& shape) {
  std::string s;
  for (const auto& v : shape) s += (s.empty() ? "" : "x") + std::to_string(v.get<int64_t>());
  return s;
}

void print_row(const json& r) {
  if (r["status"] != "ok") {
    std::cout << fmt::format("{:<17} {:<5}  {}: {}\n", r["model"].get<std::string>(),
                             r["size"].get<std::string>(), r["status"].get<std::string>(),
                             r["reason"].get<std::string>());
    return;
  }
  std::cout << fmt::format(
      "{:<17} {:<5} {:>16} {:>11} {:>9.3f} {:>9.3f} {:>11.3g} {:>9.1f} {:>9.1f} {:>5.2f}\n",
      r["model"].get<std::string>(), r["size"].get<std::string>(), shape_text(r["input_shape"]),
      r["params"].get<int64_t>(), r["median_step_s"].get<double>(), r["steps_per_s"].get<double>(),
      r["voxels_per_s"].get<double>(), r["peak_rss_delta_kib"].get<long>() / 1024.0,
      r["ru_maxrss_delta_kib"].get<long>() / 1024.0, r["load_average"].get<double>());
  std::cout.flush();
}

struct Args {
  std::vector<std::string> models, sizes = {"quick", "paper"};
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int steps = 5, warmup = 2;
  double mem_limit_gb = 0;
  json sets = json::object();
  std::vector<int64_t> shape;
  std::string json_path;
};

constexpr const char* kUsage =
    "usage: bench_train_step [--models a,b] [--sizes quick,paper] [--threads N] [--steps N]\n"
    "                        [--warmup N] [--json PATH] [--set key=value ...] [--shape S1,S2,..]\n"
    "                        [--mem-limit-gb G]\n"
    "--set and --shape change the quick cases only (options; the whole input shape).\n";

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--models") {
      a.models = split(next(), ',');
    } else if (arg == "--sizes") {
      a.sizes = split(next(), ',');
      for (const auto& s : a.sizes)
        if (s != "quick" && s != "paper") throw std::invalid_argument("--sizes: unknown " + s);
    } else if (arg == "--threads") {
      a.threads = std::stoi(next());
    } else if (arg == "--steps") {
      a.steps = std::max(1, std::stoi(next()));
    } else if (arg == "--warmup") {
      a.warmup = std::stoi(next());
    } else if (arg == "--json") {
      a.json_path = next();
    } else if (arg == "--mem-limit-gb") {
      a.mem_limit_gb = std::stod(next());
    } else if (arg == "--shape") {
      for (const auto& s : split(next(), ',')) a.shape.push_back(std::stoll(s));
    } else if (arg == "--set") {
      const std::string kv = next();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--set " + kv + ": need key=value");
      json v = json::parse(kv.substr(eq + 1), nullptr, false);
      a.sets[kv.substr(0, eq)] = v.is_discarded() ? json(kv.substr(eq + 1)) : v;
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_train_step: " << e.what() << "\n" << kUsage;
    return 2;
  }
  torch::set_num_threads(args.threads);
  if (args.mem_limit_gb > 0) {  // an allocation past it fails the case instead of the machine
    const auto bytes = static_cast<rlim_t>(args.mem_limit_gb * (1ull << 30));
    const rlimit lim{bytes, bytes};
    setrlimit(RLIMIT_AS, &lim);
  }
  if (args.models.empty()) args.models = orch::model_kinds();
  json results = {
      {"threads", args.threads}, {"steps", args.steps},
      {"warmup", args.warmup},   {"hardware_concurrency", std::thread::hardware_concurrency()},
      {"cases", json::array()},  {"skipped", json::array()}};
  std::cout << fmt::format(
      "threads {}, quick: median of {} steps after {} warm-up; paper: one "
      "cold step\n",
      args.threads, args.steps, args.warmup);
  std::cout << fmt::format("{:<17} {:<5} {:>16} {:>11} {:>9} {:>9} {:>11} {:>9} {:>9} {:>5}\n",
                           "model", "size", "input", "params", "step s", "steps/s", "voxels/s",
                           "peak MiB", "maxrss+", "load");
  for (const auto& name : args.models) {
    const auto& reg = orch::model_registry();
    const auto kind = std::find_if(reg.begin(), reg.end(), [&](auto& k) { return k.name == name; });
    if (kind == reg.end()) {
      std::cerr << "bench_train_step: unknown model '" << name << "'\n";
      return 2;
    }
    for (const auto& c : cases_for(*kind, args.sizes, args.sets, args.shape)) {
      json r;
      try {
        r = run_case(c, args.warmup, args.steps);
      } catch (const std::exception& e) {
        std::string why = e.what();
        why = why.substr(0, why.find('\n'));
        const bool unbuilt = why.find("not built yet") != std::string::npos;
        r = {{"model", c.model},
             {"size", c.size},
             {"options", c.options},
             {"status", unbuilt ? "skipped" : "failed"},
             {"reason", why}};
        if (unbuilt) results["skipped"].push_back(c.model);
      }
      print_row(r);
      results["cases"].push_back(r);
    }
  }
  results["vm_hwm_kib"] = proc_status_kib("VmHWM");
  if (!args.json_path.empty()) std::ofstream(args.json_path) << results.dump(2) << "\n";
  return 0;
}
