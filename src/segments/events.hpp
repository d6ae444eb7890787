// The tracked events that count(event ...) conditions look at, grouped by event name and held
// column by column with the snapshot index of their customer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"

namespace treu::segment {

struct EventLog {
  // The events of one name, in no particular order. The properties objects are kept as JSON
  // text back to back in one buffer (read in place by the JSON parser, which may read up to
  // kPadding bytes past a document's end).
  struct Stream {
    static constexpr std::size_t kPadding = 64;

    std::vector<Snapshot::Index> customer;
    std::vector<std::int64_t> at;  // the event's timestamp, µs since 1970 UTC

    void Add(Snapshot::Index c, std::int64_t timestamp, std::string_view properties_json);
    std::size_t size() const { return at.size(); }
    // Event i's properties object as JSON text.
    std::string_view Properties(std::size_t i) const {
      return std::string_view(json_).substr(ends_[i] - length_[i], length_[i]);
    }
    // Whether kPadding readable bytes follow event i's properties in the buffer.
    bool Padded(std::size_t i) const { return json_.size() - ends_[i] >= kPadding; }

   private:
    std::string json_;
    std::vector<std::uint64_t> ends_;
    std::vector<std::uint32_t> length_;
  };
  std::map<std::string, Stream, std::less<>> by_name;
  std::size_t events = 0;
};

// The identified events (those with a customer) of `s`'s workspace whose customer is in `s`.
// Anonymous events are not part of any customer's history until their id is linked.
Result<EventLog> LoadEventLog(Store& store, const Snapshot& s);

}  // namespace treu::segment
