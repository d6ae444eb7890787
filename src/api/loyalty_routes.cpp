#include "api/loyalty_routes.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <random>

#include "access/keys.hpp"
#include "api/route_support.hpp"
#include "core/period.hpp"
#include "loyalty/catalog.hpp"
#include "loyalty/program_json.hpp"
#include "loyalty/report.hpp"
#include "loyalty/writer.hpp"

namespace treu::api {
namespace {

using nlohmann::json;
using loyalty::LoyaltyBatch;

// ---- Shared steps ----

Result<json> BodyJson(const HttpRequest& req) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("body", "must be a JSON object");
  j.erase("created_at");
  j.erase("updated_at");
  return j;
}

// The ledger id of a REST write: from its Idempotency-Key, so a retry is recognised; a random
// one without a key.
std::string WriteId(const HttpRequest& req) {
  const std::string_view key = req.Header("idempotency-key");
  if (key.empty()) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return "api:" + Sha256Hex(std::to_string(rng()) + std::to_string(rng())).substr(0, 32);
  }
  const bool clean = key.size() <= 190 && std::all_of(key.begin(), key.end(), [](char c) {
    return c > ' ' && c < 127 && c != '/';
  });
  return "api:" + (clean ? std::string(key) : Sha256Hex(key).substr(0, 40));
}

// Runs `work` under the workspace's write lock: through the server's group-commit writer, or
// (without one) in a transaction of its own. `render` makes the response once it is durable.
void RunWrite(RequestContext& ctx, loyalty::LoyaltyWriter::Work work, std::function<Result<HttpResponse>()> render,
              std::function<void(Result<HttpResponse>)> done) {
  auto ws = TheWorkspace(ctx);
  if (!ws) return done(std::unexpected(ws.error()));
  if (ctx.loyalty != nullptr) {
    ctx.loyalty->Submit(*ws, std::move(work), [render = std::move(render), done = std::move(done)](Status s) {
      if (!s) return done(std::unexpected(s.error()));
      done(render());
    });
    return;
  }
  auto run = [&]() -> Status {
    TREU_ASSIGN_OR_RETURN(loyalty::Program program, loyalty::LoadProgram(ctx.store, *ws));
    TREU_ASSIGN_OR_RETURN(auto batch, LoyaltyBatch::Begin(ctx.store, *ws, program, ctx.clock.Now(), ctx.ledgers));
    TREU_RETURN_IF_ERROR(work(*batch));
    return batch->Commit();
  };
  if (auto s = run(); !s) return done(std::unexpected(s.error()));
  done(render());
}

Result<std::string> ExternalId(RequestContext& ctx, CustomerId c) {
  TREU_ASSIGN_OR_RETURN(auto ext, ctx.store.CustomerExternalId(ctx.workspace(), c));
  return ext.value_or("");
}

// ---- Program, rules, tiers ----

Result<LoyaltyProgramRecord> StoredProgram(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto p, ctx.store.FindLoyaltyProgram(ctx.workspace()));
  if (!p) return NotFound("loyalty program", "the workspace has no loyalty program; PUT /api/v1/loyalty/program");
  return std::move(*p);
}

Result<HttpResponse> GetProgram(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto p, StoredProgram(ctx));
  return JsonResponse(loyalty::ProgramRecordJson(p));
}

Result<HttpResponse> PutProgram(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyJson(ctx.request));
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(auto saved, loyalty::SaveProgram(ctx.store, ws, body, ctx.clock.Now()));
  return JsonResponse(loyalty::ProgramRecordJson(saved));
}

// A part of the program (members `names`): read, or replaced in the stored definition.
RouteHandler GetPart(std::vector<std::string> names) {
  return [names](RequestContext& ctx) -> Result<HttpResponse> {
    TREU_ASSIGN_OR_RETURN(auto p, StoredProgram(ctx));
    const json all = loyalty::ProgramRecordJson(p);
    json out = json::object();
    for (const std::string& n : names) out[n] = all.value(n, json());
    return JsonResponse(out);
  };
}

