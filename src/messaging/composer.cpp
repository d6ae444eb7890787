#include "messaging/composer.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "messaging/channels.hpp"
#include "messaging/links.hpp"
#include "messaging/settings.hpp"
#include "segments/fields.hpp"
#include "segments/library.hpp"

namespace treu::messaging {
namespace {

constexpr std::string_view kRoots[] = {"customer", "shop", "loyalty", "orders", "unsubscribe_url", "preferences_url",
                                       "survey_url"};
// customer.* beyond the segment fields.
constexpr std::string_view kProfileFields[] = {"id",         "email",     "name",   "first_name", "last_name",
                                               "time_zone",  "locale",    "country", "created_at", "attributes"};
constexpr std::string_view kLoyaltyFields[] = {"points", "pending", "held", "earned", "redeemed", "tier", "referral_code"};
constexpr std::string_view kShopFields[] = {"name", "currency"};
constexpr std::size_t kRecentOrders = 10;
constexpr std::size_t kBatch = 10'000;

std::pair<std::string_view, std::string_view> SplitFirst(std::string_view path) {
  const auto dot = path.find('.');
  if (dot == std::string_view::npos) return {path, {}};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

template <std::size_t N>
bool In(std::string_view name, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), name) != std::end(set);
}

std::string Unknown(std::string_view what, std::string_view name, std::optional<std::string_view> nearest) {
  std::string m = "unknown " + std::string(what) + " '" + std::string(name) + "'";
  if (nearest) m += " (did you mean '" + std::string(*nearest) + "'?)";
  return m;
}

// The problem of one variable path, or "".
std::string CheckVariable(std::string_view path) {
  auto [root, rest] = SplitFirst(path);
  if (!In(root, kRoots)) return Unknown("variable", root, segment::NearestName(root, kRoots));
  const auto [field, sub] = SplitFirst(rest);
  if (field.empty()) return "";
  if (root == "customer") {
    if (In(field, kProfileFields) || segment::FindField(field) != nullptr) return "";
    std::vector<std::string_view> names(std::begin(kProfileFields), std::end(kProfileFields));
    for (const auto& f : segment::Fields()) names.push_back(f.name);
    return Unknown("customer field", field, segment::NearestName(field, names));
  }
  if (root == "loyalty" && !In(field, kLoyaltyFields)) {
    return Unknown("loyalty field", field, segment::NearestName(field, kLoyaltyFields));
  }
  if (root == "shop" && !In(field, kShopFields)) return Unknown("shop field", field, segment::NearestName(field, kShopFields));
  if (root == "unsubscribe_url" || root == "preferences_url" || root == "survey_url") return "'" + std::string(root) + "' has no fields";
  (void)sub;
  return "";
}

bool ValidTopic(std::string_view t) {
  return t.size() <= 64 && std::all_of(t.begin(), t.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '_' || c == '-' || c == '.';
         });
}

Value ColumnValue(const Column& col, std::size_t row) {
  if (col.IsNull(row)) return Value();
  switch (col.type) {
    case ColumnType::kString: return Value(col.dictionary[static_cast<std::size_t>(col.codes[row])]);
    case ColumnType::kNumber: {
      const double v = col.numbers[row];
      if (std::nearbyint(v) == v && std::fabs(v) < 9e15) return Value(static_cast<long long>(v));
      return Value(v);
    }
    case ColumnType::kMoney: return Value(col.numbers[row]);
    case ColumnType::kTime: return Value(Timestamp{col.times[row]});
    case ColumnType::kBool: return Value(col.bools[row] != 0);
  }
  return Value();
}

}  // namespace

// ---- Checks ----

