#include "campaigns/service.hpp"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <future>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "campaigns/assignment.hpp"
#include "messaging/composer.hpp"
#include "messaging/settings.hpp"
#include "segments/library.hpp"
#include "surveys/invitations.hpp"

namespace treu::campaigns {
namespace {

constexpr std::size_t kBatch = 10'000;
constexpr std::int64_t kHour = 3600 * kMicrosPerSecond;
constexpr std::int64_t kEarliestOffset = 14 * kHour;  // UTC+14, the first zone to see a date
constexpr std::int64_t kEngagementHistory = 90 * kMicrosPerDay;

bool Editable(CampaignState s) { return s == CampaignState::kDraft || s == CampaignState::kScheduled; }

std::string VariantContext(std::size_t i, std::string_view field) {
  return "variants." + std::to_string(i) + "." + std::string(field);
}

Result<std::vector<MessageTemplateRecord>> VariantTemplates(Store& store, WorkspaceId ws, const CampaignRecord& c) {
  std::vector<MessageTemplateRecord> out;
  for (std::size_t i = 0; i < c.variants.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(auto t, store.FindMessageTemplate(ws, c.variants[i].template_name));
    if (!t) return NotFound(VariantContext(i, "template"), "no template '" + c.variants[i].template_name + "' in this workspace");
    out.push_back(std::move(*t));
  }
  return out;
}

Split SplitOf(const CampaignRecord& c, const SplitKey& key) {
  Split s;
  s.key = key;
  s.holdout_permille = c.holdout_permille;
  s.test_permille = c.test_permille;
  s.weights.clear();
  for (const CampaignVariant& v : c.variants) s.weights.push_back(v.weight);
  return s;
}

// Time zones by name, found once.
class Zones {
 public:
  const TimeZone& Get(const std::string& name) {
    auto it = zones_.find(name);
    if (it != zones_.end()) return it->second;
    auto z = TimeZone::Find(name);
    return zones_.emplace(name, z ? *z : TimeZone::Utc()).first->second;
  }

