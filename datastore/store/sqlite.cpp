#include "datastore/store/sqlite.h"

#include <cmath>
#include <limits>

#include "common/status.h"

namespace orch {

SqliteDb::SqliteDb(const std::string& path) : path_(path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw Error("cannot open results store '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

void SqliteDb::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("sqlite3_exec on '" + path_ + "' failed (" + msg + ") for: " + sql.substr(0, 80));
  }
}

SqliteStmt SqliteDb::prepare(const std::string& sql) { return SqliteStmt(db_, sql); }

SqliteStmt::SqliteStmt(sqlite3* db, const std::string& sql) : db_(db), sql_(sql) {
  check(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt_, nullptr), "sqlite3_prepare_v2");
}

SqliteStmt::SqliteStmt(SqliteStmt&& o) noexcept
    : db_(o.db_), stmt_(o.stmt_), sql_(std::move(o.sql_)) {
  o.stmt_ = nullptr;
}

SqliteStmt::~SqliteStmt() { sqlite3_finalize(stmt_); }

void SqliteStmt::check(int rc, const char* call) const {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
    throw Error(std::string(call) + " failed (" + sqlite3_errmsg(db_) +
                ") for: " + sql_.substr(0, 80));
}

SqliteStmt& SqliteStmt::bind(int i, const std::string& v) {
  check(sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT),
        "sqlite3_bind_text");
  return *this;
}

SqliteStmt& SqliteStmt::bind(int i, std::int64_t v) {
  check(sqlite3_bind_int64(stmt_, i, v), "sqlite3_bind_int64");
  return *this;
}

SqliteStmt& SqliteStmt::bind(int i, double v) {
  if (std::isnan(v)) return bind_null(i);
  check(sqlite3_bind_double(stmt_, i, v), "sqlite3_bind_double");
  return *this;
}

SqliteStmt& SqliteStmt::bind_null(int i) {
  check(sqlite3_bind_null(stmt_, i), "sqlite3_bind_null");
  return *this;
}

bool SqliteStmt::step() {
  const int rc = sqlite3_step(stmt_);
  check(rc, "sqlite3_step");
  return rc == SQLITE_ROW;
}

void SqliteStmt::run() {
  while (step()) {
  }
}

std::string SqliteStmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? reinterpret_cast<const char*>(p) : "";
}

std::int64_t SqliteStmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

double SqliteStmt::real(int col) const {
  return is_null(col) ? std::numeric_limits<double>::quiet_NaN()
                      : sqlite3_column_double(stmt_, col);
}

bool SqliteStmt::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

SqliteTransaction::~SqliteTransaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {  // destructor: nothing more to do
    }
  }
}

void SqliteTransaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace orch
