// Provenance: what produced a run's numbers, recorded in the results store at the end of every
// `orch run` (ResultStore::record_run) and printed by the reports (reports/report.h) in their
// header and in provenance.json.
//
// Fields: orch_version and git_commit (compiled in), build_type, libtorch, blas, cuda and cudnn
// ("" on CPU builds), device and threads of the workers, ranks, host, started_at and finished_at
// (UTC, ISO 8601), yaml {path, sha256}, config_sha256 (of the resolved experiment's JSON),
// profile, and for each dataset {name, kind, root, data: "phantom" | "real", phantom {seed,
// cases, size} when a phantom, cache_file, cache_key}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/config/config.h"

namespace orch {

// What the run knows of its workers.
struct RunContext {
  std::string device;  // resolved device of the workers, e.g. "cpu" or "cuda:0"
  int threads = 0;     // torch threads per worker
  int ranks = 1;       // processes in the job (1 = single process)
};

// The build's half: orch_version, git_commit, build_type, libtorch, blas, cuda, cudnn.
nlohmann::json build_provenance();

// Everything above for `cfg` run under `ctx` between `started_at` and now; `resolved` is the
// resolved experiment's JSON (what the store records).
nlohmann::json run_provenance(const ExperimentConfig& cfg, const nlohmann::json& resolved,
                              const RunContext& ctx, const std::string& started_at);

}  // namespace orch
