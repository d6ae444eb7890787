#include "ingest/csv_import.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "ingest/batch_writer.hpp"
#include "ingest/csv_reader.hpp"

namespace treu {
namespace {

constexpr ColumnSpec kCustomerColumns[] = {
    {"customer_id", true, "the shop's id of the customer"},
    {"email", false, "email address"},
    {"name", false, "full name"},
    {"country", false, "ISO 3166-1 alpha-2 code, e.g. DE"},
    {"locale", false, "language tag, e.g. de-DE"},
    {"timezone", false, "IANA time zone, e.g. Europe/Berlin"},
    {"created_at", false, "when the customer signed up (ISO 8601)"},
};
constexpr ColumnSpec kOrderColumns[] = {
    {"order_id", true, "the shop's id of the order"},
    {"customer_id", true, "the shop's id of the customer; created on first sight"},
    {"placed_at", true, "ISO 8601 date or date-time; a bare date is midnight in the workspace's zone"},
    {"total", true, "order total in major units, e.g. 12.34"},
    {"currency", false, "ISO 4217 code; default: the workspace's"},
    {"status", false, "completed (default), refunded or cancelled"},
    {"refunded_at", false, "time of a refund (ISO 8601)"},
    {"refunded_total", false, "refunded amount in major units; default: the whole total"},
};
constexpr ColumnSpec kSubscriptionColumns[] = {
    {"subscription_id", true, "the billing system's id of the subscription"},
    {"customer_id", true, "the shop's id of the customer; created on first sight"},
    {"amount", true, "price per billing interval and unit, in major units"},
    {"started_at", true, "when the subscription started (ISO 8601)"},
    {"plan", false, "plan name"},
    {"interval", false, "day, week, month (default), quarter or year"},
    {"currency", false, "ISO 4217 code; default: the workspace's"},
    {"quantity", false, "units or seats, default 1"},
    {"discount", false, "percent off, 0 to 100 (e.g. 12.5), default 0"},
    {"status", false, "active (default), trialing, past_due, paused or canceled"},
    {"ended_at", false, "when the subscription ended, if it did"},
    {"effective_at", false, "when this row's terms took effect; default started_at"},
};

// Column positions of one file, resolved from its header.
struct Columns {
  std::unordered_map<std::string, int> index;  // canonical name → field index
  std::vector<std::pair<std::string, int>> attributes;  // attribute name → index
  std::vector<std::pair<Channel, int>> consents;
  std::vector<std::string> header;  // as in the file

  int Find(std::string_view name) const {
    auto it = index.find(std::string(name));
    return it == index.end() ? -1 : it->second;
  }
};

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<ImportIssue> ResolveHeader(ImportKind kind, const std::vector<std::string>& raw,
                                       const ImportOptions& options, Columns& cols) {
  std::vector<ImportIssue> issues;
  const auto specs = CanonicalColumns(kind);
  cols.header = raw;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string name = Trim(raw[i]);
    if (auto m = options.column_map.find(name); m != options.column_map.end()) name = m->second;
    const int col = static_cast<int>(i);
    if (kind == ImportKind::kCustomers && name.starts_with("attributes.")) {
      cols.attributes.emplace_back(name.substr(11), col);
      continue;
    }
    if (kind == ImportKind::kCustomers && name.starts_with("consent.")) {
      auto ch = ParseChannel(name.substr(8));
      if (!ch) {
        issues.push_back({1, col + 1, "column '" + name + "': " + ch.error().detail()});
      } else {
        cols.consents.emplace_back(*ch, col);
      }
      continue;
    }
    const bool known = std::any_of(specs.begin(), specs.end(),
                                   [&](const ColumnSpec& s) { return s.name == name; });
    if (!known) {
      std::string names;
      for (const auto& s : specs) names += (names.empty() ? "" : ", ") + std::string(s.name);
      issues.push_back({1, col + 1, "unknown column '" + name + "' (known: " + names +
                                        (kind == ImportKind::kCustomers
                                             ? ", attributes.<name>, consent.<channel>"
                                             : "") +
                                        "; map other names with --map " + name + "=<column>)"});
      continue;
    }
    if (!cols.index.emplace(name, col).second) {
      issues.push_back({1, col + 1, "column '" + name + "' appears twice"});
    }
  }
  for (const auto& s : specs) {
    if (s.required && !cols.index.contains(std::string(s.name))) {
      issues.push_back({1, 0, "required column '" + std::string(s.name) + "' is missing"});
    }
  }
  return issues;
}

// Parses one data row into domain values; collects issues with their field numbers.
class RowParser {
 public:
  RowParser(const Columns& cols, const TimeZone& zone, std::optional<Currency> currency)
      : cols_(cols), zone_(zone), currency_(currency) {}

  const std::optional<Currency>& currency() const { return currency_; }