 private:
  std::unordered_map<std::string, TimeZone> zones_;
};

// A survey wave's survey, what its schedule knows of every customer, and where its links point.
struct Wave {
  survey::Survey survey;
  survey::RecordedFacts recorded;
  survey::InviteOptions options;
};

Result<std::optional<Wave>> WaveOf(Store& store, const Workspace& ws, const CampaignRecord& c,
                                   const survey::SurveyReader& read_survey) {
  if (c.survey.empty()) return std::nullopt;
  TREU_ASSIGN_OR_RETURN(auto record, store.FindSurvey(ws.id, c.survey));
  if (!record) return NotFound("survey", "no survey named '" + c.survey + "' in this workspace");
  if (!read_survey) return Internal("survey", "no survey reader was given");
  Wave wave;
  TREU_ASSIGN_OR_RETURN(wave.survey, read_survey(*record));
  TREU_ASSIGN_OR_RETURN(wave.recorded, survey::LoadRecordedFacts(store, ws.id, wave.survey));
  TREU_ASSIGN_OR_RETURN(auto settings, messaging::LoadMessagingSettings(store, ws.id));
  if (settings.public_url.empty())
    return FailedPrecondition("survey", "the invitation links need the workspace's public URL, the address customers "
                                        "reach treu at (messaging settings: public_url)");
  wave.options.base_url = settings.public_url;
  return wave;
}

// Renders planned members of `c` due before `before` (at most `limit`; 0: all) with `composer`.
Result<MaterializeReport> Render(Store& store, const Workspace& ws, const Snapshot& s,
                                 const messaging::Composer& composer, const std::optional<Wave>& wave,
                                 const CampaignRecord& c, std::span<const std::uint8_t> secret, Timestamp now,
                                 Timestamp before, std::int64_t limit) {
  MaterializeReport out;
  std::unordered_map<std::int64_t, Snapshot::Index> index;
  const std::string key = CampaignKey(c.id);
  while (limit <= 0 || out.members < limit) {
    const std::int64_t want = limit <= 0 ? std::int64_t{kBatch} : std::min<std::int64_t>(kBatch, limit - out.members);
    TREU_ASSIGN_OR_RETURN(auto page, store.ListPlannedMembers(ws.id, c.id, before, static_cast<int>(want)));
    if (page.empty()) break;
    if (index.empty()) {
      index.reserve(s.customers());
      for (Snapshot::Index i = 0; i < s.customers(); ++i) index.emplace(s.customer_id(i).value, i);
    }
    std::vector<OutboxMessage> batch;
    batch.reserve(page.size());
    for (CampaignMember& m : page) {
      m.planned = false;
      auto it = index.find(m.customer.value);
      if (it == index.end() || m.arm < 0 || static_cast<std::size_t>(m.arm) >= c.variants.size()) {
        m.outcome = "failed";  // erased since the launch, or an arm the campaign no longer has
        ++out.failed;
        continue;
      }
      const Snapshot::Index i = it->second;
      std::string link;
      if (wave) {
        // The invitation made at launch, found again under the member's message key.
        std::optional<Timestamp> last_order;
        if (const auto times = s.order_times(i); !times.empty()) last_order = Timestamp{times.back()};
        const survey::ScheduleFacts facts = survey::FactsOf(wave->survey, wave->recorded, m.customer, last_order);
        TREU_ASSIGN_OR_RETURN(auto invited,
                              survey::InviteWithKey(store, ws, wave->survey, m.customer, facts,
                                                    key + ":" + s.external_id(i), wave->options, secret, now));
        if (invited.reason != survey::NotDue::kDue) {
          m.outcome = "survey_" + std::string(survey::NotDueName(invited.reason));
          continue;
        }
        link = std::move(invited.link);
      }
      const messaging::Composer::Envelope envelope{"marketing", c.name, key, m.due, now, std::move(link)};
      if (auto composed = composer.Compose(static_cast<std::size_t>(m.arm), i, envelope, batch); !composed) {
        std::fprintf(stderr, "treu: campaign %s: %s\n", c.name.c_str(), composed.error().ToString().c_str());
        m.outcome = "failed";
        ++out.failed;
      }
    }
    // One transaction: members cancelled or capped meanwhile are left so, without a message.
    TREU_ASSIGN_OR_RETURN(const Store::RenderedPlans rendered, store.RenderPlannedMembers(ws.id, c.id, page, batch, now));
    out.members += rendered.members;
    out.messages += rendered.inserted;
    out.duplicates += rendered.offered - rendered.inserted;
    if (static_cast<std::int64_t>(page.size()) < want) break;
  }
  return out;
}

// Launching or previewing: one pass over the audience (or the members waiting for the winner).
Result<LaunchReport> Run(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                         PredictionCache* predictions, const CampaignRecord& c, std::span<const std::uint8_t> secret,
                         const survey::SurveyReader& read_survey, Timestamp now, bool write, const Progress& progress) {
  TREU_ASSIGN_OR_RETURN(auto templates, VariantTemplates(store, ws.id, c));
  TREU_ASSIGN_OR_RETURN(auto composer,
                        messaging::Composer::Prepare(store, ws, s, predictions, std::move(templates), secret, now));
  TREU_ASSIGN_OR_RETURN(const Split split, CampaignSplit(c));
  const Assigner assigner(split);
  TREU_ASSIGN_OR_RETURN(DeliveryRules rules, LoadDeliveryRules(store, ws.id));
  TREU_ASSIGN_OR_RETURN(const std::optional<Wave> wave, WaveOf(store, ws, c, read_survey));
  const bool winner_phase = c.winner >= 0;
  if (winner_phase && static_cast<std::size_t>(c.winner) >= c.variants.size())
    return Internal("winner", "the campaign's winner is not one of its variants");

  // Who: the audience, or the members waiting for the winner.
  std::vector<Snapshot::Index> who;
  if (!winner_phase) {
    TREU_ASSIGN_OR_RETURN(auto selected,
                          segment::SelectCustomersOn(store, ws, composer->data().segment_data(), c.where, c.segment));
    for (Snapshot::Index i = 0; i < s->customers(); ++i)
      if (selected[i]) who.push_back(i);
  } else {
    std::unordered_map<std::int64_t, Snapshot::Index> index;
    index.reserve(s->customers());
    for (Snapshot::Index i = 0; i < s->customers(); ++i) index.emplace(s->customer_id(i).value, i);
    for (CustomerId after;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store.ListCampaignMembers(ws.id, c.id, after, 100'000));
      for (const CampaignMember& m : page) {
        if (m.arm != kArmWaiting) continue;
        if (auto it = index.find(m.customer.value); it != index.end()) who.push_back(it->second);
      }
      if (page.size() < 100'000) break;
      after = page.back().customer;
    }
  }

  // When: the campaign's instant, its local time on its date, or the customer's best hour.
  const Timestamp base = std::max(now, c.send_at.value_or(now));
  std::optional<LocalTime> local;
  if (!c.local_time.empty()) {
    TREU_ASSIGN_OR_RETURN(local, ParseLocalTime(c.local_time, "local_time"));
  }
  const bool dated = local.has_value() && c.send_at.has_value() && !winner_phase;
  const CivilDate date = dated ? LocalSendDate(*c.send_at) : CivilDate{};
  std::unordered_map<std::int64_t, std::vector<Timestamp>> engagements;
  if (c.optimize_send_time) {
    TREU_ASSIGN_OR_RETURN(auto rows, store.ListEngagements(ws.id, Timestamp{now.micros - kEngagementHistory}));
    for (const EngagementRow& r : rows) engagements[r.customer.value].push_back(r.at);
  }
  // The frequency cap: every customer's marketing messages around the send, but this
  // campaign's own (a launch run again must not cap its members by their own messages).
  // Flat, by customer (each customer's in time order): a member's are found by binary search.
  std::vector<std::int64_t> history_customers;
  std::vector<CountedMessage> history;
  if (rules.cap.enabled()) {
    const Timestamp from{base.micros - rules.cap.window_micros - 2 * kMicrosPerDay};
    const Timestamp to{base.micros + rules.cap.window_micros + 3 * kMicrosPerDay};
    TREU_ASSIGN_OR_RETURN(auto rows, store.ListMarketingMessages(ws.id, from, to));
    std::erase_if(rows, [&](const MarketingMessageRow& r) { return r.campaign == c.name; });
    std::stable_sort(rows.begin(), rows.end(), [](const MarketingMessageRow& a, const MarketingMessageRow& b) {
      return a.customer.value < b.customer.value;
    });
    history_customers.reserve(rows.size());
    history.reserve(rows.size());
    for (const MarketingMessageRow& r : rows) {
      history_customers.push_back(r.customer.value);
      history.push_back({r.id, r.at, PriorityOfMessage(r.campaign), r.state == MessageState::kSent});
    }
  }
  auto history_of = [&](CustomerId id) -> std::span<const CountedMessage> {
    const auto [lo, hi] = std::equal_range(history_customers.begin(), history_customers.end(), id.value);
    return std::span(history).subspan(static_cast<std::size_t>(lo - history_customers.begin()),
                                      static_cast<std::size_t>(hi - lo));
  };
  Zones zones;
  const messaging::TemplateData& data = composer->data();
  auto due_of = [&](Snapshot::Index i, LaunchReport& report) {
    const TimeZone& zone = zones.Get(data.ZoneName(i));
    std::optional<int> best;
    if (c.optimize_send_time) {
      if (auto it = engagements.find(s->customer_id(i).value); it != engagements.end())
        best = BestLocalHour(it->second, zone);
    }
    Timestamp due = base;
    if (best || local) {
      const LocalTime at = best ? LocalTime{*best, 0} : *local;
      due = dated ? zone.ToUtc(date, at.micros()) : NextLocalTime(base, zone, at);
    }
    due = std::max(due, now);
    const Timestamp deferred = DeferPastQuietHours(due, zone, rules.quiet);
    if (best) ++report.optimized;
    if (deferred != due) ++report.deferred;
    return deferred;
  };

  LaunchReport report;
  report.per_variant.assign(c.variants.size(), 0);
  report.audience = static_cast<std::int64_t>(who.size());
  const std::string key = CampaignKey(c.id);
  std::vector<CampaignMember> members;
  // A batch of members is written (committed) on a second thread while the next one is worked
  // out: at most one write is under way, and the store is not otherwise used until it is waited
  // for. Batches are written in order.
  std::future<Status> writing;
  auto wait = [&]() -> Status { return writing.valid() ? writing.get() : Ok(); };
  auto flush = [&]() -> Status {
    if (!write) {
      members.clear();
      return Ok();
    }
    TREU_RETURN_IF_ERROR(wait());
    writing = std::async(std::launch::async, [&store, ws_id = ws.id, campaign_id = c.id, rows = std::move(members)] {
      return store.SaveCampaignMembers(ws_id, campaign_id, rows);
    });
    members = {};
    members.reserve(kBatch);
    return Ok();
  };
  std::int64_t done = 0;
  for (Snapshot::Index i : who) {
    const CustomerId id = s->customer_id(i);
    const Arm arm = winner_phase ? Arm{ArmKind::kVariant, c.winner} : assigner.Assign(id);
    CampaignMember m{id, 0, base, ""};
    if (arm.kind == ArmKind::kHoldout) {
      m.arm = kArmHoldout;
      m.due = due_of(i, report);  // when they would have got it: the report measures from there
      m.outcome = "held_out";
      ++report.holdout;
    } else if (arm.kind == ArmKind::kRemainder) {
      m.arm = kArmWaiting;
      m.outcome = "waiting";
      ++report.waiting;
    } else {
      m.arm = arm.variant;
      const messaging::Skip skip = composer->Check(i, /*marketing=*/true);
      if (skip != messaging::Skip::kNone) {
        m.outcome = std::string(messaging::SkipName(skip));
        switch (skip) {
          case messaging::Skip::kNoEmail: ++report.no_email; break;
          case messaging::Skip::kNoConsent: ++report.no_consent; break;
          case messaging::Skip::kSuppressed: ++report.suppressed; break;
          default: ++report.no_subscription; break;
        }
      } else {
        m.due = due_of(i, report);
        // (Each customer is a member once: their own message needn't join their history.)
        const std::span<const CountedMessage> mine = history_of(id);
        // A survey wave invites the customers its schedule finds due (recorded under the message's
        // key, so a launch run again finds the same invitation); the others get nothing.
        survey::NotDue not_due = survey::NotDue::kDue;
        const bool fits = DecideCap(rules.cap, Priority::kCampaign, m.due, mine).allowed;
        if (fits && wave) {
          std::optional<Timestamp> last_order;
          if (const auto times = s->order_times(i); !times.empty()) last_order = Timestamp{times.back()};
          const survey::ScheduleFacts facts = survey::FactsOf(wave->survey, wave->recorded, id, last_order);
          if (write) {
            TREU_RETURN_IF_ERROR(wait());  // the store is not shared with the batch being written
            TREU_ASSIGN_OR_RETURN(auto invited,
                                  survey::InviteWithKey(store, ws, wave->survey, id, facts,
                                                        key + ":" + s->external_id(i), wave->options, secret, now));
            not_due = invited.reason;
          } else {
            not_due = survey::CheckSchedule(wave->survey, facts, now);
          }
        }
        if (!fits) {
          m.outcome = "capped";
          ++report.capped;
        } else if (not_due != survey::NotDue::kDue) {
          m.outcome = "survey_" + std::string(survey::NotDueName(not_due));
          ++report.survey_not_due;
        } else {
          // Planned: the materialiser renders the message into the outbox shortly before it is due.
          m.outcome = "queued";
          m.planned = true;
          ++report.queued;
          ++report.per_variant[static_cast<std::size_t>(arm.variant)];
        }
      }
    }
    members.push_back(std::move(m));
    if (members.size() >= kBatch) {
      TREU_RETURN_IF_ERROR(flush());
      if (progress) progress(++done * static_cast<std::int64_t>(kBatch), report.audience);
    }
  }
  TREU_RETURN_IF_ERROR(flush());
  TREU_RETURN_IF_ERROR(wait());
  if (write) {
    // The first batch of what is due goes into the outbox at once; the materialiser does the rest.
    TREU_ASSIGN_OR_RETURN(const MaterializeReport first,
                          Render(store, ws, *s, *composer, wave, c, secret, now,
                                 Timestamp{now.micros + kMaterializeLeadMicros}, static_cast<std::int64_t>(kBatch)));
    report.rendered = first.messages;
    report.duplicates = first.duplicates;
  }
  if (progress) progress(report.audience, report.audience);
  return report;
}

}  // namespace

Result<Split> CampaignSplit(const CampaignRecord& c) {
  TREU_ASSIGN_OR_RETURN(SplitKey key, ParseSplitKey(c.split_key));
  Split split = SplitOf(c, key);
  TREU_RETURN_IF_ERROR(CheckSplit(split));
  return split;
}

// ---- Delivery rules ----

Result<DeliveryRules> LoadDeliveryRules(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto stored, store.FindDeliveryRules(ws));
  DeliveryRules rules;
  if (!stored) return rules;
  rules.cap = {stored->cap_messages, stored->cap_window_micros};
  TREU_ASSIGN_OR_RETURN(rules.quiet.start, ParseLocalTime(stored->quiet_start, "quiet_hours.start"));
  TREU_ASSIGN_OR_RETURN(rules.quiet.end, ParseLocalTime(stored->quiet_end, "quiet_hours.end"));
  return rules;
}

Result<DeliveryRulesRecord> SaveDeliveryRules(Store& store, DeliveryRulesRecord r, Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckFrequencyCap({r.cap_messages, r.cap_window_micros}));
  TREU_RETURN_IF_ERROR(ParseLocalTime(r.quiet_start, "quiet_hours.start"));
  TREU_RETURN_IF_ERROR(ParseLocalTime(r.quiet_end, "quiet_hours.end"));
  r.updated_at = now;
  TREU_RETURN_IF_ERROR(store.SaveDeliveryRules(r));
  return r;
}

messaging::HoldCheck QuietHoursHolds(Store& store) {
  // What a workspace's messages share, read at its first message of the batch.
  struct Quiet {
    DeliveryRules rules;
    std::string zone;  // the workspace's
  };
  auto workspaces = std::make_shared<std::unordered_map<std::int64_t, Quiet>>();
  return [&store, workspaces](const OutboxMessage& m, messaging::MessageCustomer& customer,
                              Timestamp now) -> Result<std::optional<messaging::Hold>> {
    if (m.category != "marketing" || !UnderDeliveryRules(m.idempotency_key)) return std::nullopt;
    auto it = workspaces->find(m.workspace.value);
    if (it == workspaces->end()) {
      Quiet quiet;
      TREU_ASSIGN_OR_RETURN(quiet.rules, LoadDeliveryRules(store, m.workspace));
      if (!quiet.rules.quiet.empty()) {
        TREU_ASSIGN_OR_RETURN(auto all, store.ListWorkspaces());
        for (const Workspace& w : all)
          if (w.id == m.workspace) quiet.zone = w.time_zone;
      }
      it = workspaces->emplace(m.workspace.value, std::move(quiet)).first;
    }
    const Quiet& quiet = it->second;
    if (quiet.rules.quiet.empty()) return std::nullopt;
    TREU_ASSIGN_OR_RETURN(const Customer* recipient, customer.Get());
    const std::string& zone_name = recipient && !recipient->time_zone.empty() ? recipient->time_zone : quiet.zone;
    auto found = TimeZone::Find(zone_name);
    const TimeZone zone = found ? *found : TimeZone::Utc();
    const Timestamp until = DeferPastQuietHours(now, zone, quiet.rules.quiet);
    if (until == now) return std::nullopt;
    return messaging::Hold{until, "inside the quiet hours " + FormatLocalTime(quiet.rules.quiet.start) + "–" +
                                      FormatLocalTime(quiet.rules.quiet.end) + " in " + zone.name()};
  };
}

// ---- Campaigns ----

Timestamp EarliestLocal(CivilDate date, LocalTime at) {
  return Timestamp{DaysFromCivil(date) * kMicrosPerDay + at.micros() - kEarliestOffset};
}

CivilDate LocalSendDate(Timestamp send_at) {
  const std::int64_t shifted = send_at.micros + kEarliestOffset;
  const std::int64_t days = shifted >= 0 ? shifted / kMicrosPerDay : -((-shifted + kMicrosPerDay - 1) / kMicrosPerDay);
  return CivilFromDays(days);
}

namespace {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A percentage in [low, high] with at most one decimal, as per mille.
Result<int> Permille(double percent, std::string_view field, double low, double high) {
  if (!(percent >= low && percent <= high))
    return InvalidArgument(std::string(field), "must be between " + Number(low) + " and " + Number(high));
  const double permille = percent * 10;
  if (std::fabs(permille - std::round(permille)) > 1e-9) return InvalidArgument(std::string(field), "has at most one decimal");
  return static_cast<int>(std::lround(permille));
}

Result<std::int64_t> Micros(double amount, std::int64_t unit, std::string_view field, double low, double high,
                            std::string_view what) {
  if (!(amount >= low && amount <= high)) return InvalidArgument(std::string(field), "must be " + std::string(what));
  return static_cast<std::int64_t>(std::llround(amount * static_cast<double>(unit)));
}

}  // namespace

Result<CampaignRecord> ApplyCampaignChange(const CampaignRecord* existing, std::string name, const CampaignChange& change) {
  CampaignRecord c = existing ? *existing : CampaignRecord{};
  c.name = std::move(name);
  if (!existing) c.test_window_micros = 4 * kHour;
  if (change.segment) c.segment = *change.segment;
  if (change.where) c.where = *change.where;
  if (change.variants) c.variants = *change.variants;
  else if (!existing) return InvalidArgument("variants", "is required: [{\"template\": ..., \"weight\": ...}]");
  if (change.holdout_percent) {
    TREU_ASSIGN_OR_RETURN(c.holdout_permille, Permille(*change.holdout_percent, "holdout_percent", 0, 50));
  }
  if (change.test_percent) {
    TREU_ASSIGN_OR_RETURN(c.test_permille, Permille(*change.test_percent, "test_percent", 0.1, 100));
  }
  if (change.winner_metric) c.winner_metric = *change.winner_metric;
  if (change.test_window_hours) {
    TREU_ASSIGN_OR_RETURN(c.test_window_micros, Micros(*change.test_window_hours, kHour, "test_window_hours", 1, 720,
                                                       "between 1 and 720 hours"));
  }
  if (change.goal_window_days) {
    TREU_ASSIGN_OR_RETURN(c.goal_window_micros, Micros(*change.goal_window_days, kMicrosPerDay, "goal_window_days",
                                                       1.0 / 24, 90, "between 1 hour (0.042) and 90 days"));
  }
  if (change.optimize_send_time) c.optimize_send_time = *change.optimize_send_time;
  if (change.survey) c.survey = *change.survey;
  if (change.send_date && change.send_at) return InvalidArgument("send_date", "give send_at or send_date with local_time, not both");
  if (change.clear_send_at) {
    c.send_at.reset();
    c.local_time.clear();
  }
  if (change.local_time) c.local_time = *change.local_time;
  if (change.send_at) {
    c.send_at = *change.send_at;
    if (!change.local_time) c.local_time.clear();
  }
  if (change.send_date) {
    if (c.local_time.empty()) return InvalidArgument("local_time", "is required with send_date, e.g. \"09:00\"");
    TREU_ASSIGN_OR_RETURN(auto at, ParseLocalTime(c.local_time, "local_time"));
    c.send_at = EarliestLocal(*change.send_date, at);
  }
  if (change.schedule) c.state = *change.schedule ? CampaignState::kScheduled : CampaignState::kDraft;
  return c;
}

Result<CampaignRecord> CheckedCampaign(Store& store, const Workspace& ws, CampaignRecord c) {
  if (auto ok = ValidateSegmentName(c.name); !ok) return InvalidArgument("name", ok.error().detail());
  if (c.variants.empty()) return InvalidArgument("variants", "a campaign needs at least one variant (a template)");
  if (c.variants.size() > 26) return InvalidArgument("variants", "at most 26 variants (A to Z)");
  TREU_ASSIGN_OR_RETURN(auto templates, VariantTemplates(store, ws.id, c));
  for (std::size_t i = 0; i < templates.size(); ++i) {
    if (c.variants[i].weight < 1 || c.variants[i].weight > 1000)
      return InvalidArgument(VariantContext(i, "weight"), "must be between 1 and 1000");
    if (templates[i].channel != templates[0].channel)
      return InvalidArgument(VariantContext(i, "template"),
                             "is a " + std::string(ChannelName(templates[i].channel)) + " template; variant A's is " +
                                 std::string(ChannelName(templates[0].channel)) + ": a campaign has one channel");
    for (std::size_t j = 0; j < i; ++j)
      if (templates[j].id == templates[i].id)
        return InvalidArgument(VariantContext(i, "template"), "variant " + VariantName(static_cast<int>(j)) +
                                                                  " has it already: each variant needs its own template");
  }
  // A survey wave's templates all carry the link, and only a survey wave's do.
  if (!c.survey.empty()) {
    TREU_ASSIGN_OR_RETURN(auto survey, store.FindSurvey(ws.id, c.survey));
    if (!survey) return InvalidArgument("survey", "no survey named '" + c.survey + "' in this workspace");
  }
  for (std::size_t i = 0; i < templates.size(); ++i) {
    const MessageTemplateRecord& t = templates[i];
    TREU_ASSIGN_OR_RETURN(const bool links, messaging::LinksToSurvey(t));
    const std::string which = "template '" + t.name + "' (variant " + VariantName(static_cast<int>(i)) + ")";
    if (!c.survey.empty() && !links)
      return InvalidArgument("survey", which + " does not use {{ survey_url }}: its recipients would get no invitation");
    if (c.survey.empty() && links)
      return InvalidArgument("survey", "is required: " + which + " links to {{ survey_url }}");
  }
  TREU_RETURN_IF_ERROR(segment::CheckSelection(store, ws.id, c.where, c.segment));
  if (c.holdout_permille < 0 || c.holdout_permille > 500)
    return InvalidArgument("holdout_percent", "must be between 0 and 50");
  if (c.test_permille < 1 || c.test_permille > 1000) return InvalidArgument("test_percent", "must be between 0.1 and 100");
  if (c.test_permille < 1000) {
    if (c.variants.size() < 2) return InvalidArgument("test_percent", "an A/B test needs two or more variants");
    if (c.winner_metric != "opened" && c.winner_metric != "clicked" && c.winner_metric != "converted")
      return InvalidArgument("winner_metric", "must be opened, clicked or converted");
    if (c.test_window_micros < kHour || c.test_window_micros > 30 * kMicrosPerDay)
      return InvalidArgument("test_window_hours", "must be between 1 hour and 30 days");
  }
  if (c.goal_window_micros < kHour || c.goal_window_micros > 90 * kMicrosPerDay)
    return InvalidArgument("goal_window_days", "must be between 1 hour and 90 days");
  if (!c.local_time.empty()) {
    TREU_ASSIGN_OR_RETURN(LocalTime at, ParseLocalTime(c.local_time, "local_time"));
    if (c.send_at) c.send_at = EarliestLocal(LocalSendDate(*c.send_at), at);
  }
  if (c.state != CampaignState::kDraft && c.state != CampaignState::kScheduled)
    return InvalidArgument("state", "a saved campaign is a draft or scheduled");
  if (c.state == CampaignState::kScheduled && !c.send_at) return InvalidArgument("send_at", "a scheduled campaign needs a send time");

  return c;
}

Status DeleteCampaign(Store& store, WorkspaceId ws, std::string_view name, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindCampaign(ws, name));
  if (!found) return NotFound("campaign " + std::string(name), "no such campaign");
  if (found->state == CampaignState::kScheduled || found->state == CampaignState::kRunning ||
      found->state == CampaignState::kTesting)
    return FailedPrecondition("campaign " + found->name,
                              "is " + std::string(CampaignStateName(found->state)) + ": cancel it first");
  MessageFilter filter;  // what has not gone out yet is withdrawn with it
  filter.campaign = found->name;
  TREU_RETURN_IF_ERROR(store.CancelMessages(ws, filter, now));
  return store.DeleteCampaign(ws, name);
}

