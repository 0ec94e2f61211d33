// Owners for SQLite's C handles. Every failing call throws orch::Error naming the call, the
// statement and SQLite's own message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace orch {

class SqliteStmt;

class SqliteDb {
 public:
  // Opens (creating if needed) `path` in WAL mode with a busy timeout.
  explicit SqliteDb(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void exec(const std::string& sql);
  SqliteStmt prepare(const std::string& sql);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, const std::string& sql);
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& o) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  SqliteStmt& operator=(SqliteStmt&&) = delete;

  // Binds by 1-based index; chainable.
  SqliteStmt& bind(int i, const std::string& v);
  SqliteStmt& bind(int i, std::int64_t v);
  SqliteStmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  SqliteStmt& bind(int i, double v);  // NaN is stored as NULL
  SqliteStmt& bind_null(int i);

  bool step();  // true while a row is available
  void run();   // steps to completion, for statements without rows

  std::string text(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;  // NULL reads as NaN
  bool is_null(int col) const;

 private:
  void check(int rc, const char* call) const;
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// RAII transaction: BEGIN IMMEDIATE on construction, ROLLBACK unless commit() was called.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  void commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace orch
