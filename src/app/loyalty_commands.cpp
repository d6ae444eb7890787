#include "app/loyalty_commands.hpp"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "access/keys.hpp"
#include "core/money.hpp"
#include "core/period.hpp"
#include "loyalty/catalog.hpp"
#include "loyalty/report.hpp"
#include "loyalty/service.hpp"
#include "loyalty/surprises.hpp"
#include "loyalty/worker.hpp"

namespace treu::app {
namespace {

using nlohmann::json;

struct LoyaltyFlags {
  std::string action;
  std::vector<std::string> args;
  bool json = false;
  std::string reason;
  std::string key;
  std::string expires;
  std::string codes;  // rewards: a file of voucher codes, one per line
  bool confirm = false;
  std::string referred_by;
  std::string by = "month";
  int periods = 12;
  int limit = 50;
};

Result<json> ReadJsonFile(const std::string& path) {
  TREU_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return InvalidArgument(path, "is not valid JSON");
  return j;
}

void Print(const json& j) { std::printf("%s\n", j.dump(2).c_str()); }

Result<Customer> CustomerNamed(OpenedWorkspace& w, const std::string& ext) {
  TREU_ASSIGN_OR_RETURN(auto c, w.store->FindCustomer(w.ws.id, ext));
  if (!c) return NotFound("customer " + ext, "no such customer");
  return std::move(*c);
}

// Runs `work` in one loyalty transaction of the opened workspace.
Status InBatch(Context& ctx, OpenedWorkspace& w, const std::function<Status(loyalty::LoyaltyBatch&)>& work) {
  TREU_ASSIGN_OR_RETURN(loyalty::Program program, loyalty::LoadProgram(*w.store, w.ws));
  TREU_ASSIGN_OR_RETURN(auto batch, loyalty::LoyaltyBatch::Begin(*w.store, w.ws, program, ctx.clock.Now(), nullptr));
  TREU_RETURN_IF_ERROR(work(*batch));
  return batch->Commit();
}

// program / rules / tiers: print the part, or replace it from FILE.
int Part(Context& ctx, OpenedWorkspace& w, const std::vector<std::string>& names, const LoyaltyFlags& f) {
  auto stored = w.store->FindLoyaltyProgram(w.ws.id);
  if (!stored) return Fail(stored.error());
  const bool whole = names.empty();
  if (f.args.empty()) {
    if (!*stored) return Fail(Error(ErrorCode::kNotFound, "loyalty program", "none yet; set one: treu loyalty program FILE"));
    const json all = loyalty::ProgramRecordJson(**stored);
    if (whole) {
      Print(all);
    } else {
      json out = json::object();
      for (const std::string& n : names) out[n] = all.value(n, json());
      Print(out);
    }
    return 0;
  }
  auto body = ReadJsonFile(f.args[0]);
  if (!body) return Fail(body.error());
  auto saved = whole ? loyalty::SaveProgram(*w.store, w.ws, *body, ctx.clock.Now())
                     : loyalty::SaveProgramParts(*w.store, w.ws, *body, names, ctx.clock.Now());
  if (!saved) return Fail(saved.error().WithContext(f.args[0]));
  std::printf("loyalty program saved\n");
  return 0;
}

int Rewards(Context& ctx, OpenedWorkspace& w, const LoyaltyFlags& f) {
  if (f.args.empty()) {
    auto all = w.store->ListLoyaltyRewards(w.ws.id);
    if (!all) return Fail(all.error());
    if (f.json) {
      json data = json::array();
      for (const LoyaltyReward& r : *all) data.push_back(loyalty::RewardJson(r));
      Print(data);
      return 0;
    }
    std::printf("%-24s %-12s %8s %8s %8s  %s\n", "name", "kind", "points", "stock", "redeemed", "title");
    for (const LoyaltyReward& r : *all) {
      std::printf("%-24s %-12s %8lld %8s %8lld  %s%s\n", r.name.c_str(), r.kind.c_str(), static_cast<long long>(r.points),
                  r.stock ? std::to_string(*r.stock).c_str() : "-", static_cast<long long>(r.redeemed), r.title.c_str(),
                  r.active ? "" : " (inactive)");
    }
    return 0;
  }
  const std::string& name = f.args[0];
  if (f.args.size() == 2) {
    auto body = ReadJsonFile(f.args[1]);
    if (!body) return Fail(body.error());
    auto saved = loyalty::SaveReward(*w.store, w.ws.id, name, *body, ctx.clock.Now());
    if (!saved) return Fail(saved.error().WithContext(f.args[1]));
    std::printf("reward %s saved\n", name.c_str());
  }
  if (!f.codes.empty()) {
    auto reward = w.store->FindLoyaltyReward(w.ws.id, name);
    if (!reward) return Fail(reward.error());
    if (!*reward) return Fail(Error(ErrorCode::kNotFound, "reward " + name, "no such reward"));
    if ((*reward)->kind != "voucher") return Fail(Error(ErrorCode::kInvalidArgument, "--codes", "only voucher rewards have codes"));
    std::ifstream in(f.codes);
    if (!in) return Fail(Error(ErrorCode::kInvalidArgument, f.codes, "can't read the file"));
    std::vector<std::string> codes;
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) codes.push_back(line);
    }
    auto added = w.store->AddLoyaltyRewardCodes(w.ws.id, (*reward)->id, codes);
    if (!added) return Fail(added.error());
    std::printf("%lld codes added, %lld already known\n", static_cast<long long>(*added),
                static_cast<long long>(codes.size()) - static_cast<long long>(*added));
  }
  auto reward = w.store->FindLoyaltyReward(w.ws.id, name);
  if (!reward) return Fail(reward.error());
  if (!*reward) return Fail(Error(ErrorCode::kNotFound, "reward " + name, "no such reward"));
  if (f.args.size() == 1 && f.codes.empty()) Print(loyalty::RewardJson(**reward));
  return 0;
}

