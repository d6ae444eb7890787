#include "segments/fields.hpp"

#include <algorithm>
#include <vector>

namespace treu::segment {

namespace {

constexpr std::string_view kSubscriptionStatuses[] = {"active", "trialing", "past_due", "paused", "canceled"};
constexpr std::string_view kRfmSegments[] = {"champions",      "loyal",          "potential_loyalists", "new",
                                             "promising",      "need_attention", "about_to_sleep",      "at_risk",
                                             "cannot_lose_them", "hibernating",  "lost"};
constexpr std::string_view kNpsCategories[] = {"promoter", "passive", "detractor"};

const FieldInfo kFields[] = {
    {"email", Type::kString, "profile", "Email address", {}, "email contains \"@example.com\""},
    {"country", Type::kString, "profile", "Country code (ISO 3166-1 alpha-2)", {}, "country = \"DE\""},
    {"locale", Type::kString, "profile", "Preferred locale, e.g. de-DE", {}, "locale starts_with \"de\""},
    {"created_at", Type::kTime, "profile", "When the customer was created", {}, "created_at >= now() - 30d"},
    {"orders_count", Type::kNumber, "purchase", "Number of orders", {}, "orders_count >= 2"},
    {"revenue_total", Type::kMoney, "purchase", "Total revenue (major units)", {}, "revenue_total > 500"},
    {"revenue_percentile", Type::kNumber, "purchase", "Share (0..100) of buying customers with less revenue", {}, "revenue_percentile >= 90"},
    {"average_order_value", Type::kMoney, "purchase", "Revenue per order (major units)", {}, "average_order_value > 50"},
    {"first_order_at", Type::kTime, "purchase", "Time of the first order", {}, "first_order_at >= \"2024-01-01\""},
    {"last_order_at", Type::kTime, "purchase", "Time of the last order", {}, "last_order_at < now() - 90d"},
    {"days_since_last_order", Type::kNumber, "purchase", "Whole days since the last order", {}, "days_since_last_order > 180"},
    {"mrr", Type::kMoney, "subscription", "Monthly recurring revenue (major units)", {}, "mrr > 0"},
    {"plan", Type::kString, "subscription", "Subscription plan", {}, "plan = \"pro\""},
    {"subscription_status", Type::kString, "subscription", "Subscription state", kSubscriptionStatuses, "subscription_status = \"past_due\""},
    {"tenure_days", Type::kNumber, "subscription", "Days since the subscription started", {}, "tenure_days >= 365"},
    {"p_alive", Type::kNumber, "predictions", "Probability the customer is still active (0..1)", {}, "p_alive < 0.3"},
    {"expected_purchases_90d", Type::kNumber, "predictions", "Expected purchases in the next 90 days", {}, "expected_purchases_90d >= 1"},
    {"clv_12m", Type::kMoney, "predictions", "Predicted 12-month customer value (major units)", {}, "clv_12m > 200"},
    {"rfm_r", Type::kNumber, "predictions", "RFM recency score 1..5", {}, "rfm_r >= 4"},
    {"rfm_f", Type::kNumber, "predictions", "RFM frequency score 1..5", {}, "rfm_f >= 4"},
    {"rfm_m", Type::kNumber, "predictions", "RFM monetary score 1..5", {}, "rfm_m >= 4"},
    {"rfm_segment", Type::kString, "predictions", "RFM segment", kRfmSegments, "rfm_segment in [\"at_risk\", \"cannot_lose_them\"]"},
    {"nps_last_score", Type::kNumber, "feedback", "Last NPS score 0..10", {}, "nps_last_score <= 6"},
    {"nps_category", Type::kString, "feedback", "Category of the last NPS score", kNpsCategories, "nps_category = \"detractor\""},
    {"consent.email", Type::kBool, "consent", "Consent to email", {}, "consent.email"},
    {"consent.push", Type::kBool, "consent", "Consent to push notifications", {}, "consent.push"},
    {"consent.inapp", Type::kBool, "consent", "Consent to in-app messages", {}, "consent.inapp"},
    {"consent.sms", Type::kBool, "consent", "Consent to SMS", {}, "consent.sms"},
    {"consent.webhook", Type::kBool, "consent", "Consent to webhook delivery", {}, "consent.webhook"},
};

const FunctionInfo kFunctions[] = {
    {"now", Type::kTime, "now()", "The time of evaluation; subtract a duration such as 90d for a time before it",
     "last_order_at < now() - 90d"},
    {"count", Type::kNumber, "count(event \"Name\" [within D] [where ...])",
     "The customer's tracked events of that name, in the last D (or ever), that satisfy the where clause "
     "(properties.<name> are the events' properties)",
     "count(event \"Page Viewed\" within 7d where properties.url contains \"/pricing\") >= 2"},
    {"in_segment", Type::kBool, "in_segment(\"name\")", "Whether the customer is in the saved segment of that name",
     "in_segment(\"vip\") and consent.email"},
};

}  // namespace

std::span<const FieldInfo> Fields() { return kFields; }

std::span<const FunctionInfo> Functions() { return kFunctions; }

const FieldInfo* FindField(std::string_view name) {
  for (const FieldInfo& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [m](std::size_t i, std::size_t j) { return i * (m + 1) + j; };
  for (std::size_t i = 0; i <= n; ++i) d[at(i, 0)] = i;
  for (std::size_t j = 0; j <= m; ++j) d[at(0, j)] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t v = std::min({d[at(i - 1, j)] + 1, d[at(i, j - 1)] + 1, d[at(i - 1, j - 1)] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, d[at(i - 2, j - 2)] + 1);
      d[at(i, j)] = v;
    }
  }
  return d[at(n, m)];
}

std::optional<std::string_view> NearestName(std::string_view name, std::span<const std::string_view> candidates) {
  if (name.size() > 256) return std::nullopt;  // keep the quadratic distance cheap
  std::size_t limit = std::max<std::size_t>(1, name.size() / 3);
  std::optional<std::string_view> best;
  std::size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    std::size_t dist = EditDistance(name, c);
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

std::optional<std::string_view> SuggestField(std::string_view name) {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const FieldInfo& f : kFields) v.push_back(f.name);
    return v;
  }();
  return NearestName(name, names);
}

}  // namespace treu::segment
