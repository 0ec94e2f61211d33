// The HDF5 volume cache: byte-exact round trips, the atomic write-once protocol, and every way a
// file can be refused (another key, unfinished, another format version, truncated, a damaged
// chunk), checked against files inspected and damaged with the raw HDF5 API and h5ls.
#include "datastore/cache/h5cache.h"

#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/rng.h"
#include "common/status.h"
#include "datastore/cache/foreground.h"
#include "tests/support/temp_dir.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

// A case of `channels` x (nx, ny, nz) random floats, with the float values that a lossy or
// converting path would alter first (-0, a denormal, infinities, NaN) at the front, and labels
// drawn from 0..num_labels-1.
CachedCase make_case(const std::string& id, std::int64_t nx, std::int64_t ny, std::int64_t nz,
                     int num_labels, std::uint64_t seed) {
  Rng rng(seed);
  CachedCase c;
  c.id = id;
  c.group = "subject_" + id;
  c.image.dims = {nx, ny, nz};
  c.image.channels = 2;
  c.image.spacing = {0.7, 1.25, 3.0};
  c.image.affine = {{{-0.7, 0, 0, 90.5}, {0, 1.25, 0.1, -126}, {0, 0, 3, -72.25}, {0, 0, 0, 1}}};
  c.image.data.resize(2 * nx * ny * nz);
  for (float& v : c.image.data) v = static_cast<float>(rng.normal(100.0, 40.0));
  const float specials[] = {
      -0.0f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::infinity(),
      -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  std::memcpy(c.image.data.data(), specials, sizeof specials);
  c.label.resize(nx * ny * nz);
  for (auto& l : c.label) l = static_cast<std::uint8_t>(rng.below(num_labels));
  return c;
}

// The foreground lists by the definition: scan every voxel.
std::vector<std::vector<std::int64_t>> scan_foreground(const std::vector<std::uint8_t>& label,
                                                       int num_classes) {
  std::vector<std::vector<std::int64_t>> fg(num_classes);
  for (int k = 1; k < num_classes; ++k)
    for (std::size_t i = 0; i < label.size(); ++i)
      if (label[i] == k) fg[k].push_back(static_cast<std::int64_t>(i));
  return fg;
}

// Writes cases "a" (70 x 9 x 17: X and Z span two chunks) and "b" (5 x 3 x 7, class 3 absent).
void write_two_cases(const std::string& path, const std::string& key = "k1") {
  CacheWriter w(path, key, R"({"dataset":"msd_hepatic","spacing":[0.7,1.25,3]})");
  for (auto c : {make_case("a", 70, 9, 17, 3, 1), make_case("b", 5, 3, 7, 3, 2)}) {
    compute_foreground(c, c.id == "a" ? 3 : 4);
    w.add(c);
  }
  w.commit();
}

// Runs `f` and returns the CacheCorrupt message it throws ("" when it throws nothing). Every
// CacheCorrupt carries ErrorCode::kCorrupt.
template <class F>
std::string corrupt_message(F&& f) {
  try {
    f();
  } catch (const CacheCorrupt& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt) << e.what();
    return e.what();
  }
  return "";
}

TEST(H5Cache, RoundTripKeepsEveryByteOfTwoOddShapedCases) {
  TempDir dir("roundtrip");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  CacheReader reader(path, "k1");
  ASSERT_EQ(reader.ids(), (std::vector<std::string>{"a", "b"}));
  for (const auto& [id, nx, ny, nz, seed, classes] :
       {std::tuple{"a", 70, 9, 17, 1, 3}, std::tuple{"b", 5, 3, 7, 2, 4}}) {
    SCOPED_TRACE(id);
    const CachedCase want = make_case(id, nx, ny, nz, 3, seed);
    const CachedCase got = reader.read(id);
    EXPECT_EQ(got.id, id);
    EXPECT_EQ(got.group, want.group);
    EXPECT_EQ(got.image.dims, want.image.dims);
    EXPECT_EQ(got.image.channels, 2);
    EXPECT_EQ(got.image.spacing, want.image.spacing);
    EXPECT_EQ(got.image.affine, want.image.affine);
    ASSERT_EQ(got.image.data.size(), want.image.data.size());
    EXPECT_EQ(std::memcmp(got.image.data.data(), want.image.data.data(),
                          want.image.data.size() * sizeof(float)),
              0);
    EXPECT_EQ(got.label, want.label);
    EXPECT_EQ(got.fg, scan_foreground(want.label, classes));
  }
  EXPECT_TRUE(reader.read("b").fg[3].empty());  // an absent class is an empty list
  EXPECT_THROW(reader.read("zz"), Error);
}

