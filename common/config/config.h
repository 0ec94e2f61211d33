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

#include "common/status.h"

namespace orch {

inline constexpr int kSchemaVersion = 1;

// How a dataset's cases are divided. Values < 1 are fractions, values >= 1 are case counts; the
// test split takes whatever remains after train and val.
struct SplitOptions {
  double train = 0.8;      // training share (fraction or count)
  double val = 0.1;        // validation share, used for early stopping
  std::uint64_t seed = 0;  // seed of the shuffle of the sorted case ids
  std::string scheme =
      "random";  // "random", or a published split the adapter knows (btcv: synapse)
  // Cases of one subject stay in one part (false: every case is its own group, as the MS paper
  // split the 21 ISBI scans of 5 patients, and the RB-CBAM paper its nodule images).
  bool group_by_subject = true;
  // `val: test`: validate (early stopping) on the test cases, as a paper did; train takes its
  // share and the test split the rest.
  bool val_is_test = false;
};

// A synthetic dataset generated in the publisher's layout when `root` is missing or empty.
struct PhantomOptions {
  bool enabled = false;                    // generate when root is missing or empty
  int cases = 10;                          // number of cases written
  std::uint64_t seed = 1;                  // same seed, same bytes
  std::array<int, 3> size = {96, 96, 32};  // volume size in voxels (i, j, k)
};

// One named preprocessing operation (experiments/README.md lists them with their arguments):
//   window [lo, hi]        clip to [lo, hi], then scale to [0, 1] (HU windows)
//   clip [lo, hi]          clip only
//   scale [lo, hi]         min-max rescale of each channel to [lo, hi]
//   znorm MODE             zero mean, unit (N-1) std per channel over all | nonzero | foreground
//   resample [si, sj, sk]  to this spacing in mm: trilinear images, nearest-neighbour labels
//   crop [i0,i1,j0,j1(,k0,k1)]  keep a box, half-open voxel ranges
//   crop_foreground [mi, mj, mk]  keep the label's bounding box plus margins (voxels)
//   resize [i, j]          in-plane size: bilinear images, nearest-neighbour labels
//   crop_nonzero [mi, mj, mk]  keep the box of image != 0 (any channel) plus margins (voxels):
//                          the imaged object, found without the label
//   center_crop [fi, fj]   keep the central fraction fi x fj of the in-plane size, in (0, 1]
//   pad [i, j, k]          pad with zeros, centred, to at least this size (a patch's size)
struct PreprocessStep {
  std::string op;            // one of the names above
  std::vector<double> args;  // numeric arguments, as listed above
  std::string mode;          // znorm's mask: all, nonzero or foreground
};

// Preprocessing applied to every case before sampling: label_map first, then the steps in order.
struct PreprocessOptions {
  std::map<int, int> label_map;       // label remapping, e.g. {2: 0} drops tumours
  std::vector<PreprocessStep> steps;  // applied in order
};

struct DatasetConfig {
  std::string name;                                   // key under `datasets:`
  std::string kind;                                   // adapter name (hepatic_vessel, ...)
  std::string root;                                   // dataset folder in the publisher's layout
  nlohmann::json options = nlohmann::json::object();  // kind-specific, checked by the adapter
  int num_classes = 2;           // classes after label_map, background included
  SplitOptions split;            // train/val/test division
  PhantomOptions phantom;        // synthetic stand-in when root is empty
  PreprocessOptions preprocess;  // per-case preprocessing
  // Names of the classes after label_map, background first; empty = the kind's own names
  // (ConfigValidators::class_names). Only reports use them, and they are not part of trial ids.
  std::vector<std::string> class_names;
};

// How every trial trains. Fields added after the first release are left out of the JSON form
// while they keep their defaults (config_json.cpp), so that older trial ids stay valid.
struct TrainingConfig {
  std::string optimizer = "adam";     // adam | adamw | rmsprop | sgd
  double lr = 1e-3;                   // initial (peak) learning rate
  double momentum = 0.9;              // sgd and rmsprop only (torch's default for both is 0)
  double weight_decay = 0.0;          // adamw: decoupled decay; others: L2 added to the gradient
  std::string schedule = "constant";  // constant | warmup_cosine | plateau (worker/train/optim.h)
  int warmup_epochs = 0;              // warmup_cosine: epochs of linear warm-up from 0 to lr
  double min_lr = 0.0;                // lowest learning rate of warmup_cosine and plateau
  double plateau_factor = 0.5;        // plateau: lr multiplier on each reduction
  int plateau_patience = 5;           // plateau: epochs without improvement before a reduction
  double grad_clip = 0.0;             // max global L2 norm of the gradients; 0 = off
  std::string precision = "fp32";     // fp32 | bf16 (CUDA autocast; fp32 with a warning on CPU)
  std::string loss = "dice_ce";       // dice_ce | ce | dice | bce_dice | generalized_dice |
                                      // focal_dice | spider_dice | refnet (worker/train/losses.h)
  double focal_beta = 1.5;            // focal_dice: exponent 1 / beta on each class's Dice
  int batch = 8;                      // slices (or patches) per step
  int epochs = 100;                   // maximum epochs
  int steps_per_epoch = 50;           // optimiser steps per epoch
  int patience = 10;                  // epochs without improvement before stopping
  std::string early_stop_metric = "val_dsc";  // val_dsc | val_iou | val_loss | train_loss
  double foreground_fraction = 0.5;           // share of sampled slices that hold foreground
  std::array<int, 3> patch = {96, 96, 96};    // patch size (i, j, k) of patch3d models
  std::string sampler = "foreground";         // patch centres: foreground | uniform | label
  int samples_per_volume = 1;                 // patches drawn per volume visit
  std::vector<std::string> augment;           // TorchIO-style transforms, e.g. "flip(axes=0)"
  int threads = 0;                            // torch threads per worker; 0 shares the cores
  // The validation loss (early_stop_metric val_loss and the epoch log): dice_ce (CE + soft Dice
  // over every class, on whole volumes) | training (the trial's own `loss`).
  std::string val_loss = "dice_ce";
};

struct ModelConfig {
  std::string name;                                   // key under `models:`
  std::string kind;                                   // registry name (wide_unet, ...)
  nlohmann::json options = nlohmann::json::object();  // model-specific, checked by the registry
  // This model's trials train with the shared `training:` plus the keys of its own `training:`
  // map (which win over the shared ones, a profile's included); unset = the shared settings.
  std::optional<TrainingConfig> training;
  // Refinement stage (RefNet): the model whose predicted label maps this model learns to correct.
  // Its trials depend on `repetitions` trials of that model (seeds seed .. seed+K-1), whose best
  // checkpoints predict every case; those label maps are this model's input. "" = an ordinary
  // model that reads the images.
  std::string refines;
  int repetitions = 1;  // K source trainings whose predictions are collected
  // Initial weights: the name of another model of the file (a stage: that model's trial on the
  // same dataset and seed trains first, and its best weights start this one) or a checkpoint
  // file (an orch checkpoint, or a bare module archive as torch::save / torch.jit.save write).
  // Parameters are matched by name and shape; those without a match keep their initialisation. "" =
  // random initialisation.
  std::string init_from;
};

// Sliding-window inference over whole test volumes (top-level `inference:`).
struct InferenceConfig {
  double overlap = 0.5;            // fraction of a window shared with its neighbour, in [0, 1)
  int sw_batch = 4;                // windows per forward pass
  std::string blend = "gaussian";  // gaussian (sigma = window / 8) | average of overlaps
  bool mirror = false;             // average over all 2^n flips of the n spatial axes (TTA)
  bool save_predictions = true;    // write each test prediction as NIfTI
};

// One row or one column of a comparison table: what its cells select. A cell takes the
// dataset, model, metric and class from its row and its column (at most one of them sets each),
// and the table's defaults for the rest.
struct TableEntry {
  std::string key;      // names it in `published`, `reference` and `improvement`; default: what
                        // it selects (the dataset, model, metric or class name)
  std::string label;    // heading; default: the key
  std::string dataset;  // "" = from the other axis or the table
  std::string model;
  std::string metric;                 // "" = each of the table's `metrics`
  int class_index = -1;               // -1 = a case's value is the mean over its foreground classes
  std::string average;                // "" | "foreground" | "all": this row averages the class rows
  std::map<std::string, bool> marks;  // ablation rows: which of the table's marks apply
};

// A column of differences between two columns of a table, in every row.
struct TableImprovement {
  std::string from, to;           // column keys
  std::string kind = "relative";  // relative (% of `from`) | absolute
  // average rows: mean_of_all_rows (of every class row's improvement, background included when
  // shown: RefNet's +1.27%) | mean_of_rows (of the rows the Average averages) | of_means
  std::string average = "mean_of_rows";     // average rows: mean_of_rows (of the averaged rows'
                                            // improvements, RefNet's rule) | of_means
  std::string label = "Improvement";        // heading
  std::map<std::string, double> published;  // row key -> the paper's improvement (% or absolute)
};

// One comparison table of a paper. Rows and columns select datasets, models, metrics or classes
// (TableEntry); every layout of the five papers is a choice of what each axis selects:
//   datasets x models (metrics as sub-rows, or `combine`d as "0.745|0.673"), classes x models
//   (`rows: classes`), metrics x models, variants x metrics (ablation, with `marks`), and
//   (model, dataset) pairs x metrics (method x channel).
struct TableConfig {
  std::string name;     // key under `tables:`
  std::string title;    // caption in the report
  std::string source;   // which paper and table
  std::string dataset;  // default dataset of every cell ("" = rows or columns name one)
  std::string model;    // default model of every cell
  std::vector<TableEntry> rows;
  std::vector<TableEntry> columns;
  std::vector<std::string> metrics = {"dsc", "iou"};  // when no row or column names a metric
  bool combine = false;  // a cell shows all its metrics, joined by "|", instead of one sub-row each
  // `rows: classes`: one row per class of the table's dataset, named from the dataset.
  bool class_rows = false;
  bool background = false;             // class rows: include class 0
  std::string average = "foreground";  // class rows: the Average row averages foreground | all |
                                       // none (no Average row)
  std::vector<std::pair<std::string, std::string>> marks;  // ablation: (mark key, heading)
  std::string bold;       // row | column | none; "" = row when columns select models, else column
  std::string reference;  // column key the paired tests compare with; "" = the first column
  std::optional<TableImprovement> improvement;
  // published[{row key, column key}][metric] = the paper's value.
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> published;
  // How a cell's value is taken over the test cases: mean (of the per-case values) | pooled
  // (the metric of the confusion counts summed over the cases of a seed: micro averaging).
  std::string aggregate = "mean";
  // "untrained": each cell's model is also run with `epochs: 0` (same data and seed), and the
  // report shows that baseline beside the trained value.
  std::string baseline;
  // Where orch cannot do what the paper did, or chose a reading: printed under the table.
  std::vector<std::string> deviations;
  // A paper's qualitative claim (E10): `above` keys (rows, or columns) should all score higher
  // than the `below` keys on `metric`; the report states the claim and whether orch agrees.
  struct Expectation {
    std::string claim;               // the paper's words, as the report prints them
    std::vector<std::string> above;  // row or column keys
    std::vector<std::string> below;
    std::string metric = "dsc";
  };
  std::optional<Expectation> expect;

