#include "worker/trial/trial_runner.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/metrics/aggregate.h"
#include "common/rng.h"
#include "common/sha256.h"
#include "datastore/datasets/dataset.h"
#include "models/registry.h"
#include "worker/data/prepare.h"
#include "worker/data/transforms.h"
#include "worker/infer/inference.h"
#include "worker/train/losses.h"
#include "worker/trial/refine.h"

namespace orch {

namespace fs = std::filesystem;

namespace {

// The trial's own log, <trial dir>/log.txt: appended (a resumed or retried trial continues it),
// one timestamped line at a time, flushed per line so that a killed run keeps every line. It is
// written by the trial's code path itself, so it is the same under MPI and in one process. A log
// that cannot be opened only warns: it never fails the trial.
class TrialLog {
 public:
  explicit TrialLog(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    out_.open(path, std::ios::app);
    if (!out_) spdlog::warn("cannot open the trial log {}", path.string());
  }
  void write(const std::string& text) {
    if (!out_) return;
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
    out_ << stamp << ' ' << text << std::endl;  // endl: flushed per line
  }

 private:
  std::ofstream out_;
};

std::string epoch_line(const EpochRecord& e, int epochs) {
  return fmt::format(
      "epoch {}/{}: train_loss {:.4f} val_loss {:.4f} val_dsc {:.4f} val_iou {:.4f} lr {:.3g} "
      "({:.1f} s)",
      e.epoch + 1, epochs, e.train_loss, e.val_loss, e.val_dsc, e.val_iou, e.lr, e.seconds);
}

size_t case_count(const std::vector<CaseClassCounts>& counts) {
  std::vector<std::string> ids;
  for (const auto& c : counts) ids.push_back(c.case_id);
  std::sort(ids.begin(), ids.end());
  return static_cast<size_t>(std::unique(ids.begin(), ids.end()) - ids.begin());
}

struct SplitCases {
  std::vector<PreparedCase> train, val, test;
  int64_t channels = 1;
};

SplitCases load_split(const TrialSpec& spec, const fs::path& dir) {
  const auto adapter = open_dataset(spec.dataset);
  const std::vector<CaseRef> refs = adapter->cases();
  if (refs.empty()) throw Error("dataset '" + spec.dataset.name + "' has no labelled cases");
  const Split split = adapter->split(refs, spec.dataset.split);
  write_file_atomic(
      dir / "split.json",
      nlohmann::json{{"train", split.train}, {"val", split.val}, {"test", split.test}}.dump(2));
  const std::string cache_dir =
      spec.cache_dir.empty() ? (fs::path(spec.out_dir) / "cache").string() : spec.cache_dir;
  if (split.train.empty() || split.test.empty())
    throw Error("dataset '" + spec.dataset.name + "': the split leaves " +
                std::to_string(split.train.size()) + " training and " +
                std::to_string(split.test.size()) + " test cases; both need at least one");
  auto parts =
      load_prepared(spec.dataset, *adapter, refs, {split.train, split.val, split.test}, cache_dir);
  SplitCases out{std::move(parts[0]), std::move(parts[1]), std::move(parts[2]), 1};
  out.channels = out.train.front().image.size(0);
  return out;
}

// Temporary files of atomic writes that a killed run left behind (".last.tmp123_4.pt").
void remove_partial_files(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp") != std::string::npos)
      fs::remove(e.path());
  }
}

Artifact artifact(const std::string& kind, const fs::path& path) {
  return {kind, fs::absolute(path).string(), file_checksum(path.string()),
          static_cast<std::int64_t>(fs::file_size(path))};
}

// How training samples and inference windows follow the model's input form.
BatchSamplingOptions sampling_options(const TrialSpec& spec, const SegmentationModelImpl& model) {
  BatchSamplingOptions o;
  o.form = model.input_form();
  o.foreground_fraction = spec.training.foreground_fraction;
  o.sequence_length = model.sequence_length();
  const auto& p = spec.training.patch;
  o.patch = {p[0], p[1], p[2]};
  o.sampler = spec.training.sampler;
  o.samples_per_volume = spec.training.samples_per_volume;
  return o;
}

TrialOutcome run_trial_or_throw(const TrialSpec& spec, const torch::Device& device, TrialLog& log,
                                const EpochCallback& on_epoch) {
  const fs::path dir = trial_dir(spec);
  fs::create_directories(dir);
  remove_partial_files(dir);
  write_file_atomic(dir / "spec.json", to_json(spec).dump(2));
  SplitCases data = load_split(spec, dir);
  if (!spec.sources.empty()) {  // refinement: the sources' label maps replace the images
    RefinementData r = refinement_data(spec, device, data.train, data.val, data.test);
    data = SplitCases{std::move(r.train), std::move(r.val), std::move(r.test), 1};
  }
  const int k = spec.dataset.num_classes;

  torch::manual_seed(Rng::derive(spec.seed, 1));
  SegmentationModel model = make_model(spec.model.kind, spec.model.options, {data.channels, k});
  model->to(device);  // before the optimiser takes its parameters
  const auto optimizer_ptr = make_optimizer(spec.training, model->parameters());
  torch::optim::Optimizer& optimizer = *optimizer_ptr;
  LrSchedule schedule(spec.training);
  if (spec.training.precision == "bf16" && !device.is_cuda())
    spdlog::warn("trial {}: precision bf16 applies to CUDA only; this CPU run trains in fp32",
                 spec.id);
  TrainState state;
  const fs::path last = dir / "last.pt", best = dir / "best.pt";
  const BatchSampler sampler(data.train, sampling_options(spec, *model));
  const PredictOptions predict = predict_options(spec);
  std::vector<TransformSpec> transforms;
  for (const auto& t : spec.training.augment) transforms.push_back(parse_transform(t));
  const Pipeline augment(std::move(transforms));
  const TrainLoop loop{*model,        optimizer,
                       sampler,       data.val,
                       spec.training, k,
                       spec.seed,     last.string(),
                       best.string(), spec.training.augment.empty() ? nullptr : &augment,
                       predict,       make_step_loss(spec.training),
                       &schedule,     "train " + spec.id.substr(0, 8)};
  if (!fs::exists(last) && (!spec.init.empty() || !spec.init_checksum.empty())) {
    // E9: a later stage starts from the best weights of its stage trial (or a checkpoint file).
    const std::string from = !spec.init.empty()
                                 ? (fs::path(trial_dir(spec.init.front())) / "best.pt").string()
                                 : spec.model.init_from;
    if (spec.init.empty() && sha256_file(from) != spec.init_checksum)
      throw Error("trial " + spec.id + ": init_from '" + from +
                  "' changed since the plan was made (its SHA-256 differs)");
    const InitReport r = load_matching_weights(from, *model);
    log.write(fmt::format("init: {} tensors from {}; {} kept their initialisation", r.copied, from,
                          r.kept.size()));
    spdlog::info("trial {}: {} tensors initialised from {} ({} without a match)", spec.id, r.copied,
                 from, r.kept.size());
  }
  if (fs::exists(last)) {
    load_checkpoint(last.string(), *model, &optimizer, state);
    spdlog::info("trial {}: resuming from {} at epoch {}", spec.id, last.string(),
                 state.next_epoch);
    log.write(fmt::format("resume: from {} at epoch {}/{} (best epoch {})", last.string(),
                          state.next_epoch + 1, spec.training.epochs, state.best_epoch + 1));
    repair_best_checkpoint(last.string(), best.string(), state);
    if (!state.schedule.empty()) schedule.restore(state.schedule);
    for (const auto& e : state.history) on_epoch(e);  // idempotent in the store
  }
  if (spec.training.epochs == 0 && !fs::exists(best)) {
    // No training: the freshly initialised model is scored as it is (an untrained baseline).
    state.finished = true;
    save_checkpoint(last.string(), *model, optimizer, state);
    save_checkpoint(best.string(), *model, optimizer, state);
  }
  // Epochs replayed from a checkpoint (above) are in the log already; only new ones are written.
  run_epochs(loop, state, [&](const EpochRecord& e) {
    log.write(epoch_line(e, spec.training.epochs));
    on_epoch(e);
  });

  TrainState best_state;
  load_checkpoint(best.string(), *model, nullptr, best_state);
  TrialOutcome out;
  out.counts = score_cases(*model, data.test, k, predict,
                           spec.inference.save_predictions ? (dir / "predictions").string() : "");
  out.artifacts = {artifact("best", best), artifact("last", last)};
  out.best_epoch = state.best_epoch;
  return out;
}

}  // namespace