RouteHandler PutPart(std::vector<std::string> names) {
  return [names](RequestContext& ctx) -> Result<HttpResponse> {
    TREU_ASSIGN_OR_RETURN(json body, BodyJson(ctx.request));
    TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
    TREU_ASSIGN_OR_RETURN(auto saved, loyalty::SaveProgramParts(ctx.store, ws, body, names, ctx.clock.Now()));
    const json stored = loyalty::ProgramRecordJson(saved);
    json out = json::object();
    for (const std::string& n : names) out[n] = stored.value(n, json());
    return JsonResponse(out);
  };
}

// ---- Rewards ----

Result<LoyaltyReward> RewardOfPath(RequestContext& ctx) {
  const std::string& name = ctx.params.at("name");
  TREU_ASSIGN_OR_RETURN(auto r, ctx.store.FindLoyaltyReward(ctx.workspace(), name));
  if (!r) return NotFound("reward " + name, "no such reward in this workspace");
  return std::move(*r);
}

Result<HttpResponse> ListRewards(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListLoyaltyRewards(ctx.workspace()));
  json data = json::array();
  for (const LoyaltyReward& r : all) data.push_back(loyalty::RewardJson(r));
  return JsonResponse({{"data", data}});
}

Result<HttpResponse> GetReward(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto r, RewardOfPath(ctx));
  return JsonResponse(loyalty::RewardJson(r));
}

Result<HttpResponse> PutReward(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyJson(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto saved, loyalty::SaveReward(ctx.store, ctx.workspace(), ctx.params.at("name"), body,
                                                        ctx.clock.Now()));
  return JsonResponse(loyalty::RewardJson(saved));
}

Result<HttpResponse> AddCodes(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto reward, RewardOfPath(ctx));
  if (reward.kind != "voucher") return InvalidArgument("reward", "only voucher rewards have codes");
  TREU_ASSIGN_OR_RETURN(json body, BodyJson(ctx.request));
  if (!body.contains("codes") || !body["codes"].is_array() || body["codes"].empty() || body["codes"].size() > 10000) {
    return InvalidArgument("/codes", "must be an array of 1 to 10000 codes");
  }
  std::vector<std::string> codes;
  for (std::size_t i = 0; i < body["codes"].size(); ++i) {
    const json& c = body["codes"][i];
    if (!c.is_string() || c.get<std::string>().empty() || c.get<std::string>().size() > 100) {
      return InvalidArgument("/codes/" + std::to_string(i), "must be a code of 1 to 100 characters");
    }
    codes.push_back(c.get<std::string>());
  }
  TREU_ASSIGN_OR_RETURN(std::int64_t added, ctx.store.AddLoyaltyRewardCodes(ctx.workspace(), reward.id, codes));
  TREU_ASSIGN_OR_RETURN(auto updated, RewardOfPath(ctx));
  return JsonResponse({{"added", added}, {"skipped", static_cast<std::int64_t>(codes.size()) - added},
                       {"reward", loyalty::RewardJson(updated)}});
}

// ---- Customers: wallet, transfers, referral ----

Result<HttpResponse> GetWallet(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(auto m, ctx.store.FindLoyaltyMember(ctx.workspace(), c.id));
  if (!m) {
    // Not a member yet: nothing earned so far.
    LoyaltyMember empty;
    empty.customer = c.id;
    return JsonResponse(loyalty::MemberJson(empty, c.external_id));
  }
  return JsonResponse(loyalty::MemberJson(*m, c.external_id));
}

Result<HttpResponse> ListTransfers(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListLoyaltyTransfers(ctx.workspace(), c.id, after, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const LoyaltyTransferRecord& t : page) data.push_back(loyalty::TransferJson(t));
  return JsonResponse({{"data", data}, {"next_cursor", more ? json(CursorAfter(page.back().seq)) : json(nullptr)}});
}

