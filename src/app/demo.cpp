#include "app/demo.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "access/keys.hpp"
#include "access/users.hpp"
#include "analytics/predictions.hpp"
#include "loyalty/catalog.hpp"
#include "loyalty/service.hpp"
#include "loyalty/surprises.hpp"
#include "access/secrets.hpp"
#include "api/survey_json.hpp"
#include "campaigns/service.hpp"
#include "journeys/definition_json.hpp"
#include "journeys/service.hpp"
#include "messaging/channels.hpp"
#include "messaging/composer.hpp"
#include "messaging/settings.hpp"
#include "segments/membership.hpp"
#include "app/progress.hpp"
#include "app/serve.hpp"
#include "ingest/batch_writer.hpp"
#include "synth/synth.hpp"

namespace treu::app {
namespace {

constexpr const char* kDemoDb = "sqlite:treu-demo.db";
constexpr const char* kDemoWorkspace = "demo";
constexpr const char* kDemoEmail = "demo@treu.local";

// Streams generated data into one write transaction.
class LoadingSink final : public SynthSink {
 public:
  LoadingSink(BatchWriter& writer, ProgressBar& bar, std::int64_t customers_total)
      : writer_(writer), bar_(bar), total_(customers_total) {}

  Status OnCustomer(const Customer& c) override {
    ++customers_;
    bar_.Update(customers_, total_, rows_);
    ++rows_;
    return writer_.Add(c);
  }
  Status OnOrder(const Order& o) override {
    ++rows_;
    return writer_.Add(o);
  }
  Status OnSubscription(const Subscription& s) override {
    ++rows_;
    return writer_.Add(s);
  }
  Status OnEvent(const Event& e) override {
    ++rows_;
    return writer_.Add(e);
  }