std::vector<PartError> CheckTemplate(const MessageTemplateRecord& t) {
  std::vector<PartError> out;
  auto check = [&](std::string_view part, const std::string& source, Mode mode) {
    auto parsed = Template::Parse(source, mode);
    if (!parsed) {
      TemplateError e = AsTemplateError(parsed.error()).value_or(TemplateError{0, 0, parsed.error().detail()});
      out.push_back({std::string(part), std::move(e)});
      return;
    }
    for (const VariableUse& v : parsed->Variables()) {
      std::string problem = CheckVariable(v.path);
      if (!problem.empty()) out.push_back({std::string(part), TemplateError{v.line, v.column, std::move(problem)}});
    }
  };
  switch (t.channel) {
    case Channel::kEmail:
      if (t.subject.empty()) out.push_back({"subject", TemplateError{0, 0, "an email needs a subject"}});
      if (t.html.empty() && t.text.empty()) out.push_back({"html", TemplateError{0, 0, "an email needs html or text"}});
      break;
    case Channel::kPush:
      if (t.subject.empty()) out.push_back({"subject", TemplateError{0, 0, "a push message needs a title (subject)"}});
      if (t.text.empty()) out.push_back({"text", TemplateError{0, 0, "a push message needs a text"}});
      break;
    case Channel::kInApp:
      if (t.text.empty()) out.push_back({"text", TemplateError{0, 0, "an in-app message needs a text"}});
      if (t.layout != "banner" && t.layout != "modal") {
        out.push_back({"layout", TemplateError{0, 0, "an in-app message is a banner or a modal"}});
      }
      break;
    case Channel::kWebhook:
      if (t.text.empty()) out.push_back({"text", TemplateError{0, 0, "a webhook message needs a text"}});
      if (t.endpoint.empty()) out.push_back({"endpoint", TemplateError{0, 0, "name the webhook endpoint to post to"}});
      break;
    case Channel::kSms:
      out.push_back({"channel", TemplateError{0, 0, "SMS is not a channel of this server"}});
      break;
  }
  if (t.channel != Channel::kEmail && !t.html.empty()) {
    out.push_back({"html", TemplateError{0, 0, "only email has an HTML part; use text"}});
  }
  if (t.channel != Channel::kInApp && !t.layout.empty()) {
    out.push_back({"layout", TemplateError{0, 0, "only in-app messages have a layout"}});
  }
  if (t.channel != Channel::kWebhook && !t.endpoint.empty()) {
    out.push_back({"endpoint", TemplateError{0, 0, "only webhook messages have an endpoint"}});
  }
  if (t.channel == Channel::kEmail && !t.link_url.empty()) {
    out.push_back({"link_url", TemplateError{0, 0, "an email's links are in its HTML"}});
  }
  check("subject", t.subject, Mode::kText);
  if (!t.html.empty()) check("html", t.html, Mode::kHtml);
  if (!t.text.empty()) check("text", t.text, Mode::kText);
  if (!t.link_url.empty()) check("link_url", t.link_url, Mode::kText);
  return out;
}

Status FirstProblem(const std::vector<PartError>& problems) {
  if (problems.empty()) return {};
  const PartError& p = problems.front();
  return InvalidArgument(p.part + ":" + std::to_string(p.error.line) + ":" + std::to_string(p.error.column),
                         p.error.message);
}

Result<MessageTemplateRecord> SaveTemplate(Store& store, MessageTemplateRecord t, Timestamp now) {
  if (auto ok = ValidateSegmentName(t.name); !ok) return InvalidArgument("name", ok.error().detail());
  if (t.channel == Channel::kSms) return InvalidArgument("channel", "must be email, push, inapp or webhook");
  if (!ValidTopic(t.topic)) return InvalidArgument("topic", "at most 64 letters, digits, '_', '-' or '.'");
  TREU_RETURN_IF_ERROR(FirstProblem(CheckTemplate(t)));
  if (t.channel == Channel::kWebhook) {
    TREU_ASSIGN_OR_RETURN(auto endpoint, store.FindWebhookEndpoint(t.workspace, t.endpoint));
    if (!endpoint) return InvalidArgument("endpoint", "the workspace has no webhook endpoint '" + t.endpoint + "'");
  }
  t.created_at = now;
  t.updated_at = now;
  return store.SaveMessageTemplate(t);
}

