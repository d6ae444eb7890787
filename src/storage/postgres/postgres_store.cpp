#include "storage/postgres/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <tuple>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace treu {
namespace postgres_migrations {
extern const std::pair<std::string_view, std::string_view> kFiles[];
extern const std::size_t kFiles_count;
}  // namespace postgres_migrations

namespace {

// How long a write transaction waits for a lock (first of all the workspace's advisory lock
// in BeginWrite) before giving up with Unavailable.
constexpr const char* kBeginWriteSql =
    "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '30s'";
// The session advisory lock held while migrating. It uses the two-int4 key form, a key space
// apart from the one-int8 keys of the workspace locks; 1953654133 is "treu" in ASCII.
constexpr const char* kMigrationLockSql = "SELECT pg_advisory_lock(1953654133, 1)";
constexpr const char* kMigrationUnlockSql = "SELECT pg_advisory_unlock(1953654133, 1)";
// Rows per FETCH when scanning through a cursor.
constexpr int kFetchRows = 10'000;
// COPY data is handed to libpq in pieces of this size.
constexpr std::size_t kCopyChunkBytes = std::size_t{1} << 20;

std::string TrimRight(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::int64_t ParseInt(std::string_view text) {
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// Maps a failed libpq call to the error vocabulary: lost connections, lock timeouts,
// deadlocks and cancellations are Unavailable (a retry may succeed), the rest mostly Internal.
std::unexpected<Error> PgError(PGconn* pg, const PGresult* res, std::string_view what) {
  const std::string context = "postgresql: " + std::string(what);
  std::string detail;
  std::string state;
  if (res != nullptr) {
    if (const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
      detail = primary;
    } else {
      detail = PQresultErrorMessage(res);
    }
    if (const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) state = s;
  }
  if (detail.empty() && pg != nullptr) detail = PQerrorMessage(pg);
  detail = TrimRight(std::move(detail));
  if (detail.empty()) detail = "unknown error";
  if (!state.empty()) detail += " (SQLSTATE " + state + ")";
  const std::string_view code = state;
  if (pg == nullptr || PQstatus(pg) == CONNECTION_BAD || code.starts_with("08") ||
      code == "40001" || code == "40P01" || code == "55P03" || code == "57014" ||
      code.starts_with("57P")) {
    return Unavailable(context, detail);
  }
  if (code.starts_with("53")) return MakeError(ErrorCode::kResourceExhausted, context, detail);
  if (code == "23505") return AlreadyExists(context, detail);
  if (code.starts_with("22")) return InvalidArgument(context, detail);
  return Internal(context, detail);
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// A PostgreSQL array literal such as {"a","b\"c"} or {1,2,NULL}, passed as one text
// parameter and unpacked server-side with unnest() or = ANY().
class ArrayLiteral {
 public:
  ArrayLiteral& Add(std::string_view s) {
    Separate();
    text_ += '"';
    // Runs without a character to escape are appended whole (rendered messages are long).
    while (!s.empty()) {
      std::size_t special = 0;
      while (special < s.size() && s[special] != '"' && s[special] != '\\' && s[special] != '\0') ++special;
      text_.append(s.substr(0, special));
      if (special == s.size()) break;
      if (s[special] == '\0') {
        has_nul_ = true;
      } else {
        text_ += '\\';
      }
      text_ += s[special];
      s.remove_prefix(special + 1);
    }
    text_ += '"';
    return *this;
  }
  ArrayLiteral& Add(std::int64_t v) {
    Separate();
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    text_.append(buf, end);
    return *this;
  }
  ArrayLiteral& Add(std::optional<std::int64_t> v) { return v ? Add(*v) : AddNull(); }
  ArrayLiteral& AddBool(bool b) {
    Separate();
    text_ += b ? 't' : 'f';
    return *this;
  }
  ArrayLiteral& AddNull() {
    Separate();
    text_ += "NULL";
    return *this;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool has_nul() const { return has_nul_; }
  std::string Text() const { return "{" + text_ + "}"; }

 private:
  void Separate() {
    if (size_++ > 0) text_ += ',';
  }

  std::string text_;
  std::size_t size_ = 0;
  bool has_nul_ = false;
};

// Text-format statement parameters ($1, $2, ...). Values travel apart from the SQL text.
class Params {
 public:
  Params& Add(std::int64_t v) { return Push(std::to_string(v)); }
  Params& Add(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return Push(buf);
  }
  Params& Add(std::string_view v) {
    if (v.find('\0') != std::string_view::npos) has_nul_ = true;
    return Push(std::string(v));
  }
  Params& Add(const ArrayLiteral& a) {
    has_nul_ = has_nul_ || a.has_nul();
    return Push(a.Text());
  }
  Params& AddNull() {
    values_.emplace_back();
    null_.push_back(true);
    return *this;
  }

  int size() const { return static_cast<int>(values_.size()); }
  bool has_nul() const { return has_nul_; }
  std::vector<const char*> Pointers() const {
    std::vector<const char*> p(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) p[i] = null_[i] ? nullptr : values_[i].c_str();
    return p;
  }

 private:
  Params& Push(std::string v) {
    values_.push_back(std::move(v));
    null_.push_back(false);
    return *this;
  }

  std::vector<std::string> values_;
  std::vector<bool> null_;
  bool has_nul_ = false;
};

// Rows in COPY text format: tab-separated fields, one row per line, backslash escapes.
class CopyRows {
 public:
  CopyRows& Add(std::string_view s) {
    Separate();
    for (const char c : s) {
      switch (c) {
        case '\\':
          data_ += "\\\\";
          break;
        case '\t':
          data_ += "\\t";
          break;
        case '\n':
          data_ += "\\n";
          break;
        case '\r':
          data_ += "\\r";
          break;
        case '\0':
          has_nul_ = true;
          break;
        default:
          data_ += c;
      }
    }
    return *this;
  }
  CopyRows& Add(std::int64_t v) {
    Separate();
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    data_.append(buf, end);
    return *this;
  }
  void EndRow() {
    data_ += '\n';
    row_started_ = false;
    ++rows_;
  }

  const std::string& data() const { return data_; }
  bool empty() const { return rows_ == 0; }
  bool has_nul() const { return has_nul_; }

 private:
  void Separate() {
    if (row_started_) data_ += '\t';
    row_started_ = true;
  }

  std::string data_;
  std::size_t rows_ = 0;
  bool row_started_ = false;
  bool has_nul_ = false;
};

// The rows of a text-format result.
class Rows {
 public:
  Rows() = default;
  explicit Rows(PgResult r) : r_(std::move(r)) {}

  int size() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view View(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::string Text(int row, int col) const { return std::string(View(row, col)); }
  std::int64_t Int(int row, int col) const { return ParseInt(View(row, col)); }
  bool Bool(int row, int col) const { return View(row, col) == "t"; }
  double Double(int row, int col) const { return std::strtod(PQgetvalue(r_.get(), row, col), nullptr); }
  // The command tag, e.g. "COMMIT" or "INSERT 0 5".
  std::string_view Tag() const { return r_ ? PQcmdStatus(r_.get()) : ""; }

 private:
  PgResult r_;
};

// One libpq connection. Not thread-safe.
class Conn {
 public:
  Conn() = default;
  ~Conn() {
    if (pg_ != nullptr) PQfinish(pg_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Status Connect(const std::string& url) {
    // The URL is expanded in place of "dbname"; the keywords after it override what it says.
    const char* const keys[] = {"dbname", "client_encoding", "fallback_application_name", nullptr};
    const char* const values[] = {url.c_str(), "UTF8", "treu", nullptr};
    pg_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (pg_ == nullptr) return Unavailable("postgresql: connect", "libpq is out of memory");
    if (PQstatus(pg_) != CONNECTION_OK) {
      return Unavailable("postgresql: connect", TrimRight(PQerrorMessage(pg_)));
    }
    return Ok();
  }

  // Runs SQL text without parameters, possibly several statements; discards their rows.
  Status Run(std::string_view what, const char* sql) {
    PgResult r(PQexec(pg_, sql));
    const ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(pg_, r.get(), what);
    return Ok();
  }

  // Runs one statement with parameters and returns its rows (none for most commands).
  Result<Rows> Query(std::string_view what, const char* sql, const Params& params = Params()) {
    if (params.has_nul()) {
      return InvalidArgument("postgresql: " + std::string(what), "text contains a NUL byte");
    }
    const std::vector<const char*> values = params.Pointers();
    PgResult r(PQexecParams(pg_, sql, params.size(), nullptr, values.data(), nullptr, nullptr,
                            /*resultFormat=*/0));
    const ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(pg_, r.get(), what);
    return Rows(std::move(r));
  }

  // Runs `copy_sql` (a COPY ... FROM STDIN) and sends `rows` as its data.
  Status CopyIn(std::string_view what, const char* copy_sql, const CopyRows& rows) {
    if (rows.has_nul()) {
      return InvalidArgument("postgresql: " + std::string(what), "text contains a NUL byte");
    }
    PgResult start(PQexec(pg_, copy_sql));
    if (PQresultStatus(start.get()) != PGRES_COPY_IN) return PgError(pg_, start.get(), what);
    const std::string& data = rows.data();
    bool sent = true;
    for (std::size_t off = 0; sent && off < data.size(); off += kCopyChunkBytes) {
      const std::size_t n = std::min(kCopyChunkBytes, data.size() - off);
      sent = PQputCopyData(pg_, data.data() + off, static_cast<int>(n)) == 1;
    }
    // On a send failure, ending the COPY with a message makes the server discard it.
    if (PQputCopyEnd(pg_, sent ? nullptr : "treu could not send the data") != 1) sent = false;
    std::optional<Error> failure;
    while (PGresult* raw = PQgetResult(pg_)) {
      PgResult r(raw);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK && !failure) {
        failure = PgError(pg_, raw, what).error();
      }
    }
    if (failure) return std::unexpected(std::move(*failure));
    if (!sent) return PgError(pg_, nullptr, what);
    return Ok();
  }

  // PQTRANS_IDLE outside a transaction, PQTRANS_INTRANS inside one, PQTRANS_INERROR after a
  // failed statement in one.
  PGTransactionStatusType TxStatus() const { return PQtransactionStatus(pg_); }

 private:
  PGconn* pg_ = nullptr;
};

// Gives a read of several statements one snapshot: a REPEATABLE READ READ ONLY transaction
// when none is open. Inside a write transaction the read joins it and sees its writes.
class ReadScope {
 public:
  explicit ReadScope(Conn& conn) : conn_(conn) {}
  ~ReadScope() {
    if (began_) (void)conn_.Run("end read", "ROLLBACK");
  }
  ReadScope(const ReadScope&) = delete;
  ReadScope& operator=(const ReadScope&) = delete;

  Status Begin() {
    if (conn_.TxStatus() != PQTRANS_IDLE) return Ok();
    // Scans read every row: plan cursors for the whole result, not for the first rows.
    TREU_RETURN_IF_ERROR(conn_.Run("begin read",
                                   "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                                   "SET LOCAL cursor_tuple_fraction = 1"));
    began_ = true;
    return Ok();
  }

 private:
  Conn& conn_;
  bool began_ = false;
};

// The rows of a query read through a server-side cursor, kFetchRows at a time, so a scan of
// millions of rows holds few of them in memory. REQUIRES: a transaction is open for as long
// as the stream is used. `name` is an identifier of the caller's choosing, unique among the
// streams open at once.
class CursorStream {
 public:
  CursorStream(Conn& conn, std::string_view name) : conn_(conn), name_(name) {}
  ~CursorStream() {
    if (declared_ && conn_.TxStatus() == PQTRANS_INTRANS) {
      const std::string close = "CLOSE " + name_;
      (void)conn_.Run("close cursor", close.c_str());
    }
  }
  CursorStream(const CursorStream&) = delete;
  CursorStream& operator=(const CursorStream&) = delete;

  Status Open(std::string_view what, std::string_view query, const Params& params) {
    what_ = std::string(what);
    const std::string declare = "DECLARE " + name_ + " NO SCROLL CURSOR FOR " + std::string(query);
    TREU_ASSIGN_OR_RETURN(Rows ignored, conn_.Query(what_, declare.c_str(), params));
    (void)ignored;
    declared_ = true;
    fetch_ = "FETCH FORWARD " + std::to_string(kFetchRows) + " FROM " + name_;
    return Ok();
  }

  // Moves to the next row; false after the last.
  Result<bool> Next() {
    if (++row_ < rows_.size()) return true;
    if (done_) return false;
    TREU_ASSIGN_OR_RETURN(rows_, conn_.Query(what_, fetch_.c_str()));
    done_ = rows_.size() < kFetchRows;
    row_ = 0;
    return rows_.size() > 0;
  }

  const Rows& rows() const { return rows_; }
  int row() const { return row_; }
  std::int64_t Int(int col) const { return rows_.Int(row_, col); }
  std::string Text(int col) const { return rows_.Text(row_, col); }

 private:
  Conn& conn_;
  std::string name_;
  std::string what_;
  std::string fetch_;
  Rows rows_;
  int row_ = -1;
  bool declared_ = false;
  bool done_ = false;
};

// ---------------------------------------------------------------------------------------------
// Migrations

Status ApplyMigrations(Conn& conn, const Clock& clock) {
  TREU_RETURN_IF_ERROR(conn.Run("create schema_migrations",
                                "CREATE TABLE IF NOT EXISTS schema_migrations (version INT "
                                "PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"));
  std::vector<std::pair<int, std::size_t>> order;  // (version, index in kFiles)
  for (std::size_t i = 0; i < postgres_migrations::kFiles_count; ++i) {
    const std::string_view name = postgres_migrations::kFiles[i].first;
    int version = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), version);
    if (ec != std::errc() || end == name.data() || version <= 0) {
      return Internal("postgresql: migration " + std::string(name),
                      "the file name does not start with a version number");
    }
    order.emplace_back(version, i);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [version, index] : order) {
    const auto& [name, body] = postgres_migrations::kFiles[index];
    TREU_RETURN_IF_ERROR(conn.Run("begin migration", "BEGIN"));
    auto apply = [&, version = version, name = name, body = body]() -> Status {
      TREU_ASSIGN_OR_RETURN(Rows done, conn.Query("check migration",
                                                  "SELECT 1 FROM schema_migrations WHERE "
                                                  "version = $1::integer",
                                                  Params().Add(std::int64_t{version})));
      if (done.size() > 0) return Ok();
      const std::string sql(body);
      if (auto s = conn.Run("migration " + std::string(name), sql.c_str()); !s) return s;
      TREU_ASSIGN_OR_RETURN(
          Rows recorded,
          conn.Query("record migration",
                     "INSERT INTO schema_migrations (version, name, applied_at) VALUES "
                     "($1::integer, $2, $3::bigint)",
                     Params().Add(std::int64_t{version}).Add(name).Add(clock.Now().micros)));
      (void)recorded;
      return Ok();
    };
    if (auto s = apply(); !s) {
      (void)conn.Run("roll back migration", "ROLLBACK");
      return s;
    }
    TREU_RETURN_IF_ERROR(conn.Run("commit migration", "COMMIT"));
  }
  return Ok();
}

// Applies pending migrations while holding the migration lock, so that processes starting
// together apply each migration once.
Status Migrate(Conn& conn, const Clock& clock) {
  TREU_RETURN_IF_ERROR(conn.Run("lock migrations", kMigrationLockSql));
  Status applied = ApplyMigrations(conn, clock);
  Status unlocked = conn.Run("unlock migrations", kMigrationUnlockSql);
  if (!applied) return applied;
  return unlocked;
}

// ---------------------------------------------------------------------------------------------
// Reading rows

constexpr const char* kWorkspaceColumns =
    "id, name, currency, time_zone, retention_basis, activity_window_days, created_at, "
    "purchase_model, allow_private_webhooks, brand_colour";

Result<Workspace> ReadWorkspace(const Rows& r, int i) {
  Workspace w;
  w.id = WorkspaceId{r.Int(i, 0)};
  w.name = r.Text(i, 1);
  if (!r.IsNull(i, 2)) {
    TREU_ASSIGN_OR_RETURN(w.currency, Currency::FromCode(r.View(i, 2)));
  }
  w.time_zone = r.Text(i, 3);
  TREU_ASSIGN_OR_RETURN(w.retention_basis, ParseRetentionBasis(r.View(i, 4)));
  w.activity_window_days = static_cast<int>(r.Int(i, 5));
  w.created_at = Timestamp{r.Int(i, 6)};
  TREU_ASSIGN_OR_RETURN(w.purchase_model, ParsePurchaseModel(r.View(i, 7)));
  w.allow_private_webhooks = r.Int(i, 8) != 0;
  w.brand_colour = r.Text(i, 9);
  return w;
}

// Columns: id, external_id, email, name, country, locale, time_zone, created_at, updated_at.
Customer ReadCustomer(const Rows& r, int i) {
  Customer c;
  c.id = CustomerId{r.Int(i, 0)};
  c.external_id = r.Text(i, 1);
  c.email = r.Text(i, 2);
  c.name = r.Text(i, 3);
  c.country = r.Text(i, 4);
  c.locale = r.Text(i, 5);
  c.time_zone = r.Text(i, 6);
  c.created_at = Timestamp{r.Int(i, 7)};
  c.updated_at = Timestamp{r.Int(i, 8)};
  return c;
}

// Columns from `col`: name, type, value.
Status ReadAttribute(const Rows& r, int i, int col, Customer& c) {
  TREU_ASSIGN_OR_RETURN(c.attributes[r.Text(i, col)],
                        AttributeFromText(r.View(i, col + 1), r.View(i, col + 2)));
  return Ok();
}

// Columns from `col`: channel, granted, source, at.
Status ReadConsent(const Rows& r, int i, int col, Customer& c) {
  TREU_ASSIGN_OR_RETURN(Channel ch, ParseChannel(r.View(i, col)));
  c.consent[ch] = Consent{r.Bool(i, col + 1), r.Text(i, col + 2), Timestamp{r.Int(i, col + 3)}};
  return Ok();
}

// Columns: id, external_id, customer_id, customer external id, placed_at, total_minor,
// currency, status.
Result<Order> ReadOrder(const Rows& r, int i) {
  Order o;
  o.id = OrderId{r.Int(i, 0)};
  o.external_id = r.Text(i, 1);
  o.customer = CustomerId{r.Int(i, 2)};
  o.customer_external_id = r.Text(i, 3);
  o.placed_at = Timestamp{r.Int(i, 4)};
  TREU_ASSIGN_OR_RETURN(Currency currency, Currency::FromCode(r.View(i, 6)));
  o.total = Money{r.Int(i, 5), currency};
  TREU_ASSIGN_OR_RETURN(o.status, ParseOrderStatus(r.View(i, 7)));
  return o;
}

// Columns: id, external_id, customer_id, customer external id, currency, started_at,
// ended_at.
Result<Subscription> ReadSubscription(const Rows& r, int i) {
  Subscription s;
  s.id = SubscriptionId{r.Int(i, 0)};
  s.external_id = r.Text(i, 1);
  s.customer = CustomerId{r.Int(i, 2)};
  s.customer_external_id = r.Text(i, 3);
  TREU_ASSIGN_OR_RETURN(s.currency, Currency::FromCode(r.View(i, 4)));
  s.started_at = Timestamp{r.Int(i, 5)};
  if (!r.IsNull(i, 6)) s.ended_at = Timestamp{r.Int(i, 6)};
  return s;
}

// Columns from `col`: effective_at, plan, interval, amount_minor, quantity, discount_bp,
// status.
Result<SubscriptionState> ReadState(const Rows& r, int i, int col) {
  SubscriptionState st;
  st.effective_at = Timestamp{r.Int(i, col)};
  st.plan = r.Text(i, col + 1);
  TREU_ASSIGN_OR_RETURN(st.interval, ParseBillingInterval(r.View(i, col + 2)));
  st.amount_minor = r.Int(i, col + 3);
  st.quantity = r.Int(i, col + 4);
  st.discount_bp = static_cast<int>(r.Int(i, col + 5));
  TREU_ASSIGN_OR_RETURN(st.status, ParseSubscriptionStatus(r.View(i, col + 6)));
  return st;
}

// Columns: id, type, name, message_id, user_id, anonymous_id, customer_id, timestamp,
// received_at, properties.
Result<Event> ReadEvent(const Rows& r, int i) {
  Event e;
  e.id = EventId{r.Int(i, 0)};
  TREU_ASSIGN_OR_RETURN(e.type, ParseEventType(r.View(i, 1)));
  e.name = r.Text(i, 2);
  e.message_id = r.Text(i, 3);
  e.user_id = r.Text(i, 4);
  e.anonymous_id = r.Text(i, 5);
  if (!r.IsNull(i, 6)) e.customer = CustomerId{r.Int(i, 6)};
  e.timestamp = Timestamp{r.Int(i, 7)};
  e.received_at = Timestamp{r.Int(i, 8)};
  e.properties_json = r.Text(i, 9);
  return e;
}

bool SameProfile(const Customer& a, const Customer& b) {
  if (a.email != b.email || a.name != b.name || a.country != b.country || a.locale != b.locale ||
      a.time_zone != b.time_zone || a.attributes != b.attributes ||
      a.consent.size() != b.consent.size()) {
    return false;
  }
  for (const auto& [ch, c] : a.consent) {
    const auto it = b.consent.find(ch);
    if (it == b.consent.end() || it->second.granted != c.granted || it->second.source != c.source ||
        it->second.at != c.at) {
      return false;
    }
  }
  return true;
}

// The distinct values of `key(item)` in order of first appearance.
template <typename T, typename Key>
std::vector<std::string> DistinctKeys(std::span<const T> items, Key key) {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  seen.reserve(items.size());
  for (const T& item : items) {
    const std::string& k = key(item);
    if (seen.insert(k).second) out.push_back(k);
  }
  return out;
}

ArrayLiteral TextArray(std::span<const std::string> values) {
  ArrayLiteral a;
  for (const auto& v : values) a.Add(v);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Loading by external id (Find* and the merge paths of the write calls)
//
// Lookups by many external ids probe the (workspace_id, external_id) index once per id
// through LATERAL (... LIMIT 1), which the planner can neither flatten into a hash join nor
// turn into a scan of the whole workspace. Such plans looked cheap whenever statistics
// lagged behind the data, which is always the case inside one long import transaction, and
// made every batch rescan what the import had written so far.

constexpr const char* kCustomerColumns =
    "c.id, c.external_id, c.email, c.name, c.country, c.locale, c.time_zone, c.created_at, "
    "c.updated_at";

// The customers of `ws` with these external ids, with attributes and consents, keyed by
// external id. Ids not stored are absent.
Result<std::unordered_map<std::string, Customer>> LoadCustomers(
    Conn& conn, WorkspaceId ws, std::span<const std::string> external_ids) {
  std::unordered_map<std::string, Customer> out;
  if (external_ids.empty()) return out;
  const std::string sql = std::string("SELECT ") + kCustomerColumns +
                          " FROM unnest($2::text[]) AS u(ext), LATERAL (SELECT * FROM customers "
                          "WHERE workspace_id = $1::bigint AND external_id = u.ext LIMIT 1) AS c";
  TREU_ASSIGN_OR_RETURN(Rows rows, conn.Query("load customers", sql.c_str(),
                                              Params().Add(ws.value).Add(TextArray(external_ids))));
  if (rows.size() == 0) return out;
  std::unordered_map<std::int64_t, Customer*> by_id;
  ArrayLiteral ids;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    Customer c = ReadCustomer(rows, i);
    ids.Add(c.id.value);
    const std::int64_t id = c.id.value;
    Customer& stored = out.emplace(c.external_id, std::move(c)).first->second;
    by_id.emplace(id, &stored);
  }
  TREU_ASSIGN_OR_RETURN(Rows attrs,
                        conn.Query("load customer attributes",
                                   "SELECT customer_id, name, type, value FROM "
                                   "customer_attributes WHERE customer_id = ANY($1::bigint[])",
                                   Params().Add(ids)));
  for (int i = 0; i < attrs.size(); ++i) {
    TREU_RETURN_IF_ERROR(ReadAttribute(attrs, i, 1, *by_id.at(attrs.Int(i, 0))));
  }
  TREU_ASSIGN_OR_RETURN(Rows consents,
                        conn.Query("load customer consents",
                                   "SELECT customer_id, channel, granted, source, at FROM "
                                   "customer_consents WHERE customer_id = ANY($1::bigint[])",
                                   Params().Add(ids)));
  for (int i = 0; i < consents.size(); ++i) {
    TREU_RETURN_IF_ERROR(ReadConsent(consents, i, 1, *by_id.at(consents.Int(i, 0))));
  }
  return out;
}

constexpr const char* kOrderColumns =
    "o.id, o.external_id, o.customer_id, c.external_id, o.placed_at, o.total_minor, "
    "o.currency, o.status";
constexpr const char* kOrderByExternalIdSql =
    "SELECT o.id, o.external_id, o.customer_id, o.customer_external_id, o.placed_at, "
    "o.total_minor, o.currency, o.status FROM unnest($2::text[]) AS u(ext), LATERAL (SELECT "
    "o.*, c.external_id AS customer_external_id FROM orders o JOIN customers c ON c.id = "
    "o.customer_id WHERE o.workspace_id = $1::bigint AND o.external_id = u.ext LIMIT 1) AS o";

// The orders of `ws` with these external ids, with refunds (and lines if `with_lines`),
// keyed by external id. Ids not stored are absent.
Result<std::unordered_map<std::string, Order>> LoadOrders(Conn& conn, WorkspaceId ws,
                                                          std::span<const std::string> external_ids,
                                                          bool with_lines) {
  std::unordered_map<std::string, Order> out;
  if (external_ids.empty()) return out;
  TREU_ASSIGN_OR_RETURN(Rows rows, conn.Query("load orders", kOrderByExternalIdSql,
                                              Params().Add(ws.value).Add(TextArray(external_ids))));
  if (rows.size() == 0) return out;
  std::unordered_map<std::int64_t, Order*> by_id;
  ArrayLiteral ids;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(Order o, ReadOrder(rows, i));
    ids.Add(o.id.value);
    const std::int64_t id = o.id.value;
    Order& stored = out.emplace(o.external_id, std::move(o)).first->second;
    by_id.emplace(id, &stored);
  }
  if (with_lines) {
    TREU_ASSIGN_OR_RETURN(Rows lines,
                          conn.Query("load order lines",
                                     "SELECT order_id, product_external_id, quantity, "
                                     "unit_price_minor FROM order_lines WHERE order_id = "
                                     "ANY($1::bigint[]) ORDER BY order_id, line_no",
                                     Params().Add(ids)));
    for (int i = 0; i < lines.size(); ++i) {
      by_id.at(lines.Int(i, 0))
          ->lines.push_back({lines.Text(i, 1), lines.Int(i, 2), lines.Int(i, 3)});
    }
  }
  TREU_ASSIGN_OR_RETURN(Rows refunds,
                        conn.Query("load refunds",
                                   "SELECT order_id, refunded_at, amount_minor FROM refunds "
                                   "WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, "
                                   "refunded_at, amount_minor",
                                   Params().Add(ids)));
  for (int i = 0; i < refunds.size(); ++i) {
    by_id.at(refunds.Int(i, 0))
        ->refunds.push_back({Timestamp{refunds.Int(i, 1)}, refunds.Int(i, 2)});
  }
  return out;
}

constexpr const char* kSubscriptionColumns =
    "s.id, s.external_id, s.customer_id, c.external_id, s.currency, s.started_at, s.ended_at";
constexpr const char* kSubscriptionByExternalIdSql =
    "SELECT s.id, s.external_id, s.customer_id, s.customer_external_id, s.currency, "
    "s.started_at, s.ended_at FROM unnest($2::text[]) AS u(ext), LATERAL (SELECT s.*, "
    "c.external_id AS customer_external_id FROM subscriptions s JOIN customers c ON c.id = "
    "s.customer_id WHERE s.workspace_id = $1::bigint AND s.external_id = u.ext LIMIT 1) AS s";
constexpr const char* kStateColumns =
    "effective_at, plan, \"interval\", amount_minor, quantity, discount_bp, status";

// The subscriptions of `ws` with these external ids, with their history, keyed by external
// id. Ids not stored are absent.
Result<std::unordered_map<std::string, Subscription>> LoadSubscriptions(
    Conn& conn, WorkspaceId ws, std::span<const std::string> external_ids) {
  std::unordered_map<std::string, Subscription> out;
  if (external_ids.empty()) return out;
  TREU_ASSIGN_OR_RETURN(Rows rows, conn.Query("load subscriptions", kSubscriptionByExternalIdSql,
                                              Params().Add(ws.value).Add(TextArray(external_ids))));
  if (rows.size() == 0) return out;
  std::unordered_map<std::int64_t, Subscription*> by_id;
  ArrayLiteral ids;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(Subscription s, ReadSubscription(rows, i));
    ids.Add(s.id.value);
    const std::int64_t id = s.id.value;
    Subscription& stored = out.emplace(s.external_id, std::move(s)).first->second;
    by_id.emplace(id, &stored);
  }
  const std::string history_sql = std::string("SELECT subscription_id, ") + kStateColumns +
                                  " FROM subscription_changes WHERE subscription_id = "
                                  "ANY($1::bigint[]) ORDER BY subscription_id, effective_at";
  TREU_ASSIGN_OR_RETURN(Rows history, conn.Query("load subscription history", history_sql.c_str(),
                                                 Params().Add(ids)));
  for (int i = 0; i < history.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(SubscriptionState st, ReadState(history, i, 1));
    by_id.at(history.Int(i, 0))->history.push_back(std::move(st));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

// The change log of one transaction. Consecutive ids of one entity with one operation
// become one row, a run (docs/decisions/0001). Runs are computed from the ids actually
// written, so a run never covers an id another transaction took from the same sequence.
// Completed runs are buffered and written in batches; the last ones at commit.
class ChangeLog {
 public:
  // Records that `op` was applied to entity `id`, at clock reading `at`.
  void Add(Entity entity, std::int64_t id, ChangeOp op, Timestamp at) {
    if (pending_ && pending_->entity == entity && pending_->op == op && pending_->last + 1 == id) {
      pending_->last = id;
      return;
    }
    Complete();
    pending_ = Run{entity, id, id, op, at};
  }

  // Writes the buffered runs once there are many of them; with `all`, writes every run
  // including the one still growing.
  Status Write(Conn& conn, WorkspaceId ws, bool all) {
    if (all) Complete();
    if (firsts_.empty() || (!all && firsts_.size() < kRunsPerWrite)) return Ok();
    TREU_ASSIGN_OR_RETURN(
        Rows done,
        conn.Query(
            "log changes",
            "INSERT INTO changes (workspace_id, entity, entity_id, last_entity_id, op, "
            "at) SELECT $1::bigint, u.entity, u.first, u.last, u.op, u.at FROM "
            "unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[]) "
            "WITH ORDINALITY AS u(entity, first, last, op, at, n) ORDER BY u.n",
            Params().Add(ws.value).Add(entities_).Add(firsts_).Add(lasts_).Add(ops_).Add(ats_)));
    (void)done;
    entities_ = firsts_ = lasts_ = ops_ = ats_ = ArrayLiteral();
    return Ok();
  }

 private:
  static constexpr std::size_t kRunsPerWrite = 10'000;

  struct Run {
    Entity entity;
    std::int64_t first;
    std::int64_t last;
    ChangeOp op;
    Timestamp at;
  };

  void Complete() {
    if (!pending_) return;
    entities_.Add(EntityName(pending_->entity));
    firsts_.Add(pending_->first);
    lasts_.Add(pending_->last);
    ops_.Add(ChangeOpName(pending_->op));
    ats_.Add(pending_->at.micros);
    pending_.reset();
  }

  ArrayLiteral entities_, firsts_, lasts_, ops_, ats_;
  std::optional<Run> pending_;
};

// Finds the stored customers among the given external ids and creates the others (in the
// order given); returns (external id, id, created) of all of them. The statement's snapshot
// predates its own inserts, so `found` holds exactly the stored ones.
constexpr const char* kResolveCustomersSql =
    "WITH input AS (SELECT u.ext, u.n FROM unnest($2::text[]) WITH ORDINALITY AS u(ext, n)), "
    "found AS MATERIALIZED (SELECT i.ext, c.id FROM input i, LATERAL (SELECT id FROM "
    "  customers WHERE workspace_id = $1::bigint AND external_id = i.ext LIMIT 1) AS c), "
    "ins AS (INSERT INTO customers (workspace_id, external_id, created_at, updated_at) "
    "  SELECT $1::bigint, i.ext, $3::bigint, $3::bigint FROM input i "
    "  WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.ext = i.ext) ORDER BY i.n "
    "  RETURNING id, external_id) "
    "SELECT ext, id, false FROM found UNION ALL SELECT external_id, id, true FROM ins";

// Staging tables for bulk order writes: temporary (private to the session), emptied at each
// commit and before each use.
constexpr const char* kStagingSql =
    "CREATE TEMP TABLE IF NOT EXISTS treu_stage_orders (idx INTEGER NOT NULL, "
    "  external_id TEXT NOT NULL, customer_id BIGINT NOT NULL, placed_at BIGINT NOT NULL, "
    "  total_minor BIGINT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL) "
    "  ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS treu_stage_lines (idx INTEGER NOT NULL, "
    "  line_no INTEGER NOT NULL, product_external_id TEXT NOT NULL, quantity BIGINT NOT NULL, "
    "  unit_price_minor BIGINT NOT NULL) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS treu_stage_refunds (idx INTEGER NOT NULL, "
    "  refunded_at BIGINT NOT NULL, amount_minor BIGINT NOT NULL) ON COMMIT DELETE ROWS; "
    "TRUNCATE pg_temp.treu_stage_orders, pg_temp.treu_stage_lines, pg_temp.treu_stage_refunds";

constexpr const char* kCopyOrdersSql =
    "COPY pg_temp.treu_stage_orders (idx, external_id, customer_id, placed_at, total_minor, "
    "currency, status) FROM STDIN";
constexpr const char* kCopyLinesSql =
    "COPY pg_temp.treu_stage_lines (idx, line_no, product_external_id, quantity, "
    "unit_price_minor) FROM STDIN";
constexpr const char* kCopyRefundsSql =
    "COPY pg_temp.treu_stage_refunds (idx, refunded_at, amount_minor) FROM STDIN";

// Moves the staged orders that are not stored yet into orders, with their lines and refunds
// (ids ascending in staging order); returns (staging idx, id) of each inserted order. Staged
// external ids are distinct.
constexpr const char* kInsertStagedOrdersSql =
    "WITH ins AS (INSERT INTO orders (workspace_id, external_id, customer_id, placed_at, "
    "  total_minor, currency, status) "
    "  SELECT $1::bigint, external_id, customer_id, placed_at, total_minor, currency, status "
    "  FROM pg_temp.treu_stage_orders ORDER BY idx "
    "  ON CONFLICT (workspace_id, external_id) DO NOTHING RETURNING id, external_id), "
    "m AS MATERIALIZED (SELECT s.idx, ins.id FROM ins "
    "  JOIN pg_temp.treu_stage_orders s ON s.external_id = ins.external_id), "
    "l AS (INSERT INTO order_lines (order_id, line_no, product_external_id, quantity, "
    "  unit_price_minor) SELECT m.id, l.line_no, l.product_external_id, l.quantity, "
    "  l.unit_price_minor FROM pg_temp.treu_stage_lines l JOIN m ON m.idx = l.idx), "
    "r AS (INSERT INTO refunds (order_id, refunded_at, amount_minor) "
    "  SELECT DISTINCT m.id, r.refunded_at, r.amount_minor "
    "  FROM pg_temp.treu_stage_refunds r JOIN m ON m.idx = r.idx) "
    "SELECT idx, id FROM m";

constexpr const char* kInsertCustomersSql =
    "INSERT INTO customers (workspace_id, external_id, email, name, country, locale, "
    "time_zone, created_at, updated_at) SELECT $1::bigint, u.ext, u.email, u.name, u.country, "
    "u.locale, u.tz, u.created_at, u.updated_at FROM unnest($2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[]) WITH "
    "ORDINALITY AS u(ext, email, name, country, locale, tz, created_at, updated_at, n) "
    "ORDER BY u.n RETURNING id, external_id";

constexpr const char* kUpdateCustomersSql =
    "UPDATE customers AS c SET email = u.email, name = u.name, country = u.country, "
    "locale = u.locale, time_zone = u.tz, updated_at = u.updated_at FROM unnest($1::bigint[], "
    "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[]) AS u(id, "
    "email, name, country, locale, tz, updated_at) WHERE c.id = u.id";

constexpr const char* kUpsertAttributesSql =
    "INSERT INTO customer_attributes (customer_id, name, type, value) SELECT * FROM "
    "unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) ON CONFLICT (customer_id, name) "
    "DO UPDATE SET type = excluded.type, value = excluded.value";

constexpr const char* kUpsertConsentsSql =
    "INSERT INTO customer_consents (customer_id, channel, granted, source, at) SELECT * FROM "
    "unnest($1::bigint[], $2::text[], $3::boolean[], $4::text[], $5::bigint[]) ON CONFLICT "
    "(customer_id, channel) DO UPDATE SET granted = excluded.granted, source = "
    "excluded.source, at = excluded.at";

constexpr const char* kUpdateOrderStatusSql =
    "UPDATE orders AS o SET status = u.status FROM unnest($1::bigint[], $2::text[]) AS "
    "u(id, status) WHERE o.id = u.id";

constexpr const char* kInsertRefundsSql =
    "INSERT INTO refunds (order_id, refunded_at, amount_minor) SELECT * FROM "
    "unnest($1::bigint[], $2::bigint[], $3::bigint[])";

constexpr const char* kInsertSubscriptionsSql =
    "INSERT INTO subscriptions (workspace_id, external_id, customer_id, currency, started_at, "
    "ended_at) SELECT $1::bigint, u.ext, u.customer_id, u.currency, u.started_at, u.ended_at "
    "FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[]) WITH "
    "ORDINALITY AS u(ext, customer_id, currency, started_at, ended_at, n) ORDER BY u.n "
    "RETURNING id, external_id";

constexpr const char* kUpdateSubscriptionEndSql =
    "UPDATE subscriptions AS s SET ended_at = u.ended_at FROM unnest($1::bigint[], "
    "$2::bigint[]) AS u(id, ended_at) WHERE s.id = u.id";

constexpr const char* kInsertStatesSql =
    "INSERT INTO subscription_changes (subscription_id, effective_at, plan, \"interval\", "
    "amount_minor, quantity, discount_bp, status) SELECT * FROM unnest($1::bigint[], "
    "$2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::integer[], "
    "$8::text[])";

// Inserts the events whose message id is new (the first of repeats within the batch wins);
// returns their ids.
constexpr const char* kInsertEventsSql =
    "WITH ins AS (INSERT INTO events (workspace_id, type, name, message_id, user_id, "
    "  anonymous_id, customer_id, \"timestamp\", received_at, properties) "
    "  SELECT $1::bigint, u.type, u.name, u.message_id, u.user_id, u.anonymous_id, "
    "  u.customer_id, u.ts, u.received_at, u.properties FROM unnest($2::text[], $3::text[], "
    "  $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], "
    "  $10::text[]) WITH ORDINALITY AS u(type, name, message_id, user_id, anonymous_id, "
    "  customer_id, ts, received_at, properties, n) ORDER BY u.n "
    "  ON CONFLICT (workspace_id, message_id) DO NOTHING RETURNING id) "
    "SELECT id FROM ins";

// Sets the currency if the workspace has none; returns the currency stored before and
// whether this statement set it. No row: no such workspace.
constexpr const char* kSetCurrencySql =
    "WITH u AS (UPDATE workspaces SET currency = $2 WHERE id = $1::bigint AND currency IS NULL "
    "  RETURNING id) "
    "SELECT w.currency, (SELECT count(*) FROM u) FROM workspaces w WHERE w.id = $1::bigint";

// Columns: id, external_id, name, price_minor, currency.
Result<Product> ReadProduct(const Rows& r, int i) {
  Product p;
  p.id = ProductId{r.Int(i, 0)};
  p.external_id = r.Text(i, 1);
  p.name = r.Text(i, 2);
  if (!r.IsNull(i, 3)) {
    TREU_ASSIGN_OR_RETURN(Currency cur, Currency::FromCode(r.View(i, 4)));
    p.price = Money{r.Int(i, 3), cur};
  }
  return p;
}

Result<std::optional<Product>> FindProductOn(Conn& conn, WorkspaceId ws, std::string_view ext) {
  TREU_ASSIGN_OR_RETURN(Rows r, conn.Query("find product",
                                           "SELECT id, external_id, name, price_minor, currency "
                                           "FROM products WHERE workspace_id = $1::bigint AND "
                                           "external_id = $2",
                                           Params().Add(ws.value).Add(ext)));
  if (r.size() == 0) return std::optional<Product>();
  TREU_ASSIGN_OR_RETURN(Product p, ReadProduct(r, 0));
  return std::optional<Product>(std::move(p));
}

// Columns: id, workspace_id, kind, status, file_name, bytes_total, bytes_read, rows_read,
// rows_rejected, inserted, updated, unchanged, error, issues, created_at, finished_at.
constexpr const char* kImportJobColumns =
    "id, workspace_id, kind, status, file_name, bytes_total, bytes_read, rows_read, "
    "rows_rejected, inserted, updated, unchanged, error, issues, created_at, finished_at";

constexpr const char* kModelRunColumns =
    "id, workspace_id, model, status, calibration_end, unit_days, params, std_errors, "
    "log_likelihood, customers, evaluations, seconds, error, created_at, finished_at";

Result<ModelRun> ReadModelRun(const Rows& r, int i) {
  ModelRun m;
  m.id = r.Int(i, 0);
  m.workspace = WorkspaceId{r.Int(i, 1)};
  m.model = r.Text(i, 2);
  TREU_ASSIGN_OR_RETURN(m.status, ParseJobStatus(r.View(i, 3)));
  TREU_ASSIGN_OR_RETURN(m.calibration_end, ParseDate(r.View(i, 4)));
  m.unit_days = r.Double(i, 5);
  TREU_ASSIGN_OR_RETURN(m.params, DecodeNamedValues(r.View(i, 6)));
  TREU_ASSIGN_OR_RETURN(m.std_errors, DecodeNamedValues(r.View(i, 7)));
  m.log_likelihood = r.Double(i, 8);
  m.customers = r.Int(i, 9);
  m.evaluations = r.Int(i, 10);
  m.seconds = r.Double(i, 11);
  m.error = r.Text(i, 12);
  m.created_at = Timestamp{r.Int(i, 13)};
  if (!r.IsNull(i, 14)) m.finished_at = Timestamp{r.Int(i, 14)};
  return m;
}

// The parameters $3.. of a model run's insert and update: status, calibration_end, unit_days,
// params, std_errors, log_likelihood, customers, evaluations, seconds, error, finished_at.
void AddModelRunState(Params& p, const ModelRun& m) {
  p.Add(JobStatusName(m.status))
      .Add(FormatDate(m.calibration_end))
      .Add(m.unit_days)
      .Add(EncodeNamedValues(m.params))
      .Add(EncodeNamedValues(m.std_errors))
      .Add(m.log_likelihood)
      .Add(m.customers)
      .Add(m.evaluations)
      .Add(m.seconds)
      .Add(m.error);
  if (m.finished_at) {
    p.Add(m.finished_at->micros);
  } else {
    p.AddNull();
  }
}

Result<ImportJob> ReadImportJob(const Rows& r, int i) {
  ImportJob j;
  j.id = r.Int(i, 0);
  j.workspace = WorkspaceId{r.Int(i, 1)};
  j.kind = r.Text(i, 2);
  TREU_ASSIGN_OR_RETURN(j.status, ParseJobStatus(r.View(i, 3)));
  j.file_name = r.Text(i, 4);
  j.bytes_total = r.Int(i, 5);
  j.bytes_read = r.Int(i, 6);
  j.rows = r.Int(i, 7);
  j.rows_rejected = r.Int(i, 8);
  j.inserted = r.Int(i, 9);
  j.updated = r.Int(i, 10);
  j.unchanged = r.Int(i, 11);
  j.error = r.Text(i, 12);
  j.issues = r.Text(i, 13);
  j.created_at = Timestamp{r.Int(i, 14)};
  if (!r.IsNull(i, 15)) j.finished_at = Timestamp{r.Int(i, 15)};
  return j;
}

// ---- Loyalty rows

std::optional<std::int64_t> OptionalMicros(const std::optional<Timestamp>& t) {
  return t ? std::optional(t->micros) : std::nullopt;
}

std::optional<Timestamp> OptionalTimestamp(const Rows& r, int i, int col) {
  return r.IsNull(i, col) ? std::nullopt : std::optional(Timestamp{r.Int(i, col)});
}

bool ByTimeThenId(const MarketingMessageRow& a, const MarketingMessageRow& b) {
  return std::tie(a.at.micros, a.id) < std::tie(b.at.micros, b.id);
}

// Rows of customer_id, arm, due, outcome, planned.
std::vector<CampaignMember> ReadMembers(const Rows& r) {
  std::vector<CampaignMember> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i)
    out.push_back({CustomerId{r.Int(i, 0)}, static_cast<int>(r.Int(i, 1)), Timestamp{r.Int(i, 2)}, r.Text(i, 3),
                   r.Bool(i, 4)});
  return out;
}

// Adds `v`, or NULL when there is none.
Params& AddOptional(Params& p, std::optional<std::int64_t> v) {
  return v ? p.Add(*v) : p.AddNull();
}

constexpr const char* kLoyaltyMemberColumns =
    "customer_id, available, pending, held, earned, redeemed, transfers, tier, tier_since, "
    "tier_review_at, next_due_at, referral_code, referred_by, enrolled_at, updated_at";

// Row i of "SELECT <kLoyaltyMemberColumns> FROM loyalty_members".
LoyaltyMember ReadLoyaltyMember(const Rows& r, int i, WorkspaceId ws) {
  LoyaltyMember m;
  m.workspace = ws;
  m.customer = CustomerId{r.Int(i, 0)};
  m.available = r.Int(i, 1);
  m.pending = r.Int(i, 2);
  m.held = r.Int(i, 3);
  m.earned = r.Int(i, 4);
  m.redeemed = r.Int(i, 5);
  m.transfers = r.Int(i, 6);
  m.tier = r.Text(i, 7);
  m.tier_since = Timestamp{r.Int(i, 8)};
  m.tier_review_at = OptionalTimestamp(r, i, 9);
  m.next_due_at = OptionalTimestamp(r, i, 10);
  m.referral_code = r.Text(i, 11);
  if (!r.IsNull(i, 12)) m.referred_by = CustomerId{r.Int(i, 12)};
  m.enrolled_at = Timestamp{r.Int(i, 13)};
  m.updated_at = Timestamp{r.Int(i, 14)};
  return m;
}

Result<std::optional<LoyaltyMember>> FindLoyaltyMemberOn(Conn& conn, WorkspaceId ws,
                                                         CustomerId customer) {
  static const std::string kSql =
      std::string("SELECT ") + kLoyaltyMemberColumns +
      " FROM loyalty_members WHERE workspace_id = $1::bigint AND customer_id = $2::bigint";
  TREU_ASSIGN_OR_RETURN(Rows r, conn.Query("find loyalty member", kSql.c_str(),
                                           Params().Add(ws.value).Add(customer.value)));
  if (r.size() == 0) return std::optional<LoyaltyMember>();
  return std::optional<LoyaltyMember>(ReadLoyaltyMember(r, 0, ws));
}

constexpr const char* kLoyaltyTransferColumns =
    "seq, customer_id, id, kind, from_account, to_account, points, requested, reason, source_kind, "
    "source_ref, admin_user_id, at, refers_to, expires_at, pending_until";

// Row i of "SELECT <kLoyaltyTransferColumns> FROM loyalty_transfers".
LoyaltyTransferRecord ReadLoyaltyTransfer(const Rows& r, int i, WorkspaceId ws) {
  LoyaltyTransferRecord t;
  t.seq = r.Int(i, 0);
  t.workspace = ws;
  t.customer = CustomerId{r.Int(i, 1)};
  t.id = r.Text(i, 2);
  t.kind = r.Text(i, 3);
  t.from_account = r.Text(i, 4);
  t.to_account = r.Text(i, 5);
  t.points = r.Int(i, 6);
  t.requested = r.Int(i, 7);
  t.reason = r.Text(i, 8);
  t.source_kind = r.Text(i, 9);
  t.source_ref = r.Text(i, 10);
  if (!r.IsNull(i, 11)) t.admin_user_id = r.Int(i, 11);
  t.at = Timestamp{r.Int(i, 12)};
  t.refers_to = r.Text(i, 13);
  t.expires_at = OptionalTimestamp(r, i, 14);
  t.pending_until = OptionalTimestamp(r, i, 15);
  return t;
}

// Transfers in seq order after `after_seq`, at most `limit` (none: all); only the customer's
// when `customer` is valid.
Result<std::vector<LoyaltyTransferRecord>> ListLoyaltyTransfersOn(
    Conn& conn, WorkspaceId ws, CustomerId customer, std::int64_t after_seq,
    std::optional<std::int64_t> limit) {
  static const std::string kByCustomer = std::string("SELECT ") + kLoyaltyTransferColumns +
                                         " FROM loyalty_transfers WHERE workspace_id = $1::bigint "
                                         "AND customer_id = $2::bigint AND seq > $3::bigint ORDER "
                                         "BY seq LIMIT $4::bigint";
  static const std::string kAll =
      std::string("SELECT ") + kLoyaltyTransferColumns +
      " FROM loyalty_transfers WHERE workspace_id = $1::bigint AND seq > $2::bigint ORDER BY seq "
      "LIMIT $3::bigint";
  Params p;
  p.Add(ws.value);
  if (customer.valid()) p.Add(customer.value);
  p.Add(after_seq);
  AddOptional(p, limit);
  TREU_ASSIGN_OR_RETURN(Rows r,
                        conn.Query("list loyalty transfers",
                                   customer.valid() ? kByCustomer.c_str() : kAll.c_str(), p));
  std::vector<LoyaltyTransferRecord> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadLoyaltyTransfer(r, i, ws));
  return out;
}

constexpr const char* kLoyaltyRewardColumns =
    "id, name, kind, title, points, stock, tiers, segment, details, active, redeemed, created_at, "
    "updated_at";

// Row i of "SELECT <kLoyaltyRewardColumns> FROM loyalty_rewards".
LoyaltyReward ReadLoyaltyReward(const Rows& r, int i, WorkspaceId ws) {
  LoyaltyReward w;
  w.id = r.Int(i, 0);
  w.workspace = ws;
  w.name = r.Text(i, 1);
  w.kind = r.Text(i, 2);
  w.title = r.Text(i, 3);
  w.points = r.Int(i, 4);
  if (!r.IsNull(i, 5)) w.stock = r.Int(i, 5);
  w.tiers = DecodeTierList(r.View(i, 6));
  w.segment = r.Text(i, 7);
  w.details = r.Text(i, 8);
  w.active = r.Bool(i, 9);
  w.redeemed = r.Int(i, 10);
  w.created_at = Timestamp{r.Int(i, 11)};
  w.updated_at = Timestamp{r.Int(i, 12)};
  return w;
}

Result<std::optional<LoyaltyReward>> FindLoyaltyRewardByIdOn(Conn& conn, WorkspaceId ws,
                                                             std::int64_t id) {
  static const std::string kSql =
      std::string("SELECT ") + kLoyaltyRewardColumns +
      " FROM loyalty_rewards WHERE workspace_id = $1::bigint AND id = $2::bigint";
  TREU_ASSIGN_OR_RETURN(Rows r,
                        conn.Query("find reward", kSql.c_str(), Params().Add(ws.value).Add(id)));
  if (r.size() == 0) return std::optional<LoyaltyReward>();
  return std::optional<LoyaltyReward>(ReadLoyaltyReward(r, 0, ws));
}

constexpr const char* kLoyaltyRedemptionColumns =
    "row, id, customer_id, reward_id, points, state, code, created_at, expires_at, closed_at";

// Row i of "SELECT <kLoyaltyRedemptionColumns> FROM loyalty_redemptions".
LoyaltyRedemption ReadLoyaltyRedemption(const Rows& r, int i, WorkspaceId ws) {
  LoyaltyRedemption d;
  d.row = r.Int(i, 0);
  d.id = r.Text(i, 1);
  d.workspace = ws;
  d.customer = CustomerId{r.Int(i, 2)};
  d.reward_id = r.Int(i, 3);
  d.points = r.Int(i, 4);
  d.state = r.Text(i, 5);
  d.code = r.Text(i, 6);
  d.created_at = Timestamp{r.Int(i, 7)};
  d.expires_at = Timestamp{r.Int(i, 8)};
  d.closed_at = OptionalTimestamp(r, i, 9);
  return d;
}

Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemptionOn(Conn& conn, WorkspaceId ws,
                                                                 std::string_view id) {
  static const std::string kSql =
      std::string("SELECT ") + kLoyaltyRedemptionColumns +
      " FROM loyalty_redemptions WHERE workspace_id = $1::bigint AND id = $2";
  TREU_ASSIGN_OR_RETURN(
      Rows r, conn.Query("find redemption", kSql.c_str(), Params().Add(ws.value).Add(id)));
  if (r.size() == 0) return std::optional<LoyaltyRedemption>();
  return std::optional<LoyaltyRedemption>(ReadLoyaltyRedemption(r, 0, ws));
}

// ---- Messaging rows

// ASCII letters lower-cased: email addresses as suppressions store and look them up.
std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Topics as stored: sorted, unique, comma-separated (EncodeTierList). InvalidArgument for an
// empty topic, which the list could not hold.
Result<std::string> EncodeTopics(std::vector<std::string> topics) {
  for (const std::string& t : topics) {
    if (t.empty()) return InvalidArgument("message preferences", "a topic is empty");
  }
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  return EncodeTierList(topics);
}

Status CheckOutboxMessage(WorkspaceId ws, const OutboxMessage& m) {
  if (m.workspace.valid() && m.workspace != ws) {
    return InvalidArgument("message " + m.idempotency_key, "belongs to another workspace");
  }
  if (m.category != "marketing" && m.category != "transactional" && m.category != "confirmation") {
    return InvalidArgument("message " + m.idempotency_key,
                           "category '" + m.category +
                               "' is unknown; one of marketing, transactional, confirmation");
  }
  return Ok();
}

Status CheckMessagingSettings(const MessagingSettingsRecord& s) {
  if (s.transport != "file" && s.transport != "smtp") {
    return InvalidArgument("messaging settings",
                           "transport '" + s.transport + "' is unknown; one of file, smtp");
  }
  if (s.smtp_tls != "none" && s.smtp_tls != "starttls" && s.smtp_tls != "tls") {
    return InvalidArgument("messaging settings",
                           "smtp_tls '" + s.smtp_tls + "' is unknown; one of none, starttls, tls");
  }
  return Ok();
}

// The outcome states FinishMessage writes.
Status CheckMessageOutcome(const MessageOutcome& o) {
  switch (o.state) {
    case MessageState::kSent:
    case MessageState::kQueued:
    case MessageState::kBounced:
    case MessageState::kFailed:
    case MessageState::kSuppressed:
      return Ok();
    default:
      return InvalidArgument("message " + std::to_string(o.id),
                             "an attempt cannot end as " + std::string(MessageStateName(o.state)));
  }
}

// The field of `c` that counts messages in `state`.
std::int64_t& CountOf(MessageCounts& c, MessageState state) {
  switch (state) {
    case MessageState::kQueued: return c.queued;
    case MessageState::kSending: return c.sending;
    case MessageState::kSent: return c.sent;
    case MessageState::kBounced: return c.bounced;
    case MessageState::kFailed: return c.failed;
    case MessageState::kSuppressed: return c.suppressed;
    case MessageState::kCancelled: return c.cancelled;
  }
  return c.cancelled;
}

constexpr const char* kTemplateColumns =
    "id, workspace_id, name, channel, topic, subject, html, body_text, created_at, updated_at, "
    "link_url, layout, endpoint";

// Row i of "SELECT <kTemplateColumns> FROM message_templates".
Result<MessageTemplateRecord> ReadMessageTemplate(const Rows& r, int i) {
  MessageTemplateRecord t;
  t.id = r.Int(i, 0);
  t.workspace = WorkspaceId{r.Int(i, 1)};
  t.name = r.Text(i, 2);
  TREU_ASSIGN_OR_RETURN(t.channel, ParseChannel(r.View(i, 3)));
  t.topic = r.Text(i, 4);
  t.subject = r.Text(i, 5);
  t.html = r.Text(i, 6);
  t.text = r.Text(i, 7);
  t.created_at = Timestamp{r.Int(i, 8)};
  t.updated_at = Timestamp{r.Int(i, 9)};
  t.link_url = r.Text(i, 10);
  t.layout = r.Text(i, 11);
  t.endpoint = r.Text(i, 12);
  return t;
}

Result<std::vector<MessageTemplateRecord>> ReadMessageTemplates(const Rows& r) {
  std::vector<MessageTemplateRecord> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(MessageTemplateRecord t, ReadMessageTemplate(r, i));
    out.push_back(std::move(t));
  }
  return out;
}

// The columns of a message without its bodies (lists), and with them (html, body_text last).
constexpr const char* kOutboxListColumns =
    "id, workspace_id, idempotency_key, channel, customer_id, category, topic, template_id, "
    "campaign, recipient, subject, state, attempts, next_attempt_at, lease_until, claimed_by, "
    "provider_id, last_error, created_at, sent_at";
constexpr const char* kOutboxColumns =
    "id, workspace_id, idempotency_key, channel, customer_id, category, topic, template_id, "
    "campaign, recipient, subject, state, attempts, next_attempt_at, lease_until, claimed_by, "
    "provider_id, last_error, created_at, sent_at, html, body_text";

// Row i of "SELECT <kOutboxColumns>" (bodies) or "SELECT <kOutboxListColumns>" (no bodies).
Result<OutboxMessage> ReadOutboxMessage(const Rows& r, int i, bool bodies) {
  OutboxMessage m;
  m.id = r.Int(i, 0);
  m.workspace = WorkspaceId{r.Int(i, 1)};
  m.idempotency_key = r.Text(i, 2);
  TREU_ASSIGN_OR_RETURN(m.channel, ParseChannel(r.View(i, 3)));
  m.customer = CustomerId{r.Int(i, 4)};
  m.category = r.Text(i, 5);
  m.topic = r.Text(i, 6);
  m.template_id = r.Int(i, 7);
  m.campaign = r.Text(i, 8);
  m.recipient = r.Text(i, 9);
  m.subject = r.Text(i, 10);
  TREU_ASSIGN_OR_RETURN(m.state, ParseMessageState(r.View(i, 11)));
  m.attempts = static_cast<int>(r.Int(i, 12));
  m.next_attempt_at = Timestamp{r.Int(i, 13)};
  m.lease_until = Timestamp{r.Int(i, 14)};
  m.claimed_by = r.Text(i, 15);
  m.provider_id = r.Text(i, 16);
  m.last_error = r.Text(i, 17);
  m.created_at = Timestamp{r.Int(i, 18)};
  m.sent_at = OptionalTimestamp(r, i, 19);
  if (bodies) {
    m.html = r.Text(i, 20);
    m.text = r.Text(i, 21);
  }
  return m;
}

Result<std::vector<OutboxMessage>> ReadOutboxMessages(const Rows& r, bool bodies) {
  std::vector<OutboxMessage> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(OutboxMessage m, ReadOutboxMessage(r, i, bodies));
    out.push_back(std::move(m));
  }
  return out;
}

// Which of a MessageFilter's fields filter: bit 0 customer, bit 1 campaign, bit 2 state.
int MessageFilterBits(const MessageFilter& f) {
  return (f.customer.valid() ? 1 : 0) | (f.campaign.empty() ? 0 : 2) | (f.state ? 4 : 0);
}

// " AND customer_id = $n AND campaign = $n+1 AND state = $n+2", as far as `bits` say, numbered
// from `*next`, which is advanced.
std::string MessageFilterSql(int bits, int* next) {
  std::string sql;
  if (bits & 1) sql += " AND customer_id = $" + std::to_string((*next)++) + "::bigint";
  if (bits & 2) sql += " AND campaign = $" + std::to_string((*next)++);
  if (bits & 4) sql += " AND state = $" + std::to_string((*next)++);
  return sql;
}

// Adds the filter's values in the order of MessageFilterSql.
void AddMessageFilter(Params& p, const MessageFilter& f) {
  if (f.customer.valid()) p.Add(f.customer.value);
  if (!f.campaign.empty()) p.Add(f.campaign);
  if (f.state) p.Add(MessageStateName(*f.state));
}

// One statement text per filter combination, so that each is planned with its index.
const char* ListMessagesSql(int bits) {
  static const std::array<std::string, 8> kSql = [] {
    std::array<std::string, 8> out;
    for (int b = 0; b < 8; ++b) {
      int next = 2;
      std::string sql = std::string("SELECT ") + kOutboxListColumns +
                        " FROM outbox WHERE workspace_id = $1::bigint" + MessageFilterSql(b, &next);
      sql += " AND id < $" + std::to_string(next) + "::bigint ORDER BY id DESC LIMIT $" +
             std::to_string(next + 1) + "::bigint";
      out[static_cast<std::size_t>(b)] = std::move(sql);
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
}

// Cancels the queued messages of workspace $1 that match the filter (customer, campaign from
// $3) and writes their "cancelled" log lines at $2; returns how many.
const char* CancelMessagesSql(int bits) {
  static const std::array<std::string, 4> kSql = [] {
    std::array<std::string, 4> out;
    for (int b = 0; b < 4; ++b) {
      int next = 3;
      // Campaigns' planned messages matching the filter are cancelled with them (their members).
      std::string members = "p AS (UPDATE campaign_members SET planned = false, outcome = 'cancelled' WHERE "
                            "workspace_id = $1::bigint AND planned";
      if (b & 1) members += " AND customer_id = $3::bigint";
      if (b & 2)
        members += std::string(" AND campaign_id = (SELECT id FROM campaigns WHERE workspace_id = $1::bigint AND "
                               "name = $") + ((b & 1) ? "4" : "3") + ")";
      members += " RETURNING 1)";
      out[static_cast<std::size_t>(b)] =
          "WITH u AS (UPDATE outbox SET state = 'cancelled' WHERE workspace_id = $1::bigint" +
          MessageFilterSql(b, &next) +
          " AND state = 'queued' RETURNING id, customer_id), l AS (INSERT INTO message_log "
          "(workspace_id, message_id, customer_id, kind, at, detail) SELECT $1::bigint, id, "
          "customer_id, 'cancelled', $2::bigint, '' FROM u ORDER BY id), " + members +
          " SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM p)";
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
}

// Inserts messages of workspace $1 created at $2 in the order given (one array per column from
// $3), skipping keys the workspace has, with a "queued" log line for each inserted; returns
// how many were inserted.
constexpr const char* kEnqueueMessagesSql =
    "WITH ins AS (INSERT INTO outbox (workspace_id, idempotency_key, channel, customer_id, "
    "category, topic, template_id, campaign, recipient, subject, html, body_text, state, attempts, "
    "next_attempt_at, lease_until, claimed_by, provider_id, last_error, created_at) SELECT "
    "$1::bigint, u.k, u.channel, u.customer, u.category, u.topic, u.template, u.campaign, "
    "u.recipient, u.subject, u.html, u.body, 'queued', 0, u.due, 0, '', '', '', $2::bigint FROM "
    "unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::bigint[], $9::text[], "
    "$10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[]) WITH ORDINALITY AS u(k, "
    "channel, customer, category, topic, template, campaign, recipient, subject, html, body, due, "
    "n) ORDER BY u.n ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING id, "
    "customer_id), log AS (INSERT INTO message_log (workspace_id, message_id, customer_id, kind, "
    "at, detail) SELECT $1::bigint, id, customer_id, 'queued', $2::bigint, '' FROM ins ORDER BY id) "
    "SELECT count(*) FROM ins";

// Messages per EnqueueMessages statement, and about how many bytes of text: a large batch is
// sent in several statements of one transaction.
constexpr std::size_t kEnqueueRows = 2'000;
constexpr std::size_t kEnqueueBytes = std::size_t{16} << 20;

// Claims due messages of channel $1 at time $2, at most $3: the queued ones due and the sending
// ones whose lease lapsed, oldest due first, skipping rows other claimers hold locked. Each
// becomes sending for worker $4 until $5. Returns them (kOutboxColumns) in due order.
const std::string& ClaimMessagesSql() {
  static const std::string kSql = [] {
    std::string cols;  // kOutboxColumns, qualified with the table
    std::string_view rest = kOutboxColumns;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(", ");
      if (!cols.empty()) cols += ", ";
      cols += "o." + std::string(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
    }
    return std::string(
               "WITH queued AS (SELECT id, next_attempt_at AS due FROM outbox WHERE channel = $1 AND "
               "state = 'queued' AND next_attempt_at <= $2::bigint ORDER BY next_attempt_at, id "
               "LIMIT $3::bigint FOR UPDATE SKIP LOCKED), lapsed AS (SELECT id, lease_until AS due "
               "FROM outbox WHERE channel = $1 AND state = 'sending' AND lease_until <= $2::bigint "
               "ORDER BY lease_until, id LIMIT $3::bigint FOR UPDATE SKIP LOCKED), due AS (SELECT "
               "id, due FROM queued UNION ALL SELECT id, due FROM lapsed ORDER BY due, id LIMIT "
               "$3::bigint), claimed AS (UPDATE outbox o SET state = 'sending', claimed_by = $4, "
               "lease_until = $5::bigint, attempts = o.attempts + 1 FROM due WHERE o.id = due.id "
               "RETURNING ") +
           cols + ", due.due AS due) SELECT " + kOutboxColumns + " FROM claimed ORDER BY due, id";
  }();
  return kSql;
}

// Row i of "SELECT id, workspace_id, message_id, customer_id, kind, at, detail FROM message_log".
MessageLogEntry ReadMessageLogEntry(const Rows& r, int i) {
  return {r.Int(i, 0), WorkspaceId{r.Int(i, 1)}, r.Int(i, 2), CustomerId{r.Int(i, 3)},
          r.Text(i, 4), Timestamp{r.Int(i, 5)},   r.Text(i, 6)};
}

// Row i of "SELECT id, customer_id, channel, action, at, ip, user_agent, text_version, source
// FROM consent_records".
Result<ConsentRecord> ReadConsentRecord(const Rows& r, int i, WorkspaceId ws) {
  ConsentRecord c;
  c.id = r.Int(i, 0);
  c.workspace = ws;
  c.customer = CustomerId{r.Int(i, 1)};
  TREU_ASSIGN_OR_RETURN(c.channel, ParseChannel(r.View(i, 2)));
  c.action = r.Text(i, 3);
  c.at = Timestamp{r.Int(i, 4)};
  c.ip = r.Text(i, 5);
  c.user_agent = r.Text(i, 6);
  c.text_version = r.Text(i, 7);
  c.source = r.Text(i, 8);
  return c;
}

// ---- Channel rows

Status CheckPushSubscription(const PushSubscriptionRecord& p) {
  if (p.endpoint.empty()) return InvalidArgument("push subscription", "the endpoint is empty");
  if (!p.customer.valid()) return InvalidArgument("push subscription " + p.endpoint, "no customer");
  return Ok();
}

constexpr const char* kCampaignColumns =
    "id, workspace_id, name, state, segment, where_expr, variants, holdout_permille, test_permille, "
    "winner_metric, test_window, winner, split_key, send_at, local_time, optimize_send_time, goal_window, "
    "last_error, created_at, updated_at, launched_at, test_ends_at, finished_at, survey";

// Row i of "SELECT <kCampaignColumns> FROM campaigns".
Result<CampaignRecord> ReadCampaign(const Rows& r, int i) {
  CampaignRecord c;
  c.id = r.Int(i, 0);
  c.workspace = WorkspaceId{r.Int(i, 1)};
  c.name = r.Text(i, 2);
  TREU_ASSIGN_OR_RETURN(c.state, ParseCampaignState(r.View(i, 3)));
  c.segment = r.Text(i, 4);
  c.where = r.Text(i, 5);
  TREU_ASSIGN_OR_RETURN(c.variants, ParseCampaignVariants(r.View(i, 6)));
  c.holdout_permille = static_cast<int>(r.Int(i, 7));
  c.test_permille = static_cast<int>(r.Int(i, 8));
  c.winner_metric = r.Text(i, 9);
  c.test_window_micros = r.Int(i, 10);
  c.winner = static_cast<int>(r.Int(i, 11));
  c.split_key = r.Text(i, 12);
  c.send_at = OptionalTimestamp(r, i, 13);
  c.local_time = r.Text(i, 14);
  c.optimize_send_time = r.Int(i, 15) != 0;
  c.goal_window_micros = r.Int(i, 16);
  c.last_error = r.Text(i, 17);
  c.created_at = Timestamp{r.Int(i, 18)};
  c.updated_at = Timestamp{r.Int(i, 19)};
  c.launched_at = OptionalTimestamp(r, i, 20);
  c.test_ends_at = OptionalTimestamp(r, i, 21);
  c.finished_at = OptionalTimestamp(r, i, 22);
  c.survey = r.Text(i, 23);
  return c;
}

Result<std::vector<CampaignRecord>> ReadCampaigns(const Rows& r) {
  std::vector<CampaignRecord> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(CampaignRecord c, ReadCampaign(r, i));
    out.push_back(std::move(c));
  }
  return out;
}

// The campaign's fields in column order from workspace_id (SaveCampaign's $1..$23); without
// created_at for UpdateCampaignIf ($1..$22).
Params CampaignParams(const CampaignRecord& c, bool with_created_at) {
  Params p;
  p.Add(c.workspace.value).Add(c.name).Add(CampaignStateName(c.state)).Add(c.segment).Add(c.where)
      .Add(FormatCampaignVariants(c.variants)).Add(std::int64_t{c.holdout_permille})
      .Add(std::int64_t{c.test_permille}).Add(c.winner_metric).Add(c.test_window_micros)
      .Add(std::int64_t{c.winner}).Add(c.split_key);
  AddOptional(p, c.send_at ? std::optional<std::int64_t>(c.send_at->micros) : std::nullopt);
  p.Add(c.local_time).Add(std::int64_t{c.optimize_send_time ? 1 : 0}).Add(c.goal_window_micros).Add(c.last_error);
  if (with_created_at) p.Add(c.created_at.micros);
  p.Add(c.updated_at.micros);
  AddOptional(p, c.launched_at ? std::optional<std::int64_t>(c.launched_at->micros) : std::nullopt);
  AddOptional(p, c.test_ends_at ? std::optional<std::int64_t>(c.test_ends_at->micros) : std::nullopt);
  AddOptional(p, c.finished_at ? std::optional<std::int64_t>(c.finished_at->micros) : std::nullopt);
  p.Add(c.survey);
  return p;
}

Status CheckCampaign(const CampaignRecord& c) { return CheckCampaignRecord(c); }

constexpr const char* kJourneyColumns =
    "id, workspace_id, name, state, version, definition, split_key, change_seq, trigger_cursor, goal_cursor, "
    "last_error, created_at, updated_at";

// Row i of "SELECT <kJourneyColumns> FROM journeys".
JourneyRecord ReadJourney(const Rows& r, int i) {
  JourneyRecord j;
  j.id = r.Int(i, 0);
  j.workspace = WorkspaceId{r.Int(i, 1)};
  j.name = r.Text(i, 2);
  j.state = r.Text(i, 3);
  j.version = static_cast<int>(r.Int(i, 4));
  j.definition = r.Text(i, 5);
  j.split_key = r.Text(i, 6);
  j.change_seq = r.Int(i, 7);
  j.trigger_cursor = r.Int(i, 8);
  j.goal_cursor = r.Int(i, 9);
  j.last_error = r.Text(i, 10);
  j.created_at = Timestamp{r.Int(i, 11)};
  j.updated_at = Timestamp{r.Int(i, 12)};
  return j;
}

std::vector<JourneyRecord> ReadJourneys(const Rows& r) {
  std::vector<JourneyRecord> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadJourney(r, i));
  return out;
}

Status CheckJourney(const JourneyRecord& j) {
  if (j.name.empty()) return InvalidArgument("journey", "a journey needs a name");
  if (j.state != "active" && j.state != "paused")
    return InvalidArgument("journey " + j.name, "state '" + j.state + "' is neither active nor paused");
  if (j.version < 1) return InvalidArgument("journey " + j.name, "versions count from 1");
  if (j.definition.empty()) return InvalidArgument("journey " + j.name, "the definition is empty");
  return Ok();
}

constexpr const char* kJourneyRunColumns =
    "id, journey_id, version, customer_id, zone, step, state, wake_at, entered_at, step_entered_at, ended_at, "
    "steps_executed";

// Row i of "SELECT <kJourneyRunColumns> FROM journey_runs".
JourneyRunRow ReadJourneyRun(const Rows& r, int i) {
  JourneyRunRow run;
  run.id = r.Int(i, 0);
  run.journey_id = r.Int(i, 1);
  run.version = static_cast<int>(r.Int(i, 2));
  run.customer = CustomerId{r.Int(i, 3)};
  run.zone = r.Text(i, 4);
  run.step = static_cast<int>(r.Int(i, 5));
  run.state = r.Text(i, 6);
  run.wake_at = Timestamp{r.Int(i, 7)};
  run.entered_at = Timestamp{r.Int(i, 8)};
  run.step_entered_at = Timestamp{r.Int(i, 9)};
  run.ended_at = Timestamp{r.Int(i, 10)};
  run.steps_executed = r.Int(i, 11);
  return run;
}

std::vector<JourneyRunRow> ReadJourneyRuns(const Rows& r) {
  std::vector<JourneyRunRow> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadJourneyRun(r, i));
  return out;
}

Status CheckJourneyRun(const JourneyRunRow& r) {
  const std::string_view st = r.state;
  if (st != "active" && st != "waiting" && st != "waiting_for_event" && st != "exited" && st != "completed")
    return InvalidArgument("journey run " + std::to_string(r.id), "state '" + r.state + "' is unknown");
  if (!r.customer.valid()) return InvalidArgument("journey run " + std::to_string(r.id), "no customer");
  return Ok();
}

// Which of a JourneyRunFilter's fields filter: bit 0 journey, bit 1 customer, bit 2 inside only.
int JourneyRunFilterBits(const JourneyRunFilter& f) {
  return (f.journey_id != 0 ? 1 : 0) | (f.customer.valid() ? 2 : 0) | (f.inside_only ? 4 : 0);
}

// One statement text per filter combination, so that each is planned with its index: workspace
// $1, then journey and customer as far as the filter has them, then after-id and limit.
const char* ListJourneyRunsSql(int bits) {
  static const std::array<std::string, 8> kSql = [] {
    std::array<std::string, 8> out;
    for (int b = 0; b < 8; ++b) {
      int next = 2;
      std::string sql =
          std::string("SELECT ") + kJourneyRunColumns + " FROM journey_runs WHERE workspace_id = $1::bigint";
      if (b & 1) sql += " AND journey_id = $" + std::to_string(next++) + "::bigint";
      if (b & 2) sql += " AND customer_id = $" + std::to_string(next++) + "::bigint";
      if (b & 4) sql += " AND state IN ('active', 'waiting', 'waiting_for_event')";
      sql += " AND id > $" + std::to_string(next) + "::bigint ORDER BY id LIMIT $" + std::to_string(next + 1) +
             "::bigint";
      out[static_cast<std::size_t>(b)] = std::move(sql);
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
}

// Runs per WriteJourneyRuns statement: a large batch is sent in several statements of one
// transaction.
constexpr std::size_t kJourneyRunRows = 20'000;

Status CheckWebhookEndpoint(const WebhookEndpointRecord& e) {
  if (e.format != "json" && e.format != "slack" && e.format != "discord") {
    return InvalidArgument("webhook endpoint " + e.name,
                           "format '" + e.format + "' is unknown; one of json, slack, discord");
  }
  return Ok();
}

constexpr const char* kPushSubscriptionColumns =
    "id, workspace_id, customer_id, endpoint, p256dh, auth, user_agent, created_at, updated_at";

// Row i of "SELECT <kPushSubscriptionColumns> FROM push_subscriptions".
PushSubscriptionRecord ReadPushSubscription(const Rows& r, int i) {
  PushSubscriptionRecord p;
  p.id = r.Int(i, 0);
  p.workspace = WorkspaceId{r.Int(i, 1)};
  p.customer = CustomerId{r.Int(i, 2)};
  p.endpoint = r.Text(i, 3);
  p.p256dh = r.Text(i, 4);
  p.auth = r.Text(i, 5);
  p.user_agent = r.Text(i, 6);
  p.created_at = Timestamp{r.Int(i, 7)};
  p.updated_at = Timestamp{r.Int(i, 8)};
  return p;
}

std::vector<PushSubscriptionRecord> ReadPushSubscriptions(const Rows& r) {
  std::vector<PushSubscriptionRecord> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadPushSubscription(r, i));
  return out;
}

constexpr const char* kWebhookEndpointColumns =
    "workspace_id, name, url, format, secret_sealed, created_at, updated_at";

// Row i of "SELECT <kWebhookEndpointColumns> FROM webhook_endpoints".
WebhookEndpointRecord ReadWebhookEndpoint(const Rows& r, int i) {
  WebhookEndpointRecord e;
  e.workspace = WorkspaceId{r.Int(i, 0)};
  e.name = r.Text(i, 1);
  e.url = r.Text(i, 2);
  e.format = r.Text(i, 3);
  e.secret_sealed = r.Text(i, 4);
  e.created_at = Timestamp{r.Int(i, 5)};
  e.updated_at = Timestamp{r.Int(i, 6)};
  return e;
}

// Appends transfers in the order given ($1 workspace, then one array per column); returns the
// ids inserted. An id already taken is skipped (the caller undoes the statement).
constexpr const char* kAppendLoyaltyTransfersSql =
    "INSERT INTO loyalty_transfers (workspace_id, customer_id, id, kind, from_account, to_account, "
    "points, requested, reason, source_kind, source_ref, admin_user_id, at, refers_to, expires_at, "
    "pending_until) SELECT $1::bigint, u.customer_id, u.id, u.kind, u.from_account, u.to_account, "
    "u.points, u.requested, u.reason, u.source_kind, u.source_ref, u.admin_user_id, u.at, "
    "u.refers_to, u.expires_at, u.pending_until FROM unnest($2::bigint[], $3::text[], $4::text[], "
    "$5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], "
    "$12::bigint[], $13::bigint[], $14::text[], $15::bigint[], $16::bigint[]) WITH ORDINALITY AS "
    "u(customer_id, id, kind, from_account, to_account, points, requested, reason, source_kind, "
    "source_ref, admin_user_id, at, refers_to, expires_at, pending_until, n) ORDER BY u.n ON "
    "CONFLICT (workspace_id, id) DO NOTHING RETURNING id";

// Inserts a member or replaces its row, unless another member of the workspace has its
// referral code: then nothing (no row returned), and the transaction stays usable.
constexpr const char* kSaveLoyaltyMemberSql =
    "INSERT INTO loyalty_members (workspace_id, customer_id, available, pending, held, earned, "
    "redeemed, transfers, tier, tier_since, tier_review_at, next_due_at, referral_code, "
    "referred_by, enrolled_at, updated_at) SELECT $1::bigint, $2::bigint, $3::bigint, $4::bigint, "
    "$5::bigint, $6::bigint, $7::bigint, $8::bigint, $9, $10::bigint, $11::bigint, $12::bigint, "
    "$13, $14::bigint, $15::bigint, $16::bigint WHERE NOT EXISTS (SELECT 1 FROM loyalty_members "
    "WHERE workspace_id = $1::bigint AND referral_code = $13 AND referral_code <> '' AND "
    "customer_id <> $2::bigint) ON CONFLICT (workspace_id, customer_id) DO UPDATE SET available = "
    "excluded.available, pending = excluded.pending, held = excluded.held, earned = "
    "excluded.earned, redeemed = excluded.redeemed, transfers = excluded.transfers, tier = "
    "excluded.tier, tier_since = excluded.tier_since, tier_review_at = excluded.tier_review_at, "
    "next_due_at = excluded.next_due_at, referral_code = excluded.referral_code, referred_by = "
    "excluded.referred_by, enrolled_at = excluded.enrolled_at, updated_at = excluded.updated_at "
    "RETURNING 1";

// Adds codes to the pool of reward $2 of workspace $1 in the order given ($3), skipping codes
// the workspace has, and raises a limited stock by the number added. Returns whether the
// reward exists and how many codes were added.
constexpr const char* kAddLoyaltyRewardCodesSql =
    "WITH r AS (SELECT id FROM loyalty_rewards   WHERE workspace_id = $1::bigint AND id = "
    "$2::bigint), ins AS (INSERT INTO loyalty_reward_codes (workspace_id, reward_id, code)   "
    "SELECT $1::bigint, r.id, u.code FROM r, unnest($3::text[]) WITH ORDINALITY AS u(code, n)   "
    "ORDER BY u.n ON CONFLICT (workspace_id, code) DO NOTHING RETURNING 1), up AS (UPDATE "
    "loyalty_rewards SET stock = stock + (SELECT count(*) FROM ins)   WHERE workspace_id = "
    "$1::bigint AND id = $2::bigint AND stock IS NOT NULL) SELECT (SELECT count(*) FROM r), "
    "(SELECT count(*) FROM ins)";

// Deletes an order of a workspace by external id with its lines and refunds; returns its id
// (no row: no such order). The foreign keys are checked at the end of the statement, when
// the details are gone too.
constexpr const char* kDeleteOrderSql =
    "WITH o AS MATERIALIZED (SELECT id FROM orders WHERE workspace_id = $1::bigint AND "
    "  external_id = $2), "
    "l AS (DELETE FROM order_lines WHERE order_id IN (SELECT id FROM o)), "
    "r AS (DELETE FROM refunds WHERE order_id IN (SELECT id FROM o)) "
    "DELETE FROM orders WHERE id IN (SELECT id FROM o) RETURNING id";

// As kDeleteOrderSql, for a subscription and its history.
constexpr const char* kDeleteSubscriptionSql =
    "WITH s AS MATERIALIZED (SELECT id FROM subscriptions WHERE workspace_id = $1::bigint AND "
    "  external_id = $2), "
    "h AS (DELETE FROM subscription_changes WHERE subscription_id IN (SELECT id FROM s)) "
    "DELETE FROM subscriptions WHERE id IN (SELECT id FROM s) RETURNING id";

// Erases the personal data of a customer of a workspace (by external id): clears the
// profile, renames the external id to "erased-<id>", deletes attributes, consents,
// anonymous-id links, push subscriptions and events. Returns ('customer', id) for the customer and ('event', id)
// for each deleted event; no row: no such customer.
constexpr const char* kEraseCustomerSql =
    "WITH c AS (UPDATE customers SET external_id = 'erased-' || id::text, email = '', "
    "  name = '', country = '', locale = '', time_zone = '', updated_at = $3::bigint "
    "  WHERE workspace_id = $1::bigint AND external_id = $2 RETURNING id), "
    "a AS (DELETE FROM customer_attributes WHERE customer_id IN (SELECT id FROM c)), "
    "k AS (DELETE FROM customer_consents WHERE customer_id IN (SELECT id FROM c)), "
    "i AS (DELETE FROM identities WHERE workspace_id = $1::bigint AND customer_id IN "
    "  (SELECT id FROM c)), "
    "p AS (DELETE FROM push_subscriptions WHERE workspace_id = $1::bigint AND customer_id IN "
    "  (SELECT id FROM c)), "
    "e AS (DELETE FROM events WHERE workspace_id = $1::bigint AND customer_id IN "
    "  (SELECT id FROM c) RETURNING id) "
    "SELECT 'customer', id FROM c UNION ALL SELECT 'event', id FROM e";

class PostgresWriteTransaction final : public WriteTransaction {
 public:
  PostgresWriteTransaction(Conn& conn, WorkspaceId ws, const Clock& clock)
      : conn_(conn), ws_(ws), clock_(clock) {}
  ~PostgresWriteTransaction() override {
    if (open_) (void)conn_.Run("roll back", "ROLLBACK");
  }

  Result<std::vector<CustomerId>> ResolveCustomers(std::span<const std::string> external_ids,
                                                   Timestamp now) override {
    TREU_RETURN_IF_ERROR(Usable());
    ArrayLiteral unknown;
    std::unordered_set<std::string_view> queued;
    for (const std::string& ext : external_ids) {
      if (!resolved_.contains(ext) && queued.insert(ext).second) unknown.Add(ext);
    }
    if (!unknown.empty()) {
      TREU_ASSIGN_OR_RETURN(Rows rows,
                            conn_.Query("resolve customers", kResolveCustomersSql,
                                        Params().Add(ws_.value).Add(unknown).Add(now.micros)));
      std::vector<std::int64_t> created;
      for (int i = 0; i < rows.size(); ++i) {
        const CustomerId id{rows.Int(i, 1)};
        resolved_[rows.Text(i, 0)] = id;
        if (rows.Bool(i, 2)) created.push_back(id.value);
      }
      LogAll(Entity::kCustomer, std::move(created), ChangeOp::kInsert);
      TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    }
    std::vector<CustomerId> out;
    out.reserve(external_ids.size());
    for (const std::string& ext : external_ids) {
      const auto it = resolved_.find(ext);
      if (it == resolved_.end()) {
        return Internal("postgresql: resolve customers",
                        "customer " + ext + " was neither found nor created");
      }
      out.push_back(it->second);
    }
    return out;
  }

  Result<WriteStats> UpsertCustomers(std::span<const Customer> customers, Timestamp now) override {
    TREU_RETURN_IF_ERROR(Usable());
    WriteStats stats;
    if (customers.empty()) return stats;
    const std::vector<std::string> ext = DistinctKeys(
        customers, [](const Customer& c) -> const std::string& { return c.external_id; });
    TREU_ASSIGN_OR_RETURN(auto stored, LoadCustomers(conn_, ws_, ext));

    // Merge every input in order into the profile so far; write each customer's final
    // profile once.
    struct Pending {
      Customer c;                        // the merged profile so far
      bool existed = false;              // stored before this call
      bool known = false;                // stored, or created earlier in this call
      bool dirty = false;                // the row must be written
      std::set<std::string> attributes;  // attribute names to write
      std::set<Channel> consents;        // consents to write
    };
    std::unordered_map<std::string, Pending> work;
    std::vector<const std::string*> created;  // new customers in order of first appearance
    std::vector<std::pair<const std::string*, ChangeOp>> log;
    for (const Customer& in : customers) {
      auto [it, fresh] = work.try_emplace(in.external_id);
      Pending& p = it->second;
      if (fresh) {
        if (auto s = stored.find(in.external_id); s != stored.end()) {
          p.c = std::move(s->second);
          p.existed = p.known = true;
        }
      }
      Customer merged = p.known ? p.c : Customer{};
      merged.external_id = in.external_id;
      auto take = [](std::string& dst, const std::string& src) {
        if (!src.empty()) dst = src;
      };
      take(merged.email, in.email);
      take(merged.name, in.name);
      take(merged.country, in.country);
      take(merged.locale, in.locale);
      take(merged.time_zone, in.time_zone);
      for (const auto& [k, v] : in.attributes) merged.attributes[k] = v;
      for (const auto& [ch, c] : in.consent) merged.consent[ch] = c;
      if (p.known && SameProfile(p.c, merged)) {
        ++stats.unchanged;
        continue;
      }
      if (p.known) {
        ++stats.updated;
        log.emplace_back(&it->first, ChangeOp::kUpdate);
      } else {
        merged.created_at = in.created_at.micros != 0 ? in.created_at : now;
        p.known = true;
        created.push_back(&it->first);
        ++stats.inserted;
        log.emplace_back(&it->first, ChangeOp::kInsert);
      }
      merged.updated_at = now;
      for (const auto& [k, v] : in.attributes) p.attributes.insert(k);
      for (const auto& [ch, c] : in.consent) p.consents.insert(ch);
      p.dirty = true;
      p.c = std::move(merged);
    }

    if (!created.empty()) {
      ArrayLiteral exts, emails, names, countries, locales, zones, created_at, updated_at;
      for (const std::string* e : created) {
        const Customer& c = work.at(*e).c;
        exts.Add(c.external_id);
        emails.Add(c.email);
        names.Add(c.name);
        countries.Add(c.country);
        locales.Add(c.locale);
        zones.Add(c.time_zone);
        created_at.Add(c.created_at.micros);
        updated_at.Add(c.updated_at.micros);
      }
      TREU_ASSIGN_OR_RETURN(Rows ids, conn_.Query("insert customers", kInsertCustomersSql,
                                                  Params()
                                                      .Add(ws_.value)
                                                      .Add(exts)
                                                      .Add(emails)
                                                      .Add(names)
                                                      .Add(countries)
                                                      .Add(locales)
                                                      .Add(zones)
                                                      .Add(created_at)
                                                      .Add(updated_at)));
      for (int i = 0; i < ids.size(); ++i) {
        const CustomerId id{ids.Int(i, 0)};
        std::string e = ids.Text(i, 1);
        work.at(e).c.id = id;
        resolved_[std::move(e)] = id;
      }
    }

    ArrayLiteral u_ids, u_emails, u_names, u_countries, u_locales, u_zones, u_updated;
    ArrayLiteral a_ids, a_names, a_types, a_values;
    ArrayLiteral k_ids, k_channels, k_granted, k_sources, k_at;
    for (const std::string& e : ext) {
      const Pending& p = work.at(e);
      if (!p.dirty) continue;
      const Customer& c = p.c;
      if (!c.id.valid()) {
        return Internal("postgresql: upsert customers", "customer " + e + " got no id");
      }
      if (p.existed) {
        u_ids.Add(c.id.value);
        u_emails.Add(c.email);
        u_names.Add(c.name);
        u_countries.Add(c.country);
        u_locales.Add(c.locale);
        u_zones.Add(c.time_zone);
        u_updated.Add(c.updated_at.micros);
      }
      for (const std::string& name : p.attributes) {
        const AttributeValue& v = c.attributes.at(name);
        a_ids.Add(c.id.value);
        a_names.Add(name);
        a_types.Add(AttributeTypeName(TypeOf(v)));
        a_values.Add(FormatAttributeValue(v));
      }
      for (const Channel ch : p.consents) {
        const Consent& k = c.consent.at(ch);
        k_ids.Add(c.id.value);
        k_channels.Add(ChannelName(ch));
        k_granted.AddBool(k.granted);
        k_sources.Add(k.source);
        k_at.Add(k.at.micros);
      }
    }
    if (!u_ids.empty()) {
      TREU_ASSIGN_OR_RETURN(Rows done, conn_.Query("update customers", kUpdateCustomersSql,
                                                   Params()
                                                       .Add(u_ids)
                                                       .Add(u_emails)
                                                       .Add(u_names)
                                                       .Add(u_countries)
                                                       .Add(u_locales)
                                                       .Add(u_zones)
                                                       .Add(u_updated)));
      (void)done;
    }
    if (!a_ids.empty()) {
      TREU_ASSIGN_OR_RETURN(
          Rows done, conn_.Query("write customer attributes", kUpsertAttributesSql,
                                 Params().Add(a_ids).Add(a_names).Add(a_types).Add(a_values)));
      (void)done;
    }
    if (!k_ids.empty()) {
      TREU_ASSIGN_OR_RETURN(
          Rows done,
          conn_.Query("write customer consents", kUpsertConsentsSql,
                      Params().Add(k_ids).Add(k_channels).Add(k_granted).Add(k_sources).Add(k_at)));
      (void)done;
    }
    const Timestamp at = clock_.Now();
    for (const auto& [e, op] : log) log_.Add(Entity::kCustomer, work.at(*e).c.id.value, op, at);
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    return stats;
  }

  Result<WriteStats> InsertOrders(std::span<const Order> orders) override {
    TREU_RETURN_IF_ERROR(Usable());
    WriteStats stats;
    if (orders.empty()) return stats;
    // The first order with each external id goes through COPY and one set-based insert;
    // a repeat within the batch is merged afterwards, like an order stored before.
    std::vector<std::size_t> first;
    std::vector<std::size_t> later;
    {
      std::unordered_set<std::string_view> seen;
      seen.reserve(orders.size());
      for (std::size_t i = 0; i < orders.size(); ++i) {
        (seen.insert(orders[i].external_id).second ? first : later).push_back(i);
      }
    }
    CopyRows heads, lines, refunds;
    for (std::size_t k = 0; k < first.size(); ++k) {
      const Order& o = orders[first[k]];
      const auto idx = static_cast<std::int64_t>(k);
      heads.Add(idx)
          .Add(o.external_id)
          .Add(o.customer.value)
          .Add(o.placed_at.micros)
          .Add(o.total.minor)
          .Add(o.total.currency.code())
          .Add(OrderStatusName(o.status))
          .EndRow();
      for (std::size_t j = 0; j < o.lines.size(); ++j) {
        const OrderLine& l = o.lines[j];
        lines.Add(idx)
            .Add(static_cast<std::int64_t>(j))
            .Add(l.product_external_id)
            .Add(l.quantity)
            .Add(l.unit_price_minor)
            .EndRow();
      }
      for (const Refund& r : o.refunds) {
        refunds.Add(idx).Add(r.refunded_at.micros).Add(r.amount_minor).EndRow();
      }
    }
    TREU_RETURN_IF_ERROR(conn_.Run("prepare staging tables", kStagingSql));
    TREU_RETURN_IF_ERROR(conn_.CopyIn("stage orders", kCopyOrdersSql, heads));
    if (!lines.empty()) TREU_RETURN_IF_ERROR(conn_.CopyIn("stage lines", kCopyLinesSql, lines));
    if (!refunds.empty()) {
      TREU_RETURN_IF_ERROR(conn_.CopyIn("stage refunds", kCopyRefundsSql, refunds));
    }
    TREU_ASSIGN_OR_RETURN(Rows inserted, conn_.Query("insert orders", kInsertStagedOrdersSql,
                                                     Params().Add(ws_.value)));
    std::vector<bool> is_new(first.size(), false);
    std::vector<std::int64_t> ids;
    ids.reserve(static_cast<std::size_t>(inserted.size()));
    for (int i = 0; i < inserted.size(); ++i) {
      const std::int64_t idx = inserted.Int(i, 0);
      if (idx < 0 || static_cast<std::size_t>(idx) >= first.size()) {
        return Internal("postgresql: insert orders", "the server returned an unknown row");
      }
      is_new[static_cast<std::size_t>(idx)] = true;
      ids.push_back(inserted.Int(i, 1));
    }
    stats.inserted = inserted.size();
    LogAll(Entity::kOrder, std::move(ids), ChangeOp::kInsert);
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    std::vector<std::size_t> merge = std::move(later);
    for (std::size_t k = 0; k < first.size(); ++k) {
      if (!is_new[k]) merge.push_back(first[k]);
    }
    if (merge.empty()) return stats;
    std::sort(merge.begin(), merge.end());
    std::vector<const Order*> incoming;
    incoming.reserve(merge.size());
    for (const std::size_t i : merge) incoming.push_back(&orders[i]);
    TREU_ASSIGN_OR_RETURN(WriteStats merged, MergeIntoStoredOrders(incoming));
    stats += merged;
    return stats;
  }

  Result<WriteStats> UpsertSubscriptions(std::span<const Subscription> subs) override {
    TREU_RETURN_IF_ERROR(Usable());
    WriteStats stats;
    if (subs.empty()) return stats;
    const std::vector<std::string> ext = DistinctKeys(
        subs, [](const Subscription& s) -> const std::string& { return s.external_id; });
    TREU_ASSIGN_OR_RETURN(auto stored, LoadSubscriptions(conn_, ws_, ext));

    // Merge every input in order; nothing is written until all of them merged without
    // conflict, so a conflict changes nothing.
    struct Pending {
      Subscription s;        // the merged subscription so far
      bool existed = false;  // stored before this call
      bool known = false;    // stored, or created earlier in this call
      bool end_changed = false;
      std::vector<SubscriptionState> added;  // states to insert (for a stored subscription)
    };
    std::unordered_map<std::string, Pending> work;
    std::vector<const std::string*> created;
    std::vector<std::pair<const std::string*, ChangeOp>> log;
    for (const Subscription& in : subs) {
      auto [it, fresh] = work.try_emplace(in.external_id);
      Pending& p = it->second;
      if (fresh) {
        if (auto s = stored.find(in.external_id); s != stored.end()) {
          p.s = std::move(s->second);
          p.existed = p.known = true;
        }
      }
      if (!p.known) {
        p.s = in;
        p.known = true;
        created.push_back(&it->first);
        ++stats.inserted;
        log.emplace_back(&it->first, ChangeOp::kInsert);
        continue;
      }
      if (!(p.s.currency == in.currency)) {
        return Conflict("subscription " + in.external_id,
                        "currency " + std::string(in.currency.code()) +
                            " differs from the stored " + std::string(p.s.currency.code()));
      }
      bool changed = false;
      for (const SubscriptionState& st : in.history) {
        const auto at = std::lower_bound(
            p.s.history.begin(), p.s.history.end(), st.effective_at,
            [](const SubscriptionState& a, Timestamp t) { return a.effective_at < t; });
        if (at != p.s.history.end() && at->effective_at == st.effective_at) {
          if (!(*at == st)) {
            return Conflict(
                "subscription " + in.external_id,
                "a different state is already stored for " + FormatTimestamp(st.effective_at));
          }
          continue;
        }
        p.s.history.insert(at, st);
        if (p.existed) p.added.push_back(st);
        changed = true;
      }
      if (in.ended_at && p.s.ended_at != in.ended_at) {
        p.s.ended_at = in.ended_at;
        p.end_changed = p.existed;
        changed = true;
      }
      if (changed) {
        ++stats.updated;
        log.emplace_back(&it->first, ChangeOp::kUpdate);
      } else {
        ++stats.unchanged;
      }
    }

    if (!created.empty()) {
      ArrayLiteral exts, customers, currencies, started, ended;
      for (const std::string* e : created) {
        const Subscription& s = work.at(*e).s;
        exts.Add(s.external_id);
        customers.Add(s.customer.value);
        currencies.Add(s.currency.code());
        started.Add(s.started_at.micros);
        ended.Add(s.ended_at ? std::optional(s.ended_at->micros) : std::nullopt);
      }
      TREU_ASSIGN_OR_RETURN(Rows ids, conn_.Query("insert subscriptions", kInsertSubscriptionsSql,
                                                  Params()
                                                      .Add(ws_.value)
                                                      .Add(exts)
                                                      .Add(customers)
                                                      .Add(currencies)
                                                      .Add(started)
                                                      .Add(ended)));
      for (int i = 0; i < ids.size(); ++i) {
        work.at(ids.Text(i, 1)).s.id = SubscriptionId{ids.Int(i, 0)};
      }
    }
    ArrayLiteral e_ids, e_at;
    ArrayLiteral h_ids, h_at, h_plan, h_interval, h_amount, h_quantity, h_discount, h_status;
    for (const std::string& e : ext) {
      const Pending& p = work.at(e);
      if (!p.s.id.valid()) {
        return Internal("postgresql: upsert subscriptions", "subscription " + e + " got no id");
      }
      if (p.end_changed) {
        e_ids.Add(p.s.id.value);
        e_at.Add(p.s.ended_at->micros);
      }
      for (const SubscriptionState& st : p.existed ? p.added : p.s.history) {
        h_ids.Add(p.s.id.value);
        h_at.Add(st.effective_at.micros);
        h_plan.Add(st.plan);
        h_interval.Add(BillingIntervalName(st.interval));
        h_amount.Add(st.amount_minor);
        h_quantity.Add(st.quantity);
        h_discount.Add(std::int64_t{st.discount_bp});
        h_status.Add(SubscriptionStatusName(st.status));
      }
    }
    if (!e_ids.empty()) {
      TREU_ASSIGN_OR_RETURN(Rows done, conn_.Query("end subscriptions", kUpdateSubscriptionEndSql,
                                                   Params().Add(e_ids).Add(e_at)));
      (void)done;
    }
    if (!h_ids.empty()) {
      TREU_ASSIGN_OR_RETURN(Rows done, conn_.Query("insert subscription history", kInsertStatesSql,
                                                   Params()
                                                       .Add(h_ids)
                                                       .Add(h_at)
                                                       .Add(h_plan)
                                                       .Add(h_interval)
                                                       .Add(h_amount)
                                                       .Add(h_quantity)
                                                       .Add(h_discount)
                                                       .Add(h_status)));
      (void)done;
    }
    const Timestamp at = clock_.Now();
    for (const auto& [e, op] : log) {
      log_.Add(Entity::kSubscription, work.at(*e).s.id.value, op, at);
    }
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    return stats;
  }

  Result<WriteStats> UpsertProducts(std::span<const Product> products) override {
    TREU_RETURN_IF_ERROR(Usable());
    WriteStats stats;
    for (const Product& p : products) {
      TREU_ASSIGN_OR_RETURN(std::optional<Product> stored, FindProductOn(conn_, ws_, p.external_id));
      if (stored && stored->name == p.name && stored->price == p.price) {
        ++stats.unchanged;
        continue;
      }
      Params params;
      params.Add(ws_.value).Add(p.external_id).Add(p.name);
      if (p.price) {
        params.Add(p.price->minor).Add(p.price->currency.code());
      } else {
        params.AddNull().AddNull();
      }
      TREU_ASSIGN_OR_RETURN(
          Rows r, conn_.Query("upsert product",
                              "INSERT INTO products (workspace_id, external_id, name, price_minor, "
                              "currency) VALUES ($1::bigint, $2, $3, $4::bigint, $5) ON CONFLICT "
                              "(workspace_id, external_id) DO UPDATE SET name = EXCLUDED.name, "
                              "price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency "
                              "RETURNING id",
                              params));
      log_.Add(Entity::kProduct, r.Int(0, 0), stored ? ChangeOp::kUpdate : ChangeOp::kInsert,
               clock_.Now());
      ++(stored ? stats.updated : stats.inserted);
    }
    return stats;
  }

  Result<WriteStats> InsertEvents(std::span<const Event> events) override {
    TREU_RETURN_IF_ERROR(Usable());
    WriteStats stats;
    if (events.empty()) return stats;
    ArrayLiteral types, names, message_ids, user_ids, anonymous_ids, customers, timestamps,
        received, properties;
    for (const Event& e : events) {
      types.Add(EventTypeName(e.type));
      names.Add(e.name);
      message_ids.Add(e.message_id);
      user_ids.Add(e.user_id);
      anonymous_ids.Add(e.anonymous_id);
      customers.Add(e.customer.valid() ? std::optional(e.customer.value) : std::nullopt);
      timestamps.Add(e.timestamp.micros);
      received.Add(e.received_at.micros);
      properties.Add(e.properties_json.empty() ? std::string_view("{}") : e.properties_json);
    }
    TREU_ASSIGN_OR_RETURN(Rows inserted, conn_.Query("insert events", kInsertEventsSql,
                                                     Params()
                                                         .Add(ws_.value)
                                                         .Add(types)
                                                         .Add(names)
                                                         .Add(message_ids)
                                                         .Add(user_ids)
                                                         .Add(anonymous_ids)
                                                         .Add(customers)
                                                         .Add(timestamps)
                                                         .Add(received)
                                                         .Add(properties)));
    std::vector<std::int64_t> ids(static_cast<std::size_t>(inserted.size()));
    for (int i = 0; i < inserted.size(); ++i) ids[static_cast<std::size_t>(i)] = inserted.Int(i, 0);
    stats.inserted = inserted.size();
    stats.unchanged = static_cast<std::int64_t>(events.size()) - stats.inserted;
    LogAll(Entity::kEvent, std::move(ids), ChangeOp::kInsert);
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    return stats;
  }

  Result<bool> LinkAnonymousId(std::string_view anonymous_id, CustomerId customer,
                               Timestamp now) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_ASSIGN_OR_RETURN(CustomerId linked, FindAnonymousId(anonymous_id));
    if (linked.valid()) return linked == customer;
    TREU_ASSIGN_OR_RETURN(
        Rows ins, conn_.Query("link anonymous id",
                              "INSERT INTO identities (workspace_id, anonymous_id, customer_id, "
                              "created_at) VALUES ($1::bigint, $2, $3::bigint, $4::bigint)",
                              Params().Add(ws_.value).Add(anonymous_id).Add(customer.value)
                                  .Add(now.micros)));
    TREU_ASSIGN_OR_RETURN(
        Rows up, conn_.Query("attach anonymous events",
                             "UPDATE events SET customer_id = $3::bigint WHERE workspace_id = "
                             "$1::bigint AND anonymous_id = $2 AND customer_id IS NULL AND "
                             "anonymous_id <> '' RETURNING id",
                             Params().Add(ws_.value).Add(anonymous_id).Add(customer.value)));
    std::vector<std::int64_t> ids;
    for (int i = 0; i < up.size(); ++i) ids.push_back(up.Int(i, 0));
    std::sort(ids.begin(), ids.end());
    LogAll(Entity::kEvent, std::move(ids), ChangeOp::kUpdate);
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    return true;
  }

  Result<CustomerId> FindAnonymousId(std::string_view anonymous_id) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find anonymous id",
                                              "SELECT customer_id FROM identities WHERE "
                                              "workspace_id = $1::bigint AND anonymous_id = $2",
                                              Params().Add(ws_.value).Add(anonymous_id)));
    return CustomerId{r.size() == 0 ? 0 : r.Int(0, 0)};
  }

  Status NoteWorkspaceChanged() override {
    TREU_RETURN_IF_ERROR(Usable());
    log_.Add(Entity::kWorkspace, ws_.value, ChangeOp::kUpdate, clock_.Now());
    return Ok();
  }

  Status SetCurrency(const Currency& currency) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("set currency", kSetCurrencySql,
                                              Params().Add(ws_.value).Add(currency.code())));
    if (r.size() == 0) {
      return NotFound("workspace", "no workspace with id " + std::to_string(ws_.value));
    }
    if (r.Int(0, 1) == 1) {
      log_.Add(Entity::kWorkspace, ws_.value, ChangeOp::kUpdate, clock_.Now());
      return Ok();
    }
    if (r.View(0, 0) == currency.code()) return Ok();
    return FailedPrecondition("currency", "the workspace reports in " + r.Text(0, 0) + ", not " +
                                              std::string(currency.code()));
  }

  Result<bool> DeleteOrder(std::string_view external_id) override {
    TREU_RETURN_IF_ERROR(Usable());
    return DeleteOne("delete order", kDeleteOrderSql, Entity::kOrder, external_id);
  }

  Result<bool> DeleteSubscription(std::string_view external_id) override {
    TREU_RETURN_IF_ERROR(Usable());
    return DeleteOne("delete subscription", kDeleteSubscriptionSql, Entity::kSubscription,
                     external_id);
  }

  Result<bool> DeleteProduct(std::string_view external_id) override {
    TREU_RETURN_IF_ERROR(Usable());
    return DeleteOne("delete product",
                     "DELETE FROM products WHERE workspace_id = $1::bigint AND external_id = $2 "
                     "RETURNING id",
                     Entity::kProduct, external_id);
  }

  Result<bool> EraseCustomer(std::string_view external_id, Timestamp now) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_ASSIGN_OR_RETURN(Rows r,
                          conn_.Query("erase customer", kEraseCustomerSql,
                                      Params().Add(ws_.value).Add(external_id).Add(now.micros)));
    std::optional<std::int64_t> customer;
    std::vector<std::int64_t> events;
    for (int i = 0; i < r.size(); ++i) {
      if (r.View(i, 0) == "customer") {
        customer = r.Int(i, 1);
      } else {
        events.push_back(r.Int(i, 1));
      }
    }
    if (!customer) return false;
    // The external id now names no customer: resolving it again starts a new one.
    resolved_.erase(std::string(external_id));
    log_.Add(Entity::kCustomer, *customer, ChangeOp::kUpdate, clock_.Now());
    LogAll(Entity::kEvent, std::move(events), ChangeOp::kDelete);
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    return true;
  }

  // ---- Loyalty

  Result<std::optional<LoyaltyMember>> FindLoyaltyMember(CustomerId customer) override {
    TREU_RETURN_IF_ERROR(Usable());
    return FindLoyaltyMemberOn(conn_, ws_, customer);
  }

  Status SaveLoyaltyMember(const LoyaltyMember& m) override {
    TREU_RETURN_IF_ERROR(Usable());
    Params p;
    p.Add(ws_.value)
        .Add(m.customer.value)
        .Add(m.available)
        .Add(m.pending)
        .Add(m.held)
        .Add(m.earned)
        .Add(m.redeemed)
        .Add(m.transfers)
        .Add(m.tier)
        .Add(m.tier_since.micros);
    AddOptional(p, OptionalMicros(m.tier_review_at));
    AddOptional(p, OptionalMicros(m.next_due_at));
    p.Add(m.referral_code);
    AddOptional(p, m.referred_by.valid() ? std::optional(m.referred_by.value) : std::nullopt);
    p.Add(m.enrolled_at.micros).Add(m.updated_at.micros);
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("save loyalty member", kSaveLoyaltyMemberSql, p));
    if (r.size() == 0) {
      return AlreadyExists("referral code " + m.referral_code,
                           "another member of the workspace has it");
    }
    return Ok();
  }

  Result<std::optional<LoyaltyMember>> FindLoyaltyMemberByReferralCode(
      std::string_view code) override {
    TREU_RETURN_IF_ERROR(Usable());
    static const std::string kSql =
        std::string("SELECT ") + kLoyaltyMemberColumns +
        " FROM loyalty_members WHERE workspace_id = $1::bigint AND referral_code = $2 AND "
        "referral_code <> ''";
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find referral code", kSql.c_str(), Params().Add(ws_.value).Add(code)));
    if (r.size() == 0) return std::optional<LoyaltyMember>();
    return std::optional<LoyaltyMember>(ReadLoyaltyMember(r, 0, ws_));
  }

  Result<std::vector<LoyaltyTransferRecord>> LoyaltyTransfers(CustomerId customer) override {
    TREU_RETURN_IF_ERROR(Usable());
    if (!customer.valid()) return std::vector<LoyaltyTransferRecord>();
    return ListLoyaltyTransfersOn(conn_, ws_, customer, 0, std::nullopt);
  }

  Status AppendLoyaltyTransfers(std::span<const LoyaltyTransferRecord> transfers) override {
    TREU_RETURN_IF_ERROR(Usable());
    if (transfers.empty()) return Ok();
    ArrayLiteral customers, ids, kinds, froms, tos, points, requested, reasons, source_kinds,
        source_refs, admins, ats, refers_to, expires, pending;
    for (const LoyaltyTransferRecord& t : transfers) {
      customers.Add(t.customer.value);
      ids.Add(t.id);
      kinds.Add(t.kind);
      froms.Add(t.from_account);
      tos.Add(t.to_account);
      points.Add(t.points);
      requested.Add(t.requested);
      reasons.Add(t.reason);
      source_kinds.Add(t.source_kind);
      source_refs.Add(t.source_ref);
      admins.Add(t.admin_user_id);
      ats.Add(t.at.micros);
      refers_to.Add(t.refers_to);
      expires.Add(OptionalMicros(t.expires_at));
      pending.Add(OptionalMicros(t.pending_until));
    }
    // A savepoint, so a taken id (or any failure) undoes this call only and the transaction
    // stays usable.
    TREU_RETURN_IF_ERROR(conn_.Run("append loyalty transfers", "SAVEPOINT loyalty_append"));
    auto inserted = conn_.Query("append loyalty transfers", kAppendLoyaltyTransfersSql,
                                Params()
                                    .Add(ws_.value)
                                    .Add(customers)
                                    .Add(ids)
                                    .Add(kinds)
                                    .Add(froms)
                                    .Add(tos)
                                    .Add(points)
                                    .Add(requested)
                                    .Add(reasons)
                                    .Add(source_kinds)
                                    .Add(source_refs)
                                    .Add(admins)
                                    .Add(ats)
                                    .Add(refers_to)
                                    .Add(expires)
                                    .Add(pending));
    if (inserted && inserted->size() == static_cast<int>(transfers.size())) {
      return conn_.Run("append loyalty transfers", "RELEASE SAVEPOINT loyalty_append");
    }
    TREU_RETURN_IF_ERROR(
        conn_.Run("append loyalty transfers",
                  "ROLLBACK TO SAVEPOINT loyalty_append; RELEASE SAVEPOINT loyalty_append"));
    if (!inserted) return std::unexpected(inserted.error());
    // The first id not inserted: stored before, or given twice.
    std::unordered_map<std::string, int> written;
    for (int i = 0; i < inserted->size(); ++i) ++written[inserted->Text(i, 0)];
    for (const LoyaltyTransferRecord& t : transfers) {
      if (auto it = written.find(t.id); it != written.end() && it->second > 0) {
        --it->second;
        continue;
      }
      return AlreadyExists("loyalty transfer " + t.id, "a transfer with this id is stored");
    }
    return Internal("postgresql: append loyalty transfers", "fewer rows inserted than given");
  }

  Status AddLoyaltyTierChange(const LoyaltyTierChange& c) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_RETURN_IF_ERROR(conn_.Query(
        "add tier change",
        "INSERT INTO loyalty_tier_changes (workspace_id, customer_id, from_tier, to_tier, at, "
        "reason) VALUES ($1::bigint, $2::bigint, $3, $4, $5::bigint, $6)",
        Params()
            .Add(ws_.value)
            .Add(c.customer.value)
            .Add(c.from_tier)
            .Add(c.to_tier)
            .Add(c.at.micros)
            .Add(c.reason)));
    return Ok();
  }

  Status SetLoyaltyProcessedSeq(std::int64_t seq) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("set loyalty processed seq",
                            "UPDATE loyalty_programs SET processed_seq = $2::bigint WHERE "
                            "workspace_id = $1::bigint RETURNING 1",
                            Params().Add(ws_.value).Add(seq)));
    if (r.size() == 0) return NotFound("loyalty program", "the workspace has no loyalty program");
    return Ok();
  }

  Result<std::optional<LoyaltyReward>> FindLoyaltyRewardById(std::int64_t id) override {
    TREU_RETURN_IF_ERROR(Usable());
    return FindLoyaltyRewardByIdOn(conn_, ws_, id);
  }

  Status ChangeLoyaltyRewardStock(std::int64_t reward_id, std::int64_t stock_delta,
                                  std::int64_t redeemed_delta) override {
    TREU_RETURN_IF_ERROR(Usable());
    // An unlimited stock is NULL and stays NULL.
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("change reward stock",
                    "UPDATE loyalty_rewards SET stock = stock + $3::bigint, redeemed = redeemed + "
                    "$4::bigint WHERE workspace_id = $1::bigint AND id = $2::bigint AND (stock IS "
                    "NULL OR stock + $3::bigint >= 0) RETURNING 1",
                    Params().Add(ws_.value).Add(reward_id).Add(stock_delta).Add(redeemed_delta)));
    if (r.size() > 0) return Ok();
    TREU_ASSIGN_OR_RETURN(auto reward, FindLoyaltyRewardByIdOn(conn_, ws_, reward_id));
    if (!reward) return NotFound("reward " + std::to_string(reward_id), "no such reward");
    return FailedPrecondition("reward", "out of stock");
  }

  Result<std::optional<std::string>> ClaimLoyaltyRewardCode(
      std::int64_t reward_id, std::string_view redemption_id) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("claim reward code",
                    "UPDATE loyalty_reward_codes SET redemption_id = $3 WHERE row = (SELECT row "
                    "FROM loyalty_reward_codes WHERE workspace_id = $1::bigint AND reward_id = "
                    "$2::bigint AND redemption_id IS NULL ORDER BY row LIMIT 1) RETURNING code",
                    Params().Add(ws_.value).Add(reward_id).Add(redemption_id)));
    if (r.size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.Text(0, 0));
  }

  Status ReturnLoyaltyRewardCode(std::int64_t reward_id, std::string_view code) override {
    TREU_RETURN_IF_ERROR(Usable());
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("return reward code",
                            "UPDATE loyalty_reward_codes SET redemption_id = NULL WHERE "
                            "workspace_id = $1::bigint AND reward_id = $2::bigint AND code = $3 "
                            "RETURNING 1",
                            Params().Add(ws_.value).Add(reward_id).Add(code)));
    if (r.size() == 0) {
      return NotFound("reward code " + std::string(code),
                      "not in the pool of reward " + std::to_string(reward_id));
    }
    return Ok();
  }

  Status SaveLoyaltyRedemption(const LoyaltyRedemption& d) override {
    TREU_RETURN_IF_ERROR(Usable());
    Params p;
    p.Add(ws_.value)
        .Add(d.id)
        .Add(d.customer.value)
        .Add(d.reward_id)
        .Add(d.points)
        .Add(d.state)
        .Add(d.code)
        .Add(d.created_at.micros)
        .Add(d.expires_at.micros);
    AddOptional(p, OptionalMicros(d.closed_at));
    TREU_RETURN_IF_ERROR(conn_.Query("save redemption",
                                     "INSERT INTO loyalty_redemptions (workspace_id, id, "
                                     "customer_id, reward_id, points, state, code, created_at, "
                                     "expires_at, closed_at) VALUES ($1::bigint, $2, $3::bigint, "
                                     "$4::bigint, $5::bigint, $6, $7, $8::bigint, $9::bigint, "
                                     "$10::bigint) ON CONFLICT (workspace_id, id) DO UPDATE SET "
                                     "customer_id = excluded.customer_id, reward_id = "
                                     "excluded.reward_id, points = excluded.points, state = "
                                     "excluded.state, code = excluded.code, created_at = "
                                     "excluded.created_at, expires_at = excluded.expires_at, "
                                     "closed_at = excluded.closed_at",
                                     p));
    return Ok();
  }

  Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemption(std::string_view id) override {
    TREU_RETURN_IF_ERROR(Usable());
    return FindLoyaltyRedemptionOn(conn_, ws_, id);
  }

  Status Commit() override {
    if (!open_) return FailedPrecondition("commit", "the transaction is not open");
    open_ = false;
    if (conn_.TxStatus() == PQTRANS_INERROR) {
      (void)conn_.Run("roll back", "ROLLBACK");
      return FailedPrecondition("commit",
                                "a statement of this transaction failed; it was "
                                "rolled back");
    }
    if (auto logged = log_.Write(conn_, ws_, /*all=*/true); !logged) {
      (void)conn_.Run("roll back", "ROLLBACK");
      return logged;
    }
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("commit", "COMMIT"));
    // The server answers ROLLBACK when it could not commit.
    if (r.Tag() != "COMMIT") {
      return Internal("postgresql: commit", "the server rolled the transaction back");
    }
    return Ok();
  }

  // Starts the transaction and takes the workspace's advisory lock (waiting up to the lock
  // timeout for another writer of the workspace).
  Status Begin() {
    TREU_RETURN_IF_ERROR(conn_.Run("begin write", kBeginWriteSql));
    open_ = true;
    auto locked = conn_.Query("lock workspace " + std::to_string(ws_.value),
                              "SELECT pg_advisory_xact_lock($1::bigint)", Params().Add(ws_.value));
    if (!locked) {
      open_ = false;
      (void)conn_.Run("roll back", "ROLLBACK");
      return std::unexpected(locked.error());
    }
    return Ok();
  }

 private:
  Status Usable() const {
    if (!open_) {
      return FailedPrecondition("write transaction", "already committed or rolled back");
    }
    if (conn_.TxStatus() == PQTRANS_INERROR) {
      return FailedPrecondition("write transaction",
                                "a statement failed earlier; roll back and retry");
    }
    return Ok();
  }

  // Applies orders whose external id is stored (before this call or by an earlier order of
  // it): a changed status and refunds not yet stored. In input order.
  Result<WriteStats> MergeIntoStoredOrders(const std::vector<const Order*>& incoming) {
    std::vector<std::string> ext;
    {
      std::unordered_set<std::string_view> seen;
      for (const Order* o : incoming) {
        if (seen.insert(o->external_id).second) ext.push_back(o->external_id);
      }
    }
    TREU_ASSIGN_OR_RETURN(auto stored, LoadOrders(conn_, ws_, ext, /*with_lines=*/false));
    WriteStats stats;
    std::map<std::int64_t, OrderStatus> new_status;
    ArrayLiteral r_ids, r_at, r_amounts;
    std::vector<std::int64_t> updated;
    for (const Order* in : incoming) {
      const auto it = stored.find(in->external_id);
      if (it == stored.end()) {
        return Internal("postgresql: insert orders",
                        "order " + in->external_id + " is neither new nor stored");
      }
      Order& s = it->second;
      bool changed = false;
      if (s.status != in->status) {
        s.status = in->status;
        new_status[s.id.value] = in->status;
        changed = true;
      }
      std::int64_t refunded = 0;
      for (const Refund& r : s.refunds) refunded += r.amount_minor;
      for (const Refund& r : in->refunds) {
        const bool known = std::any_of(s.refunds.begin(), s.refunds.end(), [&](const Refund& x) {
          return x.refunded_at == r.refunded_at && x.amount_minor == r.amount_minor;
        });
        if (known) continue;
        refunded += r.amount_minor;
        if (refunded > s.total.minor) {
          return InvalidArgument("refunded_total",
                                 "refunds of order " + in->external_id + " would exceed its total");
        }
        s.refunds.push_back(r);
        r_ids.Add(s.id.value);
        r_at.Add(r.refunded_at.micros);
        r_amounts.Add(r.amount_minor);
        changed = true;
      }
      if (changed) {
        ++stats.updated;
        updated.push_back(s.id.value);
      } else {
        ++stats.unchanged;
      }
    }
    if (!new_status.empty()) {
      ArrayLiteral ids, statuses;
      for (const auto& [id, status] : new_status) {
        ids.Add(id);
        statuses.Add(OrderStatusName(status));
      }
      TREU_ASSIGN_OR_RETURN(Rows done, conn_.Query("update order status", kUpdateOrderStatusSql,
                                                   Params().Add(ids).Add(statuses)));
      (void)done;
    }
    if (!r_ids.empty()) {
      TREU_ASSIGN_OR_RETURN(Rows done, conn_.Query("insert refunds", kInsertRefundsSql,
                                                   Params().Add(r_ids).Add(r_at).Add(r_amounts)));
      (void)done;
    }
    const Timestamp at = clock_.Now();
    for (const std::int64_t id : updated) log_.Add(Entity::kOrder, id, ChangeOp::kUpdate, at);
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    return stats;
  }

  // Runs `sql`, a delete of one row of this workspace by external id ($1 workspace, $2
  // external id) returning its id, and logs the delete. False when nothing was deleted.
  Result<bool> DeleteOne(std::string_view what, const char* sql, Entity entity,
                         std::string_view external_id) {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query(what, sql, Params().Add(ws_.value).Add(external_id)));
    if (r.size() == 0) return false;
    log_.Add(entity, r.Int(0, 0), ChangeOp::kDelete, clock_.Now());
    TREU_RETURN_IF_ERROR(log_.Write(conn_, ws_, /*all=*/false));
    return true;
  }

  // Logs `op` on every id, ascending so that consecutive ids form runs.
  void LogAll(Entity entity, std::vector<std::int64_t> ids, ChangeOp op) {
    std::sort(ids.begin(), ids.end());
    const Timestamp at = clock_.Now();
    for (const std::int64_t id : ids) log_.Add(entity, id, op, at);
  }

  Conn& conn_;
  const WorkspaceId ws_;
  const Clock& clock_;
  bool open_ = false;
  ChangeLog log_;
  // Customer ids resolved or created in this transaction, by external id.
  std::unordered_map<std::string, CustomerId> resolved_;
};