TEST(H5Cache, CaseIdsComeBackSorted) {
  TempDir dir("ids");
  const std::string path = dir.file("cache.h5");
  {
    CacheWriter w(path, "k", "{}");
    for (const char* id : {"c10", "b", "c9", "a"}) w.add(make_case(id, 3, 2, 1, 2, 7));
    w.commit();
  }
  EXPECT_EQ(CacheReader(path).ids(), (std::vector<std::string>{"a", "b", "c10", "c9"}));
}

TEST(H5Cache, ForegroundListsEachClassInAscendingOrder) {
  CachedCase c;
  c.label = {0, 2, 1, 2, 0, 1, 2};
  compute_foreground(c, 4);
  const std::vector<std::vector<std::int64_t>> want{{}, {2, 5}, {1, 3, 6}, {}};
  EXPECT_EQ(c.fg, want);
  c.id = "x7";
  try {
    compute_foreground(c, 2);  // label 2 with only classes 0 and 1
    ADD_FAILURE() << "a label value >= num_classes must be an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "case 'x7': label value 2 at voxel 1 is not below num_classes 2");
  }
  EXPECT_EQ(c.fg, want);  // left as it was
}

TEST(Foreground, OneRuleForEveryCaller) {
  const std::vector<std::uint8_t> label = {3, 0, 1, 3, 1, 0, 0, 3};
  const auto fg = foreground_index(label.data(), label.size(), 4, "c");
  EXPECT_EQ(fg, scan_foreground(label, 4));
  EXPECT_EQ(fg, (std::vector<std::vector<std::int64_t>>{{}, {2, 4}, {}, {0, 3, 7}}));
  EXPECT_EQ(foreground_index(nullptr, 0, 3, "empty"), (std::vector<std::vector<std::int64_t>>(3)));
  EXPECT_EQ(foreground_index(label.data(), 2, 4, "prefix")[3], (std::vector<std::int64_t>{0}));
  const CachedCase big = make_case("big", 70, 9, 17, 5, 3);
  EXPECT_EQ(foreground_index(big.label.data(), big.label.size(), 5, big.id),
            scan_foreground(big.label, 5));
  EXPECT_THROW(foreground_index(label.data(), label.size(), 3, "c"), Error);  // 3 >= 3
  EXPECT_THROW(foreground_index(label.data(), label.size(), 0, "c"), Error);
}

TEST(H5Cache, AnotherKeyIsCorrupt) {
  TempDir dir("key");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path, "abc123");
  const std::string msg = corrupt_message([&] { CacheReader r(path, "def456"); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("def456"), std::string::npos) << msg;
  EXPECT_NO_THROW(CacheReader(path, ""));
}

TEST(H5Cache, WriterWithoutCommitLeavesNoFileBehind) {
  TempDir dir("nocommit");
  const std::string path = dir.file("cache.h5");
  {
    CacheWriter w(path, "k", "{}");
    w.add(make_case("a", 4, 3, 2, 2, 1));
    std::vector<fs::path> during(fs::directory_iterator(dir.path()), {});
    ASSERT_EQ(during.size(), 1u);  // the temporary sibling, named after the pid
    EXPECT_NE(during[0].filename().string().find(std::to_string(::getpid())), std::string::npos);
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
  EXPECT_NE(corrupt_message([&] { CacheReader r(path); }).find("no such file"), std::string::npos);
}

TEST(H5Cache, WriterRefusesInconsistentCasesAndThenCommit) {
  TempDir dir("bad");
  const std::string path = dir.file("cache.h5");
  CacheWriter w(path, "k", "{}");
  CachedCase c = make_case("a", 4, 3, 2, 2, 1);
  w.add(c);
  EXPECT_THROW(w.add(c), Error);  // the same id twice
  c.id = "b";
  c.label.pop_back();
  EXPECT_THROW(w.add(c), Error);
  EXPECT_THROW(w.commit(), Error);
  EXPECT_FALSE(fs::exists(path));
}

// Opens `path` read-write with the raw API, runs `f(file)`, closes.
template <class F>
void edit_raw(const std::string& path, F&& f) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  f(file);
  ASSERT_GE(H5Fclose(file), 0);
}

