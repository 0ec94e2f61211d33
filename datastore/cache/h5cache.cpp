#include "datastore/cache/h5cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <new>
#include <set>

#include "common/hash.h"
#include "datastore/cache/foreground.h"
#include "datastore/cache/h5handle.h"

namespace orch {
namespace fs = std::filesystem;
using h5::check;
using h5::Handle;

namespace {

constexpr unsigned kDeflateLevel = 4;             // ~zlib's sweet spot of time against size
constexpr hsize_t kFgChunk = 65536;               // 512 KiB of int64 indices per chunk
constexpr std::int64_t kMaxElements = 1LL << 34;  // refuse absurd extents from a damaged header

std::string checksum_hex(const void* data, std::size_t bytes) {
  Fnv1a64 h;
  h.update(data, bytes);
  return h.hex();
}

// Spatial chunk extent along one axis of `n` voxels.
hsize_t chunk_extent(std::int64_t n, hsize_t cap) {
  return std::min<hsize_t>(static_cast<hsize_t>(n), cap);
}

// Creates `name` in `group` as a chunked, deflated dataset of `dims`, writes `data` and stores
// its checksum. Empty datasets are contiguous: HDF5 rejects zero chunk extents.
void write_dataset(hid_t group, const char* name, hid_t file_type, hid_t mem_type,
                   const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk,
                   bool shuffle, const void* data, std::size_t bytes, const std::string& where) {
  const std::string at = where + "/" + name;
  const int rank = static_cast<int>(dims.size());
  Handle space = h5::simple_space(rank, dims.data(), at);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, at, "H5Pcreate");
  if (bytes > 0) {
    check(H5Pset_chunk(dcpl.id(), rank, chunk.data()), at, "H5Pset_chunk");
    if (shuffle) check(H5Pset_shuffle(dcpl.id()), at, "H5Pset_shuffle");
    check(H5Pset_deflate(dcpl.id(), kDeflateLevel), at, "H5Pset_deflate");
  }
  Handle dset(H5Dcreate2(group, name, file_type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
              H5Dclose, at, "H5Dcreate2");
  if (bytes > 0)
    check(H5Dwrite(dset.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), at, "H5Dwrite");
  h5::write_attr(dset.id(), "checksum", checksum_hex(data, bytes), at);
}

// Reads the whole of dataset `name` (which must have `rank` dimensions) as `mem_type`, checks its
// checksum, and returns the values; `dims` receives its extents.
template <class T>
std::vector<T> read_dataset(hid_t group, const std::string& name, hid_t mem_type, int rank,
                            std::vector<hsize_t>& dims, const std::string& where) {
  const std::string at = where + "/" + name;
  Handle dset = h5::open_dataset(group, name, at);
  Handle space(H5Dget_space(dset.id()), H5Sclose, at, "H5Dget_space");
  if (H5Sget_simple_extent_ndims(space.id()) != rank)
    throw Error(at + ": has " + std::to_string(H5Sget_simple_extent_ndims(space.id())) +
                " dimensions, expected " + std::to_string(rank));
  dims.assign(rank, 0);
  check(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr), at, "H5Sget_extent_dims");
  std::int64_t n = 1;
  for (hsize_t d : dims) {
    n *= static_cast<std::int64_t>(d);
    if (n > kMaxElements) throw Error(at + ": implausible extent");
  }
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0)
    check(H5Dread(dset.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), at, "H5Dread");
  const std::string stored = h5::read_attr_string(dset.id(), "checksum", at);
  const std::string actual = checksum_hex(out.data(), out.size() * sizeof(T));
  if (stored != actual)
    throw Error(at + ": checksum mismatch (stored " + stored + ", data " + actual + ")");
  return out;
}

void validate_case(const CachedCase& c, const std::string& where) {
  if (c.id.empty() || c.id.find('/') != std::string::npos || c.id == "." || c.id == "..")
    throw Error(where + ": case id '" + c.id + "' is empty or not a plain name");
  const Volume& v = c.image;
  if (v.dims[0] < 1 || v.dims[1] < 1 || v.dims[2] < 1 || v.channels < 1)
    throw Error(where + ": case '" + c.id + "' has an empty image");
  if (v.data.size() != static_cast<std::size_t>(v.channels * v.voxels()))
    throw Error(where + ": case '" + c.id + "' image holds " + std::to_string(v.data.size()) +
                " values, its dims say " + std::to_string(v.channels * v.voxels()));
  if (c.label.size() != static_cast<std::size_t>(v.voxels()))
    throw Error(where + ": case '" + c.id + "' label holds " + std::to_string(c.label.size()) +
                " voxels, the image " + std::to_string(v.voxels()));
  if (c.fg.size() > 256)
    throw Error(where + ": case '" + c.id + "' has " + std::to_string(c.fg.size()) +
                " classes; uint8 labels allow 256");
  if (!c.fg.empty() && !c.fg[0].empty())
    throw Error(where + ": case '" + c.id + "' has background coordinates in fg[0]");
}

fs::path temp_sibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() / ("." + path.filename().string() + ".tmp" +
                               std::to_string(::getpid()) + "_" + std::to_string(counter++));
}

