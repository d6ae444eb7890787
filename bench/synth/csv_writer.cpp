#include "synth/csv_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <system_error>

namespace treu {
namespace {

void AppendInt(std::string& out, std::int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Appends v as exactly `width` digits. REQUIRES: 0 <= v < 10^width.
void AppendDigits(std::string& out, std::int64_t v, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

// Appends `s` as a JSON string literal.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void AppendAttribute(std::string& out, const std::map<std::string, AttributeValue>& attributes,
                     const std::string& name) {
  const auto it = attributes.find(name);
  if (it == attributes.end()) return;
  const AttributeValue& v = it->second;
  switch (TypeOf(v)) {
    case AttributeType::kString:
      AppendCsvField(out, std::get<std::string>(v));
      break;
    case AttributeType::kBool:
      out += std::get<bool>(v) ? "true" : "false";
      break;
    case AttributeType::kTime:
      AppendRfc3339(out, std::get<Timestamp>(v));
      break;
    case AttributeType::kNumber:
      AppendCsvField(out, FormatAttributeValue(v));
      break;
  }
}

std::unexpected<Error> IoError(std::string_view what, const std::string& path, int err) {
  return Unavailable(std::string(what) + " " + path,
                     std::error_code(err, std::generic_category()).message());
}

}  // namespace

void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char ch : field) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
}

void AppendRfc3339(std::string& out, Timestamp t) {
  std::int64_t days = t.micros / kMicrosPerDay;
  std::int64_t rem = t.micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  // Civil date from days since 1970-01-01 (Howard Hinnant's civil_from_days).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) {  // outside RFC 3339; never produced by the generator
    out += FormatTimestamp(t);
    return;
  }
  const std::int64_t secs = rem / kMicrosPerSecond;
  const std::int64_t frac = rem % kMicrosPerSecond;
  AppendDigits(out, year, 4);
  out += '-';
  AppendDigits(out, month, 2);
  out += '-';
  AppendDigits(out, day, 2);
  out += 'T';
  AppendDigits(out, secs / 3600, 2);
  out += ':';
  AppendDigits(out, secs / 60 % 60, 2);
  out += ':';
  AppendDigits(out, secs % 60, 2);
  if (frac != 0) {
    out += '.';
    AppendDigits(out, frac, 6);
  }
  out += 'Z';
}

std::string FormatDiscountPercent(int basis_points) {
  std::string out;
  if (basis_points < 0) {
    out += '-';
    basis_points = -basis_points;
  }
  AppendInt(out, basis_points / 100);
  int frac = basis_points % 100;
  if (frac != 0) {
    out += '.';
    out += static_cast<char>('0' + frac / 10);
    if (frac % 10 != 0) out += static_cast<char>('0' + frac % 10);
  }
  return out;
}

Result<std::unique_ptr<CsvSink>> CsvSink::Open(const std::string& dir,
                                               const CsvSinkOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("creating directory " + dir, ec.message());
  std::unique_ptr<CsvSink> sink(new CsvSink());
  sink->options_ = options;
  const std::filesystem::path base(dir);
  TREU_RETURN_IF_ERROR(
      sink->OpenFile(sink->customers_, (base / "customers.csv").string(), kCustomersCsvHeader));
  TREU_RETURN_IF_ERROR(
      sink->OpenFile(sink->orders_, (base / "orders.csv").string(), kOrdersCsvHeader));
  TREU_RETURN_IF_ERROR(sink->OpenFile(sink->subscriptions_, (base / "subscriptions.csv").string(),
                                      kSubscriptionsCsvHeader));
  if (options.events) {
    TREU_RETURN_IF_ERROR(sink->OpenFile(sink->events_, (base / "events.jsonl").string(), ""));
  }
  return sink;
}

CsvSink::~CsvSink() {
  for (File* f : {&customers_, &orders_, &subscriptions_, &events_}) {
    if (f->handle != nullptr) {
      if (!error_) (void)Flush(*f);
      std::fclose(f->handle);
    }
  }
}

Status CsvSink::OpenFile(File& f, const std::string& path, std::string_view first_line) {
  f.path = path;
  f.handle = std::fopen(path.c_str(), "wb");
  if (f.handle == nullptr) return IoError("creating", path, errno);
  // The buffer is ours; unbuffered stdio hands each flush straight to write(2), so errors
  // show up at the flush that caused them.
  std::setvbuf(f.handle, nullptr, _IONBF, 0);
  f.buffer.reserve(options_.buffer_bytes + 64 * 1024);
  if (!first_line.empty()) {
    f.buffer += first_line;
    f.buffer += '\n';
  }
  return Ok();
}

Status CsvSink::Flush(File& f) {
  if (f.buffer.empty()) return Ok();
  const std::size_t n = std::fwrite(f.buffer.data(), 1, f.buffer.size(), f.handle);
  if (n != f.buffer.size()) {
    error_ = IoError("writing", f.path, errno).error();
    return std::unexpected(*error_);
  }
  bytes_written_ += static_cast<std::int64_t>(n);
  f.buffer.clear();
  return Ok();
}

Status CsvSink::MaybeFlush(File& f) {
  return f.buffer.size() >= options_.buffer_bytes ? Flush(f) : Ok();
}

Status CsvSink::Close(File& f) {
  if (f.handle == nullptr) return Ok();
  Status s = error_ ? Status(std::unexpected(*error_)) : Flush(f);
  const int rc = std::fclose(f.handle);
  f.handle = nullptr;
  if (s && rc != 0) {
    error_ = IoError("closing", f.path, errno).error();
    s = std::unexpected(*error_);
  }
  return s;
}