Result<CompiledTemplate> CompileTemplate(const MessageTemplateRecord& t) {
  TREU_RETURN_IF_ERROR(FirstProblem(CheckTemplate(t)));
  TREU_ASSIGN_OR_RETURN(Template subject, Template::Parse(t.subject, Mode::kText));
  CompiledTemplate c{std::move(subject), std::nullopt, std::nullopt, std::nullopt, {}};
  if (!t.html.empty()) {
    TREU_ASSIGN_OR_RETURN(c.html, Template::Parse(t.html, Mode::kHtml));
  }
  if (!t.text.empty()) {
    TREU_ASSIGN_OR_RETURN(c.text, Template::Parse(t.text, Mode::kText));
  }
  if (!t.link_url.empty()) {
    TREU_ASSIGN_OR_RETURN(c.link_url, Template::Parse(t.link_url, Mode::kText));
  }
  for (const Template* part : {&c.subject, c.html ? &*c.html : nullptr, c.text ? &*c.text : nullptr,
                               c.link_url ? &*c.link_url : nullptr}) {
    if (part == nullptr) continue;
    for (const VariableUse& v : part->Variables()) c.variables.push_back(v);
  }
  return c;
}

Result<bool> LinksToSurvey(const MessageTemplateRecord& t) {
  TREU_ASSIGN_OR_RETURN(const CompiledTemplate compiled, CompileTemplate(t));
  return std::ranges::any_of(compiled.variables, [](const VariableUse& v) { return v.path == "survey_url"; });
}

// ---- Data ----

struct TemplateData::Impl {
  Workspace ws;
  std::shared_ptr<const Snapshot> snapshot;
  segment::SegmentData data;
  Timestamp now;
  std::set<std::string, std::less<>> customer_fields;  // customer.<field> read
  std::set<std::string, std::less<>> attributes;       // customer.attributes.<name> read
  bool whole_customer = false;                         // {{ customer }} itself
  bool loyalty = false, orders = false, shop = false;
  // By snapshot index, filled when read: names, time zones, loyalty members.
  std::vector<std::string> names, zones;
  std::unordered_map<Snapshot::Index, LoyaltyMember> members;
  const Column* email = nullptr;
  const Column* consent = nullptr;
  const Column* locale = nullptr;
  mutable std::mutex contexts_mu;
  mutable std::map<std::string, RenderContext, std::less<>> contexts;  // guarded by contexts_mu
  static const std::string kEmpty;
};
const std::string TemplateData::Impl::kEmpty;

TemplateData::TemplateData(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TemplateData::~TemplateData() = default;

Result<std::unique_ptr<TemplateData>> TemplateData::Build(Store& store, const Workspace& ws,
                                                          const std::shared_ptr<const Snapshot>& s,
                                                          PredictionCache* predictions,
                                                          std::span<const VariableUse> variables, Timestamp now) {
  auto impl = std::make_unique<Impl>();
  impl->ws = ws;
  impl->snapshot = s;
  impl->now = now;
  for (const VariableUse& v : variables) {
    auto [root, rest] = SplitFirst(v.path);
    if (root == "customer") {
      auto [field, sub] = SplitFirst(rest);
      if (field.empty()) impl->whole_customer = true;
      if (field == "attributes") {
        auto [name, more] = SplitFirst(sub);
        if (!name.empty()) impl->attributes.emplace(name);
      }
      if (!field.empty()) impl->customer_fields.emplace(field);
    }
    impl->loyalty = impl->loyalty || root == "loyalty";
    impl->orders = impl->orders || root == "orders";
    impl->shop = impl->shop || root == "shop";
  }
  if (impl->whole_customer) {
    for (std::string_view f : {"id", "email", "name", "first_name", "last_name"}) impl->customer_fields.emplace(f);
  }
  // Names and time zones come from the customers' rows, read in the scan that builds the
  // customer table.
  impl->names.assign(s->customers(), std::string());
  impl->zones.assign(s->customers(), std::string());
  const bool names = impl->customer_fields.contains("name") || impl->customer_fields.contains("first_name") ||
                     impl->customer_fields.contains("last_name");
  TREU_ASSIGN_OR_RETURN(impl->data, segment::SegmentData::Build(store, ws, s, now, /*with_events=*/false, predictions,
                                                                [&](Snapshot::Index c, const Customer& row) {
                                                                  if (names) impl->names[c] = row.name;
                                                                  if (!row.time_zone.empty()) impl->zones[c] = row.time_zone;
                                                                }));
  const CustomerTable& table = impl->data.table;
  impl->email = table.Find("email");
  impl->consent = table.Find("consent.email");
  impl->locale = table.Find("locale");
  if (impl->loyalty) {
    std::unordered_map<std::int64_t, Snapshot::Index> index;
    index.reserve(s->customers());
    for (Snapshot::Index c = 0; c < s->customers(); ++c) index.emplace(s->customer_id(c).value, c);
    std::int64_t after = 0;
    for (;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store.ListLoyaltyMembers(ws.id, after, 1000));
      for (LoyaltyMember& m : page) {
        after = m.customer.value;
        auto it = index.find(m.customer.value);
        if (it != index.end()) impl->members.emplace(it->second, std::move(m));
      }
      if (page.size() < 1000) break;
    }
  }
  return std::unique_ptr<TemplateData>(new TemplateData(std::move(impl)));
}