// ---------------------------------------------------------------------------------------------

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const Clock& clock) : clock_(clock) {}

  Status Open(const std::string& url) {
    TREU_RETURN_IF_ERROR(conn_.Connect(url));
    // NOTICEs ("relation already exists, skipping") stay off stderr. JIT compilation costs
    // more than it saves on treu's short statements; it kicked in on misestimated row counts
    // of the staging tables and took ~10 % of bulk-insert time.
    TREU_RETURN_IF_ERROR(
        conn_.Run("configure session", "SET client_min_messages = warning; SET jit = off"));
    return Migrate(conn_, clock_);
  }

  std::string_view backend() const override { return "postgresql"; }

  Result<bool> HoldLock(std::string_view name) override {
    TREU_RETURN_IF_ERROR(CheckLockName(name));
    // A session lock in the two-int4 key space, under its own class (the migration lock's + 1).
    // Taken again while held, it is counted, and still let go when the session ends.
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("lock " + std::string(name),
                                              "SELECT pg_try_advisory_lock(1953654134, hashtext($1))",
                                              Params().Add(name)));
    return r.Bool(0, 0);
  }

  Result<std::vector<Customer>> ListCustomers(WorkspaceId ws, const CustomerFilter& filter,
                                              std::int64_t after_id, int limit) override {
    Params p;
    p.Add(ws.value).Add(after_id).Add(filter.email).Add(filter.external_id)
        .Add(filter.updated_since ? filter.updated_since->micros : INT64_MIN)
        .Add(std::int64_t{limit}).Add(filter.text);
    TREU_ASSIGN_OR_RETURN(
        Rows page, conn_.Query("list customers",
                               "SELECT external_id FROM customers WHERE workspace_id = $1::bigint "
                               "AND id > $2::bigint AND ($3 = '' OR email = $3) AND ($4 = '' OR "
                               "external_id = $4) AND updated_at >= $5::bigint AND ($7::text = '' OR "
                               "strpos(lower(external_id), lower($7::text)) > 0 OR "
                               "strpos(lower(coalesce(email, '')), lower($7::text)) > 0 OR "
                               "strpos(lower(coalesce(name, '')), lower($7::text)) > 0) ORDER BY id "
                               "LIMIT $6::bigint",
                               p));
    std::vector<std::string> ids;
    for (int i = 0; i < page.size(); ++i) ids.push_back(page.Text(i, 0));
    TREU_ASSIGN_OR_RETURN(auto loaded, LoadCustomers(conn_, ws, ids));
    std::vector<Customer> out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
      auto it = loaded.find(id);
      if (it != loaded.end()) out.push_back(std::move(it->second));
    }
    return out;
  }

  Result<IdempotencyClaim> ClaimIdempotencyKey(WorkspaceId ws, std::string_view key,
                                               std::string_view request_hash, Timestamp now,
                                               std::int64_t stale_after_micros) override {
    // Insert, or take over a stale in-flight row; otherwise report what is stored. One
    // statement, so two racing requests can't both win.
    Params p;
    p.Add(ws.value).Add(key).Add(request_hash).Add(now.micros).Add(now.micros - stale_after_micros);
    TREU_ASSIGN_OR_RETURN(
        Rows won, conn_.Query("claim idempotency key",
                              "INSERT INTO idempotency_keys (workspace_id, key, request_hash, "
                              "created_at) VALUES ($1::bigint, $2, $3, $4::bigint) ON CONFLICT "
                              "(workspace_id, key) DO UPDATE SET created_at = EXCLUDED.created_at "
                              "WHERE idempotency_keys.status IS NULL AND "
                              "idempotency_keys.request_hash = EXCLUDED.request_hash AND "
                              "idempotency_keys.created_at < $5::bigint RETURNING 1",
                              p));
    if (won.size() == 1) return IdempotencyClaim{};
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("read idempotency key",
                            "SELECT request_hash, status, response FROM idempotency_keys WHERE "
                            "workspace_id = $1::bigint AND key = $2",
                            Params().Add(ws.value).Add(key)));
    IdempotencyClaim claim;
    if (r.size() == 0) return claim;
    if (r.View(0, 0) != request_hash) {
      claim.kind = IdempotencyClaim::Kind::kMismatch;
    } else if (r.IsNull(0, 1)) {
      claim.kind = IdempotencyClaim::Kind::kInFlight;
    } else {
      claim.kind = IdempotencyClaim::Kind::kReplay;
      claim.status = static_cast<int>(r.Int(0, 1));
      claim.response = r.Text(0, 2);
    }
    return claim;
  }

  Status CompleteIdempotencyKey(WorkspaceId ws, std::string_view key, int status,
                                std::string_view response) override {
    if (status == 0) {
      TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("release idempotency key",
                                                "DELETE FROM idempotency_keys WHERE workspace_id "
                                                "= $1::bigint AND key = $2",
                                                Params().Add(ws.value).Add(key)));
      return Ok();
    }
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("complete idempotency key",
                            "UPDATE idempotency_keys SET status = $3::integer, response = $4 "
                            "WHERE workspace_id = $1::bigint AND key = $2",
                            Params().Add(ws.value).Add(key).Add(std::int64_t{status}).Add(response)));
    return Ok();
  }

  Result<ApiKey> CreateApiKey(const ApiKey& key) override {
    Params p;
    p.Add(key.workspace.value).Add(ScopeName(key.scope)).Add(key.prefix).Add(key.hash_hex)
        .Add(key.name).Add(key.created_at.micros).Add(std::int64_t{key.rate_per_minute});
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("create api key",
                            "INSERT INTO api_keys (workspace_id, scope, prefix, hash, name, "
                            "created_at, rate_per_minute) VALUES ($1::bigint, $2, $3, $4, $5, "
                            "$6::bigint, $7::integer) ON CONFLICT (hash) DO NOTHING RETURNING id",
                            p));
    if (r.size() == 0) return AlreadyExists("api key " + key.prefix, "already exists");
    ApiKey out = key;
    out.id = r.Int(0, 0);
    return out;
  }

  Result<std::optional<ApiKey>> FindApiKey(std::string_view hash_hex) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find api key",
                            "SELECT id, workspace_id, scope, prefix, hash, name, created_at, rate_per_minute, "
                            "revoked_at FROM api_keys WHERE hash = $1",
                            Params().Add(hash_hex)));
    if (r.size() == 0) return std::optional<ApiKey>();
    TREU_ASSIGN_OR_RETURN(ApiKey k, ReadApiKeyRow(r, 0));
    return std::optional<ApiKey>(std::move(k));
  }

  Result<std::vector<ApiKey>> ListApiKeys(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list api keys",
                            "SELECT id, workspace_id, scope, prefix, hash, name, created_at, rate_per_minute, "
                            "revoked_at FROM api_keys WHERE workspace_id = $1::bigint ORDER BY id",
                            Params().Add(ws.value)));
    std::vector<ApiKey> out;
    for (int i = 0; i < r.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(ApiKey k, ReadApiKeyRow(r, i));
      out.push_back(std::move(k));
    }
    return out;
  }

  Status RevokeApiKey(WorkspaceId ws, std::int64_t id, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("revoke api key",
                            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1::bigint) "
                            "WHERE workspace_id = $2::bigint AND id = $3::bigint RETURNING id",
                            Params().Add(now.micros).Add(ws.value).Add(id)));
    if (r.size() == 0) return NotFound("key " + std::to_string(id), "no such key in this workspace");
    return Ok();
  }

  static std::vector<DashboardUser> ReadDashboardUserRows(const Rows& r) {
    std::vector<DashboardUser> out;
    for (int i = 0; i < r.size(); ++i) {
      DashboardUser u;
      u.id = r.Int(i, 0);
      u.workspace = WorkspaceId{r.Int(i, 1)};
      u.email = r.Text(i, 2);
      u.name = r.Text(i, 3);
      u.role = r.Text(i, 4);
      u.password_hash = r.Text(i, 5);
      u.locale = r.Text(i, 6);
      u.created_at = Timestamp{r.Int(i, 7)};
      if (!r.IsNull(i, 8)) u.last_login_at = Timestamp{r.Int(i, 8)};
      out.push_back(std::move(u));
    }
    return out;
  }

  static std::optional<DashboardUser> FirstDashboardUser(const Rows& r) {
    auto users = ReadDashboardUserRows(r);
    if (users.empty()) return std::nullopt;
    return std::move(users[0]);
  }

  Result<DashboardUser> CreateDashboardUser(const DashboardUser& u) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("create dashboard user",
                            "INSERT INTO dashboard_users (workspace_id, email, name, role, "
                            "password_hash, locale, created_at) VALUES ($1::bigint, $2, $3, $4, $5, "
                            "$6, $7::bigint) ON CONFLICT (workspace_id, email) DO NOTHING RETURNING id",
                            Params().Add(u.workspace.value).Add(u.email).Add(u.name).Add(u.role)
                                .Add(u.password_hash).Add(u.locale).Add(u.created_at.micros)));
    if (r.size() == 0) return AlreadyExists("user " + u.email, "already exists in this workspace");
    DashboardUser out = u;
    out.id = r.Int(0, 0);
    return out;
  }

  Status UpdateDashboardUser(const DashboardUser& u) override {
    Params p;
    p.Add(u.name).Add(u.role).Add(u.locale).Add(u.password_hash);
    if (u.last_login_at) p.Add(u.last_login_at->micros);
    else p.AddNull();
    p.Add(u.workspace.value).Add(u.id);
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("update dashboard user",
                            "UPDATE dashboard_users SET name = $1, role = $2, locale = $3, "
                            "password_hash = $4, last_login_at = $5::bigint WHERE workspace_id = "
                            "$6::bigint AND id = $7::bigint RETURNING id",
                            p));
    if (r.size() == 0) return NotFound("user " + std::to_string(u.id), "no such user in this workspace");
    return Ok();
  }

  Result<std::optional<DashboardUser>> FindDashboardUser(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find dashboard user",
                            "SELECT id, workspace_id, email, name, role, password_hash, locale, "
                            "created_at, last_login_at FROM dashboard_users WHERE workspace_id = "
                            "$1::bigint AND id = $2::bigint",
                            Params().Add(ws.value).Add(id)));
    return FirstDashboardUser(r);
  }

  Result<std::optional<DashboardUser>> FindDashboardUserByEmail(WorkspaceId ws,
                                                                std::string_view email) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find dashboard user",
                            "SELECT id, workspace_id, email, name, role, password_hash, locale, "
                            "created_at, last_login_at FROM dashboard_users WHERE workspace_id = "
                            "$1::bigint AND email = $2",
                            Params().Add(ws.value).Add(email)));
    return FirstDashboardUser(r);
  }

  Result<std::vector<DashboardUser>> FindDashboardUsersByEmail(std::string_view email) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find dashboard users",
                            "SELECT id, workspace_id, email, name, role, password_hash, locale, "
                            "created_at, last_login_at FROM dashboard_users WHERE email = $1 ORDER BY id",
                            Params().Add(email)));
    return ReadDashboardUserRows(r);
  }

  Result<std::vector<DashboardUser>> ListDashboardUsers(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list dashboard users",
                            "SELECT id, workspace_id, email, name, role, password_hash, locale, "
                            "created_at, last_login_at FROM dashboard_users WHERE workspace_id = "
                            "$1::bigint ORDER BY id",
                            Params().Add(ws.value)));
    return ReadDashboardUserRows(r);
  }

  Status DeleteDashboardUser(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("delete dashboard user",
                            "WITH s AS (DELETE FROM dashboard_sessions WHERE workspace_id = $1::bigint "
                            "AND user_id = $2::bigint) DELETE FROM dashboard_users WHERE workspace_id = "
                            "$1::bigint AND id = $2::bigint RETURNING id",
                            Params().Add(ws.value).Add(id)));
    if (r.size() == 0) return NotFound("user " + std::to_string(id), "no such user in this workspace");
    return Ok();
  }

  Status CreateDashboardSession(const DashboardSession& s) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("create dashboard session",
                            "WITH d AS (DELETE FROM dashboard_sessions WHERE expires_at < $5::bigint) "
                            "INSERT INTO dashboard_sessions (token_hash, user_id, workspace_id, "
                            "csrf_token, created_at, expires_at, last_seen_at, remote, user_agent) "
                            "VALUES ($1, $2::bigint, $3::bigint, $4, $5::bigint, $6::bigint, $7::bigint, "
                            "$8, $9) ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash",
                            Params().Add(s.token_hash).Add(s.user_id).Add(s.workspace.value)
                                .Add(s.csrf_token).Add(s.created_at.micros).Add(s.expires_at.micros)
                                .Add(s.last_seen_at.micros).Add(s.remote).Add(s.user_agent)));
    if (r.size() == 0) return AlreadyExists("session", "already exists");
    return Ok();
  }

  Result<std::optional<DashboardSession>> FindDashboardSession(std::string_view token_hash) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find dashboard session",
                            "SELECT token_hash, user_id, workspace_id, csrf_token, created_at, "
                            "expires_at, last_seen_at, remote, user_agent FROM dashboard_sessions "
                            "WHERE token_hash = $1",
                            Params().Add(token_hash)));
    if (r.size() == 0) return std::optional<DashboardSession>();
    DashboardSession out;
    out.token_hash = r.Text(0, 0);
    out.user_id = r.Int(0, 1);
    out.workspace = WorkspaceId{r.Int(0, 2)};
    out.csrf_token = r.Text(0, 3);
    out.created_at = Timestamp{r.Int(0, 4)};
    out.expires_at = Timestamp{r.Int(0, 5)};
    out.last_seen_at = Timestamp{r.Int(0, 6)};
    out.remote = r.Text(0, 7);
    out.user_agent = r.Text(0, 8);
    return std::optional<DashboardSession>(std::move(out));
  }

  Status TouchDashboardSession(std::string_view token_hash, Timestamp at) override {
    return StatusOf(conn_.Query("touch dashboard session",
                                "UPDATE dashboard_sessions SET last_seen_at = $1::bigint WHERE token_hash = $2",
                                Params().Add(at.micros).Add(token_hash)));
  }

  Status DeleteDashboardSession(std::string_view token_hash) override {
    return StatusOf(conn_.Query("delete dashboard session",
                                "DELETE FROM dashboard_sessions WHERE token_hash = $1",
                                Params().Add(token_hash)));
  }

  Status DeleteDashboardSessions(WorkspaceId ws, std::int64_t user_id) override {
    return StatusOf(conn_.Query("delete dashboard sessions",
                                "DELETE FROM dashboard_sessions WHERE workspace_id = $1::bigint AND "
                                "user_id = $2::bigint",
                                Params().Add(ws.value).Add(user_id)));
  }

  static Result<ApiKey> ReadApiKeyRow(const Rows& r, int i) {
    ApiKey k;
    k.id = r.Int(i, 0);
    k.workspace = WorkspaceId{r.Int(i, 1)};
    TREU_ASSIGN_OR_RETURN(k.scope, ParseScope(r.View(i, 2)));
    k.prefix = r.Text(i, 3);
    k.hash_hex = r.Text(i, 4);
    k.name = r.Text(i, 5);
    k.created_at = Timestamp{r.Int(i, 6)};
    k.rate_per_minute = static_cast<int>(r.Int(i, 7));
    if (!r.IsNull(i, 8)) k.revoked_at = Timestamp{r.Int(i, 8)};
    return k;
  }

  Result<Workspace> FindWorkspace(std::string_view name) override {
    const std::string sql =
        std::string("SELECT ") + kWorkspaceColumns + " FROM workspaces WHERE name = $1";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find workspace", sql.c_str(), Params().Add(name)));
    if (r.size() == 0) return NotFound("workspace " + std::string(name), "no such workspace");
    return ReadWorkspace(r, 0);
  }

  Result<Workspace> CreateWorkspace(const Workspace& w) override {
    Params p;
    p.Add(w.name);
    if (w.currency) {
      p.Add(w.currency->code());
    } else {
      p.AddNull();
    }
    p.Add(w.time_zone)
        .Add(RetentionBasisName(w.retention_basis))
        .Add(std::int64_t{w.activity_window_days})
        .Add(w.created_at.micros)
        .Add(EntityName(Entity::kWorkspace))
        .Add(ChangeOpName(ChangeOp::kInsert))
        .Add(clock_.Now().micros)
        .Add(PurchaseModelName(w.purchase_model));
    // One statement, so atomic on its own: the workspace and its first change-log row.
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("create workspace",
                            "WITH w AS (INSERT INTO workspaces (name, currency, time_zone, "
                            "  retention_basis, activity_window_days, created_at, "
                            "  purchase_model) VALUES ($1, $2, $3, $4, $5::integer, "
                            "  $6::bigint, $10) ON CONFLICT (name) DO "
                            "  NOTHING RETURNING id), "
                            "logged AS (INSERT INTO changes (workspace_id, entity, entity_id, "
                            "  last_entity_id, op, at) SELECT id, $7, id, id, $8, $9::bigint "
                            "  FROM w) "
                            "SELECT id FROM w",
                            p));
    if (r.size() == 0) return AlreadyExists("workspace " + w.name, "already exists");
    Workspace out = w;
    out.id = WorkspaceId{r.Int(0, 0)};
    out.allow_private_webhooks = false;
    out.brand_colour.clear();
    return out;
  }

  Result<std::vector<Workspace>> ListWorkspaces() override {
    const std::string sql =
        std::string("SELECT ") + kWorkspaceColumns + " FROM workspaces ORDER BY id";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list workspaces", sql.c_str()));
    std::vector<Workspace> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(Workspace w, ReadWorkspace(r, i));
      out.push_back(std::move(w));
    }
    return out;
  }

  Result<std::unique_ptr<WriteTransaction>> BeginWrite(WorkspaceId ws) override {
    if (conn_.TxStatus() != PQTRANS_IDLE) {
      return FailedPrecondition("begin write", "this store already has a transaction open");
    }
    auto tx = std::make_unique<PostgresWriteTransaction>(conn_, ws, clock_);
    TREU_RETURN_IF_ERROR(tx->Begin());
    return std::unique_ptr<WriteTransaction>(std::move(tx));
  }

  Result<EntityCounts> Counts(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("count rows",
                    "SELECT (SELECT count(*) FROM customers WHERE workspace_id = $1::bigint), "
                    "(SELECT count(*) FROM orders WHERE workspace_id = $1::bigint), "
                    "(SELECT count(*) FROM refunds r JOIN orders o ON o.id = r.order_id "
                    "  WHERE o.workspace_id = $1::bigint), "
                    "(SELECT count(*) FROM subscriptions WHERE workspace_id = $1::bigint), "
                    "(SELECT count(*) FROM subscription_changes h JOIN subscriptions s ON "
                    "  s.id = h.subscription_id WHERE s.workspace_id = $1::bigint), "
                    "(SELECT count(*) FROM events WHERE workspace_id = $1::bigint), "
                    "(SELECT count(*) FROM products WHERE workspace_id = $1::bigint), "
                    "(SELECT count(*) FROM changes WHERE workspace_id = $1::bigint)",
                    Params().Add(ws.value)));
    EntityCounts c;
    c.customers = r.Int(0, 0);
    c.orders = r.Int(0, 1);
    c.refunds = r.Int(0, 2);
    c.subscriptions = r.Int(0, 3);
    c.subscription_changes = r.Int(0, 4);
    c.events = r.Int(0, 5);
    c.products = r.Int(0, 6);
    c.changes = r.Int(0, 7);
    return c;
  }

  Result<std::optional<Customer>> FindCustomer(WorkspaceId ws,
                                               std::string_view external_id) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    const std::string ext(external_id);
    TREU_ASSIGN_OR_RETURN(auto found, LoadCustomers(conn_, ws, std::span(&ext, 1)));
    if (found.empty()) return std::optional<Customer>();
    return std::optional<Customer>(std::move(found.begin()->second));
  }

  Result<std::optional<Product>> FindProduct(WorkspaceId ws, std::string_view external_id) override {
    return FindProductOn(conn_, ws, external_id);
  }

  Result<std::optional<Order>> FindOrder(WorkspaceId ws, std::string_view external_id) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    const std::string ext(external_id);
    TREU_ASSIGN_OR_RETURN(auto found, LoadOrders(conn_, ws, std::span(&ext, 1), true));
    if (found.empty()) return std::optional<Order>();
    return std::optional<Order>(std::move(found.begin()->second));
  }

  Result<std::optional<Subscription>> FindSubscription(WorkspaceId ws,
                                                       std::string_view external_id) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    const std::string ext(external_id);
    TREU_ASSIGN_OR_RETURN(auto found, LoadSubscriptions(conn_, ws, std::span(&ext, 1)));
    if (found.empty()) return std::optional<Subscription>();
    return std::optional<Subscription>(std::move(found.begin()->second));
  }

  Status ScanCustomers(WorkspaceId ws, const std::function<void(const Customer&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    // Merge-join customers with their attributes and consents, all in customer id order.
    const Params p = Params().Add(ws.value);
    CursorStream c(conn_, "treu_scan_rows");
    CursorStream a(conn_, "treu_scan_detail_a");
    CursorStream k(conn_, "treu_scan_detail_b");
    TREU_RETURN_IF_ERROR(c.Open("scan customers",
                                std::string("SELECT ") + kCustomerColumns +
                                    " FROM customers c WHERE c.workspace_id = $1::bigint "
                                    "ORDER BY c.id",
                                p));
    TREU_RETURN_IF_ERROR(a.Open("scan customer attributes",
                                "SELECT a.customer_id, a.name, a.type, a.value FROM "
                                "customer_attributes a JOIN customers c ON c.id = a.customer_id "
                                "WHERE c.workspace_id = $1::bigint ORDER BY a.customer_id",
                                p));
    TREU_RETURN_IF_ERROR(k.Open("scan customer consents",
                                "SELECT k.customer_id, k.channel, k.granted, k.source, k.at FROM "
                                "customer_consents k JOIN customers c ON c.id = k.customer_id "
                                "WHERE c.workspace_id = $1::bigint ORDER BY k.customer_id",
                                p));
    TREU_ASSIGN_OR_RETURN(bool a_row, a.Next());
    TREU_ASSIGN_OR_RETURN(bool k_row, k.Next());
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, c.Next());
      if (!row) break;
      Customer cust = ReadCustomer(c.rows(), c.row());
      while (a_row && a.Int(0) <= cust.id.value) {
        if (a.Int(0) == cust.id.value) {
          TREU_RETURN_IF_ERROR(ReadAttribute(a.rows(), a.row(), 1, cust));
        }
        TREU_ASSIGN_OR_RETURN(a_row, a.Next());
      }
      while (k_row && k.Int(0) <= cust.id.value) {
        if (k.Int(0) == cust.id.value) {
          TREU_RETURN_IF_ERROR(ReadConsent(k.rows(), k.row(), 1, cust));
        }
        TREU_ASSIGN_OR_RETURN(k_row, k.Next());
      }
      f(cust);
    }
    return Ok();
  }

  Status ScanOrders(WorkspaceId ws, const std::function<void(const Order&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    const Params p = Params().Add(ws.value);
    CursorStream o(conn_, "treu_scan_rows");
    CursorStream l(conn_, "treu_scan_detail_a");
    CursorStream r(conn_, "treu_scan_detail_b");
    TREU_RETURN_IF_ERROR(o.Open("scan orders",
                                std::string("SELECT ") + kOrderColumns +
                                    " FROM orders o JOIN customers c ON c.id = o.customer_id "
                                    "WHERE o.workspace_id = $1::bigint ORDER BY o.id",
                                p));
    TREU_RETURN_IF_ERROR(l.Open("scan order lines",
                                "SELECT l.order_id, l.product_external_id, l.quantity, "
                                "l.unit_price_minor FROM order_lines l JOIN orders o ON o.id = "
                                "l.order_id WHERE o.workspace_id = $1::bigint ORDER BY "
                                "l.order_id, l.line_no",
                                p));
    TREU_RETURN_IF_ERROR(r.Open("scan refunds",
                                "SELECT r.order_id, r.refunded_at, r.amount_minor FROM refunds r "
                                "JOIN orders o ON o.id = r.order_id WHERE o.workspace_id = "
                                "$1::bigint ORDER BY r.order_id, r.refunded_at, r.amount_minor",
                                p));
    TREU_ASSIGN_OR_RETURN(bool l_row, l.Next());
    TREU_ASSIGN_OR_RETURN(bool r_row, r.Next());
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, o.Next());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Order ord, ReadOrder(o.rows(), o.row()));
      while (l_row && l.Int(0) <= ord.id.value) {
        if (l.Int(0) == ord.id.value) ord.lines.push_back({l.Text(1), l.Int(2), l.Int(3)});
        TREU_ASSIGN_OR_RETURN(l_row, l.Next());
      }
      while (r_row && r.Int(0) <= ord.id.value) {
        if (r.Int(0) == ord.id.value) ord.refunds.push_back({Timestamp{r.Int(1)}, r.Int(2)});
        TREU_ASSIGN_OR_RETURN(r_row, r.Next());
      }
      f(ord);
    }
    return Ok();
  }

  Status ScanSubscriptions(WorkspaceId ws,
                           const std::function<void(const Subscription&)>& f) override {
    return ScanSubscriptionRange(ws, 0, std::numeric_limits<std::int64_t>::max(), f);
  }

  Status ScanCustomerKeys(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                          const std::function<void(const CustomerKey&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    CursorStream c(conn_, "treu_scan_rows");
    TREU_RETURN_IF_ERROR(c.Open("scan customer keys",
                                "SELECT id, external_id FROM customers WHERE workspace_id = "
                                "$1::bigint AND id BETWEEN $2::bigint AND $3::bigint ORDER BY id",
                                Params().Add(ws.value).Add(first_id).Add(last_id)));
    CustomerKey key;
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, c.Next());
      if (!row) break;
      key.id = CustomerId{c.Int(0)};
      key.external_id = c.Text(1);
      f(key);
    }
    return Ok();
  }

  Status ScanOrderFacts(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                        const std::function<void(const OrderFact&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    CursorStream o(conn_, "treu_scan_rows");
    TREU_RETURN_IF_ERROR(o.Open("scan order facts",
                                "SELECT id, customer_id, placed_at, total_minor, status FROM "
                                "orders WHERE workspace_id = $1::bigint AND id BETWEEN "
                                "$2::bigint AND $3::bigint ORDER BY id",
                                Params().Add(ws.value).Add(first_id).Add(last_id)));
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, o.Next());
      if (!row) break;
      OrderFact fact;
      fact.id = o.Int(0);
      fact.customer = CustomerId{o.Int(1)};
      fact.placed_at = Timestamp{o.Int(2)};
      fact.total_minor = o.Int(3);
      TREU_ASSIGN_OR_RETURN(fact.status, ParseOrderStatus(o.rows().View(o.row(), 4)));
      f(fact);
    }
    return Ok();
  }

  Status ScanRefundFacts(WorkspaceId ws, std::int64_t first_order_id, std::int64_t last_order_id,
                         const std::function<void(const RefundFact&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    CursorStream r(conn_, "treu_scan_rows");
    // The range is stated on both sides of the join: the planner does not carry it over.
    TREU_RETURN_IF_ERROR(r.Open("scan refund facts",
                                "SELECT r.order_id, o.customer_id, r.refunded_at, r.amount_minor "
                                "FROM refunds r JOIN orders o ON o.id = r.order_id WHERE "
                                "o.workspace_id = $1::bigint AND o.id BETWEEN $2::bigint AND "
                                "$3::bigint AND r.order_id BETWEEN $2::bigint AND $3::bigint "
                                "ORDER BY r.order_id, r.refunded_at, r.amount_minor",
                                Params().Add(ws.value).Add(first_order_id).Add(last_order_id)));
    RefundFact fact;
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, r.Next());
      if (!row) break;
      fact.order_id = r.Int(0);
      fact.customer = CustomerId{r.Int(1)};
      fact.refunded_at = Timestamp{r.Int(2)};
      fact.amount_minor = r.Int(3);
      f(fact);
    }
    return Ok();
  }

  Status ScanSubscriptionRange(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                               const std::function<void(const Subscription&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    const Params p = Params().Add(ws.value).Add(first_id).Add(last_id);
    CursorStream s(conn_, "treu_scan_rows");
    CursorStream h(conn_, "treu_scan_detail_a");
    TREU_RETURN_IF_ERROR(s.Open("scan subscriptions",
                                std::string("SELECT ") + kSubscriptionColumns +
                                    " FROM subscriptions s JOIN customers c ON c.id = "
                                    "s.customer_id WHERE s.workspace_id = $1::bigint AND s.id "
                                    "BETWEEN $2::bigint AND $3::bigint ORDER BY s.id",
                                p));
    TREU_RETURN_IF_ERROR(h.Open("scan subscription history",
                                std::string("SELECT h.subscription_id, ") +
                                    "h.effective_at, h.plan, h.\"interval\", h.amount_minor, "
                                    "h.quantity, h.discount_bp, h.status FROM "
                                    "subscription_changes h JOIN subscriptions s ON s.id = "
                                    "h.subscription_id WHERE s.workspace_id = $1::bigint AND "
                                    "s.id BETWEEN $2::bigint AND $3::bigint AND "
                                    "h.subscription_id BETWEEN $2::bigint AND $3::bigint ORDER "
                                    "BY h.subscription_id, h.effective_at",
                                p));
    TREU_ASSIGN_OR_RETURN(bool h_row, h.Next());
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, s.Next());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Subscription sub, ReadSubscription(s.rows(), s.row()));
      while (h_row && h.Int(0) <= sub.id.value) {
        if (h.Int(0) == sub.id.value) {
          TREU_ASSIGN_OR_RETURN(SubscriptionState st, ReadState(h.rows(), h.row(), 1));
          sub.history.push_back(std::move(st));
        }
        TREU_ASSIGN_OR_RETURN(h_row, h.Next());
      }
      f(sub);
    }
    return Ok();
  }

  Status ScanEvents(WorkspaceId ws, const std::function<void(const Event&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    CursorStream e(conn_, "treu_scan_rows");
    TREU_RETURN_IF_ERROR(e.Open("scan events",
                                "SELECT id, type, name, message_id, user_id, anonymous_id, "
                                "customer_id, \"timestamp\", received_at, properties FROM events "
                                "WHERE workspace_id = $1::bigint ORDER BY id",
                                Params().Add(ws.value)));
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, e.Next());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Event ev, ReadEvent(e.rows(), e.row()));
      f(ev);
    }
    return Ok();
  }

  Result<std::vector<Event>> ListEvents(WorkspaceId ws, std::string_view user_id,
                                        std::int64_t after_id, int limit) override {
    // Two statements, so one user's events are read by the events_by_user index.
    static constexpr const char* kAll =
        "SELECT id, type, name, message_id, user_id, anonymous_id, customer_id, \"timestamp\", "
        "received_at, properties FROM events WHERE workspace_id = $1::bigint AND id > $2::bigint "
        "ORDER BY id LIMIT $3::bigint";
    static constexpr const char* kOfUser =
        "SELECT id, type, name, message_id, user_id, anonymous_id, customer_id, \"timestamp\", "
        "received_at, properties FROM events WHERE workspace_id = $1::bigint AND user_id = $4 AND "
        "id > $2::bigint ORDER BY id LIMIT $3::bigint";
    Params params;
    params.Add(ws.value).Add(after_id).Add(static_cast<std::int64_t>(limit));
    if (!user_id.empty()) params.Add(user_id);
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list events", user_id.empty() ? kAll : kOfUser, params));
    std::vector<Event> out;
    for (int i = 0; i < r.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(Event ev, ReadEvent(r, i));
      out.push_back(std::move(ev));
    }
    return out;
  }

  Result<std::vector<Order>> ListOrders(WorkspaceId ws, std::string_view customer,
                                        std::int64_t after_id, int limit) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    TREU_ASSIGN_OR_RETURN(
        Rows page, conn_.Query("list orders",
                               "SELECT external_id FROM orders WHERE workspace_id = $1::bigint "
                               "AND id > $2::bigint AND ($3 = '' OR customer_id = (SELECT id "
                               "FROM customers WHERE workspace_id = $1::bigint AND external_id = "
                               "$3)) ORDER BY id LIMIT $4::bigint",
                               Params().Add(ws.value).Add(after_id).Add(customer).Add(
                                   static_cast<std::int64_t>(limit))));
    std::vector<std::string> ids;
    for (int i = 0; i < page.size(); ++i) ids.push_back(page.Text(i, 0));
    TREU_ASSIGN_OR_RETURN(auto loaded, LoadOrders(conn_, ws, ids, /*with_lines=*/true));
    return InPageOrder(ids, loaded);
  }

  Result<std::vector<Subscription>> ListSubscriptions(WorkspaceId ws, std::string_view customer,
                                                      std::int64_t after_id, int limit) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    TREU_ASSIGN_OR_RETURN(
        Rows page, conn_.Query("list subscriptions",
                               "SELECT external_id FROM subscriptions WHERE workspace_id = "
                               "$1::bigint AND id > $2::bigint AND ($3 = '' OR customer_id = "
                               "(SELECT id FROM customers WHERE workspace_id = $1::bigint AND "
                               "external_id = $3)) ORDER BY id LIMIT $4::bigint",
                               Params().Add(ws.value).Add(after_id).Add(customer).Add(
                                   static_cast<std::int64_t>(limit))));
    std::vector<std::string> ids;
    for (int i = 0; i < page.size(); ++i) ids.push_back(page.Text(i, 0));
    TREU_ASSIGN_OR_RETURN(auto loaded, LoadSubscriptions(conn_, ws, ids));
    return InPageOrder(ids, loaded);
  }

  Result<std::vector<Product>> ListProducts(WorkspaceId ws, std::int64_t after_id,
                                            int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("list products",
                    "SELECT id, external_id, name, price_minor, currency FROM products "
                    "WHERE workspace_id = $1::bigint AND id > $2::bigint ORDER BY id "
                    "LIMIT $3::bigint",
                    Params().Add(ws.value).Add(after_id).Add(static_cast<std::int64_t>(limit))));
    std::vector<Product> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(Product p, ReadProduct(r, i));
      out.push_back(std::move(p));
    }
    return out;
  }

  Result<ImportJob> CreateImportJob(const ImportJob& job) override {
    Params p;
    p.Add(job.workspace.value)
        .Add(job.kind)
        .Add(JobStatusName(job.status))
        .Add(job.file_name);
    AddImportJobProgress(p, job);
    p.Add(job.created_at.micros);
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("create import job",
                            "INSERT INTO import_jobs (workspace_id, kind, status, file_name, "
                            "bytes_total, bytes_read, rows_read, rows_rejected, inserted, "
                            "updated, unchanged, error, issues, finished_at, created_at) VALUES "
                            "($1::bigint, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint, "
                            "$8::bigint, $9::bigint, $10::bigint, $11::bigint, $12, $13, "
                            "$14::bigint, $15::bigint) RETURNING id",
                            p));
    ImportJob out = job;
    out.id = r.Int(0, 0);
    return out;
  }

  Status UpdateImportJob(const ImportJob& job) override {
    Params p;
    p.Add(job.id).Add(job.workspace.value).Add(JobStatusName(job.status));
    AddImportJobProgress(p, job);
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("update import job",
                            "UPDATE import_jobs SET status = $3, bytes_total = $4::bigint, "
                            "bytes_read = $5::bigint, rows_read = $6::bigint, rows_rejected = "
                            "$7::bigint, inserted = $8::bigint, updated = $9::bigint, unchanged "
                            "= $10::bigint, error = $11, issues = $12, finished_at = "
                            "$13::bigint WHERE id = $1::bigint AND workspace_id = $2::bigint "
                            "RETURNING id",
                            p));
    if (r.size() == 0) {
      return NotFound("import job " + std::to_string(job.id), "no such import job");
    }
    return Ok();
  }

  Result<std::optional<ImportJob>> FindImportJob(WorkspaceId ws, std::int64_t id) override {
    const std::string sql = std::string("SELECT ") + kImportJobColumns +
                            " FROM import_jobs WHERE workspace_id = $1::bigint AND id = $2::bigint";
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find import job", sql.c_str(), Params().Add(ws.value).Add(id)));
    if (r.size() == 0) return std::optional<ImportJob>();
    TREU_ASSIGN_OR_RETURN(ImportJob job, ReadImportJob(r, 0));
    return std::optional<ImportJob>(std::move(job));
  }

  Status UpdateWorkspace(const Workspace& w) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("update workspace",
                            "UPDATE workspaces SET retention_basis = $2, activity_window_days = "
                            "$3::integer, purchase_model = $4, allow_private_webhooks = $5::integer, brand_colour = $6, "
                            "time_zone = $7, currency = COALESCE(currency, NULLIF($8::text, '')) WHERE id = "
                            "$1::bigint RETURNING id",
                            Params()
                                .Add(w.id.value)
                                .Add(RetentionBasisName(w.retention_basis))
                                .Add(std::int64_t{w.activity_window_days})
                                .Add(PurchaseModelName(w.purchase_model))
                                .Add(std::int64_t{w.allow_private_webhooks ? 1 : 0})
                                .Add(w.brand_colour)
                                .Add(w.time_zone)
                                .Add(w.currency ? w.currency->code() : std::string_view())));
    if (r.size() == 0) return NotFound("workspace " + w.name, "no such workspace");
    return Ok();
  }

  Result<ModelRun> CreateModelRun(const ModelRun& run) override {
    Params p;
    p.Add(run.workspace.value).Add(run.model);
    AddModelRunState(p, run);
    p.Add(run.created_at.micros);
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("create model run",
                            "INSERT INTO model_runs (workspace_id, model, status, "
                            "calibration_end, unit_days, params, std_errors, log_likelihood, "
                            "customers, evaluations, seconds, error, finished_at, created_at) "
                            "VALUES ($1::bigint, $2, $3, $4, $5::float8, $6, $7, $8::float8, "
                            "$9::bigint, $10::bigint, $11::float8, $12, $13::bigint, "
                            "$14::bigint) RETURNING id",
                            p));
    ModelRun out = run;
    out.id = r.Int(0, 0);
    return out;
  }

  Status UpdateModelRun(const ModelRun& run) override {
    Params p;
    p.Add(run.id).Add(run.workspace.value);
    AddModelRunState(p, run);
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("update model run",
                            "UPDATE model_runs SET status = $3, calibration_end = $4, unit_days "
                            "= $5::float8, params = $6, std_errors = $7, log_likelihood = "
                            "$8::float8, customers = $9::bigint, evaluations = $10::bigint, "
                            "seconds = $11::float8, error = $12, finished_at = $13::bigint "
                            "WHERE id = $1::bigint AND workspace_id = $2::bigint RETURNING id",
                            p));
    if (r.size() == 0) return NotFound("model run " + std::to_string(run.id), "no such model run");
    return Ok();
  }

  Result<std::vector<ModelRun>> ListModelRuns(WorkspaceId ws, std::string_view model,
                                              int limit) override {
    const std::string sql = std::string("SELECT ") + kModelRunColumns +
                            " FROM model_runs WHERE workspace_id = $1::bigint AND ($2 = '' OR "
                            "model = $2) ORDER BY id DESC LIMIT $3::bigint";
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list model runs", sql.c_str(),
                            Params().Add(ws.value).Add(model).Add(std::int64_t{limit})));
    std::vector<ModelRun> out;
    for (int i = 0; i < r.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(ModelRun m, ReadModelRun(r, i));
      out.push_back(std::move(m));
    }
    return out;
  }

  Result<std::optional<ModelRun>> FindModelRun(WorkspaceId ws, std::int64_t id) override {
    const std::string sql = std::string("SELECT ") + kModelRunColumns +
                            " FROM model_runs WHERE workspace_id = $1::bigint AND id = $2::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find model run", sql.c_str(), Params().Add(ws.value).Add(id)));
    if (r.size() == 0) return std::optional<ModelRun>();
    TREU_ASSIGN_OR_RETURN(ModelRun run, ReadModelRun(r, 0));
    return std::optional<ModelRun>(std::move(run));
  }

  Result<std::optional<std::string>> CustomerExternalId(WorkspaceId ws, CustomerId id) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("customer external id",
                                              "SELECT external_id FROM customers WHERE workspace_id = $1::bigint AND "
                                              "id = $2::bigint",
                                              Params().Add(ws.value).Add(id.value)));
    if (r.size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.Text(0, 0));
  }

  Result<SurveyRecord> SaveSurvey(const SurveyRecord& sv) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("save survey " + sv.name,
                            "INSERT INTO surveys (workspace_id, name, definition, created_at, updated_at) VALUES "
                            "($1::bigint, $2, $3, $4::bigint, $5::bigint) ON CONFLICT (workspace_id, name) DO "
                            "UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at "
                            "RETURNING id, name, definition, created_at, updated_at",
                            Params().Add(sv.workspace.value).Add(sv.name).Add(sv.definition)
                                .Add(sv.created_at.micros).Add(sv.updated_at.micros)));
    return ReadSurvey(r, 0, sv.workspace);
  }

  // Row i of "SELECT id, name, definition, created_at, updated_at FROM surveys".
  static SurveyRecord ReadSurvey(const Rows& r, int i, WorkspaceId ws) {
    return {r.Int(i, 0), ws, r.Text(i, 1), r.Text(i, 2), Timestamp{r.Int(i, 3)}, Timestamp{r.Int(i, 4)}};
  }

  Result<std::vector<SurveyRecord>> ListSurveys(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list surveys",
                                              "SELECT id, name, definition, created_at, updated_at FROM surveys "
                                              "WHERE workspace_id = $1::bigint ORDER BY name COLLATE \"C\"",
                                              Params().Add(ws.value)));
    std::vector<SurveyRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadSurvey(r, i, ws));
    return out;
  }

  Result<std::optional<SurveyRecord>> FindSurvey(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find survey",
                                              "SELECT id, name, definition, created_at, updated_at FROM surveys "
                                              "WHERE workspace_id = $1::bigint AND name = $2",
                                              Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return std::optional<SurveyRecord>();
    return std::optional<SurveyRecord>(ReadSurvey(r, 0, ws));
  }

  Result<std::optional<SurveyRecord>> FindSurveyById(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find survey",
                                              "SELECT id, name, definition, created_at, updated_at FROM surveys "
                                              "WHERE workspace_id = $1::bigint AND id = $2::bigint",
                                              Params().Add(ws.value).Add(id)));
    if (r.size() == 0) return std::optional<SurveyRecord>();
    return std::optional<SurveyRecord>(ReadSurvey(r, 0, ws));
  }

  Status CreateSurveyInvitations(std::span<const SurveyInvitation> invitations) override {
    if (invitations.empty()) return Ok();
    ArrayLiteral customers, nonces, created, expires;
    for (const SurveyInvitation& i : invitations) {
      if (i.workspace != invitations[0].workspace || i.survey_id != invitations[0].survey_id) {
        return InvalidArgument("survey invitations", "must all be of one survey");
      }
      customers.Add(i.customer.value);
      nonces.Add(i.nonce);
      created.Add(i.created_at.micros);
      expires.Add(i.expires_at.micros);
    }
    TREU_RETURN_IF_ERROR(conn_.Query(
        "create survey invitations",
        "INSERT INTO survey_invitations (workspace_id, survey_id, customer_id, nonce, created_at, expires_at) "
        "SELECT $1::bigint, $2::bigint, c, n, a, e FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], "
        "$6::bigint[]) AS u(c, n, a, e)",
        Params().Add(invitations[0].workspace.value).Add(invitations[0].survey_id).Add(customers).Add(nonces)
            .Add(created).Add(expires)));
    return Ok();
  }

  Result<std::optional<SurveyInvitation>> FindSurveyInvitation(WorkspaceId ws, std::int64_t survey_id,
                                                               std::int64_t nonce) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find survey invitation",
                                              "SELECT id, customer_id, created_at, expires_at FROM survey_invitations "
                                              "WHERE workspace_id = $1::bigint AND survey_id = $2::bigint AND nonce = "
                                              "$3::bigint",
                                              Params().Add(ws.value).Add(survey_id).Add(nonce)));
    if (r.size() == 0) return std::optional<SurveyInvitation>();
    return std::optional<SurveyInvitation>(SurveyInvitation{r.Int(0, 0), ws, survey_id, CustomerId{r.Int(0, 1)}, nonce,
                                                            Timestamp{r.Int(0, 2)}, Timestamp{r.Int(0, 3)}});
  }

  Result<std::int64_t> CountSurveyInvitations(WorkspaceId ws, std::int64_t survey_id) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("count survey invitations",
                                              "SELECT count(*) FROM survey_invitations WHERE workspace_id = "
                                              "$1::bigint AND survey_id = $2::bigint",
                                              Params().Add(ws.value).Add(survey_id)));
    return r.Int(0, 0);
  }

  // Row i of "SELECT id, survey_id, customer_id, nonce, answers, created_at, updated_at FROM survey_responses".
  static SurveyResponse ReadResponse(const Rows& r, int i, WorkspaceId ws) {
    return {r.Int(i, 0), ws, r.Int(i, 1), CustomerId{r.Int(i, 2)}, r.Int(i, 3), r.Text(i, 4), Timestamp{r.Int(i, 5)},
            Timestamp{r.Int(i, 6)}};
  }

  Result<SurveyResponse> SaveSurveyResponse(const SurveyResponse& sr) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("save survey response",
                            "INSERT INTO survey_responses (workspace_id, survey_id, customer_id, nonce, answers, "
                            "created_at, updated_at, nps_score, nps_category) VALUES ($1::bigint, $2::bigint, "
                            "$3::bigint, $4::bigint, $5, $6::bigint, $7::bigint, $8::integer, $9) ON CONFLICT "
                            "(survey_id, nonce) DO UPDATE SET answers = excluded.answers, updated_at = "
                            "excluded.updated_at, nps_score = excluded.nps_score, nps_category = "
                            "excluded.nps_category RETURNING id, survey_id, customer_id, nonce, answers, "
                            "created_at, updated_at",
                            NpsParams(Params().Add(sr.workspace.value).Add(sr.survey_id).Add(sr.customer.value)
                                          .Add(sr.nonce).Add(sr.answers).Add(sr.created_at.micros)
                                          .Add(sr.updated_at.micros), sr)));
    SurveyResponse out = ReadResponse(r, 0, sr.workspace);
    out.nps_score = sr.nps_score;
    out.nps_category = sr.nps_category;
    return out;
  }

  // `p` with the response's NPS score (or NULL) and category appended.
  static Params NpsParams(Params p, const SurveyResponse& sr) {
    if (sr.nps_score) {
      p.Add(std::int64_t{*sr.nps_score});
    } else {
      p.AddNull();
    }
    p.Add(sr.nps_category);
    return p;
  }

  Result<std::vector<NpsScore>> LatestNpsScores(WorkspaceId ws, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("latest nps scores",
                                              "SELECT DISTINCT ON (customer_id) customer_id, nps_score, nps_category, "
                                              "updated_at FROM survey_responses WHERE workspace_id = $1::bigint AND "
                                              "nps_score IS NOT NULL AND updated_at <= $2::bigint ORDER BY "
                                              "customer_id, updated_at DESC, id DESC",
                                              Params().Add(ws.value).Add(now.micros)));
    std::vector<NpsScore> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({CustomerId{r.Int(i, 0)}, static_cast<int>(r.Int(i, 1)), r.Text(i, 2), Timestamp{r.Int(i, 3)}});
    }
    return out;
  }

  Result<std::optional<SurveyResponse>> FindSurveyResponse(WorkspaceId ws, std::int64_t survey_id,
                                                           std::int64_t nonce) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find survey response",
                                              "SELECT id, survey_id, customer_id, nonce, answers, created_at, "
                                              "updated_at FROM survey_responses WHERE workspace_id = $1::bigint AND "
                                              "survey_id = $2::bigint AND nonce = $3::bigint",
                                              Params().Add(ws.value).Add(survey_id).Add(nonce)));
    if (r.size() == 0) return std::optional<SurveyResponse>();
    return std::optional<SurveyResponse>(ReadResponse(r, 0, ws));
  }

  Result<std::vector<SurveyResponse>> ListSurveyResponses(WorkspaceId ws, std::int64_t survey_id,
                                                          std::int64_t after_id, int limit) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list survey responses",
                                              "SELECT id, survey_id, customer_id, nonce, answers, created_at, "
                                              "updated_at, nps_score FROM survey_responses WHERE workspace_id = "
                                              "$1::bigint AND survey_id = $2::bigint AND id > $3::bigint ORDER BY id "
                                              "LIMIT $4::bigint",
                                              Params().Add(ws.value).Add(survey_id).Add(after_id)
                                                  .Add(std::int64_t{limit})));
    std::vector<SurveyResponse> out;
    for (int i = 0; i < r.size(); ++i) {
      SurveyResponse sr = ReadResponse(r, i, ws);
      if (!r.IsNull(i, 7)) sr.nps_score = static_cast<int>(r.Int(i, 7));
      out.push_back(std::move(sr));
    }
    return out;
  }

  Status ScanSurveyInvitations(WorkspaceId ws,
                               const std::function<void(std::int64_t, CustomerId, Timestamp)>& f) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("scan survey invitations",
                                              "SELECT survey_id, customer_id, created_at FROM survey_invitations "
                                              "WHERE workspace_id = $1::bigint ORDER BY id",
                                              Params().Add(ws.value)));
    for (int i = 0; i < r.size(); ++i) f(r.Int(i, 0), CustomerId{r.Int(i, 1)}, Timestamp{r.Int(i, 2)});
    return Ok();
  }

  Result<std::vector<std::pair<CustomerId, Timestamp>>> LatestEvents(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("latest events",
                                              "SELECT customer_id, max(\"timestamp\") FROM events WHERE workspace_id = "
                                              "$1::bigint AND name = $2 AND customer_id IS NOT NULL GROUP BY "
                                              "customer_id ORDER BY customer_id",
                                              Params().Add(ws.value).Add(std::string(name))));
    std::vector<std::pair<CustomerId, Timestamp>> out;
    for (int i = 0; i < r.size(); ++i) out.emplace_back(CustomerId{r.Int(i, 0)}, Timestamp{r.Int(i, 1)});
    return out;
  }

  static constexpr const char* kFollowUpColumns =
      "id, workspace_id, survey_id, customer_id, nonce, score, status, assignee, note, created_at, updated_at, "
      "webhook_url, notify_state, notify_attempts, notify_next_at, notify_error";
  // Row i of "SELECT <kFollowUpColumns> FROM followups".
  static FollowUpItem ReadFollowUp(const Rows& r, int i) {
    return {r.Int(i, 0),  WorkspaceId{r.Int(i, 1)}, r.Int(i, 2), CustomerId{r.Int(i, 3)}, r.Int(i, 4),
            static_cast<int>(r.Int(i, 5)), r.Text(i, 6), r.Text(i, 7), r.Text(i, 8), Timestamp{r.Int(i, 9)},
            Timestamp{r.Int(i, 10)}, r.Text(i, 11), r.Text(i, 12), static_cast<int>(r.Int(i, 13)),
            Timestamp{r.Int(i, 14)}, r.Text(i, 15)};
  }

  Result<std::pair<FollowUpItem, bool>> CreateFollowUp(const FollowUpItem& f) override {
    static const std::string kSql =
        std::string("WITH ins AS (INSERT INTO followups (workspace_id, survey_id, customer_id, nonce, score, status, "
                    "assignee, note, created_at, updated_at, webhook_url, notify_state, notify_attempts, "
                    "notify_next_at, notify_error) VALUES ($1::bigint, $2::bigint, $3::bigint, $4::bigint, "
                    "$5::integer, $6, $7, $8, $9::bigint, $10::bigint, $11, $12, $13::integer, $14::bigint, $15) "
                    "ON CONFLICT (survey_id, nonce) DO NOTHING RETURNING ") +
        kFollowUpColumns + ") SELECT " + kFollowUpColumns + ", true FROM ins UNION ALL SELECT " + kFollowUpColumns +
        ", false FROM followups WHERE workspace_id = $1::bigint AND survey_id = $2::bigint AND nonce = $4::bigint "
        "AND NOT EXISTS (SELECT 1 FROM ins)";
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("create follow-up", kSql.c_str(),
                            Params().Add(f.workspace.value).Add(f.survey_id).Add(f.customer.value).Add(f.nonce)
                                .Add(std::int64_t{f.score}).Add(f.status).Add(f.assignee).Add(f.note)
                                .Add(f.created_at.micros).Add(f.updated_at.micros).Add(f.webhook_url)
                                .Add(f.notify_state).Add(std::int64_t{f.notify_attempts}).Add(f.notify_next_at.micros)
                                .Add(f.notify_error)));
    if (r.size() == 0) return Internal("follow-up", "not found after saving");
    return std::pair<FollowUpItem, bool>(ReadFollowUp(r, 0), r.Bool(0, 16));
  }

  Result<std::optional<FollowUpItem>> FindFollowUp(WorkspaceId ws, std::int64_t id) override {
    static const std::string kSql = std::string("SELECT ") + kFollowUpColumns +
                                    " FROM followups WHERE workspace_id = $1::bigint AND id = $2::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find follow-up", kSql.c_str(), Params().Add(ws.value).Add(id)));
    if (r.size() == 0) return std::optional<FollowUpItem>();
    return std::optional<FollowUpItem>(ReadFollowUp(r, 0));
  }

  Result<std::vector<FollowUpItem>> ListFollowUps(WorkspaceId ws, std::string_view status, std::int64_t after_id,
                                                  int limit) override {
    static const std::string kSql = std::string("SELECT ") + kFollowUpColumns +
                                    " FROM followups WHERE workspace_id = $1::bigint AND ($2 = '' OR status = $2) AND "
                                    "id > $3::bigint ORDER BY id LIMIT $4::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list follow-ups", kSql.c_str(),
                                              Params().Add(ws.value).Add(std::string(status)).Add(after_id)
                                                  .Add(std::int64_t{limit})));
    std::vector<FollowUpItem> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadFollowUp(r, i));
    return out;
  }

  Status UpdateFollowUp(const FollowUpItem& f) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("update follow-up",
                                              "UPDATE followups SET status = $3, assignee = $4, note = $5, updated_at = "
                                              "$6::bigint WHERE workspace_id = $1::bigint AND id = $2::bigint "
                                              "RETURNING id",
                                              Params().Add(f.workspace.value).Add(f.id).Add(f.status).Add(f.assignee)
                                                  .Add(f.note).Add(f.updated_at.micros)));
    if (r.size() == 0) return NotFound("follow-up " + std::to_string(f.id), "no such follow-up in this workspace");
    return Ok();
  }

  Result<std::vector<FollowUpItem>> DueFollowUpNotifications(Timestamp now, int limit) override {
    static const std::string kSql = std::string("SELECT ") + kFollowUpColumns +
                                    " FROM followups WHERE notify_state = 'pending' AND notify_next_at <= $1::bigint "
                                    "ORDER BY notify_next_at, id LIMIT $2::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("due follow-up notifications", kSql.c_str(),
                                              Params().Add(now.micros).Add(std::int64_t{limit})));
    std::vector<FollowUpItem> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadFollowUp(r, i));
    return out;
  }

  Status RecordFollowUpNotification(std::int64_t id, std::string_view state, int attempts, Timestamp next_at,
                                    std::string_view error) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("record follow-up notification",
                                              "UPDATE followups SET notify_state = $2, notify_attempts = $3::integer, "
                                              "notify_next_at = $4::bigint, notify_error = $5 WHERE id = $1::bigint "
                                              "RETURNING id",
                                              Params().Add(id).Add(std::string(state)).Add(std::int64_t{attempts})
                                                  .Add(next_at.micros).Add(std::string(error))));
    if (r.size() == 0) return NotFound("follow-up " + std::to_string(id), "no such follow-up");
    return Ok();
  }

  // Row i of "SELECT id, name, expr, created_at, updated_at, builtin FROM segments".
  static SegmentDefinition ReadSegment(const Rows& r, int i, WorkspaceId ws) {
    return {r.Int(i, 0), ws, r.Text(i, 1), r.Text(i, 2), Timestamp{r.Int(i, 3)}, Timestamp{r.Int(i, 4)}, r.Int(i, 5) != 0};
  }

  Result<SegmentDefinition> SaveSegment(const SegmentDefinition& seg) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("save segment",
                            "INSERT INTO segments (workspace_id, name, expr, created_at, updated_at, builtin) "
                            "VALUES ($1::bigint, $2, $3, $4::bigint, $5::bigint, $6::integer) ON CONFLICT "
                            "(workspace_id, name) DO UPDATE SET expr = excluded.expr, updated_at = "
                            "excluded.updated_at RETURNING id, name, expr, created_at, updated_at, builtin",
                            Params()
                                .Add(seg.workspace.value)
                                .Add(seg.name)
                                .Add(seg.expr)
                                .Add(seg.created_at.micros)
                                .Add(seg.updated_at.micros)
                                .Add(std::int64_t{seg.builtin ? 1 : 0})));
    return ReadSegment(r, 0, seg.workspace);
  }

  Result<std::vector<SegmentDefinition>> ListSegments(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list segments",
                            "SELECT id, name, expr, created_at, updated_at, builtin FROM segments WHERE "
                            "workspace_id = $1::bigint ORDER BY name COLLATE \"C\"",
                            Params().Add(ws.value)));
    std::vector<SegmentDefinition> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(ReadSegment(r, i, ws));
    }
    return out;
  }

  Result<std::optional<SegmentDefinition>> FindSegment(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find segment",
                            "SELECT id, name, expr, created_at, updated_at, builtin FROM segments WHERE "
                            "workspace_id = $1::bigint AND name = $2",
                            Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return std::optional<SegmentDefinition>();
    return std::optional<SegmentDefinition>(ReadSegment(r, 0, ws));
  }

  Status DeleteSegment(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(auto found, FindSegment(ws, name));
    if (!found) return NotFound("segment " + std::string(name), "no such segment");
    return InTransaction([&]() -> Status {
      const Params id = Params().Add(found->id);
      TREU_RETURN_IF_ERROR(conn_.Query("delete segment members", "DELETE FROM segment_members WHERE segment_id = $1::bigint", id));
      TREU_RETURN_IF_ERROR(conn_.Query("delete segment transitions",
                                       "DELETE FROM segment_transitions WHERE segment_id = $1::bigint", id));
      TREU_RETURN_IF_ERROR(conn_.Query("delete segment sizes", "DELETE FROM segment_sizes WHERE segment_id = $1::bigint", id));
      TREU_RETURN_IF_ERROR(conn_.Query("delete segment",
                                       "DELETE FROM segments WHERE workspace_id = $1::bigint AND id = $2::bigint",
                                       Params().Add(ws.value).Add(found->id)));
      return Ok();
    });
  }

  // Runs `body` between BEGIN and COMMIT (ROLLBACK when it fails).
  Status InTransaction(const std::function<Status()>& body) {
    TREU_RETURN_IF_ERROR(conn_.Run("begin", "BEGIN"));
    Status done = body();
    if (!done) {
      (void)conn_.Run("rollback", "ROLLBACK");
      return done;
    }
    return conn_.Run("commit", "COMMIT");
  }

  Result<SegmentDefinition> UpdateSegment(const SegmentDefinition& seg) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("update segment " + seg.name,
                            "UPDATE segments SET name = $1, expr = $2, updated_at = $3::bigint WHERE "
                            "workspace_id = $4::bigint AND id = $5::bigint RETURNING id, name, expr, "
                            "created_at, updated_at, builtin",
                            Params().Add(seg.name).Add(seg.expr).Add(seg.updated_at.micros).Add(seg.workspace.value)
                                .Add(seg.id)));
    if (r.size() == 0) return NotFound("segment " + std::to_string(seg.id), "no such segment");
    return ReadSegment(r, 0, seg.workspace);
  }

  Result<std::optional<SegmentDefinition>> FindSegmentById(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find segment",
                            "SELECT id, name, expr, created_at, updated_at, builtin FROM segments WHERE "
                            "workspace_id = $1::bigint AND id = $2::bigint",
                            Params().Add(ws.value).Add(id)));
    if (r.size() == 0) return std::optional<SegmentDefinition>();
    return std::optional<SegmentDefinition>(ReadSegment(r, 0, ws));
  }

  Status ApplySegmentRefresh(const SegmentRefresh& r) override {
    ArrayLiteral entered, left;
    for (CustomerId c : r.entered) entered.Add(c.value);
    for (CustomerId c : r.left) left.Add(c.value);
    return InTransaction([&]() -> Status {
      TREU_ASSIGN_OR_RETURN(auto seg, FindSegmentById(r.workspace, r.segment_id));
      if (!seg) return NotFound("segment " + std::to_string(r.segment_id), "no such segment");
      TREU_RETURN_IF_ERROR(conn_.Query("add segment members",
                                       "INSERT INTO segment_members (segment_id, customer_id, since) SELECT "
                                       "$1::bigint, unnest($2::bigint[]), $3::bigint",
                                       Params().Add(r.segment_id).Add(entered).Add(r.at.micros)));
      TREU_RETURN_IF_ERROR(conn_.Query("remove segment members",
                                       "DELETE FROM segment_members WHERE segment_id = $1::bigint AND "
                                       "customer_id = ANY($2::bigint[])",
                                       Params().Add(r.segment_id).Add(left)));
      static constexpr const char* kLog =
          "INSERT INTO segment_transitions (workspace_id, segment_id, customer_id, kind, at) SELECT "
          "$1::bigint, $2::bigint, c, $4, $5::bigint FROM unnest($3::bigint[]) WITH ORDINALITY AS u(c, n) "
          "ORDER BY n";
      TREU_RETURN_IF_ERROR(conn_.Query("log segment entries", kLog,
                                       Params().Add(r.workspace.value).Add(r.segment_id).Add(entered)
                                           .Add(std::string_view("entered")).Add(r.at.micros)));
      TREU_RETURN_IF_ERROR(conn_.Query("log segment exits", kLog,
                                       Params().Add(r.workspace.value).Add(r.segment_id).Add(left)
                                           .Add(std::string_view("left")).Add(r.at.micros)));
      if (r.record_size) {
        TREU_RETURN_IF_ERROR(conn_.Query("record segment size",
                                         "INSERT INTO segment_sizes (segment_id, at, size) VALUES ($1::bigint, "
                                         "$2::bigint, $3::bigint) ON CONFLICT (segment_id, at) DO UPDATE SET "
                                         "size = excluded.size",
                                         Params().Add(r.segment_id).Add(r.at.micros).Add(r.size)));
      }
      return Ok();
    });
  }

  Result<std::vector<SegmentMember>> ListSegmentMembers(WorkspaceId ws, std::int64_t segment_id,
                                                        std::int64_t after, int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list segment members",
                            "SELECT m.customer_id, c.external_id, m.since FROM segment_members m JOIN "
                            "segments g ON g.id = m.segment_id JOIN customers c ON c.id = m.customer_id "
                            "WHERE g.workspace_id = $1::bigint AND m.segment_id = $2::bigint AND "
                            "m.customer_id > $3::bigint ORDER BY m.customer_id LIMIT $4::bigint",
                            Params().Add(ws.value).Add(segment_id).Add(after)
                                .Add(std::int64_t{limit <= 0 ? std::numeric_limits<std::int32_t>::max() : limit})));
    std::vector<SegmentMember> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back({CustomerId{r.Int(i, 0)}, r.Text(i, 1), Timestamp{r.Int(i, 2)}});
    return out;
  }

  Result<std::vector<SegmentTransition>> ListSegmentTransitions(WorkspaceId ws, std::int64_t segment_id,
                                                                std::int64_t after_id, int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list segment transitions",
                            "SELECT t.id, t.customer_id, c.external_id, t.kind, t.at FROM segment_transitions t "
                            "JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1::bigint AND "
                            "t.segment_id = $2::bigint AND t.id > $3::bigint ORDER BY t.id LIMIT $4::bigint",
                            Params().Add(ws.value).Add(segment_id).Add(after_id).Add(std::int64_t{limit})));
    std::vector<SegmentTransition> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), segment_id, CustomerId{r.Int(i, 1)}, r.Text(i, 2), r.Text(i, 3) == "entered",
                     Timestamp{r.Int(i, 4)}});
    }
    return out;
  }

  Result<std::vector<std::pair<std::int64_t, Timestamp>>> CustomerSegments(WorkspaceId ws,
                                                                           CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("customer segments",
                            "SELECT g.id, m.since FROM segments g JOIN segment_members m ON m.segment_id = g.id "
                            "AND m.customer_id = $2::bigint WHERE g.workspace_id = $1::bigint ORDER BY g.id",
                            Params().Add(ws.value).Add(customer.value)));
    std::vector<std::pair<std::int64_t, Timestamp>> out;
    for (int i = 0; i < r.size(); ++i) out.emplace_back(r.Int(i, 0), Timestamp{r.Int(i, 1)});
    return out;
  }

  Result<std::vector<SegmentTransition>> CustomerSegmentTransitions(WorkspaceId ws, CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("customer segment transitions",
                            "SELECT t.id, t.segment_id, c.external_id, t.kind, t.at FROM segment_transitions t "
                            "JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1::bigint AND "
                            "t.customer_id = $2::bigint ORDER BY t.id",
                            Params().Add(ws.value).Add(customer.value)));
    std::vector<SegmentTransition> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Int(i, 1), customer, r.Text(i, 2), r.Text(i, 3) == "entered",
                     Timestamp{r.Int(i, 4)}});
    }
    return out;
  }

  Result<std::vector<SurveyResponse>> CustomerSurveyResponses(WorkspaceId ws, CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("customer survey responses",
                                              "SELECT id, survey_id, customer_id, nonce, answers, created_at, "
                                              "updated_at, nps_score FROM survey_responses WHERE "
                                              "workspace_id = $1::bigint AND customer_id = $2::bigint ORDER BY id",
                                              Params().Add(ws.value).Add(customer.value)));
    std::vector<SurveyResponse> out;
    for (int i = 0; i < r.size(); ++i) {
      SurveyResponse sr = ReadResponse(r, i, ws);
      if (!r.IsNull(i, 7)) sr.nps_score = static_cast<int>(r.Int(i, 7));
      out.push_back(std::move(sr));
    }
    return out;
  }

  Result<std::vector<SegmentSize>> ListSegmentSizes(WorkspaceId ws, std::int64_t segment_id,
                                                    Timestamp since) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list segment sizes",
                            "SELECT z.at, z.size FROM segment_sizes z JOIN segments g ON g.id = z.segment_id "
                            "WHERE g.workspace_id = $1::bigint AND z.segment_id = $2::bigint AND z.at >= "
                            "$3::bigint ORDER BY z.at",
                            Params().Add(ws.value).Add(segment_id).Add(since.micros)));
    std::vector<SegmentSize> out;
    for (int i = 0; i < r.size(); ++i) out.push_back({Timestamp{r.Int(i, 0)}, r.Int(i, 1)});
    return out;
  }

  Result<std::int64_t> FailUnfinishedModelRuns(std::string_view error, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("fail unfinished model runs",
                            "UPDATE model_runs SET status = $1, error = $2, finished_at = "
                            "$3::bigint WHERE status IN ($4, $5) RETURNING id",
                            Params()
                                .Add(JobStatusName(JobStatus::kFailed))
                                .Add(error)
                                .Add(now.micros)
                                .Add(JobStatusName(JobStatus::kQueued))
                                .Add(JobStatusName(JobStatus::kRunning))));
    return std::int64_t{r.size()};
  }

  Result<std::int64_t> FailUnfinishedImportJobs(std::string_view error, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("fail unfinished import jobs",
                            "UPDATE import_jobs SET status = $1, error = $2, finished_at = "
                            "$3::bigint WHERE status IN ($4, $5) RETURNING id",
                            Params()
                                .Add(JobStatusName(JobStatus::kFailed))
                                .Add(error)
                                .Add(now.micros)
                                .Add(JobStatusName(JobStatus::kQueued))
                                .Add(JobStatusName(JobStatus::kRunning))));
    return std::int64_t{r.size()};
  }

  // ---- Loyalty

  Result<std::optional<LoyaltyProgramRecord>> FindLoyaltyProgram(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find loyalty program",
                            "SELECT definition, processed_seq, created_at, updated_at FROM "
                            "loyalty_programs WHERE workspace_id = $1::bigint",
                            Params().Add(ws.value)));
    if (r.size() == 0) return std::optional<LoyaltyProgramRecord>();
    return std::optional<LoyaltyProgramRecord>(LoyaltyProgramRecord{
        ws, r.Text(0, 0), r.Int(0, 1), Timestamp{r.Int(0, 2)}, Timestamp{r.Int(0, 3)}});
  }

  Result<LoyaltyProgramRecord> SaveLoyaltyProgram(const LoyaltyProgramRecord& p) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query(
            "save loyalty program",
            "INSERT INTO loyalty_programs (workspace_id, definition, processed_seq, created_at, "
            "updated_at) VALUES ($1::bigint, $2, $3::bigint, $4::bigint, $5::bigint) ON CONFLICT "
            "(workspace_id) DO UPDATE SET definition = excluded.definition, updated_at = "
            "excluded.updated_at RETURNING definition, processed_seq, created_at, updated_at",
            Params()
                .Add(p.workspace.value)
                .Add(p.definition)
                .Add(p.processed_seq)
                .Add(p.created_at.micros)
                .Add(p.updated_at.micros)));
    if (r.size() == 0) return Internal("postgresql: save loyalty program", "no row after saving");
    return LoyaltyProgramRecord{p.workspace, r.Text(0, 0), r.Int(0, 1), Timestamp{r.Int(0, 2)},
                                Timestamp{r.Int(0, 3)}};
  }

  Result<std::optional<LoyaltyMember>> FindLoyaltyMember(WorkspaceId ws,
                                                         CustomerId customer) override {
    return FindLoyaltyMemberOn(conn_, ws, customer);
  }

  Result<std::vector<LoyaltyMember>> ListLoyaltyMembers(WorkspaceId ws, std::int64_t after,
                                                        int limit) override {
    static const std::string kSql =
        std::string("SELECT ") + kLoyaltyMemberColumns +
        " FROM loyalty_members WHERE workspace_id = $1::bigint AND customer_id > $2::bigint ORDER "
        "BY customer_id LIMIT $3::bigint";
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("list loyalty members", kSql.c_str(),
                    Params().Add(ws.value).Add(after).Add(std::int64_t{std::max(limit, 0)})));
    std::vector<LoyaltyMember> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadLoyaltyMember(r, i, ws));
    return out;
  }

  Result<std::vector<CustomerId>> DueLoyaltyMembers(WorkspaceId ws, Timestamp now,
                                                    int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("due loyalty members",
                    "SELECT customer_id FROM loyalty_members WHERE workspace_id = $1::bigint AND "
                    "next_due_at <= $2::bigint ORDER BY next_due_at, customer_id LIMIT $3::bigint",
                    Params().Add(ws.value).Add(now.micros).Add(std::int64_t{std::max(limit, 0)})));
    std::vector<CustomerId> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back(CustomerId{r.Int(i, 0)});
    return out;
  }

  Result<std::vector<LoyaltyTransferRecord>> ListLoyaltyTransfers(WorkspaceId ws,
                                                                  CustomerId customer,
                                                                  std::int64_t after_seq,
                                                                  int limit) override {
    return ListLoyaltyTransfersOn(conn_, ws, customer, after_seq, std::int64_t{std::max(limit, 0)});
  }

  Status ScanLoyaltyTransfers(WorkspaceId ws, Timestamp from, Timestamp to,
                              const std::function<void(const LoyaltyTransferRecord&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    CursorStream t(conn_, "treu_scan_rows");
    const std::string sql =
        std::string("SELECT ") + kLoyaltyTransferColumns +
        " FROM loyalty_transfers WHERE workspace_id = $1::bigint AND at >= $2::bigint AND at < "
        "$3::bigint ORDER BY seq";
    TREU_RETURN_IF_ERROR(t.Open("scan loyalty transfers", sql,
                                Params().Add(ws.value).Add(from.micros).Add(to.micros)));
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool row, t.Next());
      if (!row) break;
      f(ReadLoyaltyTransfer(t.rows(), t.row(), ws));
    }
    return Ok();
  }

  Status ScanLoyaltyFlows(WorkspaceId ws, const std::function<void(const LoyaltyFlowRow&)>& f) override {
    ReadScope scope(conn_);
    TREU_RETURN_IF_ERROR(scope.Begin());
    CursorStream t(conn_, "treu_scan_rows");
    TREU_RETURN_IF_ERROR(t.Open("scan loyalty flows",
                                "SELECT kind, from_account, points, at FROM loyalty_transfers WHERE "
                                "workspace_id = $1::bigint",
                                Params().Add(ws.value)));
    LoyaltyFlowRow row;
    while (true) {
      TREU_ASSIGN_OR_RETURN(const bool more, t.Next());
      if (!more) break;
      row.kind = t.rows().Text(t.row(), 0);
      row.from_account = t.rows().Text(t.row(), 1);
      row.points = t.rows().Int(t.row(), 2);
      row.at = Timestamp{t.rows().Int(t.row(), 3)};
      f(row);
    }
    return Ok();
  }

  Result<std::vector<LoyaltyTierChange>> ListLoyaltyTierChanges(WorkspaceId ws,
                                                                CustomerId customer) override {
    static constexpr const char* kByCustomer =
        "SELECT id, customer_id, from_tier, to_tier, at, reason FROM loyalty_tier_changes WHERE "
        "workspace_id = $1::bigint AND customer_id = $2::bigint ORDER BY at, id";
    static constexpr const char* kAll =
        "SELECT id, customer_id, from_tier, to_tier, at, reason FROM loyalty_tier_changes WHERE "
        "workspace_id = $1::bigint ORDER BY at, id";
    Params p;
    p.Add(ws.value);
    if (customer.valid()) p.Add(customer.value);
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list tier changes", customer.valid() ? kByCustomer : kAll, p));
    std::vector<LoyaltyTierChange> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), ws, CustomerId{r.Int(i, 1)}, r.Text(i, 2), r.Text(i, 3),
                     Timestamp{r.Int(i, 4)}, r.Text(i, 5)});
    }
    return out;
  }

  Result<LoyaltyReward> SaveLoyaltyReward(const LoyaltyReward& w) override {
    for (const std::string& tier : w.tiers) {
      if (tier.empty()) return InvalidArgument("reward " + w.name, "a tier name is empty");
    }
    static const std::string kSql =
        std::string(
            "INSERT INTO loyalty_rewards (workspace_id, name, kind, title, points, stock, tiers, "
            "segment, details, active, redeemed, created_at, updated_at) VALUES ($1::bigint, $2, "
            "$3, $4, $5::bigint, $6::bigint, $7, $8, $9, $10::boolean, $11::bigint, $12::bigint, "
            "$13::bigint) ON CONFLICT (workspace_id, name) DO UPDATE SET kind = excluded.kind, "
            "title = excluded.title, points = excluded.points, stock = excluded.stock, tiers = "
            "excluded.tiers, segment = excluded.segment, details = excluded.details, active = "
            "excluded.active, updated_at = excluded.updated_at RETURNING ") +
        kLoyaltyRewardColumns;
    Params p;
    p.Add(w.workspace.value).Add(w.name).Add(w.kind).Add(w.title).Add(w.points);
    AddOptional(p, w.stock);
    p.Add(EncodeTierList(w.tiers))
        .Add(w.segment)
        .Add(w.details)
        .Add(w.active ? "true" : "false")
        .Add(w.redeemed)
        .Add(w.created_at.micros)
        .Add(w.updated_at.micros);
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("save reward " + w.name, kSql.c_str(), p));
    if (r.size() == 0) return Internal("postgresql: save reward " + w.name, "no row after saving");
    return ReadLoyaltyReward(r, 0, w.workspace);
  }

  Result<std::vector<LoyaltyReward>> ListLoyaltyRewards(WorkspaceId ws) override {
    static const std::string kSql =
        std::string("SELECT ") + kLoyaltyRewardColumns +
        " FROM loyalty_rewards WHERE workspace_id = $1::bigint ORDER BY name COLLATE \"C\"";
    TREU_ASSIGN_OR_RETURN(Rows r,
                          conn_.Query("list rewards", kSql.c_str(), Params().Add(ws.value)));
    std::vector<LoyaltyReward> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadLoyaltyReward(r, i, ws));
    return out;
  }

  Result<std::optional<LoyaltyReward>> FindLoyaltyReward(WorkspaceId ws,
                                                         std::string_view name) override {
    static const std::string kSql =
        std::string("SELECT ") + kLoyaltyRewardColumns +
        " FROM loyalty_rewards WHERE workspace_id = $1::bigint AND name = $2";
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find reward", kSql.c_str(), Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return std::optional<LoyaltyReward>();
    return std::optional<LoyaltyReward>(ReadLoyaltyReward(r, 0, ws));
  }

  Result<std::int64_t> AddLoyaltyRewardCodes(WorkspaceId ws, std::int64_t reward_id,
                                             std::span<const std::string> codes) override {
    ArrayLiteral pool;
    for (const std::string& code : codes) pool.Add(code);
    // One statement, so atomic on its own: the codes and the stock.
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("add reward codes", kAddLoyaltyRewardCodesSql,
                                              Params().Add(ws.value).Add(reward_id).Add(pool)));
    if (r.Int(0, 0) == 0) return NotFound("reward " + std::to_string(reward_id), "no such reward");
    return r.Int(0, 1);
  }

  Result<std::vector<LoyaltyRedemption>> ListLoyaltyRedemptions(WorkspaceId ws, CustomerId customer,
                                                                std::int64_t after_row,
                                                                int limit) override {
    static const std::string kByCustomer = std::string("SELECT ") + kLoyaltyRedemptionColumns +
                                           " FROM loyalty_redemptions WHERE workspace_id = "
                                           "$1::bigint AND customer_id = $2::bigint AND row > "
                                           "$3::bigint ORDER BY row LIMIT $4::bigint";
    static const std::string kAll =
        std::string("SELECT ") + kLoyaltyRedemptionColumns +
        " FROM loyalty_redemptions WHERE workspace_id = $1::bigint AND row > $2::bigint ORDER BY "
        "row LIMIT $3::bigint";
    Params p;
    p.Add(ws.value);
    if (customer.valid()) p.Add(customer.value);
    p.Add(after_row).Add(std::int64_t{std::max(limit, 0)});
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("list redemptions", customer.valid() ? kByCustomer.c_str() : kAll.c_str(), p));
    std::vector<LoyaltyRedemption> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadLoyaltyRedemption(r, i, ws));
    return out;
  }

  Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemption(WorkspaceId ws,
                                                                 std::string_view id) override {
    return FindLoyaltyRedemptionOn(conn_, ws, id);
  }

  // ---- Messaging

  Result<MessageTemplateRecord> SaveMessageTemplate(const MessageTemplateRecord& t) override {
    static const std::string kSql =
        std::string(
            "INSERT INTO message_templates (workspace_id, name, channel, topic, subject, html, "
            "body_text, created_at, updated_at, link_url, layout, endpoint) VALUES ($1::bigint, $2, "
            "$3, $4, $5, $6, $7, $8::bigint, $9::bigint, $10, $11, $12) ON CONFLICT (workspace_id, "
            "name) DO UPDATE SET channel = excluded.channel, topic = excluded.topic, subject = "
            "excluded.subject, html = excluded.html, body_text = excluded.body_text, updated_at = "
            "excluded.updated_at, link_url = excluded.link_url, layout = excluded.layout, endpoint = "
            "excluded.endpoint RETURNING ") +
        kTemplateColumns;
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("save template " + t.name, kSql.c_str(),
                            Params().Add(t.workspace.value).Add(t.name).Add(ChannelName(t.channel))
                                .Add(t.topic).Add(t.subject).Add(t.html).Add(t.text)
                                .Add(t.created_at.micros).Add(t.updated_at.micros).Add(t.link_url)
                                .Add(t.layout).Add(t.endpoint)));
    if (r.size() == 0) return Internal("postgresql: save template " + t.name, "no row after saving");
    return ReadMessageTemplate(r, 0);
  }

  Result<std::vector<MessageTemplateRecord>> ListMessageTemplates(WorkspaceId ws) override {
    static const std::string kSql = std::string("SELECT ") + kTemplateColumns +
                                    " FROM message_templates WHERE workspace_id = $1::bigint ORDER BY "
                                    "name COLLATE \"C\"";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list templates", kSql.c_str(), Params().Add(ws.value)));
    return ReadMessageTemplates(r);
  }

  Result<std::optional<MessageTemplateRecord>> FindMessageTemplate(WorkspaceId ws,
                                                                   std::string_view name) override {
    static const std::string kSql = std::string("SELECT ") + kTemplateColumns +
                                    " FROM message_templates WHERE workspace_id = $1::bigint AND name = $2";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find template", kSql.c_str(), Params().Add(ws.value).Add(name)));
    return FirstMessageTemplate(r);
  }

  Result<std::optional<MessageTemplateRecord>> FindMessageTemplateById(WorkspaceId ws,
                                                                       std::int64_t id) override {
    static const std::string kSql = std::string("SELECT ") + kTemplateColumns +
                                    " FROM message_templates WHERE workspace_id = $1::bigint AND id = "
                                    "$2::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find template", kSql.c_str(), Params().Add(ws.value).Add(id)));
    return FirstMessageTemplate(r);
  }

  static Result<std::optional<MessageTemplateRecord>> FirstMessageTemplate(const Rows& r) {
    if (r.size() == 0) return std::optional<MessageTemplateRecord>();
    TREU_ASSIGN_OR_RETURN(MessageTemplateRecord t, ReadMessageTemplate(r, 0));
    return std::optional<MessageTemplateRecord>(std::move(t));
  }

  Status DeleteMessageTemplate(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("delete template",
                                              "DELETE FROM message_templates WHERE workspace_id = $1::bigint "
                                              "AND name = $2 RETURNING id",
                                              Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return NotFound("template " + std::string(name), "no such template");
    return Ok();
  }

  Result<std::int64_t> EnqueueMessages(WorkspaceId ws, std::span<const OutboxMessage> messages,
                                       Timestamp now) override {
    for (const OutboxMessage& m : messages) TREU_RETURN_IF_ERROR(CheckOutboxMessage(ws, m));
    const auto pieces = EnqueuePieces(messages);
    std::int64_t inserted = 0;
    auto enqueue = [&]() -> Status {
      TREU_ASSIGN_OR_RETURN(inserted, EnqueueAll(ws, pieces, now));
      return Ok();
    };
    if (pieces.size() <= 1) {
      TREU_RETURN_IF_ERROR(enqueue());  // one statement: atomic by itself
    } else {
      TREU_RETURN_IF_ERROR(InTransaction(enqueue));
    }
    return inserted;
  }

  // Pieces of at most kEnqueueRows messages and about kEnqueueBytes of text, one statement
  // each; several pieces share a transaction.
  static std::vector<std::span<const OutboxMessage>> EnqueuePieces(std::span<const OutboxMessage> messages) {
    std::vector<std::span<const OutboxMessage>> pieces;
    std::size_t begin = 0, bytes = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const OutboxMessage& m = messages[i];
      bytes += m.idempotency_key.size() + m.recipient.size() + m.subject.size() + m.html.size() +
               m.text.size() + m.topic.size() + m.campaign.size() + 64;
      if (i + 1 == messages.size() || i + 1 - begin == kEnqueueRows || bytes >= kEnqueueBytes) {
        pieces.push_back(messages.subspan(begin, i + 1 - begin));
        begin = i + 1;
        bytes = 0;
      }
    }
    return pieces;
  }

  Result<std::int64_t> EnqueueAll(WorkspaceId ws, const std::vector<std::span<const OutboxMessage>>& pieces,
                                  Timestamp now) {
    std::int64_t inserted = 0;
    for (const auto piece : pieces) {
      TREU_ASSIGN_OR_RETURN(std::int64_t n, EnqueuePiece(ws, piece, now));
      inserted += n;
    }
    return inserted;
  }

  Result<RenderedPlans> RenderPlannedMembers(WorkspaceId ws, std::int64_t campaign_id,
                                             std::span<const CampaignMember> members,
                                             std::span<const OutboxMessage> messages, Timestamp now) override {
    for (const OutboxMessage& m : messages) TREU_RETURN_IF_ERROR(CheckOutboxMessage(ws, m));
    RenderedPlans out;
    TREU_RETURN_IF_ERROR(InTransaction([&]() -> Status {
      out = {};
      ArrayLiteral customers, outcomes;
      for (const CampaignMember& m : members) {
        customers.Add(m.customer.value);
        outcomes.Add(m.outcome);
      }
      TREU_ASSIGN_OR_RETURN(
          Rows r, conn_.Query("render planned members",
                              "UPDATE campaign_members m SET planned = false, outcome = u.o FROM unnest($3::bigint[], "
                              "$4::text[]) AS u(c, o) WHERE m.workspace_id = $1::bigint AND m.campaign_id = "
                              "$2::bigint AND m.customer_id = u.c AND m.planned RETURNING m.customer_id",
                              Params().Add(ws.value).Add(campaign_id).Add(customers).Add(outcomes)));
      std::unordered_set<std::int64_t> taken;
      for (int i = 0; i < r.size(); ++i) taken.insert(r.Int(i, 0));
      out.members = static_cast<std::int64_t>(taken.size());
      // Copies only when a member was taken away meanwhile.
      std::vector<OutboxMessage> kept;
      std::span<const OutboxMessage> mine = messages;
      if (std::any_of(messages.begin(), messages.end(),
                      [&](const OutboxMessage& m) { return !taken.contains(m.customer.value); })) {
        for (const OutboxMessage& m : messages)
          if (taken.contains(m.customer.value)) kept.push_back(m);
        mine = kept;
      }
      out.offered = static_cast<std::int64_t>(mine.size());
      TREU_ASSIGN_OR_RETURN(out.inserted, EnqueueAll(ws, EnqueuePieces(mine), now));
      return Ok();
    }));
    return out;
  }

  Result<std::int64_t> EnqueuePiece(WorkspaceId ws, std::span<const OutboxMessage> piece, Timestamp now) {
    ArrayLiteral keys, channels, customers, categories, topics, templates, campaigns, recipients,
        subjects, htmls, texts, due;
    for (const OutboxMessage& m : piece) {
      keys.Add(m.idempotency_key);
      channels.Add(ChannelName(m.channel));
      customers.Add(m.customer.value);
      categories.Add(m.category);
      topics.Add(m.topic);
      templates.Add(m.template_id);
      campaigns.Add(m.campaign);
      recipients.Add(m.recipient);
      subjects.Add(m.subject);
      htmls.Add(m.html);
      texts.Add(m.text);
      due.Add(m.next_attempt_at.micros);
    }
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("enqueue messages", kEnqueueMessagesSql,
                            Params().Add(ws.value).Add(now.micros).Add(keys).Add(channels).Add(customers)
                                .Add(categories).Add(topics).Add(templates).Add(campaigns).Add(recipients)
                                .Add(subjects).Add(htmls).Add(texts).Add(due)));
    return r.Int(0, 0);
  }

  Result<std::vector<OutboxMessage>> ClaimMessages(Channel channel, Timestamp now, std::int64_t lease_micros,
                                                   std::string_view worker, int limit) override {
    if (worker.empty()) return InvalidArgument("claim messages", "the worker has no name");
    if (limit <= 0) return std::vector<OutboxMessage>();
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("claim messages", ClaimMessagesSql().c_str(),
                            Params().Add(ChannelName(channel)).Add(now.micros).Add(std::int64_t{limit})
                                .Add(worker).Add(now.micros + lease_micros)));
    return ReadOutboxMessages(r, /*bodies=*/true);
  }

  Result<bool> FinishMessage(const MessageOutcome& o) override {
    TREU_RETURN_IF_ERROR(CheckMessageOutcome(o));
    Params p;
    p.Add(o.id).Add(o.worker).Add(MessageStateName(o.state));
    if (o.state == MessageState::kQueued) {
      p.Add(o.next_attempt_at.micros);
    } else {
      p.AddNull();
    }
    if (o.provider_id.empty()) {
      p.AddNull();
    } else {
      p.Add(o.provider_id);
    }
    p.Add(o.error);
    if (o.state == MessageState::kSent) {
      p.Add(o.at.micros);
    } else {
      p.AddNull();
    }
    p.Add(o.log_kind).Add(o.at.micros).Add(o.log_detail);
    // One statement: the outcome and its log line, or (the claim lost) neither.
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("finish message",
                    "WITH u AS (UPDATE outbox SET state = $3, next_attempt_at = coalesce($4::bigint, "
                    "next_attempt_at), provider_id = coalesce($5::text, provider_id), last_error = $6, "
                    "sent_at = coalesce($7::bigint, sent_at), claimed_by = '', lease_until = 0 WHERE "
                    "id = $1::bigint AND state = 'sending' AND claimed_by = $2 RETURNING workspace_id, "
                    "customer_id), l AS (INSERT INTO message_log (workspace_id, message_id, "
                    "customer_id, kind, at, detail) SELECT workspace_id, $1::bigint, customer_id, $8, "
                    "$9::bigint, $10 FROM u) SELECT count(*) FROM u",
                    p));
    return r.Int(0, 0) > 0;
  }

  Result<std::optional<OutboxMessage>> FindMessage(WorkspaceId ws, std::int64_t id) override {
    static const std::string kSql = std::string("SELECT ") + kOutboxColumns +
                                    " FROM outbox WHERE workspace_id = $1::bigint AND id = $2::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find message", kSql.c_str(), Params().Add(ws.value).Add(id)));
    return FirstMessage(r);
  }

  Result<std::optional<OutboxMessage>> FindMessageByKey(WorkspaceId ws, std::string_view key) override {
    static const std::string kSql = std::string("SELECT ") + kOutboxColumns +
                                    " FROM outbox WHERE workspace_id = $1::bigint AND idempotency_key = $2";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find message", kSql.c_str(), Params().Add(ws.value).Add(key)));
    return FirstMessage(r);
  }

  static Result<std::optional<OutboxMessage>> FirstMessage(const Rows& r) {
    if (r.size() == 0) return std::optional<OutboxMessage>();
    TREU_ASSIGN_OR_RETURN(OutboxMessage m, ReadOutboxMessage(r, 0, /*bodies=*/true));
    return std::optional<OutboxMessage>(std::move(m));
  }

  Result<std::vector<OutboxMessage>> ListMessages(WorkspaceId ws, const MessageFilter& filter,
                                                  std::int64_t before_id, int limit) override {
    Params p;
    p.Add(ws.value);
    AddMessageFilter(p, filter);
    p.Add(before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max())
        .Add(std::int64_t{std::max(limit, 0)});
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list messages", ListMessagesSql(MessageFilterBits(filter)), p));
    return ReadOutboxMessages(r, /*bodies=*/false);
  }

  Result<MessageCounts> CountMessages(WorkspaceId ws, std::string_view campaign) override {
    Params p;
    p.Add(ws.value);
    if (!campaign.empty()) p.Add(campaign);
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("count messages",
                            campaign.empty() ? "SELECT state, count(*) FROM outbox WHERE workspace_id = "
                                               "$1::bigint GROUP BY state"
                                             : "SELECT state, count(*) FROM outbox WHERE workspace_id = "
                                               "$1::bigint AND campaign = $2 GROUP BY state",
                            p));
    MessageCounts c;
    for (int i = 0; i < r.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(MessageState state, ParseMessageState(r.View(i, 0)));
      CountOf(c, state) = r.Int(i, 1);
    }
    return c;
  }

  Result<std::int64_t> CancelMessages(WorkspaceId ws, const MessageFilter& filter, Timestamp now) override {
    if (filter.state && *filter.state != MessageState::kQueued) return 0;  // only queued ones cancel
    MessageFilter by = filter;
    by.state.reset();
    Params p;
    p.Add(ws.value).Add(now.micros);
    AddMessageFilter(p, by);
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("cancel messages", CancelMessagesSql(MessageFilterBits(by)), p));
    return r.Int(0, 0);
  }

  Status AppendMessageLog(const MessageLogEntry& e) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("append message log",
                            "INSERT INTO message_log (workspace_id, message_id, customer_id, kind, at, detail) "
                            "SELECT workspace_id, id, customer_id, $3, $4::bigint, $5 FROM outbox WHERE "
                            "workspace_id = $1::bigint AND id = $2::bigint RETURNING id",
                            Params().Add(e.workspace.value).Add(e.message_id).Add(e.kind).Add(e.at.micros)
                                .Add(e.detail)));
    if (r.size() == 0) return NotFound("message " + std::to_string(e.message_id), "no such message");
    return Ok();
  }

  Result<std::vector<MessageLogEntry>> ListMessageLog(WorkspaceId ws, std::int64_t message_id,
                                                      CustomerId customer, int limit) override {
    const char* sql = nullptr;
    Params p;
    p.Add(ws.value);
    if (message_id > 0) {
      sql = "SELECT id, workspace_id, message_id, customer_id, kind, at, detail FROM message_log WHERE "
            "workspace_id = $1::bigint AND message_id = $2::bigint ORDER BY id LIMIT $3::bigint";
      p.Add(message_id);
    } else if (customer.valid()) {
      sql = "SELECT id, workspace_id, message_id, customer_id, kind, at, detail FROM message_log WHERE "
            "workspace_id = $1::bigint AND customer_id = $2::bigint ORDER BY id LIMIT $3::bigint";
      p.Add(customer.value);
    } else {
      return InvalidArgument("message log", "name a message or a customer");
    }
    p.Add(std::int64_t{std::max(limit, 0)});
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list message log", sql, p));
    std::vector<MessageLogEntry> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadMessageLogEntry(r, i));
    return out;
  }

  Status SuppressEmail(const EmailSuppression& e) override {
    return StatusOf(conn_.Query("suppress email",
                                "INSERT INTO email_suppressions (workspace_id, address, reason, detail, at) "
                                "VALUES ($1::bigint, $2, $3, $4, $5::bigint) ON CONFLICT (workspace_id, "
                                "address) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, "
                                "at = excluded.at",
                                Params().Add(e.workspace.value).Add(LowerAscii(e.address)).Add(e.reason)
                                    .Add(e.detail).Add(e.at.micros)));
  }

  Result<std::optional<EmailSuppression>> FindSuppression(WorkspaceId ws, std::string_view address) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find suppression",
                                              "SELECT address, reason, detail, at FROM email_suppressions "
                                              "WHERE workspace_id = $1::bigint AND address = $2",
                                              Params().Add(ws.value).Add(LowerAscii(address))));
    if (r.size() == 0) return std::optional<EmailSuppression>();
    return std::optional<EmailSuppression>(
        EmailSuppression{ws, r.Text(0, 0), r.Text(0, 1), r.Text(0, 2), Timestamp{r.Int(0, 3)}});
  }

  Result<std::vector<EmailSuppression>> ListSuppressions(WorkspaceId ws, std::string_view after_address,
                                                         int limit) override {
    // The address column sorts in byte order (COLLATE "C"), as SQLite does.
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list suppressions",
                                              "SELECT address, reason, detail, at FROM email_suppressions "
                                              "WHERE workspace_id = $1::bigint AND address > $2 ORDER BY "
                                              "address LIMIT $3::bigint",
                                              Params().Add(ws.value).Add(LowerAscii(after_address))
                                                  .Add(std::int64_t{std::max(limit, 0)})));
    std::vector<EmailSuppression> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({ws, r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), Timestamp{r.Int(i, 3)}});
    }
    return out;
  }

  Result<bool> DeleteSuppression(WorkspaceId ws, std::string_view address) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("delete suppression",
                                              "DELETE FROM email_suppressions WHERE workspace_id = $1::bigint "
                                              "AND address = $2 RETURNING 1",
                                              Params().Add(ws.value).Add(LowerAscii(address))));
    return r.size() > 0;
  }

  Result<ConsentRecord> AddConsentRecord(const ConsentRecord& c) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("add consent record",
                            "INSERT INTO consent_records (workspace_id, customer_id, channel, action, at, ip, "
                            "user_agent, text_version, source) VALUES ($1::bigint, $2::bigint, $3, $4, "
                            "$5::bigint, $6, $7, $8, $9) RETURNING id",
                            Params().Add(c.workspace.value).Add(c.customer.value).Add(ChannelName(c.channel))
                                .Add(c.action).Add(c.at.micros).Add(c.ip).Add(c.user_agent).Add(c.text_version)
                                .Add(c.source)));
    ConsentRecord out = c;
    out.id = r.Int(0, 0);
    return out;
  }

  Result<std::vector<ConsentRecord>> ListConsentRecords(WorkspaceId ws, CustomerId customer,
                                                        std::int64_t after_id, int limit) override {
    Params p;
    p.Add(ws.value);
    if (customer.valid()) p.Add(customer.value);
    p.Add(after_id).Add(std::int64_t{std::max(limit, 0)});
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list consent records",
                            customer.valid()
                                ? "SELECT id, customer_id, channel, action, at, ip, user_agent, text_version, "
                                  "source FROM consent_records WHERE workspace_id = $1::bigint AND "
                                  "customer_id = $2::bigint AND id > $3::bigint ORDER BY id LIMIT $4::bigint"
                                : "SELECT id, customer_id, channel, action, at, ip, user_agent, text_version, "
                                  "source FROM consent_records WHERE workspace_id = $1::bigint AND id > "
                                  "$2::bigint ORDER BY id LIMIT $3::bigint",
                            p));
    std::vector<ConsentRecord> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(ConsentRecord c, ReadConsentRecord(r, i, ws));
      out.push_back(std::move(c));
    }
    return out;
  }

  Status SaveMessagePreferences(const MessagePreferences& m) override {
    TREU_ASSIGN_OR_RETURN(std::string topics, EncodeTopics(m.topics_off));
    Params p;
    p.Add(m.workspace.value).Add(m.customer.value).Add(topics);
    AddOptional(p, OptionalMicros(m.paused_until));
    p.Add(std::int64_t{m.tracking_off ? 1 : 0}).Add(m.updated_at.micros);
    return StatusOf(conn_.Query("save message preferences",
                                "INSERT INTO message_preferences (workspace_id, customer_id, topics_off, "
                                "paused_until, tracking_off, updated_at) VALUES ($1::bigint, $2::bigint, $3, "
                                "$4::bigint, $5::integer, $6::bigint) ON CONFLICT (workspace_id, customer_id) DO "
                                "UPDATE SET topics_off = excluded.topics_off, paused_until = excluded.paused_until, "
                                "tracking_off = excluded.tracking_off, updated_at = excluded.updated_at",
                                p));
  }

  Result<std::optional<MessagePreferences>> FindMessagePreferences(WorkspaceId ws, CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find message preferences",
                                              "SELECT topics_off, paused_until, tracking_off, updated_at FROM "
                                              "message_preferences WHERE workspace_id = $1::bigint AND "
                                              "customer_id = $2::bigint",
                                              Params().Add(ws.value).Add(customer.value)));
    if (r.size() == 0) return std::optional<MessagePreferences>();
    return std::optional<MessagePreferences>(MessagePreferences{ws, customer, DecodeTierList(r.View(0, 0)),
                                                                OptionalTimestamp(r, 0, 1), r.Int(0, 2) != 0,
                                                                Timestamp{r.Int(0, 3)}});
  }

  Status SaveMessagingSettings(const MessagingSettingsRecord& s) override {
    TREU_RETURN_IF_ERROR(CheckMessagingSettings(s));
    return StatusOf(conn_.Query(
        "save messaging settings",
        "INSERT INTO messaging_settings (workspace_id, from_name, from_address, reply_to, transport, "
        "smtp_url, smtp_tls, smtp_username, smtp_password_sealed, dkim_domain, dkim_selector, "
        "dkim_key_sealed, consent_text_version, max_attempts, updated_at, public_url, track_engagement) VALUES "
        "($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::integer, $15::bigint, $16, "
        "$17::integer) ON CONFLICT (workspace_id) DO "
        "UPDATE SET from_name = excluded.from_name, from_address = excluded.from_address, reply_to = "
        "excluded.reply_to, transport = excluded.transport, smtp_url = excluded.smtp_url, smtp_tls = "
        "excluded.smtp_tls, smtp_username = excluded.smtp_username, smtp_password_sealed = "
        "excluded.smtp_password_sealed, dkim_domain = excluded.dkim_domain, dkim_selector = "
        "excluded.dkim_selector, dkim_key_sealed = excluded.dkim_key_sealed, consent_text_version = "
        "excluded.consent_text_version, max_attempts = excluded.max_attempts, updated_at = "
        "excluded.updated_at, public_url = excluded.public_url, track_engagement = excluded.track_engagement",
        Params().Add(s.workspace.value).Add(s.from_name).Add(s.from_address).Add(s.reply_to).Add(s.transport)
            .Add(s.smtp_url).Add(s.smtp_tls).Add(s.smtp_username).Add(s.smtp_password_sealed)
            .Add(s.dkim_domain).Add(s.dkim_selector).Add(s.dkim_key_sealed).Add(s.consent_text_version)
            .Add(std::int64_t{s.max_attempts}).Add(s.updated_at.micros).Add(s.public_url)
            .Add(std::int64_t{s.track_engagement ? 1 : 0})));
  }

  Result<std::optional<MessagingSettingsRecord>> FindMessagingSettings(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find messaging settings",
                            "SELECT from_name, from_address, reply_to, transport, smtp_url, smtp_tls, "
                            "smtp_username, smtp_password_sealed, dkim_domain, dkim_selector, "
                            "dkim_key_sealed, consent_text_version, max_attempts, updated_at, public_url, "
                            "track_engagement FROM messaging_settings WHERE workspace_id = $1::bigint",
                            Params().Add(ws.value)));
    if (r.size() == 0) return std::optional<MessagingSettingsRecord>();
    MessagingSettingsRecord s;
    s.workspace = ws;
    s.from_name = r.Text(0, 0);
    s.from_address = r.Text(0, 1);
    s.reply_to = r.Text(0, 2);
    s.transport = r.Text(0, 3);
    s.smtp_url = r.Text(0, 4);
    s.smtp_tls = r.Text(0, 5);
    s.smtp_username = r.Text(0, 6);
    s.smtp_password_sealed = r.Text(0, 7);
    s.dkim_domain = r.Text(0, 8);
    s.dkim_selector = r.Text(0, 9);
    s.dkim_key_sealed = r.Text(0, 10);
    s.consent_text_version = r.Text(0, 11);
    s.max_attempts = static_cast<int>(r.Int(0, 12));
    s.updated_at = Timestamp{r.Int(0, 13)};
    s.public_url = r.Text(0, 14);
    s.track_engagement = r.Int(0, 15) != 0;
    return std::optional<MessagingSettingsRecord>(std::move(s));
  }

  // ---- Channels beyond email

  Result<PushSubscriptionRecord> SavePushSubscription(const PushSubscriptionRecord& p) override {
    TREU_RETURN_IF_ERROR(CheckPushSubscription(p));
    // Inserted only for a customer of the workspace: no row back means there is none.
    static const std::string kSql =
        std::string(
            "INSERT INTO push_subscriptions (workspace_id, customer_id, endpoint, p256dh, auth, "
            "user_agent, created_at, updated_at) SELECT $1::bigint, $2::bigint, $3, $4, $5, $6, "
            "$7::bigint, $8::bigint WHERE EXISTS (SELECT 1 FROM customers WHERE workspace_id = "
            "$1::bigint AND id = $2::bigint) ON CONFLICT (workspace_id, endpoint) DO UPDATE SET "
            "customer_id = excluded.customer_id, p256dh = excluded.p256dh, auth = excluded.auth, "
            "user_agent = excluded.user_agent, updated_at = excluded.updated_at RETURNING ") +
        kPushSubscriptionColumns;
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("save push subscription", kSql.c_str(),
                            Params().Add(p.workspace.value).Add(p.customer.value).Add(p.endpoint).Add(p.p256dh)
                                .Add(p.auth).Add(p.user_agent).Add(p.created_at.micros)
                                .Add(p.updated_at.micros)));
    if (r.size() == 0) {
      return NotFound("push subscription " + p.endpoint,
                      "no customer " + std::to_string(p.customer.value) + " in the workspace");
    }
    return ReadPushSubscription(r, 0);
  }

  Result<std::vector<PushSubscriptionRecord>> ListPushSubscriptions(WorkspaceId ws, CustomerId customer,
                                                                    std::int64_t after_id, int limit) override {
    static const std::string kByCustomer = std::string("SELECT ") + kPushSubscriptionColumns +
                                           " FROM push_subscriptions WHERE workspace_id = $1::bigint AND "
                                           "customer_id = $2::bigint AND id > $3::bigint ORDER BY id LIMIT "
                                           "$4::bigint";
    static const std::string kAll = std::string("SELECT ") + kPushSubscriptionColumns +
                                    " FROM push_subscriptions WHERE workspace_id = $1::bigint AND id > "
                                    "$2::bigint ORDER BY id LIMIT $3::bigint";
    Params p;
    p.Add(ws.value);
    if (customer.valid()) p.Add(customer.value);
    p.Add(after_id).Add(std::int64_t{std::max(limit, 0)});
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list push subscriptions",
                                              customer.valid() ? kByCustomer.c_str() : kAll.c_str(), p));
    return ReadPushSubscriptions(r);
  }

  Result<std::optional<PushSubscriptionRecord>> FindPushSubscription(WorkspaceId ws, std::int64_t id) override {
    static const std::string kSql = std::string("SELECT ") + kPushSubscriptionColumns +
                                    " FROM push_subscriptions WHERE workspace_id = $1::bigint AND id = "
                                    "$2::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find push subscription", kSql.c_str(),
                                              Params().Add(ws.value).Add(id)));
    if (r.size() == 0) return std::optional<PushSubscriptionRecord>();
    return std::optional<PushSubscriptionRecord>(ReadPushSubscription(r, 0));
  }

  Result<bool> DeletePushSubscription(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("delete push subscription",
                                              "DELETE FROM push_subscriptions WHERE workspace_id = $1::bigint "
                                              "AND id = $2::bigint RETURNING 1",
                                              Params().Add(ws.value).Add(id)));
    return r.size() > 0;
  }

  Result<bool> DeletePushSubscriptionByEndpoint(WorkspaceId ws, std::string_view endpoint) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("delete push subscription",
                                              "DELETE FROM push_subscriptions WHERE workspace_id = $1::bigint "
                                              "AND endpoint = $2 RETURNING 1",
                                              Params().Add(ws.value).Add(endpoint)));
    return r.size() > 0;
  }

  Result<WebhookEndpointRecord> SaveWebhookEndpoint(const WebhookEndpointRecord& e) override {
    TREU_RETURN_IF_ERROR(CheckWebhookEndpoint(e));
    static const std::string kSql =
        std::string(
            "INSERT INTO webhook_endpoints (workspace_id, name, url, format, secret_sealed, created_at, "
            "updated_at) VALUES ($1::bigint, $2, $3, $4, $5, $6::bigint, $7::bigint) ON CONFLICT "
            "(workspace_id, name) DO UPDATE SET url = excluded.url, format = excluded.format, "
            "secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at RETURNING ") +
        kWebhookEndpointColumns;
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("save webhook endpoint " + e.name, kSql.c_str(),
                            Params().Add(e.workspace.value).Add(e.name).Add(e.url).Add(e.format)
                                .Add(e.secret_sealed).Add(e.created_at.micros).Add(e.updated_at.micros)));
    if (r.size() == 0) return Internal("postgresql: save webhook endpoint " + e.name, "no row after saving");
    return ReadWebhookEndpoint(r, 0);
  }

  Result<std::vector<WebhookEndpointRecord>> ListWebhookEndpoints(WorkspaceId ws) override {
    // The name column sorts in byte order (COLLATE "C"), as SQLite does.
    static const std::string kSql = std::string("SELECT ") + kWebhookEndpointColumns +
                                    " FROM webhook_endpoints WHERE workspace_id = $1::bigint ORDER BY name";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list webhook endpoints", kSql.c_str(), Params().Add(ws.value)));
    std::vector<WebhookEndpointRecord> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back(ReadWebhookEndpoint(r, i));
    return out;
  }

  Result<std::optional<WebhookEndpointRecord>> FindWebhookEndpoint(WorkspaceId ws,
                                                                   std::string_view name) override {
    static const std::string kSql = std::string("SELECT ") + kWebhookEndpointColumns +
                                    " FROM webhook_endpoints WHERE workspace_id = $1::bigint AND name = $2";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find webhook endpoint", kSql.c_str(),
                                              Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return std::optional<WebhookEndpointRecord>();
    return std::optional<WebhookEndpointRecord>(ReadWebhookEndpoint(r, 0));
  }

  Status DeleteWebhookEndpoint(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("delete webhook endpoint",
                                              "DELETE FROM webhook_endpoints WHERE workspace_id = $1::bigint "
                                              "AND name = $2 RETURNING 1",
                                              Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return NotFound("webhook endpoint " + std::string(name), "no such endpoint");
    return Ok();
  }

  Status SaveChannelSettings(const ChannelSettingsRecord& s) override {
    return StatusOf(conn_.Query(
        "save channel settings",
        "INSERT INTO channel_settings (workspace_id, vapid_public_key, vapid_private_sealed, vapid_subject, "
        "identity_secret_sealed, updated_at) VALUES ($1::bigint, $2, $3, $4, $5, $6::bigint) ON CONFLICT "
        "(workspace_id) DO UPDATE SET vapid_public_key = excluded.vapid_public_key, vapid_private_sealed = "
        "excluded.vapid_private_sealed, vapid_subject = excluded.vapid_subject, identity_secret_sealed = "
        "excluded.identity_secret_sealed, updated_at = excluded.updated_at",
        Params().Add(s.workspace.value).Add(s.vapid_public_key).Add(s.vapid_private_sealed).Add(s.vapid_subject)
            .Add(s.identity_secret_sealed).Add(s.updated_at.micros)));
  }

  Result<std::optional<ChannelSettingsRecord>> FindChannelSettings(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find channel settings",
                            "SELECT vapid_public_key, vapid_private_sealed, vapid_subject, "
                            "identity_secret_sealed, updated_at FROM channel_settings WHERE workspace_id = "
                            "$1::bigint",
                            Params().Add(ws.value)));
    if (r.size() == 0) return std::optional<ChannelSettingsRecord>();
    ChannelSettingsRecord s;
    s.workspace = ws;
    s.vapid_public_key = r.Text(0, 0);
    s.vapid_private_sealed = r.Text(0, 1);
    s.vapid_subject = r.Text(0, 2);
    s.identity_secret_sealed = r.Text(0, 3);
    s.updated_at = Timestamp{r.Int(0, 4)};
    return std::optional<ChannelSettingsRecord>(std::move(s));
  }

  Result<std::vector<OutboxMessage>> ListInAppMessages(WorkspaceId ws, CustomerId customer, Timestamp since,
                                                       int limit) override {
    if (limit <= 0) return std::vector<OutboxMessage>();
    // The customer's messages newest first on outbox_by_customer; the dismissed check is an
    // anti-join on message_log_by_message.
    static const std::string kSql =
        std::string("SELECT ") + kOutboxColumns +
        " FROM outbox o WHERE workspace_id = $1::bigint AND customer_id = $2::bigint AND channel = $3 AND "
        "state = 'sent' AND sent_at >= $4::bigint AND NOT EXISTS (SELECT 1 FROM message_log l WHERE "
        "l.message_id = o.id AND l.kind = 'dismissed') ORDER BY id DESC LIMIT $5::bigint";
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list in-app messages", kSql.c_str(),
                            Params().Add(ws.value).Add(customer.value).Add(ChannelName(Channel::kInApp))
                                .Add(since.micros).Add(std::int64_t{std::min(limit, 100)})));
    return ReadOutboxMessages(r, /*bodies=*/true);
  }

  // ---- Campaigns

  Result<CampaignRecord> SaveCampaign(const CampaignRecord& c) override {
    TREU_RETURN_IF_ERROR(CheckCampaign(c));
    static const std::string kSql =
        std::string(
            "INSERT INTO campaigns (workspace_id, name, state, segment, where_expr, variants, holdout_permille, "
            "test_permille, winner_metric, test_window, winner, split_key, send_at, local_time, "
            "optimize_send_time, goal_window, last_error, created_at, updated_at, launched_at, test_ends_at, "
            "finished_at, survey) VALUES ($1::bigint, $2, $3, $4, $5, $6, $7::bigint, $8::bigint, $9, "
            "$10::bigint, $11::bigint, $12, $13::bigint, $14, $15::bigint, $16::bigint, $17, $18::bigint, "
            "$19::bigint, $20::bigint, $21::bigint, $22::bigint, $23) ON CONFLICT (workspace_id, name) DO UPDATE SET state = "
            "excluded.state, segment = excluded.segment, where_expr = excluded.where_expr, variants = "
            "excluded.variants, holdout_permille = excluded.holdout_permille, test_permille = "
            "excluded.test_permille, winner_metric = excluded.winner_metric, test_window = excluded.test_window, "
            "winner = excluded.winner, split_key = excluded.split_key, send_at = excluded.send_at, local_time = "
            "excluded.local_time, optimize_send_time = excluded.optimize_send_time, goal_window = "
            "excluded.goal_window, last_error = excluded.last_error, updated_at = excluded.updated_at, "
            "launched_at = excluded.launched_at, test_ends_at = excluded.test_ends_at, finished_at = "
            "excluded.finished_at, survey = excluded.survey RETURNING ") +
        kCampaignColumns;
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("save campaign " + c.name, kSql.c_str(), CampaignParams(c, true)));
    if (r.size() == 0) return Internal("postgresql: save campaign " + c.name, "no row after saving");
    return ReadCampaign(r, 0);
  }

  Result<std::vector<CampaignRecord>> ListCampaigns(WorkspaceId ws) override {
    static const std::string kSql = std::string("SELECT ") + kCampaignColumns +
                                    " FROM campaigns WHERE workspace_id = $1::bigint ORDER BY name";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list campaigns", kSql.c_str(), Params().Add(ws.value)));
    return ReadCampaigns(r);
  }

  Result<std::optional<CampaignRecord>> FindCampaign(WorkspaceId ws, std::string_view name) override {
    static const std::string kSql = std::string("SELECT ") + kCampaignColumns +
                                    " FROM campaigns WHERE workspace_id = $1::bigint AND name = $2";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find campaign", kSql.c_str(), Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return std::optional<CampaignRecord>();
    TREU_ASSIGN_OR_RETURN(CampaignRecord c, ReadCampaign(r, 0));
    return std::optional<CampaignRecord>(std::move(c));
  }

  Status DeleteCampaign(WorkspaceId ws, std::string_view name) override {
    return InTransaction([&]() -> Status {
      const Params p = Params().Add(ws.value).Add(name);
      TREU_RETURN_IF_ERROR(conn_.Query("delete campaign members",
                                       "DELETE FROM campaign_members WHERE campaign_id IN (SELECT id FROM campaigns "
                                       "WHERE workspace_id = $1::bigint AND name = $2)",
                                       p));
      TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("delete campaign",
                                                "DELETE FROM campaigns WHERE workspace_id = $1::bigint AND name = "
                                                "$2 RETURNING id",
                                                p));
      if (r.size() == 0) return NotFound("campaign " + std::string(name), "no such campaign");
      return Ok();
    });
  }

  Result<bool> UpdateCampaignIf(const CampaignRecord& c, CampaignState expected) override {
    TREU_RETURN_IF_ERROR(CheckCampaign(c));
    // One statement: the row is locked while its state is compared and written.
    Params p = CampaignParams(c, false);
    p.Add(c.id).Add(CampaignStateName(expected));
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("update campaign " + c.name,
                            "WITH target AS (SELECT id, state FROM campaigns WHERE workspace_id = $1::bigint AND id = "
                            "$23::bigint FOR UPDATE), changed AS (UPDATE campaigns SET name = $2, state = $3, "
                            "segment = $4, where_expr = $5, variants = $6, holdout_permille = $7::bigint, "
                            "test_permille = $8::bigint, winner_metric = $9, test_window = $10::bigint, winner = "
                            "$11::bigint, split_key = $12, send_at = $13::bigint, local_time = $14, "
                            "optimize_send_time = $15::bigint, goal_window = $16::bigint, last_error = $17, "
                            "updated_at = $18::bigint, launched_at = $19::bigint, test_ends_at = $20::bigint, "
                            "finished_at = $21::bigint, survey = $22 FROM target WHERE campaigns.id = target.id AND "
                            "target.state = $24 RETURNING campaigns.id) SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM "
                            "changed)",
                            p));
    if (r.Int(0, 0) == 0) return NotFound("campaign " + c.name, "no such campaign");
    return r.Int(0, 1) > 0;
  }

  Result<std::vector<CampaignRecord>> ListDueCampaigns(Timestamp now, Timestamp stale_before) override {
    static const std::string kSql =
        std::string("SELECT ") + kCampaignColumns +
        " FROM campaigns WHERE (state = 'scheduled' AND send_at <= $1::bigint) OR (state = 'testing' AND "
        "test_ends_at <= $1::bigint) OR (state = 'running' AND updated_at < $2::bigint) ORDER BY id";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list due campaigns", kSql.c_str(),
                                              Params().Add(now.micros).Add(stale_before.micros)));
    return ReadCampaigns(r);
  }

  Status SaveCampaignMembers(WorkspaceId ws, std::int64_t campaign_id,
                             std::span<const CampaignMember> members) override {
    if (members.empty()) return Ok();
    return InTransaction([&]() -> Status {
      TREU_ASSIGN_OR_RETURN(Rows owner, conn_.Query("find campaign",
                                                    "SELECT 1 FROM campaigns WHERE workspace_id = $1::bigint AND id "
                                                    "= $2::bigint",
                                                    Params().Add(ws.value).Add(campaign_id)));
      if (owner.size() == 0)
        return NotFound("campaign " + std::to_string(campaign_id), "no such campaign in this workspace");
      constexpr std::size_t kPiece = 20'000;
      for (std::size_t begin = 0; begin < members.size(); begin += kPiece) {
        ArrayLiteral customers, arms, dues, outcomes, planned;
        for (const CampaignMember& m : members.subspan(begin, std::min(kPiece, members.size() - begin))) {
          customers.Add(m.customer.value);
          arms.Add(std::int64_t{m.arm});
          dues.Add(m.due.micros);
          outcomes.Add(m.outcome);
          planned.Add(std::int64_t{m.planned ? 1 : 0});
        }
        TREU_RETURN_IF_ERROR(conn_.Query(
            "save campaign members",
            "INSERT INTO campaign_members (workspace_id, campaign_id, customer_id, arm, due, outcome, planned) "
            "SELECT $1::bigint, $2::bigint, u.c, u.a, u.d, u.o, u.p <> 0 FROM unnest($3::bigint[], $4::bigint[], "
            "$5::bigint[], $6::text[], $7::bigint[]) AS u(c, a, d, o, p) ON CONFLICT (campaign_id, customer_id) DO "
            "UPDATE SET arm = excluded.arm, due = excluded.due, outcome = excluded.outcome, planned = "
            "excluded.planned",
            Params().Add(ws.value).Add(campaign_id).Add(customers).Add(arms).Add(dues).Add(outcomes).Add(planned)));
      }
      return Ok();
    });
  }

  Result<std::vector<CampaignMember>> ListCampaignMembers(WorkspaceId ws, std::int64_t campaign_id, CustomerId after,
                                                          int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list campaign members",
                            "SELECT customer_id, arm, due, outcome, planned FROM campaign_members WHERE campaign_id "
                            "= $1::bigint AND workspace_id = $2::bigint AND customer_id > $3::bigint ORDER BY "
                            "customer_id LIMIT $4::bigint",
                            Params().Add(campaign_id).Add(ws.value).Add(after.value)
                                .Add(std::int64_t{std::clamp(limit, 0, 100'000)})));
    return ReadMembers(r);
  }

  Result<std::vector<std::pair<WorkspaceId, std::int64_t>>> ListCampaignsWithPlans(Timestamp before) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list campaigns with plans",
                                              "SELECT c.workspace_id, c.id FROM campaigns c WHERE EXISTS (SELECT 1 "
                                              "FROM campaign_members m WHERE m.campaign_id = c.id AND m.planned AND "
                                              "m.due < $1::bigint) ORDER BY c.id",
                                              Params().Add(before.micros)));
    std::vector<std::pair<WorkspaceId, std::int64_t>> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.emplace_back(WorkspaceId{r.Int(i, 0)}, r.Int(i, 1));
    return out;
  }

  Result<std::vector<CampaignMember>> ListPlannedMembers(WorkspaceId ws, std::int64_t campaign_id, Timestamp before,
                                                         int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("list planned members",
                            "SELECT customer_id, arm, due, outcome, planned FROM campaign_members WHERE planned AND "
                            "due < $1::bigint AND campaign_id = $2::bigint AND workspace_id = $3::bigint ORDER BY "
                            "due, customer_id LIMIT $4::bigint",
                            Params().Add(before.micros).Add(campaign_id).Add(ws.value)
                                .Add(std::int64_t{std::clamp(limit, 0, 100'000)})));
    return ReadMembers(r);
  }

  Result<std::int64_t> UnplanCampaignMembers(WorkspaceId ws, std::int64_t campaign_id, std::optional<CustomerId> customer,
                                             std::string_view outcome) override {
    Params p;
    p.Add(outcome).Add(campaign_id).Add(ws.value);
    AddOptional(p, customer ? std::optional(customer->value) : std::nullopt);
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("unplan campaign members",
                                              "UPDATE campaign_members SET planned = false, outcome = $1 WHERE "
                                              "planned AND campaign_id = $2::bigint AND workspace_id = $3::bigint "
                                              "AND ($4::bigint IS NULL OR customer_id = $4::bigint) RETURNING 1",
                                              p));
    return std::int64_t{r.size()};
  }

  Result<std::vector<MarketingMessageRow>> ListMarketingMessages(WorkspaceId ws, Timestamp from,
                                                                 Timestamp to) override {
    // The outbox's rows and the planned ones, each read in time order along an index, merged.
    std::vector<MarketingMessageRow> out;
    for (const char* sql :
         {"SELECT id, customer_id, next_attempt_at, state, campaign FROM outbox WHERE workspace_id = $1::bigint AND "
          "category = 'marketing' AND next_attempt_at >= $2::bigint AND next_attempt_at < $3::bigint AND state IN "
          "('queued', 'sending', 'sent') ORDER BY next_attempt_at, id",
          "SELECT -m.campaign_id, m.customer_id, m.due, 'queued', c.name FROM campaign_members m JOIN campaigns c ON "
          "c.id = m.campaign_id WHERE m.workspace_id = $1::bigint AND m.planned AND m.due >= $2::bigint AND m.due < "
          "$3::bigint ORDER BY m.due, m.campaign_id DESC"}) {
      TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list marketing messages", sql,
                                                Params().Add(ws.value).Add(from.micros).Add(to.micros)));
      const auto middle = static_cast<std::ptrdiff_t>(out.size());
      out.reserve(out.size() + static_cast<std::size_t>(r.size()));
      for (int i = 0; i < r.size(); ++i) {
        MarketingMessageRow m{r.Int(i, 0), CustomerId{r.Int(i, 1)}, Timestamp{r.Int(i, 2)}, MessageState::kQueued,
                              r.Text(i, 4)};
        TREU_ASSIGN_OR_RETURN(m.state, ParseMessageState(r.View(i, 3)));
        out.push_back(std::move(m));
      }
      std::inplace_merge(out.begin(), out.begin() + middle, out.end(), ByTimeThenId);
    }
    return out;
  }

  Result<std::vector<EngagementRow>> ListEngagements(WorkspaceId ws, Timestamp since) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list engagements",
                                              "SELECT customer_id, message_id, at, kind FROM message_log WHERE "
                                              "workspace_id = $1::bigint AND at >= $2::bigint AND kind IN "
                                              "('opened', 'clicked') ORDER BY customer_id, at, id",
                                              Params().Add(ws.value).Add(since.micros)));
    std::vector<EngagementRow> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i)
      out.push_back({CustomerId{r.Int(i, 0)}, r.Int(i, 1), Timestamp{r.Int(i, 2)}, r.Text(i, 3)});
    return out;
  }

  Status SaveDeliveryRules(const DeliveryRulesRecord& d) override {
    TREU_RETURN_IF_ERROR(conn_.Query(
        "save delivery rules",
        "INSERT INTO delivery_rules (workspace_id, cap_messages, cap_window, quiet_start, quiet_end, updated_at) "
        "VALUES ($1::bigint, $2::bigint, $3::bigint, $4, $5, $6::bigint) ON CONFLICT (workspace_id) DO UPDATE SET "
        "cap_messages = excluded.cap_messages, cap_window = excluded.cap_window, quiet_start = "
        "excluded.quiet_start, quiet_end = excluded.quiet_end, updated_at = excluded.updated_at",
        Params().Add(d.workspace.value).Add(std::int64_t{d.cap_messages}).Add(d.cap_window_micros)
            .Add(d.quiet_start).Add(d.quiet_end).Add(d.updated_at.micros)));
    return Ok();
  }

  Result<std::optional<DeliveryRulesRecord>> FindDeliveryRules(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find delivery rules",
                                              "SELECT cap_messages, cap_window, quiet_start, quiet_end, updated_at "
                                              "FROM delivery_rules WHERE workspace_id = $1::bigint",
                                              Params().Add(ws.value)));
    if (r.size() == 0) return std::optional<DeliveryRulesRecord>();
    return std::optional<DeliveryRulesRecord>(DeliveryRulesRecord{
        ws, static_cast<int>(r.Int(0, 0)), r.Int(0, 1), r.Text(0, 2), r.Text(0, 3), Timestamp{r.Int(0, 4)}});
  }

  // ---- Journeys

  Result<JourneyRecord> SaveJourney(const JourneyRecord& j) override {
    TREU_RETURN_IF_ERROR(CheckJourney(j));
    // One statement: the journey and, unless stored already (versions are immutable), its version.
    static const std::string kSql =
        std::string(
            "WITH saved AS (INSERT INTO journeys (workspace_id, name, state, version, definition, split_key, "
            "change_seq, trigger_cursor, goal_cursor, last_error, created_at, updated_at) VALUES ($1::bigint, $2, "
            "$3, $4::bigint, $5, $6, $7::bigint, $8::bigint, $9::bigint, $10, $11::bigint, $12::bigint) ON "
            "CONFLICT (workspace_id, name) DO UPDATE SET state = excluded.state, version = excluded.version, "
            "definition = excluded.definition, split_key = excluded.split_key, last_error = excluded.last_error, "
            "updated_at = excluded.updated_at RETURNING ") +
        kJourneyColumns +
        "), stored_version AS (INSERT INTO journey_versions (journey_id, version, definition, created_at) SELECT id, "
        "$4::bigint, $5, $12::bigint FROM saved ON CONFLICT (journey_id, version) DO NOTHING) SELECT " +
        kJourneyColumns + " FROM saved";
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("save journey " + j.name, kSql.c_str(),
                            Params().Add(j.workspace.value).Add(j.name).Add(j.state).Add(std::int64_t{j.version})
                                .Add(j.definition).Add(j.split_key).Add(j.change_seq).Add(j.trigger_cursor)
                                .Add(j.goal_cursor).Add(j.last_error).Add(j.created_at.micros)
                                .Add(j.updated_at.micros)));
    if (r.size() == 0) return Internal("postgresql: save journey " + j.name, "no row after saving");
    return ReadJourney(r, 0);
  }

  Result<std::vector<JourneyRecord>> ListJourneys(WorkspaceId ws) override {
    static const std::string kSql = std::string("SELECT ") + kJourneyColumns +
                                    " FROM journeys WHERE workspace_id = $1::bigint ORDER BY name";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list journeys", kSql.c_str(), Params().Add(ws.value)));
    return ReadJourneys(r);
  }

  Result<std::optional<JourneyRecord>> FindJourney(WorkspaceId ws, std::string_view name) override {
    static const std::string kSql = std::string("SELECT ") + kJourneyColumns +
                                    " FROM journeys WHERE workspace_id = $1::bigint AND name = $2";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("find journey", kSql.c_str(), Params().Add(ws.value).Add(name)));
    if (r.size() == 0) return std::optional<JourneyRecord>();
    return std::optional<JourneyRecord>(ReadJourney(r, 0));
  }

  Status DeleteJourney(WorkspaceId ws, std::string_view name) override {
    return InTransaction([&]() -> Status {
      const Params p = Params().Add(ws.value).Add(name);
      TREU_RETURN_IF_ERROR(conn_.Query("delete journey step counts",
                                       "DELETE FROM journey_step_counts WHERE journey_id IN (SELECT id FROM journeys "
                                       "WHERE workspace_id = $1::bigint AND name = $2)",
                                       p));
      TREU_RETURN_IF_ERROR(conn_.Query("delete journey runs",
                                       "DELETE FROM journey_runs WHERE journey_id IN (SELECT id FROM journeys WHERE "
                                       "workspace_id = $1::bigint AND name = $2)",
                                       p));
      TREU_RETURN_IF_ERROR(conn_.Query("delete journey versions",
                                       "DELETE FROM journey_versions WHERE journey_id IN (SELECT id FROM journeys "
                                       "WHERE workspace_id = $1::bigint AND name = $2)",
                                       p));
      TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("delete journey",
                                                "DELETE FROM journeys WHERE workspace_id = $1::bigint AND name = $2 "
                                                "RETURNING id",
                                                p));
      if (r.size() == 0) return NotFound("journey " + std::string(name), "no such journey");
      return Ok();
    });
  }

  Result<std::optional<std::string>> FindJourneyVersion(WorkspaceId ws, std::int64_t journey_id,
                                                        int version) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("find journey version",
                            "SELECT v.definition FROM journey_versions v JOIN journeys j ON j.id = v.journey_id "
                            "WHERE j.workspace_id = $1::bigint AND v.journey_id = $2::bigint AND v.version = "
                            "$3::bigint",
                            Params().Add(ws.value).Add(journey_id).Add(std::int64_t{version})));
    if (r.size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.Text(0, 0));
  }

  Result<std::vector<std::int64_t>> WriteJourneyRuns(WorkspaceId ws, std::int64_t journey_id,
                                                     std::span<const JourneyRunRow> runs,
                                                     std::span<const JourneyStepCount> step_deltas,
                                                     const JourneyRecord* cursors) override {
    for (const JourneyRunRow& r : runs) TREU_RETURN_IF_ERROR(CheckJourneyRun(r));
    // The journeys written to, each checked to be of `ws`.
    std::vector<std::int64_t> journeys{journey_id};
    if (cursors != nullptr) journeys.push_back(cursors->id);
    for (const JourneyRunRow& r : runs) {
      if (r.journey_id != journeys.back()) journeys.push_back(r.journey_id);
    }
    std::sort(journeys.begin(), journeys.end());
    journeys.erase(std::unique(journeys.begin(), journeys.end()), journeys.end());
    std::vector<std::size_t> updated, inserted;  // indexes into `runs`
    for (std::size_t i = 0; i < runs.size(); ++i) (runs[i].id == 0 ? inserted : updated).push_back(i);
    std::vector<std::int64_t> ids(runs.size(), 0);
    // The run columns from journey_id on, as arrays of the runs runs[at[begin..end)].
    auto run_arrays = [&](const std::vector<std::size_t>& at, std::size_t begin, std::size_t end, Params& p) {
      ArrayLiteral journey, version, customer, zone, step, state, wake, entered, step_entered, ended, executed;
      for (std::size_t k = begin; k < end; ++k) {
        const JourneyRunRow& r = runs[at[k]];
        journey.Add(r.journey_id);
        version.Add(std::int64_t{r.version});
        customer.Add(r.customer.value);
        zone.Add(r.zone);
        step.Add(std::int64_t{r.step});
        state.Add(r.state);
        wake.Add(r.wake_at.micros);
        entered.Add(r.entered_at.micros);
        step_entered.Add(r.step_entered_at.micros);
        ended.Add(r.ended_at.micros);
        executed.Add(r.steps_executed);
      }
      p.Add(journey).Add(version).Add(customer).Add(zone).Add(step).Add(state).Add(wake).Add(entered)
          .Add(step_entered).Add(ended).Add(executed);
    };
    Status done = InTransaction([&]() -> Status {
      ArrayLiteral journey_ids;
      for (const std::int64_t id : journeys) journey_ids.Add(id);
      TREU_ASSIGN_OR_RETURN(Rows owned, conn_.Query("find journeys",
                                                    "SELECT count(*) FROM journeys WHERE workspace_id = $1::bigint "
                                                    "AND id = ANY($2::bigint[])",
                                                    Params().Add(ws.value).Add(journey_ids)));
      if (owned.Int(0, 0) != static_cast<std::int64_t>(journeys.size()))
        return NotFound("journey " + std::to_string(journey_id), "no such journey in this workspace");
      // Replaced runs first: a run that ends here makes room for the customer's next one.
      for (std::size_t begin = 0; begin < updated.size(); begin += kJourneyRunRows) {
        const std::size_t end = std::min(updated.size(), begin + kJourneyRunRows);
        ArrayLiteral run_ids;
        for (std::size_t k = begin; k < end; ++k) run_ids.Add(runs[updated[k]].id);
        Params p;
        p.Add(ws.value).Add(run_ids);
        run_arrays(updated, begin, end, p);
        TREU_ASSIGN_OR_RETURN(
            Rows r, conn_.Query("update journey runs",
                                "UPDATE journey_runs AS r SET journey_id = u.j, version = u.v, customer_id = u.c, "
                                "zone = u.z, step = u.s, state = u.st, wake_at = u.w, entered_at = u.e, "
                                "step_entered_at = u.se, ended_at = u.en, steps_executed = u.x FROM "
                                "unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], "
                                "$7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], "
                                "$13::bigint[]) AS u(id, j, v, c, z, s, st, w, e, se, en, x) WHERE r.id = u.id AND "
                                "r.workspace_id = $1::bigint RETURNING r.id",
                                p));
        if (static_cast<std::size_t>(r.size()) != end - begin)
          return NotFound("journey runs", "a run to replace is not a run of this workspace");
        for (std::size_t k = begin; k < end; ++k) ids[updated[k]] = runs[updated[k]].id;
      }
      for (std::size_t begin = 0; begin < inserted.size(); begin += kJourneyRunRows) {
        const std::size_t end = std::min(inserted.size(), begin + kJourneyRunRows);
        Params p;
        p.Add(ws.value);
        run_arrays(inserted, begin, end, p);
        // Ids are drawn in the order of the rows inserted, which is the order given.
        TREU_ASSIGN_OR_RETURN(
            Rows r, conn_.Query("insert journey runs",
                                "INSERT INTO journey_runs (workspace_id, journey_id, version, customer_id, zone, "
                                "step, state, wake_at, entered_at, step_entered_at, ended_at, steps_executed) SELECT "
                                "$1::bigint, u.j, u.v, u.c, u.z, u.s, u.st, u.w, u.e, u.se, u.en, u.x FROM "
                                "unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], "
                                "$7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], "
                                "$12::bigint[]) WITH ORDINALITY AS u(j, v, c, z, s, st, w, e, se, en, x, n) ORDER "
                                "BY u.n RETURNING id",
                                p));
        if (static_cast<std::size_t>(r.size()) != end - begin)
          return Internal("postgresql: insert journey runs", "fewer rows than runs after inserting");
        std::vector<std::int64_t> new_ids(end - begin);
        for (int i = 0; i < r.size(); ++i) new_ids[static_cast<std::size_t>(i)] = r.Int(i, 0);
        std::sort(new_ids.begin(), new_ids.end());
        for (std::size_t k = begin; k < end; ++k) ids[inserted[k]] = new_ids[k - begin];
      }
      if (!step_deltas.empty()) {
        ArrayLiteral versions, steps, outcomes, counts;
        for (const JourneyStepCount& d : step_deltas) {
          if (d.count == 0) continue;
          versions.Add(std::int64_t{d.version});
          steps.Add(d.step_id);
          outcomes.Add(d.outcome);
          counts.Add(d.count);
        }
        // Summed per key first: one statement can't update a row twice.
        TREU_RETURN_IF_ERROR(conn_.Query(
            "count journey steps",
            "INSERT INTO journey_step_counts (journey_id, version, step_id, outcome, count) SELECT $1::bigint, u.v, "
            "u.s, u.o, sum(u.c)::bigint FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS u(v, s, "
            "o, c) GROUP BY u.v, u.s, u.o ON CONFLICT (journey_id, version, step_id, outcome) DO UPDATE SET count = "
            "journey_step_counts.count + excluded.count",
            Params().Add(journey_id).Add(versions).Add(steps).Add(outcomes).Add(counts)));
      }
      if (cursors != nullptr) {
        TREU_RETURN_IF_ERROR(conn_.Query("write journey cursors",
                                         "UPDATE journeys SET change_seq = $1::bigint, trigger_cursor = $2::bigint, "
                                         "goal_cursor = $3::bigint, last_error = $4, updated_at = $5::bigint WHERE "
                                         "workspace_id = $6::bigint AND id = $7::bigint",
                                         Params().Add(cursors->change_seq).Add(cursors->trigger_cursor)
                                             .Add(cursors->goal_cursor).Add(cursors->last_error)
                                             .Add(cursors->updated_at.micros).Add(ws.value).Add(cursors->id)));
      }
      return Ok();
    });
    if (!done) {
      if (done.error().code() == ErrorCode::kAlreadyExists)
        return AlreadyExists("journey runs", "a customer is inside the journey already: " + done.error().detail());
      return std::unexpected(done.error());
    }
    return ids;
  }

  Result<std::vector<JourneyRunRow>> ListJourneyRuns(WorkspaceId ws, const JourneyRunFilter& filter,
                                                     std::int64_t after_id, int limit) override {
    Params p;
    p.Add(ws.value);
    if (filter.journey_id != 0) p.Add(filter.journey_id);
    if (filter.customer.valid()) p.Add(filter.customer.value);
    p.Add(after_id).Add(std::int64_t{std::clamp(limit, 0, 100'000)});
    TREU_ASSIGN_OR_RETURN(Rows r,
                          conn_.Query("list journey runs", ListJourneyRunsSql(JourneyRunFilterBits(filter)), p));
    return ReadJourneyRuns(r);
  }

  Result<std::vector<JourneyRunRow>> ListDueJourneyRuns(WorkspaceId ws, Timestamp now, int limit) override {
    static const std::string kSql =
        std::string("SELECT ") + kJourneyRunColumns +
        " FROM journey_runs WHERE workspace_id = $1::bigint AND wake_at <= $2::bigint AND state IN ('waiting', "
        "'waiting_for_event') AND journey_id IN (SELECT id FROM journeys WHERE workspace_id = $1::bigint AND "
        "state = 'active') ORDER BY wake_at, id LIMIT $3::bigint";
    TREU_ASSIGN_OR_RETURN(Rows r, conn_.Query("list due journey runs", kSql.c_str(),
                                              Params().Add(ws.value).Add(now.micros)
                                                  .Add(std::int64_t{std::clamp(limit, 0, 100'000)})));
    return ReadJourneyRuns(r);
  }

  Result<std::vector<JourneyStepCount>> CountJourneySteps(WorkspaceId ws, std::int64_t journey_id) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("count journey steps",
                            "SELECT c.version, c.step_id, c.outcome, c.count FROM journey_step_counts c JOIN "
                            "journeys j ON j.id = c.journey_id WHERE j.workspace_id = $1::bigint AND c.journey_id = "
                            "$2::bigint ORDER BY c.version, c.step_id, c.outcome",
                            Params().Add(ws.value).Add(journey_id)));
    std::vector<JourneyStepCount> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i)
      out.push_back({static_cast<int>(r.Int(i, 0)), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3)});
    return out;
  }

  Result<std::vector<JourneyRunCount>> CountJourneyRuns(WorkspaceId ws, std::int64_t journey_id) override {
    TREU_ASSIGN_OR_RETURN(
        Rows r, conn_.Query("count journey runs",
                            "SELECT version, step, state, count(*) FROM journey_runs WHERE workspace_id = $1::bigint "
                            "AND journey_id = $2::bigint GROUP BY version, step, state ORDER BY version, step, "
                            "state COLLATE \"C\"",
                            Params().Add(ws.value).Add(journey_id)));
    std::vector<JourneyRunCount> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i)
      out.push_back({static_cast<int>(r.Int(i, 0)), static_cast<int>(r.Int(i, 1)), r.Text(i, 2), r.Int(i, 3)});
    return out;
  }

  Result<std::vector<Change>> ReadChanges(WorkspaceId ws, std::int64_t after_seq,
                                          int limit) override {
    std::vector<Change> out;
    if (limit <= 0) return out;
    TREU_ASSIGN_OR_RETURN(
        Rows r,
        conn_.Query("read changes",
                    "SELECT seq, entity, entity_id, last_entity_id, op, at FROM "
                    "changes WHERE "
                    "workspace_id = $1::bigint AND seq > $2::bigint ORDER BY seq "
                    "LIMIT $3::bigint",
                    Params().Add(ws.value).Add(after_seq).Add(static_cast<std::int64_t>(limit))));
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      Change c;
      c.seq = r.Int(i, 0);
      TREU_ASSIGN_OR_RETURN(c.entity, ParseEntity(r.View(i, 1)));
      c.entity_id = r.Int(i, 2);
      c.last_entity_id = r.Int(i, 3);
      TREU_ASSIGN_OR_RETURN(c.op, ParseChangeOp(r.View(i, 4)));
      c.at = Timestamp{r.Int(i, 5)};
      out.push_back(c);
    }
    return out;
  }

 private:
  // The rows of `loaded` (keyed by external id) in the order of `page`; ids missing from
  // `loaded` are left out.
  template <typename T>
  static std::vector<T> InPageOrder(const std::vector<std::string>& page,
                                    std::unordered_map<std::string, T>& loaded) {
    std::vector<T> out;
    out.reserve(page.size());
    for (const std::string& ext : page) {
      const auto it = loaded.find(ext);
      if (it != loaded.end()) out.push_back(std::move(it->second));
    }
    return out;
  }

  // Adds the progress and outcome of a job as parameters: bytes_total, bytes_read, rows,
  // rows_rejected, inserted, updated, unchanged, error, issues, finished_at.
  static void AddImportJobProgress(Params& p, const ImportJob& job) {
    p.Add(job.bytes_total)
        .Add(job.bytes_read)
        .Add(job.rows)
        .Add(job.rows_rejected)
        .Add(job.inserted)
        .Add(job.updated)
        .Add(job.unchanged)
        .Add(job.error)
        .Add(job.issues);
    if (job.finished_at) {
      p.Add(job.finished_at->micros);
    } else {
      p.AddNull();
    }
  }

  const Clock& clock_;
  Conn conn_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url, const Clock& clock) {
  auto store = std::make_unique<PostgresStore>(clock);
  TREU_RETURN_IF_ERROR(store->Open(url));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace treu