void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Runs `f`, turning any failure into CacheCorrupt: a reader's caller rebuilds on every fault.
template <class F>
auto as_corrupt(const std::string& where, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const CacheCorrupt&) {
    throw;
  } catch (const Error& e) {
    throw CacheCorrupt(e.what());
  } catch (const std::bad_alloc&) {
    throw CacheCorrupt(where + ": out of memory reading it (damaged extents?)");
  }
}

}  // namespace

void compute_foreground(CachedCase& c, int num_classes) {
  c.fg = foreground_index(c.label.data(), c.label.size(), num_classes, c.id);
}

// ---- CacheWriter --------------------------------------------------------------------------------

struct CacheWriter::Impl {
  fs::path final_path, tmp_path;
  std::string where;  // "HDF5 cache '<tmp>'"
  Handle file, cases;
  std::set<std::string> ids;
  bool failed = false, committed = false;

  ~Impl() {
    if (committed) return;
    cases.reset();
    file.reset();
    std::error_code ec;
    fs::remove(tmp_path, ec);
  }
  void add(const CachedCase& c);
};

CacheWriter::CacheWriter(const std::string& final_path, const std::string& key,
                         const std::string& key_json)
    : impl_(std::make_unique<Impl>()) {
  h5::silence_errors();
  Impl& w = *impl_;
  w.final_path = final_path;
  if (!w.final_path.parent_path().empty()) fs::create_directories(w.final_path.parent_path());
  w.tmp_path = temp_sibling(w.final_path);
  w.where = "HDF5 cache '" + w.tmp_path.string() + "'";
  // 1.8 object formats at least: attributes of any size (key_json) and compact groups.
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, w.where, "H5Pcreate");
  check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), w.where,
        "H5Pset_libver_bounds");
  w.file = Handle(H5Fcreate(w.tmp_path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.id()), H5Fclose,
                  w.where, "H5Fcreate");
  h5::write_attr(w.file.id(), "format_version", std::int64_t{kCacheFormatVersion}, w.where);
  h5::write_attr(w.file.id(), "key", key, w.where);
  h5::write_attr(w.file.id(), "key_json", key_json, w.where);
  w.cases = Handle(H5Gcreate2(w.file.id(), "cases", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Gclose, w.where, "H5Gcreate2(/cases)");
}

CacheWriter::~CacheWriter() { h5::silence_errors(); }

void CacheWriter::add(const CachedCase& c) {
  h5::silence_errors();
  if (impl_->committed) throw Error(impl_->where + ": add() after commit()");
  try {
    impl_->add(c);
  } catch (...) {
    impl_->failed = true;
    throw;
  }
}