Result<loyalty::ManualTransfer> ParseManual(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"kind", "points", "reason", "expires_at", "pending_until"}));
  loyalty::ManualTransfer t;
  t.id = WriteId(ctx.request);
  if (!body.contains("kind") || !body["kind"].is_string()) return InvalidArgument("kind", "must be earn, adjust or redeem");
  t.kind = body["kind"].get<std::string>();
  if (t.kind != "earn" && t.kind != "adjust" && t.kind != "redeem") {
    return InvalidArgument("kind", "must be earn, adjust or redeem");
  }
  if (!body.contains("points") || !body["points"].is_number_integer()) {
    return InvalidArgument("points", "must be a whole number of points");
  }
  t.points = body["points"].get<std::int64_t>();
  if (t.points == 0 || (t.kind != "adjust" && t.points < 0)) {
    return InvalidArgument("points", t.kind == "adjust" ? "must not be 0 (negative debits)" : "must be more than 0");
  }
  if (!body.contains("reason") || !body["reason"].is_string() || body["reason"].get<std::string>().empty() ||
      body["reason"].get<std::string>().size() > 500) {
    return InvalidArgument("reason", "must say why, in 1 to 500 characters");
  }
  t.reason = body["reason"].get<std::string>();
  for (const char* member : {"expires_at", "pending_until"}) {
    if (!body.contains(member) || body[member].is_null()) continue;
    if (!body[member].is_string()) return InvalidArgument(member, "must be an RFC 3339 time");
    TREU_ASSIGN_OR_RETURN(Timestamp at, ParseTimestamp(body[member].get<std::string>(), TimeZone::Utc()));
    (member[0] == 'e' ? t.expires_at : t.pending_until) = at;
  }
  if (t.pending_until && t.kind != "earn") return InvalidArgument("pending_until", "only earned points can be pending");
  if (t.expires_at && t.kind == "redeem") return InvalidArgument("expires_at", "redeemed points don't expire");
  t.source = t.kind == "earn" ? loyalty::Source{loyalty::SourceKind::kRule, "api", std::nullopt}
                              : loyalty::Source{loyalty::SourceKind::kAdmin, "api key " + std::to_string(ctx.key->id),
                                       ctx.key->id};
  if (t.kind == "redeem") t.source.kind = loyalty::SourceKind::kRedemption;
  return t;
}