Result<CampaignRecord> SaveCampaign(Store& store, const Workspace& ws, CampaignRecord c, Timestamp now) {
  if (auto ok = ValidateSegmentName(c.name); !ok) return InvalidArgument("name", ok.error().detail());
  TREU_ASSIGN_OR_RETURN(auto existing, store.FindCampaign(ws.id, c.name));
  if (existing && !Editable(existing->state))
    return FailedPrecondition("campaign " + c.name, "is " + std::string(CampaignStateName(existing->state)) +
                                                        ": only drafts and scheduled campaigns can be changed");
  TREU_ASSIGN_OR_RETURN(c, CheckedCampaign(store, ws, std::move(c)));
  if (existing) {
    c.id = existing->id;
    c.split_key = existing->split_key;  // the arms never change
    c.created_at = existing->created_at;
  } else {
    c.split_key = FormatSplitKey(NewSplitKey());
    c.created_at = now;
  }
  c.workspace = ws.id;
  c.winner = -1;
  c.last_error.clear();
  c.updated_at = now;
  c.launched_at.reset();
  c.test_ends_at.reset();
  c.finished_at.reset();
  return store.SaveCampaign(c);
}

Result<CampaignRecord> CancelCampaign(Store& store, WorkspaceId ws, std::string_view name, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindCampaign(ws, name));
  if (!found) return NotFound("campaign " + std::string(name), "no such campaign");
  const CampaignState from = found->state;
  if (from != CampaignState::kDraft && from != CampaignState::kScheduled && from != CampaignState::kTesting)
    return FailedPrecondition("campaign " + std::string(name),
                              "is " + std::string(CampaignStateName(from)) + ": only drafts, scheduled and testing "
                                                                             "campaigns can be cancelled");
  CampaignRecord c = *found;
  c.state = CampaignState::kCancelled;
  c.updated_at = now;
  c.finished_at = now;
  TREU_ASSIGN_OR_RETURN(bool changed, store.UpdateCampaignIf(c, from));
  if (!changed) return Conflict("campaign " + std::string(name), "its state changed meanwhile; try again");
  MessageFilter filter;  // its queued messages, and its planned ones
  filter.campaign = c.name;
  TREU_RETURN_IF_ERROR(store.CancelMessages(ws, filter, now));
  return c;
}