int Balance(OpenedWorkspace& w, const LoyaltyFlags& f) {
  auto c = CustomerNamed(w, f.args[0]);
  if (!c) return Fail(c.error());
  auto m = w.store->FindLoyaltyMember(w.ws.id, c->id);
  if (!m) return Fail(m.error());
  LoyaltyMember member = m->value_or(LoyaltyMember{});
  member.customer = c->id;
  const json j = loyalty::MemberJson(member, c->external_id);
  if (f.json) {
    Print(j);
    return 0;
  }
  std::printf("customer   %s\navailable  %lld\npending    %lld\nheld       %lld\nearned     %lld\nredeemed   %lld\n",
              c->external_id.c_str(), static_cast<long long>(member.available), static_cast<long long>(member.pending),
              static_cast<long long>(member.held), static_cast<long long>(member.earned),
              static_cast<long long>(member.redeemed));
  if (!member.tier.empty()) {
    std::printf("tier       %s since %s%s\n", member.tier.c_str(), FormatTimestamp(member.tier_since).c_str(),
                member.tier_review_at ? (", reviewed " + FormatTimestamp(*member.tier_review_at)).c_str() : "");
  }
  if (!member.referral_code.empty()) std::printf("referral   %s\n", member.referral_code.c_str());
  return 0;
}

int History(OpenedWorkspace& w, const LoyaltyFlags& f) {
  auto c = CustomerNamed(w, f.args[0]);
  if (!c) return Fail(c.error());
  std::int64_t after = 0;
  json all = json::array();
  if (!f.json) std::printf("%-6s %-22s %-14s %10s  %-36s %s\n", "seq", "at", "kind", "points", "id", "reason");
  while (true) {
    auto page = w.store->ListLoyaltyTransfers(w.ws.id, c->id, after, 1000);
    if (!page) return Fail(page.error());
    if (page->empty()) break;
    for (const LoyaltyTransferRecord& t : *page) {
      after = t.seq;
      if (f.json) {
        all.push_back(loyalty::TransferJson(t));
        continue;
      }
      // Points seen from the customer's side: into their accounts +, out of them −.
      const bool into_wallet = t.to_account.starts_with("wallet:") || t.to_account.starts_with("pending:");
      const bool out_of_wallet = t.from_account.starts_with("wallet:") || t.from_account.starts_with("pending:");
      const long long signed_points = into_wallet && !out_of_wallet   ? t.points
                                      : out_of_wallet && !into_wallet ? -t.points
                                                                      : 0;
      std::printf("%-6lld %-22s %-14s %+10lld  %-36s %s\n", static_cast<long long>(t.seq), FormatTimestamp(t.at).c_str(),
                  t.kind.c_str(), signed_points, t.id.c_str(), t.reason.c_str());
    }
  }
  if (f.json) Print(all);
  return 0;
}