const std::string& TemplateData::Email(Snapshot::Index c) const {
  const Column* col = impl_->email;
  if (col == nullptr || col->type != ColumnType::kString || col->IsNull(c)) return Impl::kEmpty;
  return col->dictionary[static_cast<std::size_t>(col->codes[c])];
}

const segment::SegmentData& TemplateData::segment_data() const { return impl_->data; }

const std::string& TemplateData::ZoneName(Snapshot::Index c) const {
  return impl_->zones[c].empty() ? impl_->ws.time_zone : impl_->zones[c];
}

bool TemplateData::EmailConsent(Snapshot::Index c) const {
  const Column* col = impl_->consent;
  return col != nullptr && col->type == ColumnType::kBool && col->bools[c] == 1;
}

Result<RenderContext> TemplateData::ContextFor(Snapshot::Index c) const {
  const std::string& zone = impl_->zones[c].empty() ? impl_->ws.time_zone : impl_->zones[c];
  std::string locale = "en-US";
  if (const Column* col = impl_->locale; col != nullptr && col->type == ColumnType::kString && !col->IsNull(c)) {
    locale = col->dictionary[static_cast<std::size_t>(col->codes[c])];
  }
  const std::string key = zone + "|" + locale;
  std::lock_guard lock(impl_->contexts_mu);
  if (auto it = impl_->contexts.find(key); it != impl_->contexts.end()) return it->second;
  auto tz = TimeZone::Find(zone);
  if (!tz) tz = TimeZone::Utc();
  const std::string currency(impl_->snapshot->currency().empty() ? "EUR" : impl_->snapshot->currency().code());
  auto made = RenderContext::Make(*tz, locale, currency, impl_->now);
  if (!made) made = RenderContext::Make(*tz, "en-US", currency, impl_->now);
  if (!made) return std::unexpected(made.error());
  impl_->contexts.emplace(key, *made);
  return *made;
}