void PostTransfer(RequestContext& ctx, std::function<void(Result<HttpResponse>)> done) {
  auto c = CustomerOfPath(ctx);
  if (!c) return done(std::unexpected(c.error()));
  auto t = ParseManual(ctx);
  if (!t) return done(std::unexpected(t.error()));
  auto out = std::make_shared<std::pair<loyalty::Posting, LoyaltyMember>>();
  const WorkspaceId ws = ctx.workspace();
  RunWrite(
      ctx,
      [out, customer = c->id, t = *t](LoyaltyBatch& batch) -> Status {
        TREU_ASSIGN_OR_RETURN(out->first, batch.Manual(customer, t));
        TREU_ASSIGN_OR_RETURN(out->second, batch.Member(customer));
        return {};
      },
      [out, ws, ext = c->external_id]() -> Result<HttpResponse> {
        json body = {{"transfer", loyalty::TransferJson(loyalty::ToRecord(ws, out->first.transfer))},
                     {"wallet", loyalty::MemberJson(out->second, ext)}};
        HttpResponse r = JsonResponse(body, out->first.replayed ? 200 : 201);
        if (out->first.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
        return r;
      },
      std::move(done));
}

void PostReferralCode(RequestContext& ctx, std::function<void(Result<HttpResponse>)> done) {
  auto c = CustomerOfPath(ctx);
  if (!c) return done(std::unexpected(c.error()));
  auto code = std::make_shared<std::string>();
  RunWrite(
      ctx,
      [code, customer = c->id](LoyaltyBatch& batch) -> Status {
        TREU_ASSIGN_OR_RETURN(*code, batch.ReferralCode(customer));
        return {};
      },
      [code, ext = c->external_id]() -> Result<HttpResponse> {
        return JsonResponse({{"customer_id", ext}, {"referral_code", *code}});
      },
      std::move(done));
}

void PostReferrer(RequestContext& ctx, std::function<void(Result<HttpResponse>)> done) {
  auto c = CustomerOfPath(ctx);
  if (!c) return done(std::unexpected(c.error()));
  auto body = BodyObject(ctx.request, {"referral_code"});
  if (!body) return done(std::unexpected(body.error()));
  if (!body->contains("referral_code") || !(*body)["referral_code"].is_string()) {
    return done(InvalidArgument("referral_code", "must be the referring customer's code"));
  }
  RunWrite(
      ctx,
      [customer = c->id, code = (*body)["referral_code"].get<std::string>()](LoyaltyBatch& batch) -> Status {
        return batch.SetReferrer(customer, code);
      },
      [ext = c->external_id]() -> Result<HttpResponse> {
        return JsonResponse({{"customer_id", ext}, {"referred", true}});
      },
      std::move(done));
}

// ---- Redemptions ----

Result<HttpResponse> RedemptionResponse(RequestContext& ctx, const LoyaltyRedemption& r) {
  TREU_ASSIGN_OR_RETURN(std::string ext, ExternalId(ctx, r.customer));
  TREU_ASSIGN_OR_RETURN(auto rewards, ctx.store.ListLoyaltyRewards(ctx.workspace()));
  for (const LoyaltyReward& reward : rewards) {
    if (reward.id == r.reward_id) return JsonResponse(loyalty::RedemptionJson(r, ext, reward));
  }
  return Internal("redemption " + r.id, "its reward is gone");
}

void PostRedemption(RequestContext& ctx, std::function<void(Result<HttpResponse>)> done) {
  auto body = BodyObject(ctx.request, {"customer_id", "reward"});
  if (!body) return done(std::unexpected(body.error()));
  for (const char* member : {"customer_id", "reward"}) {
    if (!body->contains(member) || !(*body)[member].is_string()) {
      return done(InvalidArgument(member, member[0] == 'c' ? "must be the customer's id" : "must be a reward's name"));
    }
  }
  const std::string ext = (*body)["customer_id"].get<std::string>();
  auto c = ctx.store.FindCustomer(ctx.workspace(), ext);
  if (!c) return done(std::unexpected(c.error()));
  if (!*c) return done(NotFound("customer_id", "no customer " + ext + " in this workspace"));
  auto reward = ctx.store.FindLoyaltyReward(ctx.workspace(), (*body)["reward"].get<std::string>());
  if (!reward) return done(std::unexpected(reward.error()));
  if (!*reward) return done(NotFound("reward", "no such reward in this workspace"));
  auto out = std::make_shared<loyalty::RedemptionResult>();
  RunWrite(
      ctx,
      [out, customer = (*c)->id, reward = **reward, id = WriteId(ctx.request)](LoyaltyBatch& batch) -> Status {
        TREU_ASSIGN_OR_RETURN(*out, batch.HoldReward(customer, reward, id));
        return {};
      },
      [out, ext]() -> Result<HttpResponse> {
        HttpResponse r = JsonResponse(loyalty::RedemptionJson(out->redemption, ext, out->reward), out->replayed ? 200 : 201);
        if (out->replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
        return r;
      },
      std::move(done));
}

loyalty::LoyaltyWriter::Work CloseWork(std::shared_ptr<loyalty::RedemptionResult> out, std::string id, bool confirm) {
  return [out, id = std::move(id), confirm](LoyaltyBatch& batch) -> Status {
    TREU_ASSIGN_OR_RETURN(*out, confirm ? batch.ConfirmRedemption(id) : batch.ReleaseRedemption(id));
    return {};
  };
}

AsyncRouteHandler CloseRedemption(bool confirm) {
  return [confirm](RequestContext& ctx, std::function<void(Result<HttpResponse>)> done) {
    const std::string id = ctx.params.at("id");
    auto found = ctx.store.FindLoyaltyRedemption(ctx.workspace(), id);
    if (!found) return done(std::unexpected(found.error()));
    if (!*found) return done(NotFound("redemption " + id, "no such redemption in this workspace"));
    auto ext = ExternalId(ctx, (*found)->customer);
    if (!ext) return done(std::unexpected(ext.error()));
    auto out = std::make_shared<loyalty::RedemptionResult>();
    RunWrite(
        ctx, CloseWork(out, id, confirm),
        [out, ext = *ext]() -> Result<HttpResponse> {
          return JsonResponse(loyalty::RedemptionJson(out->redemption, ext, out->reward));
        },
        std::move(done));
  };
}

Result<HttpResponse> ListRedemptions(RequestContext& ctx) {
  CustomerId customer;
  if (const std::string* ext = ctx.request.Query("customer_id")) {
    TREU_ASSIGN_OR_RETURN(auto c, ctx.store.FindCustomer(ctx.workspace(), *ext));
    if (!c) return NotFound("customer_id", "no customer " + *ext + " in this workspace");
    customer = c->id;
  }
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListLoyaltyRedemptions(ctx.workspace(), customer, after, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  TREU_ASSIGN_OR_RETURN(auto rewards, ctx.store.ListLoyaltyRewards(ctx.workspace()));
  json data = json::array();
  for (const LoyaltyRedemption& r : page) {
    TREU_ASSIGN_OR_RETURN(std::string ext, ExternalId(ctx, r.customer));
    for (const LoyaltyReward& reward : rewards) {
      if (reward.id == r.reward_id) data.push_back(loyalty::RedemptionJson(r, ext, reward));
    }
  }
  return JsonResponse({{"data", data}, {"next_cursor", more ? json(CursorAfter(page.back().row)) : json(nullptr)}});
}

Result<HttpResponse> GetRedemption(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindLoyaltyRedemption(ctx.workspace(), id));
  if (!found) return NotFound("redemption " + id, "no such redemption in this workspace");
  return RedemptionResponse(ctx, *found);
}

// ---- Report ----

Result<HttpResponse> GetReport(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(loyalty::Program program, loyalty::LoadProgram(ctx.store, ws));
  TREU_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Find(ws.time_zone));
  const CivilDate today = zone.LocalDate(ctx.clock.Now());
  PeriodKind by = PeriodKind::kMonth;
  if (const std::string* b = ctx.request.Query("by")) {
    auto parsed = ParsePeriodKind(*b);
    if (!parsed) return InvalidArgument("by", "must be day, week, month, quarter or year");
    by = *parsed;
  }
  int count = 12;
  if (const std::string* n = ctx.request.Query("periods")) {
    auto [p, ec] = std::from_chars(n->data(), n->data() + n->size(), count);
    if (ec != std::errc() || p != n->data() + n->size() || count < 1 || count > 366) {
      return InvalidArgument("periods", "must be a whole number from 1 to 366");
    }
  }
  std::vector<std::pair<std::string, std::pair<Timestamp, Timestamp>>> periods;
  const Period last = Period::Containing(by, today);
  for (int i = count - 1; i >= 0; --i) {
    const Period p = last.Shift(-i);
    periods.push_back({p.Label(), {p.Start(zone), p.End(zone)}});
  }
  std::vector<std::string> tiers;
  for (const loyalty::Tier& t : program.tiers) tiers.push_back(t.name);
  TREU_ASSIGN_OR_RETURN(auto report, loyalty::BuildReport(ctx.store, ws.id, periods.front().second.first,
                                                          periods.back().second.second, periods, tiers));
  auto flow = [](const loyalty::PointsFlow& f) {
    return json{{"period", f.period}, {"issued", f.issued}, {"reversed", f.reversed}, {"redeemed", f.redeemed},
                {"expired", f.expired}, {"debited", f.debited}};
  };
  json flows = json::array();
  for (const auto& f : report.flows) flows.push_back(flow(f));
  json tier_counts = json::array();
  for (const auto& [name, members] : report.tiers) tier_counts.push_back({{"tier", name}, {"members", members}});
  return JsonResponse({{"members", report.members},
                       {"liability", {{"total", report.liability}, {"available", report.available},
                                      {"pending", report.pending}, {"held", report.held}}},
                       {"flows", flows},
                       {"total", flow(report.total)},
                       {"redemption_rate", report.redemption_rate},
                       {"breakage_rate", report.breakage_rate},
                       {"expected_breakage", report.expected_breakage},
                       {"tiers", tier_counts}});
}

}  // namespace

