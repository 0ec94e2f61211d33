// Three MPI ranks read one HDF5 cache at once (run under `mpiexec -n 3`, see CTest
// cache_read_mpi_np3). Rank 0 writes the cache; after a barrier every rank opens it read-only,
// all of them hold it open together, read every case and compare it with the content each rank
// recomputes from the same seeds. Exits non-zero on any rank's mismatch or error.
// MPI only through orch's MpiCommunicator (orchestrator/comm/mpi_communicator.cpp is the one file
// that includes mpi.h).
// Usage: cache_read_mpi <scratch folder>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "common/rng.h"
#include "datastore/cache/h5cache.h"
#include "orchestrator/comm/mpi_communicator.h"

namespace {

using orch::CachedCase;

constexpr int kVerdictTag = 1;  // a rank's "1" (all equal) or "0" to rank 0

// Case `i`: two channels of seeded noise over an odd shape, labels 0..2, foreground filled in.
CachedCase expected_case(int i) {
  orch::Rng rng(orch::Rng::derive(2024, static_cast<std::uint64_t>(i)));
  CachedCase c;
  c.id = "case_" + std::to_string(i);
  c.group = "subject_" + std::to_string(i / 2);
  c.image.dims = {37 + i, 23, 11 + 2 * i};
  c.image.channels = 2;
  c.image.spacing = {0.8, 0.8, 1.5 + i};
  c.image.affine[0][3] = -10.0 * i;
  c.image.data.resize(2 * c.image.voxels());
  for (float& v : c.image.data) v = static_cast<float>(rng.normal(0.0, 1.0));
  c.label.resize(c.image.voxels());
  for (auto& l : c.label) l = static_cast<std::uint8_t>(rng.below(3));
  orch::compute_foreground(c, 3);
  return c;
}

// "" when `got` equals `want` bit for bit, otherwise what differs.
std::string difference(const CachedCase& got, const CachedCase& want) {
  if (got.group != want.group) return "group";
  if (got.image.dims != want.image.dims || got.image.channels != want.image.channels)
    return "shape";
  if (got.image.spacing != want.image.spacing || got.image.affine != want.image.affine)
    return "geometry";
  if (got.image.data.size() != want.image.data.size() ||
      std::memcmp(got.image.data.data(), want.image.data.data(),
                  want.image.data.size() * sizeof(float)) != 0)
    return "image bytes";
  if (got.label != want.label) return "label";
  if (got.fg != want.fg) return "foreground lists";
  return "";
}

constexpr int kCases = 4;

// Opens the cache with every other rank at once and checks every case; returns 1 when all match.
int read_and_check(orch::MpiCommunicator& comm, const std::string& path) {
  const int rank = comm.rank();
  try {
    orch::CacheReader reader(path, "mpi-test-key");
    comm.barrier();  // all ranks hold it open now
    if (reader.ids().size() != static_cast<std::size_t>(kCases)) {
      std::fprintf(stderr, "rank %d: %zu cases, expected %d\n", rank, reader.ids().size(), kCases);
      return 0;
    }
    for (int i = 0; i < kCases; ++i) {
      const std::string diff =
          difference(reader.read("case_" + std::to_string(i)), expected_case(i));
      if (!diff.empty()) {
        std::fprintf(stderr, "rank %d: case_%d differs in %s\n", rank, i, diff.c_str());
        return 0;
      }
    }
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    // The barrier above may be unmatched here; abort rather than hang the other ranks.
    comm.abort(1);
  }
}

// The minimum of every rank's `ok` (an all-reduce): the others send theirs to rank 0, which
// broadcasts the verdict.
int all_ok(orch::MpiCommunicator& comm, int ok) {
  if (comm.rank() == 0) {
    for (int pending = comm.size() - 1; pending > 0;) {
      const auto msg = comm.receive(std::chrono::milliseconds(1000));
      if (!msg) continue;
      if (msg->tag != kVerdictTag) {
        std::fprintf(stderr, "rank 0: unexpected message tag %d from rank %d\n", msg->tag,
                     msg->source);
        comm.abort(2);
      }
      if (msg->payload != "1") ok = 0;
      --pending;
    }
  } else {
    comm.send(0, kVerdictTag, ok ? "1" : "0");
  }
  std::string verdict = ok ? "1" : "0";
  comm.broadcast(verdict, 0);
  return verdict == "1" ? 1 : 0;
}

// Rank 0 writes the cache, then every rank reads it; returns the exit code.
int run(orch::MpiCommunicator& comm, int argc, char** argv) {
  const int rank = comm.rank();
  if (argc != 2) {
    if (rank == 0) std::fprintf(stderr, "usage: cache_read_mpi <scratch folder>\n");
    return 2;
  }
  const std::string path = (std::filesystem::path(argv[1]) / "cache_read_mpi.h5").string();

  std::string written = "1";
  if (rank == 0) {
    try {
      std::filesystem::remove(path);
      orch::CacheWriter writer(path, "mpi-test-key", R"({"test":"cache_read_mpi"})");
      for (int i = 0; i < kCases; ++i) writer.add(expected_case(i));
      writer.commit();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank 0: writing the cache failed: %s\n", e.what());
      written = "0";
    }
  }
  comm.broadcast(written, 0);  // also a barrier
  const int ok_here = written == "1" ? read_and_check(comm, path) : 0;
  const int ok_all = all_ok(comm, ok_here);
  if (rank == 0) {
    std::printf("cache_read_mpi: %d ranks read %d cases at once: %s\n", comm.size(), kCases,
                ok_all ? "all equal" : "MISMATCH");
    std::filesystem::remove(path);
  }
  return ok_all ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    orch::MpiCommunicator comm(&argc, &argv);  // finalises MPI when it goes
    try {
      return run(comm, argc, argv);
    } catch (const std::exception& e) {  // an MPI call failed: the other ranks cannot go on
      std::fprintf(stderr, "rank %d: %s\n", comm.rank(), e.what());
      comm.abort(2);
    }
  } catch (const std::exception& e) {  // MPI did not start
    std::fprintf(stderr, "cache_read_mpi: %s\n", e.what());
    return 2;
  }
}
