// Experiment configuration, schema v1: the typed structs that a YAML file is parsed into, once,
// at the edge (config_yaml.cpp). Below main nothing reads YAML. Every field has a default and a
// one-line comment; experiments/README.md documents the same schema for users.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch {

inline constexpr int kSchemaVersion = 1;

// How a dataset's cases are divided. Values < 1 are fractions, values >= 1 are case counts; the
// test split takes whatever remains after train and val.
struct SplitOptions {
  double train = 0.8;      // training share (fraction or count)
  double val = 0.1;        // validation share, used for early stopping
  std::uint64_t seed = 0;  // seed of the shuffle of the sorted case ids
};

// A synthetic dataset generated in the publisher's layout when `root` is missing or empty.
struct PhantomOptions {
  bool enabled = false;                    // generate when root is missing or empty
  int cases = 10;                          // number of cases written
  std::uint64_t seed = 1;                  // same seed, same bytes
  std::array<int, 3> size = {96, 96, 32};  // volume size in voxels (i, j, k)
};

// Preprocessing applied to every case before sampling, in this order.
struct PreprocessOptions {
  std::optional<std::array<double, 2>> window;  // clip intensities to [lo, hi], scale to [0, 1]
  std::map<int, int> label_map;                 // label remapping, e.g. {2: 0} drops tumours
  std::optional<std::array<int, 4>> crop;       // in-plane box [i0, i1, j0, j1), voxels
  std::optional<std::array<int, 2>> resize;     // in-plane size (i, j) after the crop
};

struct DatasetConfig {
  std::string name;              // key under `datasets:`
  std::string kind;              // adapter name (hepatic_vessel, ...)
  std::string root;              // dataset folder in the publisher's layout
  int num_classes = 2;           // classes after label_map, background included
  SplitOptions split;            // train/val/test division
  PhantomOptions phantom;        // synthetic stand-in when root is empty
  PreprocessOptions preprocess;  // per-case preprocessing
};

struct ModelConfig {
  std::string name;                                   // key under `models:`
  std::string kind;                                   // registry name (wide_unet, ...)
  nlohmann::json options = nlohmann::json::object();  // model-specific, checked by the registry
};

struct TrainingConfig {
  std::string optimizer = "adam";             // adam
  double lr = 1e-3;                           // initial learning rate
  std::string loss = "dice_ce";               // dice_ce (soft Dice + cross-entropy)
  int batch = 8;                              // slices per step
  int epochs = 100;                           // maximum epochs
  int steps_per_epoch = 50;                   // optimiser steps per epoch
  int patience = 10;                          // epochs without improvement before stopping
  std::string early_stop_metric = "val_dsc";  // validation metric that selects `best`
  double foreground_fraction = 0.5;           // share of sampled slices that hold foreground
  int threads = 0;                            // torch threads per worker; 0 shares the cores
};

// One comparison table of a paper: rows are datasets, columns are models, and each cell shows
// the listed metrics as mean +- std over test cases, with the published value where given.
struct TableConfig {
  std::string name;                                          // key under `tables:`
  std::string title;                                         // caption in the report
  std::string source;                                        // which paper and table
  std::vector<std::pair<std::string, std::string>> rows;     // (dataset name, label)
  std::vector<std::pair<std::string, std::string>> columns;  // (model name, label)
  std::vector<std::string> metrics = {"dsc", "iou"};         // metrics shown per cell
  // published[{dataset, model}][metric] = the paper's value.
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> published;
};

struct ExperimentConfig {
  int version = kSchemaVersion;            // schema version, must be 1
  std::string name;                        // experiment name
  std::string file;                        // the YAML file it came from
  std::string profile;                     // profile applied ("" for none)
  std::string output;                      // run folder; default runs/<name>
  std::vector<DatasetConfig> datasets;     // in file order
  std::vector<ModelConfig> models;         // in file order
  TrainingConfig training;                 // shared by every trial
  std::vector<std::uint64_t> seeds = {0};  // one trial per seed per cell
  std::vector<TableConfig> tables;         // in file order

  const DatasetConfig& dataset(const std::string& name) const;
  const ModelConfig& model(const std::string& name) const;
};

// The parser checks kinds and model options against these, so that their errors carry the line.
struct ConfigValidators {
  std::vector<std::string> model_kinds;
  std::vector<std::string> dataset_kinds;
  // Returns "" when `options` suit model `kind`, else (offending key, message).
  std::pair<std::string, std::string> (*check_model_options)(
      const std::string& kind, const nlohmann::json& options) = nullptr;
};

// Parses `path`, applies `profile` (or the file's default_profile when empty; "none" applies
// none) and validates. Throws orch::Error with a one-line "file:line:col: message".
ExperimentConfig load_experiment(const std::string& path, const std::string& profile,
                                 const ConfigValidators& validators);

// JSON forms, used for trial ids (canonical: keys sorted) and to send trials between ranks.
void to_json(nlohmann::json& j, const DatasetConfig& d);
void from_json(const nlohmann::json& j, DatasetConfig& d);
void to_json(nlohmann::json& j, const ModelConfig& m);
void from_json(const nlohmann::json& j, ModelConfig& m);
void to_json(nlohmann::json& j, const TrainingConfig& t);
void from_json(const nlohmann::json& j, TrainingConfig& t);
void to_json(nlohmann::json& j, const TableConfig& t);
void from_json(const nlohmann::json& j, TableConfig& t);

}  // namespace orch
