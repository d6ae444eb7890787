#include "storage/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <unordered_set>
#include <tuple>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

namespace treu {
namespace sqlite_migrations {
extern const std::pair<std::string_view, std::string_view> kFiles[];
extern const std::size_t kFiles_count;
}  // namespace sqlite_migrations

namespace {

constexpr int kBusyTimeoutMs = 30'000;

std::unexpected<Error> SqliteError(sqlite3* db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  std::string detail = sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return Unavailable("sqlite: " + std::string(what), "database is busy: " + detail);
  }
  if ((code & 0xff) == SQLITE_FULL) {
    return MakeError(ErrorCode::kResourceExhausted, "sqlite: " + std::string(what), detail);
  }
  return Internal("sqlite: " + std::string(what), detail);
}

// A prepared statement that resets itself for reuse. Owned by a StatementCache.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    next_ = 1;
    return *this;
  }
  Stmt& Bind(std::int64_t v) {
    sqlite3_bind_int64(s_, next_++, v);
    return *this;
  }
  Stmt& Bind(std::string_view v) {
    sqlite3_bind_text(s_, next_++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Binds text without copying it. REQUIRES: `v` stays valid until the statement is reset.
  Stmt& BindRef(std::string_view v) {
    sqlite3_bind_text(s_, next_++, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(double v) {
    sqlite3_bind_double(s_, next_++, v);
    return *this;
  }
  Stmt& BindNull() {
    sqlite3_bind_null(s_, next_++);
    return *this;
  }
  Stmt& Bind(std::optional<std::int64_t> v) { return v ? Bind(*v) : BindNull(); }

  // True when a row is available, false when done.
  Result<bool> Step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, sqlite3_sql(s_));
  }
  Status Run() {
    auto r = Step();
    if (!r) return std::unexpected(r.error());
    return Ok();
  }

  std::int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Double(int col) const { return sqlite3_column_double(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string Text(int col) const { return std::string(View(col)); }
  // Valid until the next Step or Reset.
  std::string_view View(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : "";
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
  int next_ = 1;
};

class Db {
 public:
  Db() = default;
  ~Db() {
    stmts_.clear();
    if (db_) sqlite3_close_v2(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status Open(const std::string& path) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      return Unavailable("sqlite: open " + path, msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    return Ok();
  }

  sqlite3* handle() const { return db_; }

  Status Exec(std::string_view sql) {
    char* err = nullptr;
    const std::string s(sql);
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return Internal("sqlite: " + s.substr(0, 60), msg);
    }
    return Ok();
  }

  // The cached prepared statement for `sql`, reset and with bindings cleared.
  Result<Stmt*> Prepare(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
        return SqliteError(db_, sql);
      }
      it = stmts_.emplace(sql, std::make_unique<Stmt>(db_, s)).first;
    }
    return &it->second->Reset();
  }

  std::int64_t Changes() const { return sqlite3_changes64(db_); }
  std::int64_t LastRowId() const { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_ = nullptr;
  // Keyed by the SQL literal's address: every statement text is a string literal.
  std::unordered_map<const char*, std::unique_ptr<Stmt>> stmts_;
};

Status Migrate(Db& db) {
  TREU_RETURN_IF_ERROR(db.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
  for (std::size_t i = 0; i < sqlite_migrations::kFiles_count; ++i) {
    const auto& [name, sql] = sqlite_migrations::kFiles[i];
    const std::int64_t version = std::stoll(std::string(name.substr(0, 3)));
    TREU_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    TREU_ASSIGN_OR_RETURN(Stmt * check,
                          db.Prepare("SELECT 1 FROM schema_migrations WHERE version = ?"));
    TREU_ASSIGN_OR_RETURN(bool applied, check->Bind(version).Step());
    check->Reset();
    if (!applied) {
      if (auto s = db.Exec(sql); !s) {
        (void)db.Exec("ROLLBACK");
        return std::unexpected(s.error().WithContext("migration " + std::string(name)));
      }
      TREU_ASSIGN_OR_RETURN(
          Stmt * rec, db.Prepare("INSERT INTO schema_migrations(version, name, applied_at) "
                                 "VALUES (?, ?, strftime('%s','now') * 1000000)"));
      TREU_RETURN_IF_ERROR(rec->Bind(version).Bind(name).Run());
    }
    TREU_RETURN_IF_ERROR(db.Exec("COMMIT"));
  }
  return Ok();
}

Result<Workspace> ReadWorkspace(Stmt& s) {
  Workspace w;
  w.id = WorkspaceId{s.Int(0)};
  w.name = s.Text(1);
  if (!s.IsNull(2)) {
    TREU_ASSIGN_OR_RETURN(w.currency, Currency::FromCode(s.Text(2)));
  }
  w.time_zone = s.Text(3);
  TREU_ASSIGN_OR_RETURN(w.retention_basis, ParseRetentionBasis(s.Text(4)));
  w.activity_window_days = static_cast<int>(s.Int(5));
  w.created_at = Timestamp{s.Int(6)};
  TREU_ASSIGN_OR_RETURN(w.purchase_model, ParsePurchaseModel(s.Text(7)));
  w.allow_private_webhooks = s.Int(8) != 0;
  w.brand_colour = s.Text(9);
  return w;
}

bool SameProfile(const Customer& a, const Customer& b) {
  return a.email == b.email && a.name == b.name && a.country == b.country &&
         a.locale == b.locale && a.time_zone == b.time_zone && a.attributes == b.attributes &&
         [&] {
           if (a.consent.size() != b.consent.size()) return false;
           for (const auto& [ch, c] : a.consent) {
             auto it = b.consent.find(ch);
             if (it == b.consent.end() || it->second.granted != c.granted ||
                 it->second.source != c.source || it->second.at != c.at) {
               return false;
             }
           }
           return true;
         }();
}

// Fills a customer's attributes and consents from their tables.
Status LoadCustomerDetails(Db& db, Customer& c) {
  TREU_ASSIGN_OR_RETURN(Stmt * a, db.Prepare("SELECT name, type, value FROM customer_attributes "
                                             "WHERE customer_id = ?"));
  a->Bind(c.id.value);
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, a->Step());
    if (!row) break;
    TREU_ASSIGN_OR_RETURN(c.attributes[a->Text(0)], AttributeFromText(a->Text(1), a->Text(2)));
  }
  TREU_ASSIGN_OR_RETURN(Stmt * k, db.Prepare("SELECT channel, granted, source, at FROM "
                                             "customer_consents WHERE customer_id = ?"));
  k->Bind(c.id.value);
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, k->Step());
    if (!row) break;
    TREU_ASSIGN_OR_RETURN(Channel ch, ParseChannel(k->Text(0)));
    c.consent[ch] = Consent{k->Int(1) != 0, k->Text(2), Timestamp{k->Int(3)}};
  }
  return Ok();
}

Customer ReadCustomerRow(const Stmt& s) {
  Customer c;
  c.id = CustomerId{s.Int(0)};
  c.external_id = s.Text(1);
  c.email = s.Text(2);
  c.name = s.Text(3);
  c.country = s.Text(4);
  c.locale = s.Text(5);
  c.time_zone = s.Text(6);
  c.created_at = Timestamp{s.Int(7)};
  c.updated_at = Timestamp{s.Int(8)};
  return c;
}

Result<std::optional<Customer>> FindCustomerIn(Db& db, WorkspaceId ws, std::string_view ext) {
  TREU_ASSIGN_OR_RETURN(
      Stmt * s, db.Prepare("SELECT id, external_id, email, name, country, locale, time_zone, "
                           "created_at, updated_at FROM customers WHERE workspace_id = ? AND "
                           "external_id = ?"));
  TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(ext).Step());
  if (!row) return std::optional<Customer>();
  Customer c = ReadCustomerRow(*s);
  s->Reset();
  TREU_RETURN_IF_ERROR(LoadCustomerDetails(db, c));
  return std::optional<Customer>(std::move(c));
}

Status LoadOrderDetails(Db& db, Order& o) {
  TREU_ASSIGN_OR_RETURN(Stmt * l, db.Prepare("SELECT product_external_id, quantity, "
                                             "unit_price_minor FROM order_lines WHERE order_id = "
                                             "? ORDER BY line_no"));
  l->Bind(o.id.value);
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, l->Step());
    if (!row) break;
    o.lines.push_back({l->Text(0), l->Int(1), l->Int(2)});
  }
  TREU_ASSIGN_OR_RETURN(Stmt * r, db.Prepare("SELECT refunded_at, amount_minor FROM refunds "
                                             "WHERE order_id = ? ORDER BY refunded_at, "
                                             "amount_minor"));
  r->Bind(o.id.value);
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, r->Step());
    if (!row) break;
    o.refunds.push_back({Timestamp{r->Int(0)}, r->Int(1)});
  }
  return Ok();
}

Result<Order> ReadOrderRow(const Stmt& s) {
  Order o;
  o.id = OrderId{s.Int(0)};
  o.external_id = s.Text(1);
  o.customer = CustomerId{s.Int(2)};
  o.customer_external_id = s.Text(3);
  o.placed_at = Timestamp{s.Int(4)};
  TREU_ASSIGN_OR_RETURN(Currency cur, Currency::FromCode(s.Text(6)));
  o.total = Money{s.Int(5), cur};
  TREU_ASSIGN_OR_RETURN(o.status, ParseOrderStatus(s.Text(7)));
  return o;
}

Result<std::optional<Order>> FindOrderIn(Db& db, WorkspaceId ws, std::string_view ext) {
  TREU_ASSIGN_OR_RETURN(
      Stmt * s, db.Prepare("SELECT o.id, o.external_id, o.customer_id, c.external_id, "
                           "o.placed_at, o.total_minor, o.currency, o.status FROM orders o JOIN "
                           "customers c ON c.id = o.customer_id WHERE o.workspace_id = ? AND "
                           "o.external_id = ?"));
  TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(ext).Step());
  if (!row) return std::optional<Order>();
  TREU_ASSIGN_OR_RETURN(Order o, ReadOrderRow(*s));
  s->Reset();
  TREU_RETURN_IF_ERROR(LoadOrderDetails(db, o));
  return std::optional<Order>(std::move(o));
}

Result<SubscriptionState> ReadStateRow(const Stmt& s, int first_col) {
  SubscriptionState st;
  st.effective_at = Timestamp{s.Int(first_col)};
  st.plan = s.Text(first_col + 1);
  TREU_ASSIGN_OR_RETURN(st.interval, ParseBillingInterval(s.Text(first_col + 2)));
  st.amount_minor = s.Int(first_col + 3);
  st.quantity = s.Int(first_col + 4);
  st.discount_bp = static_cast<int>(s.Int(first_col + 5));
  TREU_ASSIGN_OR_RETURN(st.status, ParseSubscriptionStatus(s.Text(first_col + 6)));
  return st;
}

Status LoadSubscriptionHistory(Db& db, Subscription& sub) {
  TREU_ASSIGN_OR_RETURN(
      Stmt * h, db.Prepare("SELECT effective_at, plan, interval, amount_minor, quantity, "
                           "discount_bp, status FROM subscription_changes WHERE subscription_id "
                           "= ? ORDER BY effective_at"));
  h->Bind(sub.id.value);
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, h->Step());
    if (!row) break;
    TREU_ASSIGN_OR_RETURN(SubscriptionState st, ReadStateRow(*h, 0));
    sub.history.push_back(std::move(st));
  }
  return Ok();
}

Result<Subscription> ReadSubscriptionRow(const Stmt& s) {
  Subscription sub;
  sub.id = SubscriptionId{s.Int(0)};
  sub.external_id = s.Text(1);
  sub.customer = CustomerId{s.Int(2)};
  sub.customer_external_id = s.Text(3);
  TREU_ASSIGN_OR_RETURN(sub.currency, Currency::FromCode(s.Text(4)));
  sub.started_at = Timestamp{s.Int(5)};
  if (!s.IsNull(6)) sub.ended_at = Timestamp{s.Int(6)};
  return sub;
}

constexpr const char* kFindSubscriptionSql =
    "SELECT s.id, s.external_id, s.customer_id, c.external_id, s.currency, s.started_at, "
    "s.ended_at FROM subscriptions s JOIN customers c ON c.id = s.customer_id "
    "WHERE s.workspace_id = ? AND s.external_id = ?";

Result<std::optional<Subscription>> FindSubscriptionIn(Db& db, WorkspaceId ws,
                                                       std::string_view ext) {
  TREU_ASSIGN_OR_RETURN(Stmt * s, db.Prepare(kFindSubscriptionSql));
  TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(ext).Step());
  if (!row) return std::optional<Subscription>();
  TREU_ASSIGN_OR_RETURN(Subscription sub, ReadSubscriptionRow(*s));
  s->Reset();
  TREU_RETURN_IF_ERROR(LoadSubscriptionHistory(db, sub));
  return std::optional<Subscription>(std::move(sub));
}

Result<Event> ReadEventRow(const Stmt& s) {
  Event e;
  e.id = EventId{s.Int(0)};
  TREU_ASSIGN_OR_RETURN(e.type, ParseEventType(s.Text(1)));
  e.name = s.Text(2);
  e.message_id = s.Text(3);
  e.user_id = s.Text(4);
  e.anonymous_id = s.Text(5);
  if (!s.IsNull(6)) e.customer = CustomerId{s.Int(6)};
  e.timestamp = Timestamp{s.Int(7)};
  e.received_at = Timestamp{s.Int(8)};
  e.properties_json = s.Text(9);
  return e;
}

DashboardUser ReadDashboardUser(const Stmt& s) {
  DashboardUser u;
  u.id = s.Int(0);
  u.workspace = WorkspaceId{s.Int(1)};
  u.email = s.Text(2);
  u.name = s.Text(3);
  u.role = s.Text(4);
  u.password_hash = s.Text(5);
  u.locale = s.Text(6);
  u.created_at = Timestamp{s.Int(7)};
  if (!s.IsNull(8)) u.last_login_at = Timestamp{s.Int(8)};
  return u;
}

Result<std::vector<DashboardUser>> ReadDashboardUsers(Stmt& s) {
  std::vector<DashboardUser> out;
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadDashboardUser(s));
  }
  return out;
}

Result<std::optional<DashboardUser>> FirstDashboardUser(Stmt& s) {
  TREU_ASSIGN_OR_RETURN(auto users, ReadDashboardUsers(s));
  if (users.empty()) return std::optional<DashboardUser>();
  return std::optional<DashboardUser>(std::move(users[0]));
}

Result<ApiKey> ReadApiKey(const Stmt& s) {
  ApiKey k;
  k.id = s.Int(0);
  k.workspace = WorkspaceId{s.Int(1)};
  TREU_ASSIGN_OR_RETURN(k.scope, ParseScope(s.Text(2)));
  k.prefix = s.Text(3);
  k.hash_hex = s.Text(4);
  k.name = s.Text(5);
  k.created_at = Timestamp{s.Int(6)};
  k.rate_per_minute = static_cast<int>(s.Int(7));
  if (!s.IsNull(8)) k.revoked_at = Timestamp{s.Int(8)};
  return k;
}

Result<Product> ReadProductRow(const Stmt& s) {
  Product p;
  p.id = ProductId{s.Int(0)};
  p.external_id = s.Text(1);
  p.name = s.Text(2);
  if (!s.IsNull(3)) {
    TREU_ASSIGN_OR_RETURN(Currency cur, Currency::FromCode(s.Text(4)));
    p.price = Money{s.Int(3), cur};
  }
  return p;
}

Result<std::optional<Product>> FindProductIn(Db& db, WorkspaceId ws, std::string_view ext) {
  TREU_ASSIGN_OR_RETURN(Stmt * s, db.Prepare("SELECT id, external_id, name, price_minor, currency "
                                             "FROM products WHERE workspace_id = ? AND "
                                             "external_id = ?"));
  TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(ext).Step());
  if (!row) return std::optional<Product>();
  auto p = ReadProductRow(*s);
  s->Reset();
  if (!p) return std::unexpected(p.error());
  return std::optional<Product>(std::move(*p));
}

constexpr const char* kModelRunColumns =
    "id, workspace_id, model, status, calibration_end, unit_days, params, std_errors, "
    "log_likelihood, customers, evaluations, seconds, error, created_at, finished_at";

Result<ModelRun> ReadModelRunRow(const Stmt& s) {
  ModelRun m;
  m.id = s.Int(0);
  m.workspace = WorkspaceId{s.Int(1)};
  m.model = s.Text(2);
  TREU_ASSIGN_OR_RETURN(m.status, ParseJobStatus(s.Text(3)));
  TREU_ASSIGN_OR_RETURN(m.calibration_end, ParseDate(s.Text(4)));
  m.unit_days = s.Double(5);
  TREU_ASSIGN_OR_RETURN(m.params, DecodeNamedValues(s.Text(6)));
  TREU_ASSIGN_OR_RETURN(m.std_errors, DecodeNamedValues(s.Text(7)));
  m.log_likelihood = s.Double(8);
  m.customers = s.Int(9);
  m.evaluations = s.Int(10);
  m.seconds = s.Double(11);
  m.error = s.Text(12);
  m.created_at = Timestamp{s.Int(13)};
  if (!s.IsNull(14)) m.finished_at = Timestamp{s.Int(14)};
  return m;
}

Result<ImportJob> ReadImportJobRow(const Stmt& s) {
  ImportJob j;
  j.id = s.Int(0);
  j.workspace = WorkspaceId{s.Int(1)};
  j.kind = s.Text(2);
  TREU_ASSIGN_OR_RETURN(j.status, ParseJobStatus(s.Text(3)));
  j.file_name = s.Text(4);
  j.bytes_total = s.Int(5);
  j.bytes_read = s.Int(6);
  j.rows = s.Int(7);
  j.rows_rejected = s.Int(8);
  j.inserted = s.Int(9);
  j.updated = s.Int(10);
  j.unchanged = s.Int(11);
  j.error = s.Text(12);
  j.issues = s.Text(13);
  j.created_at = Timestamp{s.Int(14)};
  if (!s.IsNull(15)) j.finished_at = Timestamp{s.Int(15)};
  return j;
}

// ---- Loyalty rows

std::optional<std::int64_t> OptionalMicros(const std::optional<Timestamp>& t) {
  return t ? std::optional(t->micros) : std::nullopt;
}

std::optional<Timestamp> OptionalTimestamp(const Stmt& s, int col) {
  return s.IsNull(col) ? std::nullopt : std::optional(Timestamp{s.Int(col)});
}

// A row of "SELECT customer_id, available, pending, held, earned, redeemed, transfers, tier,
// tier_since, tier_review_at, next_due_at, referral_code, referred_by, enrolled_at, updated_at
// FROM loyalty_members".
LoyaltyMember ReadLoyaltyMember(const Stmt& s, WorkspaceId ws) {
  LoyaltyMember m;
  m.workspace = ws;
  m.customer = CustomerId{s.Int(0)};
  m.available = s.Int(1);
  m.pending = s.Int(2);
  m.held = s.Int(3);
  m.earned = s.Int(4);
  m.redeemed = s.Int(5);
  m.transfers = s.Int(6);
  m.tier = s.Text(7);
  m.tier_since = Timestamp{s.Int(8)};
  m.tier_review_at = OptionalTimestamp(s, 9);
  m.next_due_at = OptionalTimestamp(s, 10);
  m.referral_code = s.Text(11);
  if (!s.IsNull(12)) m.referred_by = CustomerId{s.Int(12)};
  m.enrolled_at = Timestamp{s.Int(13)};
  m.updated_at = Timestamp{s.Int(14)};
  return m;
}

constexpr const char* kFindLoyaltyMemberSql =
    "SELECT customer_id, available, pending, held, earned, redeemed, transfers, tier, tier_since, "
    "tier_review_at, next_due_at, referral_code, referred_by, enrolled_at, updated_at FROM "
    "loyalty_members WHERE workspace_id = ? AND customer_id = ?";

Result<std::optional<LoyaltyMember>> FindLoyaltyMemberIn(Db& db, WorkspaceId ws,
                                                         CustomerId customer) {
  TREU_ASSIGN_OR_RETURN(Stmt * s, db.Prepare(kFindLoyaltyMemberSql));
  TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(customer.value).Step());
  if (!row) return std::optional<LoyaltyMember>();
  LoyaltyMember m = ReadLoyaltyMember(*s, ws);
  s->Reset();
  return std::optional<LoyaltyMember>(std::move(m));
}

// A row of "SELECT seq, customer_id, id, kind, from_account, to_account, points, requested,
// reason, source_kind, source_ref, admin_user_id, at, refers_to, expires_at, pending_until FROM
// loyalty_transfers".
LoyaltyTransferRecord ReadLoyaltyTransfer(const Stmt& s, WorkspaceId ws) {
  LoyaltyTransferRecord t;
  t.seq = s.Int(0);
  t.workspace = ws;
  t.customer = CustomerId{s.Int(1)};
  t.id = s.Text(2);
  t.kind = s.Text(3);
  t.from_account = s.Text(4);
  t.to_account = s.Text(5);
  t.points = s.Int(6);
  t.requested = s.Int(7);
  t.reason = s.Text(8);
  t.source_kind = s.Text(9);
  t.source_ref = s.Text(10);
  if (!s.IsNull(11)) t.admin_user_id = s.Int(11);
  t.at = Timestamp{s.Int(12)};
  t.refers_to = s.Text(13);
  t.expires_at = OptionalTimestamp(s, 14);
  t.pending_until = OptionalTimestamp(s, 15);
  return t;
}

// Transfers in seq order after `after_seq`, at most `limit` (-1: all); only the customer's when
// `customer` is valid.
Result<std::vector<LoyaltyTransferRecord>> ListLoyaltyTransfersIn(Db& db, WorkspaceId ws,
                                                                  CustomerId customer,
                                                                  std::int64_t after_seq,
                                                                  std::int64_t limit) {
  Stmt* s = nullptr;
  if (customer.valid()) {
    TREU_ASSIGN_OR_RETURN(
        s,
        db.Prepare(
            "SELECT seq, customer_id, id, kind, from_account, to_account, points, requested, "
            "reason, source_kind, source_ref, admin_user_id, at, refers_to, expires_at, "
            "pending_until FROM loyalty_transfers WHERE workspace_id = ? AND customer_id = ? AND "
            "seq > ? ORDER BY seq LIMIT ?"));
    s->Bind(ws.value).Bind(customer.value);
  } else {
    TREU_ASSIGN_OR_RETURN(
        s,
        db.Prepare(
            "SELECT seq, customer_id, id, kind, from_account, to_account, points, requested, "
            "reason, source_kind, source_ref, admin_user_id, at, refers_to, expires_at, "
            "pending_until FROM loyalty_transfers WHERE workspace_id = ? AND seq > ? ORDER BY seq "
            "LIMIT ?"));
    s->Bind(ws.value);
  }
  s->Bind(after_seq).Bind(limit);
  std::vector<LoyaltyTransferRecord> out;
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back(ReadLoyaltyTransfer(*s, ws));
  }
  return out;
}

// A row of "SELECT id, name, kind, title, points, stock, tiers, segment, details, active,
// redeemed, created_at, updated_at FROM loyalty_rewards".
LoyaltyReward ReadLoyaltyReward(const Stmt& s, WorkspaceId ws) {
  LoyaltyReward r;
  r.id = s.Int(0);
  r.workspace = ws;
  r.name = s.Text(1);
  r.kind = s.Text(2);
  r.title = s.Text(3);
  r.points = s.Int(4);
  if (!s.IsNull(5)) r.stock = s.Int(5);
  r.tiers = DecodeTierList(s.View(6));
  r.segment = s.Text(7);
  r.details = s.Text(8);
  r.active = s.Int(9) != 0;
  r.redeemed = s.Int(10);
  r.created_at = Timestamp{s.Int(11)};
  r.updated_at = Timestamp{s.Int(12)};
  return r;
}

Result<std::optional<LoyaltyReward>> FindLoyaltyRewardByIdIn(Db& db, WorkspaceId ws,
                                                             std::int64_t id) {
  TREU_ASSIGN_OR_RETURN(
      Stmt * s,
      db.Prepare("SELECT id, name, kind, title, points, stock, tiers, segment, details, active, "
                 "redeemed, created_at, updated_at FROM loyalty_rewards WHERE workspace_id = ? AND "
                 "id = ?"));
  TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
  if (!row) return std::optional<LoyaltyReward>();
  LoyaltyReward r = ReadLoyaltyReward(*s, ws);
  s->Reset();
  return std::optional<LoyaltyReward>(std::move(r));
}

