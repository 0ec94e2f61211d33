#include "worker/train/trainer.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "common/progress.h"
#include "common/rng.h"
#include "worker/data/loader.h"
#include "worker/infer/inference.h"
#include "worker/train/device.h"
#include "worker/train/losses.h"

namespace orch {

namespace {

// Sequence models return (B, T, K, H, W): fold T into the batch so that every loss sees the
// (N, K, spatial...) layout it expects.
std::pair<torch::Tensor, torch::Tensor> loss_layout(const torch::Tensor& logits,
                                                    const torch::Tensor& label) {
  if (logits.dim() == 5 && label.dim() == 4 && logits.size(1) == label.size(1) &&
      logits.size(3) == label.size(2) && logits.size(4) == label.size(3))
    return {logits.flatten(0, 1), label.flatten(0, 1)};
  return {logits, label};
}

// Mean over the deep-supervision logits of BCE + Dice against the foreground (label > 0), each
// logit upsampled (bilinear, or trilinear for 3-D) to the label's size first.
torch::Tensor deep_supervision_loss(const std::vector<torch::Tensor>& aux,
                                    const torch::Tensor& label) {
  const auto fg = (label > 0).to(torch::kInt64);
  const std::vector<int64_t> size(label.sizes().begin() + 1, label.sizes().end());
  torch::Tensor sum = torch::zeros({}, aux.front().options().dtype(torch::kFloat32));
  for (const auto& p : aux) {
    torch::nn::functional::InterpolateFuncOptions o;
    o.size(size).align_corners(false);
    if (size.size() == 3) {
      o.mode(torch::kTrilinear);
    } else {
      o.mode(torch::kBilinear);
    }
    const auto up = torch::nn::functional::interpolate(p.to(torch::kFloat32), o);
    sum = sum + bce_dice_loss(up, fg);
  }
  return sum / static_cast<double>(aux.size());
}

double train_one_epoch(const TrainLoop& loop, int epoch, ProgressTask& progress) {
  loop.model.train();
  const std::uint64_t epoch_seed = Rng::derive(loop.seed, 1000 + static_cast<std::uint64_t>(epoch));
  // Batches are sampled on a background thread while the model trains on the previous one;
  // batch `step` depends only on (seed, epoch, step), so the thread count never changes it.
  Loader<TrainBatch> loader(
      [&](int64_t step) {
        Rng rng(Rng::derive(epoch_seed, static_cast<std::uint64_t>(step)));
        return loop.sampler.sample(loop.config.batch, rng, loop.augment);
      },
      loop.config.steps_per_epoch, LoaderOptions{1, 3});
  const torch::Device device = module_device(loop.model);
  const bool bf16 = loop.config.precision == "bf16";
  double sum = 0;
  for (int step = 0; step < loop.config.steps_per_epoch; ++step) {
    const TrainBatch cpu = *loader.next();  // re-throws a sampling error with its message
    const torch::Tensor image = cpu.image.to(device), target = cpu.label.to(device);
    loop.optimizer.zero_grad();
    torch::Tensor out;
    {
      const AutocastScope autocast(device, bf16);  // the forward pass only, as torch.autocast
      out = loop.model.forward(image);
    }
    const auto [logits, label] = loss_layout(out, target);
    auto loss = loop.loss(logits, label, image);
    if (const auto aux = loop.model.deep_supervision_logits(); !aux.empty())
      loss = loss + deep_supervision_loss(aux, label);
    loss.backward();
    if (loop.config.grad_clip > 0) clip_grad_norm(loop.model.parameters(), loop.config.grad_clip);
    loop.optimizer.step();
    sum += loss.item<double>();
    progress.advance();
  }
  return sum / loop.config.steps_per_epoch;
}

}  // namespace

const std::vector<std::string>& early_stop_metric_names() {
  static const std::vector<std::string> names = {"val_dsc", "val_iou", "val_loss", "train_loss"};
  return names;
}

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names = {"fp32", "bf16"};
  return names;
}

namespace {

// Higher is better (losses are negated); an undefined value never counts as an improvement.
double selection_metric(const std::string& name, const EpochRecord& e) {
  const double v = name == "val_loss"     ? -e.val_loss
                   : name == "train_loss" ? -e.train_loss
                   : name == "val_iou"    ? e.val_iou
                                          : e.val_dsc;
  return std::isfinite(v) ? v : -std::numeric_limits<double>::infinity();
}

}  // namespace

void run_epochs(const TrainLoop& loop, TrainState& state, const EpochCallback& on_epoch) {
  const TrainingConfig& cfg = loop.config;
  if (state.finished || state.next_epoch >= cfg.epochs) return;
  const std::int64_t steps = cfg.steps_per_epoch;
  ProgressTask progress =
      start_progress(loop.progress_label, steps * cfg.epochs, "step", steps * state.next_epoch);
  while (!state.finished && state.next_epoch < cfg.epochs) {
    const int epoch = state.next_epoch;
    const auto t0 = std::chrono::steady_clock::now();
    EpochRecord rec;
    rec.epoch = epoch;
    rec.lr = loop.schedule ? loop.schedule->lr(epoch) : cfg.lr;
    set_lr(loop.optimizer, rec.lr);
    const std::string of = fmt::format("epoch {}/{}", epoch + 1, cfg.epochs);
    progress.set_detail(of);
    rec.train_loss = train_one_epoch(loop, epoch, progress);
    progress.set_detail(of + " validating");
    const ValidationResult v = validate(loop.model, loop.val, loop.num_classes, loop.predict);
    rec.val_loss = v.loss;
    rec.val_dsc = v.dsc;
    rec.val_iou = v.iou;
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const double metric = selection_metric(cfg.early_stop_metric, rec);
    if (loop.schedule) {
      loop.schedule->observe(epoch, metric);
      state.schedule = loop.schedule->state();
    }
    const bool improved = state.best_epoch < 0 || metric > state.best_metric;
    state.history.push_back(rec);
    state.next_epoch = epoch + 1;
    if (improved) {
      state.best_metric = metric;
      state.best_epoch = epoch;
      state.bad_epochs = 0;
    } else {
      ++state.bad_epochs;
    }
    state.finished = state.bad_epochs >= cfg.patience || state.next_epoch >= cfg.epochs;
    on_epoch(rec);
    save_checkpoint(loop.last_path, loop.model, loop.optimizer, state);
    if (improved) save_checkpoint(loop.best_path, loop.model, loop.optimizer, state);
  }
  progress.set_detail(fmt::format("{} epoch(s){}", state.next_epoch,
                                  state.next_epoch < cfg.epochs ? ", stopped early" : ""));
  progress.finish();
}

}  // namespace orch
