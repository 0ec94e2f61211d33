// The preprocessed-volume cache: one HDF5 file per (dataset, preprocessing) key, holding every
// case's preprocessed image and label plus per-class foreground coordinates for sampling.
//
// Layout of a cache file:
//   /                attributes: format_version, key (hex), key_json (what the key hashes),
//                    complete = 1 (written last, just before the file is closed)
//   /cases/<id>/image  float32 (C, Z, Y, X), chunks (1, <=16, <=64, <=64), shuffle + deflate 4
//   /cases/<id>/label  uint8 (Z, Y, X), chunks (<=16, <=64, <=64), deflate 4
//   /cases/<id>/fg_<c> int64 linear voxel indices of class c (1 <= c < num_classes), ascending,
//                      chunks of <= 65536, shuffle + deflate 4
//   each dataset: attribute checksum = fnv1a64 (common/hash.h, hex) of its element bytes as
//   stored (little-endian)
//   each case group: attributes group, spacing[3], affine[16] (row-major), num_classes
//
// Chunking: one channel per chunk and at most 16x64x64 voxels (256 KiB of float), so a patch
// sampler that reads a sub-volume decompresses only the chunks it touches, and a chunk fits HDF5's
// default 1 MiB chunk cache. Whole-case reads (read()) do not depend on the chunk shape. The
// byte-shuffle filter before deflate makes noisy float32 data ~8% smaller (measured).
//
// Contract: a file is written once, by CacheWriter, into a temporary file beside it that is
// renamed into place by commit(); readers only ever see complete files. Any number of processes
// may read one file at once (read-only opens). A reader that finds a file missing, truncated,
// incomplete, of another format version, of another key or failing a checksum throws
// CacheCorrupt, and the caller rebuilds.
//
// File locking: HDF5 1.10.7+ locks files on open (shared for read-only opens, so concurrent
// readers do not block each other; exclusive for the writer's temporary file). On file systems
// without flock() (some NFS and Lustre mounts) opens then fail with "unable to lock file"; set
// HDF5_USE_FILE_LOCKING=FALSE (or BEST_EFFORT) in the job's environment, e.g. in the Slurm
// script. orch never sets or reads it; the HDF5 library does. A file that another process holds
// open for writing (only possible by hand, e.g. h5repack in place) fails to lock, which a reader
// reports as CacheCorrupt like any other file it cannot serve.
//
// Threads: Debian's libhdf5 is built thread-safe (H5_HAVE_THREADSAFE: one library-wide lock), so
// distinct readers and writers may be used from different threads, and one reader's read() may be
// called concurrently (the calls serialise inside HDF5). Against an HDF5 built without it, use
// these classes from one thread at a time.
// HDF5's automatic error printing is turned off on each thread that uses these classes; the error
// stack goes into the exception message instead.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/status.h"
#include "datastore/formats/volume.h"

namespace orch {

// Bumped whenever what a cache holds for the same inputs changes (2: nearest-exact labels).
inline constexpr int kCacheFormatVersion = 2;

// A case as the cache stores it: preprocessed volume, label and foreground coordinates.
struct CachedCase {
  std::string id;
  std::string group;                // subject (splits never divide it)
  Volume image;                     // preprocessed, (C, Z, Y, X) in memory
  std::vector<std::uint8_t> label;  // (Z, Y, X)
  // fg[c]: ascending linear indices (into label) of class c; fg[0] empty; size = num_classes.
  std::vector<std::vector<std::int64_t>> fg;
};

// Thrown when a cache file cannot be served; the message names the file and the fault. Its code
// is always ErrorCode::kCorrupt: the file is orch's own, so the caller rebuilds it.
class CacheCorrupt : public Error {
 public:
  explicit CacheCorrupt(const std::string& message) : Error(message, ErrorCode::kCorrupt) {}
};

// Fills `fg` from `label` with foreground_index (foreground.h): num_classes lists, fg[c] the
// ascending indices of class c >= 1, fg[0] empty. Throws orch::Error naming the case when a label
// value is >= num_classes (and leaves `fg` as it was).
void compute_foreground(CachedCase& c, int num_classes);

class CacheWriter {
 public:
  // Starts `final_path`'s temporary sibling (".<name>.tmp<pid>_<n>" in the same folder, which is
  // created if missing); `key_json` is stored for humans and for checks.
  CacheWriter(const std::string& final_path, const std::string& key, const std::string& key_json);
  ~CacheWriter();  // without commit(), removes the temporary file
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;

  // Stores one case. Throws orch::Error on bad input (sizes that disagree, a duplicate or
  // malformed id, fg[0] not empty) or an HDF5 failure; after a failure commit() refuses.
  void add(const CachedCase& c);
  // Marks complete, closes (flushing), fsyncs and renames into place. Called at most once.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CacheReader {
 public:
  // Opens read-only and checks format version, completeness and `expected_key` ("" = any).
  // Throws CacheCorrupt when the file cannot be served.
  explicit CacheReader(const std::string& path, const std::string& expected_key = "");
  ~CacheReader();
  CacheReader(const CacheReader&) = delete;
  CacheReader& operator=(const CacheReader&) = delete;

  std::vector<std::string> ids() const;  // sorted
  // Reads a case and verifies its checksums; throws CacheCorrupt on any mismatch or read error,
  // and orch::Error for an id that the file does not hold.
  CachedCase read(const std::string& id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orch
