// The figures of one report table, drawn with reports/figures.h into <out>/figures/:
//   curves         every trial's loss and validation DSC by epoch, best epoch marked
//   distributions  the per-case values behind each cell (box and points), first metric
//   classes        per-class bars, ours beside the published values (tables with class rows)
//   overlay        per (dataset, model): one test slice, TP yellow, FP red, FN blue, with the
//                  case's DSC | IoU; the case is the first test case of the lowest seed, the slice
//                  the one with the largest reference area
// Without gnuplot, or when a figure cannot be drawn, it is left out and the reason is logged.
#pragma once

#include <string>
#include <vector>

#include "datastore/store/results_store.h"
#include "reports/render.h"

namespace orch {

std::vector<Figure> draw_table_figures(const ResultStore& store, const ExperimentReport& e,
                                       const Table& table, const std::string& out_dir);

}  // namespace orch