 private:
  BatchWriter& writer_;
  ProgressBar& bar_;
  std::int64_t total_;
  std::int64_t customers_ = 0;
  std::int64_t rows_ = 0;
};

Status PrintSummary(Store& store, const Workspace& ws, const std::string& db_url) {
  TREU_ASSIGN_OR_RETURN(EntityCounts c, store.Counts(ws.id));
  std::int64_t revenue = 0, completed = 0;
  Timestamp first{INT64_MAX}, last{INT64_MIN};
  TREU_RETURN_IF_ERROR(store.ScanOrders(ws.id, [&](const Order& o) {
    if (o.status != OrderStatus::kCompleted && o.refunds.empty()) return;
    ++completed;
    revenue += o.total.minor;
    for (const auto& r : o.refunds) revenue -= r.amount_minor;
    first = std::min(first, o.placed_at);
    last = std::max(last, o.placed_at);
  }));
  const Currency cur = ws.currency.value_or(Currency::FromCode("EUR").value());
  std::printf("treu demo data in %s, workspace '%s' (%s, %s)\n", db_url.c_str(), ws.name.c_str(),
              std::string(cur.code()).c_str(), ws.time_zone.c_str());
  std::printf("  customers      %12s\n", GroupDigits(c.customers).c_str());
  std::printf("  orders         %12s  (%s refunds)\n", GroupDigits(c.orders).c_str(),
              GroupDigits(c.refunds).c_str());
  std::printf("  subscriptions  %12s  (%s changes)\n", GroupDigits(c.subscriptions).c_str(),
              GroupDigits(c.subscription_changes).c_str());
  std::printf("  events         %12s\n", GroupDigits(c.events).c_str());
  if (completed > 0) {
    std::printf("  net revenue    %12s %s, orders from %s to %s\n",
                FormatMajorUnits(revenue, cur).c_str(), std::string(cur.code()).c_str(),
                FormatDate(CivilFromDays(first.micros / kMicrosPerDay)).c_str(),
                FormatDate(CivilFromDays(last.micros / kMicrosPerDay)).c_str());
  }
  std::printf("Query it with: sqlite3 %s 'SELECT count(*) FROM orders'\n",
              db_url.starts_with("sqlite:") ? db_url.substr(7).c_str() : db_url.c_str());
  return Ok();
}

}  // namespace

// The demo's dashboard login: demo@treu.local, an admin, with `password` (or a fresh one when
// empty), created or given the new password. Returns the password.
Result<std::string> DemoLogin(Store& store, const Workspace& ws, const std::string& password, const Clock& clock) {
  const std::string pw = password.empty() ? GeneratePassword() : password;
  TREU_ASSIGN_OR_RETURN(std::optional<DashboardUser> user, store.FindDashboardUserByEmail(ws.id, kDemoEmail));
  if (user) {
    UserChange change;
    change.password = pw;
    change.role = "admin";
    TREU_RETURN_IF_ERROR(UpdateUser(store, ws.id, user->id, change));
  } else {
    NewUser u;
    u.email = kDemoEmail;
    u.name = "Demo";
    u.role = "admin";
    u.password = pw;
    TREU_RETURN_IF_ERROR(CreateUser(store, ws.id, u, clock));
  }
  return pw;
}

// Serves the demo database with a fresh admin key, unless told not to; prints the dashboard's
// login last.
int ServeDemo(Context& ctx, Store& store, const std::string& listen, bool serve, const std::string& password) {
  auto ws = store.FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  auto pw = DemoLogin(store, *ws, password, ctx.clock);
  if (!pw) return Fail(pw.error());
  if (!serve) {
    std::printf("dashboard  (treu --db %s serve)  login %s / %s\n", ctx.db_url.c_str(), kDemoEmail, pw->c_str());
    return 0;
  }
  auto key = CreateApiKey(store, ws->id, Scope::kAdmin, "demo", ctx.clock);
  if (!key) return Fail(key.error());
  return RunServer(ctx, listen, 4, /*metrics=*/true, /*access_log=*/true, /*secure_cookies=*/false, OutboxOptions{}, [&](int port) {
    const std::string base =
        "http://" + listen.substr(0, listen.rfind(':')) + ":" + std::to_string(port);
    std::printf("\nThe API is at %s (Ctrl-C stops it). Try:\n", base.c_str());
    std::printf("  curl -H 'Authorization: Bearer %s' %s/api/v1/customers?limit=3\n",
                key->secret.c_str(), base.c_str());
    std::printf("OpenAPI: %s/api/v1/openapi.json\n", base.c_str());
    std::printf("demo admin key: %s\n", key->secret.c_str());
    std::printf("dashboard  %s/  login %s / %s\n", base.c_str(), kDemoEmail, pw->c_str());
    std::fflush(stdout);
  });
}

// Fits the prediction models on the demo data, so that predictions and clv_predicted have
// values from the start. A fit that fails is reported and skipped.
Status FitDemoModels(Store& store, const Workspace& ws, const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto snap, BuildSnapshot(store, ws.id));
  for (std::string_view model : kFittableModels) {
    auto run = FitModel(*snap, {std::string(model), std::nullopt, 7}, clock.Now());
    if (!run) {
      std::fprintf(stderr, "treu: demo: %s\n", run.error().WithContext(std::string(model)).ToString().c_str());
      continue;
    }
    TREU_RETURN_IF_ERROR(store.CreateModelRun(*run));
    std::printf("  fitted %-12s on %s customers (treu predict --customer ID)\n", std::string(model).c_str(),
                GroupDigits(run->customers).c_str());
  }
  return Ok();
}

// Evaluates the built-in segments on the demo data, so membership and sizes exist from the start.
Status RefreshDemoSegments(Store& store, const Workspace& ws, const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto snap, BuildSnapshot(store, ws.id));
  TREU_ASSIGN_OR_RETURN(segment::RefreshReport report, segment::RefreshSegments(store, ws, snap, clock.Now(), nullptr));
  std::printf("  segments       %12zu  (built-in; treu segment list)\n", report.segments);
  return Ok();
}

