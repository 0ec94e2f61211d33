// Hashing (published FNV-1a 64 vectors) and the seeded RNG (the standard's mt19937_64 value).
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>

#include "common/hash.h"
#include "common/rng.h"
#include "common/status.h"

namespace orch {
namespace {

namespace fs = std::filesystem;
TEST(HashTest, MatchesPublishedFnv1a64TestVectors) {
  // Test vectors of FNV-1a 64 (Noll's reference suite, also Go's hash/fnv golden64a).
  EXPECT_EQ(hash_hex(""), "cbf29ce484222325");
  EXPECT_EQ(hash_hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(hash_hex("ab"), "089c4407b545986a");  // leading zero kept: always 16 digits
  EXPECT_EQ(hash_hex("abc"), "e71fa2190541574b");
  EXPECT_EQ(hash_hex("foobar"), "85944171f73967e8");
}

TEST(HashTest, DigestIsTheNumericValueOfTheHex) {
  Fnv1a64 h;
  h.update("a");
  EXPECT_EQ(h.digest(), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(h.hex(), "af63dc4c8601ec8c");
}

TEST(HashTest, IncrementalUpdatesEqualOneShot) {
  Fnv1a64 h;
  h.update("foo");
  h.update("");
  h.update("bar");
  EXPECT_EQ(h.hex(), hash_hex("foobar"));
}

TEST(HashTest, EmbeddedNulBytesAreHashed) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(hash_hex(with_nul), hash_hex("ab"));
  EXPECT_NE(hash_hex(with_nul), hash_hex("a"));
}

TEST(HashTest, FileChecksumHashesTheBytesAndNamesAMissingFile) {
  const fs::path dir = fs::temp_directory_path() / ("orch_hash_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "bytes.bin";
  {
    std::ofstream out(file, std::ios::binary);
    out << "foobar";
  }
  EXPECT_EQ(file_checksum(file.string()), "fnv1a64:85944171f73967e8");
  const std::string missing = (dir / "missing.bin").string();
  try {
    file_checksum(missing);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(HashTest, FileChecksumCoversFilesLargerThanOneReadBuffer) {
  const fs::path dir =
      fs::temp_directory_path() / ("orch_hash_big_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "big.bin";
  std::string bytes(200000, 'x');  // more than the 64 KiB read buffer
  bytes[150000] = 'y';
  {
    std::ofstream out(file, std::ios::binary);
    out << bytes;
  }
  EXPECT_EQ(file_checksum(file.string()), "fnv1a64:" + hash_hex(bytes));
  fs::remove_all(dir);
}

// --- rng ---------------------------------------------------------------------------------------

TEST(RngTest, SameSeedGivesTheSameStream) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next(), b.next()) << i;
}

TEST(RngTest, DifferentSeedsGiveDifferentStreams) {
  Rng a(1), b(2);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a.next() == b.next();
  EXPECT_EQ(same, 0);
}

TEST(RngTest, RawStreamIsTheStandardMt19937_64) {
  // The C++ standard fixes the 10000th output of mt19937_64 seeded with 5489 (its default).
  Rng r(5489);
  std::uint64_t v = 0;
  for (int i = 0; i < 10000; ++i) v = r.next();
  EXPECT_EQ(v, 9981545732273789042ULL);
}

TEST(RngTest, UniformIsTheTop53BitsScaledIntoTheUnitInterval) {
  Rng r(9);
  std::mt19937_64 engine(9);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(r.uniform(), static_cast<double>(engine() >> 11) / 9007199254740992.0);  // 2^53
}

TEST(RngTest, UniformStaysInTheHalfOpenUnitInterval) {
  Rng r(123);
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.01);  // standard error is 0.29 / sqrt(20000) = 0.002
}

TEST(RngTest, UniformInARangeAndBelowStayInBounds) {
  Rng r(5);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const double u = r.uniform(-2.0, 3.0);
    ASSERT_GE(u, -2.0);
    ASSERT_LT(u, 3.0);
    const std::uint64_t k = r.below(5);
    ASSERT_LT(k, 5u);
    seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 5u);  // every value in [0, 5) occurs
}

TEST(RngTest, DeriveIsDeterministicAndDiffersPerTagAndSeed) {
  EXPECT_EQ(Rng::derive(7, 3), Rng::derive(7, 3));
  std::set<std::uint64_t> derived;
  for (std::uint64_t tag = 0; tag < 100; ++tag) derived.insert(Rng::derive(7, tag));
  EXPECT_EQ(derived.size(), 100u);
  EXPECT_NE(Rng::derive(7, 3), Rng::derive(8, 3));
  EXPECT_NE(Rng::derive(0, 0), 0u);
  // Derived streams are not the parent stream.
  Rng parent(7), child(Rng::derive(7, 0));
  EXPECT_NE(parent.next(), child.next());
}

}  // namespace
}  // namespace orch
