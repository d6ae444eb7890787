#include "api/customer_json.hpp"

namespace treu::api {

using nlohmann::json;

json AttributeToJson(const AttributeValue& v) {
  switch (TypeOf(v)) {
    case AttributeType::kString: return std::get<std::string>(v);
    case AttributeType::kNumber: return std::get<double>(v);
    case AttributeType::kBool: return std::get<bool>(v);
    case AttributeType::kTime: return FormatTimestamp(std::get<Timestamp>(v));
  }
  return nullptr;
}

json CustomerToJson(const Customer& c) {
  json attrs = json::object();
  for (const auto& [k, v] : c.attributes) attrs[k] = AttributeToJson(v);
  json consent = json::object();
  for (const auto& [ch, k] : c.consent) {
    consent[std::string(ChannelName(ch))] = {
        {"granted", k.granted}, {"source", k.source}, {"at", FormatTimestamp(k.at)}};
  }
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"id", c.external_id},     {"email", opt(c.email)},
          {"name", opt(c.name)},     {"country", opt(c.country)},
          {"locale", opt(c.locale)}, {"time_zone", opt(c.time_zone)},
          {"attributes", attrs},     {"consent", consent},
          {"created_at", FormatTimestamp(c.created_at)},
          {"updated_at", FormatTimestamp(c.updated_at)}};
}

}  // namespace treu::api