// A loyalty program over the demo's whole history (1 point per unit, tiers, expiry after a
// year, a return window, referrals, surprises) with a small reward catalogue; the history is
// earned on, expired and reviewed at once, so balances, tiers and the report have values.
Status SetUpDemoLoyalty(Store& store, const Workspace& ws, const Clock& clock, CivilDate history_start) {
  const nlohmann::json program = {
      {"name", "Treu Friends"},
      {"starts_at", FormatDate(history_start) + "T00:00:00Z"},
      {"rules", {{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", 1}},
                 {{"id", "review"}, {"kind", "event"}, {"event", "Review Written"}, {"points", 50},
                  {"cap", {{"points", 150}, {"period", "month"}}}}}},
      {"multipliers", {{{"id", "gold"}, {"factor", "1.5"}, {"tier", "gold"}}}},
      {"tiers", {{{"name", "bronze"}, {"threshold", 0}}, {{"name", "silver"}, {"threshold", 500}},
                 {{"name", "gold"}, {"threshold", 2000}}}},
      {"tier_window_days", 365},
      {"expiry_days", 365},
      {"pending_days", 14},
      {"referral", {{"referrer_points", 500}, {"referee_points", 250}}},
      {"surprises", {{{"id", "tenth-order"}, {"kind", "orders"}, {"orders", 10}, {"points", 500}},
                     {{"id", "win-back"}, {"kind", "random"}, {"segment", "at_risk"}, {"share", "0.05"},
                      {"every_days", 30}, {"points", 250}}}}};
  TREU_RETURN_IF_ERROR(loyalty::SaveProgram(store, ws, program, clock.Now()));
  const std::pair<const char*, nlohmann::json> rewards[] = {
      {"coffee", {{"title", "A free coffee"}, {"kind", "free_product"}, {"points", 150}}},
      {"five-off", {{"title", "5 off your next order"}, {"kind", "discount"}, {"points", 500},
                    {"details", {{"amount", "5.00"}}}}},
      {"vip-evening", {{"title", "VIP shopping evening"}, {"kind", "experience"}, {"points", 3000}, {"stock", 50},
                       {"tiers", {"gold"}}}}};
  for (const auto& [name, body] : rewards) TREU_RETURN_IF_ERROR(loyalty::SaveReward(store, ws.id, name, body, clock.Now()));
  TREU_ASSIGN_OR_RETURN(auto earned, loyalty::ProcessChanges(store, ws, clock, nullptr));
  TREU_ASSIGN_OR_RETURN(std::int64_t due, loyalty::RunDueWork(store, ws, clock, nullptr));
  TREU_ASSIGN_OR_RETURN(std::int64_t surprises, loyalty::RunSurprises(store, ws, clock, nullptr, nullptr));
  (void)due;
  // Some members redeemed: every 3rd with points enough takes "5 off", so the report has a
  // redemption rate and the breakage a basis.
  TREU_ASSIGN_OR_RETURN(loyalty::Program parsed, loyalty::LoadProgram(store, ws));
  TREU_ASSIGN_OR_RETURN(auto five_off, store.FindLoyaltyReward(ws.id, "five-off"));
  TREU_ASSIGN_OR_RETURN(auto members, store.ListLoyaltyMembers(ws.id, 0, 1'000'000));
  TREU_ASSIGN_OR_RETURN(auto batch, loyalty::LoyaltyBatch::Begin(store, ws, parsed, clock.Now(), nullptr));
  std::int64_t redeemed = 0;
  for (std::size_t i = 0; i < members.size() && five_off; i += 3) {
    if (members[i].available < five_off->points) continue;
    const std::string id = "demo:" + std::to_string(members[i].customer.value);
    TREU_RETURN_IF_ERROR(StatusOf(batch->HoldReward(members[i].customer, *five_off, id)));
    TREU_RETURN_IF_ERROR(StatusOf(batch->ConfirmRedemption(id)));
    ++redeemed;
  }
  TREU_RETURN_IF_ERROR(batch->Commit());
  std::printf("  loyalty        %12s  orders earned on, %s surprises, %s redemptions (treu loyalty report)\n",
              GroupDigits(earned.orders).c_str(), GroupDigits(surprises).c_str(), GroupDigits(redeemed).c_str());
  return Ok();
}

// Messaging for the demo: settings with the file transport (nothing leaves the machine; the
// .eml files land beside the database) and links to the demo's address, and three templates.
Status SetUpDemoMessaging(Store& store, const Workspace& ws, const Clock& clock, const std::string& listen,
                          const std::string& mail_dir, const std::string& secret_path) {
  messaging::SettingsChange change;
  change.from_name = "Kaffeerösterei Demo";
  change.from_address = "hallo@demo.treu.localhost";
  change.public_url = "http://" + listen;
  static const std::vector<std::uint8_t> kNoSecrets(32, 0);  // no secret is set here
  TREU_ASSIGN_OR_RETURN(auto settings, messaging::ApplySettingsChange(messaging::DefaultMessagingSettings(ws.id),
                                                                      change, kNoSecrets, clock.Now()));
  TREU_RETURN_IF_ERROR(store.SaveMessagingSettings(settings));
  struct Demo {
    const char* name;
    const char* topic;
    const char* subject;
    const char* html;
  };
  static constexpr Demo kTemplates[] = {
      {"welcome", "", "Willkommen, {{ customer.first_name | default: \"schön, dass du da bist\" }}!",
       "<h1>Willkommen bei {{ shop.name }}!</h1>\n<p>Hallo {{ customer.first_name | default: \"du\" }},</p>\n"
       "<p>schön, dass du da bist. Als Dankeschön liegen {{ loyalty.points }} Punkte auf deinem Konto.</p>\n"
       "<p><a href=\"https://shop.example/neu\">Unsere Neuheiten ansehen</a></p>\n"
       "<p><small><a href=\"{{ preferences_url }}\">Einstellungen</a> · "
       "<a href=\"{{ unsubscribe_url }}\">Abmelden</a></small></p>"},
      {"winback", "offers", "{{ customer.first_name | default: \"Hallo\" }}, wir vermissen dich",
       "<p>Hallo {{ customer.first_name | default: \"du\" }},</p>\n"
       "<p>deine letzte Bestellung ist {{ customer.days_since_last_order }} Tage her.\n"
       "{% if loyalty.points > 0 %}Du hast noch {{ loyalty.points }} Punkte ({{ loyalty.tier }}).{% endif %}</p>\n"
       "{% if orders.size > 0 %}<p>Zuletzt bestellt:</p>\n<ul>{% for o in orders limit: 3 %}"
       "<li>{{ o.placed_at | date: \"%d.%m.%Y\" }}: {{ o.total | money }}</li>{% endfor %}</ul>{% endif %}\n"
       "<p><a href=\"https://shop.example/angebote\">Zu den Angeboten</a></p>\n"
       "<p><small><a href=\"{{ unsubscribe_url }}\">Abmelden</a></small></p>"},
      {"receipt", "", "Danke für deine Bestellung",
       "<p>Hallo {{ customer.name }},</p>\n<p>danke für deine Bestellung über {{ orders.first.total | money }}.</p>"},
  };
  for (const Demo& d : kTemplates) {
    MessageTemplateRecord t;
    t.workspace = ws.id;
    t.name = d.name;
    t.topic = d.topic;
    t.subject = d.subject;
    t.html = d.html;
    TREU_RETURN_IF_ERROR(messaging::SaveTemplate(store, t, clock.Now()));
  }
  // The other channels: web push keys, an identity secret for the snippet, a push and an in-app
  // template (a webhook endpoint needs a receiver, so the demo has none).
  TREU_ASSIGN_OR_RETURN(std::vector<std::uint8_t> secret, LoadOrCreateSecret(secret_path));
  TREU_RETURN_IF_ERROR(messaging::SetUpPush(store, ws.id, "mailto:hallo@demo.treu.localhost", false, secret, clock.Now()));
  TREU_RETURN_IF_ERROR(messaging::RotateIdentitySecret(store, ws.id, secret, clock.Now()));
  MessageTemplateRecord push;
  push.workspace = ws.id;
  push.name = "winback-push";
  push.channel = Channel::kPush;
  push.topic = "offers";
  push.subject = "{{ customer.first_name | default: \"Hallo\" }}, wir vermissen dich";
  push.text = "{% if loyalty.points > 0 %}Deine {{ loyalty.points }} Punkte warten.{% else %}Neue Angebote warten.{% endif %}";
  push.link_url = "https://shop.example/angebote";
  TREU_RETURN_IF_ERROR(messaging::SaveTemplate(store, push, clock.Now()));
  MessageTemplateRecord inapp;
  inapp.workspace = ws.id;
  inapp.name = "points-banner";
  inapp.channel = Channel::kInApp;
  inapp.topic = "offers";
  inapp.layout = "banner";
  inapp.subject = "Punktestand";
  inapp.text = "Du hast {{ loyalty.points }} Punkte ({{ loyalty.tier | default: \"Basis\" }}).";
  inapp.link_url = "https://shop.example/praemien";
  TREU_RETURN_IF_ERROR(messaging::SaveTemplate(store, inapp, clock.Now()));
  // A campaign ready to schedule: win back the customers at risk with two subject lines, an A/B
  // test on a fifth of them, 10 % held out to measure the lift; and delivery rules.
  MessageTemplateRecord bonus;
  bonus.workspace = ws.id;
  bonus.name = "winback-bonus";
  bonus.topic = "offers";
  bonus.subject = "Doppelte Punkte für dich, {{ customer.first_name | default: \"Hallo\" }}";
  bonus.html = "<p>Hallo {{ customer.first_name | default: \"du\" }},</p>\n"
               "<p>bei deiner nächsten Bestellung bekommst du doppelte Punkte.</p>\n"
               "<p><a href=\"https://shop.example/angebote\">Jetzt bestellen</a></p>\n"
               "<p><small><a href=\"{{ unsubscribe_url }}\">Abmelden</a></small></p>";
  TREU_RETURN_IF_ERROR(messaging::SaveTemplate(store, bonus, clock.Now()));
  TREU_RETURN_IF_ERROR(campaigns::SaveDeliveryRules(store, {ws.id, 3, 7 * kMicrosPerDay, "21:00", "08:00"}, clock.Now()));
  CampaignRecord winback;
  winback.name = "winback-at-risk";
  winback.segment = "at_risk";
  winback.variants = {{"winback", 1}, {"winback-bonus", 1}};
  winback.holdout_permille = 100;
  winback.test_permille = 200;
  winback.winner_metric = "clicked";
  winback.test_window_micros = 24 * 3600 * kMicrosPerSecond;
  winback.local_time = "10:00";
  TREU_RETURN_IF_ERROR(campaigns::SaveCampaign(store, ws, winback, clock.Now()));
  std::printf("  messaging      %12d  templates (treu template list); email is written to %s/ as .eml files\n",
              static_cast<int>(std::size(kTemplates)) + 3, mail_dir.c_str());
  std::printf("  campaigns      %12d  draft with an A/B test and a holdout (treu campaign show winback-at-risk)\n", 1);
  return {};
}

// The journey presets (presets/journeys/), compiled in by src/app/CMakeLists.txt.
namespace journey_presets {
extern const std::pair<std::string_view, std::string_view> kFiles[];
extern const std::size_t kFiles_count;
}  // namespace journey_presets

// Journeys for the demo: the four presets, active, with what they need — the NPS and win-back
// surveys, the templates of the detractor's apology, the renewal reminder and the win-back
// survey's invitation, and a renewal date on every
// subscriber (within the next four weeks). The customers at risk now enter the win-back
// journey at once, so its report has runs from the start.
Status SetUpDemoJourneys(Store& store, const Workspace& ws, const Clock& clock, const std::string& secret_path) {
  TREU_ASSIGN_OR_RETURN(std::vector<std::uint8_t> secret, LoadOrCreateSecret(secret_path));
  const nlohmann::json nps = {
      {"name", "nps"},
      {"kind", "relationship"},
      {"every_days", 90},
      {"min_gap_days", 30},
      {"default_locale", "de"},
      {"title", {{"de", "Deine Meinung zählt"}, {"en", "Your opinion counts"}}},
      {"thanks", {{"de", "Danke!"}, {"en", "Thank you!"}}},
      {"questions",
       {{{"id", "nps"},
         {"kind", "nps"},
         {"required", true},
         {"text", {{"de", "Wie wahrscheinlich ist es, dass du uns weiterempfiehlst?"},
                   {"en", "How likely are you to recommend us?"}}}}}}};
  TREU_RETURN_IF_ERROR(StatusOf(SaveSurveyDefinition(store, ws.id, nps, false, clock.Now())));
  // The win-back journey's last step asks those still away why.
  const nlohmann::json why = {
      {"name", "winback"},
      {"kind", "relationship"},
      {"every_days", 180},
      {"min_gap_days", 30},
      {"default_locale", "de"},
      {"title", {{"de", "Wir vermissen dich"}, {"en", "We miss you"}}},
      {"thanks", {{"de", "Danke, das hilft uns sehr!"}, {"en", "Thank you, that helps a lot!"}}},
      {"questions",
       {{{"id", "reason"},
         {"kind", "single_choice"},
         {"required", true},
         {"text", {{"de", "Warum hast du länger nicht bei uns bestellt?"},
                   {"en", "Why haven't you ordered from us in a while?"}}},
         {"choices",
          {{{"id", "price"}, {"label", {{"de", "Zu teuer"}, {"en", "Too expensive"}}}},
           {{"id", "range"}, {"label", {{"de", "Nichts Passendes gefunden"}, {"en", "Nothing that fits"}}}},
           {{"id", "elsewhere"}, {"label", {{"de", "Kaufe woanders"}, {"en", "Buying elsewhere"}}}},
           {{"id", "no_need"}, {"label", {{"de", "Brauche gerade nichts"}, {"en", "Don't need anything now"}}}}}}},
        {{"id", "wish"},
         {"kind", "text"},
         {"text", {{"de", "Was können wir besser machen?"}, {"en", "What could we do better?"}}}}}}};
  TREU_RETURN_IF_ERROR(StatusOf(SaveSurveyDefinition(store, ws.id, why, false, clock.Now())));
  const std::pair<const char*, const char*> templates[][2] = {
      {{"detractor-sorry", "Das tut uns leid, {{ customer.first_name | default: \"Hallo\" }}"},
       {"", "<p>Hallo {{ customer.first_name | default: \"du\" }},</p>\n<p>danke für deine ehrliche Antwort. Wir "
            "melden uns persönlich bei dir — und ein Kaffee geht auf uns.</p>"}},
      {{"renewal-reminder", "Dein Abo verlängert sich bald"},
       {"offers", "<p>Hallo {{ customer.first_name | default: \"du\" }},</p>\n<p>in einer Woche verlängert sich dein "
                  "Abo. <a href=\"https://shop.example/abo\">Abo ansehen</a></p>\n"
                  "<p><small><a href=\"{{ unsubscribe_url }}\">Abmelden</a></small></p>"}},
      {{"winback-survey", "Was können wir besser machen, {{ customer.first_name | default: \"Hallo\" }}?"},
       {"offers", "<p>Hallo {{ customer.first_name | default: \"du\" }},</p>\n<p>du warst lange nicht mehr bei uns. "
                  "Verrätst du uns in einer Minute, warum?</p>\n"
                  "<p><a href=\"{{ survey_url }}\">Zur Umfrage</a></p>\n"
                  "<p><small><a href=\"{{ unsubscribe_url }}\">Abmelden</a></small></p>"}}};
  for (const auto& t : templates) {
    MessageTemplateRecord r;
    r.workspace = ws.id;
    r.name = t[0].first;
    r.subject = t[0].second;
    r.topic = t[1].first;
    r.html = t[1].second;
    TREU_RETURN_IF_ERROR(StatusOf(messaging::SaveTemplate(store, r, clock.Now())));
  }
  std::vector<Customer> renewals;
  for (std::int64_t after = 0;;) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListSubscriptions(ws.id, "", after, 1000));
    for (const Subscription& sub : page) {
      if (sub.ended_at) continue;
      Customer c;
      c.external_id = sub.customer_external_id;
      c.attributes["renewal_date"] = Timestamp{clock.Now().micros + (8 + sub.id.value % 21) * kMicrosPerDay};
      renewals.push_back(std::move(c));
    }
    if (page.size() < 1000) break;
    after = page.back().id.value;
  }
  if (!renewals.empty()) {
    TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws.id));
    TREU_RETURN_IF_ERROR(StatusOf(tx->UpsertCustomers(renewals, clock.Now())));
    TREU_RETURN_IF_ERROR(tx->Commit());
  }
  SnapshotCache snapshots;
  std::int64_t entered = 0;
  for (std::size_t i = 0; i < journey_presets::kFiles_count; ++i) {
    const auto& [file, text] = journey_presets::kFiles[i];
    auto def = journeys::ParseJourneyText(text);
    if (!def) return std::unexpected(def.error().front().WithContext(file));
    TREU_ASSIGN_OR_RETURN(auto saved, journeys::SaveJourney(store, ws, *def, "active", clock.Now()));
    if (file == "winback.json") {
      TREU_ASSIGN_OR_RETURN(auto pass, journeys::EnterCurrentMembers(store, ws, snapshots, saved.record.name,
                                                                     journeys::RunOptions{secret, nullptr, SurveyOf}, clock.Now()));
      entered = pass.entered;
    }
  }
  std::printf("  journeys       %12d  active presets: winback (%s customers at risk entered), welcome-series, "
              "nps-detractor-recovery, renewal-reminder (%s renewal dates) (treu journey report winback)\n",
              static_cast<int>(journey_presets::kFiles_count), GroupDigits(entered).c_str(),
              GroupDigits(static_cast<std::int64_t>(renewals.size())).c_str());
  return Ok();
}

