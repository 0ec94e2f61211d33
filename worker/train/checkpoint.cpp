#include "worker/train/checkpoint.h"

#include "worker/train/device.h"

#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/json.h"
#include "common/status.h"

namespace orch {

using nlohmann::json;

namespace {

json state_json(const TrainState& s) {
  json history = json::array();
  for (const auto& e : s.history)
    history.push_back({e.epoch, number_json(e.train_loss), number_json(e.val_loss),
                       number_json(e.val_dsc), number_json(e.lr), number_json(e.seconds),
                       number_json(e.val_iou)});
  return json{{"next_epoch", s.next_epoch}, {"best_metric", number_json(s.best_metric)},
              {"best_epoch", s.best_epoch}, {"bad_epochs", s.bad_epochs},
              {"finished", s.finished},     {"history", history},
              {"schedule", s.schedule}};
}

TrainState state_from_json(const json& j) {
  TrainState s;
  j.at("next_epoch").get_to(s.next_epoch);
  // No best yet is -inf (older checkpoints wrote it as null).
  s.best_metric = j.at("best_metric").is_null() ? -std::numeric_limits<double>::infinity()
                                                : number_from_json(j["best_metric"]);
  j.at("best_epoch").get_to(s.best_epoch);
  j.at("bad_epochs").get_to(s.bad_epochs);
  j.at("finished").get_to(s.finished);
  // A diverged epoch's NaN values were written as null and read back as NaN (common/json.h).
  if (j.contains("schedule")) s.schedule = j["schedule"];
  const auto num = [](const json& v) { return number_from_json(v); };
  for (const auto& h : j.at("history"))
    s.history.push_back({h[0].get<int>(), num(h[1]), num(h[2]), num(h[3]), num(h[4]), num(h[5]),
                         h.size() > 6 ? num(h[6]) : nan_value()});
  return s;
}

// Shapes of every parameter and buffer, by name.
std::map<std::string, std::vector<int64_t>> tensor_shapes(const torch::nn::Module& model) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : model.named_parameters()) out[p.key()] = p.value().sizes().vec();
  for (const auto& b : model.named_buffers()) out[b.key()] = b.value().sizes().vec();
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, const TrainState& state) {
  torch::serialize::OutputArchive root, model_archive, optim_archive;
  model.save(model_archive);
  optimizer.save(optim_archive);
  root.write("model", model_archive);
  root.write("optimizer", optim_archive);
  root.write("state", c10::IValue(state_json(state).dump()));
  write_atomic_with(path, [&](const std::filesystem::path& tmp) { root.save_to(tmp.string()); });
}

TrainState read_checkpoint_state(const std::string& path) {
  try {
    torch::serialize::InputArchive root;
    root.load_from(path);
    c10::IValue s;
    root.read("state", s);
    return state_from_json(json::parse(s.toStringRef()));
  } catch (const c10::Error& e) {
    throw Error("cannot read checkpoint '" + path + "': " + e.what_without_backtrace());
  } catch (const json::exception& e) {
    throw Error("checkpoint '" + path + "' has a damaged state record: " + e.what());
  }
}

void load_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, TrainState& state) {
  try {
    torch::serialize::InputArchive root, model_archive, optim_archive;
    // Tensors are read onto the model's device: Module::load would otherwise move a CUDA model's
    // parameters back to the device they were saved from.
    root.load_from(path, module_device(model));
    root.read("model", model_archive);
    // Module::load swaps each tensor for the stored one whatever its shape, so a checkpoint of
    // another architecture would load silently: compare the shapes it leaves behind.
    const auto expected = tensor_shapes(model);
    model.load(model_archive);
    const auto got = tensor_shapes(model);
    for (const auto& [name, shape] : expected)
      if (got.at(name) != shape)
        throw Error("checkpoint '" + path + "' does not match the model: '" + name +
                    "' has shape " + c10::str(c10::IntArrayRef(got.at(name))) +
                    ", the model expects " + c10::str(c10::IntArrayRef(shape)));
    if (optimizer) {
      root.read("optimizer", optim_archive);
      optimizer->load(optim_archive);
    }
    c10::IValue s;
    root.read("state", s);
    state = state_from_json(json::parse(s.toStringRef()));
  } catch (const c10::Error& e) {
    throw Error("cannot load checkpoint '" + path + "': " + e.what_without_backtrace());
  } catch (const json::exception& e) {
    throw Error("checkpoint '" + path + "' has a damaged state record: " + e.what());
  }
}

namespace {

// Module::save writes a module's own parameters and buffers by name and each child as a nested
// archive under the child's name; this walks both trees together.
void copy_matching(torch::nn::Module& m, torch::serialize::InputArchive& a,
                   const std::string& prefix, InitReport& r) {
  torch::NoGradGuard no_grad;
  const auto take = [&](const std::string& name, torch::Tensor& dst, bool buffer) {
    torch::Tensor src;
    if (a.try_read(name, src, buffer) && src.sizes() == dst.sizes()) {
      dst.copy_(src);
      ++r.copied;
    } else {
      r.kept.push_back(prefix + name);
    }
  };
  for (auto& p : m.named_parameters(/*recurse=*/false)) take(p.key(), p.value(), false);
  for (auto& b : m.named_buffers(/*recurse=*/false)) take(b.key(), b.value(), true);
  for (auto& child : m.named_children()) {
    torch::serialize::InputArchive sub;
    if (a.try_read(child.key(), sub)) {
      copy_matching(*child.value(), sub, prefix + child.key() + ".", r);
    } else {
      for (const auto& p : child.value()->named_parameters())
        r.kept.push_back(prefix + child.key() + "." + p.key());
      for (const auto& b : child.value()->named_buffers())
        r.kept.push_back(prefix + child.key() + "." + b.key());
    }
  }
}

}  // namespace

InitReport load_matching_weights(const std::string& path, torch::nn::Module& model) {
  InitReport r;
  try {
    torch::serialize::InputArchive root, model_archive;
    root.load_from(path, module_device(model));
    // orch's checkpoints hold the module under "model"; a bare module archive (torch::save of a
    // module) holds it at the root.
    if (root.try_read("model", model_archive))
      copy_matching(model, model_archive, "", r);
    else
      copy_matching(model, root, "", r);
  } catch (const c10::Error& e) {
    throw Error("cannot read initial weights from '" + path + "': " + e.what_without_backtrace());
  }
  if (r.copied == 0)
    throw Error("initial weights '" + path + "' share no tensor (name and shape) with the model");
  return r;
}

void repair_best_checkpoint(const std::string& last_path, const std::string& best_path,
                            const TrainState& last_state) {
  if (last_state.best_epoch < 0) return;
  if (std::filesystem::exists(best_path) &&
      read_checkpoint_state(best_path).best_epoch == last_state.best_epoch)
    return;
  if (last_state.best_epoch != last_state.next_epoch - 1)
    throw Error("checkpoint '" + best_path + "' does not hold best epoch " +
                std::to_string(last_state.best_epoch) + " that '" + last_path +
                "' records; delete the trial folder to retrain it");
  write_atomic_with(best_path, [&](const std::filesystem::path& tmp) {
    std::filesystem::copy_file(last_path, tmp, std::filesystem::copy_options::overwrite_existing);
  });
}

}  // namespace orch