Result<LaunchReport> PreviewCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                     PredictionCache* predictions, const CampaignRecord& c,
                                     std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                     Timestamp now) {
  return Run(store, ws, s, predictions, c, secret, read_survey, now, /*write=*/false, {});
}

Result<LaunchReport> LaunchCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                    PredictionCache* predictions, const CampaignRecord& c,
                                    std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                    Timestamp now, const Progress& progress) {
  if (c.id == 0) return InvalidArgument("campaign", "save the campaign before launching it");
  return Run(store, ws, s, predictions, c, secret, read_survey, now, /*write=*/true, progress);
}

// ---- Materialising planned messages ----

Result<MaterializeReport> MaterializeCampaign(Store& store, const Workspace& ws,
                                              const std::shared_ptr<const Snapshot>& s, PredictionCache* predictions,
                                              const CampaignRecord& c, std::span<const std::uint8_t> secret,
                                              const survey::SurveyReader& read_survey, Timestamp now, Timestamp before,
                                              std::int64_t limit) {
  TREU_ASSIGN_OR_RETURN(auto first, store.ListPlannedMembers(ws.id, c.id, before, 1));
  if (first.empty()) return MaterializeReport{};
  TREU_ASSIGN_OR_RETURN(auto templates, VariantTemplates(store, ws.id, c));
  TREU_ASSIGN_OR_RETURN(auto composer,
                        messaging::Composer::Prepare(store, ws, s, predictions, std::move(templates), secret, now));
  TREU_ASSIGN_OR_RETURN(const std::optional<Wave> wave, WaveOf(store, ws, c, read_survey));
  return Render(store, ws, *s, *composer, wave, c, secret, now, before, limit);
}