int Adjust(Context& ctx, OpenedWorkspace& w, const LoyaltyFlags& f) {
  auto c = CustomerNamed(w, f.args[0]);
  if (!c) return Fail(c.error());
  loyalty::ManualTransfer t;
  t.kind = "adjust";
  auto points = ParseFixedPoint(f.args[1], 0);
  if (!points || *points == 0) {
    return Fail(Error(ErrorCode::kInvalidArgument, "POINTS", "must be a whole number of points, not 0 (negative debits)"));
  }
  t.points = *points;
  if (f.reason.empty()) return Fail(Error(ErrorCode::kInvalidArgument, "--reason", "say why the points change"));
  t.reason = f.reason;
  // Without --key the adjustment is named by customer, points, reason and the minute, so a
  // command repeated by mistake within the minute is recognised.
  const std::string key = f.key.empty() ? f.args[0] + ":" + f.args[1] + ":" +
                                              std::to_string(ctx.clock.Now().micros / (60 * kMicrosPerSecond))
                                        : f.key;
  t.id = "admin:" + Sha256Hex(key + "\n" + f.reason).substr(0, 32);
  if (!f.expires.empty()) {
    auto at = ParseTimestamp(f.expires, TimeZone::Utc());
    if (!at) return Fail(at.error().WithContext("--expires"));
    t.expires_at = *at;
  }
  t.source = loyalty::Source{loyalty::SourceKind::kAdmin, "cli", std::nullopt};
  loyalty::Posting posting;
  auto done = InBatch(ctx, w, [&](loyalty::LoyaltyBatch& batch) -> Status {
    TREU_ASSIGN_OR_RETURN(posting, batch.Manual(c->id, t));
    return {};
  });
  if (!done) return Fail(done.error());
  std::printf("%s %+lld points for %s (%s)%s\n", posting.replayed ? "already adjusted:" : "adjusted", static_cast<long long>(t.points),
              c->external_id.c_str(), posting.transfer.id.c_str(), "");
  return 0;
}

int Redeem(Context& ctx, OpenedWorkspace& w, const LoyaltyFlags& f) {
  auto c = CustomerNamed(w, f.args[0]);
  if (!c) return Fail(c.error());
  auto reward = w.store->FindLoyaltyReward(w.ws.id, f.args[1]);
  if (!reward) return Fail(reward.error());
  if (!*reward) return Fail(Error(ErrorCode::kNotFound, "reward " + f.args[1], "no such reward"));
  const std::string id = f.key.empty() ? "cli:" + std::to_string(ctx.clock.Now().micros) + ":" + std::to_string(c->id.value)
                                       : "cli:" + f.key;
  loyalty::RedemptionResult result;
  auto done = InBatch(ctx, w, [&](loyalty::LoyaltyBatch& batch) -> Status {
    TREU_ASSIGN_OR_RETURN(result, batch.HoldReward(c->id, **reward, id));
    if (f.confirm) {
      TREU_ASSIGN_OR_RETURN(result, batch.ConfirmRedemption(id));
    }
    return {};
  });
  if (!done) return Fail(done.error());
  Print(loyalty::RedemptionJson(result.redemption, c->external_id, result.reward));
  return 0;
}

int Close(Context& ctx, OpenedWorkspace& w, const LoyaltyFlags& f) {
  loyalty::RedemptionResult result;
  auto done = InBatch(ctx, w, [&](loyalty::LoyaltyBatch& batch) -> Status {
    TREU_ASSIGN_OR_RETURN(result, f.action == "confirm" ? batch.ConfirmRedemption(f.args[0])
                                                        : batch.ReleaseRedemption(f.args[0]));
    return {};
  });
  if (!done) return Fail(done.error());
  auto ext = w.store->CustomerExternalId(w.ws.id, result.redemption.customer);
  if (!ext) return Fail(ext.error());
  Print(loyalty::RedemptionJson(result.redemption, ext->value_or(""), result.reward));
  return 0;
}

int Referral(Context& ctx, OpenedWorkspace& w, const LoyaltyFlags& f) {
  auto c = CustomerNamed(w, f.args[0]);
  if (!c) return Fail(c.error());
  std::string code;
  auto done = InBatch(ctx, w, [&](loyalty::LoyaltyBatch& batch) -> Status {
    if (!f.referred_by.empty()) return batch.SetReferrer(c->id, f.referred_by);
    TREU_ASSIGN_OR_RETURN(code, batch.ReferralCode(c->id));
    return {};
  });
  if (!done) return Fail(done.error());
  if (f.referred_by.empty()) {
    std::printf("%s\n", code.c_str());
  } else {
    std::printf("%s was referred by the owner of %s\n", c->external_id.c_str(), f.referred_by.c_str());
  }
  return 0;
}

