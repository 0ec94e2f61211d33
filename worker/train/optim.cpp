#include "worker/train/optim.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/json.h"
#include "common/status.h"
#include "common/strings.h"

namespace orch {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kPlateauThreshold = 1e-4;  // torch's default, relative
constexpr double kPlateauEps = 1e-8;        // torch's: smaller reductions are skipped

}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"adam", "adamw", "rmsprop", "sgd"};
  return names;
}

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = {"constant", "warmup_cosine", "plateau"};
  return names;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainingConfig& config,
                                                        std::vector<torch::Tensor> params) {
  namespace O = torch::optim;
  const std::string& name = config.optimizer;
  const double lr = config.lr, wd = config.weight_decay, m = config.momentum;
  if (name == "adam")
    return std::make_unique<O::Adam>(std::move(params), O::AdamOptions(lr).weight_decay(wd));
  if (name == "adamw")
    return std::make_unique<O::AdamW>(std::move(params), O::AdamWOptions(lr).weight_decay(wd));
  if (name == "rmsprop")
    return std::make_unique<O::RMSprop>(std::move(params),
                                        O::RMSpropOptions(lr).momentum(m).weight_decay(wd));
  if (name == "sgd")
    return std::make_unique<O::SGD>(std::move(params),
                                    O::SGDOptions(lr).momentum(m).weight_decay(wd));
  throw Error("training.optimizer: unknown optimizer '" + name +
              "'; known: " + join(optimizer_names()));
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double get_lr(const torch::optim::Optimizer& optimizer) {
  if (optimizer.param_groups().empty()) throw Error("get_lr: the optimizer has no parameters");
  return optimizer.param_groups().front().options().get_lr();
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  if (max_norm > 0) return torch::nn::utils::clip_grad_norm_(params, max_norm);
  // clip_grad_norm_ with max_norm 0 would zero every gradient: measure only.
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2).to(torch::kDouble));
  if (norms.empty()) return 0.0;
  return torch::stack(norms).norm(2).item<double>();
}

LrSchedule::LrSchedule(const TrainingConfig& config)
    : kind_(config.schedule),
      base_lr_(config.lr),
      min_lr_(config.min_lr),
      warmup_epochs_(config.warmup_epochs),
      epochs_(config.epochs),
      factor_(config.plateau_factor),
      patience_(config.plateau_patience),
      current_lr_(config.lr),
      best_(-std::numeric_limits<double>::infinity()) {
  const auto& known = schedule_names();
  if (std::find(known.begin(), known.end(), kind_) == known.end())
    throw Error("training.schedule: unknown schedule '" + kind_ + "'; known: " + join(known));
}

double LrSchedule::lr(int epoch) const {
  if (kind_ == "plateau") return current_lr_;
  if (kind_ == "constant") return base_lr_;
  if (epoch < warmup_epochs_) return base_lr_ * epoch / warmup_epochs_;
  const double span = std::max(1, epochs_ - warmup_epochs_);
  const double progress = std::min(1.0, (epoch - warmup_epochs_) / span);
  return min_lr_ + (base_lr_ - min_lr_) * 0.5 * (1 + std::cos(kPi * progress));
}

void LrSchedule::observe(int epoch, double metric) {
  if (epoch <= last_observed_) return;
  last_observed_ = epoch;
  if (kind_ != "plateau") return;
  const bool improved =
      std::isfinite(metric) &&
      (!std::isfinite(best_) || metric > best_ + std::abs(best_) * kPlateauThreshold);
  if (improved) {
    best_ = metric;
    bad_epochs_ = 0;
    return;
  }
  if (++bad_epochs_ <= patience_) return;
  const double reduced = std::max(current_lr_ * factor_, min_lr_);
  if (current_lr_ - reduced > kPlateauEps) current_lr_ = reduced;
  bad_epochs_ = 0;
}

nlohmann::json LrSchedule::state() const {
  // An unset best is -inf (common/json.h writes it "-inf").
  return nlohmann::json{{"schedule", kind_},
                        {"lr", current_lr_},
                        {"best", number_json(best_)},
                        {"bad_epochs", bad_epochs_},
                        {"last_epoch", last_observed_}};
}

void LrSchedule::restore(const nlohmann::json& s) {
  try {
    if (s.at("schedule").get<std::string>() != kind_)
      throw Error("the checkpoint's lr schedule is '" + s.at("schedule").get<std::string>() +
                  "' but this trial uses '" + kind_ + "'");
    current_lr_ = s.at("lr").get<double>();
    const auto& best = s.at("best");
    // Older checkpoints wrote an unset best as null.
    best_ = best.is_null() ? -std::numeric_limits<double>::infinity() : number_from_json(best);
    bad_epochs_ = s.at("bad_epochs").get<int>();
    last_observed_ = s.at("last_epoch").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed lr schedule state: ") + e.what());
  }
}

}  // namespace orch
