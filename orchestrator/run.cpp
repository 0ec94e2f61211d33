#include "orchestrator/run.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/time.h"
#include "datastore/datasets/dataset.h"
#include "orchestrator/comm/local_communicator.h"
#include "orchestrator/comm/mpi_communicator.h"
#include "orchestrator/coordinator.h"
#include "orchestrator/plan.h"
#include "orchestrator/provenance.h"
#include "orchestrator/worker_loop.h"
#include "reports/report.h"
#include "worker/train/device.h"

namespace orch {

namespace fs = std::filesystem;

std::string resolve_out_dir(const std::string& cli_out, const std::string& config_output) {
  return fs::absolute(cli_out.empty() ? config_output : cli_out).lexically_normal().string();
}

std::string resolve_db(const std::string& cli_db, const std::string& out_dir) {
  return cli_db.empty() ? (fs::path(out_dir) / "orch.sqlite").string() : cli_db;
}

namespace {

nlohmann::json experiment_json(const ExperimentConfig& cfg) {
  nlohmann::json class_names = nlohmann::json::object();
  for (const auto& d : cfg.datasets) class_names[d.name] = d.class_names;
  return {{"name", cfg.name},     {"profile", cfg.profile},    {"datasets", cfg.datasets},
          {"models", cfg.models}, {"training", cfg.training},  {"seeds", cfg.seeds},
          {"tables", cfg.tables}, {"class_names", class_names}};
}

void record_plan(ResultStore& store, const ExperimentConfig& cfg, const Plan& plan) {
  store.put_experiment(cfg.name, cfg.file, cfg.profile, experiment_json(cfg));
  for (const auto& t : plan.trials) {
    TrialRecord r;
    r.id = t.id;
    r.experiment = cfg.name;
    r.model = t.model.name;
    r.dataset = t.dataset.name;
    r.seed = t.seed;
    r.spec = to_json(t);
    store.add_trial(r);
  }
  store.replace_table_cells(cfg.name, plan.cells);
}

// Rank 0: prepare data, record the plan, hand out trials, write the report. Holds the run
// folder's lock throughout, so a second `orch run` on the same folder stops at once.
int coordinate(Communicator& comm, const ExperimentConfig& cfg, const RunOptions& options,
               const RunContext& context) {
  const std::string started_at = utc_now();
  const std::string out = resolve_out_dir(options.out, cfg.output);
  const FileLock lock(fs::path(out) / "orch.lock");
  for (const auto& d : cfg.datasets) ensure_dataset(d);
  ResultStore store(resolve_db(options.db, out));
  const Plan plan = make_plan(cfg, out);
  record_plan(store, cfg, plan);
  std::vector<std::string> ids;
  for (const auto& t : plan.trials) ids.push_back(t.id);
  const int requeued = store.requeue(ids);
  if (requeued) spdlog::info("{} unfinished trial(s) from an earlier run requeued", requeued);

  std::vector<TrialSpec> pending;
  for (const auto& t : plan.trials)
    if (store.trial(t.id)->state == TrialState::kPending) pending.push_back(t);
  spdlog::info("experiment '{}': {} trial(s), {} already done, store {}", cfg.name,
               plan.trials.size(), plan.trials.size() - pending.size(), store.path());
  Coordinator(comm, store, pending).run();

  store.record_run(cfg.name, run_provenance(cfg, experiment_json(cfg), context, started_at));
  ReportOptions report;
  report.out_dir = out;
  write_reports(store, report);
  spdlog::info("report written to {}", (fs::path(out) / "report.html").string());
  for (const auto& id : ids)
    if (store.trial(id)->state != TrialState::kDone) return 1;
  return 0;
}

int worker_threads(const ExperimentConfig& cfg, const LaunchInfo& launch, int workers_here) {
  if (cfg.training.threads > 0) return cfg.training.threads;
  return std::max(1, launch.hardware_threads / std::max(1, workers_here));
}

int run_single_process(const ExperimentConfig& cfg, const RunOptions& options,
                       const LaunchInfo& launch) {
  auto hub = std::make_shared<LocalHub>(2);
  LocalCommunicator coordinator_comm(hub, 0);
  const WorkerOptions worker_options{worker_threads(cfg, launch, 1),
                                     resolve_device(options.device, launch.local_rank)};
  spdlog::info("worker: {} thread(s) on {}", worker_options.threads, worker_options.device.str());
  std::thread worker([hub, worker_options] {
    LocalCommunicator comm(hub, 1);
    try {
      worker_loop(comm, [worker_options](const TrialSpec& s, const EpochCallback& cb) {
        return run_trial(s, worker_options, cb);
      });
    } catch (const std::exception& e) {
      spdlog::critical("worker thread: {}", e.what());
    }
  });
  int code = 2;
  try {
    code = coordinate(coordinator_comm, cfg, options,
                      {worker_options.device.str(), worker_options.threads, 1});
  } catch (...) {
    Coordinator::shutdown_all(coordinator_comm);
    worker.join();
    throw;
  }
  worker.join();
  return code;
}

}  // namespace

int run_experiment(const RunOptions& options, const LaunchInfo& launch) {
  const ExperimentConfig cfg = load_experiment(options.yaml, options.profile, config_validators());
  if (!launch.under_mpi) return run_single_process(cfg, options, launch);

  MpiCommunicator comm(launch.argc, launch.argv);
  if (comm.size() == 1) return run_single_process(cfg, options, launch);
  if (comm.rank() != 0) {
    const int workers_here = std::max(1, launch.local_size - 1);
    // GPU local_rank % count: the workers of a node land on distinct GPUs while there are no
    // more of them than GPUs (rank 0, which only coordinates, leaves its GPU to a worker).
    const WorkerOptions worker_options{worker_threads(cfg, launch, workers_here),
                                       resolve_device(options.device, launch.local_rank)};
    spdlog::info("rank {}: {} thread(s) on {}", comm.rank(), worker_options.threads,
                 worker_options.device.str());
    worker_loop(comm, [worker_options](const TrialSpec& s, const EpochCallback& cb) {
      return run_trial(s, worker_options, cb);
    });
    return 0;
  }
  try {
    // The workers' device and threads as rank 0 would resolve them for the first worker.
    const int workers_here = std::max(1, launch.local_size - 1);
    const RunContext context{resolve_device(options.device, launch.local_rank + 1).str(),
                             worker_threads(cfg, launch, workers_here), comm.size()};
    return coordinate(comm, cfg, options, context);
  } catch (const std::exception& e) {
    // The run cannot go on without its coordinator: end every rank now rather than let workers
    // finish trials whose results nobody would record (their checkpoints keep the progress).
    std::fprintf(stderr, "orch: error: %s\n", e.what());
    comm.abort(2);
  }
}

}  // namespace orch