  std::string_view Field(const std::vector<std::string>& f, std::string_view name) const {
    const int i = cols_.Find(name);
    return i < 0 ? std::string_view() : std::string_view(f[static_cast<std::size_t>(i)]);
  }

  void Issue(std::string_view column, const std::string& message) {
    const int i = cols_.Find(column);
    issues_.push_back({line_, i + 1, message});
  }
  void IssueFrom(std::string_view column, const Error& e) {
    Issue(column, std::string(column) + ": " + e.detail());
  }

  bool Begin(const std::vector<std::string>& f, std::int64_t line) {
    line_ = line;
    issues_.clear();
    if (f.size() != cols_.header.size()) {
      issues_.push_back({line, 0, "expected " + std::to_string(cols_.header.size()) +
                                      " fields as in the header, found " +
                                      std::to_string(f.size())});
      return false;
    }
    return true;
  }

  std::optional<Timestamp> Time(const std::vector<std::string>& f, std::string_view col,
                                bool required) {
    const auto text = Field(f, col);
    if (text.empty()) {
      if (required) Issue(col, std::string(col) + ": is required");
      return std::nullopt;
    }
    auto t = ParseTimestamp(text, zone_);
    if (!t) {
      IssueFrom(col, t.error());
      return std::nullopt;
    }
    return *t;
  }

  // The row's currency: its own column, else the workspace's; the first row's currency
  // becomes the workspace's when it has none.
  std::optional<Currency> RowCurrency(const std::vector<std::string>& f) {
    const auto text = Field(f, "currency");
    if (text.empty()) {
      if (!currency_) Issue("currency", "currency: is required (the workspace has no reporting currency yet)");
      return currency_;
    }
    // Nearly every row repeats the workspace's currency: skip the ICU lookup then.
    if (currency_ && text == currency_->code()) return currency_;
    auto c = Currency::FromCode(text);
    if (!c) {
      IssueFrom("currency", c.error());
      return std::nullopt;
    }
    if (!currency_) currency_ = *c;
    if (!(*c == *currency_)) {
      Issue("currency", "currency: " + std::string(c->code()) +
                            " differs from the workspace's reporting currency " +
                            std::string(currency_->code()));
      return std::nullopt;
    }
    return *c;
  }

  std::optional<std::int64_t> Amount(const std::vector<std::string>& f, std::string_view col,
                                     const Currency& cur, bool required) {
    const auto text = Field(f, col);
    if (text.empty()) {
      if (required) Issue(col, std::string(col) + ": is required");
      return std::nullopt;
    }
    auto m = ParseMinorUnits(text, cur);
    if (!m) {
      IssueFrom(col, m.error());
      return std::nullopt;
    }
    return *m;
  }

  std::optional<Order> ParseOrder(const std::vector<std::string>& f, std::int64_t line) {
    if (!Begin(f, line)) return std::nullopt;
    Order o;
    o.external_id = std::string(Field(f, "order_id"));
    o.customer_external_id = std::string(Field(f, "customer_id"));
    if (o.customer_external_id.empty()) Issue("customer_id", "customer_id: is required");
    auto placed = Time(f, "placed_at", true);
    auto cur = RowCurrency(f);
    if (const auto st = Field(f, "status"); !st.empty()) {
      if (auto s = ParseOrderStatus(st)) {
        o.status = *s;
      } else {
        IssueFrom("status", s.error());
      }
    }
    if (cur) {
      auto total = Amount(f, "total", *cur, true);
      auto refunded_at = Time(f, "refunded_at", false);
      auto refunded = Amount(f, "refunded_total", *cur, false);
      if (total) o.total = Money{*total, *cur};
      if (refunded && !refunded_at) {
        Issue("refunded_at", "refunded_at: is required when refunded_total is given");
      }
      if (refunded_at && total) {
        o.refunds.push_back({*refunded_at, refunded.value_or(*total)});
      }
    }
    if (placed) o.placed_at = *placed;
    if (!issues_.empty()) return std::nullopt;
    if (auto v = ValidateOrder(o); !v) {
      Issue(v.error().context(), v.error().ToString());
      return std::nullopt;
    }
    return o;
  }