// A row of "SELECT row, id, customer_id, reward_id, points, state, code, created_at, expires_at,
// closed_at FROM loyalty_redemptions".
LoyaltyRedemption ReadLoyaltyRedemption(const Stmt& s, WorkspaceId ws) {
  LoyaltyRedemption r;
  r.row = s.Int(0);
  r.id = s.Text(1);
  r.workspace = ws;
  r.customer = CustomerId{s.Int(2)};
  r.reward_id = s.Int(3);
  r.points = s.Int(4);
  r.state = s.Text(5);
  r.code = s.Text(6);
  r.created_at = Timestamp{s.Int(7)};
  r.expires_at = Timestamp{s.Int(8)};
  r.closed_at = OptionalTimestamp(s, 9);
  return r;
}

Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemptionIn(Db& db, WorkspaceId ws,
                                                                 std::string_view id) {
  TREU_ASSIGN_OR_RETURN(
      Stmt * s,
      db.Prepare(
          "SELECT row, id, customer_id, reward_id, points, state, code, created_at, expires_at, "
          "closed_at FROM loyalty_redemptions WHERE workspace_id = ? AND id = ?"));
  TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
  if (!row) return std::optional<LoyaltyRedemption>();
  LoyaltyRedemption r = ReadLoyaltyRedemption(*s, ws);
  s->Reset();
  return std::optional<LoyaltyRedemption>(std::move(r));
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

constexpr const char* kTemplateColumns =
    "id, workspace_id, name, channel, topic, subject, html, body_text, created_at, updated_at, "
    "link_url, layout, endpoint";

// A row of "SELECT <kTemplateColumns> FROM message_templates".
Result<MessageTemplateRecord> ReadMessageTemplate(const Stmt& s) {
  MessageTemplateRecord t;
  t.id = s.Int(0);
  t.workspace = WorkspaceId{s.Int(1)};
  t.name = s.Text(2);
  TREU_ASSIGN_OR_RETURN(t.channel, ParseChannel(s.View(3)));
  t.topic = s.Text(4);
  t.subject = s.Text(5);
  t.html = s.Text(6);
  t.text = s.Text(7);
  t.created_at = Timestamp{s.Int(8)};
  t.updated_at = Timestamp{s.Int(9)};
  t.link_url = s.Text(10);
  t.layout = s.Text(11);
  t.endpoint = s.Text(12);
  return t;
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

// A row of "SELECT <kOutboxColumns>" (bodies) or "SELECT <kOutboxListColumns>" (no bodies).
Result<OutboxMessage> ReadOutboxMessage(const Stmt& s, bool bodies) {
  OutboxMessage m;
  m.id = s.Int(0);
  m.workspace = WorkspaceId{s.Int(1)};
  m.idempotency_key = s.Text(2);
  TREU_ASSIGN_OR_RETURN(m.channel, ParseChannel(s.View(3)));
  m.customer = CustomerId{s.Int(4)};
  m.category = s.Text(5);
  m.topic = s.Text(6);
  m.template_id = s.Int(7);
  m.campaign = s.Text(8);
  m.recipient = s.Text(9);
  m.subject = s.Text(10);
  TREU_ASSIGN_OR_RETURN(m.state, ParseMessageState(s.View(11)));
  m.attempts = static_cast<int>(s.Int(12));
  m.next_attempt_at = Timestamp{s.Int(13)};
  m.lease_until = Timestamp{s.Int(14)};
  m.claimed_by = s.Text(15);
  m.provider_id = s.Text(16);
  m.last_error = s.Text(17);
  m.created_at = Timestamp{s.Int(18)};
  m.sent_at = OptionalTimestamp(s, 19);
  if (bodies) {
    m.html = s.Text(20);
    m.text = s.Text(21);
  }
  return m;
}

Result<std::vector<OutboxMessage>> ReadOutboxMessages(Stmt& s, bool bodies) {
  std::vector<OutboxMessage> out;
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    TREU_ASSIGN_OR_RETURN(OutboxMessage m, ReadOutboxMessage(s, bodies));
    out.push_back(std::move(m));
  }
  return out;
}

// Which of a MessageFilter's fields filter: bit 0 customer, bit 1 campaign, bit 2 state.
int MessageFilterBits(const MessageFilter& f) {
  return (f.customer.valid() ? 1 : 0) | (f.campaign.empty() ? 0 : 2) | (f.state ? 4 : 0);
}

// " AND customer_id = ? AND campaign = ? AND state = ?", as far as `bits` say.
std::string MessageFilterSql(int bits) {
  std::string sql;
  if (bits & 1) sql += " AND customer_id = ?";
  if (bits & 2) sql += " AND campaign = ?";
  if (bits & 4) sql += " AND state = ?";
  return sql;
}

// Binds the filter's values in the order of MessageFilterSql.
void BindMessageFilter(Stmt& s, const MessageFilter& f) {
  if (f.customer.valid()) s.Bind(f.customer.value);
  if (!f.campaign.empty()) s.Bind(f.campaign);
  if (f.state) s.Bind(MessageStateName(*f.state));
}

// One statement text per filter combination, so that each can use its index: statements are
// cached by the address of their text.
const char* ListMessagesSql(int bits) {
  static const std::array<std::string, 8> kSql = [] {
    std::array<std::string, 8> out;
    for (int b = 0; b < 8; ++b) {
      out[static_cast<std::size_t>(b)] = std::string("SELECT ") + kOutboxListColumns +
                                         " FROM outbox WHERE workspace_id = ?" +
                                         MessageFilterSql(b) + " AND id < ? ORDER BY id DESC LIMIT ?";
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
}

// Cancels the planned campaign messages of workspace ?1 matching the customer and campaign of
// `bits` (bound after it): their members are planned no more, outcome "cancelled".
const char* CancelPlannedSql(int bits) {
  static const std::array<std::string, 4> kSql = [] {
    std::array<std::string, 4> out;
    for (int b = 0; b < 4; ++b) {
      std::string sql = "UPDATE campaign_members SET planned = 0, outcome = 'cancelled' WHERE workspace_id = ?1 AND "
                        "planned = 1";
      if (b & 1) sql += " AND customer_id = ?2";
      if (b & 2)
        sql += std::string(" AND campaign_id = (SELECT id FROM campaigns WHERE workspace_id = ?1 AND name = ?") +
               ((b & 1) ? "3" : "2") + ")";
      out[static_cast<std::size_t>(b)] = std::move(sql);
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
}

// The log lines and the update of CancelMessages, per combination of customer and campaign.
const char* CancelLogSql(int bits) {
  static const std::array<std::string, 4> kSql = [] {
    std::array<std::string, 4> out;
    for (int b = 0; b < 4; ++b) {
      out[static_cast<std::size_t>(b)] =
          "INSERT INTO message_log (workspace_id, message_id, customer_id, kind, at, detail) "
          "SELECT workspace_id, id, customer_id, 'cancelled', ?, '' FROM outbox WHERE "
          "workspace_id = ?" +
          MessageFilterSql(b) + " AND state = 'queued' ORDER BY id";
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
}
const char* CancelUpdateSql(int bits) {
  static const std::array<std::string, 4> kSql = [] {
    std::array<std::string, 4> out;
    for (int b = 0; b < 4; ++b) {
      out[static_cast<std::size_t>(b)] = "UPDATE outbox SET state = 'cancelled' WHERE workspace_id = ?" +
                                         MessageFilterSql(b) + " AND state = 'queued'";
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
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

// A row of "SELECT id, workspace_id, message_id, customer_id, kind, at, detail FROM message_log".
MessageLogEntry ReadMessageLogEntry(const Stmt& s) {
  return {s.Int(0), WorkspaceId{s.Int(1)}, s.Int(2), CustomerId{s.Int(3)}, s.Text(4), Timestamp{s.Int(5)},
          s.Text(6)};
}

// A row of "SELECT id, customer_id, channel, action, at, ip, user_agent, text_version, source
// FROM consent_records".
Result<ConsentRecord> ReadConsentRecord(const Stmt& s, WorkspaceId ws) {
  ConsentRecord r;
  r.id = s.Int(0);
  r.workspace = ws;
  r.customer = CustomerId{s.Int(1)};
  TREU_ASSIGN_OR_RETURN(r.channel, ParseChannel(s.View(2)));
  r.action = s.Text(3);
  r.at = Timestamp{s.Int(4)};
  r.ip = s.Text(5);
  r.user_agent = s.Text(6);
  r.text_version = s.Text(7);
  r.source = s.Text(8);
  return r;
}

// ---- Channel rows

Status CheckPushSubscription(const PushSubscriptionRecord& p) {
  if (p.endpoint.empty()) return InvalidArgument("push subscription", "the endpoint is empty");
  if (!p.customer.valid()) return InvalidArgument("push subscription " + p.endpoint, "no customer");
  return Ok();
}

Status CheckWebhookEndpoint(const WebhookEndpointRecord& e) {
  if (e.format != "json" && e.format != "slack" && e.format != "discord") {
    return InvalidArgument("webhook endpoint " + e.name,
                           "format '" + e.format + "' is unknown; one of json, slack, discord");
  }
  return Ok();
}

constexpr const char* kPushSubscriptionColumns =
    "id, workspace_id, customer_id, endpoint, p256dh, auth, user_agent, created_at, updated_at";

// A row of "SELECT <kPushSubscriptionColumns> FROM push_subscriptions".
PushSubscriptionRecord ReadPushSubscription(const Stmt& s) {
  PushSubscriptionRecord p;
  p.id = s.Int(0);
  p.workspace = WorkspaceId{s.Int(1)};
  p.customer = CustomerId{s.Int(2)};
  p.endpoint = s.Text(3);
  p.p256dh = s.Text(4);
  p.auth = s.Text(5);
  p.user_agent = s.Text(6);
  p.created_at = Timestamp{s.Int(7)};
  p.updated_at = Timestamp{s.Int(8)};
  return p;
}

constexpr const char* kWebhookEndpointColumns =
    "workspace_id, name, url, format, secret_sealed, created_at, updated_at";

constexpr const char* kCampaignColumns =
    "id, workspace_id, name, state, segment, where_expr, variants, holdout_permille, test_permille, "
    "winner_metric, test_window, winner, split_key, send_at, local_time, optimize_send_time, goal_window, "
    "last_error, created_at, updated_at, launched_at, test_ends_at, finished_at, survey";

// A row of "SELECT <kCampaignColumns> FROM campaigns".
Result<CampaignRecord> ReadCampaign(const Stmt& s) {
  CampaignRecord c;
  c.id = s.Int(0);
  c.workspace = WorkspaceId{s.Int(1)};
  c.name = s.Text(2);
  TREU_ASSIGN_OR_RETURN(c.state, ParseCampaignState(s.View(3)));
  c.segment = s.Text(4);
  c.where = s.Text(5);
  TREU_ASSIGN_OR_RETURN(c.variants, ParseCampaignVariants(s.View(6)));
  c.holdout_permille = static_cast<int>(s.Int(7));
  c.test_permille = static_cast<int>(s.Int(8));
  c.winner_metric = s.Text(9);
  c.test_window_micros = s.Int(10);
  c.winner = static_cast<int>(s.Int(11));
  c.split_key = s.Text(12);
  c.send_at = OptionalTimestamp(s, 13);
  c.local_time = s.Text(14);
  c.optimize_send_time = s.Int(15) != 0;
  c.goal_window_micros = s.Int(16);
  c.last_error = s.Text(17);
  c.created_at = Timestamp{s.Int(18)};
  c.updated_at = Timestamp{s.Int(19)};
  c.launched_at = OptionalTimestamp(s, 20);
  c.test_ends_at = OptionalTimestamp(s, 21);
  c.finished_at = OptionalTimestamp(s, 22);
  c.survey = s.Text(23);
  return c;
}

bool ByTimeThenId(const MarketingMessageRow& a, const MarketingMessageRow& b) {
  return std::tie(a.at.micros, a.id) < std::tie(b.at.micros, b.id);
}

// Rows of customer_id, arm, due, outcome, planned.
Result<std::vector<CampaignMember>> ReadMembers(Stmt& s) {
  std::vector<CampaignMember> out;
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({CustomerId{s.Int(0)}, static_cast<int>(s.Int(1)), Timestamp{s.Int(2)}, s.Text(3), s.Int(4) != 0});
  }
  return out;
}

Result<std::vector<CampaignRecord>> ReadCampaigns(Stmt& s) {
  std::vector<CampaignRecord> out;
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    TREU_ASSIGN_OR_RETURN(CampaignRecord c, ReadCampaign(s));
    out.push_back(std::move(c));
  }
  return out;
}

Status CheckCampaign(const CampaignRecord& c) { return CheckCampaignRecord(c); }

constexpr const char* kJourneyColumns =
    "id, workspace_id, name, state, version, definition, split_key, change_seq, trigger_cursor, goal_cursor, "
    "last_error, created_at, updated_at";

// A row of "SELECT <kJourneyColumns> FROM journeys".
JourneyRecord ReadJourney(const Stmt& s) {
  JourneyRecord j;
  j.id = s.Int(0);
  j.workspace = WorkspaceId{s.Int(1)};
  j.name = s.Text(2);
  j.state = s.Text(3);
  j.version = static_cast<int>(s.Int(4));
  j.definition = s.Text(5);
  j.split_key = s.Text(6);
  j.change_seq = s.Int(7);
  j.trigger_cursor = s.Int(8);
  j.goal_cursor = s.Int(9);
  j.last_error = s.Text(10);
  j.created_at = Timestamp{s.Int(11)};
  j.updated_at = Timestamp{s.Int(12)};
  return j;
}

Result<std::vector<JourneyRecord>> ReadJourneys(Stmt& s) {
  std::vector<JourneyRecord> out;
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadJourney(s));
  }
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

// A row of "SELECT <kJourneyRunColumns> FROM journey_runs".
JourneyRunRow ReadJourneyRun(const Stmt& s) {
  JourneyRunRow r;
  r.id = s.Int(0);
  r.journey_id = s.Int(1);
  r.version = static_cast<int>(s.Int(2));
  r.customer = CustomerId{s.Int(3)};
  r.zone = s.Text(4);
  r.step = static_cast<int>(s.Int(5));
  r.state = s.Text(6);
  r.wake_at = Timestamp{s.Int(7)};
  r.entered_at = Timestamp{s.Int(8)};
  r.step_entered_at = Timestamp{s.Int(9)};
  r.ended_at = Timestamp{s.Int(10)};
  r.steps_executed = s.Int(11);
  return r;
}

Result<std::vector<JourneyRunRow>> ReadJourneyRuns(Stmt& s) {
  std::vector<JourneyRunRow> out;
  while (true) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadJourneyRun(s));
  }
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

// One statement text per filter combination (statements are cached by their text's address).
const char* ListJourneyRunsSql(int bits) {
  static const std::array<std::string, 8> kSql = [] {
    std::array<std::string, 8> out;
    for (int b = 0; b < 8; ++b) {
      std::string sql = std::string("SELECT ") + kJourneyRunColumns + " FROM journey_runs WHERE workspace_id = ?";
      if (b & 1) sql += " AND journey_id = ?";
      if (b & 2) sql += " AND customer_id = ?";
      if (b & 4) sql += " AND state IN ('active', 'waiting', 'waiting_for_event')";
      sql += " AND id > ? ORDER BY id LIMIT ?";
      out[static_cast<std::size_t>(b)] = std::move(sql);
    }
    return out;
  }();
  return kSql[static_cast<std::size_t>(bits)].c_str();
}

// A row of "SELECT <kWebhookEndpointColumns> FROM webhook_endpoints".
WebhookEndpointRecord ReadWebhookEndpoint(const Stmt& s) {
  WebhookEndpointRecord e;
  e.workspace = WorkspaceId{s.Int(0)};
  e.name = s.Text(1);
  e.url = s.Text(2);
  e.format = s.Text(3);
  e.secret_sealed = s.Text(4);
  e.created_at = Timestamp{s.Int(5)};
  e.updated_at = Timestamp{s.Int(6)};
  return e;
}

// ---------------------------------------------------------------------------------------------

class SqliteWriteTransaction final : public WriteTransaction {
 public:
  SqliteWriteTransaction(Db& db, WorkspaceId ws, const Clock& clock)
      : db_(db), ws_(ws), clock_(clock) {}
  ~SqliteWriteTransaction() override {
    if (open_) (void)db_.Exec("ROLLBACK");
  }

  Result<std::vector<CustomerId>> ResolveCustomers(std::span<const std::string> external_ids,
                                                   Timestamp now) override {
    std::vector<CustomerId> out;
    out.reserve(external_ids.size());
    for (const auto& ext : external_ids) {
      if (auto it = resolved_.find(ext); it != resolved_.end()) {
        out.push_back(it->second);
        continue;
      }
      TREU_ASSIGN_OR_RETURN(Stmt * find, db_.Prepare("SELECT id FROM customers WHERE "
                                                     "workspace_id = ? AND external_id = ?"));
      TREU_ASSIGN_OR_RETURN(bool found, find->Bind(ws_.value).Bind(ext).Step());
      CustomerId id;
      if (found) {
        id = CustomerId{find->Int(0)};
        find->Reset();
      } else {
        TREU_ASSIGN_OR_RETURN(
            Stmt * ins, db_.Prepare("INSERT INTO customers (workspace_id, external_id, "
                                    "created_at, updated_at) VALUES (?, ?, ?, ?)"));
        TREU_RETURN_IF_ERROR(ins->Bind(ws_.value).Bind(ext).Bind(now.micros).Bind(now.micros).Run());
        id = CustomerId{db_.LastRowId()};
        TREU_RETURN_IF_ERROR(LogChange(Entity::kCustomer, id.value, ChangeOp::kInsert));
      }
      resolved_.emplace(ext, id);
      out.push_back(id);
    }
    return out;
  }

  Result<WriteStats> UpsertCustomers(std::span<const Customer> customers, Timestamp now) override {
    WriteStats stats;
    for (const Customer& in : customers) {
      TREU_ASSIGN_OR_RETURN(std::optional<Customer> stored,
                            FindCustomerIn(db_, ws_, in.external_id));
      Customer merged = stored ? *stored : Customer{};
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
      if (stored && SameProfile(*stored, merged)) {
        ++stats.unchanged;
        continue;
      }
      if (stored) {
        TREU_ASSIGN_OR_RETURN(
            Stmt * up, db_.Prepare("UPDATE customers SET email = ?, name = ?, country = ?, "
                                   "locale = ?, time_zone = ?, updated_at = ? WHERE id = ?"));
        TREU_RETURN_IF_ERROR(up->Bind(merged.email).Bind(merged.name).Bind(merged.country)
                                 .Bind(merged.locale).Bind(merged.time_zone).Bind(now.micros)
                                 .Bind(merged.id.value).Run());
        ++stats.updated;
      } else {
        const Timestamp created = in.created_at.micros != 0 ? in.created_at : now;
        TREU_ASSIGN_OR_RETURN(
            Stmt * ins, db_.Prepare("INSERT INTO customers (workspace_id, external_id, email, "
                                    "name, country, locale, time_zone, created_at, updated_at) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
        TREU_RETURN_IF_ERROR(ins->Bind(ws_.value).Bind(merged.external_id).Bind(merged.email)
                                 .Bind(merged.name).Bind(merged.country).Bind(merged.locale)
                                 .Bind(merged.time_zone).Bind(created.micros).Bind(now.micros)
                                 .Run());
        merged.id = CustomerId{db_.LastRowId()};
        resolved_.emplace(merged.external_id, merged.id);
        ++stats.inserted;
      }
      for (const auto& [k, v] : in.attributes) {
        TREU_ASSIGN_OR_RETURN(
            Stmt * a, db_.Prepare("INSERT INTO customer_attributes (customer_id, name, type, "
                                  "value) VALUES (?, ?, ?, ?) ON CONFLICT (customer_id, name) "
                                  "DO UPDATE SET type = excluded.type, value = excluded.value"));
        TREU_RETURN_IF_ERROR(a->Bind(merged.id.value).Bind(k).Bind(AttributeTypeName(TypeOf(v)))
                                 .Bind(FormatAttributeValue(v)).Run());
      }
      for (const auto& [ch, c] : in.consent) {
        TREU_ASSIGN_OR_RETURN(
            Stmt * k, db_.Prepare("INSERT INTO customer_consents (customer_id, channel, granted, "
                                  "source, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (customer_id, "
                                  "channel) DO UPDATE SET granted = excluded.granted, source = "
                                  "excluded.source, at = excluded.at"));
        TREU_RETURN_IF_ERROR(k->Bind(merged.id.value).Bind(ChannelName(ch))
                                 .Bind(std::int64_t{c.granted}).Bind(c.source).Bind(c.at.micros)
                                 .Run());
      }
      TREU_RETURN_IF_ERROR(LogChange(Entity::kCustomer, merged.id.value,
                                     stored ? ChangeOp::kUpdate : ChangeOp::kInsert));
    }
    return stats;
  }

  Result<WriteStats> InsertOrders(std::span<const Order> orders) override {
    WriteStats stats;
    for (const Order& o : orders) {
      TREU_ASSIGN_OR_RETURN(
          Stmt * ins, db_.Prepare("INSERT INTO orders (workspace_id, external_id, customer_id, "
                                  "placed_at, total_minor, currency, status) VALUES (?, ?, ?, ?, "
                                  "?, ?, ?) ON CONFLICT (workspace_id, external_id) DO NOTHING"));
      TREU_RETURN_IF_ERROR(ins->Bind(ws_.value).Bind(o.external_id).Bind(o.customer.value)
                               .Bind(o.placed_at.micros).Bind(o.total.minor)
                               .Bind(o.total.currency.code()).Bind(OrderStatusName(o.status))
                               .Run());
      if (db_.Changes() == 1) {
        const std::int64_t id = db_.LastRowId();
        for (std::size_t i = 0; i < o.lines.size(); ++i) {
          TREU_ASSIGN_OR_RETURN(
              Stmt * l, db_.Prepare("INSERT INTO order_lines (order_id, line_no, "
                                    "product_external_id, quantity, unit_price_minor) VALUES "
                                    "(?, ?, ?, ?, ?)"));
          TREU_RETURN_IF_ERROR(l->Bind(id).Bind(static_cast<std::int64_t>(i))
                                   .Bind(o.lines[i].product_external_id).Bind(o.lines[i].quantity)
                                   .Bind(o.lines[i].unit_price_minor).Run());
        }
        for (const Refund& r : o.refunds) TREU_RETURN_IF_ERROR(InsertRefund(id, r));
        TREU_RETURN_IF_ERROR(LogChange(Entity::kOrder, id, ChangeOp::kInsert));
        ++stats.inserted;
        continue;
      }
      TREU_ASSIGN_OR_RETURN(std::optional<Order> stored, FindOrderIn(db_, ws_, o.external_id));
      if (!stored) return Internal("sqlite: insert order " + o.external_id, "conflict but not found");
      bool changed = false;
      if (stored->status != o.status) {
        TREU_ASSIGN_OR_RETURN(Stmt * up, db_.Prepare("UPDATE orders SET status = ? WHERE id = ?"));
        TREU_RETURN_IF_ERROR(up->Bind(OrderStatusName(o.status)).Bind(stored->id.value).Run());
        changed = true;
      }
      std::int64_t refunded = 0;
      for (const Refund& r : stored->refunds) refunded += r.amount_minor;
      for (const Refund& r : o.refunds) {
        bool known = false;
        for (const Refund& s : stored->refunds) {
          known = known || (s.refunded_at == r.refunded_at && s.amount_minor == r.amount_minor);
        }
        if (known) continue;
        refunded += r.amount_minor;
        if (refunded > stored->total.minor) {
          return InvalidArgument("refunded_total", "refunds of order " + o.external_id +
                                                       " would exceed its total");
        }
        TREU_RETURN_IF_ERROR(InsertRefund(stored->id.value, r));
        changed = true;
      }
      if (changed) {
        TREU_RETURN_IF_ERROR(LogChange(Entity::kOrder, stored->id.value, ChangeOp::kUpdate));
        ++stats.updated;
      } else {
        ++stats.unchanged;
      }
    }
    return stats;
  }

  Result<WriteStats> UpsertSubscriptions(std::span<const Subscription> subs) override {
    WriteStats stats;
    for (const Subscription& in : subs) {
      TREU_ASSIGN_OR_RETURN(std::optional<Subscription> stored,
                            FindSubscriptionIn(db_, ws_, in.external_id));
      std::int64_t id = 0;
      bool changed = false;
      if (!stored) {
        TREU_ASSIGN_OR_RETURN(
            Stmt * ins, db_.Prepare("INSERT INTO subscriptions (workspace_id, external_id, "
                                    "customer_id, currency, started_at, ended_at) VALUES (?, ?, "
                                    "?, ?, ?, ?)"));
        TREU_RETURN_IF_ERROR(ins->Bind(ws_.value).Bind(in.external_id).Bind(in.customer.value)
                                 .Bind(in.currency.code()).Bind(in.started_at.micros)
                                 .Bind(in.ended_at ? std::optional(in.ended_at->micros)
                                                   : std::nullopt)
                                 .Run());
        id = db_.LastRowId();
        changed = true;
      } else {
        id = stored->id.value;
        if (stored->currency != in.currency) {
          return Conflict("subscription " + in.external_id,
                          "currency " + std::string(in.currency.code()) + " differs from the "
                          "stored " + std::string(stored->currency.code()));
        }
        // Check every state before writing any, so a conflict changes nothing.
        for (const auto& st : in.history) {
          for (const auto& old : stored->history) {
            if (old.effective_at == st.effective_at && !(old == st)) {
              return Conflict("subscription " + in.external_id,
                              "a different state is already stored for " +
                                  FormatTimestamp(st.effective_at));
            }
          }
        }
        if (in.ended_at && stored->ended_at != in.ended_at) {
          TREU_ASSIGN_OR_RETURN(Stmt * up,
                                db_.Prepare("UPDATE subscriptions SET ended_at = ? WHERE id = ?"));
          TREU_RETURN_IF_ERROR(up->Bind(in.ended_at->micros).Bind(id).Run());
          changed = true;
        }
      }
      for (const auto& st : in.history) {
        TREU_ASSIGN_OR_RETURN(
            Stmt * h, db_.Prepare("INSERT INTO subscription_changes (subscription_id, "
                                  "effective_at, plan, interval, amount_minor, quantity, "
                                  "discount_bp, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON "
                                  "CONFLICT (subscription_id, effective_at) DO NOTHING"));
        TREU_RETURN_IF_ERROR(h->Bind(id).Bind(st.effective_at.micros).Bind(st.plan)
                                 .Bind(BillingIntervalName(st.interval)).Bind(st.amount_minor)
                                 .Bind(st.quantity).Bind(std::int64_t{st.discount_bp})
                                 .Bind(SubscriptionStatusName(st.status)).Run());
        changed = changed || db_.Changes() == 1;
      }
      if (!changed) {
        ++stats.unchanged;
        continue;
      }
      TREU_RETURN_IF_ERROR(
          LogChange(Entity::kSubscription, id, stored ? ChangeOp::kUpdate : ChangeOp::kInsert));
      ++(stored ? stats.updated : stats.inserted);
    }
    return stats;
  }

  Result<WriteStats> UpsertProducts(std::span<const Product> products) override {
    WriteStats stats;
    for (const Product& p : products) {
      TREU_ASSIGN_OR_RETURN(std::optional<Product> stored, FindProductIn(db_, ws_, p.external_id));
      if (stored && stored->name == p.name && stored->price == p.price) {
        ++stats.unchanged;
        continue;
      }
      TREU_ASSIGN_OR_RETURN(
          Stmt * s, db_.Prepare("INSERT INTO products (workspace_id, external_id, name, "
                                "price_minor, currency) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                                "(workspace_id, external_id) DO UPDATE SET name = excluded.name, "
                                "price_minor = excluded.price_minor, currency = excluded.currency "
                                "RETURNING id"));
      s->Bind(ws_.value).Bind(p.external_id).Bind(p.name);
      if (p.price) {
        s->Bind(p.price->minor).Bind(p.price->currency.code());
      } else {
        s->BindNull().BindNull();
      }
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      const std::int64_t id = row ? s->Int(0) : 0;
      s->Reset();
      TREU_RETURN_IF_ERROR(LogChange(Entity::kProduct, id, stored ? ChangeOp::kUpdate : ChangeOp::kInsert));
      ++(stored ? stats.updated : stats.inserted);
    }
    return stats;
  }

  Result<WriteStats> InsertEvents(std::span<const Event> events) override {
    WriteStats stats;
    for (const Event& e : events) {
      TREU_ASSIGN_OR_RETURN(
          Stmt * ins, db_.Prepare("INSERT INTO events (workspace_id, type, name, message_id, "
                                  "user_id, anonymous_id, customer_id, timestamp, received_at, "
                                  "properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                                  "(workspace_id, message_id) DO NOTHING"));
      TREU_RETURN_IF_ERROR(
          ins->Bind(ws_.value).Bind(EventTypeName(e.type)).Bind(e.name).Bind(e.message_id)
              .Bind(e.user_id).Bind(e.anonymous_id)
              .Bind(e.customer.valid() ? std::optional(e.customer.value) : std::nullopt)
              .Bind(e.timestamp.micros).Bind(e.received_at.micros)
              .Bind(e.properties_json.empty() ? std::string_view("{}") : e.properties_json)
              .Run());
      if (db_.Changes() == 1) {
        TREU_RETURN_IF_ERROR(LogChange(Entity::kEvent, db_.LastRowId(), ChangeOp::kInsert));
        ++stats.inserted;
      } else {
        ++stats.unchanged;
      }
    }
    return stats;
  }

  Result<bool> LinkAnonymousId(std::string_view anonymous_id, CustomerId customer,
                               Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(CustomerId linked, FindAnonymousId(anonymous_id));
    if (linked.valid()) return linked == customer;
    TREU_ASSIGN_OR_RETURN(Stmt * ins, db_.Prepare("INSERT INTO identities (workspace_id, "
                                                  "anonymous_id, customer_id, created_at) "
                                                  "VALUES (?, ?, ?, ?)"));
    TREU_RETURN_IF_ERROR(ins->Bind(ws_.value).Bind(anonymous_id).Bind(customer.value)
                             .Bind(now.micros).Run());
    TREU_ASSIGN_OR_RETURN(Stmt * up, db_.Prepare("UPDATE events SET customer_id = ? WHERE "
                                                 "workspace_id = ? AND anonymous_id = ? AND "
                                                 "customer_id IS NULL AND anonymous_id <> '' "
                                                 "RETURNING id"));
    up->Bind(customer.value).Bind(ws_.value).Bind(anonymous_id);
    std::vector<std::int64_t> ids;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, up->Step());
      if (!row) break;
      ids.push_back(up->Int(0));
    }
    std::sort(ids.begin(), ids.end());
    for (std::int64_t id : ids) TREU_RETURN_IF_ERROR(LogChange(Entity::kEvent, id, ChangeOp::kUpdate));
    return true;
  }

  Result<CustomerId> FindAnonymousId(std::string_view anonymous_id) override {
    TREU_ASSIGN_OR_RETURN(Stmt * f, db_.Prepare("SELECT customer_id FROM identities WHERE "
                                                "workspace_id = ? AND anonymous_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, f->Bind(ws_.value).Bind(anonymous_id).Step());
    const CustomerId id{row ? f->Int(0) : 0};
    f->Reset();
    return id;
  }

  Status NoteWorkspaceChanged() override { return LogChange(Entity::kWorkspace, ws_.value, ChangeOp::kUpdate); }

  Status SetCurrency(const Currency& currency) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT currency FROM workspaces WHERE id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws_.value).Step());
    if (!row) return NotFound("workspace", "no workspace with id " + std::to_string(ws_.value));
    const bool unset = s->IsNull(0);
    const std::string current = s->Text(0);
    s->Reset();
    if (!unset) {
      if (current == currency.code()) return Ok();
      return FailedPrecondition("currency", "the workspace reports in " + current + ", not " +
                                                std::string(currency.code()));
    }
    TREU_ASSIGN_OR_RETURN(Stmt * up, db_.Prepare("UPDATE workspaces SET currency = ? WHERE id = ?"));
    TREU_RETURN_IF_ERROR(up->Bind(currency.code()).Bind(ws_.value).Run());
    return LogChange(Entity::kWorkspace, ws_.value, ChangeOp::kUpdate);
  }

  Result<bool> DeleteOrder(std::string_view external_id) override {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, DeleteRow("DELETE FROM orders WHERE workspace_id = ? AND external_id = ? RETURNING id",
                                      external_id));
    if (id == 0) return false;
    TREU_RETURN_IF_ERROR(DeleteDetails("DELETE FROM order_lines WHERE order_id = ?", id));
    TREU_RETURN_IF_ERROR(DeleteDetails("DELETE FROM refunds WHERE order_id = ?", id));
    TREU_RETURN_IF_ERROR(LogChange(Entity::kOrder, id, ChangeOp::kDelete));
    return true;
  }

  Result<bool> DeleteSubscription(std::string_view external_id) override {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, DeleteRow("DELETE FROM subscriptions WHERE workspace_id = ? AND external_id = ? RETURNING id",
                                      external_id));
    if (id == 0) return false;
    TREU_RETURN_IF_ERROR(
        DeleteDetails("DELETE FROM subscription_changes WHERE subscription_id = ?", id));
    TREU_RETURN_IF_ERROR(LogChange(Entity::kSubscription, id, ChangeOp::kDelete));
    return true;
  }

  Result<bool> DeleteProduct(std::string_view external_id) override {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, DeleteRow("DELETE FROM products WHERE workspace_id = ? AND external_id = ? RETURNING id",
                                      external_id));
    if (id == 0) return false;
    TREU_RETURN_IF_ERROR(LogChange(Entity::kProduct, id, ChangeOp::kDelete));
    return true;
  }

  Result<bool> EraseCustomer(std::string_view external_id, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(Stmt * find, db_.Prepare("SELECT id FROM customers WHERE "
                                                   "workspace_id = ? AND external_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool found, find->Bind(ws_.value).Bind(external_id).Step());
    if (!found) return false;
    const std::int64_t id = find->Int(0);
    find->Reset();
    resolved_.erase(std::string(external_id));
    TREU_ASSIGN_OR_RETURN(
        Stmt * up, db_.Prepare("UPDATE customers SET external_id = ?, email = '', name = '', "
                               "country = '', locale = '', time_zone = '', updated_at = ? "
                               "WHERE id = ?"));
    TREU_RETURN_IF_ERROR(up->Bind("erased-" + std::to_string(id)).Bind(now.micros).Bind(id).Run());
    TREU_RETURN_IF_ERROR(DeleteDetails("DELETE FROM customer_attributes WHERE customer_id = ?", id));
    TREU_RETURN_IF_ERROR(DeleteDetails("DELETE FROM customer_consents WHERE customer_id = ?", id));
    TREU_RETURN_IF_ERROR(LogChange(Entity::kCustomer, id, ChangeOp::kUpdate));
    TREU_ASSIGN_OR_RETURN(Stmt * links, db_.Prepare("DELETE FROM identities WHERE workspace_id = ? "
                                                    "AND customer_id = ?"));
    TREU_RETURN_IF_ERROR(links->Bind(ws_.value).Bind(id).Run());
    TREU_ASSIGN_OR_RETURN(Stmt * push, db_.Prepare("DELETE FROM push_subscriptions WHERE workspace_id = ? "
                                                   "AND customer_id = ?"));
    TREU_RETURN_IF_ERROR(push->Bind(ws_.value).Bind(id).Run());
    TREU_ASSIGN_OR_RETURN(Stmt * events, db_.Prepare("DELETE FROM events WHERE workspace_id = ? "
                                                     "AND customer_id = ? RETURNING id"));
    events->Bind(ws_.value).Bind(id);
    std::vector<std::int64_t> deleted;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, events->Step());
      if (!row) break;
      deleted.push_back(events->Int(0));
    }
    std::sort(deleted.begin(), deleted.end());
    for (std::int64_t e : deleted) TREU_RETURN_IF_ERROR(LogChange(Entity::kEvent, e, ChangeOp::kDelete));
    return true;
  }

  // ---- Loyalty

  Result<std::optional<LoyaltyMember>> FindLoyaltyMember(CustomerId customer) override {
    return FindLoyaltyMemberIn(db_, ws_, customer);
  }

  Status SaveLoyaltyMember(const LoyaltyMember& m) override {
    // Written only when no other member of the workspace has the referral code, so a taken code
    // is an error value and the transaction stays usable (the unique index is the backstop).
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "INSERT INTO loyalty_members (workspace_id, customer_id, available, pending, held, "
            "earned, redeemed, transfers, tier, tier_since, tier_review_at, next_due_at, "
            "referral_code, referred_by, enrolled_at, updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM loyalty_members WHERE "
            "workspace_id = ? AND referral_code = ? AND referral_code <> '' AND customer_id <> ?) "
            "ON CONFLICT (workspace_id, customer_id) DO UPDATE SET available = excluded.available, "
            "pending = excluded.pending, held = excluded.held, earned = excluded.earned, redeemed "
            "= excluded.redeemed, transfers = excluded.transfers, tier = excluded.tier, tier_since "
            "= excluded.tier_since, tier_review_at = excluded.tier_review_at, next_due_at = "
            "excluded.next_due_at, referral_code = excluded.referral_code, referred_by = "
            "excluded.referred_by, enrolled_at = excluded.enrolled_at, updated_at = "
            "excluded.updated_at"));
    TREU_RETURN_IF_ERROR(
        s->Bind(ws_.value)
            .Bind(m.customer.value)
            .Bind(m.available)
            .Bind(m.pending)
            .Bind(m.held)
            .Bind(m.earned)
            .Bind(m.redeemed)
            .Bind(m.transfers)
            .Bind(m.tier)
            .Bind(m.tier_since.micros)
            .Bind(OptionalMicros(m.tier_review_at))
            .Bind(OptionalMicros(m.next_due_at))
            .Bind(m.referral_code)
            .Bind(m.referred_by.valid() ? std::optional(m.referred_by.value) : std::nullopt)
            .Bind(m.enrolled_at.micros)
            .Bind(m.updated_at.micros)
            .Bind(ws_.value)
            .Bind(m.referral_code)
            .Bind(m.customer.value)
            .Run());
    if (db_.Changes() == 0) {
      return AlreadyExists("referral code " + m.referral_code,
                           "another member of the workspace has it");
    }
    return Ok();
  }

  Result<std::optional<LoyaltyMember>> FindLoyaltyMemberByReferralCode(
      std::string_view code) override {
    // "referral_code <> ''" lets SQLite use the partial unique index, and "" finds nobody.
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "SELECT customer_id, available, pending, held, earned, redeemed, transfers, tier, "
            "tier_since, tier_review_at, next_due_at, referral_code, referred_by, enrolled_at, "
            "updated_at FROM loyalty_members WHERE workspace_id = ? AND referral_code = ? AND "
            "referral_code <> ''"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws_.value).Bind(code).Step());
    if (!row) return std::optional<LoyaltyMember>();
    LoyaltyMember m = ReadLoyaltyMember(*s, ws_);
    s->Reset();
    return std::optional<LoyaltyMember>(std::move(m));
  }

  Result<std::vector<LoyaltyTransferRecord>> LoyaltyTransfers(CustomerId customer) override {
    if (!customer.valid()) return std::vector<LoyaltyTransferRecord>();
    return ListLoyaltyTransfersIn(db_, ws_, customer, 0, -1);
  }

  Status AppendLoyaltyTransfers(std::span<const LoyaltyTransferRecord> transfers) override {
    if (transfers.empty()) return Ok();
    // A savepoint, so a taken id undoes this call only and the transaction stays usable.
    TREU_ASSIGN_OR_RETURN(Stmt * begin, db_.Prepare("SAVEPOINT loyalty_append"));
    TREU_RETURN_IF_ERROR(begin->Run());
    Status done = AppendLoyaltyTransfersInSavepoint(transfers);
    if (!done) {
      TREU_ASSIGN_OR_RETURN(Stmt * undo, db_.Prepare("ROLLBACK TO loyalty_append"));
      TREU_RETURN_IF_ERROR(undo->Run());
    }
    TREU_ASSIGN_OR_RETURN(Stmt * release, db_.Prepare("RELEASE loyalty_append"));
    TREU_RETURN_IF_ERROR(release->Run());
    return done;
  }

  Status AddLoyaltyTierChange(const LoyaltyTierChange& c) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO loyalty_tier_changes (workspace_id, customer_id, "
                              "from_tier, to_tier, at, reason) VALUES (?, ?, ?, ?, ?, ?)"));
    return s->Bind(ws_.value)
        .Bind(c.customer.value)
        .Bind(c.from_tier)
        .Bind(c.to_tier)
        .Bind(c.at.micros)
        .Bind(c.reason)
        .Run();
  }

  Status SetLoyaltyProcessedSeq(std::int64_t seq) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s,
                          db_.Prepare("UPDATE loyalty_programs SET processed_seq = ? WHERE "
                                      "workspace_id = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(seq).Bind(ws_.value).Run());
    if (db_.Changes() == 0) {
      return NotFound("loyalty program", "the workspace has no loyalty program");
    }
    return Ok();
  }

  Result<std::optional<LoyaltyReward>> FindLoyaltyRewardById(std::int64_t id) override {
    return FindLoyaltyRewardByIdIn(db_, ws_, id);
  }

  Status ChangeLoyaltyRewardStock(std::int64_t reward_id, std::int64_t stock_delta,
                                  std::int64_t redeemed_delta) override {
    // An unlimited stock is NULL and stays NULL.
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("UPDATE loyalty_rewards SET stock = stock + ?, redeemed = "
                              "redeemed + ? WHERE workspace_id = ? AND id = ? AND (stock IS NULL "
                              "OR stock + ? >= 0)"));
    TREU_RETURN_IF_ERROR(s->Bind(stock_delta)
                             .Bind(redeemed_delta)
                             .Bind(ws_.value)
                             .Bind(reward_id)
                             .Bind(stock_delta)
                             .Run());
    if (db_.Changes() > 0) return Ok();
    TREU_ASSIGN_OR_RETURN(auto reward, FindLoyaltyRewardByIdIn(db_, ws_, reward_id));
    if (!reward) return NotFound("reward " + std::to_string(reward_id), "no such reward");
    return FailedPrecondition("reward", "out of stock");
  }

  Result<std::optional<std::string>> ClaimLoyaltyRewardCode(
      std::int64_t reward_id, std::string_view redemption_id) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "UPDATE loyalty_reward_codes SET redemption_id = ? WHERE row = (SELECT row FROM "
            "loyalty_reward_codes WHERE workspace_id = ? AND reward_id = ? AND redemption_id IS "
            "NULL ORDER BY row LIMIT 1) RETURNING code"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(redemption_id).Bind(ws_.value).Bind(reward_id).Step());
    if (!row) return std::optional<std::string>();
    std::string code = s->Text(0);
    s->Reset();
    return std::optional<std::string>(std::move(code));
  }

  Status ReturnLoyaltyRewardCode(std::int64_t reward_id, std::string_view code) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s,
                          db_.Prepare("UPDATE loyalty_reward_codes SET redemption_id = NULL WHERE "
                                      "workspace_id = ? AND reward_id = ? AND code = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(ws_.value).Bind(reward_id).Bind(code).Run());
    if (db_.Changes() == 0) {
      return NotFound("reward code " + std::string(code),
                      "not in the pool of reward " + std::to_string(reward_id));
    }
    return Ok();
  }

  Status SaveLoyaltyRedemption(const LoyaltyRedemption& r) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "INSERT INTO loyalty_redemptions (workspace_id, id, customer_id, reward_id, points, "
            "state, code, created_at, expires_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (workspace_id, id) DO UPDATE SET customer_id = excluded.customer_id, "
            "reward_id = excluded.reward_id, points = excluded.points, state = excluded.state, "
            "code = excluded.code, created_at = excluded.created_at, expires_at = "
            "excluded.expires_at, closed_at = excluded.closed_at"));
    return s->Bind(ws_.value)
        .Bind(r.id)
        .Bind(r.customer.value)
        .Bind(r.reward_id)
        .Bind(r.points)
        .Bind(r.state)
        .Bind(r.code)
        .Bind(r.created_at.micros)
        .Bind(r.expires_at.micros)
        .Bind(OptionalMicros(r.closed_at))
        .Run();
  }

  Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemption(std::string_view id) override {
    return FindLoyaltyRedemptionIn(db_, ws_, id);
  }

  Status Commit() override {
    if (!open_) return FailedPrecondition("commit", "the transaction is not open");
    TREU_RETURN_IF_ERROR(FlushChanges());
    open_ = false;
    if (auto s = db_.Exec("COMMIT"); !s) {
      (void)db_.Exec("ROLLBACK");
      return s;
    }
    return Ok();
  }

  Status Begin() {
    if (auto s = db_.Exec("BEGIN IMMEDIATE"); !s) {
      return Unavailable("sqlite: begin write", s.error().detail());
    }
    open_ = true;
    return Ok();
  }

 private:
  // AppendLoyaltyTransfers inside its savepoint: AlreadyExists at the first id already taken.
  Status AppendLoyaltyTransfersInSavepoint(std::span<const LoyaltyTransferRecord> transfers) {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "INSERT INTO loyalty_transfers (workspace_id, customer_id, id, kind, from_account, "
            "to_account, points, requested, reason, source_kind, source_ref, admin_user_id, at, "
            "refers_to, expires_at, pending_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?) ON CONFLICT (workspace_id, id) DO NOTHING"));
    for (const LoyaltyTransferRecord& t : transfers) {
      TREU_RETURN_IF_ERROR(s->Reset()
                               .Bind(ws_.value)
                               .Bind(t.customer.value)
                               .Bind(t.id)
                               .Bind(t.kind)
                               .Bind(t.from_account)
                               .Bind(t.to_account)
                               .Bind(t.points)
                               .Bind(t.requested)
                               .Bind(t.reason)
                               .Bind(t.source_kind)
                               .Bind(t.source_ref)
                               .Bind(t.admin_user_id)
                               .Bind(t.at.micros)
                               .Bind(t.refers_to)
                               .Bind(OptionalMicros(t.expires_at))
                               .Bind(OptionalMicros(t.pending_until))
                               .Run());
      if (db_.Changes() == 0) {
        return AlreadyExists("loyalty transfer " + t.id, "a transfer with this id is stored");
      }
    }
    return Ok();
  }

  Status InsertRefund(std::int64_t order_id, const Refund& r) {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("INSERT INTO refunds (order_id, refunded_at, "
                                                "amount_minor) VALUES (?, ?, ?)"));
    return s->Bind(order_id).Bind(r.refunded_at.micros).Bind(r.amount_minor).Run();
  }

  // Records a change; extends the pending run when it continues it, else writes the
  // pending run first.
  Status LogChange(Entity entity, std::int64_t id, ChangeOp op) {
    if (pending_ && pending_->entity == entity && pending_->op == op &&
        pending_->last_entity_id + 1 == id) {
      pending_->last_entity_id = id;
      return Ok();
    }
    TREU_RETURN_IF_ERROR(FlushChanges());
    pending_ = Change{0, entity, id, id, op, clock_.Now()};
    return Ok();
  }

  // Runs `sql`, a "DELETE … WHERE workspace_id = ? AND external_id = ? RETURNING id"; the
  // deleted row's id, or 0 when there was none.
  Result<std::int64_t> DeleteRow(const char* sql, std::string_view external_id) {
    TREU_ASSIGN_OR_RETURN(Stmt * d, db_.Prepare(sql));
    TREU_ASSIGN_OR_RETURN(bool row, d->Bind(ws_.value).Bind(external_id).Step());
    const std::int64_t id = row ? d->Int(0) : 0;
    d->Reset();
    return id;
  }

  Status DeleteDetails(const char* sql, std::int64_t id) {
    TREU_ASSIGN_OR_RETURN(Stmt * d, db_.Prepare(sql));
    return d->Bind(id).Run();
  }

  Status FlushChanges() {
    if (!pending_) return Ok();
    const Change c = *pending_;
    pending_.reset();
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("INSERT INTO changes (workspace_id, entity, "
                                                "entity_id, last_entity_id, op, at) VALUES (?, "
                                                "?, ?, ?, ?, ?)"));
    return s->Bind(ws_.value).Bind(EntityName(c.entity)).Bind(c.entity_id)
        .Bind(c.last_entity_id).Bind(ChangeOpName(c.op)).Bind(c.at.micros).Run();
  }

  Db& db_;
  WorkspaceId ws_;
  const Clock& clock_;
  bool open_ = false;
  std::optional<Change> pending_;  // the change-log run not yet written
  std::unordered_map<std::string, CustomerId> resolved_;
};