int Process(Context& ctx, OpenedWorkspace& w) {
  auto stats = loyalty::ProcessChanges(*w.store, w.ws, ctx.clock, nullptr);
  if (!stats) return Fail(stats.error());
  auto due = loyalty::RunDueWork(*w.store, w.ws, ctx.clock, nullptr);
  if (!due) return Fail(due.error());
  auto surprises = loyalty::RunSurprises(*w.store, w.ws, ctx.clock, nullptr, nullptr);
  if (!surprises) return Fail(surprises.error());
  std::printf("%lld orders and %lld events looked at; %lld members with something due; %lld surprises granted\n",
              static_cast<long long>(stats->orders), static_cast<long long>(stats->events), static_cast<long long>(*due),
              static_cast<long long>(*surprises));
  return 0;
}

// `treu loyalty verify`: replays the stored ledger and checks it; exit 1 on any problem.
int Verify(OpenedWorkspace& w) {
  auto report = loyalty::VerifyLedger(*w.store, w.ws.id);
  if (!report) return Fail(report.error());
  for (const std::string& p : report->problems) std::fprintf(stderr, "treu: %s\n", p.c_str());
  std::printf("%lld members, %lld transfers replayed, %lld points outstanding: %s\n",
              static_cast<long long>(report->members), static_cast<long long>(report->transfers),
              static_cast<long long>(report->points_outstanding),
              report->problems.empty() ? "the ledger is consistent" : "PROBLEMS FOUND");
  return report->problems.empty() ? 0 : 1;
}

int Report(Context& ctx, OpenedWorkspace& w, const LoyaltyFlags& f) {
  auto program = loyalty::LoadProgram(*w.store, w.ws);
  if (!program) return Fail(program.error());
  auto zone = TimeZone::Find(w.ws.time_zone);
  if (!zone) return Fail(zone.error());
  auto kind = ParsePeriodKind(f.by);
  if (!kind) return Fail(kind.error());
  std::vector<std::pair<std::string, std::pair<Timestamp, Timestamp>>> periods;
  const Period last = Period::Containing(*kind, zone->LocalDate(ctx.clock.Now()));
  for (int i = f.periods - 1; i >= 0; --i) {
    const Period p = last.Shift(-i);
    periods.push_back({p.Label(), {p.Start(*zone), p.End(*zone)}});
  }
  std::vector<std::string> tiers;
  for (const loyalty::Tier& t : program->tiers) tiers.push_back(t.name);
  auto r = loyalty::BuildReport(*w.store, w.ws.id, periods.front().second.first, periods.back().second.second, periods,
                                tiers);
  if (!r) return Fail(r.error());
  std::printf("members            %lld\n", static_cast<long long>(r->members));
  std::printf("liability          %lld points (available %lld, pending %lld, held %lld)\n",
              static_cast<long long>(r->liability), static_cast<long long>(r->available),
              static_cast<long long>(r->pending), static_cast<long long>(r->held));
  std::printf("redemption rate    %.1f %%\n", 100 * r->redemption_rate);
  std::printf("breakage rate      %.1f %% (expected breakage %lld points)\n", 100 * r->breakage_rate,
              static_cast<long long>(r->expected_breakage));
  for (const auto& [tier, members] : r->tiers) std::printf("tier %-13s %lld members\n", tier.c_str(), static_cast<long long>(members));
  std::printf("\n%-12s %10s %10s %10s %10s %10s\n", "period", "issued", "reversed", "redeemed", "expired", "debited");
  for (const auto& flow : r->flows) {
    std::printf("%-12s %10lld %10lld %10lld %10lld %10lld\n", flow.period.c_str(), static_cast<long long>(flow.issued),
                static_cast<long long>(flow.reversed), static_cast<long long>(flow.redeemed),
                static_cast<long long>(flow.expired), static_cast<long long>(flow.debited));
  }
  return 0;
}

}  // namespace

