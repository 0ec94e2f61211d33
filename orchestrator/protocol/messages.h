// The coordinator protocol between rank 0 (coordinator) and ranks 1..N-1 (workers): one typed
// message per kind, each with its tag, encode() and decode(). This header is the protocol's one
// description; orchestrator/coordinator.h and orchestrator/worker_loop.h implement its two sides.
//
// Messages are JSON payloads over a Communicator, one tag per kind:
//   READY    worker -> coordinator  {}                          "I am idle"
//   ASSIGN   coordinator -> worker  {"spec": TrialSpec, "attempt": n}
//   PROGRESS worker -> coordinator  {"trial": id, "epoch": EpochRecord}
//            epoch: {"epoch", "train_loss", "val_loss", "val_dsc", "val_iou", "lr", "seconds"};
//            values through common/json.h (NaN as null, infinities as "inf"/"-inf");
//            "val_iou" may be missing (NaN).
//   RESULT   worker -> coordinator  {"trial": id, "ok": bool, "error": text, "counts": [...],
//                                    "artifacts": [...], "best_epoch": n}
//            counts rows: [case, class, tp, fp, fn, tn, hd95, assd, nsd, dsc_slice,
//            dsc_slice_nonempty]; a surface metric or slice Dice is a number, null (NaN,
//            undefined) or "inf" (common/json.h); rows of 6 (no surface metrics) or 9 (no slice
//            Dice) also parse, with NaN for what they lack.
//            artifacts rows: [kind, path, checksum, bytes].
//   SHUTDOWN coordinator -> worker  {}                          "no more work; exit"
//   FATAL    worker -> coordinator  {"error": text}             "this rank cannot go on"
//
// The order, for every worker:
//   1. The worker sends READY when it starts.
//   2. The coordinator answers READY with ASSIGN if a trial is ready, after marking that trial
//      running (attempt + 1, this rank) in the store; otherwise with SHUTDOWN. A trial is ready
//      when every source trial it depends on (TrialSpec::sources, RefNet's K source trainings)
//      is done; which ready trial starts is the scheduler's choice (orchestrator/scheduler.h:
//      plan order today). While trials wait for sources that are still running, the READY is
//      held and answered when a result makes one ready. A trial whose source failed is recorded
//      failed ("source trial <id> failed: ...") without running.
//   3. While the trial runs, the worker sends one PROGRESS per finished epoch (and, when it
//      resumes from a checkpoint, one per epoch already in the checkpoint). The coordinator
//      writes each as an epoch record; writing the same epoch again replaces it.
//   4. The worker sends RESULT, then READY again (back to step 2). Errors travel as data: a trial
//      that threw arrives as ok=false with its message, and the coordinator records it failed.
//   5. After SHUTDOWN the worker exits its loop. The coordinator returns when every worker has
//      been sent SHUTDOWN or has sent FATAL.
//   A worker whose own loop fails (not a trial: a broken message, say) sends FATAL and exits; the
//   coordinator records the trial it held as failed with that reason and stops counting on it.
// Only the coordinator writes the store. A crash of the whole job loses at most the epochs in
// progress: on restart, trials left running are requeued and resume from their checkpoints.
//
// decode() throws orch::Error (ErrorCode::kCorrupt) naming the message kind and the bad field,
// e.g. "RESULT message: counts[0][2] (tp) is not a number".
#pragma once

#include <string>
#include <vector>

#include "common/metrics/metric.h"
#include "datastore/store/records.h"
#include "orchestrator/comm/communicator.h"
#include "worker/trial/trial_spec.h"

namespace orch::protocol {

enum Tag : int { kReady = 1, kAssign = 2, kProgress = 3, kResult = 4, kShutdown = 5, kFatal = 6 };

// "READY", "ASSIGN", ...; "tag <n>" for a number that is no message kind.
std::string tag_name(int tag);

struct Ready {
  static constexpr Tag kTag = kReady;
  std::string encode() const;
  static Ready decode(const std::string& payload);
};

struct Assign {
  static constexpr Tag kTag = kAssign;
  TrialSpec spec;
  int attempt = 0;  // 1 for the trial's first run
  std::string encode() const;
  static Assign decode(const std::string& payload);
};

struct Progress {
  static constexpr Tag kTag = kProgress;
  std::string trial;  // trial id
  EpochRecord epoch;
  std::string encode() const;
  static Progress decode(const std::string& payload);
};

struct Result {
  static constexpr Tag kTag = kResult;
  std::string trial;  // trial id
  bool ok = true;
  std::string error;  // why it failed; "" when ok
  std::vector<CaseClassCounts> counts;
  std::vector<Artifact> artifacts;
  int best_epoch = -1;
  std::string encode() const;
  static Result decode(const std::string& payload);
};

struct Shutdown {
  static constexpr Tag kTag = kShutdown;
  std::string encode() const;
  static Shutdown decode(const std::string& payload);
};

struct Fatal {
  static constexpr Tag kTag = kFatal;
  std::string error;  // "unknown error" when the message carries none
  std::string encode() const;
  static Fatal decode(const std::string& payload);
};

// Sends `message` to rank `dest` under its kind's tag.
template <typename M>
void send(Communicator& comm, int dest, const M& message) {
  comm.send(dest, M::kTag, message.encode());
}

}  // namespace orch::protocol