// ---------------------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const Clock& clock) : clock_(clock) {}
  ~SqliteStore() override {
    for (const auto& [name, fd] : lock_files_) ::close(fd);
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status Open(const std::string& path) {
    path_ = path;
    TREU_RETURN_IF_ERROR(db_.Open(path));
    TREU_RETURN_IF_ERROR(db_.Exec("PRAGMA journal_mode = WAL"));
    TREU_RETURN_IF_ERROR(db_.Exec("PRAGMA synchronous = FULL"));
    // The schema declares its foreign keys, but SQLite's per-row enforcement costs ~40 % of
    // bulk-insert throughput. Every id the store writes comes from the same transaction and
    // workspace, and the tests run PRAGMA foreign_key_check (docs/decisions/0002).
    TREU_RETURN_IF_ERROR(db_.Exec("PRAGMA foreign_keys = OFF"));
    TREU_RETURN_IF_ERROR(db_.Exec("PRAGMA cache_size = -65536"));  // 64 MiB page cache
    // A large import grows the WAL to the size of what it wrote; shrink it again after the
    // next checkpoint instead of keeping gigabytes of log file around.
    TREU_RETURN_IF_ERROR(db_.Exec("PRAGMA journal_size_limit = 67108864"));
    return Migrate(db_);
  }

  std::string_view backend() const override { return "sqlite"; }

  Result<bool> HoldLock(std::string_view name) override {
    TREU_RETURN_IF_ERROR(CheckLockName(name));
    if (path_.empty() || path_ == ":memory:" || path_.starts_with("file::memory:")) return true;
    auto it = lock_files_.find(std::string(name));
    if (it == lock_files_.end()) {
      const std::string file = path_ + "-" + std::string(name) + ".lock";
      const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return Unavailable("lock " + std::string(name), file + ": " + std::strerror(errno));
      it = lock_files_.emplace(std::string(name), fd).first;
    }
    // The lock belongs to this store's open file: another store, in this process or another,
    // opens its own and is refused while this one holds it.
    if (::flock(it->second, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EWOULDBLOCK) return false;
    return Unavailable("lock " + std::string(name), std::strerror(errno));
  }

  Result<Workspace> FindWorkspace(std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, name, currency, time_zone, retention_basis, "
                              "activity_window_days, created_at, purchase_model, allow_private_webhooks, brand_colour FROM workspaces WHERE name = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(name).Step());
    if (!row) return NotFound("workspace " + std::string(name), "no such workspace");
    auto w = ReadWorkspace(*s);
    s->Reset();
    return w;
  }

  Result<Workspace> CreateWorkspace(const Workspace& w) override {
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    auto rollback = [&](Error e) {
      (void)db_.Exec("ROLLBACK");
      return std::unexpected(std::move(e));
    };
    auto ins = db_.Prepare("INSERT INTO workspaces (name, currency, time_zone, retention_basis, "
                           "activity_window_days, created_at, purchase_model) VALUES (?, ?, ?, "
                           "?, ?, ?, ?) ON CONFLICT (name) DO NOTHING");
    if (!ins) return rollback(ins.error());
    (*ins)->Bind(w.name);
    if (w.currency) {
      (*ins)->Bind(w.currency->code());
    } else {
      (*ins)->BindNull();
    }
    auto run = (*ins)->Bind(w.time_zone).Bind(RetentionBasisName(w.retention_basis))
                   .Bind(std::int64_t{w.activity_window_days}).Bind(w.created_at.micros)
                   .Bind(PurchaseModelName(w.purchase_model)).Run();
    if (!run) return rollback(run.error());
    if (db_.Changes() == 0) {
      return rollback(Error(ErrorCode::kAlreadyExists, "workspace " + w.name, "already exists"));
    }
    Workspace out = w;
    out.id = WorkspaceId{db_.LastRowId()};
    out.allow_private_webhooks = false;
    out.brand_colour.clear();
    auto log = db_.Prepare("INSERT INTO changes (workspace_id, entity, entity_id, "
                           "last_entity_id, op, at) VALUES (?, 'workspace', ?, ?, 'insert', ?)");
    if (!log) return rollback(log.error());
    if (auto r = (*log)->Bind(out.id.value).Bind(out.id.value).Bind(out.id.value)
                     .Bind(clock_.Now().micros).Run();
        !r) {
      return rollback(r.error());
    }
    TREU_RETURN_IF_ERROR(db_.Exec("COMMIT"));
    return out;
  }

  Result<std::vector<Workspace>> ListWorkspaces() override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, name, currency, time_zone, retention_basis, "
                              "activity_window_days, created_at, purchase_model, allow_private_webhooks, brand_colour FROM workspaces ORDER BY id"));
    std::vector<Workspace> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Workspace w, ReadWorkspace(*s));
      out.push_back(std::move(w));
    }
    return out;
  }

  Result<std::unique_ptr<WriteTransaction>> BeginWrite(WorkspaceId ws) override {
    auto tx = std::make_unique<SqliteWriteTransaction>(db_, ws, clock_);
    TREU_RETURN_IF_ERROR(tx->Begin());
    return std::unique_ptr<WriteTransaction>(std::move(tx));
  }

  Result<EntityCounts> Counts(WorkspaceId ws) override {
    EntityCounts c;
    struct Q {
      const char* sql;
      std::int64_t* out;
    };
    const Q queries[] = {
        {"SELECT count(*) FROM customers WHERE workspace_id = ?", &c.customers},
        {"SELECT count(*) FROM orders WHERE workspace_id = ?", &c.orders},
        {"SELECT count(*) FROM refunds r JOIN orders o ON o.id = r.order_id WHERE "
         "o.workspace_id = ?",
         &c.refunds},
        {"SELECT count(*) FROM subscriptions WHERE workspace_id = ?", &c.subscriptions},
        {"SELECT count(*) FROM subscription_changes h JOIN subscriptions s ON s.id = "
         "h.subscription_id WHERE s.workspace_id = ?",
         &c.subscription_changes},
        {"SELECT count(*) FROM events WHERE workspace_id = ?", &c.events},
        {"SELECT count(*) FROM products WHERE workspace_id = ?", &c.products},
        {"SELECT count(*) FROM changes WHERE workspace_id = ?", &c.changes},
    };
    for (const Q& q : queries) {
      TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(q.sql));
      TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Step());
      *q.out = row ? s->Int(0) : 0;
      s->Reset();
    }
    return c;
  }

  Result<std::optional<Customer>> FindCustomer(WorkspaceId ws, std::string_view ext) override {
    return FindCustomerIn(db_, ws, ext);
  }
  Result<std::optional<Order>> FindOrder(WorkspaceId ws, std::string_view ext) override {
    return FindOrderIn(db_, ws, ext);
  }
  Result<std::optional<Product>> FindProduct(WorkspaceId ws, std::string_view ext) override {
    return FindProductIn(db_, ws, ext);
  }

  Result<std::vector<Order>> ListOrders(WorkspaceId ws, std::string_view customer,
                                        std::int64_t after_id, int limit) override {
    // One customer's orders through the customer index (an OR of both cases would make
    // SQLite scan every order), or all of them.
    static const char* const kAll =
        "SELECT o.id, o.external_id, o.customer_id, c.external_id, o.placed_at, o.total_minor, o.currency, o.status "
        "FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.workspace_id = ? AND o.id > ? "
        "ORDER BY o.id LIMIT ?";
    static const char* const kOfCustomer =
        "SELECT o.id, o.external_id, o.customer_id, c.external_id, o.placed_at, o.total_minor, o.currency, o.status "
        "FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.workspace_id = ? AND c.external_id = ? "
        "AND o.id > ? ORDER BY o.id LIMIT ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(customer.empty() ? kAll : kOfCustomer));
    if (customer.empty()) {
      s->Bind(ws.value).Bind(after_id).Bind(std::int64_t{limit});
    } else {
      s->Bind(ws.value).Bind(customer).Bind(after_id).Bind(std::int64_t{limit});
    }
    std::vector<Order> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Order o, ReadOrderRow(*s));
      out.push_back(std::move(o));
    }
    s->Reset();
    for (Order& o : out) TREU_RETURN_IF_ERROR(LoadOrderDetails(db_, o));
    return out;
  }

  Result<std::vector<Subscription>> ListSubscriptions(WorkspaceId ws, std::string_view customer,
                                                      std::int64_t after_id, int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT s.id, s.external_id, s.customer_id, c.external_id, "
                              "s.currency, s.started_at, s.ended_at FROM subscriptions s JOIN "
                              "customers c ON c.id = s.customer_id WHERE s.workspace_id = ? AND "
                              "s.id > ? AND (? = '' OR c.external_id = ?) ORDER BY s.id LIMIT ?"));
    s->Bind(ws.value).Bind(after_id).Bind(customer).Bind(customer).Bind(std::int64_t{limit});
    std::vector<Subscription> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Subscription sub, ReadSubscriptionRow(*s));
      out.push_back(std::move(sub));
    }
    s->Reset();
    for (Subscription& sub : out) TREU_RETURN_IF_ERROR(LoadSubscriptionHistory(db_, sub));
    return out;
  }

  Result<std::vector<Product>> ListProducts(WorkspaceId ws, std::int64_t after_id,
                                            int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, external_id, name, price_minor, currency FROM products "
                              "WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?"));
    s->Bind(ws.value).Bind(after_id).Bind(std::int64_t{limit});
    std::vector<Product> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Product p, ReadProductRow(*s));
      out.push_back(std::move(p));
    }
    s->Reset();
    return out;
  }

  Result<ImportJob> CreateImportJob(const ImportJob& job) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO import_jobs (workspace_id, kind, status, file_name, "
                              "bytes_total, bytes_read, rows_read, rows_rejected, inserted, "
                              "updated, unchanged, error, issues, created_at, finished_at) VALUES "
                              "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    TREU_RETURN_IF_ERROR(
        s->Bind(job.workspace.value).Bind(job.kind).Bind(JobStatusName(job.status))
            .Bind(job.file_name).Bind(job.bytes_total).Bind(job.bytes_read).Bind(job.rows)
            .Bind(job.rows_rejected).Bind(job.inserted).Bind(job.updated).Bind(job.unchanged)
            .Bind(job.error).Bind(job.issues).Bind(job.created_at.micros)
            .Bind(job.finished_at ? std::optional(job.finished_at->micros) : std::nullopt)
            .Run());
    ImportJob out = job;
    out.id = db_.LastRowId();
    return out;
  }

  Status UpdateImportJob(const ImportJob& job) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("UPDATE import_jobs SET status = ?, bytes_total = ?, bytes_read = "
                              "?, rows_read = ?, rows_rejected = ?, inserted = ?, updated = ?, "
                              "unchanged = ?, error = ?, issues = ?, finished_at = ? WHERE id = ? "
                              "AND workspace_id = ?"));
    TREU_RETURN_IF_ERROR(
        s->Bind(JobStatusName(job.status)).Bind(job.bytes_total).Bind(job.bytes_read)
            .Bind(job.rows).Bind(job.rows_rejected).Bind(job.inserted).Bind(job.updated)
            .Bind(job.unchanged).Bind(job.error).Bind(job.issues)
            .Bind(job.finished_at ? std::optional(job.finished_at->micros) : std::nullopt)
            .Bind(job.id).Bind(job.workspace.value).Run());
    if (db_.Changes() == 0) return NotFound("import " + std::to_string(job.id), "no such import job");
    return Ok();
  }

  Result<std::optional<ImportJob>> FindImportJob(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, workspace_id, kind, status, file_name, bytes_total, "
                              "bytes_read, rows_read, rows_rejected, inserted, updated, unchanged, "
                              "error, issues, created_at, finished_at FROM import_jobs WHERE "
                              "workspace_id = ? AND id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
    if (!row) return std::optional<ImportJob>();
    auto job = ReadImportJobRow(*s);
    s->Reset();
    if (!job) return std::unexpected(job.error());
    return std::optional<ImportJob>(std::move(*job));
  }

  Result<std::int64_t> FailUnfinishedImportJobs(std::string_view error, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("UPDATE import_jobs SET status = 'failed', error = ?, finished_at = "
                              "? WHERE status IN ('queued', 'running')"));
    TREU_RETURN_IF_ERROR(s->Bind(error).Bind(now.micros).Run());
    return std::int64_t{db_.Changes()};
  }

  Status UpdateWorkspace(const Workspace& w) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("UPDATE workspaces SET retention_basis = ?, activity_window_days = ?, "
                              "purchase_model = ?, allow_private_webhooks = ?, brand_colour = ?, time_zone = ?, "
                              "currency = COALESCE(currency, NULLIF(?, '')) WHERE id = ?"));
    const std::string_view currency = w.currency ? w.currency->code() : std::string_view();
    TREU_RETURN_IF_ERROR(s->Bind(RetentionBasisName(w.retention_basis))
                             .Bind(std::int64_t{w.activity_window_days})
                             .Bind(PurchaseModelName(w.purchase_model))
                             .Bind(std::int64_t{w.allow_private_webhooks ? 1 : 0}).Bind(w.brand_colour)
                             .Bind(w.time_zone).Bind(currency)
                             .Bind(w.id.value).Run());
    if (db_.Changes() == 0) return NotFound("workspace " + w.name, "no such workspace");
    return Ok();
  }

  Result<ModelRun> CreateModelRun(const ModelRun& run) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO model_runs (workspace_id, model, status, "
                              "calibration_end, unit_days, params, std_errors, log_likelihood, "
                              "customers, evaluations, seconds, error, created_at, finished_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    TREU_RETURN_IF_ERROR(
        s->Bind(run.workspace.value).Bind(run.model).Bind(JobStatusName(run.status))
            .Bind(FormatDate(run.calibration_end)).Bind(run.unit_days)
            .Bind(EncodeNamedValues(run.params)).Bind(EncodeNamedValues(run.std_errors))
            .Bind(run.log_likelihood).Bind(run.customers).Bind(run.evaluations)
            .Bind(run.seconds).Bind(run.error).Bind(run.created_at.micros)
            .Bind(run.finished_at ? std::optional(run.finished_at->micros) : std::nullopt)
            .Run());
    ModelRun out = run;
    out.id = db_.LastRowId();
    return out;
  }

  Status UpdateModelRun(const ModelRun& run) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("UPDATE model_runs SET status = ?, calibration_end = ?, unit_days = "
                              "?, params = ?, std_errors = ?, log_likelihood = ?, customers = ?, "
                              "evaluations = ?, seconds = ?, error = ?, finished_at = ? WHERE id "
                              "= ? AND workspace_id = ?"));
    TREU_RETURN_IF_ERROR(
        s->Bind(JobStatusName(run.status)).Bind(FormatDate(run.calibration_end))
            .Bind(run.unit_days).Bind(EncodeNamedValues(run.params))
            .Bind(EncodeNamedValues(run.std_errors)).Bind(run.log_likelihood)
            .Bind(run.customers).Bind(run.evaluations).Bind(run.seconds).Bind(run.error)
            .Bind(run.finished_at ? std::optional(run.finished_at->micros) : std::nullopt)
            .Bind(run.id).Bind(run.workspace.value).Run());
    if (db_.Changes() == 0) return NotFound("model run " + std::to_string(run.id), "no such model run");
    return Ok();
  }

  Result<std::vector<ModelRun>> ListModelRuns(WorkspaceId ws, std::string_view model,
                                              int limit) override {
    // Static: the statement cache is keyed by the text's address.
    static const std::string sql = std::string("SELECT ") + kModelRunColumns +
                                   " FROM model_runs WHERE workspace_id = ? AND (? = '' OR model "
                                   "= ?) ORDER BY id DESC LIMIT ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(sql.c_str()));
    s->Bind(ws.value).Bind(model).Bind(model).Bind(std::int64_t{limit});
    std::vector<ModelRun> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(ModelRun m, ReadModelRunRow(*s));
      out.push_back(std::move(m));
    }
    return out;
  }

  Result<std::optional<ModelRun>> FindModelRun(WorkspaceId ws, std::int64_t id) override {
    static const std::string sql = std::string("SELECT ") + kModelRunColumns +
                                   " FROM model_runs WHERE workspace_id = ? AND id = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(sql.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
    if (!row) return std::optional<ModelRun>();
    auto run = ReadModelRunRow(*s);
    s->Reset();
    if (!run) return std::unexpected(run.error());
    return std::optional<ModelRun>(std::move(*run));
  }

  Result<std::optional<std::string>> CustomerExternalId(WorkspaceId ws, CustomerId id) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT external_id FROM customers WHERE workspace_id = ? AND id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id.value).Step());
    if (!row) return std::optional<std::string>();
    std::string out = s->Text(0);
    s->Reset();
    return std::optional<std::string>(std::move(out));
  }

  Result<SurveyRecord> SaveSurvey(const SurveyRecord& sv) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO surveys (workspace_id, name, definition, created_at, updated_at) VALUES "
                              "(?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO UPDATE SET definition = "
                              "excluded.definition, updated_at = excluded.updated_at"));
    TREU_RETURN_IF_ERROR(s->Bind(sv.workspace.value).Bind(sv.name).Bind(sv.definition).Bind(sv.created_at.micros)
                             .Bind(sv.updated_at.micros).Run());
    TREU_ASSIGN_OR_RETURN(auto stored, FindSurvey(sv.workspace, sv.name));
    if (!stored) return Internal("save survey " + sv.name, "not found after saving");
    return *stored;
  }

  // A row of "SELECT id, name, definition, created_at, updated_at FROM surveys".
  static SurveyRecord ReadSurvey(const Stmt& s, WorkspaceId ws) {
    return {s.Int(0), ws, s.Text(1), s.Text(2), Timestamp{s.Int(3)}, Timestamp{s.Int(4)}};
  }

  Result<std::vector<SurveyRecord>> ListSurveys(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, name, definition, created_at, updated_at FROM surveys "
                                                "WHERE workspace_id = ? ORDER BY name"));
    s->Bind(ws.value);
    std::vector<SurveyRecord> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadSurvey(*s, ws));
    }
    return out;
  }

  Result<std::optional<SurveyRecord>> FindSurvey(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, name, definition, created_at, updated_at FROM surveys "
                                                "WHERE workspace_id = ? AND name = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(name).Step());
    if (!row) return std::optional<SurveyRecord>();
    SurveyRecord out = ReadSurvey(*s, ws);
    s->Reset();
    return std::optional<SurveyRecord>(std::move(out));
  }

  Result<std::optional<SurveyRecord>> FindSurveyById(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, name, definition, created_at, updated_at FROM surveys "
                                                "WHERE workspace_id = ? AND id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
    if (!row) return std::optional<SurveyRecord>();
    SurveyRecord out = ReadSurvey(*s, ws);
    s->Reset();
    return std::optional<SurveyRecord>(std::move(out));
  }

  Status CreateSurveyInvitations(std::span<const SurveyInvitation> invitations) override {
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    Status done = [&]() -> Status {
      TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("INSERT INTO survey_invitations (workspace_id, survey_id, "
                                                  "customer_id, nonce, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"));
      for (const SurveyInvitation& i : invitations) {
        TREU_RETURN_IF_ERROR(s->Reset().Bind(i.workspace.value).Bind(i.survey_id).Bind(i.customer.value).Bind(i.nonce)
                                 .Bind(i.created_at.micros).Bind(i.expires_at.micros).Run());
      }
      return Ok();
    }();
    if (!done) {
      (void)db_.Exec("ROLLBACK");
      return done;
    }
    return db_.Exec("COMMIT");
  }

  Result<std::optional<SurveyInvitation>> FindSurveyInvitation(WorkspaceId ws, std::int64_t survey_id,
                                                               std::int64_t nonce) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, customer_id, created_at, expires_at FROM "
                                                "survey_invitations WHERE workspace_id = ? AND survey_id = ? AND "
                                                "nonce = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(survey_id).Bind(nonce).Step());
    if (!row) return std::optional<SurveyInvitation>();
    SurveyInvitation out{s->Int(0), ws, survey_id, CustomerId{s->Int(1)}, nonce, Timestamp{s->Int(2)}, Timestamp{s->Int(3)}};
    s->Reset();
    return std::optional<SurveyInvitation>(out);
  }

  Result<std::int64_t> CountSurveyInvitations(WorkspaceId ws, std::int64_t survey_id) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT count(*) FROM survey_invitations WHERE workspace_id = ? AND "
                                                "survey_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(survey_id).Step());
    const std::int64_t n = row ? s->Int(0) : 0;
    s->Reset();
    return n;
  }

  Result<SurveyResponse> SaveSurveyResponse(const SurveyResponse& r) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO survey_responses (workspace_id, survey_id, customer_id, nonce, answers, "
                              "created_at, updated_at, nps_score, nps_category) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT (survey_id, nonce) DO UPDATE SET answers = excluded.answers, updated_at = "
                              "excluded.updated_at, nps_score = excluded.nps_score, nps_category = "
                              "excluded.nps_category"));
    s->Bind(r.workspace.value).Bind(r.survey_id).Bind(r.customer.value).Bind(r.nonce).Bind(r.answers)
        .Bind(r.created_at.micros).Bind(r.updated_at.micros);
    if (r.nps_score) {
      s->Bind(std::int64_t{*r.nps_score});
    } else {
      s->BindNull();
    }
    TREU_RETURN_IF_ERROR(s->Bind(r.nps_category).Run());
    TREU_ASSIGN_OR_RETURN(auto stored, FindSurveyResponse(r.workspace, r.survey_id, r.nonce));
    if (!stored) return Internal("survey response", "not found after saving");
    stored->nps_score = r.nps_score;
    stored->nps_category = r.nps_category;
    return *stored;
  }

  // A row of "SELECT id, survey_id, customer_id, nonce, answers, created_at, updated_at FROM survey_responses".
  static SurveyResponse ReadResponse(const Stmt& s, WorkspaceId ws) {
    return {s.Int(0), ws, s.Int(1), CustomerId{s.Int(2)}, s.Int(3), s.Text(4), Timestamp{s.Int(5)}, Timestamp{s.Int(6)}};
  }

  Result<std::optional<SurveyResponse>> FindSurveyResponse(WorkspaceId ws, std::int64_t survey_id,
                                                           std::int64_t nonce) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, survey_id, customer_id, nonce, answers, created_at, "
                                                "updated_at FROM survey_responses WHERE workspace_id = ? AND "
                                                "survey_id = ? AND nonce = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(survey_id).Bind(nonce).Step());
    if (!row) return std::optional<SurveyResponse>();
    SurveyResponse out = ReadResponse(*s, ws);
    s->Reset();
    return std::optional<SurveyResponse>(std::move(out));
  }

  Result<std::vector<NpsScore>> LatestNpsScores(WorkspaceId ws, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT customer_id, nps_score, nps_category, updated_at FROM "
                                                "survey_responses WHERE workspace_id = ? AND nps_score IS NOT NULL "
                                                "AND updated_at <= ? ORDER BY customer_id, updated_at, id"));
    s->Bind(ws.value).Bind(now.micros);
    std::vector<NpsScore> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      NpsScore n{CustomerId{s->Int(0)}, static_cast<int>(s->Int(1)), s->Text(2), Timestamp{s->Int(3)}};
      if (!out.empty() && out.back().customer == n.customer) out.pop_back();
      out.push_back(std::move(n));
    }
    return out;
  }

  Result<std::vector<SurveyResponse>> ListSurveyResponses(WorkspaceId ws, std::int64_t survey_id,
                                                          std::int64_t after_id, int limit) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, survey_id, customer_id, nonce, answers, created_at, "
                                                "updated_at, nps_score FROM survey_responses WHERE workspace_id = ? "
                                                "AND survey_id = ? AND id > ? ORDER BY id LIMIT ?"));
    s->Bind(ws.value).Bind(survey_id).Bind(after_id).Bind(std::int64_t{limit});
    std::vector<SurveyResponse> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      SurveyResponse r = ReadResponse(*s, ws);
      if (!s->IsNull(7)) r.nps_score = static_cast<int>(s->Int(7));
      out.push_back(std::move(r));
    }
    return out;
  }

  Status ScanSurveyInvitations(WorkspaceId ws,
                               const std::function<void(std::int64_t, CustomerId, Timestamp)>& f) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT survey_id, customer_id, created_at FROM survey_invitations "
                                                "WHERE workspace_id = ? ORDER BY id"));
    s->Bind(ws.value);
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      f(s->Int(0), CustomerId{s->Int(1)}, Timestamp{s->Int(2)});
    }
    return Ok();
  }

  Result<std::vector<std::pair<CustomerId, Timestamp>>> LatestEvents(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT customer_id, max(timestamp) FROM events WHERE workspace_id = ? "
                                                "AND name = ? AND customer_id IS NOT NULL GROUP BY customer_id "
                                                "ORDER BY customer_id"));
    s->Bind(ws.value).Bind(name);
    std::vector<std::pair<CustomerId, Timestamp>> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.emplace_back(CustomerId{s->Int(0)}, Timestamp{s->Int(1)});
    }
    return out;
  }

  static constexpr const char* kFollowUpColumns =
      "id, workspace_id, survey_id, customer_id, nonce, score, status, assignee, note, created_at, updated_at, "
      "webhook_url, notify_state, notify_attempts, notify_next_at, notify_error";
  // A row of "SELECT <kFollowUpColumns> FROM followups".
  static FollowUpItem ReadFollowUp(const Stmt& s) {
    return {s.Int(0),     WorkspaceId{s.Int(1)}, s.Int(2),  CustomerId{s.Int(3)}, s.Int(4),
            static_cast<int>(s.Int(5)), s.Text(6), s.Text(7), s.Text(8), Timestamp{s.Int(9)},
            Timestamp{s.Int(10)}, s.Text(11), s.Text(12), static_cast<int>(s.Int(13)), Timestamp{s.Int(14)},
            s.Text(15)};
  }

  Result<std::pair<FollowUpItem, bool>> CreateFollowUp(const FollowUpItem& f) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * ins, db_.Prepare("INSERT INTO followups (workspace_id, survey_id, customer_id, nonce, score, status, "
                                "assignee, note, created_at, updated_at, webhook_url, notify_state, notify_attempts, "
                                "notify_next_at, notify_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                "ON CONFLICT (survey_id, nonce) DO NOTHING"));
    TREU_RETURN_IF_ERROR(ins->Bind(f.workspace.value).Bind(f.survey_id).Bind(f.customer.value).Bind(f.nonce)
                             .Bind(std::int64_t{f.score}).Bind(f.status).Bind(f.assignee).Bind(f.note)
                             .Bind(f.created_at.micros).Bind(f.updated_at.micros).Bind(f.webhook_url)
                             .Bind(f.notify_state).Bind(std::int64_t{f.notify_attempts}).Bind(f.notify_next_at.micros)
                             .Bind(f.notify_error).Run());
    const bool created = db_.Changes() > 0;
    static const std::string kFind = std::string("SELECT ") + kFollowUpColumns +
                                     " FROM followups WHERE workspace_id = ? AND survey_id = ? AND nonce = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kFind.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(f.workspace.value).Bind(f.survey_id).Bind(f.nonce).Step());
    if (!row) return Internal("follow-up", "not found after saving");
    FollowUpItem out = ReadFollowUp(*s);
    s->Reset();
    return std::pair<FollowUpItem, bool>(std::move(out), created);
  }

  Result<std::optional<FollowUpItem>> FindFollowUp(WorkspaceId ws, std::int64_t id) override {
    static const std::string kSql =
        std::string("SELECT ") + kFollowUpColumns + " FROM followups WHERE workspace_id = ? AND id = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
    if (!row) return std::optional<FollowUpItem>();
    FollowUpItem out = ReadFollowUp(*s);
    s->Reset();
    return std::optional<FollowUpItem>(std::move(out));
  }

  Result<std::vector<FollowUpItem>> ListFollowUps(WorkspaceId ws, std::string_view status, std::int64_t after_id,
                                                  int limit) override {
    static const std::string kSql = std::string("SELECT ") + kFollowUpColumns +
                                    " FROM followups WHERE workspace_id = ? AND (? = '' OR status = ?) AND id > ? "
                                    "ORDER BY id LIMIT ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value).Bind(status).Bind(status).Bind(after_id).Bind(std::int64_t{limit});
    std::vector<FollowUpItem> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadFollowUp(*s));
    }
    return out;
  }

  Status UpdateFollowUp(const FollowUpItem& f) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("UPDATE followups SET status = ?, assignee = ?, note = ?, "
                                                "updated_at = ? WHERE workspace_id = ? AND id = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(f.status).Bind(f.assignee).Bind(f.note).Bind(f.updated_at.micros)
                             .Bind(f.workspace.value).Bind(f.id).Run());
    if (db_.Changes() == 0) return NotFound("follow-up " + std::to_string(f.id), "no such follow-up in this workspace");
    return Ok();
  }

  Result<std::vector<FollowUpItem>> DueFollowUpNotifications(Timestamp now, int limit) override {
    static const std::string kSql = std::string("SELECT ") + kFollowUpColumns +
                                    " FROM followups WHERE notify_state = 'pending' AND notify_next_at <= ? "
                                    "ORDER BY notify_next_at, id LIMIT ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(now.micros).Bind(std::int64_t{limit});
    std::vector<FollowUpItem> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadFollowUp(*s));
    }
    return out;
  }

  Status RecordFollowUpNotification(std::int64_t id, std::string_view state, int attempts, Timestamp next_at,
                                    std::string_view error) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("UPDATE followups SET notify_state = ?, notify_attempts = ?, "
                                                "notify_next_at = ?, notify_error = ? WHERE id = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(state).Bind(std::int64_t{attempts}).Bind(next_at.micros).Bind(error).Bind(id).Run());
    if (db_.Changes() == 0) return NotFound("follow-up " + std::to_string(id), "no such follow-up");
    return Ok();
  }

  // A row of "SELECT id, name, expr, created_at, updated_at, builtin FROM segments".
  static SegmentDefinition ReadSegment(const Stmt& s, WorkspaceId ws) {
    return {s.Int(0), ws, s.Text(1), s.Text(2), Timestamp{s.Int(3)}, Timestamp{s.Int(4)}, s.Int(5) != 0};
  }

  Result<SegmentDefinition> SaveSegment(const SegmentDefinition& seg) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO segments (workspace_id, name, expr, created_at, updated_at, builtin) "
                              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO UPDATE SET "
                              "expr = excluded.expr, updated_at = excluded.updated_at"));
    TREU_RETURN_IF_ERROR(s->Bind(seg.workspace.value).Bind(seg.name).Bind(seg.expr)
                             .Bind(seg.created_at.micros).Bind(seg.updated_at.micros)
                             .Bind(std::int64_t{seg.builtin ? 1 : 0}).Run());
    TREU_ASSIGN_OR_RETURN(auto stored, FindSegment(seg.workspace, seg.name));
    if (!stored) return Internal("save segment " + seg.name, "not found after saving");
    return *stored;
  }

  Result<std::vector<SegmentDefinition>> ListSegments(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, name, expr, created_at, updated_at, builtin FROM segments WHERE "
                              "workspace_id = ? ORDER BY name"));
    s->Bind(ws.value);
    std::vector<SegmentDefinition> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadSegment(*s, ws));
    }
    return out;
  }

  Result<std::optional<SegmentDefinition>> FindSegment(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, name, expr, created_at, updated_at, builtin FROM segments WHERE "
                              "workspace_id = ? AND name = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(name).Step());
    if (!row) return std::optional<SegmentDefinition>();
    SegmentDefinition out = ReadSegment(*s, ws);
    s->Reset();
    return std::optional<SegmentDefinition>(std::move(out));
  }

  Status DeleteSegment(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(auto found, FindSegment(ws, name));
    if (!found) return NotFound("segment " + std::string(name), "no such segment");
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    Status done = DeleteSegmentLocked(ws, found->id);
    if (!done) {
      (void)db_.Exec("ROLLBACK");
      return done;
    }
    return db_.Exec("COMMIT");
  }

  Status DeleteSegmentLocked(WorkspaceId ws, std::int64_t id) {
    static constexpr const char* kDeletes[] = {
        "DELETE FROM segment_members WHERE segment_id = ?",
        "DELETE FROM segment_transitions WHERE segment_id = ?",
        "DELETE FROM segment_sizes WHERE segment_id = ?",
    };
    for (const char* sql : kDeletes) {
      TREU_ASSIGN_OR_RETURN(Stmt * d, db_.Prepare(sql));  // static text: cached by address
      TREU_RETURN_IF_ERROR(d->Bind(id).Run());
    }
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM segments WHERE workspace_id = ? AND id = ?"));
    return s->Bind(ws.value).Bind(id).Run();
  }

  Result<SegmentDefinition> UpdateSegment(const SegmentDefinition& seg) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("UPDATE OR IGNORE segments SET name = ?, expr = ?, updated_at = ? "
                                                "WHERE workspace_id = ? AND id = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(seg.name).Bind(seg.expr).Bind(seg.updated_at.micros)
                             .Bind(seg.workspace.value).Bind(seg.id).Run());
    if (db_.Changes() == 0) {
      TREU_ASSIGN_OR_RETURN(auto existing, FindSegmentById(seg.workspace, seg.id));
      if (!existing) return NotFound("segment " + std::to_string(seg.id), "no such segment");
      return AlreadyExists("segment " + seg.name, "a segment with this name exists");
    }
    TREU_ASSIGN_OR_RETURN(auto stored, FindSegmentById(seg.workspace, seg.id));
    if (!stored) return Internal("update segment " + seg.name, "not found after saving");
    return *stored;
  }

  Result<std::optional<SegmentDefinition>> FindSegmentById(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, name, expr, created_at, updated_at, builtin FROM segments WHERE "
                              "workspace_id = ? AND id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
    if (!row) return std::optional<SegmentDefinition>();
    SegmentDefinition out = ReadSegment(*s, ws);
    s->Reset();
    return std::optional<SegmentDefinition>(std::move(out));
  }

  Status ApplySegmentRefresh(const SegmentRefresh& r) override {
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    Status done = ApplySegmentRefreshLocked(r);
    if (!done) {
      (void)db_.Exec("ROLLBACK");
      return done;
    }
    return db_.Exec("COMMIT");
  }

  Status ApplySegmentRefreshLocked(const SegmentRefresh& r) {
    TREU_ASSIGN_OR_RETURN(auto seg, FindSegmentById(r.workspace, r.segment_id));
    if (!seg) return NotFound("segment " + std::to_string(r.segment_id), "no such segment");
    TREU_ASSIGN_OR_RETURN(Stmt * add, db_.Prepare("INSERT INTO segment_members (segment_id, customer_id, since) "
                                                  "VALUES (?, ?, ?)"));
    TREU_ASSIGN_OR_RETURN(Stmt * remove, db_.Prepare("DELETE FROM segment_members WHERE segment_id = ? AND "
                                                     "customer_id = ?"));
    TREU_ASSIGN_OR_RETURN(Stmt * log, db_.Prepare("INSERT INTO segment_transitions (workspace_id, segment_id, "
                                                  "customer_id, kind, at) VALUES (?, ?, ?, ?, ?)"));
    for (CustomerId c : r.entered) {
      TREU_RETURN_IF_ERROR(add->Reset().Bind(r.segment_id).Bind(c.value).Bind(r.at.micros).Run());
      TREU_RETURN_IF_ERROR(log->Reset().Bind(r.workspace.value).Bind(r.segment_id).Bind(c.value).Bind("entered")
                               .Bind(r.at.micros).Run());
    }
    for (CustomerId c : r.left) {
      TREU_RETURN_IF_ERROR(remove->Reset().Bind(r.segment_id).Bind(c.value).Run());
      TREU_RETURN_IF_ERROR(log->Reset().Bind(r.workspace.value).Bind(r.segment_id).Bind(c.value).Bind("left")
                               .Bind(r.at.micros).Run());
    }
    if (r.record_size) {
      TREU_ASSIGN_OR_RETURN(Stmt * size, db_.Prepare("INSERT INTO segment_sizes (segment_id, at, size) VALUES "
                                                     "(?, ?, ?) ON CONFLICT (segment_id, at) DO UPDATE SET "
                                                     "size = excluded.size"));
      TREU_RETURN_IF_ERROR(size->Bind(r.segment_id).Bind(r.at.micros).Bind(r.size).Run());
    }
    return Ok();
  }

  Result<std::vector<SegmentMember>> ListSegmentMembers(WorkspaceId ws, std::int64_t segment_id,
                                                        std::int64_t after, int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT m.customer_id, c.external_id, m.since FROM segment_members m JOIN "
                              "segments g ON g.id = m.segment_id JOIN customers c ON c.id = m.customer_id "
                              "WHERE g.workspace_id = ? AND m.segment_id = ? AND m.customer_id > ? "
                              "ORDER BY m.customer_id LIMIT ?"));
    s->Bind(ws.value).Bind(segment_id).Bind(after).Bind(std::int64_t{limit <= 0 ? -1 : limit});
    std::vector<SegmentMember> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({CustomerId{s->Int(0)}, s->Text(1), Timestamp{s->Int(2)}});
    }
    return out;
  }

  Result<std::vector<SegmentTransition>> ListSegmentTransitions(WorkspaceId ws, std::int64_t segment_id,
                                                                std::int64_t after_id, int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT t.id, t.customer_id, c.external_id, t.kind, t.at FROM "
                              "segment_transitions t JOIN customers c ON c.id = t.customer_id WHERE "
                              "t.workspace_id = ? AND t.segment_id = ? AND t.id > ? ORDER BY t.id LIMIT ?"));
    s->Bind(ws.value).Bind(segment_id).Bind(after_id).Bind(std::int64_t{limit});
    std::vector<SegmentTransition> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({s->Int(0), segment_id, CustomerId{s->Int(1)}, s->Text(2), s->Text(3) == "entered",
                     Timestamp{s->Int(4)}});
    }
    return out;
  }

  Result<std::vector<std::pair<std::int64_t, Timestamp>>> CustomerSegments(WorkspaceId ws,
                                                                           CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT g.id, m.since FROM segments g JOIN segment_members m ON "
                              "m.segment_id = g.id AND m.customer_id = ? WHERE g.workspace_id = ? "
                              "ORDER BY g.id"));
    s->Bind(customer.value).Bind(ws.value);
    std::vector<std::pair<std::int64_t, Timestamp>> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.emplace_back(s->Int(0), Timestamp{s->Int(1)});
    }
    return out;
  }

  Result<std::vector<SegmentTransition>> CustomerSegmentTransitions(WorkspaceId ws, CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT t.id, t.segment_id, c.external_id, t.kind, t.at FROM "
                              "segment_transitions t JOIN customers c ON c.id = t.customer_id WHERE "
                              "t.workspace_id = ? AND t.customer_id = ? ORDER BY t.id"));
    s->Bind(ws.value).Bind(customer.value);
    std::vector<SegmentTransition> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({s->Int(0), s->Int(1), customer, s->Text(2), s->Text(3) == "entered", Timestamp{s->Int(4)}});
    }
    return out;
  }

  Result<std::vector<SurveyResponse>> CustomerSurveyResponses(WorkspaceId ws, CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, survey_id, customer_id, nonce, answers, created_at, "
                                                "updated_at, nps_score FROM survey_responses WHERE "
                                                "workspace_id = ? AND customer_id = ? ORDER BY id"));
    s->Bind(ws.value).Bind(customer.value);
    std::vector<SurveyResponse> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      SurveyResponse r = ReadResponse(*s, ws);
      if (!s->IsNull(7)) r.nps_score = static_cast<int>(s->Int(7));
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<SegmentSize>> ListSegmentSizes(WorkspaceId ws, std::int64_t segment_id,
                                                    Timestamp since) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT z.at, z.size FROM segment_sizes z JOIN segments g ON g.id = z.segment_id "
                              "WHERE g.workspace_id = ? AND z.segment_id = ? AND z.at >= ? ORDER BY z.at"));
    s->Bind(ws.value).Bind(segment_id).Bind(since.micros);
    std::vector<SegmentSize> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({Timestamp{s->Int(0)}, s->Int(1)});
    }
    return out;
  }

  Result<std::int64_t> FailUnfinishedModelRuns(std::string_view error, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("UPDATE model_runs SET status = 'failed', error = ?, finished_at = "
                              "? WHERE status IN ('queued', 'running')"));
    TREU_RETURN_IF_ERROR(s->Bind(error).Bind(now.micros).Run());
    return std::int64_t{db_.Changes()};
  }
  Result<std::optional<Subscription>> FindSubscription(WorkspaceId ws,
                                                       std::string_view ext) override {
    return FindSubscriptionIn(db_, ws, ext);
  }

  Status ScanCustomers(WorkspaceId ws, const std::function<void(const Customer&)>& f) override {
    // Merge-join customers with their attributes and consents, all in customer id order.
    TREU_ASSIGN_OR_RETURN(
        Stmt * c, db_.Prepare("SELECT id, external_id, email, name, country, locale, time_zone, "
                              "created_at, updated_at FROM customers WHERE workspace_id = ? "
                              "ORDER BY id"));
    TREU_ASSIGN_OR_RETURN(
        Stmt * a, db_.Prepare("SELECT a.customer_id, a.name, a.type, a.value FROM customer_attributes a "
                              "JOIN customers c ON c.id = a.customer_id WHERE c.workspace_id = ? "
                              "ORDER BY a.customer_id"));
    TREU_ASSIGN_OR_RETURN(
        Stmt * k, db_.Prepare("SELECT k.customer_id, k.channel, k.granted, k.source, k.at FROM "
                              "customer_consents k JOIN customers c ON c.id = k.customer_id "
                              "WHERE c.workspace_id = ? ORDER BY k.customer_id"));
    c->Bind(ws.value);
    a->Bind(ws.value);
    k->Bind(ws.value);
    TREU_ASSIGN_OR_RETURN(bool a_row, a->Step());
    TREU_ASSIGN_OR_RETURN(bool k_row, k->Step());
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, c->Step());
      if (!row) break;
      Customer cust = ReadCustomerRow(*c);
      while (a_row && a->Int(0) <= cust.id.value) {
        if (a->Int(0) == cust.id.value) {
          TREU_ASSIGN_OR_RETURN(cust.attributes[a->Text(1)],
                                AttributeFromText(a->Text(2), a->Text(3)));
        }
        TREU_ASSIGN_OR_RETURN(a_row, a->Step());
      }
      while (k_row && k->Int(0) <= cust.id.value) {
        if (k->Int(0) == cust.id.value) {
          TREU_ASSIGN_OR_RETURN(Channel ch, ParseChannel(k->Text(1)));
          cust.consent[ch] = Consent{k->Int(2) != 0, k->Text(3), Timestamp{k->Int(4)}};
        }
        TREU_ASSIGN_OR_RETURN(k_row, k->Step());
      }
      f(cust);
    }
    a->Reset();
    k->Reset();
    return Ok();
  }

  Status ScanOrders(WorkspaceId ws, const std::function<void(const Order&)>& f) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * o, db_.Prepare("SELECT o.id, o.external_id, o.customer_id, c.external_id, "
                              "o.placed_at, o.total_minor, o.currency, o.status FROM orders o "
                              "JOIN customers c ON c.id = o.customer_id WHERE o.workspace_id = ? "
                              "ORDER BY o.id"));
    TREU_ASSIGN_OR_RETURN(
        Stmt * l, db_.Prepare("SELECT l.order_id, l.product_external_id, l.quantity, "
                              "l.unit_price_minor FROM order_lines l JOIN orders o ON o.id = "
                              "l.order_id WHERE o.workspace_id = ? ORDER BY l.order_id, "
                              "l.line_no"));
    TREU_ASSIGN_OR_RETURN(
        Stmt * r, db_.Prepare("SELECT r.order_id, r.refunded_at, r.amount_minor FROM refunds r "
                              "JOIN orders o ON o.id = r.order_id WHERE o.workspace_id = ? "
                              "ORDER BY r.order_id, r.refunded_at, r.amount_minor"));
    o->Bind(ws.value);
    l->Bind(ws.value);
    r->Bind(ws.value);
    TREU_ASSIGN_OR_RETURN(bool l_row, l->Step());
    TREU_ASSIGN_OR_RETURN(bool r_row, r->Step());
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, o->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Order ord, ReadOrderRow(*o));
      while (l_row && l->Int(0) <= ord.id.value) {
        if (l->Int(0) == ord.id.value) ord.lines.push_back({l->Text(1), l->Int(2), l->Int(3)});
        TREU_ASSIGN_OR_RETURN(l_row, l->Step());
      }
      while (r_row && r->Int(0) <= ord.id.value) {
        if (r->Int(0) == ord.id.value) ord.refunds.push_back({Timestamp{r->Int(1)}, r->Int(2)});
        TREU_ASSIGN_OR_RETURN(r_row, r->Step());
      }
      f(ord);
    }
    l->Reset();
    r->Reset();
    return Ok();
  }

  Status ScanSubscriptions(WorkspaceId ws,
                           const std::function<void(const Subscription&)>& f) override {
    return ScanSubscriptionRange(ws, 0, std::numeric_limits<std::int64_t>::max(), f);
  }

  Status ScanSubscriptionRange(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                               const std::function<void(const Subscription&)>& f) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT s.id, s.external_id, s.customer_id, c.external_id, "
                              "s.currency, s.started_at, s.ended_at FROM subscriptions s JOIN "
                              "customers c ON c.id = s.customer_id WHERE s.workspace_id = ? AND "
                              "s.id BETWEEN ? AND ? ORDER BY s.id"));
    TREU_ASSIGN_OR_RETURN(
        Stmt * h, db_.Prepare("SELECT h.subscription_id, h.effective_at, h.plan, h.interval, "
                              "h.amount_minor, h.quantity, h.discount_bp, h.status FROM "
                              "subscription_changes h JOIN subscriptions s ON s.id = "
                              "h.subscription_id WHERE s.workspace_id = ? AND s.id BETWEEN ? AND ? "
                              "ORDER BY h.subscription_id, h.effective_at"));
    s->Bind(ws.value).Bind(first_id).Bind(last_id);
    h->Bind(ws.value).Bind(first_id).Bind(last_id);
    TREU_ASSIGN_OR_RETURN(bool h_row, h->Step());
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Subscription sub, ReadSubscriptionRow(*s));
      while (h_row && h->Int(0) <= sub.id.value) {
        if (h->Int(0) == sub.id.value) {
          TREU_ASSIGN_OR_RETURN(SubscriptionState st, ReadStateRow(*h, 1));
          sub.history.push_back(std::move(st));
        }
        TREU_ASSIGN_OR_RETURN(h_row, h->Step());
      }
      f(sub);
    }
    h->Reset();
    return Ok();
  }

  // The lean scans walk the tables in rowid order: "+workspace_id" keeps SQLite from using
  // the (workspace_id, external_id) indexes, which would mean a lookup per row and a sort.
  Status ScanCustomerKeys(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                          const std::function<void(const CustomerKey&)>& f) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT id, external_id FROM customers WHERE "
                                                "+workspace_id = ? AND id BETWEEN ? AND ? ORDER BY id"));
    s->Bind(ws.value).Bind(first_id).Bind(last_id);
    CustomerKey k;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      k.id = CustomerId{s->Int(0)};
      k.external_id = s->Text(1);
      f(k);
    }
    return Ok();
  }

  Status ScanOrderFacts(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                        const std::function<void(const OrderFact&)>& f) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, customer_id, placed_at, total_minor, status FROM orders "
                              "WHERE +workspace_id = ? AND id BETWEEN ? AND ? ORDER BY id"));
    s->Bind(ws.value).Bind(first_id).Bind(last_id);
    OrderFact o;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      o.id = s->Int(0);
      o.customer = CustomerId{s->Int(1)};
      o.placed_at = Timestamp{s->Int(2)};
      o.total_minor = s->Int(3);
      const std::string_view status = s->View(4);
      if (status == "completed") {
        o.status = OrderStatus::kCompleted;
      } else {
        TREU_ASSIGN_OR_RETURN(o.status, ParseOrderStatus(status));
      }
      f(o);
    }
    return Ok();
  }

  Status ScanRefundFacts(WorkspaceId ws, std::int64_t first_order_id, std::int64_t last_order_id,
                         const std::function<void(const RefundFact&)>& f) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT r.order_id, o.customer_id, r.refunded_at, r.amount_minor FROM "
                              "refunds r JOIN orders o ON o.id = r.order_id WHERE +o.workspace_id = ? "
                              "AND r.order_id BETWEEN ? AND ? ORDER BY r.order_id, r.refunded_at, "
                              "r.amount_minor"));
    s->Bind(ws.value).Bind(first_order_id).Bind(last_order_id);
    RefundFact r;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      r.order_id = s->Int(0);
      r.customer = CustomerId{s->Int(1)};
      r.refunded_at = Timestamp{s->Int(2)};
      r.amount_minor = s->Int(3);
      f(r);
    }
    return Ok();
  }

  Status ScanEvents(WorkspaceId ws, const std::function<void(const Event&)>& f) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, type, name, message_id, user_id, anonymous_id, "
                              "customer_id, timestamp, received_at, properties FROM events WHERE "
                              "workspace_id = ? ORDER BY id"));
    s->Bind(ws.value);
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Event e, ReadEventRow(*s));
      f(e);
    }
    return Ok();
  }

  Result<std::vector<Event>> ListEvents(WorkspaceId ws, std::string_view user_id,
                                        std::int64_t after_id, int limit) override {
    // Two statements, so one user's events are read by the events_by_user index.
    static constexpr const char* kAll =
        "SELECT id, type, name, message_id, user_id, anonymous_id, customer_id, timestamp, "
        "received_at, properties FROM events WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?";
    static constexpr const char* kOfUser =
        "SELECT id, type, name, message_id, user_id, anonymous_id, customer_id, timestamp, "
        "received_at, properties FROM events WHERE workspace_id = ? AND user_id = ? AND id > ? "
        "ORDER BY id LIMIT ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(user_id.empty() ? kAll : kOfUser));
    s->Bind(ws.value);
    if (!user_id.empty()) s->Bind(user_id);
    s->Bind(after_id).Bind(std::int64_t{limit});
    std::vector<Event> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(Event e, ReadEventRow(*s));
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<std::vector<Customer>> ListCustomers(WorkspaceId ws, const CustomerFilter& filter,
                                              std::int64_t after_id, int limit) override {
    // The search is a separate statement, so the plain list keeps its plan.
    static constexpr const char* kList =
        "SELECT id, external_id, email, name, country, locale, time_zone, "
        "created_at, updated_at FROM customers WHERE workspace_id = ? AND "
        "id > ? AND (? = '' OR email = ?) AND (? = '' OR external_id = ?) "
        "AND updated_at >= ? ORDER BY id LIMIT ?";
    static constexpr const char* kSearch =
        "SELECT id, external_id, email, name, country, locale, time_zone, "
        "created_at, updated_at FROM customers WHERE workspace_id = ? AND "
        "id > ? AND (? = '' OR email = ?) AND (? = '' OR external_id = ?) "
        "AND updated_at >= ? AND (instr(lower(external_id), ?) > 0 OR "
        "instr(lower(coalesce(email, '')), ?) > 0 OR instr(lower(coalesce(name, '')), ?) > 0) "
        "ORDER BY id LIMIT ?";
    std::string text = filter.text;  // bound below; lives until the statement is done
    for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(filter.text.empty() ? kList : kSearch));
    s->Bind(ws.value).Bind(after_id).Bind(filter.email).Bind(filter.email)
        .Bind(filter.external_id).Bind(filter.external_id)
        .Bind(filter.updated_since ? filter.updated_since->micros : INT64_MIN);
    if (!filter.text.empty()) s->Bind(text).Bind(text).Bind(text);
    s->Bind(std::int64_t{limit});
    std::vector<Customer> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadCustomerRow(*s));
    }
    s->Reset();
    for (Customer& c : out) TREU_RETURN_IF_ERROR(LoadCustomerDetails(db_, c));
    return out;
  }

  Result<IdempotencyClaim> ClaimIdempotencyKey(WorkspaceId ws, std::string_view key,
                                               std::string_view request_hash, Timestamp now,
                                               std::int64_t stale_after_micros) override {
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    auto result = ClaimLocked(ws, key, request_hash, now, stale_after_micros);
    TREU_RETURN_IF_ERROR(db_.Exec(result ? "COMMIT" : "ROLLBACK"));
    return result;
  }

  Status CompleteIdempotencyKey(WorkspaceId ws, std::string_view key, int status,
                                std::string_view response) override {
    if (status == 0) {
      TREU_ASSIGN_OR_RETURN(Stmt * d, db_.Prepare("DELETE FROM idempotency_keys WHERE "
                                                  "workspace_id = ? AND key = ?"));
      return d->Bind(ws.value).Bind(key).Run();
    }
    TREU_ASSIGN_OR_RETURN(Stmt * u, db_.Prepare("UPDATE idempotency_keys SET status = ?, "
                                                "response = ? WHERE workspace_id = ? AND key = ?"));
    return u->Bind(std::int64_t{status}).Bind(response).Bind(ws.value).Bind(key).Run();
  }

  Result<ApiKey> CreateApiKey(const ApiKey& key) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO api_keys (workspace_id, scope, prefix, hash, name, "
                              "created_at, rate_per_minute) VALUES (?, ?, ?, ?, ?, ?, ?) ON "
                              "CONFLICT (hash) DO NOTHING"));
    TREU_RETURN_IF_ERROR(s->Bind(key.workspace.value).Bind(ScopeName(key.scope)).Bind(key.prefix)
                             .Bind(key.hash_hex).Bind(key.name).Bind(key.created_at.micros)
                             .Bind(std::int64_t{key.rate_per_minute}).Run());
    if (db_.Changes() == 0) return AlreadyExists("api key " + key.prefix, "already exists");
    ApiKey out = key;
    out.id = db_.LastRowId();
    return out;
  }

  Result<std::optional<ApiKey>> FindApiKey(std::string_view hash_hex) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, workspace_id, scope, prefix, hash, name, created_at, rate_per_minute, "
                              "revoked_at FROM api_keys WHERE hash = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(hash_hex).Step());
    if (!row) return std::optional<ApiKey>();
    auto key = ReadApiKey(*s);
    s->Reset();
    if (!key) return std::unexpected(key.error());
    return std::optional<ApiKey>(std::move(*key));
  }

  Result<std::vector<ApiKey>> ListApiKeys(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, workspace_id, scope, prefix, hash, name, created_at, rate_per_minute, "
                              "revoked_at FROM api_keys WHERE workspace_id = ? ORDER BY id"));
    s->Bind(ws.value);
    std::vector<ApiKey> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(ApiKey k, ReadApiKey(*s));
      out.push_back(std::move(k));
    }
    return out;
  }

  Status RevokeApiKey(WorkspaceId ws, std::int64_t id, Timestamp now) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("UPDATE api_keys SET revoked_at = "
                                                "coalesce(revoked_at, ?) WHERE workspace_id = ? "
                                                "AND id = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(now.micros).Bind(ws.value).Bind(id).Run());
    if (db_.Changes() == 0) return NotFound("key " + std::to_string(id), "no such key in this workspace");
    return Ok();
  }

  Result<DashboardUser> CreateDashboardUser(const DashboardUser& u) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO dashboard_users (workspace_id, email, name, role, "
                              "password_hash, locale, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT (workspace_id, email) DO NOTHING"));
    TREU_RETURN_IF_ERROR(s->Bind(u.workspace.value).Bind(u.email).Bind(u.name).Bind(u.role)
                             .Bind(u.password_hash).Bind(u.locale).Bind(u.created_at.micros).Run());
    if (db_.Changes() == 0) return AlreadyExists("user " + u.email, "already exists in this workspace");
    DashboardUser out = u;
    out.id = db_.LastRowId();
    return out;
  }

  Status UpdateDashboardUser(const DashboardUser& u) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("UPDATE dashboard_users SET name = ?, role = ?, locale = ?, "
                              "password_hash = ?, last_login_at = ? WHERE workspace_id = ? AND id = ?"));
    std::optional<std::int64_t> last;
    if (u.last_login_at) last = u.last_login_at->micros;
    TREU_RETURN_IF_ERROR(s->Bind(u.name).Bind(u.role).Bind(u.locale).Bind(u.password_hash)
                             .Bind(last).Bind(u.workspace.value).Bind(u.id).Run());
    if (db_.Changes() == 0) return NotFound("user " + std::to_string(u.id), "no such user in this workspace");
    return Ok();
  }

  Result<std::optional<DashboardUser>> FindDashboardUser(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, workspace_id, email, name, role, password_hash, locale, "
                              "created_at, last_login_at FROM dashboard_users WHERE workspace_id = ? "
                              "AND id = ?"));
    return FirstDashboardUser(s->Bind(ws.value).Bind(id));
  }

  Result<std::optional<DashboardUser>> FindDashboardUserByEmail(WorkspaceId ws,
                                                                std::string_view email) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, workspace_id, email, name, role, password_hash, locale, "
                              "created_at, last_login_at FROM dashboard_users WHERE workspace_id = ? "
                              "AND email = ?"));
    return FirstDashboardUser(s->Bind(ws.value).Bind(email));
  }

  Result<std::vector<DashboardUser>> FindDashboardUsersByEmail(std::string_view email) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, workspace_id, email, name, role, password_hash, locale, "
                              "created_at, last_login_at FROM dashboard_users WHERE email = ? "
                              "ORDER BY id"));
    return ReadDashboardUsers(s->Bind(email));
  }

  Result<std::vector<DashboardUser>> ListDashboardUsers(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT id, workspace_id, email, name, role, password_hash, locale, "
                              "created_at, last_login_at FROM dashboard_users WHERE workspace_id = ? "
                              "ORDER BY id"));
    return ReadDashboardUsers(s->Bind(ws.value));
  }

  Status DeleteDashboardUser(WorkspaceId ws, std::int64_t id) override {
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    auto result = [&]() -> Status {
      TREU_RETURN_IF_ERROR(DeleteDashboardSessions(ws, id));
      TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM dashboard_users WHERE "
                                                  "workspace_id = ? AND id = ?"));
      TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(id).Run());
      if (db_.Changes() == 0) return NotFound("user " + std::to_string(id), "no such user in this workspace");
      return Ok();
    }();
    TREU_RETURN_IF_ERROR(db_.Exec(result ? "COMMIT" : "ROLLBACK"));
    return result;
  }

  Status CreateDashboardSession(const DashboardSession& session) override {
    TREU_ASSIGN_OR_RETURN(Stmt * d, db_.Prepare("DELETE FROM dashboard_sessions WHERE expires_at < ?"));
    TREU_RETURN_IF_ERROR(d->Bind(session.created_at.micros).Run());
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO dashboard_sessions (token_hash, user_id, workspace_id, "
                              "csrf_token, created_at, expires_at, last_seen_at, remote, user_agent) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING"));
    TREU_RETURN_IF_ERROR(s->Bind(session.token_hash).Bind(session.user_id).Bind(session.workspace.value)
                             .Bind(session.csrf_token).Bind(session.created_at.micros)
                             .Bind(session.expires_at.micros).Bind(session.last_seen_at.micros)
                             .Bind(session.remote).Bind(session.user_agent).Run());
    if (db_.Changes() == 0) return AlreadyExists("session", "already exists");
    return Ok();
  }

  Result<std::optional<DashboardSession>> FindDashboardSession(std::string_view token_hash) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT token_hash, user_id, workspace_id, csrf_token, created_at, "
                              "expires_at, last_seen_at, remote, user_agent FROM dashboard_sessions "
                              "WHERE token_hash = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(token_hash).Step());
    if (!row) return std::optional<DashboardSession>();
    DashboardSession out;
    out.token_hash = s->Text(0);
    out.user_id = s->Int(1);
    out.workspace = WorkspaceId{s->Int(2)};
    out.csrf_token = s->Text(3);
    out.created_at = Timestamp{s->Int(4)};
    out.expires_at = Timestamp{s->Int(5)};
    out.last_seen_at = Timestamp{s->Int(6)};
    out.remote = s->Text(7);
    out.user_agent = s->Text(8);
    s->Reset();
    return std::optional<DashboardSession>(std::move(out));
  }

  Status TouchDashboardSession(std::string_view token_hash, Timestamp at) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("UPDATE dashboard_sessions SET last_seen_at = ? "
                                                "WHERE token_hash = ?"));
    return s->Bind(at.micros).Bind(token_hash).Run();
  }

  Status DeleteDashboardSession(std::string_view token_hash) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM dashboard_sessions WHERE token_hash = ?"));
    return s->Bind(token_hash).Run();
  }

  Status DeleteDashboardSessions(WorkspaceId ws, std::int64_t user_id) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM dashboard_sessions WHERE "
                                                "workspace_id = ? AND user_id = ?"));
    return s->Bind(ws.value).Bind(user_id).Run();
  }

  Result<IdempotencyClaim> ClaimLocked(WorkspaceId ws, std::string_view key,
                                       std::string_view request_hash, Timestamp now,
                                       std::int64_t stale_after_micros) {
    TREU_ASSIGN_OR_RETURN(Stmt * f, db_.Prepare("SELECT request_hash, status, response, "
                                                "created_at FROM idempotency_keys WHERE "
                                                "workspace_id = ? AND key = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, f->Bind(ws.value).Bind(key).Step());
    IdempotencyClaim claim;
    if (row) {
      const std::string hash = f->Text(0);
      const bool answered = !f->IsNull(1);
      claim.status = static_cast<int>(f->Int(1));
      claim.response = f->Text(2);
      const bool stale = !answered && f->Int(3) + stale_after_micros < now.micros;
      f->Reset();
      if (hash != request_hash) {
        claim.kind = IdempotencyClaim::Kind::kMismatch;
        return claim;
      }
      if (answered) {
        claim.kind = IdempotencyClaim::Kind::kReplay;
        return claim;
      }
      if (!stale) {
        claim.kind = IdempotencyClaim::Kind::kInFlight;
        return claim;
      }
      TREU_ASSIGN_OR_RETURN(Stmt * u, db_.Prepare("UPDATE idempotency_keys SET created_at = ? "
                                                  "WHERE workspace_id = ? AND key = ?"));
      TREU_RETURN_IF_ERROR(u->Bind(now.micros).Bind(ws.value).Bind(key).Run());
      return IdempotencyClaim{};
    }
    TREU_ASSIGN_OR_RETURN(Stmt * i, db_.Prepare("INSERT INTO idempotency_keys (workspace_id, "
                                                "key, request_hash, created_at) VALUES (?, ?, "
                                                "?, ?)"));
    TREU_RETURN_IF_ERROR(i->Bind(ws.value).Bind(key).Bind(request_hash).Bind(now.micros).Run());
    return IdempotencyClaim{};
  }

  // ---- Loyalty

  Result<std::optional<LoyaltyProgramRecord>> FindLoyaltyProgram(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT definition, processed_seq, created_at, updated_at FROM "
                              "loyalty_programs WHERE workspace_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Step());
    if (!row) return std::optional<LoyaltyProgramRecord>();
    LoyaltyProgramRecord p{ws, s->Text(0), s->Int(1), Timestamp{s->Int(2)}, Timestamp{s->Int(3)}};
    s->Reset();
    return std::optional<LoyaltyProgramRecord>(std::move(p));
  }

  Result<LoyaltyProgramRecord> SaveLoyaltyProgram(const LoyaltyProgramRecord& p) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "INSERT INTO loyalty_programs (workspace_id, definition, processed_seq, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace_id) DO UPDATE SET "
            "definition = excluded.definition, updated_at = excluded.updated_at RETURNING "
            "definition, processed_seq, created_at, updated_at"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(p.workspace.value)
                                        .Bind(p.definition)
                                        .Bind(p.processed_seq)
                                        .Bind(p.created_at.micros)
                                        .Bind(p.updated_at.micros)
                                        .Step());
    if (!row) return Internal("save loyalty program", "no row after saving");
    LoyaltyProgramRecord out{p.workspace, s->Text(0), s->Int(1), Timestamp{s->Int(2)},
                             Timestamp{s->Int(3)}};
    s->Reset();
    return out;
  }

  Result<std::optional<LoyaltyMember>> FindLoyaltyMember(WorkspaceId ws,
                                                         CustomerId customer) override {
    return FindLoyaltyMemberIn(db_, ws, customer);
  }

  Result<std::vector<LoyaltyMember>> ListLoyaltyMembers(WorkspaceId ws, std::int64_t after,
                                                        int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "SELECT customer_id, available, pending, held, earned, redeemed, transfers, tier, "
            "tier_since, tier_review_at, next_due_at, referral_code, referred_by, enrolled_at, "
            "updated_at FROM loyalty_members WHERE workspace_id = ? AND customer_id > ? ORDER BY "
            "customer_id LIMIT ?"));
    s->Bind(ws.value).Bind(after).Bind(std::int64_t{std::max(limit, 0)});
    std::vector<LoyaltyMember> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadLoyaltyMember(*s, ws));
    }
    return out;
  }

  Result<std::vector<CustomerId>> DueLoyaltyMembers(WorkspaceId ws, Timestamp now,
                                                    int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT customer_id FROM loyalty_members WHERE workspace_id = ? AND "
                              "next_due_at <= ? ORDER BY next_due_at, customer_id LIMIT ?"));
    s->Bind(ws.value).Bind(now.micros).Bind(std::int64_t{std::max(limit, 0)});
    std::vector<CustomerId> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(CustomerId{s->Int(0)});
    }
    return out;
  }

  Result<std::vector<LoyaltyTransferRecord>> ListLoyaltyTransfers(WorkspaceId ws,
                                                                  CustomerId customer,
                                                                  std::int64_t after_seq,
                                                                  int limit) override {
    return ListLoyaltyTransfersIn(db_, ws, customer, after_seq, std::int64_t{std::max(limit, 0)});
  }

  Status ScanLoyaltyTransfers(WorkspaceId ws, Timestamp from, Timestamp to,
                              const std::function<void(const LoyaltyTransferRecord&)>& f) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "SELECT seq, customer_id, id, kind, from_account, to_account, points, requested, "
            "reason, source_kind, source_ref, admin_user_id, at, refers_to, expires_at, "
            "pending_until FROM loyalty_transfers WHERE workspace_id = ? AND at >= ? AND at < ? "
            "ORDER BY seq"));
    s->Bind(ws.value).Bind(from.micros).Bind(to.micros);
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      f(ReadLoyaltyTransfer(*s, ws));
    }
    return Ok();
  }

  Status ScanLoyaltyFlows(WorkspaceId ws, const std::function<void(const LoyaltyFlowRow&)>& f) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT kind, from_account, points, at FROM loyalty_transfers "
                                                "WHERE workspace_id = ?"));
    s->Bind(ws.value);
    LoyaltyFlowRow row;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool more, s->Step());
      if (!more) break;
      row.kind = s->Text(0);
      row.from_account = s->Text(1);
      row.points = s->Int(2);
      row.at = Timestamp{s->Int(3)};
      f(row);
    }
    return Ok();
  }

  Result<std::vector<LoyaltyTierChange>> ListLoyaltyTierChanges(WorkspaceId ws,
                                                                CustomerId customer) override {
    Stmt* s = nullptr;
    if (customer.valid()) {
      TREU_ASSIGN_OR_RETURN(
          s, db_.Prepare("SELECT id, customer_id, from_tier, to_tier, at, reason FROM "
                         "loyalty_tier_changes WHERE workspace_id = ? AND customer_id = ? ORDER BY "
                         "at, id"));
      s->Bind(ws.value).Bind(customer.value);
    } else {
      TREU_ASSIGN_OR_RETURN(
          s, db_.Prepare("SELECT id, customer_id, from_tier, to_tier, at, reason FROM "
                         "loyalty_tier_changes WHERE workspace_id = ? ORDER BY at, id"));
      s->Bind(ws.value);
    }
    std::vector<LoyaltyTierChange> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({s->Int(0), ws, CustomerId{s->Int(1)}, s->Text(2), s->Text(3),
                     Timestamp{s->Int(4)}, s->Text(5)});
    }
    return out;
  }

  Result<LoyaltyReward> SaveLoyaltyReward(const LoyaltyReward& r) override {
    for (const std::string& tier : r.tiers) {
      if (tier.empty()) return InvalidArgument("reward " + r.name, "a tier name is empty");
    }
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "INSERT INTO loyalty_rewards (workspace_id, name, kind, title, points, stock, tiers, "
            "segment, details, active, redeemed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO UPDATE SET kind = "
            "excluded.kind, title = excluded.title, points = excluded.points, stock = "
            "excluded.stock, tiers = excluded.tiers, segment = excluded.segment, details = "
            "excluded.details, active = excluded.active, updated_at = excluded.updated_at "
            "RETURNING id, name, kind, title, points, stock, tiers, segment, details, active, "
            "redeemed, created_at, updated_at"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(r.workspace.value)
                                        .Bind(r.name)
                                        .Bind(r.kind)
                                        .Bind(r.title)
                                        .Bind(r.points)
                                        .Bind(r.stock)
                                        .Bind(EncodeTierList(r.tiers))
                                        .Bind(r.segment)
                                        .Bind(r.details)
                                        .Bind(std::int64_t{r.active ? 1 : 0})
                                        .Bind(r.redeemed)
                                        .Bind(r.created_at.micros)
                                        .Bind(r.updated_at.micros)
                                        .Step());
    if (!row) return Internal("save reward " + r.name, "no row after saving");
    LoyaltyReward out = ReadLoyaltyReward(*s, r.workspace);
    s->Reset();
    return out;
  }

  Result<std::vector<LoyaltyReward>> ListLoyaltyRewards(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "SELECT id, name, kind, title, points, stock, tiers, segment, details, active, "
            "redeemed, created_at, updated_at FROM loyalty_rewards WHERE workspace_id = ? ORDER BY "
            "name"));
    s->Bind(ws.value);
    std::vector<LoyaltyReward> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadLoyaltyReward(*s, ws));
    }
    return out;
  }

  Result<std::optional<LoyaltyReward>> FindLoyaltyReward(WorkspaceId ws,
                                                         std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare(
            "SELECT id, name, kind, title, points, stock, tiers, segment, details, active, "
            "redeemed, created_at, updated_at FROM loyalty_rewards WHERE workspace_id = ? AND "
            "name = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(name).Step());
    if (!row) return std::optional<LoyaltyReward>();
    LoyaltyReward r = ReadLoyaltyReward(*s, ws);
    s->Reset();
    return std::optional<LoyaltyReward>(std::move(r));
  }

  Result<std::int64_t> AddLoyaltyRewardCodes(WorkspaceId ws, std::int64_t reward_id,
                                             std::span<const std::string> codes) override {
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    auto added = AddLoyaltyRewardCodesLocked(ws, reward_id, codes);
    if (!added) {
      (void)db_.Exec("ROLLBACK");
      return added;
    }
    TREU_RETURN_IF_ERROR(db_.Exec("COMMIT"));
    return added;
  }

  Result<std::int64_t> AddLoyaltyRewardCodesLocked(WorkspaceId ws, std::int64_t reward_id,
                                                   std::span<const std::string> codes) {
    TREU_ASSIGN_OR_RETURN(auto reward, FindLoyaltyRewardByIdIn(db_, ws, reward_id));
    if (!reward) return NotFound("reward " + std::to_string(reward_id), "no such reward");
    TREU_ASSIGN_OR_RETURN(Stmt * ins,
                          db_.Prepare("INSERT INTO loyalty_reward_codes (workspace_id, reward_id, "
                                      "code) VALUES (?, ?, ?) ON CONFLICT (workspace_id, code) DO "
                                      "NOTHING"));
    std::int64_t added = 0;
    for (const std::string& code : codes) {
      TREU_RETURN_IF_ERROR(ins->Reset().Bind(ws.value).Bind(reward_id).Bind(code).Run());
      added += db_.Changes();
    }
    TREU_ASSIGN_OR_RETURN(Stmt * up,
                          db_.Prepare("UPDATE loyalty_rewards SET stock = stock + ? WHERE "
                                      "workspace_id = ? AND id = ? AND stock IS NOT NULL"));
    TREU_RETURN_IF_ERROR(up->Bind(added).Bind(ws.value).Bind(reward_id).Run());
    return added;
  }

  Result<std::vector<LoyaltyRedemption>> ListLoyaltyRedemptions(WorkspaceId ws, CustomerId customer,
                                                                std::int64_t after_row,
                                                                int limit) override {
    Stmt* s = nullptr;
    if (customer.valid()) {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare("SELECT row, id, customer_id, reward_id, points, state, "
                                           "code, created_at, expires_at, closed_at FROM "
                                           "loyalty_redemptions WHERE workspace_id = ? AND "
                                           "customer_id = ? AND row > ? ORDER BY row LIMIT ?"));
      s->Bind(ws.value).Bind(customer.value);
    } else {
      TREU_ASSIGN_OR_RETURN(
          s,
          db_.Prepare(
              "SELECT row, id, customer_id, reward_id, points, state, code, created_at, "
              "expires_at, closed_at FROM loyalty_redemptions WHERE workspace_id = ? AND row > ? "
              "ORDER BY row LIMIT ?"));
      s->Bind(ws.value);
    }
    s->Bind(after_row).Bind(std::int64_t{std::max(limit, 0)});
    std::vector<LoyaltyRedemption> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadLoyaltyRedemption(*s, ws));
    }
    return out;
  }

  Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemption(WorkspaceId ws,
                                                                 std::string_view id) override {
    return FindLoyaltyRedemptionIn(db_, ws, id);
  }

  // ---- Messaging

  // Runs `body` between BEGIN IMMEDIATE and COMMIT; rolls back when it or the commit fails.
  template <typename F>
  auto InImmediateTransaction(F&& body) -> decltype(body()) {
    TREU_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    auto result = body();
    if (!result) {
      (void)db_.Exec("ROLLBACK");
      return result;
    }
    if (auto committed = db_.Exec("COMMIT"); !committed) {
      (void)db_.Exec("ROLLBACK");
      return std::unexpected(committed.error());
    }
    return result;
  }

  Result<MessageTemplateRecord> SaveMessageTemplate(const MessageTemplateRecord& t) override {
    static const std::string kSql =
        std::string(
            "INSERT INTO message_templates (workspace_id, name, channel, topic, subject, html, "
            "body_text, created_at, updated_at, link_url, layout, endpoint) VALUES (?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO UPDATE SET channel = "
            "excluded.channel, topic = excluded.topic, subject = excluded.subject, html = "
            "excluded.html, body_text = excluded.body_text, updated_at = excluded.updated_at, "
            "link_url = excluded.link_url, layout = excluded.layout, endpoint = excluded.endpoint "
            "RETURNING ") +
        kTemplateColumns;
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(t.workspace.value).Bind(t.name).Bind(ChannelName(t.channel))
                                        .Bind(t.topic).Bind(t.subject).Bind(t.html).Bind(t.text)
                                        .Bind(t.created_at.micros).Bind(t.updated_at.micros)
                                        .Bind(t.link_url).Bind(t.layout).Bind(t.endpoint).Step());
    if (!row) return Internal("save template " + t.name, "no row after saving");
    auto out = ReadMessageTemplate(*s);
    s->Reset();
    return out;
  }

  Result<std::vector<MessageTemplateRecord>> ListMessageTemplates(WorkspaceId ws) override {
    static const std::string kSql = std::string("SELECT ") + kTemplateColumns +
                                    " FROM message_templates WHERE workspace_id = ? ORDER BY name";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value);
    std::vector<MessageTemplateRecord> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(MessageTemplateRecord t, ReadMessageTemplate(*s));
      out.push_back(std::move(t));
    }
    return out;
  }

  Result<std::optional<MessageTemplateRecord>> FindMessageTemplate(WorkspaceId ws,
                                                                   std::string_view name) override {
    static const std::string kSql = std::string("SELECT ") + kTemplateColumns +
                                    " FROM message_templates WHERE workspace_id = ? AND name = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    return FirstMessageTemplate(s->Bind(ws.value).Bind(name));
  }

  Result<std::optional<MessageTemplateRecord>> FindMessageTemplateById(WorkspaceId ws,
                                                                       std::int64_t id) override {
    static const std::string kSql = std::string("SELECT ") + kTemplateColumns +
                                    " FROM message_templates WHERE workspace_id = ? AND id = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    return FirstMessageTemplate(s->Bind(ws.value).Bind(id));
  }

  static Result<std::optional<MessageTemplateRecord>> FirstMessageTemplate(Stmt& s) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<MessageTemplateRecord>();
    auto t = ReadMessageTemplate(s);
    s.Reset();
    if (!t) return std::unexpected(t.error());
    return std::optional<MessageTemplateRecord>(std::move(*t));
  }

  Status DeleteMessageTemplate(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM message_templates WHERE workspace_id = ? AND name = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(name).Run());
    if (db_.Changes() == 0) return NotFound("template " + std::string(name), "no such template");
    return Ok();
  }

  Result<std::int64_t> EnqueueMessages(WorkspaceId ws, std::span<const OutboxMessage> messages,
                                       Timestamp now) override {
    for (const OutboxMessage& m : messages) TREU_RETURN_IF_ERROR(CheckOutboxMessage(ws, m));
    if (messages.empty()) return 0;
    return InImmediateTransaction([&]() { return InsertMessages(ws, messages, now, {}); });
  }

  // EnqueueMessages' inserts, inside the caller's transaction: the messages `keep` accepts (all
  // without it).
  Result<std::int64_t> InsertMessages(WorkspaceId ws, std::span<const OutboxMessage> messages, Timestamp now,
                                      const std::function<bool(const OutboxMessage&)>& keep) {
    TREU_ASSIGN_OR_RETURN(
        Stmt * ins,
        db_.Prepare("INSERT INTO outbox (workspace_id, idempotency_key, channel, customer_id, "
                    "category, topic, template_id, campaign, recipient, subject, html, body_text, "
                    "state, attempts, next_attempt_at, lease_until, claimed_by, provider_id, "
                    "last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, "
                    "?, 0, '', '', '', ?) ON CONFLICT (workspace_id, idempotency_key) DO NOTHING"));
    TREU_ASSIGN_OR_RETURN(Stmt * log, db_.Prepare("INSERT INTO message_log (workspace_id, message_id, customer_id, "
                                                  "kind, at, detail) VALUES (?, ?, ?, 'queued', ?, '')"));
    std::int64_t inserted = 0;
    for (const OutboxMessage& m : messages) {
      if (keep && !keep(m)) continue;
      // The message outlives the statement's use of its text: no copies of the bodies.
      TREU_RETURN_IF_ERROR(ins->Reset().Bind(ws.value).BindRef(m.idempotency_key)
                               .Bind(ChannelName(m.channel)).Bind(m.customer.value).BindRef(m.category)
                               .BindRef(m.topic).Bind(m.template_id).BindRef(m.campaign)
                               .BindRef(m.recipient).BindRef(m.subject).BindRef(m.html).BindRef(m.text)
                               .Bind(m.next_attempt_at.micros).Bind(now.micros).Run());
      if (db_.Changes() == 0) continue;  // the workspace has this key
      TREU_RETURN_IF_ERROR(
          log->Reset().Bind(ws.value).Bind(db_.LastRowId()).Bind(m.customer.value).Bind(now.micros).Run());
      ++inserted;
    }
    ins->Reset();
    return inserted;
  }

  Result<RenderedPlans> RenderPlannedMembers(WorkspaceId ws, std::int64_t campaign_id,
                                             std::span<const CampaignMember> members,
                                             std::span<const OutboxMessage> messages, Timestamp now) override {
    for (const OutboxMessage& m : messages) TREU_RETURN_IF_ERROR(CheckOutboxMessage(ws, m));
    return InImmediateTransaction([&]() -> Result<RenderedPlans> {
      RenderedPlans out;
      TREU_ASSIGN_OR_RETURN(Stmt * take, db_.Prepare("UPDATE campaign_members SET planned = 0, outcome = ? WHERE "
                                                     "campaign_id = ? AND customer_id = ? AND workspace_id = ? AND "
                                                     "planned = 1"));
      std::unordered_set<std::int64_t> taken;
      for (const CampaignMember& m : members) {
        TREU_RETURN_IF_ERROR(
            take->Reset().BindRef(m.outcome).Bind(campaign_id).Bind(m.customer.value).Bind(ws.value).Run());
        if (db_.Changes() > 0) taken.insert(m.customer.value);
      }
      out.members = static_cast<std::int64_t>(taken.size());
      auto keep = [&](const OutboxMessage& m) { return taken.contains(m.customer.value); };
      out.offered = std::count_if(messages.begin(), messages.end(), keep);
      TREU_ASSIGN_OR_RETURN(out.inserted, InsertMessages(ws, messages, now, keep));
      return out;
    });
  }

  Result<std::vector<OutboxMessage>> ClaimMessages(Channel channel, Timestamp now, std::int64_t lease_micros,
                                                   std::string_view worker, int limit) override {
    if (worker.empty()) return InvalidArgument("claim messages", "the worker has no name");
    if (limit <= 0) return std::vector<OutboxMessage>();
    // BEGIN IMMEDIATE takes the write lock first: claimers (threads, processes) take turns.
    return InImmediateTransaction([&]() -> Result<std::vector<OutboxMessage>> {
      TREU_ASSIGN_OR_RETURN(
          Stmt * due,
          db_.Prepare("SELECT id, due FROM (SELECT id, next_attempt_at AS due FROM outbox WHERE "
                      "channel = ?1 AND state = 'queued' AND next_attempt_at <= ?2 ORDER BY "
                      "next_attempt_at, id LIMIT ?3) UNION ALL SELECT id, due FROM (SELECT id, "
                      "lease_until AS due FROM outbox WHERE channel = ?1 AND state = 'sending' AND "
                      "lease_until <= ?2 ORDER BY lease_until, id LIMIT ?3) ORDER BY due, id LIMIT ?3"));
      due->Bind(ChannelName(channel)).Bind(now.micros).Bind(std::int64_t{limit});
      std::vector<std::int64_t> ids;
      while (true) {
        TREU_ASSIGN_OR_RETURN(bool row, due->Step());
        if (!row) break;
        ids.push_back(due->Int(0));
      }
      static const std::string kClaim =
          std::string("UPDATE outbox SET state = 'sending', claimed_by = ?, lease_until = ?, "
                      "attempts = attempts + 1 WHERE id = ? RETURNING ") +
          kOutboxColumns;
      TREU_ASSIGN_OR_RETURN(Stmt * claim, db_.Prepare(kClaim.c_str()));
      std::vector<OutboxMessage> out;
      out.reserve(ids.size());
      for (const std::int64_t id : ids) {
        TREU_ASSIGN_OR_RETURN(bool row,
                              claim->Reset().Bind(worker).Bind(now.micros + lease_micros).Bind(id).Step());
        if (!row) return Internal("claim message " + std::to_string(id), "no row after claiming");
        auto m = ReadOutboxMessage(*claim, /*bodies=*/true);
        claim->Reset();
        if (!m) return std::unexpected(m.error());
        out.push_back(std::move(*m));
      }
      return out;
    });
  }

  Result<bool> FinishMessage(const MessageOutcome& o) override {
    TREU_RETURN_IF_ERROR(CheckMessageOutcome(o));
    return InImmediateTransaction([&]() -> Result<bool> {
      TREU_ASSIGN_OR_RETURN(
          Stmt * u,
          db_.Prepare("UPDATE outbox SET state = ?, next_attempt_at = coalesce(?, next_attempt_at), "
                      "provider_id = coalesce(?, provider_id), last_error = ?, sent_at = "
                      "coalesce(?, sent_at), claimed_by = '', lease_until = 0 WHERE id = ? AND "
                      "state = 'sending' AND claimed_by = ? RETURNING workspace_id, customer_id"));
      u->Bind(MessageStateName(o.state));
      u->Bind(o.state == MessageState::kQueued ? std::optional(o.next_attempt_at.micros) : std::nullopt);
      if (o.provider_id.empty()) {
        u->BindNull();
      } else {
        u->Bind(o.provider_id);
      }
      u->Bind(o.error);
      u->Bind(o.state == MessageState::kSent ? std::optional(o.at.micros) : std::nullopt);
      TREU_ASSIGN_OR_RETURN(bool row, u->Bind(o.id).Bind(o.worker).Step());
      if (!row) return false;  // the claim was lost: nothing written
      const std::int64_t ws = u->Int(0);
      const std::int64_t customer = u->Int(1);
      u->Reset();
      TREU_ASSIGN_OR_RETURN(Stmt * log, db_.Prepare("INSERT INTO message_log (workspace_id, message_id, "
                                                    "customer_id, kind, at, detail) VALUES (?, ?, ?, ?, ?, ?)"));
      TREU_RETURN_IF_ERROR(
          log->Bind(ws).Bind(o.id).Bind(customer).Bind(o.log_kind).Bind(o.at.micros).Bind(o.log_detail).Run());
      return true;
    });
  }

  Result<std::optional<OutboxMessage>> FindMessage(WorkspaceId ws, std::int64_t id) override {
    static const std::string kSql =
        std::string("SELECT ") + kOutboxColumns + " FROM outbox WHERE workspace_id = ? AND id = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    return FirstMessage(s->Bind(ws.value).Bind(id));
  }

  Result<std::optional<OutboxMessage>> FindMessageByKey(WorkspaceId ws, std::string_view key) override {
    static const std::string kSql = std::string("SELECT ") + kOutboxColumns +
                                    " FROM outbox WHERE workspace_id = ? AND idempotency_key = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    return FirstMessage(s->Bind(ws.value).Bind(key));
  }

  static Result<std::optional<OutboxMessage>> FirstMessage(Stmt& s) {
    TREU_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<OutboxMessage>();
    auto m = ReadOutboxMessage(s, /*bodies=*/true);
    s.Reset();
    if (!m) return std::unexpected(m.error());
    return std::optional<OutboxMessage>(std::move(*m));
  }

  Result<std::vector<OutboxMessage>> ListMessages(WorkspaceId ws, const MessageFilter& filter,
                                                  std::int64_t before_id, int limit) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(ListMessagesSql(MessageFilterBits(filter))));
    s->Bind(ws.value);
    BindMessageFilter(*s, filter);
    s->Bind(before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max())
        .Bind(std::int64_t{std::max(limit, 0)});
    return ReadOutboxMessages(*s, /*bodies=*/false);
  }

  Result<MessageCounts> CountMessages(WorkspaceId ws, std::string_view campaign) override {
    Stmt* s = nullptr;
    if (campaign.empty()) {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare("SELECT state, count(*) FROM outbox WHERE workspace_id = ? "
                                           "GROUP BY state"));
      s->Bind(ws.value);
    } else {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare("SELECT state, count(*) FROM outbox WHERE workspace_id = ? "
                                           "AND campaign = ? GROUP BY state"));
      s->Bind(ws.value).Bind(campaign);
    }
    MessageCounts c;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(MessageState state, ParseMessageState(s->View(0)));
      CountOf(c, state) = s->Int(1);
    }
    return c;
  }

  Result<std::int64_t> CancelMessages(WorkspaceId ws, const MessageFilter& filter, Timestamp now) override {
    if (filter.state && *filter.state != MessageState::kQueued) return 0;  // only queued ones cancel
    const int bits = MessageFilterBits(filter) & 3;
    MessageFilter by = filter;
    by.state.reset();
    return InImmediateTransaction([&]() -> Result<std::int64_t> {
      TREU_ASSIGN_OR_RETURN(Stmt * log, db_.Prepare(CancelLogSql(bits)));
      log->Bind(now.micros).Bind(ws.value);
      BindMessageFilter(*log, by);
      TREU_RETURN_IF_ERROR(log->Run());
      TREU_ASSIGN_OR_RETURN(Stmt * up, db_.Prepare(CancelUpdateSql(bits)));
      up->Bind(ws.value);
      BindMessageFilter(*up, by);
      TREU_RETURN_IF_ERROR(up->Run());
      const std::int64_t cancelled = db_.Changes();
      // Campaigns' planned messages matching the filter are cancelled with them (their members).
      TREU_ASSIGN_OR_RETURN(Stmt * plans, db_.Prepare(CancelPlannedSql(bits)));
      plans->Bind(ws.value);
      if (by.customer.valid()) plans->Bind(by.customer.value);
      if (!by.campaign.empty()) plans->Bind(std::string_view(by.campaign));
      TREU_RETURN_IF_ERROR(plans->Run());
      return cancelled + db_.Changes();
    });
  }

  Status AppendMessageLog(const MessageLogEntry& e) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO message_log (workspace_id, message_id, customer_id, kind, at, "
                              "detail) SELECT workspace_id, id, customer_id, ?, ?, ? FROM outbox WHERE "
                              "workspace_id = ? AND id = ?"));
    TREU_RETURN_IF_ERROR(
        s->Bind(e.kind).Bind(e.at.micros).Bind(e.detail).Bind(e.workspace.value).Bind(e.message_id).Run());
    if (db_.Changes() == 0) return NotFound("message " + std::to_string(e.message_id), "no such message");
    return Ok();
  }

  Result<std::vector<MessageLogEntry>> ListMessageLog(WorkspaceId ws, std::int64_t message_id,
                                                      CustomerId customer, int limit) override {
    Stmt* s = nullptr;
    if (message_id > 0) {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare("SELECT id, workspace_id, message_id, customer_id, kind, at, "
                                           "detail FROM message_log WHERE workspace_id = ? AND "
                                           "message_id = ? ORDER BY id LIMIT ?"));
      s->Bind(ws.value).Bind(message_id);
    } else if (customer.valid()) {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare("SELECT id, workspace_id, message_id, customer_id, kind, at, "
                                           "detail FROM message_log WHERE workspace_id = ? AND "
                                           "customer_id = ? ORDER BY id LIMIT ?"));
      s->Bind(ws.value).Bind(customer.value);
    } else {
      return InvalidArgument("message log", "name a message or a customer");
    }
    s->Bind(std::int64_t{std::max(limit, 0)});
    std::vector<MessageLogEntry> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadMessageLogEntry(*s));
    }
    return out;
  }

  Status SuppressEmail(const EmailSuppression& e) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO email_suppressions (workspace_id, address, reason, detail, at) "
                              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace_id, address) DO UPDATE SET "
                              "reason = excluded.reason, detail = excluded.detail, at = excluded.at"));
    return s->Bind(e.workspace.value).Bind(LowerAscii(e.address)).Bind(e.reason).Bind(e.detail)
        .Bind(e.at.micros).Run();
  }

  Result<std::optional<EmailSuppression>> FindSuppression(WorkspaceId ws, std::string_view address) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT address, reason, detail, at FROM email_suppressions "
                                                "WHERE workspace_id = ? AND address = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(LowerAscii(address)).Step());
    if (!row) return std::optional<EmailSuppression>();
    EmailSuppression out{ws, s->Text(0), s->Text(1), s->Text(2), Timestamp{s->Int(3)}};
    s->Reset();
    return std::optional<EmailSuppression>(std::move(out));
  }

  Result<std::vector<EmailSuppression>> ListSuppressions(WorkspaceId ws, std::string_view after_address,
                                                         int limit) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT address, reason, detail, at FROM email_suppressions "
                                                "WHERE workspace_id = ? AND address > ? ORDER BY address "
                                                "LIMIT ?"));
    s->Bind(ws.value).Bind(LowerAscii(after_address)).Bind(std::int64_t{std::max(limit, 0)});
    std::vector<EmailSuppression> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({ws, s->Text(0), s->Text(1), s->Text(2), Timestamp{s->Int(3)}});
    }
    return out;
  }

  Result<bool> DeleteSuppression(WorkspaceId ws, std::string_view address) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM email_suppressions WHERE workspace_id = ? AND "
                                                "address = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(LowerAscii(address)).Run());
    return db_.Changes() > 0;
  }

  Result<ConsentRecord> AddConsentRecord(const ConsentRecord& r) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO consent_records (workspace_id, customer_id, channel, action, at, "
                              "ip, user_agent, text_version, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    TREU_RETURN_IF_ERROR(s->Bind(r.workspace.value).Bind(r.customer.value).Bind(ChannelName(r.channel))
                             .Bind(r.action).Bind(r.at.micros).Bind(r.ip).Bind(r.user_agent)
                             .Bind(r.text_version).Bind(r.source).Run());
    ConsentRecord out = r;
    out.id = db_.LastRowId();
    return out;
  }

  Result<std::vector<ConsentRecord>> ListConsentRecords(WorkspaceId ws, CustomerId customer,
                                                        std::int64_t after_id, int limit) override {
    Stmt* s = nullptr;
    if (customer.valid()) {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare("SELECT id, customer_id, channel, action, at, ip, user_agent, "
                                           "text_version, source FROM consent_records WHERE "
                                           "workspace_id = ? AND customer_id = ? AND id > ? ORDER BY id "
                                           "LIMIT ?"));
      s->Bind(ws.value).Bind(customer.value);
    } else {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare("SELECT id, customer_id, channel, action, at, ip, user_agent, "
                                           "text_version, source FROM consent_records WHERE "
                                           "workspace_id = ? AND id > ? ORDER BY id LIMIT ?"));
      s->Bind(ws.value);
    }
    s->Bind(after_id).Bind(std::int64_t{std::max(limit, 0)});
    std::vector<ConsentRecord> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      TREU_ASSIGN_OR_RETURN(ConsentRecord r, ReadConsentRecord(*s, ws));
      out.push_back(std::move(r));
    }
    return out;
  }

  Status SaveMessagePreferences(const MessagePreferences& p) override {
    TREU_ASSIGN_OR_RETURN(std::string topics, EncodeTopics(p.topics_off));
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO message_preferences (workspace_id, customer_id, topics_off, "
                              "paused_until, tracking_off, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                              "(workspace_id, customer_id) DO UPDATE SET topics_off = excluded.topics_off, "
                              "paused_until = excluded.paused_until, tracking_off = excluded.tracking_off, "
                              "updated_at = excluded.updated_at"));
    return s->Bind(p.workspace.value).Bind(p.customer.value).Bind(topics).Bind(OptionalMicros(p.paused_until))
        .Bind(std::int64_t{p.tracking_off ? 1 : 0}).Bind(p.updated_at.micros).Run();
  }

  Result<std::optional<MessagePreferences>> FindMessagePreferences(WorkspaceId ws, CustomerId customer) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT topics_off, paused_until, tracking_off, updated_at FROM "
                                                "message_preferences WHERE workspace_id = ? AND customer_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(customer.value).Step());
    if (!row) return std::optional<MessagePreferences>();
    MessagePreferences p{ws, customer, DecodeTierList(s->View(0)), OptionalTimestamp(*s, 1), s->Int(2) != 0,
                         Timestamp{s->Int(3)}};
    s->Reset();
    return std::optional<MessagePreferences>(std::move(p));
  }

  Status SaveMessagingSettings(const MessagingSettingsRecord& r) override {
    TREU_RETURN_IF_ERROR(CheckMessagingSettings(r));
    TREU_ASSIGN_OR_RETURN(
        Stmt * s,
        db_.Prepare("INSERT INTO messaging_settings (workspace_id, from_name, from_address, reply_to, "
                    "transport, smtp_url, smtp_tls, smtp_username, smtp_password_sealed, dkim_domain, "
                    "dkim_selector, dkim_key_sealed, consent_text_version, public_url, track_engagement, "
                    "max_attempts, updated_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id) DO UPDATE SET "
                    "from_name = excluded.from_name, from_address = excluded.from_address, reply_to = "
                    "excluded.reply_to, transport = excluded.transport, smtp_url = excluded.smtp_url, "
                    "smtp_tls = excluded.smtp_tls, smtp_username = excluded.smtp_username, "
                    "smtp_password_sealed = excluded.smtp_password_sealed, dkim_domain = "
                    "excluded.dkim_domain, dkim_selector = excluded.dkim_selector, dkim_key_sealed = "
                    "excluded.dkim_key_sealed, consent_text_version = excluded.consent_text_version, "
                    "public_url = excluded.public_url, track_engagement = excluded.track_engagement, "
                    "max_attempts = excluded.max_attempts, updated_at = excluded.updated_at"));
    return s->Bind(r.workspace.value).Bind(r.from_name).Bind(r.from_address).Bind(r.reply_to).Bind(r.transport)
        .Bind(r.smtp_url).Bind(r.smtp_tls).Bind(r.smtp_username).Bind(r.smtp_password_sealed)
        .Bind(r.dkim_domain).Bind(r.dkim_selector).Bind(r.dkim_key_sealed).Bind(r.consent_text_version)
        .Bind(r.public_url).Bind(std::int64_t{r.track_engagement ? 1 : 0})
        .Bind(std::int64_t{r.max_attempts}).Bind(r.updated_at.micros).Run();
  }

  Result<std::optional<MessagingSettingsRecord>> FindMessagingSettings(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT from_name, from_address, reply_to, transport, smtp_url, smtp_tls, "
                              "smtp_username, smtp_password_sealed, dkim_domain, dkim_selector, "
                              "dkim_key_sealed, consent_text_version, max_attempts, updated_at, public_url, "
                              "track_engagement FROM messaging_settings WHERE workspace_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Step());
    if (!row) return std::optional<MessagingSettingsRecord>();
    MessagingSettingsRecord r;
    r.workspace = ws;
    r.from_name = s->Text(0);
    r.from_address = s->Text(1);
    r.reply_to = s->Text(2);
    r.transport = s->Text(3);
    r.smtp_url = s->Text(4);
    r.smtp_tls = s->Text(5);
    r.smtp_username = s->Text(6);
    r.smtp_password_sealed = s->Text(7);
    r.dkim_domain = s->Text(8);
    r.dkim_selector = s->Text(9);
    r.dkim_key_sealed = s->Text(10);
    r.consent_text_version = s->Text(11);
    r.max_attempts = static_cast<int>(s->Int(12));
    r.updated_at = Timestamp{s->Int(13)};
    r.public_url = s->Text(14);
    r.track_engagement = s->Int(15) != 0;
    s->Reset();
    return std::optional<MessagingSettingsRecord>(std::move(r));
  }

  // ---- Channels beyond email

  Result<PushSubscriptionRecord> SavePushSubscription(const PushSubscriptionRecord& p) override {
    TREU_RETURN_IF_ERROR(CheckPushSubscription(p));
    // Inserted only for a customer of the workspace (foreign keys are not enforced here).
    static const std::string kSql =
        std::string(
            "INSERT INTO push_subscriptions (workspace_id, customer_id, endpoint, p256dh, auth, "
            "user_agent, created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS "
            "(SELECT 1 FROM customers WHERE workspace_id = ?1 AND id = ?2) ON CONFLICT "
            "(workspace_id, endpoint) DO UPDATE SET customer_id = excluded.customer_id, p256dh = "
            "excluded.p256dh, auth = excluded.auth, user_agent = excluded.user_agent, updated_at = "
            "excluded.updated_at RETURNING ") +
        kPushSubscriptionColumns;
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(p.workspace.value).Bind(p.customer.value).Bind(p.endpoint)
                                        .Bind(p.p256dh).Bind(p.auth).Bind(p.user_agent)
                                        .Bind(p.created_at.micros).Bind(p.updated_at.micros).Step());
    if (!row) {
      return NotFound("push subscription " + p.endpoint,
                      "no customer " + std::to_string(p.customer.value) + " in the workspace");
    }
    PushSubscriptionRecord out = ReadPushSubscription(*s);
    s->Reset();
    return out;
  }

  Result<std::vector<PushSubscriptionRecord>> ListPushSubscriptions(WorkspaceId ws, CustomerId customer,
                                                                    std::int64_t after_id, int limit) override {
    static const std::string kByCustomer = std::string("SELECT ") + kPushSubscriptionColumns +
                                           " FROM push_subscriptions WHERE workspace_id = ? AND "
                                           "customer_id = ? AND id > ? ORDER BY id LIMIT ?";
    static const std::string kAll = std::string("SELECT ") + kPushSubscriptionColumns +
                                    " FROM push_subscriptions WHERE workspace_id = ? AND id > ? ORDER BY "
                                    "id LIMIT ?";
    Stmt* s = nullptr;
    if (customer.valid()) {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare(kByCustomer.c_str()));
      s->Bind(ws.value).Bind(customer.value);
    } else {
      TREU_ASSIGN_OR_RETURN(s, db_.Prepare(kAll.c_str()));
      s->Bind(ws.value);
    }
    s->Bind(after_id).Bind(std::int64_t{std::max(limit, 0)});
    std::vector<PushSubscriptionRecord> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadPushSubscription(*s));
    }
    return out;
  }

  Result<std::optional<PushSubscriptionRecord>> FindPushSubscription(WorkspaceId ws, std::int64_t id) override {
    static const std::string kSql = std::string("SELECT ") + kPushSubscriptionColumns +
                                    " FROM push_subscriptions WHERE workspace_id = ? AND id = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(id).Step());
    if (!row) return std::optional<PushSubscriptionRecord>();
    PushSubscriptionRecord out = ReadPushSubscription(*s);
    s->Reset();
    return std::optional<PushSubscriptionRecord>(std::move(out));
  }

  Result<bool> DeletePushSubscription(WorkspaceId ws, std::int64_t id) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM push_subscriptions WHERE workspace_id = ? AND "
                                                "id = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(id).Run());
    return db_.Changes() > 0;
  }

  Result<bool> DeletePushSubscriptionByEndpoint(WorkspaceId ws, std::string_view endpoint) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM push_subscriptions WHERE workspace_id = ? AND "
                                                "endpoint = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(endpoint).Run());
    return db_.Changes() > 0;
  }

  Result<WebhookEndpointRecord> SaveWebhookEndpoint(const WebhookEndpointRecord& e) override {
    TREU_RETURN_IF_ERROR(CheckWebhookEndpoint(e));
    static const std::string kSql =
        std::string(
            "INSERT INTO webhook_endpoints (workspace_id, name, url, format, secret_sealed, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO UPDATE SET "
            "url = excluded.url, format = excluded.format, secret_sealed = excluded.secret_sealed, "
            "updated_at = excluded.updated_at RETURNING ") +
        kWebhookEndpointColumns;
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(e.workspace.value).Bind(e.name).Bind(e.url).Bind(e.format)
                                        .Bind(e.secret_sealed).Bind(e.created_at.micros)
                                        .Bind(e.updated_at.micros).Step());
    if (!row) return Internal("save webhook endpoint " + e.name, "no row after saving");
    WebhookEndpointRecord out = ReadWebhookEndpoint(*s);
    s->Reset();
    return out;
  }

  Result<std::vector<WebhookEndpointRecord>> ListWebhookEndpoints(WorkspaceId ws) override {
    static const std::string kSql = std::string("SELECT ") + kWebhookEndpointColumns +
                                    " FROM webhook_endpoints WHERE workspace_id = ? ORDER BY name";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value);
    std::vector<WebhookEndpointRecord> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(ReadWebhookEndpoint(*s));
    }
    return out;
  }

  Result<std::optional<WebhookEndpointRecord>> FindWebhookEndpoint(WorkspaceId ws,
                                                                   std::string_view name) override {
    static const std::string kSql = std::string("SELECT ") + kWebhookEndpointColumns +
                                    " FROM webhook_endpoints WHERE workspace_id = ? AND name = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(name).Step());
    if (!row) return std::optional<WebhookEndpointRecord>();
    WebhookEndpointRecord out = ReadWebhookEndpoint(*s);
    s->Reset();
    return std::optional<WebhookEndpointRecord>(std::move(out));
  }

  Status DeleteWebhookEndpoint(WorkspaceId ws, std::string_view name) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM webhook_endpoints WHERE workspace_id = ? AND "
                                                "name = ?"));
    TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(name).Run());
    if (db_.Changes() == 0) return NotFound("webhook endpoint " + std::string(name), "no such endpoint");
    return Ok();
  }

  Status SaveChannelSettings(const ChannelSettingsRecord& r) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO channel_settings (workspace_id, vapid_public_key, "
                              "vapid_private_sealed, vapid_subject, identity_secret_sealed, updated_at) "
                              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id) DO UPDATE SET "
                              "vapid_public_key = excluded.vapid_public_key, vapid_private_sealed = "
                              "excluded.vapid_private_sealed, vapid_subject = excluded.vapid_subject, "
                              "identity_secret_sealed = excluded.identity_secret_sealed, updated_at = "
                              "excluded.updated_at"));
    return s->Bind(r.workspace.value).Bind(r.vapid_public_key).Bind(r.vapid_private_sealed)
        .Bind(r.vapid_subject).Bind(r.identity_secret_sealed).Bind(r.updated_at.micros).Run();
  }

  Result<std::optional<ChannelSettingsRecord>> FindChannelSettings(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT vapid_public_key, vapid_private_sealed, vapid_subject, "
                              "identity_secret_sealed, updated_at FROM channel_settings WHERE "
                              "workspace_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Step());
    if (!row) return std::optional<ChannelSettingsRecord>();
    ChannelSettingsRecord r;
    r.workspace = ws;
    r.vapid_public_key = s->Text(0);
    r.vapid_private_sealed = s->Text(1);
    r.vapid_subject = s->Text(2);
    r.identity_secret_sealed = s->Text(3);
    r.updated_at = Timestamp{s->Int(4)};
    s->Reset();
    return std::optional<ChannelSettingsRecord>(std::move(r));
  }

  Result<std::vector<OutboxMessage>> ListInAppMessages(WorkspaceId ws, CustomerId customer, Timestamp since,
                                                       int limit) override {
    if (limit <= 0) return std::vector<OutboxMessage>();
    // Walks the customer's messages newest first on outbox_by_customer; the dismissed check
    // probes message_log_by_message per candidate.
    static const std::string kSql =
        std::string("SELECT ") + kOutboxColumns +
        " FROM outbox o WHERE workspace_id = ? AND customer_id = ? AND channel = ? AND state = 'sent' AND "
        "sent_at >= ? AND NOT EXISTS (SELECT 1 FROM message_log l WHERE l.message_id = o.id AND l.kind = "
        "'dismissed') ORDER BY id DESC LIMIT ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value).Bind(customer.value).Bind(ChannelName(Channel::kInApp)).Bind(since.micros)
        .Bind(std::int64_t{std::min(limit, 100)});
    return ReadOutboxMessages(*s, /*bodies=*/true);
  }

  // ---- Campaigns

  Result<CampaignRecord> SaveCampaign(const CampaignRecord& c) override {
    TREU_RETURN_IF_ERROR(CheckCampaign(c));
    static const std::string kSql =
        std::string(
            "INSERT INTO campaigns (workspace_id, name, state, segment, where_expr, variants, holdout_permille, "
            "test_permille, winner_metric, test_window, winner, split_key, send_at, local_time, "
            "optimize_send_time, goal_window, last_error, created_at, updated_at, launched_at, test_ends_at, "
            "finished_at, survey) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
            "(workspace_id, name) DO UPDATE SET state = excluded.state, segment = excluded.segment, "
            "where_expr = excluded.where_expr, variants = excluded.variants, holdout_permille = "
            "excluded.holdout_permille, test_permille = excluded.test_permille, winner_metric = "
            "excluded.winner_metric, test_window = excluded.test_window, winner = excluded.winner, split_key = "
            "excluded.split_key, send_at = excluded.send_at, local_time = excluded.local_time, "
            "optimize_send_time = excluded.optimize_send_time, goal_window = excluded.goal_window, last_error = "
            "excluded.last_error, updated_at = excluded.updated_at, launched_at = excluded.launched_at, "
            "test_ends_at = excluded.test_ends_at, finished_at = excluded.finished_at, survey = excluded.survey "
            "RETURNING ") +
        kCampaignColumns;
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(c.workspace.value).Bind(c.name).Bind(CampaignStateName(c.state)).Bind(c.segment).Bind(c.where)
        .Bind(FormatCampaignVariants(c.variants)).Bind(std::int64_t{c.holdout_permille})
        .Bind(std::int64_t{c.test_permille}).Bind(c.winner_metric).Bind(c.test_window_micros)
        .Bind(std::int64_t{c.winner}).Bind(c.split_key).Bind(OptionalMicros(c.send_at)).Bind(c.local_time)
        .Bind(std::int64_t{c.optimize_send_time ? 1 : 0}).Bind(c.goal_window_micros).Bind(c.last_error)
        .Bind(c.created_at.micros).Bind(c.updated_at.micros).Bind(OptionalMicros(c.launched_at))
        .Bind(OptionalMicros(c.test_ends_at)).Bind(OptionalMicros(c.finished_at)).Bind(c.survey);
    TREU_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Internal("save campaign " + c.name, "no row after saving");
    auto out = ReadCampaign(*s);
    s->Reset();
    return out;
  }

  Result<std::vector<CampaignRecord>> ListCampaigns(WorkspaceId ws) override {
    static const std::string kSql =
        std::string("SELECT ") + kCampaignColumns + " FROM campaigns WHERE workspace_id = ? ORDER BY name";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value);
    return ReadCampaigns(*s);
  }

  Result<std::optional<CampaignRecord>> FindCampaign(WorkspaceId ws, std::string_view name) override {
    static const std::string kSql =
        std::string("SELECT ") + kCampaignColumns + " FROM campaigns WHERE workspace_id = ? AND name = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value).Bind(name);
    TREU_ASSIGN_OR_RETURN(auto rows, ReadCampaigns(*s));
    if (rows.empty()) return std::optional<CampaignRecord>();
    return std::optional<CampaignRecord>(std::move(rows.front()));
  }

  Status DeleteCampaign(WorkspaceId ws, std::string_view name) override {
    return InImmediateTransaction([&]() -> Status {
      TREU_ASSIGN_OR_RETURN(Stmt * members,
                            db_.Prepare("DELETE FROM campaign_members WHERE campaign_id IN (SELECT id FROM campaigns "
                                        "WHERE workspace_id = ? AND name = ?)"));
      TREU_RETURN_IF_ERROR(members->Bind(ws.value).Bind(name).Run());
      TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM campaigns WHERE workspace_id = ? AND name = ?"));
      TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(name).Run());
      if (db_.Changes() == 0) return NotFound("campaign " + std::string(name), "no such campaign");
      return Ok();
    });
  }

  Result<bool> UpdateCampaignIf(const CampaignRecord& c, CampaignState expected) override {
    TREU_RETURN_IF_ERROR(CheckCampaign(c));
    return InImmediateTransaction([&]() -> Result<bool> {
      TREU_ASSIGN_OR_RETURN(Stmt * find, db_.Prepare("SELECT state FROM campaigns WHERE workspace_id = ? AND id = ?"));
      TREU_ASSIGN_OR_RETURN(bool found, find->Bind(c.workspace.value).Bind(c.id).Step());
      if (!found) return NotFound("campaign " + c.name, "no such campaign");
      const bool same = find->View(0) == CampaignStateName(expected);
      find->Reset();
      if (!same) return false;
      TREU_ASSIGN_OR_RETURN(
          Stmt * s,
          db_.Prepare("UPDATE campaigns SET name = ?, state = ?, segment = ?, where_expr = ?, variants = ?, "
                      "holdout_permille = ?, test_permille = ?, winner_metric = ?, test_window = ?, winner = ?, "
                      "split_key = ?, send_at = ?, local_time = ?, optimize_send_time = ?, goal_window = ?, "
                      "last_error = ?, updated_at = ?, launched_at = ?, test_ends_at = ?, finished_at = ?, survey = ? "
                      "WHERE workspace_id = ? AND id = ?"));
      TREU_RETURN_IF_ERROR(
          s->Bind(c.name).Bind(CampaignStateName(c.state)).Bind(c.segment).Bind(c.where)
              .Bind(FormatCampaignVariants(c.variants)).Bind(std::int64_t{c.holdout_permille})
              .Bind(std::int64_t{c.test_permille}).Bind(c.winner_metric).Bind(c.test_window_micros)
              .Bind(std::int64_t{c.winner}).Bind(c.split_key).Bind(OptionalMicros(c.send_at)).Bind(c.local_time)
              .Bind(std::int64_t{c.optimize_send_time ? 1 : 0}).Bind(c.goal_window_micros).Bind(c.last_error)
              .Bind(c.updated_at.micros).Bind(OptionalMicros(c.launched_at)).Bind(OptionalMicros(c.test_ends_at))
              .Bind(OptionalMicros(c.finished_at)).Bind(c.survey).Bind(c.workspace.value).Bind(c.id).Run());
      return true;
    });
  }

  Result<std::vector<CampaignRecord>> ListDueCampaigns(Timestamp now, Timestamp stale_before) override {
    static const std::string kSql =
        std::string("SELECT ") + kCampaignColumns +
        " FROM campaigns WHERE (state = 'scheduled' AND send_at <= ?1) OR (state = 'testing' AND test_ends_at <= "
        "?1) OR (state = 'running' AND updated_at < ?2) ORDER BY id";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(now.micros).Bind(stale_before.micros);
    return ReadCampaigns(*s);
  }

  Status SaveCampaignMembers(WorkspaceId ws, std::int64_t campaign_id,
                             std::span<const CampaignMember> members) override {
    if (members.empty()) return Ok();
    return InImmediateTransaction([&]() -> Status {
      TREU_ASSIGN_OR_RETURN(Stmt * owner, db_.Prepare("SELECT 1 FROM campaigns WHERE workspace_id = ? AND id = ?"));
      TREU_ASSIGN_OR_RETURN(bool found, owner->Bind(ws.value).Bind(campaign_id).Step());
      owner->Reset();
      if (!found) return NotFound("campaign " + std::to_string(campaign_id), "no such campaign in this workspace");
      TREU_ASSIGN_OR_RETURN(
          Stmt * s, db_.Prepare("INSERT INTO campaign_members (workspace_id, campaign_id, customer_id, arm, due, "
                                "outcome, planned) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, "
                                "customer_id) DO UPDATE SET arm = excluded.arm, due = excluded.due, outcome = "
                                "excluded.outcome, planned = excluded.planned"));
      for (const CampaignMember& m : members) {
        TREU_RETURN_IF_ERROR(s->Reset().Bind(ws.value).Bind(campaign_id).Bind(m.customer.value)
                                 .Bind(std::int64_t{m.arm}).Bind(m.due.micros).BindRef(m.outcome)
                                 .Bind(std::int64_t{m.planned ? 1 : 0}).Run());
      }
      s->Reset();
      return Ok();
    });
  }

  Result<std::vector<CampaignMember>> ListCampaignMembers(WorkspaceId ws, std::int64_t campaign_id, CustomerId after,
                                                          int limit) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT customer_id, arm, due, outcome, planned FROM campaign_members "
                                                "WHERE campaign_id = ? AND workspace_id = ? AND customer_id > ? "
                                                "ORDER BY customer_id LIMIT ?"));
    s->Bind(campaign_id).Bind(ws.value).Bind(after.value).Bind(std::int64_t{std::clamp(limit, 0, 100'000)});
    return ReadMembers(*s);
  }

  Result<std::vector<std::pair<WorkspaceId, std::int64_t>>> ListCampaignsWithPlans(Timestamp before) override {
    // By campaign, each looked up in the partial index (a scan of the members would read them all).
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT c.workspace_id, c.id FROM campaigns c WHERE EXISTS (SELECT 1 "
                                                "FROM campaign_members m WHERE m.campaign_id = c.id AND m.planned = "
                                                "1 AND m.due < ?) ORDER BY c.id"));
    s->Bind(before.micros);
    std::vector<std::pair<WorkspaceId, std::int64_t>> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.emplace_back(WorkspaceId{s->Int(0)}, s->Int(1));
    }
    return out;
  }

  Result<std::vector<CampaignMember>> ListPlannedMembers(WorkspaceId ws, std::int64_t campaign_id, Timestamp before,
                                                         int limit) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT customer_id, arm, due, outcome, planned FROM campaign_members "
                                                "WHERE planned = 1 AND due < ? AND campaign_id = ? AND "
                                                "workspace_id = ? ORDER BY due, customer_id LIMIT ?"));
    s->Bind(before.micros).Bind(campaign_id).Bind(ws.value).Bind(std::int64_t{std::clamp(limit, 0, 100'000)});
    return ReadMembers(*s);
  }

  Result<std::int64_t> UnplanCampaignMembers(WorkspaceId ws, std::int64_t campaign_id, std::optional<CustomerId> customer,
                                             std::string_view outcome) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("UPDATE campaign_members SET planned = 0, outcome = ? WHERE "
                                                "planned = 1 AND campaign_id = ? AND workspace_id = ? AND (? IS "
                                                "NULL OR customer_id = ?)"));
    const std::optional<std::int64_t> only = customer ? std::optional(customer->value) : std::nullopt;
    TREU_RETURN_IF_ERROR(s->Bind(outcome).Bind(campaign_id).Bind(ws.value).Bind(only).Bind(only).Run());
    return db_.Changes();
  }

  Result<std::vector<MarketingMessageRow>> ListMarketingMessages(WorkspaceId ws, Timestamp from,
                                                                 Timestamp to) override {
    // The outbox's rows and the planned ones, each read in time order along an index, merged.
    std::vector<MarketingMessageRow> out;
    for (const char* sql :
         {"SELECT id, customer_id, next_attempt_at, state, campaign FROM outbox WHERE workspace_id = ? AND category "
          "= 'marketing' AND next_attempt_at >= ? AND next_attempt_at < ? AND state IN ('queued', 'sending', "
          "'sent') ORDER BY next_attempt_at, id",
          "SELECT -m.campaign_id, m.customer_id, m.due, 'queued', c.name FROM campaign_members m JOIN campaigns c ON "
          "c.id = m.campaign_id WHERE m.workspace_id = ? AND m.planned = 1 AND m.due >= ? AND m.due < ? ORDER BY "
          "m.due, m.campaign_id DESC"}) {
      const auto middle = static_cast<std::ptrdiff_t>(out.size());
      TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(sql));
      s->Bind(ws.value).Bind(from.micros).Bind(to.micros);
      while (true) {
        TREU_ASSIGN_OR_RETURN(bool row, s->Step());
        if (!row) break;
        MarketingMessageRow m{s->Int(0), CustomerId{s->Int(1)}, Timestamp{s->Int(2)}, MessageState::kQueued,
                              s->Text(4)};
        TREU_ASSIGN_OR_RETURN(m.state, ParseMessageState(s->View(3)));
        out.push_back(std::move(m));
      }
      std::inplace_merge(out.begin(), out.begin() + middle, out.end(), ByTimeThenId);
    }
    return out;
  }

  Result<std::vector<EngagementRow>> ListEngagements(WorkspaceId ws, Timestamp since) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT customer_id, message_id, at, kind FROM message_log WHERE "
                                                "workspace_id = ? AND at >= ? AND kind IN ('opened', 'clicked') "
                                                "ORDER BY customer_id, at, id"));
    s->Bind(ws.value).Bind(since.micros);
    std::vector<EngagementRow> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({CustomerId{s->Int(0)}, s->Int(1), Timestamp{s->Int(2)}, s->Text(3)});
    }
    return out;
  }

  Status SaveDeliveryRules(const DeliveryRulesRecord& r) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("INSERT INTO delivery_rules (workspace_id, cap_messages, cap_window, quiet_start, "
                              "quiet_end, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id) DO "
                              "UPDATE SET cap_messages = excluded.cap_messages, cap_window = excluded.cap_window, "
                              "quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, updated_at = "
                              "excluded.updated_at"));
    return s->Bind(r.workspace.value).Bind(std::int64_t{r.cap_messages}).Bind(r.cap_window_micros)
        .Bind(r.quiet_start).Bind(r.quiet_end).Bind(r.updated_at.micros).Run();
  }

  Result<std::optional<DeliveryRulesRecord>> FindDeliveryRules(WorkspaceId ws) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("SELECT cap_messages, cap_window, quiet_start, quiet_end, "
                                                "updated_at FROM delivery_rules WHERE workspace_id = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Step());
    if (!row) return std::optional<DeliveryRulesRecord>();
    DeliveryRulesRecord r{ws, static_cast<int>(s->Int(0)), s->Int(1), s->Text(2), s->Text(3), Timestamp{s->Int(4)}};
    s->Reset();
    return std::optional<DeliveryRulesRecord>(std::move(r));
  }

  // ---- Journeys

  Result<JourneyRecord> SaveJourney(const JourneyRecord& j) override {
    TREU_RETURN_IF_ERROR(CheckJourney(j));
    return InImmediateTransaction([&]() -> Result<JourneyRecord> {
      static const std::string kSql =
          std::string(
              "INSERT INTO journeys (workspace_id, name, state, version, definition, split_key, change_seq, "
              "trigger_cursor, goal_cursor, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
              "?, ?, ?) ON CONFLICT (workspace_id, name) DO UPDATE SET state = excluded.state, version = "
              "excluded.version, definition = excluded.definition, split_key = excluded.split_key, last_error = "
              "excluded.last_error, updated_at = excluded.updated_at RETURNING ") +
          kJourneyColumns;
      TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
      s->Bind(j.workspace.value).Bind(j.name).Bind(j.state).Bind(std::int64_t{j.version}).Bind(j.definition)
          .Bind(j.split_key).Bind(j.change_seq).Bind(j.trigger_cursor).Bind(j.goal_cursor).Bind(j.last_error)
          .Bind(j.created_at.micros).Bind(j.updated_at.micros);
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) return Internal("save journey " + j.name, "no row after saving");
      JourneyRecord out = ReadJourney(*s);
      s->Reset();
      // Versions are immutable: the first text saved for a version stays.
      TREU_ASSIGN_OR_RETURN(
          Stmt * v, db_.Prepare("INSERT INTO journey_versions (journey_id, version, definition, created_at) VALUES "
                                "(?, ?, ?, ?) ON CONFLICT (journey_id, version) DO NOTHING"));
      TREU_RETURN_IF_ERROR(
          v->Bind(out.id).Bind(std::int64_t{j.version}).Bind(j.definition).Bind(j.updated_at.micros).Run());
      return out;
    });
  }

  Result<std::vector<JourneyRecord>> ListJourneys(WorkspaceId ws) override {
    static const std::string kSql =
        std::string("SELECT ") + kJourneyColumns + " FROM journeys WHERE workspace_id = ? ORDER BY name";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value);
    return ReadJourneys(*s);
  }

  Result<std::optional<JourneyRecord>> FindJourney(WorkspaceId ws, std::string_view name) override {
    static const std::string kSql =
        std::string("SELECT ") + kJourneyColumns + " FROM journeys WHERE workspace_id = ? AND name = ?";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value).Bind(name);
    TREU_ASSIGN_OR_RETURN(auto rows, ReadJourneys(*s));
    if (rows.empty()) return std::optional<JourneyRecord>();
    return std::optional<JourneyRecord>(std::move(rows.front()));
  }

  Status DeleteJourney(WorkspaceId ws, std::string_view name) override {
    return InImmediateTransaction([&]() -> Status {
      static constexpr std::array<const char*, 3> kDetails = {
          "DELETE FROM journey_step_counts WHERE journey_id IN (SELECT id FROM journeys WHERE workspace_id = ? AND "
          "name = ?)",
          "DELETE FROM journey_runs WHERE journey_id IN (SELECT id FROM journeys WHERE workspace_id = ? AND name = "
          "?)",
          "DELETE FROM journey_versions WHERE journey_id IN (SELECT id FROM journeys WHERE workspace_id = ? AND "
          "name = ?)"};
      for (const char* sql : kDetails) {
        TREU_ASSIGN_OR_RETURN(Stmt * d, db_.Prepare(sql));
        TREU_RETURN_IF_ERROR(d->Bind(ws.value).Bind(name).Run());
      }
      TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare("DELETE FROM journeys WHERE workspace_id = ? AND name = ?"));
      TREU_RETURN_IF_ERROR(s->Bind(ws.value).Bind(name).Run());
      if (db_.Changes() == 0) return NotFound("journey " + std::string(name), "no such journey");
      return Ok();
    });
  }

  Result<std::optional<std::string>> FindJourneyVersion(WorkspaceId ws, std::int64_t journey_id,
                                                        int version) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT v.definition FROM journey_versions v JOIN journeys j ON j.id = v.journey_id "
                              "WHERE j.workspace_id = ? AND v.journey_id = ? AND v.version = ?"));
    TREU_ASSIGN_OR_RETURN(bool row, s->Bind(ws.value).Bind(journey_id).Bind(std::int64_t{version}).Step());
    if (!row) return std::optional<std::string>();
    std::optional<std::string> out(s->Text(0));
    s->Reset();
    return out;
  }

  Result<std::vector<std::int64_t>> WriteJourneyRuns(WorkspaceId ws, std::int64_t journey_id,
                                                     std::span<const JourneyRunRow> runs,
                                                     std::span<const JourneyStepCount> step_deltas,
                                                     const JourneyRecord* cursors) override {
    for (const JourneyRunRow& r : runs) TREU_RETURN_IF_ERROR(CheckJourneyRun(r));
    // The journeys written to, each checked once to be of `ws`.
    std::vector<std::int64_t> journeys{journey_id};
    if (cursors != nullptr) journeys.push_back(cursors->id);
    for (const JourneyRunRow& r : runs) {
      if (r.journey_id != journeys.back()) journeys.push_back(r.journey_id);
    }
    std::sort(journeys.begin(), journeys.end());
    journeys.erase(std::unique(journeys.begin(), journeys.end()), journeys.end());
    return InImmediateTransaction([&]() -> Result<std::vector<std::int64_t>> {
      TREU_ASSIGN_OR_RETURN(Stmt * owner, db_.Prepare("SELECT 1 FROM journeys WHERE workspace_id = ? AND id = ?"));
      for (const std::int64_t id : journeys) {
        TREU_ASSIGN_OR_RETURN(bool found, owner->Reset().Bind(ws.value).Bind(id).Step());
        owner->Reset();
        if (!found) return NotFound("journey " + std::to_string(id), "no such journey in this workspace");
      }
      std::vector<std::int64_t> ids(runs.size(), 0);
      // Replaced runs first: a run that ends here makes room for the customer's next one.
      TREU_ASSIGN_OR_RETURN(
          Stmt * upd,
          db_.Prepare("UPDATE OR IGNORE journey_runs SET journey_id = ?, version = ?, customer_id = ?, zone = ?, "
                      "step = ?, state = ?, wake_at = ?, entered_at = ?, step_entered_at = ?, ended_at = ?, "
                      "steps_executed = ? WHERE id = ? AND workspace_id = ?"));
      for (std::size_t i = 0; i < runs.size(); ++i) {
        const JourneyRunRow& r = runs[i];
        if (r.id == 0) continue;
        TREU_RETURN_IF_ERROR(upd->Reset().Bind(r.journey_id).Bind(std::int64_t{r.version}).Bind(r.customer.value)
                                 .BindRef(r.zone).Bind(std::int64_t{r.step}).BindRef(r.state).Bind(r.wake_at.micros)
                                 .Bind(r.entered_at.micros).Bind(r.step_entered_at.micros).Bind(r.ended_at.micros)
                                 .Bind(r.steps_executed).Bind(r.id).Bind(ws.value).Run());
        if (db_.Changes() == 0) {
          upd->Reset();
          TREU_ASSIGN_OR_RETURN(Stmt * find,
                                db_.Prepare("SELECT 1 FROM journey_runs WHERE id = ? AND workspace_id = ?"));
          TREU_ASSIGN_OR_RETURN(bool found, find->Bind(r.id).Bind(ws.value).Step());
          find->Reset();
          if (!found) return NotFound("journey run " + std::to_string(r.id), "no such run in this workspace");
          return AlreadyExists("journey run " + std::to_string(r.id),
                               "the customer is inside the journey already");
        }
        ids[i] = r.id;
      }
      upd->Reset();
      TREU_ASSIGN_OR_RETURN(
          Stmt * ins,
          db_.Prepare("INSERT INTO journey_runs (workspace_id, journey_id, version, customer_id, zone, step, state, "
                      "wake_at, entered_at, step_entered_at, ended_at, steps_executed) VALUES (?, ?, ?, ?, ?, ?, ?, "
                      "?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
      for (std::size_t i = 0; i < runs.size(); ++i) {
        const JourneyRunRow& r = runs[i];
        if (r.id != 0) continue;
        TREU_RETURN_IF_ERROR(ins->Reset().Bind(ws.value).Bind(r.journey_id).Bind(std::int64_t{r.version})
                                 .Bind(r.customer.value).BindRef(r.zone).Bind(std::int64_t{r.step}).BindRef(r.state)
                                 .Bind(r.wake_at.micros).Bind(r.entered_at.micros).Bind(r.step_entered_at.micros)
                                 .Bind(r.ended_at.micros).Bind(r.steps_executed).Run());
        if (db_.Changes() == 0) {
          ins->Reset();
          return AlreadyExists("journey " + std::to_string(r.journey_id) + " customer " +
                                   std::to_string(r.customer.value),
                               "the customer is inside the journey already");
        }
        ids[i] = db_.LastRowId();
      }
      ins->Reset();
      TREU_ASSIGN_OR_RETURN(
          Stmt * count,
          db_.Prepare("INSERT INTO journey_step_counts (journey_id, version, step_id, outcome, count) VALUES (?, ?, "
                      "?, ?, ?) ON CONFLICT (journey_id, version, step_id, outcome) DO UPDATE SET count = count + "
                      "excluded.count"));
      for (const JourneyStepCount& d : step_deltas) {
        if (d.count == 0) continue;
        TREU_RETURN_IF_ERROR(count->Reset().Bind(journey_id).Bind(std::int64_t{d.version}).BindRef(d.step_id)
                                 .BindRef(d.outcome).Bind(d.count).Run());
      }
      count->Reset();
      if (cursors != nullptr) {
        TREU_ASSIGN_OR_RETURN(
            Stmt * c, db_.Prepare("UPDATE journeys SET change_seq = ?, trigger_cursor = ?, goal_cursor = ?, "
                                  "last_error = ?, updated_at = ? WHERE workspace_id = ? AND id = ?"));
        TREU_RETURN_IF_ERROR(c->Bind(cursors->change_seq).Bind(cursors->trigger_cursor).Bind(cursors->goal_cursor)
                                 .Bind(cursors->last_error).Bind(cursors->updated_at.micros).Bind(ws.value)
                                 .Bind(cursors->id).Run());
      }
      return ids;
    });
  }

  Result<std::vector<JourneyRunRow>> ListJourneyRuns(WorkspaceId ws, const JourneyRunFilter& filter,
                                                     std::int64_t after_id, int limit) override {
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(ListJourneyRunsSql(JourneyRunFilterBits(filter))));
    s->Bind(ws.value);
    if (filter.journey_id != 0) s->Bind(filter.journey_id);
    if (filter.customer.valid()) s->Bind(filter.customer.value);
    s->Bind(after_id).Bind(std::int64_t{std::clamp(limit, 0, 100'000)});
    return ReadJourneyRuns(*s);
  }

  Result<std::vector<JourneyRunRow>> ListDueJourneyRuns(WorkspaceId ws, Timestamp now, int limit) override {
    static const std::string kSql =
        std::string("SELECT ") + kJourneyRunColumns +
        " FROM journey_runs WHERE workspace_id = ?1 AND wake_at <= ?2 AND state IN ('waiting', 'waiting_for_event') "
        "AND journey_id IN (SELECT id FROM journeys WHERE workspace_id = ?1 AND state = 'active') "
        "ORDER BY wake_at, id LIMIT ?3";
    TREU_ASSIGN_OR_RETURN(Stmt * s, db_.Prepare(kSql.c_str()));
    s->Bind(ws.value).Bind(now.micros).Bind(std::int64_t{std::clamp(limit, 0, 100'000)});
    return ReadJourneyRuns(*s);
  }

  Result<std::vector<JourneyStepCount>> CountJourneySteps(WorkspaceId ws, std::int64_t journey_id) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT c.version, c.step_id, c.outcome, c.count FROM journey_step_counts c JOIN "
                              "journeys j ON j.id = c.journey_id WHERE j.workspace_id = ? AND c.journey_id = ? "
                              "ORDER BY c.version, c.step_id, c.outcome"));
    s->Bind(ws.value).Bind(journey_id);
    std::vector<JourneyStepCount> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({static_cast<int>(s->Int(0)), s->Text(1), s->Text(2), s->Int(3)});
    }
    return out;
  }

  Result<std::vector<JourneyRunCount>> CountJourneyRuns(WorkspaceId ws, std::int64_t journey_id) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT version, step, state, count(*) FROM journey_runs WHERE workspace_id = ? AND "
                              "journey_id = ? GROUP BY version, step, state ORDER BY version, step, state"));
    s->Bind(ws.value).Bind(journey_id);
    std::vector<JourneyRunCount> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back({static_cast<int>(s->Int(0)), static_cast<int>(s->Int(1)), s->Text(2), s->Int(3)});
    }
    return out;
  }

  Result<std::vector<Change>> ReadChanges(WorkspaceId ws, std::int64_t after_seq,
                                          int limit) override {
    TREU_ASSIGN_OR_RETURN(
        Stmt * s, db_.Prepare("SELECT seq, entity, entity_id, last_entity_id, op, at FROM "
                              "changes WHERE workspace_id = ? AND seq > ? ORDER BY seq LIMIT ?"));
    s->Bind(ws.value).Bind(after_seq).Bind(std::int64_t{limit});
    std::vector<Change> out;
    while (true) {
      TREU_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      Change c;
      c.seq = s->Int(0);
      TREU_ASSIGN_OR_RETURN(c.entity, ParseEntity(s->Text(1)));
      c.entity_id = s->Int(2);
      c.last_entity_id = s->Int(3);
      TREU_ASSIGN_OR_RETURN(c.op, ParseChangeOp(s->Text(4)));
      c.at = Timestamp{s->Int(5)};
      out.push_back(c);
    }
    return out;
  }

 private:
  const Clock& clock_;
  Db db_;
  std::string path_;
  std::map<std::string, int> lock_files_;  // HoldLock: name → open lock file
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const Clock& clock) {
  // Memory statistics take a global mutex on every allocation; treu doesn't read them.
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
  auto store = std::make_unique<SqliteStore>(clock);
  TREU_RETURN_IF_ERROR(store->Open(path));
  return std::unique_ptr<Store>(std::move(store));
}

Status BackupSqlite(const std::string& source_path, const std::string& dest_path) {
  Db src, dst;
  TREU_RETURN_IF_ERROR(src.Open(source_path));
  TREU_RETURN_IF_ERROR(dst.Open(dest_path));
  sqlite3_backup* b = sqlite3_backup_init(dst.handle(), "main", src.handle(), "main");
  if (b == nullptr) return SqliteError(dst.handle(), "backup to " + dest_path);
  int rc;
  // Copy in steps so writers are only briefly held up; a change to the source restarts
  // the copy, so the result is a consistent snapshot.
  do {
    rc = sqlite3_backup_step(b, 1024);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return SqliteError(dst.handle(), "backup to " + dest_path);
  return Ok();
}

}  // namespace treu