TEST(H5Cache, FileWithoutCompleteAttributeIsCorrupt) {
  TempDir dir("incomplete");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  edit_raw(path, [](hid_t f) { ASSERT_GE(H5Adelete(f, "complete"), 0); });
  const std::string msg = corrupt_message([&] { CacheReader r(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("complete"), std::string::npos) << msg;
}

TEST(H5Cache, OtherFormatVersionIsCorrupt) {
  TempDir dir("version");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  edit_raw(path, [](hid_t f) {
    const hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    const std::int64_t v = kCacheFormatVersion + 1;
    ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
    H5Aclose(a);
  });
  const std::string msg = corrupt_message([&] { CacheReader r(path); });
  EXPECT_NE(msg.find("format version " + std::to_string(kCacheFormatVersion + 1)),
            std::string::npos)
      << msg;
}

TEST(H5Cache, TruncatedFileIsCorruptNotACrash) {
  TempDir dir("truncated");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  fs::resize_file(path, fs::file_size(path) / 2);
  const std::string msg = corrupt_message([&] { CacheReader r(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("H5Fopen"), std::string::npos) << msg;
  fs::resize_file(path, 0);
  EXPECT_NE(corrupt_message([&] { CacheReader r(path); }), "");
}

// File address and stored (compressed) size of the first chunk of `dataset`.
std::pair<haddr_t, hsize_t> first_chunk(const std::string& path, const char* dataset) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  const hid_t s = H5Dget_space(d);
  haddr_t addr = HADDR_UNDEF;
  hsize_t size = 0;
  unsigned mask = 0;
  EXPECT_GE(H5Dget_chunk_info(d, s, 0, nullptr, &mask, &addr, &size), 0);
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return {addr, size};
}

TEST(H5Cache, FlippedBytesInACompressedChunkAreCorrupt) {
  TempDir dir("flipped");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  const auto [addr, size] = first_chunk(path, "/cases/a/image");
  ASSERT_GT(size, 64u);
  {
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> bytes(16);
    io.seekg(static_cast<std::streamoff>(addr + size / 2));
    io.read(bytes.data(), 16);
    for (char& b : bytes) b = static_cast<char>(~b);
    io.seekp(static_cast<std::streamoff>(addr + size / 2));
    io.write(bytes.data(), 16);
  }
  CacheReader reader(path);  // the metadata is intact; the damage shows when the data is read
  EXPECT_NO_THROW(reader.read("b"));
  const std::string msg = corrupt_message([&] { reader.read("a"); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("/cases/a/image"), std::string::npos) << msg;
}

TEST(H5Cache, WellFormedChunkWithOtherContentFailsItsChecksum) {
  TempDir dir("checksum");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  edit_raw(path, [](hid_t f) {  // relabel voxel 0 through HDF5: the deflate stream stays valid
    const hid_t d = H5Dopen2(f, "/cases/b/label", H5P_DEFAULT);
    const hid_t space = H5Dget_space(d);
    const hsize_t start[3] = {0, 0, 0}, count[3] = {1, 1, 1};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    const hid_t mem = H5Screate_simple(3, count, nullptr);
    const std::uint8_t value = 9;
    ASSERT_GE(H5Dwrite(d, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, &value), 0);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
  });
  CacheReader reader(path);
  const std::string msg = corrupt_message([&] { reader.read("b"); });
  EXPECT_NE(msg.find("/cases/b/label: checksum mismatch"), std::string::npos) << msg;
}

// Chunk extents and (filter id, first parameter) pairs of `dataset`, read with the raw API.
struct Layout {
  std::vector<hsize_t> dims, chunk;
  std::vector<std::pair<H5Z_filter_t, unsigned>> filters;
};
Layout layout(hid_t file, const char* dataset) {
  Layout out;
  const hid_t d = H5Dopen2(file, dataset, H5P_DEFAULT);
  const hid_t s = H5Dget_space(d);
  out.dims.resize(H5Sget_simple_extent_ndims(s));
  H5Sget_simple_extent_dims(s, out.dims.data(), nullptr);
  const hid_t p = H5Dget_create_plist(d);
  out.chunk.resize(out.dims.size());
  if (H5Pget_layout(p) == H5D_CHUNKED)
    H5Pget_chunk(p, static_cast<int>(out.chunk.size()), out.chunk.data());
  for (int i = 0; i < H5Pget_nfilters(p); ++i) {
    unsigned flags = 0, cd[4] = {0, 0, 0, 0}, config = 0;
    std::size_t n = 4;
    const H5Z_filter_t id = H5Pget_filter2(p, i, &flags, &n, cd, 0, nullptr, &config);
    out.filters.emplace_back(id, n > 0 ? cd[0] : 0);
  }
  H5Pclose(p);
  H5Sclose(s);
  H5Dclose(d);
  return out;
}

TEST(H5Cache, LayoutIsChunkedAndCompressedAsDocumented) {
  TempDir dir("layout");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  for (const char* attr : {"format_version", "key", "key_json", "complete"})
    EXPECT_GT(H5Aexists(f, attr), 0) << attr;
  const Layout image = layout(f, "/cases/a/image");
  EXPECT_EQ(image.dims, (std::vector<hsize_t>{2, 17, 9, 70}));  // (C, Z, Y, X)
  EXPECT_EQ(image.chunk, (std::vector<hsize_t>{1, 16, 9, 64}));
  using Filters = std::vector<std::pair<H5Z_filter_t, unsigned>>;
  EXPECT_EQ(image.filters, (Filters{{H5Z_FILTER_SHUFFLE, 4}, {H5Z_FILTER_DEFLATE, 4}}));
  const Layout label = layout(f, "/cases/b/label");
  EXPECT_EQ(label.dims, (std::vector<hsize_t>{7, 3, 5}));
  EXPECT_EQ(label.chunk, (std::vector<hsize_t>{7, 3, 5}));
  EXPECT_EQ(label.filters, (Filters{{H5Z_FILTER_DEFLATE, 4}}));
  EXPECT_EQ(layout(f, "/cases/b/fg_3").dims, (std::vector<hsize_t>{0}));
  H5Fclose(f);

  // The same facts as an independent tool prints them.
  if (::access("/usr/bin/h5ls", X_OK) != 0) GTEST_SKIP() << "h5ls not installed";
  FILE* p = ::popen(("/usr/bin/h5ls -r -v '" + path + "' 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  for (char buf[4096]; std::fgets(buf, sizeof buf, p);) out += buf;
  EXPECT_EQ(::pclose(p), 0) << out;
  for (const char* want : {"/cases/a/image", "/cases/a/fg_2", "/cases/b/label",
                           "Chunks:    {1, 16, 9, 64}", "deflate", "shuffle"})
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
}

TEST(H5Cache, NoHdf5HandleOutlivesItsOwnerOnSuccessOrFailure) {
  TempDir dir("handles");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  {
    CacheReader reader(path);
    reader.read("a");
    EXPECT_GT(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  }
  {
    CacheWriter w(dir.file("other.h5"), "k", "{}");
    CachedCase c = make_case("x", 3, 3, 3, 2, 1);
    c.fg = {{5}};  // background coordinates: refused
    EXPECT_THROW(w.add(c), Error);
  }
  fs::resize_file(path, fs::file_size(path) - 100);
  EXPECT_THROW(CacheReader{path}, CacheCorrupt);
  EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);  // every file and object closed
}

TEST(H5Cache, TwoReadersMayHoldOneFileAtOnce) {
  TempDir dir("readers");
  const std::string path = dir.file("cache.h5");
  write_two_cases(path);
  CacheReader r1(path, "k1");
  CacheReader r2(path, "k1");
  EXPECT_EQ(r1.read("b").label, r2.read("b").label);
  // One reader shared by threads: the thread-safe HDF5 build serialises them.
  std::vector<std::uint8_t> labels[2];
  std::thread t0([&] { labels[0] = r1.read("a").label; });
  std::thread t1([&] { labels[1] = r1.read("a").label; });
  t0.join();
  t1.join();
  EXPECT_EQ(labels[0], make_case("a", 70, 9, 17, 3, 1).label);
  EXPECT_EQ(labels[1], labels[0]);
}

}  // namespace
}  // namespace orch
