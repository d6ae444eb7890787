#include "segments/membership.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "models/rfm.hpp"
#include "segments/vector_evaluator.hpp"

namespace treu::segment {
namespace {

// Customers who are members, by customer id (sorted).
std::vector<CustomerId> MemberIds(const Snapshot& s, const std::vector<bool>& members) {
  std::vector<CustomerId> out;
  for (Snapshot::Index c = 0; c < members.size(); ++c) {
    if (members[c]) out.push_back(s.customer_id(c));
  }
  std::sort(out.begin(), out.end(), [](CustomerId a, CustomerId b) { return a.value < b.value; });
  return out;
}

// A signature of the saved segments (which exist and when each was last changed).
std::int64_t SegmentsVersion(const std::vector<SegmentDefinition>& defs) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const SegmentDefinition& d : defs) {
    for (std::uint64_t v : {static_cast<std::uint64_t>(d.id), static_cast<std::uint64_t>(d.updated_at.micros)}) {
      h = (h ^ v) * 1099511628211ULL;
    }
  }
  return static_cast<std::int64_t>(h >> 1);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> BuiltinSegments(const Workspace& ws) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < kRfmSegments; ++i) {
    const std::string_view name = RfmSegmentName(static_cast<RfmSegment>(i));
    out.emplace_back("rfm_" + std::string(name), "rfm_segment = " + QuoteString(name));
  }
  out.emplace_back("at_risk", "p_alive < 0.5 and revenue_percentile >= 50");
  out.emplace_back("new", "first_order_at >= now() - 30d");
  out.emplace_back("dormant",
                   "orders_count >= 1 and last_order_at < now() - " + std::to_string(ws.activity_window_days) + "d");
  return out;
}

Status EnsureBuiltinSegments(Store& store, const Workspace& ws, Timestamp now) {
  for (const auto& [name, expr] : BuiltinSegments(ws)) {
    TREU_ASSIGN_OR_RETURN(auto existing, store.FindSegment(ws.id, name));
    if (existing && (!existing->builtin || existing->expr == expr)) continue;
    SegmentDefinition def{0, ws.id, name, expr, now, now, true};
    if (existing) {
      def.id = existing->id;
      TREU_RETURN_IF_ERROR(store.UpdateSegment(def));
    } else {
      TREU_RETURN_IF_ERROR(store.SaveSegment(def));
    }
  }
  return Ok();
}