  std::optional<Customer> ParseCustomer(const std::vector<std::string>& f, std::int64_t line,
                                        Timestamp now) {
    if (!Begin(f, line)) return std::nullopt;
    Customer c;
    c.external_id = std::string(Field(f, "customer_id"));
    c.email = std::string(Field(f, "email"));
    c.name = std::string(Field(f, "name"));
    c.country = std::string(Field(f, "country"));
    std::transform(c.country.begin(), c.country.end(), c.country.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    c.locale = std::string(Field(f, "locale"));
    c.time_zone = std::string(Field(f, "timezone"));
    if (auto t = Time(f, "created_at", false)) c.created_at = *t;
    for (const auto& [name, i] : cols_.attributes) {
      const auto& text = f[static_cast<std::size_t>(i)];
      if (!text.empty()) c.attributes[name] = ParseAttributeValue(text, zone_);
    }
    for (const auto& [ch, i] : cols_.consents) {
      const auto& text = f[static_cast<std::size_t>(i)];
      if (text.empty()) continue;
      if (text == "true" || text == "yes" || text == "1") {
        c.consent[ch] = Consent{true, "import", now};
      } else if (text == "false" || text == "no" || text == "0") {
        c.consent[ch] = Consent{false, "import", now};
      } else {
        issues_.push_back({line_, i + 1, "consent." + std::string(ChannelName(ch)) + ": '" + text +
                                             "' is not true or false"});
      }
    }
    if (!issues_.empty()) return std::nullopt;
    if (auto v = ValidateCustomer(c); !v) {
      const std::string& field = v.error().context();
      const int col = field == "customer_id" ? cols_.Find("customer_id")
                      : field == "time zone"  ? cols_.Find("timezone")
                                              : cols_.Find(field);
      issues_.push_back({line_, col + 1, v.error().ToString()});
      return std::nullopt;
    }
    return c;
  }

  std::optional<Subscription> ParseSubscription(const std::vector<std::string>& f,
                                                std::int64_t line) {
    if (!Begin(f, line)) return std::nullopt;
    Subscription s;
    s.external_id = std::string(Field(f, "subscription_id"));
    s.customer_external_id = std::string(Field(f, "customer_id"));
    if (s.customer_external_id.empty()) Issue("customer_id", "customer_id: is required");
    SubscriptionState st;
    st.plan = std::string(Field(f, "plan"));
    auto started = Time(f, "started_at", true);
    auto ended = Time(f, "ended_at", false);
    auto effective = Time(f, "effective_at", false);
    if (const auto t = Field(f, "interval"); !t.empty()) {
      if (auto i = ParseBillingInterval(t)) st.interval = *i; else IssueFrom("interval", i.error());
    }
    if (const auto t = Field(f, "status"); !t.empty()) {
      if (auto i = ParseSubscriptionStatus(t)) st.status = *i; else IssueFrom("status", i.error());
    }
    if (const auto t = Field(f, "quantity"); !t.empty()) {
      auto q = ParseFixedPoint(t, 0);
      if (!q || *q < 0) {
        Issue("quantity", "quantity: '" + std::string(t) + "' is not a whole number >= 0");
      } else {
        st.quantity = *q;
      }
    }
    if (const auto t = Field(f, "discount"); !t.empty()) {
      // Percent with up to two decimals → basis points, exactly.
      auto bp = ParseFixedPoint(t, 2);  // percent with two decimals = basis points
      if (!bp || *bp < 0 || *bp > kDiscountScale) {
        Issue("discount", "discount: '" + std::string(t) +
                              "' is not a percentage between 0 and 100 with at most 2 decimals");
      } else {
        st.discount_bp = static_cast<int>(*bp);
      }
    }
    auto cur = RowCurrency(f);
    if (cur) {
      s.currency = *cur;
      if (auto a = Amount(f, "amount", *cur, true)) st.amount_minor = *a;
    }
    if (started) s.started_at = *started;
    s.ended_at = ended;
    st.effective_at = effective ? *effective : s.started_at;
    s.history.push_back(st);
    if (!issues_.empty()) return std::nullopt;
    if (auto v = ValidateSubscription(s); !v) {
      Issue(v.error().context(), v.error().ToString());
      return std::nullopt;
    }
    return s;
  }

  std::vector<ImportIssue>& issues() { return issues_; }

 private:
  const Columns& cols_;
  const TimeZone& zone_;
  std::optional<Currency> currency_;
  std::int64_t line_ = 0;
  std::vector<ImportIssue> issues_;
};

}  // namespace

std::string_view ImportKindName(ImportKind k) {
  switch (k) {
    case ImportKind::kCustomers: return "customers";
    case ImportKind::kOrders: return "orders";
    case ImportKind::kSubscriptions: return "subscriptions";
  }
  return "";
}

Result<ImportKind> ParseImportKind(std::string_view text) {
  if (text == "customers") return ImportKind::kCustomers;
  if (text == "orders") return ImportKind::kOrders;
  if (text == "subscriptions") return ImportKind::kSubscriptions;
  return InvalidArgument("import kind", "'" + std::string(text) +
                                            "' is not one of customers, orders, subscriptions");
}

std::span<const ColumnSpec> CanonicalColumns(ImportKind kind) {
  switch (kind) {
    case ImportKind::kCustomers: return kCustomerColumns;
    case ImportKind::kOrders: return kOrderColumns;
    case ImportKind::kSubscriptions: return kSubscriptionColumns;
  }
  return {};
}

std::string ImportReport::FormatIssues(std::string_view file_name, std::size_t limit) const {
  std::string out;
  for (std::size_t i = 0; i < issues.size() && i < limit; ++i) {
    const auto& is = issues[i];
    out += std::string(file_name) + ":" + std::to_string(is.line) + ":" +
           std::to_string(is.column) + ": " + is.message + "\n";
  }
  if (issues.size() > limit) {
    out += "… and " + std::to_string(issues.size() - limit) + " more\n";
  }
  return out;
}

Result<ImportReport> ImportCsvFile(Store& store, const Workspace& workspace, ImportKind kind,
                                   const std::string& path, const ImportOptions& options,
                                   const Clock& clock) {
  const auto started = std::chrono::steady_clock::now();
  TREU_ASSIGN_OR_RETURN(const Workspace ws, store.FindWorkspace(workspace.name));
  TREU_ASSIGN_OR_RETURN(const TimeZone zone, TimeZone::Find(ws.time_zone));
  ImportReport report;
  Columns cols;
  std::optional<RowParser> parser;
  BatchWriter writer(store, ws.id, options.dry_run, options.batch_rows, clock);
  TREU_RETURN_IF_ERROR(writer.Start());
  std::unique_ptr<std::ofstream> rejects;
  bool header_done = false;
  bool header_ok = true;
  ImportProgress progress;
  const Timestamp now = clock.Now();

  auto reject = [&](const std::vector<std::string>& fields, std::vector<ImportIssue>& issues) -> Status {
    ++report.rows_rejected;
    if (options.skip_invalid && !options.rejects_path.empty()) {
      if (!rejects) {
        rejects = std::make_unique<std::ofstream>(options.rejects_path, std::ios::trunc);
        if (!*rejects) {
          return InvalidArgument(options.rejects_path, "can't write the rejects file");
        }
        std::string head;
        for (const auto& h : cols.header) {
          AppendCsvField(head, h);
          head += ',';
        }
        *rejects << head << "error\n";
      }
      std::string row;
      for (const auto& fld : fields) {
        AppendCsvField(row, fld);
        row += ',';
      }
      std::string msg;
      for (const auto& is : issues) msg += (msg.empty() ? "" : "; ") + is.message;
      AppendCsvField(row, msg);
      *rejects << row << '\n';
    }
    for (auto& is : issues) report.issues.push_back(std::move(is));
    if (!options.skip_invalid) writer.Abandon();
    return Ok();
  };

  auto on_record = [&](std::vector<std::string>& fields, std::int64_t line) -> Status {
    if (!header_done) {
      header_done = true;
      report.issues = ResolveHeader(kind, fields, options, cols);
      header_ok = report.issues.empty();
      if (!header_ok) writer.Abandon();
      parser.emplace(cols, zone, ws.currency);
      return Ok();
    }
    if (!header_ok) return Ok();
    ++report.rows;
    const bool had_currency = parser->currency().has_value();
    auto add = [&](auto&& value) -> Status {
      if (!value) return reject(fields, parser->issues());
      if (!had_currency && parser->currency()) {
        TREU_RETURN_IF_ERROR(writer.SetCurrency(*parser->currency()));
      }
      return writer.Add(std::move(*value));
    };
    switch (kind) {
      case ImportKind::kOrders: TREU_RETURN_IF_ERROR(add(parser->ParseOrder(fields, line))); break;
      case ImportKind::kCustomers:
        TREU_RETURN_IF_ERROR(add(parser->ParseCustomer(fields, line, now)));
        break;
      case ImportKind::kSubscriptions:
        TREU_RETURN_IF_ERROR(add(parser->ParseSubscription(fields, line)));
        break;
    }
    if (report.rows % 4096 == 0) {
      progress.rows = report.rows;
      if (options.progress) options.progress(progress);
      if (options.cancelled && options.cancelled()) {
        writer.Abandon();
        return Unavailable("import", "cancelled");
      }
    }
    return Ok();
  };
  auto on_bytes = [&](std::int64_t read, std::int64_t total) {
    progress.bytes_read = read;
    progress.bytes_total = total;
  };

  TREU_RETURN_IF_ERROR(ReadCsvFile(path, on_record, on_bytes));
  if (!header_done) {
    report.issues.push_back({1, 0, "the file is empty; expected a header row"});
    header_ok = false;
  }
  if (header_ok && (report.rows_rejected == 0 || options.skip_invalid)) {
    TREU_RETURN_IF_ERROR(writer.Commit());
  }
  report.committed = writer.committed();
  report.written = writer.stats();
  report.customers_seen = writer.customers_seen();
  if (options.progress) {
    progress.rows = report.rows;
    options.progress(progress);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace treu
