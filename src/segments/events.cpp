#include "segments/events.hpp"

#include <unordered_map>

namespace treu::segment {

void EventLog::Stream::Add(Snapshot::Index c, std::int64_t timestamp, std::string_view properties_json) {
  customer.push_back(c);
  at.push_back(timestamp);
  json_.append(properties_json);
  ends_.push_back(json_.size());
  length_.push_back(static_cast<std::uint32_t>(properties_json.size()));
}

Result<EventLog> LoadEventLog(Store& store, const Snapshot& s) {
  std::unordered_map<std::int64_t, Snapshot::Index> by_id;
  by_id.reserve(s.customers());
  for (Snapshot::Index c = 0; c < s.customers(); ++c) by_id.emplace(s.customer_id(c).value, c);
  EventLog log;
  TREU_RETURN_IF_ERROR(store.ScanEvents(s.workspace().id, [&](const Event& e) {
    if (!e.customer.valid()) return;
    auto it = by_id.find(e.customer.value);
    if (it == by_id.end()) return;  // newer than the snapshot
    log.by_name[e.name].Add(it->second, e.timestamp.micros, e.properties_json);
    ++log.events;
  }));
  return log;
}

}  // namespace treu::segment
