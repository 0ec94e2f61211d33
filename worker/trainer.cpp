#include "worker/trainer.h"

#include <chrono>
#include <cmath>

#include "common/rng.h"
#include "worker/inference.h"
#include "worker/loader.h"
#include "worker/losses.h"

namespace orch {

namespace {

// Augments each slice of `b` on its own stream: a slice is a (C, 1, Y, X) subject, TorchIO's 2-D
// case (rotation about k only, no motion along k).
SliceBatch augment_batch(SliceBatch b, const Pipeline& pipeline,
                         const std::array<double, 3>& spacing, std::uint64_t seed) {
  for (int64_t n = 0; n < b.image.size(0); ++n) {
    Subject s{b.image[n].unsqueeze(1), b.label[n].unsqueeze(0).to(torch::kUInt8), spacing};
    s = pipeline(std::move(s), Rng::derive(seed, static_cast<std::uint64_t>(n)));
    b.image[n].copy_(s.image.squeeze(1));
    b.label[n].copy_(s.label.reshape(b.label[n].sizes()).to(torch::kLong));
  }
  return b;
}

double train_one_epoch(const TrainLoop& loop, int epoch) {
  loop.model.train();
  const std::uint64_t epoch_seed = Rng::derive(loop.seed, 1000 + static_cast<std::uint64_t>(epoch));
  // Batches are sampled on a background thread while the model trains on the previous one;
  // batch `step` depends only on (seed, epoch, step), so the thread count never changes it.
  Loader<SliceBatch> loader(
      [&](int64_t step) {
        const std::uint64_t step_seed = Rng::derive(epoch_seed, static_cast<std::uint64_t>(step));
        Rng rng(step_seed);
        SliceBatch b = loop.sampler.sample(loop.config.batch, rng);
        if (loop.augment)
          b = augment_batch(std::move(b), *loop.augment, loop.spacing, Rng::derive(step_seed, 1));
        return b;
      },
      loop.config.steps_per_epoch, LoaderOptions{1, 3});
  double sum = 0;
  for (int step = 0; step < loop.config.steps_per_epoch; ++step) {
    const SliceBatch batch = *loader.next();  // re-throws a sampling error with its message
    loop.optimizer.zero_grad();
    const auto loss = dice_ce_loss(loop.model.forward(batch.image), batch.label);
    loss.backward();
    loop.optimizer.step();
    sum += loss.item<double>();
  }
  return sum / loop.config.steps_per_epoch;
}

// Higher is better; an undefined value never counts as an improvement.
double selection_metric(const std::string& name, const EpochRecord& e) {
  const double v = name == "val_loss" ? -e.val_loss : e.val_dsc;
  return std::isfinite(v) ? v : -std::numeric_limits<double>::infinity();
}

}  // namespace

void run_epochs(const TrainLoop& loop, TrainState& state, const EpochCallback& on_epoch) {
  const TrainingConfig& cfg = loop.config;
  while (!state.finished && state.next_epoch < cfg.epochs) {
    const int epoch = state.next_epoch;
    const auto t0 = std::chrono::steady_clock::now();
    EpochRecord rec;
    rec.epoch = epoch;
    rec.lr = cfg.lr;
    rec.train_loss = train_one_epoch(loop, epoch);
    const ValidationResult v = validate(loop.model, loop.val, loop.num_classes, 2 * cfg.batch);
    rec.val_loss = v.loss;
    rec.val_dsc = v.dsc;
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const double metric = selection_metric(cfg.early_stop_metric, rec);
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
}

}  // namespace orch
