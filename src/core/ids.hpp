// Strong ids: an int64 tagged by what it identifies, so a CustomerId can't be passed where an
// OrderId is expected. Values are assigned by storage; 0 means "not yet stored".
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace treu {

template <typename Tag>
struct Id {
  std::int64_t value = 0;

  constexpr bool valid() const { return value > 0; }
  constexpr auto operator<=>(const Id&) const = default;
};

using WorkspaceId = Id<struct WorkspaceTag>;
using CustomerId = Id<struct CustomerTag>;
using ProductId = Id<struct ProductTag>;
using OrderId = Id<struct OrderTag>;
using SubscriptionId = Id<struct SubscriptionTag>;
using EventId = Id<struct EventTag>;

}  // namespace treu

template <typename Tag>
struct std::hash<treu::Id<Tag>> {
  std::size_t operator()(const treu::Id<Tag>& id) const noexcept {
    return std::hash<std::int64_t>{}(id.value);
  }
};