std::function<int()> SetupLoyalty(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<LoyaltyFlags>();
  cmd.add_option("ACTION", f->action,
                 "program [FILE] (show or set the program, docs/loyalty.md), rules [FILE], tiers [FILE], rewards [NAME "
                 "[FILE]] (list, show or set; --codes adds voucher codes), balance CUSTOMER, history CUSTOMER, adjust "
                 "CUSTOMER POINTS --reason, redeem CUSTOMER REWARD [--confirm], confirm ID, release ID, referral "
                 "CUSTOMER [--referred-by CODE], process (earn on new orders and events, run expiry), report, verify "
                 "(replay the stored ledger and check it)")
      ->required()
      ->check(CLI::IsMember({"program", "rules", "tiers", "rewards", "balance", "history", "adjust", "redeem", "confirm",
                             "release", "referral", "process", "report", "verify"}));
  cmd.add_option("ARGS", f->args, "FILE, NAME, CUSTOMER, POINTS, REWARD or ID");
  cmd.add_flag("--json", f->json, "balance, history, rewards: JSON");
  cmd.add_option("--reason", f->reason, "adjust: why (kept with the transfer)");
  cmd.add_option("--key", f->key, "adjust, redeem: an idempotency key, so running the command again changes nothing");
  cmd.add_option("--expires", f->expires, "adjust: when credited points expire (RFC 3339; default: the program's expiry)");
  cmd.add_option("--codes", f->codes, "rewards NAME: add the voucher codes in this file, one per line");
  cmd.add_flag("--confirm", f->confirm, "redeem: confirm at once (else the points are held until confirm ID)");
  cmd.add_option("--referred-by", f->referred_by, "referral: record that CUSTOMER was referred by this code");
  cmd.add_option("--by", f->by, "report: day, week, month (default), quarter or year")
      ->check(CLI::IsMember({"day", "week", "month", "quarter", "year"}));
  cmd.add_option("--periods", f->periods, "report: how many periods back (default 12)")->check(CLI::Range(1, 366));
  return [f, &ctx]() -> int {
    static const std::map<std::string, std::pair<std::size_t, std::size_t>> kArgs = {
        {"program", {0, 1}}, {"rules", {0, 1}},   {"tiers", {0, 1}},    {"rewards", {0, 2}},  {"balance", {1, 1}},
        {"history", {1, 1}}, {"adjust", {2, 2}},  {"redeem", {2, 2}},   {"confirm", {1, 1}},  {"release", {1, 1}},
        {"referral", {1, 1}}, {"process", {0, 0}}, {"report", {0, 0}}, {"verify", {0, 0}}};
    const auto [min, max] = kArgs.at(f->action);
    if (f->args.size() < min || f->args.size() > max) {
      return Fail(Error(ErrorCode::kInvalidArgument, "loyalty " + f->action,
                        "takes " + std::to_string(min) + (min == max ? "" : " to " + std::to_string(max)) +
                            " arguments; see treu loyalty --help"));
    }
    // Setting the program creates the workspace on first use (as imports do); everything else
    // needs an existing one.
    const bool defines = f->action == "program" && !f->args.empty();
    Result<OpenedWorkspace> w = defines ? Result<OpenedWorkspace>(OpenedWorkspace{}) : ctx.OpenWorkspace();
    if (defines) {
      auto store = ctx.OpenStore();
      if (!store) return Fail(store.error());
      auto ws = ctx.EnsureWorkspace(**store);
      if (!ws) return Fail(ws.error());
      w = OpenedWorkspace{std::move(*store), *ws};
    }
    if (!w) return Fail(w.error());
    if (f->action == "program") return Part(ctx, *w, {}, *f);
    if (f->action == "rules") return Part(ctx, *w, {"rules", "multipliers"}, *f);
    if (f->action == "tiers") return Part(ctx, *w, {"tiers", "tier_window_days"}, *f);
    if (f->action == "rewards") return Rewards(ctx, *w, *f);
    if (f->action == "balance") return Balance(*w, *f);
    if (f->action == "history") return History(*w, *f);
    if (f->action == "adjust") return Adjust(ctx, *w, *f);
    if (f->action == "redeem") return Redeem(ctx, *w, *f);
    if (f->action == "confirm" || f->action == "release") return Close(ctx, *w, *f);
    if (f->action == "referral") return Referral(ctx, *w, *f);
    if (f->action == "process") return Process(ctx, *w);
    if (f->action == "verify") return Verify(*w);
    return Report(ctx, *w, *f);
  };
}

}  // namespace treu::app
