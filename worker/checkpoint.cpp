#include "worker/checkpoint.h"

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/status.h"

namespace orch {

using nlohmann::json;

namespace {

json state_json(const TrainState& s) {
  json history = json::array();
  for (const auto& e : s.history)
    history.push_back({e.epoch, e.train_loss, e.val_loss, e.val_dsc, e.lr, e.seconds});
  return json{{"next_epoch", s.next_epoch}, {"best_metric", s.best_metric},
              {"best_epoch", s.best_epoch}, {"bad_epochs", s.bad_epochs},
              {"finished", s.finished},     {"history", history}};
}

TrainState state_from_json(const json& j) {
  TrainState s;
  j.at("next_epoch").get_to(s.next_epoch);
  s.best_metric = j.at("best_metric").is_number() ? j["best_metric"].get<double>()
                                                  : -std::numeric_limits<double>::infinity();
  j.at("best_epoch").get_to(s.best_epoch);
  j.at("bad_epochs").get_to(s.bad_epochs);
  j.at("finished").get_to(s.finished);
  for (const auto& h : j.at("history"))
    s.history.push_back({h[0].get<int>(), h[1].is_number() ? h[1].get<double>() : 0.0,
                         h[2].is_number() ? h[2].get<double>() : 0.0,
                         h[3].is_number() ? h[3].get<double>() : 0.0, h[4].get<double>(),
                         h[5].get<double>()});
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

void load_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, TrainState& state) {
  try {
    torch::serialize::InputArchive root, model_archive, optim_archive;
    root.load_from(path);
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

}  // namespace orch