Value TemplateData::For(Snapshot::Index c, RecipientLinks links) const {
  const Impl& d = *impl_;
  Value data;
  if (!d.customer_fields.empty() || d.whole_customer) {
    Value customer;
    const std::string& name = d.names[c];
    for (const std::string& field : d.customer_fields) {
      if (field == "id") {
        customer.Set("id", d.snapshot->external_id(c));
      } else if (field == "name") {
        customer.Set("name", name);
      } else if (field == "first_name" || field == "last_name") {
        const auto space = name.find(' ');
        if (field == "first_name") customer.Set(field, name.substr(0, space));
        else customer.Set(field, space == std::string::npos ? std::string() : name.substr(space + 1));
      } else if (field == "time_zone") {
        customer.Set(field, d.zones[c].empty() ? d.ws.time_zone : d.zones[c]);
      } else if (field == "attributes") {
        Value attrs;
        for (const std::string& a : d.attributes) {
          const Column* col = d.data.table.Find("attributes." + a);
          attrs.Set(a, col == nullptr ? Value() : ColumnValue(*col, c));
        }
        customer.Set("attributes", std::move(attrs));
      } else if (const Column* col = d.data.table.Find(field)) {
        customer.Set(field, ColumnValue(*col, c));
      } else {
        customer.Set(field, Value());
      }
    }
    data.Set("customer", std::move(customer));
  }
  if (d.shop) {
    data.Set("shop", Value::MakeObject({{"name", d.ws.name},
                                        {"currency", std::string(d.snapshot->currency().code())}}));
  }
  if (d.loyalty) {
    auto it = d.members.find(c);
    if (it == d.members.end()) {
      data.Set("loyalty", Value::MakeObject({{"points", 0}, {"pending", 0}, {"held", 0}, {"earned", 0},
                                             {"redeemed", 0}, {"tier", ""}, {"referral_code", ""}}));
    } else {
      const LoyaltyMember& m = it->second;
      data.Set("loyalty", Value::MakeObject({{"points", static_cast<long long>(m.available)},
                                             {"pending", static_cast<long long>(m.pending)},
                                             {"held", static_cast<long long>(m.held)},
                                             {"earned", static_cast<long long>(m.earned)},
                                             {"redeemed", static_cast<long long>(m.redeemed)},
                                             {"tier", m.tier},
                                             {"referral_code", m.referral_code}}));
    }
  }
  if (d.orders) {
    const auto times = d.snapshot->order_times(c);
    const auto totals = d.snapshot->order_totals(c);
    const double scale = std::pow(10.0, d.snapshot->currency().exponent());
    Value orders = Value(Value::Array{});
    for (std::size_t k = 0; k < times.size() && k < kRecentOrders; ++k) {
      const std::size_t i = times.size() - 1 - k;  // most recent first
      orders.Push(Value::MakeObject({{"placed_at", Timestamp{times[i]}},
                                     {"total", static_cast<double>(totals[i]) / scale}}));
    }
    data.Set("orders", std::move(orders));
  }
  data.Set("unsubscribe_url", std::move(links.unsubscribe_url));
  data.Set("preferences_url", std::move(links.preferences_url));
  data.Set("survey_url", std::move(links.survey_url));
  return data;
}

RecipientLinks LinksFor(std::string_view public_url, const LinkSigner& signer, WorkspaceId ws, CustomerId c,
                        std::int64_t template_id, LinksShown shown) {
  while (public_url.ends_with('/')) public_url.remove_suffix(1);
  RecipientLinks links;
  if (shown.unsubscribe) {
    links.unsubscribe_url = std::string(public_url) + "/m/u/" +
                            signer.Sign({LinkKind::kUnsubscribe, ws, c, template_id, Timestamp{}}, "");
  }
  if (shown.preferences) {
    links.preferences_url = std::string(public_url) + "/m/p/" +
                            signer.Sign({LinkKind::kPreferences, ws, c, 0, Timestamp{}}, "");
  }
  return links;
}

namespace {

Result<RenderedMessage> Render(const CompiledTemplate& t, const Value& data, const RenderContext& ctx) {
  RenderedMessage out;
  TREU_RETURN_IF_ERROR(t.subject.RenderTo(data, ctx, out.subject));
  // A subject is one line.
  std::replace_if(out.subject.begin(), out.subject.end(), [](char ch) { return ch == '\r' || ch == '\n' || ch == '\t'; }, ' ');
  if (t.html) TREU_RETURN_IF_ERROR(t.html->RenderTo(data, ctx, out.html));
  if (t.text) TREU_RETURN_IF_ERROR(t.text->RenderTo(data, ctx, out.text));
  if (t.link_url) {
    TREU_RETURN_IF_ERROR(t.link_url->RenderTo(data, ctx, out.link_url));
    // A link leads to a web page: anything else (javascript:, data:) is dropped.
    if (!out.link_url.starts_with("https://") && !out.link_url.starts_with("http://")) out.link_url.clear();
  }
  return out;
}

Result<Snapshot::Index> IndexOf(const Snapshot& s, std::string_view external_id) {
  for (Snapshot::Index c = 0; c < s.customers(); ++c) {
    if (s.external_id(c) == external_id) return c;
  }
  return NotFound("customer " + std::string(external_id), "no such customer in this workspace");
}

}  // namespace

