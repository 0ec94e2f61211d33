// Three MPI ranks read one HDF5 cache at once (run under `mpiexec -n 3`, see CTest
// cache_read_mpi_np3). Rank 0 writes the cache; after a barrier every rank opens it read-only,
// all of them hold it open together, read every case and compare it with the content each rank
// recomputes from the same seeds. Exits non-zero on any rank's mismatch or error.
// Usage: cache_read_mpi <scratch folder>
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "common/rng.h"
#include "datastore/h5cache.h"

namespace {

using orch::CachedCase;

void mpi_check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  std::fprintf(stderr, "%s failed: %s\n", call, msg);
  MPI_Abort(MPI_COMM_WORLD, 2);
}

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
int read_and_check(const std::string& path, int rank) {
  try {
    orch::CacheReader reader(path, "mpi-test-key");
    mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier(open)");  // all ranks hold it open now
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
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  mpi_check(MPI_Init(&argc, &argv), "MPI_Init");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 0;
  mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  if (argc != 2) {
    if (rank == 0) std::fprintf(stderr, "usage: cache_read_mpi <scratch folder>\n");
    MPI_Finalize();
    return 2;
  }
  const std::string path = (std::filesystem::path(argv[1]) / "cache_read_mpi.h5").string();

  int written = 1;
  if (rank == 0) {
    try {
      std::filesystem::remove(path);
      orch::CacheWriter writer(path, "mpi-test-key", R"({"test":"cache_read_mpi"})");
      for (int i = 0; i < kCases; ++i) writer.add(expected_case(i));
      writer.commit();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank 0: writing the cache failed: %s\n", e.what());
      written = 0;
    }
  }
  mpi_check(MPI_Bcast(&written, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");  // also a barrier
  const int ok_here = written ? read_and_check(path, rank) : 0;
  int ok_all = 0;
  mpi_check(MPI_Allreduce(&ok_here, &ok_all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  if (rank == 0) {
    std::printf("cache_read_mpi: %d ranks read %d cases at once: %s\n", size, kCases,
                ok_all ? "all equal" : "MISMATCH");
    std::filesystem::remove(path);
  }
  MPI_Finalize();
  return ok_all ? 0 : 1;
}