PredictOptions predict_options(const TrialSpec& spec) {
  PredictOptions o;
  o.overlap = spec.inference.overlap;
  o.sw_batch = spec.inference.sw_batch;
  o.gaussian = spec.inference.blend == "gaussian";
  o.mirror = spec.inference.mirror;
  const auto& p = spec.training.patch;
  o.patch = {p[0], p[1], p[2]};
  o.bf16 = spec.training.precision == "bf16";
  if (spec.training.val_loss == "training") {
    // E11: the trial's own loss on the whole case; log-probabilities are logits whose softmax
    // gives the probabilities back.
    const LossFn fn = make_loss(spec.training);
    o.loss = [fn](const torch::Tensor& probs, const torch::Tensor& label) {
      const auto logits = probs.clamp_min(1e-8).log().unsqueeze(0);
      return fn(logits, label.unsqueeze(0).to(torch::kLong)).item<double>();
    };
  }
  return o;
}

std::string trial_dir(const TrialSpec& spec) {
  return (fs::path(spec.out_dir) / "trials" / spec.id).string();
}

TrialOutcome run_trial(const TrialSpec& spec, const WorkerOptions& worker,
                       const EpochCallback& on_epoch) {
  if (worker.threads > 0) torch::set_num_threads(worker.threads);
  TrialLog log(fs::path(trial_dir(spec)) / "log.txt");
  log.write(
      fmt::format("start: trial {} model {} ({}) dataset {} ({}) seed {} device {} threads {}",
                  spec.id, spec.model.name, spec.model.kind, spec.dataset.name, spec.dataset.kind,
                  spec.seed, worker.device.str(), torch::get_num_threads()));
  std::string error;
  try {
    TrialOutcome out = run_trial_or_throw(spec, worker.device, log, on_epoch);
    log.write(fmt::format("done: best epoch {}, {} test case(s): {}", out.best_epoch + 1,
                          case_count(out.counts), summarize_counts(out.counts).dump()));
    return out;
  } catch (const c10::Error& e) {
    error = e.what_without_backtrace();
  } catch (const std::exception& e) {
    error = e.what();
  }
  log.write("failed: " + error);
  return {Status::Failed(error), {}, {}, -1};
}

}  // namespace orch
