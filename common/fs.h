// Filesystem helpers. Everything orch writes that must survive a crash (checkpoints, reports,
// phantom files) goes through a temporary sibling file and an atomic rename.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace orch {

// Writes `contents` to `path` atomically: a temporary sibling, fsync, then rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& contents);

// Calls `writer(tmp)` to produce a temporary sibling of `path` (same extension, so that libraries
// that look at the suffix behave), then renames it over `path`. The temporary file is removed if
// `writer` throws.
void write_atomic_with(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path&)>& writer);

std::string read_file(const std::filesystem::path& path);  // throws orch::Error naming the file

// An exclusive advisory lock (flock) on `path`, held for the object's lifetime, so that two runs
// never drive the same run folder. The file records the holder's pid for the error message.
class FileLock {
 public:
  // Throws orch::Error naming the file (and the holder's pid) when another process holds it,
  // or, with `wait`, blocks until the holder releases it.
  explicit FileLock(const std::filesystem::path& path, bool wait = false);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// True when `dir` is missing or holds no entries.
bool dir_missing_or_empty(const std::filesystem::path& dir);

}  // namespace orch
