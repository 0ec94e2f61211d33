// A scratch folder for one test, created empty and removed with everything in it when the test
// ends. Named by the process id, a counter and a tag (default: the running test's name), so tests
// that CTest runs in parallel never share one.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace orch::testing {

class TempDir {
 public:
  explicit TempDir(std::string tag = "") {
    static std::atomic<int> counter{0};
    if (tag.empty()) tag = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = std::filesystem::temp_directory_path() / ("orch_test_" + std::to_string(::getpid()) +
                                                      "_" + std::to_string(counter++) + "_" + tag);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace orch::testing
