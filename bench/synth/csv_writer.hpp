// A SynthSink that writes the canonical import files (docs/import.md) into a directory:
// customers.csv, orders.csv, subscriptions.csv and, when enabled, events.jsonl (one
// Segment-spec JSON object per line). CSV is RFC 4180: comma-separated, LF line ends, fields
// with a comma, quote, CR or LF quoted with inner quotes doubled.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "core/time.hpp"
#include "synth/synth.hpp"

namespace treu {

// Appends `field` to `out`, quoted if it holds a comma, a quote, CR or LF.
void AppendCsvField(std::string& out, std::string_view field);

// Appends t as RFC 3339 UTC, exactly as FormatTimestamp writes it ("2024-03-01T12:30:00Z",
// with ".ffffff" only when there are microseconds), without allocating.
void AppendRfc3339(std::string& out, Timestamp t);

// A discount in basis points as a percentage with at most two decimals and no trailing
// zeros: 1250 → "12.5", 1000 → "10", 5 → "0.05", 0 → "0".
std::string FormatDiscountPercent(int basis_points);

// The header rows (without line end) of the files CsvSink writes.
inline constexpr std::string_view kCustomersCsvHeader =
    "customer_id,email,name,country,locale,timezone,created_at,consent.email,"
    "attributes.plan_tier,attributes.birthday,attributes.newsletter";
inline constexpr std::string_view kOrdersCsvHeader =
    "order_id,customer_id,placed_at,total,currency,status,refunded_at,refunded_total";
inline constexpr std::string_view kSubscriptionsCsvHeader =
    "subscription_id,customer_id,plan,interval,amount,currency,quantity,discount,status,"
    "started_at,ended_at,effective_at";

struct CsvSinkOptions {
  bool events = true;                  // write events.jsonl; false: OnEvent is an error
  std::size_t buffer_bytes = 1 << 20;  // per file; flushed when full
};

// Writes what it receives, in arrival order, through large buffers. Columns:
// - customers.csv: created_at empty when unset (the epoch); consent.email is true/false (empty
// without an email consent entry);
//   attributes.* hold the canonical text of those three attributes (FormatAttributeValue;
//   times as RFC 3339 UTC), empty when absent. Other attributes and channels are not written.
// - orders.csv: money in major units; refunded_at/refunded_total empty without refunds,
//   otherwise the last refund's time and the sum of all refunds.
// - subscriptions.csv: one row per history state; ended_at on every row of an ended
//   subscription; discount as a percentage (FormatDiscountPercent).
// - events.jsonl: {"type","event" (track) or "name" (page, screen),"userId","anonymousId"
//   (when set),"messageId","timestamp","properties"}; properties_json is copied as it is
//   ("{}" when empty), so it must be a JSON object text.
// Not thread-safe. Call Finish to learn whether everything reached the files.
class CsvSink final : public SynthSink {
 public:
  // Creates `dir` (and missing parents) and the files in it, replacing existing ones.
  // Fails with Unavailable naming the path when a directory or file can't be created.
  static Result<std::unique_ptr<CsvSink>> Open(const std::string& dir,
                                               const CsvSinkOptions& options = {});
  // Closes the files; errors are lost then (call Finish first).
  ~CsvSink() override;
  CsvSink(const CsvSink&) = delete;
  CsvSink& operator=(const CsvSink&) = delete;

  // Each returns Unavailable with the path when a buffer flush fails; later calls keep
  // failing with that error.
  Status OnCustomer(const Customer& customer) override;
  Status OnOrder(const Order& order) override;
  Status OnSubscription(const Subscription& subscription) override;
  Status OnEvent(const Event& event) override;

  // Flushes and closes every file. Returns the first error of any write or close. Calls
  // after Finish fail with FailedPrecondition.
  Status Finish();

  // Bytes handed to the files so far; after a successful Finish, their total size.
  std::int64_t bytes_written() const { return bytes_written_; }

 private:
  // One output file with its buffer.
  struct File {
    std::string path;
    std::FILE* handle = nullptr;
    std::string buffer;
  };

  CsvSink() = default;
  Status OpenFile(File& f, const std::string& path, std::string_view first_line);
  // Flushes `f` when its buffer is past the threshold.
  Status MaybeFlush(File& f);
  Status Flush(File& f);
  Status Close(File& f);
  Status CheckOpen() const;

  CsvSinkOptions options_;
  File customers_;
  File orders_;
  File subscriptions_;
  File events_;
  bool finished_ = false;
  std::optional<Error> error_;  // the first write error, repeated by later calls
  std::int64_t bytes_written_ = 0;
  std::string scratch_;
};

}  // namespace treu
