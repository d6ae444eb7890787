// Opening a Store from a URL. Only the composition root (app/) calls this.
#pragma once

#include <memory>
#include <string_view>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

// "sqlite:PATH" (PATH created if missing) or "postgresql://…" / "postgres://…" (a libpq
// connection URI). Applies pending migrations. `clock` stamps the change log and must
// outlive the store. InvalidArgument for other schemes; Unavailable when the database
// can't be reached.
Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const Clock& clock);

}  // namespace treu