Result<RenderedMessage> PreviewTemplate(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                        PredictionCache* predictions, const MessageTemplateRecord& t,
                                        std::string_view customer, std::span<const std::uint8_t> secret,
                                        Timestamp now) {
  TREU_ASSIGN_OR_RETURN(CompiledTemplate compiled, CompileTemplate(t));
  TREU_ASSIGN_OR_RETURN(Snapshot::Index c, IndexOf(*s, customer));
  TREU_ASSIGN_OR_RETURN(auto data, TemplateData::Build(store, ws, s, predictions, compiled.variables, now));
  TREU_ASSIGN_OR_RETURN(MessagingSettingsRecord settings, LoadMessagingSettings(store, ws.id));
  RecipientLinks links = LinksFor(settings.public_url, LinkSigner(secret), ws.id, s->customer_id(c), t.id);
  TREU_ASSIGN_OR_RETURN(RenderContext ctx, data->ContextFor(c));
  return Render(compiled, data->For(c, std::move(links)), ctx);
}

std::string_view SkipName(Skip s) {
  switch (s) {
    case Skip::kNone: return "";
    case Skip::kNoEmail: return "no_email";
    case Skip::kNoConsent: return "no_consent";
    case Skip::kSuppressed: return "suppressed";
    case Skip::kNoSubscription: return "no_subscription";
  }
  return "";
}

struct Composer::Impl {
  Workspace ws;
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<MessageTemplateRecord> templates;
  std::vector<CompiledTemplate> compiled;
  std::vector<std::string> webhook_formats;  // by variant; "" for other channels
  std::unique_ptr<TemplateData> data;
  std::set<std::string, std::less<>> suppressed;
  MessagingSettingsRecord settings;
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> subscriptions;  // push: by customer id
  std::vector<std::uint8_t> secret;
  std::optional<LinkSigner> signer;  // under `secret`
  // Whether any variant reads {{ unsubscribe_url }} / {{ preferences_url }}: links no template
  // shows are not signed.
  LinksShown shown{false, false};
};

Composer::Composer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Composer::~Composer() = default;

Result<std::unique_ptr<Composer>> Composer::Prepare(Store& store, const Workspace& ws,
                                                    const std::shared_ptr<const Snapshot>& s,
                                                    PredictionCache* predictions,
                                                    std::vector<MessageTemplateRecord> templates,
                                                    std::span<const std::uint8_t> secret, Timestamp now) {
  if (templates.empty()) return InvalidArgument("template", "a send needs a template");
  auto impl = std::make_unique<Impl>();
  impl->ws = ws;
  impl->snapshot = s;
  impl->secret.assign(secret.begin(), secret.end());
  std::vector<VariableUse> variables;
  for (const MessageTemplateRecord& t : templates) {
    if (t.channel != templates.front().channel)
      return InvalidArgument("variants", "every variant's template must be of one channel: '" + t.name + "' is " +
                                             std::string(ChannelName(t.channel)) + ", '" + templates.front().name +
                                             "' " + std::string(ChannelName(templates.front().channel)));
    TREU_ASSIGN_OR_RETURN(CompiledTemplate compiled, CompileTemplate(t));
    variables.insert(variables.end(), compiled.variables.begin(), compiled.variables.end());
    for (const VariableUse& v : compiled.variables) {
      const std::string_view root = SplitFirst(v.path).first;
      impl->shown.unsubscribe = impl->shown.unsubscribe || root == "unsubscribe_url";
      impl->shown.preferences = impl->shown.preferences || root == "preferences_url";
    }
    impl->compiled.push_back(std::move(compiled));
    std::string format;
    if (t.channel == Channel::kWebhook) {
      TREU_ASSIGN_OR_RETURN(auto endpoint, store.FindWebhookEndpoint(ws.id, t.endpoint));
      if (!endpoint) return FailedPrecondition("endpoint", "the template's webhook endpoint '" + t.endpoint + "' was deleted");
      format = endpoint->format;
    }
    impl->webhook_formats.push_back(std::move(format));
  }
  impl->templates = std::move(templates);
  TREU_ASSIGN_OR_RETURN(impl->data, TemplateData::Build(store, ws, s, predictions, variables, now));
  for (std::string after;;) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListSuppressions(ws.id, after, 1000));
    for (auto& sup : page) impl->suppressed.insert(sup.address);
    if (page.size() < 1000) break;
    after = page.back().address;
  }
  TREU_ASSIGN_OR_RETURN(impl->settings, LoadMessagingSettings(store, ws.id));
  impl->signer.emplace(impl->secret);
  if (impl->templates.front().channel == Channel::kPush) {
    for (std::int64_t after = 0;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store.ListPushSubscriptions(ws.id, CustomerId{}, after, 1000));
      for (const PushSubscriptionRecord& sub : page) impl->subscriptions[sub.customer.value].push_back(sub.id);
      if (page.size() < 1000) break;
      after = page.back().id;
    }
  }
  return std::unique_ptr<Composer>(new Composer(std::move(impl)));
}

