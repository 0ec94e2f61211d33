#include "common/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <atomic>
#include <fstream>
#include <sstream>

#include "common/status.h"

namespace orch {
namespace fs = std::filesystem;

namespace {

fs::path temp_sibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  // Keep the full extension chain (".nii.gz") at the end of the temporary name.
  const std::string name = path.filename().string();
  const auto dot = name.find('.');
  const std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  return path.parent_path() /
         ("." + stem + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ext);
}

void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void write_atomic_with(const fs::path& path, const std::function<void(const fs::path&)>& writer) {
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  const fs::path tmp = temp_sibling(path);
  try {
    writer(tmp);
    fsync_path(tmp);
    fs::rename(tmp, path);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

void write_file_atomic(const fs::path& path, const std::string& contents) {
  write_atomic_with(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << contents;
    out.close();
    if (!out) throw Error("cannot write '" + tmp.string() + "'");
  });
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

FileLock::FileLock(const fs::path& path, bool wait) {
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open lock file '" + path.string() + "'");
  int rc = 0;
  while ((rc = ::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {  // ENOLCK, EINVAL, ...: the file system cannot lock
      ::close(fd_);
      throw Error("cannot lock '" + path.string() + "': " + std::strerror(err) +
                  " (a file system without flock(), e.g. some NFS or Lustre mounts? put the run "
                  "folder and cache on one that has it)");
    }
    std::string holder = read_file(path);
    ::close(fd_);
    throw Error("another orch run (pid " + (holder.empty() ? std::string("?") : holder) +
                ") holds '" + path.string() + "'; wait for it to end or stop it first");
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::write(fd_, pid.data(), pid.size()) < 0) {
    // The lock holds without the pid; the message will just say "pid ?".
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool dir_missing_or_empty(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator();
}

}  // namespace orch
