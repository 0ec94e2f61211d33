#include "worker/trainer.h"

#include <chrono>
#include <cmath>

#include "common/rng.h"
#include "worker/inference.h"
#include "worker/losses.h"

namespace orch {

namespace {

double train_one_epoch(const TrainLoop& loop, int epoch) {
  loop.model.train();
  Rng rng(Rng::derive(loop.seed, 1000 + static_cast<std::uint64_t>(epoch)));
  double sum = 0;
  for (int step = 0; step < loop.config.steps_per_epoch; ++step) {
    const SliceBatch batch = loop.sampler.sample(loop.config.batch, rng);
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