const TemplateData& Composer::data() const { return *impl_->data; }
Channel Composer::channel() const { return impl_->templates.front().channel; }

Skip Composer::Check(Snapshot::Index c, bool marketing) const {
  switch (channel()) {
    case Channel::kEmail: {
      const std::string& email = impl_->data->Email(c);
      if (email.empty()) return Skip::kNoEmail;
      if (marketing && !impl_->data->EmailConsent(c)) return Skip::kNoConsent;
      std::string lower = email;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (impl_->suppressed.contains(lower)) return Skip::kSuppressed;
      return Skip::kNone;
    }
    case Channel::kPush:
      return impl_->subscriptions.contains(impl_->snapshot->customer_id(c).value) ? Skip::kNone : Skip::kNoSubscription;
    default:
      return Skip::kNone;
  }
}

Status Composer::Compose(std::size_t v, Snapshot::Index c, const Envelope& e, std::vector<OutboxMessage>& out) const {
  const Impl& d = *impl_;
  const MessageTemplateRecord& t = d.templates[v];
  const Snapshot& s = *d.snapshot;
  const CustomerId id = s.customer_id(c);
  RecipientLinks links = LinksFor(d.settings.public_url, *d.signer, d.ws.id, id, t.id, d.shown);
  links.survey_url = e.survey_url;
  TREU_ASSIGN_OR_RETURN(RenderContext ctx, d.data->ContextFor(c));
  auto rendered = Render(d.compiled[v], d.data->For(c, std::move(links)), ctx);
  if (!rendered) return std::unexpected(rendered.error().WithContext("customer " + s.external_id(c)));
  OutboxMessage m;
  m.workspace = d.ws.id;
  m.idempotency_key = e.key + ":" + s.external_id(c);
  m.channel = t.channel;
  m.customer = id;
  m.category = e.category;
  m.topic = t.topic;
  m.template_id = t.id;
  m.campaign = e.campaign;
  m.subject = std::move(rendered->subject);
  m.next_attempt_at = e.due;
  m.created_at = e.now;
  switch (t.channel) {
    case Channel::kEmail:
      m.recipient = d.data->Email(c);
      m.html = std::move(rendered->html);
      m.text = std::move(rendered->text);
      break;
    case Channel::kWebhook:
      m.recipient = t.endpoint;
      m.text = std::move(rendered->text);
      m.html = WebhookBody(d.webhook_formats[v], m, s.external_id(c), d.data->Email(c), rendered->link_url);
      break;
    default:
      m.text = std::move(rendered->text);
      m.html = ChannelPayload(m.subject, m.text, rendered->link_url, t.layout);
      break;
  }
  if (t.channel == Channel::kPush) {
    auto it = d.subscriptions.find(id.value);
    if (it == d.subscriptions.end()) return Ok();
    for (std::int64_t browser : it->second) {
      OutboxMessage one = m;
      one.idempotency_key += ":" + std::to_string(browser);
      one.recipient = std::to_string(browser);
      out.push_back(std::move(one));
    }
  } else {
    out.push_back(std::move(m));
  }
  return Ok();
}