std::vector<Route> LoyaltyRoutes() {
  const Access read = Access::Requires(Scope::kRead);
  const Access write = Access::Requires(Scope::kWrite);
  const Access admin = Access::Requires(Scope::kAdmin);
  return {
      {"GET", "/api/v1/loyalty/program", read, "The loyalty program: earn rules, multipliers, tiers, expiry",
       GetProgram, "LoyaltyProgram"},
      {"PUT", "/api/v1/loyalty/program", admin,
       "Set the loyalty program (docs/loyalty.md); errors name the member as a JSON pointer", PutProgram,
       "LoyaltyProgram"},
      {"GET", "/api/v1/loyalty/rules", read, "The program's earn rules and multipliers",
       GetPart({"rules", "multipliers"}), "LoyaltyRules"},
      {"PUT", "/api/v1/loyalty/rules", admin, "Replace the earn rules and/or multipliers",
       PutPart({"rules", "multipliers"}), "LoyaltyRules"},
      {"GET", "/api/v1/loyalty/tiers", read, "The program's tiers and qualifying window",
       GetPart({"tiers", "tier_window_days"}), "LoyaltyTiers"},
      {"PUT", "/api/v1/loyalty/tiers", admin, "Replace the tiers and/or the qualifying window",
       PutPart({"tiers", "tier_window_days"}), "LoyaltyTiers"},
      {"GET", "/api/v1/loyalty/rewards", read, "The reward catalogue, by name", ListRewards, "LoyaltyRewardList"},
      {"GET", "/api/v1/loyalty/rewards/{name}", read, "One reward", GetReward, "LoyaltyReward"},
      {"PUT", "/api/v1/loyalty/rewards/{name}", admin, "Create or replace a reward", PutReward, "LoyaltyReward"},
      {"POST", "/api/v1/loyalty/rewards/{name}/codes", admin,
       "Add voucher codes to a voucher reward's pool ({\"codes\": [...]}); codes already stored are skipped",
       AddCodes, "LoyaltyCodesAdded"},
      {"GET", "/api/v1/loyalty/customers/{id}/wallet", read,
       "A customer's points (available, pending, held), tier and referral code", GetWallet, "LoyaltyWallet"},
      {"GET", "/api/v1/loyalty/customers/{id}/transfers", read, "A customer's point transfers, oldest first",
       ListTransfers, "LoyaltyTransferList",
       {{"limit", "page size, 1 to 500 (default 50)"}, {"cursor", "next_cursor of the previous page"}}},
      {"POST", "/api/v1/loyalty/customers/{id}/transfers", write,
       "Earn, adjust (±) or redeem points: {\"kind\", \"points\", \"reason\", \"expires_at\", \"pending_until\"}; "
       "the Idempotency-Key names the transfer, so a retry is answered with the original (201 when new)",
       nullptr, "LoyaltyTransferResult", {}, PostTransfer, 201},
      {"POST", "/api/v1/loyalty/customers/{id}/referral-code", write,
       "The customer's referral code, made on first call", nullptr, "LoyaltyReferralCode", {}, PostReferralCode},
      {"POST", "/api/v1/loyalty/customers/{id}/referrer", write,
       "Record who referred a new customer: {\"referral_code\"}; both earn at the customer's first order",
       nullptr, "LoyaltyReferred", {}, PostReferrer},
      {"GET", "/api/v1/loyalty/redemptions", read, "Reward redemptions, oldest first", ListRedemptions,
       "LoyaltyRedemptionList",
       {{"customer_id", "only this customer's"},
        {"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"}}},
      {"POST", "/api/v1/loyalty/redemptions", write,
       "Redeem a reward: {\"customer_id\", \"reward\"} holds its points (and stock, and a voucher code) until "
       "confirmed or released; the hold lapses after the program's hold_minutes. The Idempotency-Key names the "
       "redemption (201 when new)",
       nullptr, "LoyaltyRedemption", {}, PostRedemption, 201},
      {"GET", "/api/v1/loyalty/redemptions/{id}", read, "One redemption", GetRedemption, "LoyaltyRedemption"},
      {"POST", "/api/v1/loyalty/redemptions/{id}/confirm", write,
       "Confirm a held redemption: the points are spent and a voucher code is shown", nullptr, "LoyaltyRedemption",
       {}, CloseRedemption(true)},
      {"POST", "/api/v1/loyalty/redemptions/{id}/release", write,
       "Release a held redemption: points, stock and code go back", nullptr, "LoyaltyRedemption", {},
       CloseRedemption(false)},
      {"GET", "/api/v1/loyalty/report", read,
       "Points liability, issued/redeemed/expired per period, expected breakage, members per tier", GetReport,
       "LoyaltyReport",
       {{"by", "day, week, month (default), quarter or year"}, {"periods", "how many periods back, 1 to 366 (default 12)"}}},
  };
}

}  // namespace treu::api