Status CsvSink::CheckOpen() const {
  if (error_) return std::unexpected(*error_);
  if (finished_) return FailedPrecondition("csv sink", "already finished");
  return Ok();
}

Status CsvSink::OnCustomer(const Customer& c) {
  TREU_RETURN_IF_ERROR(CheckOpen());
  std::string& b = customers_.buffer;
  AppendCsvField(b, c.external_id);
  b += ',';
  AppendCsvField(b, c.email);
  b += ',';
  AppendCsvField(b, c.name);
  b += ',';
  AppendCsvField(b, c.country);
  b += ',';
  AppendCsvField(b, c.locale);
  b += ',';
  AppendCsvField(b, c.time_zone);
  b += ',';
  if (c.created_at != Timestamp{}) AppendRfc3339(b, c.created_at);
  b += ',';
  if (const auto it = c.consent.find(Channel::kEmail); it != c.consent.end()) {
    b += it->second.granted ? "true" : "false";
  }
  static const std::string kPlanTier = "plan_tier", kBirthday = "birthday",
                           kNewsletter = "newsletter";
  b += ',';
  AppendAttribute(b, c.attributes, kPlanTier);
  b += ',';
  AppendAttribute(b, c.attributes, kBirthday);
  b += ',';
  AppendAttribute(b, c.attributes, kNewsletter);
  b += '\n';
  return MaybeFlush(customers_);
}

Status CsvSink::OnOrder(const Order& o) {
  TREU_RETURN_IF_ERROR(CheckOpen());
  std::string& b = orders_.buffer;
  AppendCsvField(b, o.external_id);
  b += ',';
  AppendCsvField(b, o.customer_external_id);
  b += ',';
  AppendRfc3339(b, o.placed_at);
  b += ',';
  b += FormatMajorUnits(o.total.minor, o.total.currency);
  b += ',';
  b += o.total.currency.code();
  b += ',';
  b += OrderStatusName(o.status);
  b += ',';
  if (!o.refunds.empty()) {
    Timestamp last = o.refunds.front().refunded_at;
    std::int64_t sum = 0;
    for (const Refund& r : o.refunds) {
      last = std::max(last, r.refunded_at);
      sum += r.amount_minor;
    }
    AppendRfc3339(b, last);
    b += ',';
    b += FormatMajorUnits(sum, o.total.currency);
  } else {
    b += ',';
  }
  b += '\n';
  return MaybeFlush(orders_);
}

Status CsvSink::OnSubscription(const Subscription& s) {
  TREU_RETURN_IF_ERROR(CheckOpen());
  std::string& b = subscriptions_.buffer;
  // The columns after the terms are the same on every row: started_at,ended_at.
  scratch_.clear();
  AppendRfc3339(scratch_, s.started_at);
  scratch_ += ',';
  if (s.ended_at) AppendRfc3339(scratch_, *s.ended_at);
  for (const SubscriptionState& st : s.history) {
    AppendCsvField(b, s.external_id);
    b += ',';
    AppendCsvField(b, s.customer_external_id);
    b += ',';
    AppendCsvField(b, st.plan);
    b += ',';
    b += BillingIntervalName(st.interval);
    b += ',';
    b += FormatMajorUnits(st.amount_minor, s.currency);
    b += ',';
    b += s.currency.code();
    b += ',';
    AppendInt(b, st.quantity);
    b += ',';
    b += FormatDiscountPercent(st.discount_bp);
    b += ',';
    b += SubscriptionStatusName(st.status);
    b += ',';
    b += scratch_;
    b += ',';
    AppendRfc3339(b, st.effective_at);
    b += '\n';
  }
  return MaybeFlush(subscriptions_);
}

Status CsvSink::OnEvent(const Event& e) {
  TREU_RETURN_IF_ERROR(CheckOpen());
  if (!options_.events) {
    return FailedPrecondition("csv sink", "events were not enabled when the sink was opened");
  }
  std::string& b = events_.buffer;
  b += "{\"type\":";
  AppendJsonString(b, EventTypeName(e.type));
  if (e.type == EventType::kTrack) {
    b += ",\"event\":";
    AppendJsonString(b, e.name);
  } else if (!e.name.empty()) {
    b += ",\"name\":";
    AppendJsonString(b, e.name);
  }
  if (!e.user_id.empty()) {
    b += ",\"userId\":";
    AppendJsonString(b, e.user_id);
  }
  if (!e.anonymous_id.empty()) {
    b += ",\"anonymousId\":";
    AppendJsonString(b, e.anonymous_id);
  }
  b += ",\"messageId\":";
  AppendJsonString(b, e.message_id);
  b += ",\"timestamp\":\"";
  AppendRfc3339(b, e.timestamp);
  b += "\",\"properties\":";
  b += e.properties_json.empty() ? std::string_view("{}") : std::string_view(e.properties_json);
  b += "}\n";
  return MaybeFlush(events_);
}

Status CsvSink::Finish() {
  if (finished_) return FailedPrecondition("csv sink", "already finished");
  finished_ = true;
  Status first = Ok();
  for (File* f : {&customers_, &orders_, &subscriptions_, &events_}) {
    Status s = Close(*f);
    if (!s && first) first = s;
  }
  return first;
}

}  // namespace treu