  // The (dataset, model) of the cell in row `r`, column `c`.
  std::pair<std::string, std::string> cell_source(const TableEntry& r, const TableEntry& c) const;
};

struct ExperimentConfig {
  int version = kSchemaVersion;            // schema version, must be 1
  std::string name;                        // experiment name
  std::string file;                        // the YAML file it came from
  std::string profile;                     // profile applied ("" for none)
  std::string output;                      // run folder; default runs/<name>
  std::string cache = "cache";             // HDF5 cache folder, shared between runs
  std::vector<DatasetConfig> datasets;     // in file order
  std::vector<ModelConfig> models;         // in file order
  TrainingConfig training;                 // shared by every trial
  InferenceConfig inference;               // how test volumes are predicted
  std::vector<std::uint64_t> seeds = {0};  // one trial per seed per cell
  std::vector<TableConfig> tables;         // in file order
  std::vector<std::string> includes;       // files merged in by `include:`, in order

  const DatasetConfig& dataset(const std::string& name) const;
  const ModelConfig& model(const std::string& name) const;
};

// What the parser checks names and options against. The names come from the registries that
// implement them (orchestrator/plan.cpp fills this from models/, datastore/ and worker/), so the
// parser itself lists none, and its errors carry the line. Metric names come from
// common/metrics/metric.h.
struct ConfigValidators {
  std::vector<std::string> model_kinds;
  std::vector<std::string> dataset_kinds;
  // Model kinds whose input is a label map (refnet): they need `refines:`, and only those may
  // have it.
  std::vector<std::string> label_input_kinds;
  // training.optimizer, .schedule, .loss and .sampler: the names the worker implements.
  std::vector<std::string> optimizers, schedules, losses, samplers;
  // training.early_stop_metric and .precision, and inference.blend: the same.
  std::vector<std::string> early_stop_metrics, precisions, blends;
  // Status::Invalid(key, message) when `options` do not suit model `kind`; key names the option.
  Status (*check_model_options)(const std::string& kind, const nlohmann::json& options) = nullptr;
  // Status::Invalid("", message) when `spec` is not a valid augmentation transform.
  Status (*check_transform)(const std::string& spec) = nullptr;
  // The same for a dataset kind's options and split scheme (key "split.scheme" for the latter).
  Status (*check_dataset_options)(const std::string& kind, const nlohmann::json& options,
                                  const std::string& split_scheme) = nullptr;
  // A kind's class names, background first (empty when it has none); tables' `rows: classes`.
  std::vector<std::string> (*class_names)(const std::string& kind) = nullptr;
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
void to_json(nlohmann::json& j, const InferenceConfig& c);  // every field, always
void from_json(const nlohmann::json& j, InferenceConfig& c);
void to_json(nlohmann::json& j, const TableConfig& t);
void from_json(const nlohmann::json& j, TableConfig& t);

// The name of class `index` of dataset `d`: its class_names, else "class <index>".
std::string class_name(const DatasetConfig& d, int index);

}  // namespace orch
