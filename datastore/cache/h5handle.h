// Owners for HDF5's C handles (hid_t), used by the volume cache (h5cache.cpp) only; include it
// from code that links orch_hdf5. Every failing call throws orch::Error naming the call, the
// object and the reasons from HDF5's own error stack.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "common/status.h"

namespace orch::h5 {

// HDF5 prints its error stack to stderr by default; orch carries it in the exception instead.
// The setting is per thread in a thread-safe HDF5 build, so every entry point calls this.
inline void silence_errors() {
  thread_local bool silenced = false;
  if (!silenced) H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  silenced = true;
}

// The calling thread's HDF5 error stack as one line, innermost (most specific) frames first, at
// most three of them; the stack is cleared.
inline std::string error_stack() {
  std::string out;
  auto frame = [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
    auto* s = static_cast<std::string*>(data);
    if (n >= 3) return 0;
    char minor[160] = "";
    H5Eget_msg(e->min_num, nullptr, minor, sizeof minor);
    if (!s->empty()) *s += "; ";
    *s += std::string(e->func_name ? e->func_name : "?") + ": " + (e->desc ? e->desc : "") + " (" +
          minor + ")";
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, frame, &out);
  H5Eclear2(H5E_DEFAULT);
  std::replace(out.begin(), out.end(), '\n', ' ');  // some descriptions span lines
  return out.empty() ? "no detail from HDF5" : out;
}

// `where` names the file and object, e.g. "HDF5 cache 'a.h5' /cases/x/image".
[[noreturn]] inline void fail(const std::string& where, const char* call) {
  throw Error(where + ": " + call + " failed: " + error_stack());
}

inline void check(herr_t rc, const std::string& where, const char* call) {
  if (rc < 0) fail(where, call);
}

// Owns one hid_t and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  // Takes `id` as returned by `call`; a negative id throws with HDF5's reason.
  Handle(hid_t id, Closer closer, const std::string& where, const char* call)
      : id_(id), closer_(closer) {
    if (id_ < 0) fail(where, call);
  }
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), closer_(o.closer_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
      closer_ = o.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  // Closes now and throws on failure: closing a file flushes it, and that must not fail silently.
  void close(const std::string& where, const char* call) {
    const hid_t id = std::exchange(id_, -1);
    if (id >= 0) check(closer_(id), where, call);
  }
  // Closes, ignoring failure (destructors, error paths).
  void reset() noexcept {
    if (id_ >= 0) {
      closer_(std::exchange(id_, -1));
      H5Eclear2(H5E_DEFAULT);
    }
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

inline Handle open_group(hid_t loc, const std::string& name, const std::string& where) {
  return Handle(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), H5Gclose, where, "H5Gopen2");
}
inline Handle open_dataset(hid_t loc, const std::string& name, const std::string& where) {
  return Handle(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose, where, "H5Dopen2");
}
inline Handle simple_space(int rank, const hsize_t* dims, const std::string& where) {
  return Handle(rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, nullptr), H5Sclose,
                where, "H5Screate");
}
// A fixed-length, NUL-terminated UTF-8 string type of `size` bytes.
inline Handle string_type(std::size_t size, const std::string& where) {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose, where, "H5Tcopy");
  check(H5Tset_size(t.id(), size), where, "H5Tset_size");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), where, "H5Tset_cset");  // key_json may hold paths
  return t;
}

// Attributes: scalars (count 0) and 1-D arrays of numbers, fixed-length strings.
inline void write_attr(hid_t obj, const char* name, hid_t file_type, hid_t mem_type,
                       const void* data, hsize_t count, const std::string& where) {
  const std::string at = where + " attribute '" + name + "'";
  Handle space = simple_space(count == 0 ? 0 : 1, &count, at);
  Handle attr(H5Acreate2(obj, name, file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, at,
              "H5Acreate2");
  check(H5Awrite(attr.id(), mem_type, data), at, "H5Awrite");
}
inline void write_attr(hid_t obj, const char* name, std::int64_t value, const std::string& where) {
  write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, 0, where);
}
inline void write_attr(hid_t obj, const char* name, const std::string& value,
                       const std::string& where) {
  Handle type = string_type(value.size() + 1, where);
  write_attr(obj, name, type.id(), type.id(), value.c_str(), 0, where);
}

inline bool has_attr(hid_t obj, const char* name, const std::string& where) {
  const htri_t rc = H5Aexists(obj, name);
  check(rc, where + " attribute '" + name + "'", "H5Aexists");
  return rc > 0;
}

// Reads exactly `count` values (a scalar counts as one) as `mem_type`; another size throws.
inline void read_attr(hid_t obj, const char* name, hid_t mem_type, void* out, hssize_t count,
                      const std::string& where) {
  const std::string at = where + " attribute '" + name + "'";
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, at, "H5Aopen");
  Handle space(H5Aget_space(attr.id()), H5Sclose, at, "H5Aget_space");
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  if (n != count)
    throw Error(at + ": holds " + std::to_string(n) + " values, expected " + std::to_string(count));
  check(H5Aread(attr.id(), mem_type, out), at, "H5Aread");
}
inline std::int64_t read_attr_int(hid_t obj, const char* name, const std::string& where) {
  std::int64_t v = 0;
  read_attr(obj, name, H5T_NATIVE_INT64, &v, 1, where);
  return v;
}
inline std::string read_attr_string(hid_t obj, const char* name, const std::string& where) {
  const std::string at = where + " attribute '" + name + "'";
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, at, "H5Aopen");
  Handle type(H5Aget_type(attr.id()), H5Tclose, at, "H5Aget_type");
  if (H5Tget_class(type.id()) != H5T_STRING || H5Tis_variable_str(type.id()) != 0)
    throw Error(at + ": not a fixed-length string");
  const std::size_t size = H5Tget_size(type.id());
  Handle mem = string_type(size, at);
  std::string buf(size, '\0');
  check(H5Aread(attr.id(), mem.id(), buf.data()), at, "H5Aread");
  return buf.substr(0, buf.find('\0'));
}

}  // namespace orch::h5
