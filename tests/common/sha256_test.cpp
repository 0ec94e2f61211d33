// SHA-256 against the FIPS 180-2 / NIST example vectors and against `sha256sum` (GNU coreutils) on
// files whose bytes the tests write.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/sha256.h"
#include "common/status.h"
#include "tests/support/temp_dir.h"

namespace orch {
namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Sha256, MatchesTheFipsExampleVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundariesMatchSha256sum) {
  // 55, 56 and 64 bytes: the length field fits in the last block, spills into a new one, or
  // follows a full block. Values from `printf '%s' ... | sha256sum`.
  EXPECT_EQ(sha256_hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256_hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256_hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, FileDigestEqualsSha256sum) {
  testing::TempDir dir;
  // printf 'orch sha256 test file\nsecond line\x00\xff\n' > f; sha256sum f
  const std::string small = dir.file("small.bin");
  write_bytes(small, std::string("orch sha256 test file\nsecond line\0\xff\n", 36));
  EXPECT_EQ(sha256_file(small), "9c9200358e8545dcfccd42c051c651ddcc7675b08a14abd410d2071a5d3c4898");

  // 100000 bytes (i * 31 + 7) % 251, more than one 64 KiB read:
  // python3 -c 'import sys; sys.stdout.buffer.write(bytes((i*31+7)%251 for i in range(100000)))'
  //   > f; sha256sum f
  std::string pattern(100000, '\0');
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    pattern[i] = static_cast<char>(static_cast<unsigned char>((i * 31 + 7) % 251));
  }
  const std::string big = dir.file("pattern.bin");
  write_bytes(big, pattern);
  EXPECT_EQ(sha256_file(big), "08d042cceab8034d08c870e707f331cac9f42321044406bcccd156c7258229ab");
  EXPECT_EQ(sha256_hex(pattern), sha256_file(big));
}

TEST(Sha256, UnreadableFileThrowsNamingIt) {
  testing::TempDir dir;
  const std::string missing = dir.file("missing.bin");
  try {
    sha256_file(missing);
    FAIL() << "expected orch::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_THROW(sha256_file(dir.path().string()), Error);  // a folder is not a file
}

}  // namespace
}  // namespace orch