Result<SendReport> SendTemplate(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                PredictionCache* predictions, const SendRequest& request,
                                std::span<const std::uint8_t> secret, Timestamp now,
                                const std::function<void(std::int64_t done, std::int64_t total)>& progress) {
  if (request.category != "marketing" && request.category != "transactional") {
    return InvalidArgument("category", "must be marketing or transactional");
  }
  if (request.campaign.size() > 100) return InvalidArgument("campaign", "at most 100 bytes");
  TREU_ASSIGN_OR_RETURN(auto found, store.FindMessageTemplate(ws.id, request.template_name));
  if (!found) return NotFound("template " + request.template_name, "no such template in this workspace");
  const std::int64_t template_id = found->id;

  // The audience, checked before anything is written.
  std::vector<bool> selected;
  if (!request.customers.empty()) {
    if (!request.segment.empty() || !request.where.empty()) {
      return InvalidArgument("customers", "name customers, or a segment and/or where, not both");
    }
    selected.assign(s->customers(), false);
    std::unordered_map<std::string_view, Snapshot::Index> by_id;
    for (Snapshot::Index c = 0; c < s->customers(); ++c) by_id.emplace(s->external_id(c), c);
    for (const std::string& id : request.customers) {
      auto it = by_id.find(id);
      if (it == by_id.end()) return NotFound("customer " + id, "no such customer in this workspace");
      selected[it->second] = true;
    }
  } else {
    if (request.segment.empty() && request.where.empty()) {
      return InvalidArgument("audience", "name customers, a segment or a where expression");
    }
  }
  TREU_ASSIGN_OR_RETURN(auto composer, Composer::Prepare(store, ws, s, predictions, {std::move(*found)}, secret, now));
  if (request.customers.empty()) {
    TREU_ASSIGN_OR_RETURN(selected, segment::SelectCustomersOn(store, ws, composer->data().segment_data(), request.where,
                                                               request.segment));
  }

  SendReport report;
  report.key = request.key.empty() ? "send:" + std::to_string(template_id) + ":" + request.campaign + ":" +
                                         std::to_string(now.micros)
                                   : request.key;
  const Composer::Envelope envelope{request.category, request.campaign, report.key, now, now, ""};
  const bool marketing = request.category == "marketing";
  const std::int64_t total = std::count(selected.begin(), selected.end(), true);
  std::vector<OutboxMessage> batch;
  batch.reserve(kBatch);
  auto flush = [&]() -> Status {
    if (batch.empty()) return {};
    TREU_ASSIGN_OR_RETURN(std::int64_t inserted, store.EnqueueMessages(ws.id, batch, now));
    report.queued += inserted;
    report.duplicates += static_cast<std::int64_t>(batch.size()) - inserted;
    batch.clear();
    return {};
  };
  std::int64_t done = 0;
  for (Snapshot::Index c = 0; c < s->customers(); ++c) {
    if (!selected[c]) continue;
    ++report.audience;
    if (progress && (++done % 10'000) == 0) progress(done, total);
    switch (composer->Check(c, marketing)) {
      case Skip::kNone: break;
      case Skip::kNoEmail: ++report.no_email; continue;
      case Skip::kNoConsent: ++report.no_consent; continue;
      case Skip::kSuppressed: ++report.suppressed; continue;
      case Skip::kNoSubscription: ++report.no_address; continue;
    }
    TREU_RETURN_IF_ERROR(composer->Compose(0, c, envelope, batch));
    if (batch.size() >= kBatch) TREU_RETURN_IF_ERROR(flush());
  }
  TREU_RETURN_IF_ERROR(flush());
  if (progress) progress(total, total);
  return report;
}

}  // namespace treu::messaging
