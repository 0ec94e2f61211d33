// Reports: each experiment's tables, regenerated from the results store alone. A cell shows
// mean +- std over test cases (pooled over seeds) of the per-case metric, where a case's value is
// the mean over its foreground classes; the published value and our difference stand beside it.
#pragma once

#include <string>
#include <vector>

#include "datastore/store/results_store.h"

namespace orch {

// Per-case values of `metric` (any name in common/metrics/metric.h) for the given trials (done
// trials only), each case's value being the mean over its foreground classes.
std::vector<double> trial_case_values(const ResultStore& store,
                                      const std::vector<std::string>& trial_ids,
                                      const std::string& metric);

// The Markdown report of one experiment.
std::string render_markdown(const ResultStore& store, const std::string& experiment);

// Writes <out_dir>/report.md (every experiment in the store, atomically). Returns its path.
std::string write_reports(const ResultStore& store, const std::string& out_dir);

}  // namespace orch
