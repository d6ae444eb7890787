// The JSON shape of a customer record, shared by the customer routes.
#pragma once

#include <nlohmann/json.hpp>

#include "domain/domain.hpp"

namespace treu::api {

// An attribute value as JSON: string, number, boolean, or an RFC 3339 time.
nlohmann::json AttributeToJson(const AttributeValue& v);
// {"id", "email", "name", "country", "locale", "time_zone", "attributes", "consent",
//  "created_at", "updated_at"}; empty texts are null.
nlohmann::json CustomerToJson(const Customer& c);

}  // namespace treu::api