std::function<int()> SetupDemo(CLI::App& cmd, Context& ctx) {
  auto size = std::make_shared<std::string>("S");
  auto seed = std::make_shared<std::uint64_t>(42);
  auto listen = std::make_shared<std::string>("127.0.0.1:8080");
  auto no_serve = std::make_shared<bool>(false);
  auto password = std::make_shared<std::string>();
  cmd.add_option("--demo-password", *password,
                 "the password of the dashboard login demo@treu.local (default: a fresh random one)");
  cmd.add_option("--size", *size, "S (10k customers), M (100k) or L (1M)")
      ->check(CLI::IsMember({"S", "M", "L"}));
  cmd.add_option("--seed", *seed, "random seed of the generator (default 42)");
  cmd.add_option("--listen", *listen, "where to serve the API (default 127.0.0.1:8080)");
  cmd.add_flag("--no-serve", *no_serve, "load and summarise the data, then exit");
  return [size, seed, listen, no_serve, password, &ctx]() -> int {
    if (!password->empty() && password->size() < kMinPasswordLength) {
      return Fail(InvalidArgument("--demo-password", "must have at least " + std::to_string(kMinPasswordLength) +
                                                         " characters").error());
    }
    if (!ctx.db_given) ctx.db_url = kDemoDb;
    if (!ctx.workspace_given) ctx.workspace = kDemoWorkspace;
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    if (auto existing = (*store)->FindWorkspace(ctx.workspace)) {
      auto counts = (*store)->Counts(existing->id);
      if (!counts) return Fail(counts.error());
      if (counts->orders > 0 || counts->customers > 0) {
        std::printf("workspace '%s' already holds data; showing it (use another --workspace or "
                    "--db for a fresh demo)\n",
                    ctx.workspace.c_str());
        if (auto s = PrintSummary(**store, *existing, ctx.db_url); !s) return Fail(s.error());
        return ServeDemo(ctx, **store, *listen, !*no_serve, *password);
      }
    }
    auto config = SynthSize(*size);
    if (!config) return Fail(config.error());
    config->seed = *seed;
    // Two years of history up to yesterday, so that today's predictions see active customers.
    const std::int64_t today = ctx.clock.Now().micros / kMicrosPerDay;
    config->end = CivilFromDays(today - 1);
    config->start = CivilFromDays(today - 1 - 730);
    Context c = ctx;
    if (c.currency.empty()) c.currency = config->currency;
    if (c.time_zone.empty()) c.time_zone = "Europe/Berlin";
    auto ws = c.EnsureWorkspace(**store);
    if (!ws) return Fail(ws.error());
    BatchWriter writer(**store, ws->id, /*dry_run=*/false, 10'000, ctx.clock);
    if (auto s = writer.Start(); !s) return Fail(s.error());
    {
      ProgressBar bar("generating demo data");
      LoadingSink sink(writer, bar, config->customers);
      if (auto s = GenerateSynth(*config, sink); !s) return Fail(s.error());
      if (auto s = writer.Commit(); !s) return Fail(s.error());
    }
    auto fresh = (*store)->FindWorkspace(ctx.workspace);
    if (!fresh) return Fail(fresh.error());
    if (auto s = PrintSummary(**store, *fresh, ctx.db_url); !s) return Fail(s.error());
    if (auto s = FitDemoModels(**store, *fresh, ctx.clock); !s) return Fail(s.error());
    if (auto s = RefreshDemoSegments(**store, *fresh, ctx.clock); !s) return Fail(s.error());
    if (auto s = SetUpDemoLoyalty(**store, *fresh, ctx.clock, config->start); !s) return Fail(s.error());
    if (auto s = SetUpDemoMessaging(**store, *fresh, ctx.clock, *listen, ctx.MailDir(), ctx.SecretPath()); !s) return Fail(s.error());
    if (auto s = SetUpDemoJourneys(**store, *fresh, ctx.clock, ctx.SecretPath()); !s) return Fail(s.error());
    return ServeDemo(ctx, **store, *listen, !*no_serve, *password);
  };
}

}  // namespace treu::app