Result<MaterializeReport> MaterializeDue(Store& store, SnapshotCache& snapshots, PredictionCache* predictions,
                                         std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                         Timestamp now, const Progress& progress) {
  MaterializeReport out;
  const Timestamp before{now.micros + kMaterializeLeadMicros};
  TREU_ASSIGN_OR_RETURN(auto plans, store.ListCampaignsWithPlans(before));
  if (plans.empty()) return out;
  TREU_ASSIGN_OR_RETURN(auto workspaces, store.ListWorkspaces());
  for (const auto& [ws_id, campaign_id] : plans) {
    auto ws = std::find_if(workspaces.begin(), workspaces.end(), [&](const Workspace& w) { return w.id == ws_id; });
    if (ws == workspaces.end()) continue;
    TREU_ASSIGN_OR_RETURN(auto campaigns, store.ListCampaigns(ws_id));
    auto c = std::find_if(campaigns.begin(), campaigns.end(), [&](const CampaignRecord& r) { return r.id == campaign_id; });
    if (c == campaigns.end()) continue;
    auto snapshot = snapshots.Get(store, ws_id);
    auto done = snapshot ? MaterializeCampaign(store, *ws, *snapshot, predictions, *c, secret, read_survey, now, before)
                         : Result<MaterializeReport>(std::unexpected(snapshot.error()));
    if (!done) {
      ++out.campaigns_failed;
      std::fprintf(stderr, "treu: campaign %s: %s\n", c->name.c_str(), done.error().ToString().c_str());
      continue;
    }
    out.members += done->members;
    out.messages += done->messages;
    out.duplicates += done->duplicates;
    out.failed += done->failed;
    if (progress) progress(out.members, out.members);
  }
  return out;
}