void CacheWriter::Impl::add(const CachedCase& c) {
  validate_case(c, where);
  if (!ids.insert(c.id).second) throw Error(where + ": case '" + c.id + "' added twice");
  const std::string at = where + " /cases/" + c.id;
  Handle g(H5Gcreate2(cases.id(), c.id.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
           at, "H5Gcreate2");
  const Volume& v = c.image;
  h5::write_attr(g.id(), "group", c.group, at);
  h5::write_attr(g.id(), "spacing", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v.spacing.data(), 3, at);
  h5::write_attr(g.id(), "affine", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v.affine[0].data(), 16, at);
  h5::write_attr(g.id(), "num_classes", static_cast<std::int64_t>(c.fg.size()), at);

  const std::int64_t nx = v.dims[0], ny = v.dims[1], nz = v.dims[2];
  const std::vector<hsize_t> space{static_cast<hsize_t>(nz), static_cast<hsize_t>(ny),
                                   static_cast<hsize_t>(nx)};
  const std::vector<hsize_t> chunk{chunk_extent(nz, 16), chunk_extent(ny, 64),
                                   chunk_extent(nx, 64)};
  std::vector<hsize_t> image_dims{static_cast<hsize_t>(v.channels)}, image_chunk{1};
  image_dims.insert(image_dims.end(), space.begin(), space.end());
  image_chunk.insert(image_chunk.end(), chunk.begin(), chunk.end());
  write_dataset(g.id(), "image", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, image_dims, image_chunk, true,
                v.data.data(), v.data.size() * sizeof(float), at);
  write_dataset(g.id(), "label", H5T_STD_U8LE, H5T_NATIVE_UINT8, space, chunk, false,
                c.label.data(), c.label.size(), at);
  for (std::size_t k = 1; k < c.fg.size(); ++k) {
    const auto& idx = c.fg[k];
    const std::vector<hsize_t> n{idx.size()}, fg_chunk{chunk_extent(idx.size(), kFgChunk)};
    write_dataset(g.id(), ("fg_" + std::to_string(k)).c_str(), H5T_STD_I64LE, H5T_NATIVE_INT64, n,
                  fg_chunk, true, idx.data(), idx.size() * sizeof(std::int64_t), at);
  }
}

void CacheWriter::commit() {
  h5::silence_errors();
  Impl& w = *impl_;
  if (w.committed) throw Error(w.where + ": commit() called twice");
  if (w.failed) throw Error(w.where + ": not committed, an earlier call failed");
  w.failed = true;  // until the rename below succeeds
  // "complete" goes last: a file without it was never finished, whatever else it holds.
  h5::write_attr(w.file.id(), "complete", std::int64_t{1}, w.where);
  w.cases.close(w.where, "H5Gclose(/cases)");
  w.file.close(w.where, "H5Fclose");
  fsync_path(w.tmp_path);
  std::error_code ec;
  fs::rename(w.tmp_path, w.final_path, ec);
  if (ec)
    throw Error(w.where + ": cannot rename to '" + w.final_path.string() + "': " + ec.message());
  w.failed = false;
  w.committed = true;
  fsync_path(w.final_path.parent_path().empty() ? fs::path(".") : w.final_path.parent_path());
}

// ---- CacheReader --------------------------------------------------------------------------------

struct CacheReader::Impl {
  std::string path;
  std::string where;  // "HDF5 cache '<path>'"
  Handle file, cases;
  std::vector<std::string> ids;

  void open(const std::string& expected_key);
  CachedCase read(const std::string& id) const;
};

void CacheReader::Impl::open(const std::string& expected_key) {
  if (!fs::exists(path)) throw CacheCorrupt(where + ": no such file");
  // A truncated file fails here: HDF5 compares the stored end-of-file address with the size.
  file = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, where, "H5Fopen");
  const hid_t root = file.id();
  if (!h5::has_attr(root, "format_version", where))
    throw CacheCorrupt(where + ": no format_version attribute; not an orch cache");
  const std::int64_t version = h5::read_attr_int(root, "format_version", where);
  if (version != kCacheFormatVersion)
    throw CacheCorrupt(where + ": format version " + std::to_string(version) +
                       ", this orch reads " + std::to_string(kCacheFormatVersion));
  if (!h5::has_attr(root, "complete", where) || h5::read_attr_int(root, "complete", where) != 1)
    throw CacheCorrupt(where +
                       ": not complete (no 'complete' attribute; its writer never finished)");
  const std::string key = h5::read_attr_string(root, "key", where);
  if (!expected_key.empty() && key != expected_key)
    throw CacheCorrupt(where + ": holds key " + key + ", expected " + expected_key);
  cases = h5::open_group(root, "cases", where + " /cases");
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  check(H5Literate(cases.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &ids), where,
        "H5Literate(/cases)");
  std::sort(ids.begin(), ids.end());
}

CachedCase CacheReader::Impl::read(const std::string& id) const {
  const std::string at = where + " /cases/" + id;
  Handle g = h5::open_group(cases.id(), id, at);
  CachedCase c;
  c.id = id;
  c.group = h5::read_attr_string(g.id(), "group", at);
  Volume& v = c.image;
  h5::read_attr(g.id(), "spacing", H5T_NATIVE_DOUBLE, v.spacing.data(), 3, at);
  h5::read_attr(g.id(), "affine", H5T_NATIVE_DOUBLE, v.affine[0].data(), 16, at);
  const std::int64_t num_classes = h5::read_attr_int(g.id(), "num_classes", at);
  if (num_classes < 0 || num_classes > 256)
    throw Error(at + ": implausible num_classes " + std::to_string(num_classes));

  std::vector<hsize_t> dims, label_dims;
  v.data = read_dataset<float>(g.id(), "image", H5T_NATIVE_FLOAT, 4, dims, at);
  v.channels = static_cast<std::int64_t>(dims[0]);
  v.dims = {static_cast<std::int64_t>(dims[3]), static_cast<std::int64_t>(dims[2]),
            static_cast<std::int64_t>(dims[1])};
  c.label = read_dataset<std::uint8_t>(g.id(), "label", H5T_NATIVE_UINT8, 3, label_dims, at);
  if (!std::equal(label_dims.begin(), label_dims.end(), dims.begin() + 1))
    throw Error(at + ": label extents differ from the image's");
  c.fg.assign(static_cast<std::size_t>(num_classes), {});
  for (std::int64_t k = 1; k < num_classes; ++k) {
    std::vector<hsize_t> n;
    c.fg[k] =
        read_dataset<std::int64_t>(g.id(), "fg_" + std::to_string(k), H5T_NATIVE_INT64, 1, n, at);
  }
  return c;
}

CacheReader::CacheReader(const std::string& path, const std::string& expected_key)
    : impl_(std::make_unique<Impl>()) {
  h5::silence_errors();
  impl_->path = path;
  impl_->where = "HDF5 cache '" + path + "'";
  as_corrupt(impl_->where, [&] { impl_->open(expected_key); });
}

CacheReader::~CacheReader() { h5::silence_errors(); }

std::vector<std::string> CacheReader::ids() const { return impl_->ids; }

CachedCase CacheReader::read(const std::string& id) const {
  h5::silence_errors();
  if (!std::binary_search(impl_->ids.begin(), impl_->ids.end(), id))
    throw Error(impl_->where + ": holds no case '" + id + "'");
  return as_corrupt(impl_->where, [&] { return impl_->read(id); });
}

}  // namespace orch