Result<RefreshReport> RefreshSegments(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                      Timestamp now, PredictionCache* predictions) {
  const auto started = std::chrono::steady_clock::now();
  TREU_RETURN_IF_ERROR(EnsureBuiltinSegments(store, ws, now));
  TREU_ASSIGN_OR_RETURN(auto defs, store.ListSegments(ws.id));
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws.id));
  RefreshReport report;
  // Bind every segment first, to know whether the events are needed.
  std::vector<std::pair<const SegmentDefinition*, ExprPtr>> bound;
  bool with_events = false;
  for (const SegmentDefinition& d : defs) {
    BindOptions o;
    o.lookup = lib.Lookup();
    o.self_name = d.name;
    auto b = ParseAndBind(d.expr, o);
    if (!b) {
      report.failed.push_back(d.name + ": " + b.error().ToString());
      continue;
    }
    with_events = with_events || lib.NeedsEvents(**b);
    bound.emplace_back(&d, std::move(*b));
  }
  TREU_ASSIGN_OR_RETURN(SegmentData data, SegmentData::Build(store, ws, s, now, with_events, predictions));
  const EvalContext context = data.Context(lib);
  std::vector<CustomerId> known;  // every customer of the snapshot, sorted
  known.reserve(s->customers());
  for (Snapshot::Index c = 0; c < s->customers(); ++c) known.push_back(s->customer_id(c));
  std::sort(known.begin(), known.end(), [](CustomerId a, CustomerId b) { return a.value < b.value; });
  auto is_known = [&known](CustomerId id) {
    return std::binary_search(known.begin(), known.end(), id,
                              [](CustomerId a, CustomerId b) { return a.value < b.value; });
  };

  for (auto& [def, expr] : bound) {
    auto members = EvaluateVectorised(*expr, context);
    if (!members) {
      report.failed.push_back(def->name + ": " + members.error().ToString());
      continue;
    }
    const std::vector<CustomerId> now_in = MemberIds(*s, *members);
    TREU_ASSIGN_OR_RETURN(auto stored, store.ListSegmentMembers(ws.id, def->id, 0, 0));
    SegmentRefresh r{ws.id, def->id, now, {}, {}, 0, false};
    std::size_t i = 0, j = 0, unknown = 0;
    while (i < now_in.size() || j < stored.size()) {
      if (j == stored.size() || (i < now_in.size() && now_in[i].value < stored[j].customer.value)) {
        r.entered.push_back(now_in[i++]);
      } else if (i == now_in.size() || stored[j].customer.value < now_in[i].value) {
        if (is_known(stored[j].customer)) {
          r.left.push_back(stored[j].customer);
        } else {
          ++unknown;  // newer than the snapshot: decided by a later refresh
        }
        ++j;
      } else {
        ++i, ++j;
      }
    }
    r.size = static_cast<std::int64_t>(now_in.size() + unknown);
    TREU_ASSIGN_OR_RETURN(auto recent, store.ListSegmentSizes(ws.id, def->id, Timestamp{now.micros - kMicrosPerDay}));
    r.record_size = !r.entered.empty() || !r.left.empty() || recent.empty();
    if (!r.entered.empty() || !r.left.empty() || r.record_size) TREU_RETURN_IF_ERROR(store.ApplySegmentRefresh(r));
    report.entered += static_cast<std::int64_t>(r.entered.size());
    report.left += static_cast<std::int64_t>(r.left.size());
    ++report.segments;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<std::unique_ptr<SegmentRefresher>> SegmentRefresher::Start(std::unique_ptr<Store> store, const Clock& clock,
                                                                  SnapshotCache* snapshots,
                                                                  PredictionCache* predictions, Options options) {
  if (options.poll_seconds < 1 || options.interval_seconds < 1) {
    return InvalidArgument("segment refresher", "poll and interval must be at least one second");
  }
  std::unique_ptr<SegmentRefresher> r(
      new SegmentRefresher(std::move(store), clock, snapshots, predictions, options));
  r->thread_ = std::thread([p = r.get()] { p->Run(); });
  return r;
}

SegmentRefresher::SegmentRefresher(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                                   PredictionCache* predictions, Options options)
    : store_(std::move(store)), clock_(clock), snapshots_(snapshots), predictions_(predictions), options_(options) {}

SegmentRefresher::~SegmentRefresher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SegmentRefresher::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void SegmentRefresher::Run() {
  while (true) {
    RefreshDue();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(options_.poll_seconds), [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

void SegmentRefresher::RefreshDue() {
  auto workspaces = store_->ListWorkspaces();
  if (!workspaces) {
    std::fprintf(stderr, "treu: segment refresh: %s\n", workspaces.error().ToString().c_str());
    return;
  }
  for (const Workspace& ws : *workspaces) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    auto defs = store_->ListSegments(ws.id);
    auto snapshot = snapshots_ != nullptr ? snapshots_->Get(*store_, ws.id) : BuildSnapshot(*store_, ws.id);
    if (!defs || !snapshot) {
      const Error& e = !defs ? defs.error() : snapshot.error();
      std::fprintf(stderr, "treu: segment refresh of %s: %s\n", ws.name.c_str(), e.ToString().c_str());
      continue;
    }
    State& st = state_[ws.id.value];
    const Timestamp now = clock_.Now();
    const std::int64_t since = now.micros - st.at.micros;
    const bool changed = (*snapshot)->change_seq() != st.seq || SegmentsVersion(*defs) != st.segments_version;
    const bool due = st.seq < 0 || since >= std::int64_t{options_.interval_seconds} * kMicrosPerSecond;
    const bool rested = since >= static_cast<std::int64_t>(5 * st.seconds * kMicrosPerSecond);
    if (!due && !(changed && rested)) continue;
    auto report = RefreshSegments(*store_, ws, *snapshot, now, predictions_);
    if (!report) {
      std::fprintf(stderr, "treu: segment refresh of %s: %s\n", ws.name.c_str(), report.error().ToString().c_str());
      st.at = now;  // retried at the next interval, not at every poll
      continue;
    }
    for (const std::string& f : report->failed) {
      std::fprintf(stderr, "treu: segment refresh of %s: %s\n", ws.name.c_str(), f.c_str());
    }
    st.seq = (*snapshot)->change_seq();
    st.at = now;
    st.seconds = report->seconds;
    auto after = store_->ListSegments(ws.id);  // the built-in segments may have been added
    st.segments_version = after ? SegmentsVersion(*after) : -1;
  }
}

}  // namespace treu::segment