// ---- Reports ----

Result<CampaignReport> ReportCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                      const CampaignRecord& c) {
  CampaignReport r;
  r.campaign = c;
  r.holdout.name = "holdout";
  r.treated.name = "all variants";
  for (std::size_t v = 0; v < c.variants.size(); ++v) {
    ArmReport a;
    a.name = VariantName(static_cast<int>(v));
    a.template_name = c.variants[v].template_name;
    r.variants.push_back(std::move(a));
  }
  TREU_ASSIGN_OR_RETURN(auto templates, VariantTemplates(store, ws.id, c));
  std::unordered_map<std::int64_t, std::size_t> variant_of_template;
  for (std::size_t v = 0; v < templates.size(); ++v) variant_of_template.emplace(templates[v].id, v);

  // Members, by customer id.
  std::unordered_map<std::int64_t, CampaignMember> members;
  for (CustomerId after;;) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListCampaignMembers(ws.id, c.id, after, 100'000));
    for (CampaignMember& m : page) members.emplace(m.customer.value, std::move(m));
    if (page.size() < 100'000) break;
    after = page.back().customer;
  }
  auto arm_of = [&](const CampaignMember& m) -> ArmReport* {
    if (m.arm == kArmHoldout) return &r.holdout;
    if (m.arm >= 0 && static_cast<std::size_t>(m.arm) < r.variants.size()) return &r.variants[static_cast<std::size_t>(m.arm)];
    return nullptr;
  };
  for (const auto& [id, m] : members) {
    if (m.arm == kArmWaiting) ++r.waiting;
    if (m.outcome == "capped") ++r.capped;
    if (m.planned) ++r.planned;
    if (ArmReport* a = arm_of(m)) {
      ++a->members;
      if (m.outcome == "queued") ++a->messaged;
    }
  }

  // Messages and their states; opens and clicks, once per customer.
  std::unordered_map<std::int64_t, std::pair<std::size_t, std::int64_t>> message_variant;  // id → variant, customer
  std::vector<std::unordered_set<std::int64_t>> sent(c.variants.size()), failed(c.variants.size()),
      opened(c.variants.size()), clicked(c.variants.size());
  MessageFilter filter;
  filter.campaign = c.name;
  for (std::int64_t before = 0;;) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListMessages(ws.id, filter, before, 1000));
    for (const OutboxMessage& m : page) {
      auto it = variant_of_template.find(m.template_id);
      if (it == variant_of_template.end()) continue;
      message_variant.emplace(m.id, std::pair{it->second, m.customer.value});
      if (m.state == MessageState::kSent) sent[it->second].insert(m.customer.value);
      if (m.state == MessageState::kFailed || m.state == MessageState::kBounced) failed[it->second].insert(m.customer.value);
    }
    if (page.size() < 1000) break;
    before = page.back().id;
  }
  if (c.launched_at) {
    TREU_ASSIGN_OR_RETURN(auto rows, store.ListEngagements(ws.id, *c.launched_at));
    for (const EngagementRow& e : rows) {
      auto it = message_variant.find(e.message_id);
      if (it == message_variant.end()) continue;
      (e.kind == "clicked" ? clicked : opened)[it->second.first].insert(it->second.second);
      if (e.kind == "clicked") opened[it->second.first].insert(it->second.second);  // a click implies the open
    }
  }
  for (std::size_t v = 0; v < r.variants.size(); ++v) {
    r.variants[v].sent = static_cast<std::int64_t>(sent[v].size());
    r.variants[v].failed = static_cast<std::int64_t>(failed[v].size());
    r.variants[v].opened = static_cast<std::int64_t>(opened[v].size());
    r.variants[v].clicked = static_cast<std::int64_t>(clicked[v].size());
  }

  // Orders within the goal window of each member's send time.
  const double scale = std::pow(10.0, s->currency().exponent());
  for (Snapshot::Index i = 0; i < s->customers(); ++i) {
    auto it = members.find(s->customer_id(i).value);
    if (it == members.end()) continue;
    ArmReport* a = arm_of(it->second);
    if (a == nullptr) continue;
    const std::int64_t from = it->second.due.micros, to = from + c.goal_window_micros;
    const auto times = s->order_times(i);
    const auto totals = s->order_totals(i);
    std::int64_t revenue = 0;
    bool converted = false;
    for (std::size_t k = 0; k < times.size(); ++k) {
      if (times[k] >= from && times[k] < to) {
        converted = true;
        revenue += totals[k];
      }
    }
    a->converted += converted;
    a->revenue += static_cast<double>(revenue) / scale;
    a->revenue_sample.Add(static_cast<double>(revenue) / scale);
  }
  // Unsubscribes within the window.
  for (std::int64_t after = 0;;) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListConsentRecords(ws.id, CustomerId{}, after, 1000));
    for (const ConsentRecord& rec : page) {
      if (rec.action != "unsubscribed") continue;
      auto it = members.find(rec.customer.value);
      if (it == members.end()) continue;
      if (rec.at.micros < it->second.due.micros || rec.at.micros >= it->second.due.micros + c.goal_window_micros) continue;
      if (ArmReport* a = arm_of(it->second)) ++a->unsubscribed;
    }
    if (page.size() < 1000) break;
    after = page.back().id;
  }

  for (const ArmReport& a : r.variants) {
    r.treated.members += a.members;
    r.treated.messaged += a.messaged;
    r.treated.sent += a.sent;
    r.treated.failed += a.failed;
    r.treated.opened += a.opened;
    r.treated.clicked += a.clicked;
    r.treated.converted += a.converted;
    r.treated.unsubscribed += a.unsubscribed;
    r.treated.revenue += a.revenue;
    r.treated.revenue_sample.n += a.revenue_sample.n;
    r.treated.revenue_sample.sum += a.revenue_sample.sum;
    r.treated.revenue_sample.sum_squares += a.revenue_sample.sum_squares;
  }
  r.conversion_lift = RateLift({r.treated.converted, r.treated.members}, {r.holdout.converted, r.holdout.members});
  r.revenue_lift = MeanLift(r.treated.revenue_sample, r.holdout.revenue_sample);
  if (r.variants.size() >= 2 && r.treated.members > 0) {
    std::vector<Proportion> rates;
    for (const ArmReport& a : r.variants) {
      if (c.winner_metric == "opened") rates.push_back({a.opened, a.messaged});
      else if (c.winner_metric == "converted") rates.push_back({a.converted, a.members});
      else rates.push_back({a.clicked, a.messaged});
    }
    r.winner = PickWinner(rates);
  }
  return r;
}

// ---- The content calendar ----

Result<std::vector<CalendarEntry>> ContentCalendar(Store& store, const Workspace& ws, CivilDate from, CivilDate to) {
  const std::int64_t first = DaysFromCivil(from), last = DaysFromCivil(to);
  if (last < first) return InvalidArgument("to", "must not be before from");
  if (last - first > 365) return InvalidArgument("to", "a calendar spans at most 366 days");
  auto zone = TimeZone::Find(ws.time_zone);
  const TimeZone wz = zone ? *zone : TimeZone::Utc();
  TREU_ASSIGN_OR_RETURN(DeliveryRules rules, LoadDeliveryRules(store, ws.id));
  TREU_ASSIGN_OR_RETURN(auto campaigns, store.ListCampaigns(ws.id));
  std::vector<CalendarEntry> out;
  for (const CampaignRecord& c : campaigns) {
    CalendarEntry e;
    e.name = c.name;
    e.state = c.state;
    e.segment = c.segment;
    e.where = c.where;
    e.local_time = c.local_time;
    e.survey = c.survey;
    if (c.state == CampaignState::kDone) {
      if (!c.launched_at) continue;
      e.at = c.launched_at;
      e.local_time.clear();
      e.date = wz.LocalDate(*c.launched_at);
    } else if (c.state == CampaignState::kScheduled || c.state == CampaignState::kRunning ||
               c.state == CampaignState::kTesting) {
      if (!c.send_at) continue;
      if (!c.local_time.empty()) {
        e.date = LocalSendDate(*c.send_at);
      } else {
        e.at = c.send_at;
        e.date = wz.LocalDate(*c.send_at);
      }
    } else {
      continue;  // drafts and cancelled campaigns are not planned
    }
    const std::int64_t day = DaysFromCivil(e.date);
    if (day < first || day > last) continue;
    if (!c.variants.empty()) {
      TREU_ASSIGN_OR_RETURN(auto t, store.FindMessageTemplate(ws.id, c.variants.front().template_name));
      if (t) e.channel = t->channel;
    }
    if (!rules.quiet.empty() && c.state != CampaignState::kDone) {
      bool quiet = false;
      if (e.at) quiet = InQuietHours(*e.at, wz, rules.quiet);
      else if (auto at = ParseLocalTime(e.local_time, "local_time"))
        quiet = InQuietHours(*at, rules.quiet);
      if (quiet)
        e.conflicts.push_back({"quiet_hours", "inside the quiet hours " + FormatLocalTime(rules.quiet.start) + "–" +
                                                  FormatLocalTime(rules.quiet.end) + ": deferred to their end"});
    }
    out.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t j = 0; j < out.size(); ++j)
      if (i != j && out[i].date == out[j].date && out[i].segment == out[j].segment && out[i].where == out[j].where)
        out[i].conflicts.push_back({"same_audience", out[j].name});
  std::sort(out.begin(), out.end(), [](const CalendarEntry& a, const CalendarEntry& b) {
    const std::int64_t ta = a.at ? a.at->micros : 0, tb = b.at ? b.at->micros : 0;
    return std::tie(a.date, ta, a.name) < std::tie(b.date, tb, b.name);
  });
  return out;
}

// ---- Scheduling ----

Result<bool> LaunchNow(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& snapshot,
                       PredictionCache* predictions, const CampaignRecord& c, std::span<const std::uint8_t> secret,
                       const survey::SurveyReader& read_survey, Timestamp now, const Progress& progress) {
  CampaignRecord launch = c;
  if (launch.state == CampaignState::kDraft && launch.local_time.empty()) {
    launch.send_at = now;
    TREU_ASSIGN_OR_RETURN(launch, SaveCampaign(store, ws, launch, now));
  }
  return AdvanceCampaign(store, ws, snapshot, predictions, launch, secret, read_survey, now, progress);
}

Result<bool> AdvanceCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& snapshot,
                             PredictionCache* predictions, const CampaignRecord& found,
                             std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                             Timestamp now, const Progress& progress) {
  if (found.state == CampaignState::kDone || found.state == CampaignState::kCancelled)
    return FailedPrecondition("campaign " + found.name, "is " + std::string(CampaignStateName(found.state)));
  CampaignRecord running = found;
  running.state = CampaignState::kRunning;
  running.updated_at = now;
  if (found.state == CampaignState::kScheduled || found.state == CampaignState::kDraft) running.launched_at = now;
  if (found.state == CampaignState::kTesting) {
    TREU_ASSIGN_OR_RETURN(CampaignReport report, ReportCampaign(store, ws, snapshot, found));
    running.winner = report.winner ? report.winner->variant : 0;
  }
  TREU_ASSIGN_OR_RETURN(bool claimed, store.UpdateCampaignIf(running, found.state));
  if (!claimed) return false;  // another server has it
  auto launched = LaunchCampaign(store, ws, snapshot, predictions, running, secret, read_survey, now, progress);
  CampaignRecord next = running;
  next.updated_at = now;
  if (!launched) {
    // Stays running: resumed when stale, unless cancelled meanwhile.
    next.last_error = launched.error().ToString();
  } else {
    next.last_error.clear();
    if (running.winner < 0 && running.test_permille < 1000) {
      next.state = CampaignState::kTesting;
      next.test_ends_at = Timestamp{now.micros + running.test_window_micros};
    } else {
      next.state = CampaignState::kDone;
      next.finished_at = now;
    }
  }
  TREU_RETURN_IF_ERROR(store.UpdateCampaignIf(next, CampaignState::kRunning));
  if (!launched) return std::unexpected(launched.error());
  return true;
}

Result<SchedulerRun> RunDueCampaigns(Store& store, SnapshotCache& snapshots, PredictionCache* predictions,
                                     std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                     Timestamp now, std::int64_t stale_micros) {
  SchedulerRun run;
  TREU_ASSIGN_OR_RETURN(auto due, store.ListDueCampaigns(now, Timestamp{now.micros - stale_micros}));
  if (due.empty()) return run;
  TREU_ASSIGN_OR_RETURN(auto workspaces, store.ListWorkspaces());
  for (const CampaignRecord& found : due) {
    auto ws = std::find_if(workspaces.begin(), workspaces.end(), [&](const Workspace& w) { return w.id == found.workspace; });
    if (ws == workspaces.end()) continue;
    auto snapshot = snapshots.Get(store, ws->id);
    auto advanced = snapshot ? AdvanceCampaign(store, *ws, *snapshot, predictions, found, secret, read_survey, now)
                             : Result<bool>(std::unexpected(snapshot.error()));
    if (!advanced) {
      ++run.failed;
      std::fprintf(stderr, "treu: campaign %s: %s\n", found.name.c_str(), advanced.error().ToString().c_str());
    } else if (*advanced) {
      ++run.launched;
    }
  }
  return run;
}

Result<SchedulerRun> RunScheduler(Store& store, SnapshotCache& snapshots, PredictionCache* predictions,
                                  std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                  Timestamp now, std::int64_t stale_micros) {
  TREU_ASSIGN_OR_RETURN(SchedulerRun run,
                        RunDueCampaigns(store, snapshots, predictions, secret, read_survey, now, stale_micros));
  TREU_ASSIGN_OR_RETURN(run.materialized, MaterializeDue(store, snapshots, predictions, secret, read_survey, now));
  return run;
}

}  // namespace treu::campaigns
