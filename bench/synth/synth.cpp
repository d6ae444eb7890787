#include "synth/synth.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <span>
#include <vector>

namespace treu {

// ---------------------------------------------------------------------------------------------
// SynthRng

namespace {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

constexpr std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

std::uint64_t SynthMix(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

SynthRng::SynthRng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& s : s_) {
    x += kGolden;
    s = SynthMix(x);
  }
}

SynthRng SynthRng::For(std::uint64_t seed, std::uint64_t index, std::uint64_t stream) {
  std::uint64_t h = SynthMix(seed + kGolden);
  h = SynthMix(h ^ (index + 0xD1B54A32D192ED03ULL));
  h = SynthMix(h ^ (stream * 0x8CB92BA72F3D8DD7ULL + 0x2545F4914F6CDD1DULL));
  return SynthRng(h);
}

std::uint64_t SynthRng::Next() {
  const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double SynthRng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double SynthRng::UniformOpen() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }

std::int64_t SynthRng::UniformInt(std::int64_t lo, std::int64_t hi) {
  const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
  if (range == 0) return static_cast<std::int64_t>(Next());  // the full 64-bit range
  // Lemire's multiply-shift: the bias (< range / 2^64) is irrelevant here.
  const auto wide = static_cast<unsigned __int128>(Next()) * range;
  return lo + static_cast<std::int64_t>(static_cast<std::uint64_t>(wide >> 64));
}

double SynthRng::Exponential() { return -std::log(UniformOpen()); }

double SynthRng::Normal() {
  double u = 0, v = 0, s = 0;
  do {
    u = 2 * Uniform() - 1;
    v = 2 * Uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  return u * std::sqrt(-2 * std::log(s) / s);
}

double SynthRng::Gamma(double shape) {
  if (shape < 1) return Gamma(shape + 1) * std::pow(UniformOpen(), 1 / shape);
  const double d = shape - 1.0 / 3;
  const double c = 1 / std::sqrt(9 * d);
  while (true) {
    const double x = Normal();
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = UniformOpen();
    const double x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (std::log(u) < 0.5 * x2 + d * (1 - v + std::log(v))) return d * v;
  }
}

double SynthRng::Beta(double a, double b) {
  const double x = Gamma(a);
  const double y = Gamma(b);
  return x + y > 0 ? x / (x + y) : 0.5;
}

std::int64_t SynthRng::Poisson(double mean) {
  if (mean <= 0) return 0;
  if (mean < 30) {
    const double limit = std::exp(-mean);
    std::int64_t k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  const double x = std::round(mean + std::sqrt(mean) * Normal());
  return x < 0 ? 0 : static_cast<std::int64_t>(x);
}

// ---------------------------------------------------------------------------------------------
// Configuration

Result<SynthConfig> SynthSize(std::string_view name) {
  SynthConfig c;
  if (name == "S" || name == "s") {
    c.size_name = "S";
    c.customers = 10'000;
  } else if (name == "M" || name == "m") {
    c.size_name = "M";
    c.customers = 100'000;
  } else if (name == "L" || name == "l") {
    c.size_name = "L";
    c.customers = 1'000'000;
  } else {
    return InvalidArgument("size", "'" + std::string(name) + "' is not one of S, M, L");
  }
  return c;
}

Status ValidateSynthConfig(const SynthConfig& c) {
  auto bad = [](std::string field, std::string detail) {
    return InvalidArgument("synth config " + field, std::move(detail));
  };
  auto positive = [](double x) { return std::isfinite(x) && x > 0; };
  auto share = [](double x) { return std::isfinite(x) && x >= 0 && x <= 1; };
  if (c.customers < 0) return bad("customers", "must not be negative");
  if (c.customers > 99'999'999) return bad("customers", "must be at most 99999999");
  if (!share(c.subscription_share)) return bad("subscription_share", "must be between 0 and 1");
  if (c.events_per_customer_mean < 0 || c.events_per_customer_mean > 10'000) {
    return bad("events_per_customer_mean", "must be between 0 and 10000");
  }
  if (!IsValidDate(c.start.year, c.start.month, c.start.day)) {
    return bad("start", "is not a valid date");
  }
  if (!IsValidDate(c.end.year, c.end.month, c.end.day)) return bad("end", "is not a valid date");
  if (DaysFromCivil(c.end) - DaysFromCivil(c.start) < 2) {
    return bad("end", "must be at least two days after start");
  }
  if (auto cur = Currency::FromCode(c.currency); !cur) {
    return bad("currency", cur.error().detail());
  }
  const PurchaseBehaviour& p = c.purchases;
  if (!positive(p.r) || !positive(p.alpha) || !positive(p.a) || !positive(p.b) ||
      !positive(p.max_rate_per_week)) {
    return bad("purchases", "r, alpha, a, b and max_rate_per_week must be positive");
  }
  if (p.max_orders_per_customer < 1) {
    return bad("purchases", "max_orders_per_customer must be at least 1");
  }
  const SpendModel& s = c.spend;
  if (!positive(s.p) || !positive(s.q) || !positive(s.gamma) || !positive(s.floor_major) ||
      s.floor_major > 1e6) {
    return bad("spend", "p, q, gamma must be positive and floor_major in (0, 1e6]");
  }
  if (!share(c.cancel_share) || !share(c.refund_share) || !share(c.full_refund_share) ||
      c.cancel_share + c.refund_share > 1) {
    return bad("shares",
               "cancel, refund and full refund shares must be in [0, 1] and cancel + "
               "refund at most 1");
  }
  return Ok();
}

// ---------------------------------------------------------------------------------------------
// Built-in tables

namespace {

// Streams of one customer: drawing more from one never shifts another.
constexpr std::uint64_t kStreamProfile = 1;
constexpr std::uint64_t kStreamOrders = 2;
constexpr std::uint64_t kStreamSubscriptions = 3;
constexpr std::uint64_t kStreamEvents = 4;
constexpr std::uint64_t kStreamMessageIds = 5;

constexpr std::int64_t kSecond = kMicrosPerSecond;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = kMicrosPerDay;
constexpr std::int64_t kMonth = 2'629'800 * kSecond;  // 30.4375 days

// Non-cancelled orders per customer the default models give on average (about 10 orders,
// 2 % cancelled); normalises the event rate, which grows with a customer's activity.
constexpr double kMeanLiveOrdersPerCustomer = 9.8;

struct Name {
  std::string_view text;
  std::string_view ascii;  // for email addresses; empty: `text` is plain ASCII letters
};

struct NameGroup {
  std::span<const Name> first;
  std::span<const Name> last;
};

constexpr Name kGermanFirst[] = {
    {"Anna", ""},        {"Lena", ""},          {"Marie", ""},
    {"Sophie", ""},      {"Hannah", ""},        {"Lukas", ""},
    {"Maximilian", ""},  {"Felix", ""},         {"Jonas", ""},
    {"Paul", ""},        {"Sabine", ""},        {"Thomas", ""},
    {"Stefan", ""},      {"Katrin", ""},        {"Jürgen", "juergen"},
    {"Björn", "bjoern"}, {"Günter", "guenter"}, {"Anna-Lena", "annalena"},
    {"Uwe", ""},         {"Leonie", ""}};
constexpr Name kGermanLast[] = {{"Müller", "mueller"},
                                {"Schmidt", ""},
                                {"Schneider", ""},
                                {"Fischer", ""},
                                {"Weber", ""},
                                {"Meyer", ""},
                                {"Wagner", ""},
                                {"Becker", ""},
                                {"Schulz", ""},
                                {"Hoffmann", ""},
                                {"Schäfer", "schaefer"},
                                {"Koch", ""},
                                {"Bauer", ""},
                                {"Richter", ""},
                                {"Klein", ""},
                                {"Wolf", ""},
                                {"Schröder", "schroeder"},
                                {"Neumann", ""},
                                {"Zimmermann", ""},
                                {"Krüger", "krueger"},
                                {"Weiß", "weiss"},
                                {"Lange", ""}};
constexpr Name kEnglishFirst[] = {
    {"James", ""},    {"Mary", ""},    {"John", ""},  {"Patricia", ""}, {"Robert", ""},
    {"Jennifer", ""}, {"Michael", ""}, {"Linda", ""}, {"William", ""},  {"Elizabeth", ""},
    {"David", ""},    {"Susan", ""},   {"Emma", ""},  {"Olivia", ""},   {"Noah", ""},
    {"Liam", ""},     {"Sophia", ""},  {"Jack", ""},  {"Amelia", ""},   {"Zoë", "zoe"}};
constexpr Name kEnglishLast[] = {
    {"Smith", ""},         {"Johnson", ""}, {"Williams", ""}, {"Brown", ""},  {"Jones", ""},
    {"Miller", ""},        {"Davis", ""},   {"Wilson", ""},   {"Taylor", ""}, {"Anderson", ""},
    {"Thomas", ""},        {"Moore", ""},   {"Jackson", ""},  {"White", ""},  {"Harris", ""},
    {"O'Brien", "obrien"}, {"Evans", ""},   {"Walker", ""},   {"Wright", ""}, {"Roberts", ""}};
constexpr Name kFrenchFirst[] = {{"Jean", ""},
                                 {"Marie", ""},
                                 {"Pierre", ""},
                                 {"Camille", ""},
                                 {"Léa", "lea"},
                                 {"Chloé", "chloe"},
                                 {"Louis", ""},
                                 {"Gabriel", ""},
                                 {"Jules", ""},
                                 {"Manon", ""},
                                 {"Inès", "ines"},
                                 {"Hugo", ""},
                                 {"François", "francois"},
                                 {"Élodie", "elodie"},
                                 {"Nathalie", ""}};
constexpr Name kFrenchLast[] = {
    {"Martin", ""},  {"Bernard", ""},  {"Dubois", ""},         {"Thomas", ""}, {"Robert", ""},
    {"Richard", ""}, {"Petit", ""},    {"Durand", ""},         {"Leroy", ""},  {"Moreau", ""},
    {"Simon", ""},   {"Laurent", ""},  {"Lefèvre", "lefevre"}, {"Michel", ""}, {"Garnier", ""},
    {"Faure", ""},   {"Rousseau", ""}, {"Fontaine", ""}};
constexpr Name kDutchFirst[] = {{"Daan", ""},   {"Sem", ""},   {"Lucas", ""},  {"Levi", ""},
                                {"Emma", ""},   {"Julia", ""}, {"Mila", ""},   {"Tess", ""},
                                {"Sophie", ""}, {"Bram", ""},  {"Jesse", ""},  {"Fenna", ""},
                                {"Sanne", ""},  {"Joost", ""}, {"Maarten", ""}};
constexpr Name kDutchLast[] = {{"de Jong", "dejong"},
                               {"Jansen", ""},
                               {"de Vries", "devries"},
                               {"van den Berg", "vandenberg"},
                               {"van Dijk", "vandijk"},
                               {"Bakker", ""},
                               {"Janssen", ""},
                               {"Visser", ""},
                               {"Smit", ""},
                               {"Meijer", ""},
                               {"de Boer", "deboer"},
                               {"Mulder", ""},
                               {"de Groot", "degroot"},
                               {"Bos", ""},
                               {"Vos", ""},
                               {"Peters", ""}};
constexpr Name kSpanishFirst[] = {
    {"Lucía", "lucia"},   {"Sofía", "sofia"}, {"Martina", ""},  {"María", "maria"}, {"Hugo", ""},
    {"Martín", "martin"}, {"Pablo", ""},      {"Mateo", ""},    {"Alejandro", ""},  {"Daniel", ""},
    {"Carmen", ""},       {"Javier", ""},     {"José", "jose"}, {"Elena", ""},      {"Isabel", ""}};
constexpr Name kSpanishLast[] = {{"García", "garcia"},     {"Rodríguez", "rodriguez"},
                                 {"González", "gonzalez"}, {"Fernández", "fernandez"},
                                 {"López", "lopez"},       {"Martínez", "martinez"},
                                 {"Sánchez", "sanchez"},   {"Pérez", "perez"},
                                 {"Gómez", "gomez"},       {"Ruiz", ""},
                                 {"Jiménez", "jimenez"},   {"Hernández", "hernandez"},
                                 {"Díaz", "diaz"},         {"Moreno", ""},
                                 {"Muñoz", "munoz"},       {"Navarro", ""}};
constexpr Name kItalianFirst[] = {
    {"Giulia", ""},   {"Sofia", ""},     {"Aurora", ""},     {"Alice", ""},   {"Ginevra", ""},
    {"Leonardo", ""}, {"Francesco", ""}, {"Alessandro", ""}, {"Lorenzo", ""}, {"Mattia", ""},
    {"Andrea", ""},   {"Matteo", ""},    {"Chiara", ""},     {"Luca", ""},    {"Nicolò", "nicolo"}};
constexpr Name kItalianLast[] = {
    {"Rossi", ""},   {"Russo", ""},         {"Ferrari", ""}, {"Esposito", ""},
    {"Bianchi", ""}, {"Romano", ""},        {"Colombo", ""}, {"Ricci", ""},
    {"Marino", ""},  {"Greco", ""},         {"Bruno", ""},   {"Gallo", ""},
    {"Conti", ""},   {"De Luca", "deluca"}, {"Mancini", ""}, {"Costa", ""}};

enum NameGroupId { kGerman, kEnglish, kFrench, kDutch, kSpanish, kItalian };
constexpr NameGroup kNameGroups[] = {{kGermanFirst, kGermanLast},   {kEnglishFirst, kEnglishLast},
                                     {kFrenchFirst, kFrenchLast},   {kDutchFirst, kDutchLast},
                                     {kSpanishFirst, kSpanishLast}, {kItalianFirst, kItalianLast}};

constexpr std::string_view kNicknames[] = {"Bob", "Kate", "Jim", "Liz", "Bill", "Sam", "Teddy"};
constexpr std::string_view kSuffixes[] = {", Jr.", ", PhD", ", MBA"};

struct Zone {
  std::string_view name;
  int utc_offset_hours;  // standard time; only shapes the time of day
  double weight;
};

struct Country {
  std::string_view code;
  double weight;
  std::string_view locale;
  NameGroupId names;
  std::string_view alt_locale;  // a second language, or empty
  NameGroupId alt_names;
  double alt_share;
  std::span<const Zone> zones;
};

constexpr Zone kZonesDE[] = {{"Europe/Berlin", 1, 1}};
constexpr Zone kZonesAT[] = {{"Europe/Vienna", 1, 1}};
constexpr Zone kZonesCH[] = {{"Europe/Zurich", 1, 1}};
constexpr Zone kZonesUS[] = {{"America/New_York", -5, 0.45},
                             {"America/Chicago", -6, 0.30},
                             {"America/Denver", -7, 0.08},
                             {"America/Los_Angeles", -8, 0.17}};
constexpr Zone kZonesGB[] = {{"Europe/London", 0, 1}};
constexpr Zone kZonesFR[] = {{"Europe/Paris", 1, 1}};
constexpr Zone kZonesNL[] = {{"Europe/Amsterdam", 1, 1}};
constexpr Zone kZonesES[] = {{"Europe/Madrid", 1, 1}};
constexpr Zone kZonesIT[] = {{"Europe/Rome", 1, 1}};

constexpr Country kCountries[] = {
    {"DE", 0.32, "de-DE", kGerman, "", kGerman, 0, kZonesDE},
    {"AT", 0.07, "de-AT", kGerman, "", kGerman, 0, kZonesAT},
    {"CH", 0.06, "de-CH", kGerman, "fr-CH", kFrench, 0.25, kZonesCH},
    {"US", 0.20, "en-US", kEnglish, "es-US", kSpanish, 0.10, kZonesUS},
    {"GB", 0.10, "en-GB", kEnglish, "", kEnglish, 0, kZonesGB},
    {"FR", 0.08, "fr-FR", kFrench, "", kFrench, 0, kZonesFR},
    {"NL", 0.07, "nl-NL", kDutch, "", kDutch, 0, kZonesNL},
    {"ES", 0.05, "es-ES", kSpanish, "", kSpanish, 0, kZonesES},
    {"IT", 0.05, "it-IT", kItalian, "", kItalian, 0, kZonesIT},
};

struct Weighted {
  std::string_view value;
  double weight;
};
constexpr Weighted kEmailDomains[] = {{"example.com", 0.4},
                                      {"example.org", 0.2},
                                      {"example.net", 0.2},
                                      {"mail.example", 0.12},
                                      {"post.example", 0.08}};

// Local-time shopping rhythm: relative weight of each hour of the day.
constexpr double kHourWeights[24] = {0.5, 0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.8, 1.1, 1.3, 1.4, 1.4,
                                     1.5, 1.4, 1.3, 1.3,  1.4,  1.6, 1.9, 2.2, 2.4, 2.2, 1.7, 1.0};
// Arrivals by calendar month (seasonality; the growth trend is added on top).
constexpr double kMonthWeights[12] = {0.9,  0.85, 0.95, 0.95, 1.0,  0.9,
                                      0.85, 0.9,  1.0,  1.1,  1.35, 1.5};

// Subscription plans: price per unit and interval in major units.
struct Plan {
  std::string_view name;
  std::int64_t monthly_major;
  std::int64_t yearly_major;
  double monthly_churn;  // per month, monthly billing
  double yearly_churn;   // at each renewal, yearly billing
};
constexpr Plan kPlans[] = {{"basic", 29, 290, 0.045, 0.25},
                           {"pro", 79, 790, 0.03, 0.2},
                           {"business", 199, 1990, 0.015, 0.12}};
constexpr double kPlanWeights[] = {0.55, 0.33, 0.12};
constexpr int kDiscountsBp[] = {1000, 1250, 1500, 2000, 2500};
constexpr double kExpansionPerMonth = 0.03;
constexpr double kContractionPerMonth = 0.012;
constexpr double kReactivationShare = 0.2;
constexpr int kMaxSubscriptionsPerCustomer = 3;

// Product catalogue for events: kProductCount products, "<adjective> <noun>".
constexpr std::string_view kAdjectives[] = {"Classic", "Cozy",    "Organic",  "Vintage",
                                            "Smart",   "Compact", "Deluxe",   "Everyday",
                                            "Nordic",  "Urban",   "Handmade", "Travel"};
struct Noun {
  std::string_view name;
  std::string_view category;
};
constexpr Noun kNouns[] = {{"Mug", "kitchen"},     {"Teapot", "kitchen"}, {"Knife Set", "kitchen"},
                           {"Backpack", "bags"},   {"Tote Bag", "bags"},  {"Scarf", "clothing"},
                           {"Hoodie", "clothing"}, {"Sneakers", "shoes"}, {"Lamp", "home"},
                           {"Blanket", "home"}};
constexpr int kProductCount = 120;  // every adjective with every noun
constexpr std::string_view kShopUrl = "https://shop.example";
constexpr std::string_view kStaticPages[][2] = {{"/", "Home"},
                                                {"/cart", "Cart"},
                                                {"/account", "Your account"},
                                                {"/sale", "Sale"},
                                                {"/about", "About us"}};

template <typename T>
const T& PickWeighted(SynthRng& rng, std::span<const T> items, double (*weight)(const T&)) {
  double total = 0;
  for (const auto& it : items) total += weight(it);
  double u = rng.Uniform() * total;
  for (const auto& it : items) {
    u -= weight(it);
    if (u < 0) return it;
  }
  return items.back();
}

std::size_t PickIndex(SynthRng& rng, std::span<const double> weights) {
  double total = 0;
  for (double w : weights) total += w;
  double u = rng.Uniform() * total;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.size() - 1;
}

template <typename T>
const T& Pick(SynthRng& rng, std::span<const T> items) {
  return items[static_cast<std::size_t>(
      rng.UniformInt(0, static_cast<std::int64_t>(items.size()) - 1))];
}

// Writes `prefix` and `n` zero-padded to at least `width` digits into `out`.
void FormatId(std::string& out, char prefix, std::int64_t n, int width) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  const auto len = static_cast<int>(end - digits);
  out.clear();
  out += prefix;
  if (len < width) out.append(static_cast<std::size_t>(width - len), '0');
  out.append(digits, end);
}

void AppendAsciiLower(std::string& out, const Name& n) {
  if (!n.ascii.empty()) {
    out += n.ascii;
    return;
  }
  for (char ch : n.text) {
    if (ch >= 'A' && ch <= 'Z') {
      out += static_cast<char>(ch - 'A' + 'a');
    } else if (ch >= 'a' && ch <= 'z') {
      out += ch;
    }
  }
}

void AppendInt(std::string& out, std::int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Minor units as a JSON number in major units ("12.34").
void AppendMajor(std::string& out, std::int64_t minor, int exponent) {
  std::int64_t scale = 1;
  for (int k = 0; k < exponent; ++k) scale *= 10;
  AppendInt(out, minor / scale);
  if (exponent > 0) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, minor % scale);
    out += '.';
    out.append(static_cast<std::size_t>(exponent) - static_cast<std::size_t>(end - buf), '0');
    out.append(buf, end);
  }
}

// Appends `s` as a JSON string literal (the tables hold no control characters, but quotes
// and backslashes are escaped anyway).
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
}

// ---------------------------------------------------------------------------------------------
// The generator

struct PendingOrder {
  Timestamp placed_at;
  std::int64_t total_minor = 0;
  OrderStatus status = OrderStatus::kCompleted;
  int refund_count = 0;
  Refund refunds[2];
  std::int64_t seq = 0;  // draw order, the tie-break for equal times
  std::string external_id;
};

enum class EventKind { kPageViewed, kProductViewed, kAddedToCart, kOrderCompleted };

struct PendingEvent {
  Timestamp at;
  std::int64_t seq = 0;
  EventKind kind = EventKind::kPageViewed;
  int product = 0;  // product index, or page index for static pages (negative: -1 - i)
  int order = -1;   // index into the customer's orders for kOrderCompleted
};

struct CatalogProduct {
  std::string id;
  std::string name;
  std::string_view category;
  std::int64_t price_minor = 0;
};

class Generator {
 public:
  Generator(const SynthConfig& config, const Currency& currency, SynthSink& sink)
      : config_(config), currency_(currency), sink_(sink) {
    for (int k = 0; k < currency.exponent(); ++k) minor_scale_ *= 10;
    start_day_ = DaysFromCivil(config.start);
    const std::int64_t end_day = DaysFromCivil(config.end) + 1;
    days_ = end_day - start_day_;
    start_us_ = start_day_ * kDay;
    end_us_ = end_day * kDay;
    arrival_days_ = std::max<std::int64_t>(1, days_ * 2 / 3);
    // Arrival weight per day: month seasonality, a little weekend lift, and growth (later
    // cohorts are up to 60 % larger).
    arrival_weight_.resize(static_cast<std::size_t>(arrival_days_));
    max_arrival_weight_ = 0;
    for (std::int64_t d = 0; d < arrival_days_; ++d) {
      const CivilDate date = CivilFromDays(start_day_ + d);
      const std::int64_t weekday = ((start_day_ + d) % 7 + 7 + 3) % 7;  // 0 = Monday
      const double w = kMonthWeights[date.month - 1] * (weekday >= 5 ? 1.1 : 1.0) *
                       (1 + 0.6 * static_cast<double>(d) / static_cast<double>(arrival_days_));
      arrival_weight_[static_cast<std::size_t>(d)] = w;
      max_arrival_weight_ = std::max(max_arrival_weight_, w);
    }
    products_.reserve(kProductCount);
    for (int i = 0; i < kProductCount; ++i) {
      CatalogProduct p;
      FormatId(p.id, 'p', i + 1, 4);
      const auto& noun = kNouns[static_cast<std::size_t>(i) % std::size(kNouns)];
      p.name = std::string(kAdjectives[static_cast<std::size_t>(i) / std::size(kNouns)]) + " " +
               std::string(noun.name);
      p.category = noun.category;
      p.price_minor =
          (5 + static_cast<std::int64_t>(SynthMix(static_cast<std::uint64_t>(i) + 1) % 146)) *
              minor_scale_ -
          (minor_scale_ > 1 ? 1 : 0);  // x.99
      products_.push_back(std::move(p));
    }
  }

  Status Run() {
    for (std::int64_t i = 0; i < config_.customers; ++i) {
      TREU_RETURN_IF_ERROR(GenerateCustomer(i));
    }
    return Ok();
  }

 private:
  // One customer's data, then emitted in order.
  Status GenerateCustomer(std::int64_t index) {
    const auto uindex = static_cast<std::uint64_t>(index);
    SynthRng profile = SynthRng::For(config_.seed, uindex, kStreamProfile);
    SynthRng orders = SynthRng::For(config_.seed, uindex, kStreamOrders);

    FormatId(customer_id_, 'c', index, 6);
    const Country& country =
        PickWeighted<Country>(profile, kCountries, [](const Country& c) { return c.weight; });
    const bool alt = !country.alt_locale.empty() && profile.Bernoulli(country.alt_share);
    const Zone& zone =
        PickWeighted<Zone>(profile, country.zones, [](const Zone& z) { return z.weight; });
    zone_offset_us_ = zone.utc_offset_hours * kHour;
    const std::int64_t arrival = SampleArrival(profile);

    GenerateOrders(orders, arrival);
    const Timestamp first_order = orders_.front().placed_at;
    const Timestamp created{
        std::max(start_us_, first_order.micros - profile.UniformInt(0, 7200) * kSecond)};

    FillCustomer(profile, index, country, alt, zone, created);
    const bool subscriber = profile.Bernoulli(config_.subscription_share);
    subscription_count_ = 0;
    if (subscriber) {
      SynthRng subs = SynthRng::For(config_.seed, uindex, kStreamSubscriptions);
      GenerateSubscriptions(subs, created.micros);
    }
    // plan_tier: the plan in force at the end of the data, else "free".
    std::string_view tier = "free";
    if (subscription_count_ > 0) {
      const Subscription& last = subscriptions_[subscription_count_ - 1];
      if (!last.ended_at) tier = last.history.back().plan;
    }
    customer_.attributes["plan_tier"] = std::string(tier);

    TREU_RETURN_IF_ERROR(sink_.OnCustomer(customer_));
    TREU_RETURN_IF_ERROR(EmitOrders());
    for (std::size_t i = 0; i < subscription_count_; ++i) {
      TREU_RETURN_IF_ERROR(sink_.OnSubscription(subscriptions_[i]));
    }
    if (config_.events && config_.events_per_customer_mean > 0) {
      SynthRng events = SynthRng::For(config_.seed, uindex, kStreamEvents);
      TREU_RETURN_IF_ERROR(GenerateEvents(events, index, created.micros));
    }
    return Ok();
  }

  // Arrival (first purchase) time: a day in the first two thirds of the range by the arrival
  // weights, at a local time of day.
  std::int64_t SampleArrival(SynthRng& rng) {
    while (true) {
      const std::int64_t d = rng.UniformInt(0, arrival_days_ - 1);
      if (rng.Uniform() * max_arrival_weight_ < arrival_weight_[static_cast<std::size_t>(d)]) {
        return TimeOnDay(rng, d);
      }
    }
  }

  // An instant on day `d` (days since start) at a local time drawn from the shopping rhythm
  // of the customer's zone, kept inside [start, end).
  std::int64_t TimeOnDay(SynthRng& rng, std::int64_t d) {
    const auto hour = static_cast<std::int64_t>(PickIndex(rng, kHourWeights));
    const std::int64_t local = hour * kHour + rng.UniformInt(0, 3599) * kSecond;
    const std::int64_t t = start_us_ + d * kDay + local - zone_offset_us_;
    return std::clamp(t, start_us_, end_us_ - kSecond);
  }

  void FillCustomer(SynthRng& rng, std::int64_t index, const Country& country, bool alt,
                    const Zone& zone, Timestamp created) {
    Customer& c = customer_;
    c.external_id = customer_id_;
    const NameGroup& group = kNameGroups[alt ? country.alt_names : country.names];
    const Name& first = Pick(rng, group.first);
    const Name& last = Pick(rng, group.last);
    c.name.assign(first.text);
    const double style = rng.Uniform();
    if (group.first.data() == kEnglishFirst && style < 0.004) {
      c.name += " \"";
      c.name += Pick<std::string_view>(rng, kNicknames);
      c.name += '"';
    }
    c.name += ' ';
    c.name += last.text;
    if (group.first.data() == kEnglishFirst && style >= 0.004 && style < 0.01) {
      c.name += Pick<std::string_view>(rng, kSuffixes);  // a comma in the name
    }

    c.email.clear();
    c.consent.clear();
    if (rng.Bernoulli(0.96)) {
      const double pattern = rng.Uniform();
      if (pattern < 0.5) {
        AppendAsciiLower(c.email, first);
        c.email += '.';
        AppendAsciiLower(c.email, last);
      } else if (pattern < 0.7) {
        AppendAsciiLower(c.email, first);
        c.email += '_';
        AppendAsciiLower(c.email, last);
      } else if (pattern < 0.9) {
        std::string f;
        AppendAsciiLower(f, first);
        c.email += f.substr(0, 1);
        AppendAsciiLower(c.email, last);
      } else {
        AppendAsciiLower(c.email, first);
      }
      AppendInt(c.email, index);  // the digits make every address unique
      c.email += '@';
      c.email += PickWeighted<Weighted>(rng, kEmailDomains, [](const Weighted& w) {
                   return w.weight;
                 }).value;
      c.consent[Channel::kEmail] = Consent{rng.Bernoulli(0.85), "import", created};
    }
    c.country.assign(country.code);
    c.locale.assign(alt ? country.alt_locale : country.locale);
    c.time_zone.assign(zone.name);
    c.created_at = created;
    c.updated_at = created;

    c.attributes.clear();
    if (rng.Bernoulli(0.75)) {
      const CivilDate s = config_.start;
      const std::int64_t lo = DaysFromCivil({s.year - 75, 1, 1});
      const std::int64_t hi = DaysFromCivil({s.year - 18, 12, 31});
      c.attributes["birthday"] = Timestamp{rng.UniformInt(lo, hi) * kDay};
    }
    if (rng.Bernoulli(0.9)) {
      const auto it = c.consent.find(Channel::kEmail);
      const bool consented = it != c.consent.end() && it->second.granted;
      c.attributes["newsletter"] = rng.Bernoulli(consented ? 0.6 : 0.05);
    }
  }

  void GenerateOrders(SynthRng& rng, std::int64_t arrival) {
    const PurchaseBehaviour& pm = config_.purchases;
    const SpendModel& sm = config_.spend;
    const double lambda = std::min(rng.Gamma(pm.r) / pm.alpha, pm.max_rate_per_week);
    const double dropout = rng.Beta(pm.a, pm.b);
    const double nu = rng.Gamma(sm.q) / sm.gamma;  // spend rate

    order_count_ = 0;
    AddOrder(rng, arrival, nu);
    const double days_total = static_cast<double>(days_);
    double t = static_cast<double>(arrival - start_us_) / static_cast<double>(kDay);
    while (lambda > 0 && order_count_ < static_cast<std::size_t>(pm.max_orders_per_customer)) {
      t += rng.Exponential() / lambda * 7;
      if (t >= days_total) break;
      AddOrder(rng, TimeOnDay(rng, static_cast<std::int64_t>(t)), nu);
      if (rng.Bernoulli(dropout)) break;
    }
    std::sort(orders_.begin(), orders_.begin() + static_cast<std::ptrdiff_t>(order_count_),
              [](const PendingOrder& x, const PendingOrder& y) {
                return x.placed_at != y.placed_at ? x.placed_at < y.placed_at : x.seq < y.seq;
              });
  }

  void AddOrder(SynthRng& rng, std::int64_t placed, double nu) {
    if (orders_.size() <= order_count_) orders_.emplace_back();
    PendingOrder& o = orders_[order_count_];
    o.seq = static_cast<std::int64_t>(order_count_);
    ++order_count_;
    o.placed_at = Timestamp{placed};
    const double value = std::clamp(rng.Gamma(config_.spend.p) / nu, config_.spend.floor_major,
                                    std::max(config_.spend.floor_major, 1e6));
    o.total_minor = std::llround(value * static_cast<double>(minor_scale_));
    o.status = OrderStatus::kCompleted;
    o.refund_count = 0;
    const double u = rng.Uniform();
    if (u < config_.cancel_share) {
      o.status = OrderStatus::kCancelled;
    } else if (u < config_.cancel_share + config_.refund_share && o.total_minor > 0) {
      const std::int64_t first_at = RefundTime(rng, placed);
      if (o.total_minor < 2 || rng.Bernoulli(config_.full_refund_share)) {
        o.status = OrderStatus::kRefunded;
        o.refunds[0] = Refund{Timestamp{first_at}, o.total_minor};
        o.refund_count = 1;
      } else {
        const auto part = std::clamp<std::int64_t>(
            std::llround(static_cast<double>(o.total_minor) * (0.1 + 0.8 * rng.Uniform())), 1,
            o.total_minor - 1);
        o.refunds[0] = Refund{Timestamp{first_at}, part};
        o.refund_count = 1;
        if (part >= 2 && rng.Bernoulli(0.25)) {  // refunded in two steps
          const std::int64_t second = part / 3;
          o.refunds[0].amount_minor = part - second;
          o.refunds[1] = Refund{Timestamp{RefundTime(rng, first_at)}, second};
          o.refund_count = 2;
        }
      }
    }
  }

  // A refund some hours to weeks after `after`, never past the end of the data.
  std::int64_t RefundTime(SynthRng& rng, std::int64_t after) {
    const auto delay =
        static_cast<std::int64_t>((1 + rng.Exponential() * 7 * 24) * static_cast<double>(kHour));
    const std::int64_t t = after + delay / kSecond * kSecond;
    return std::max(after, std::min(t, end_us_ - kSecond));
  }

  Status EmitOrders() {
    Order& o = order_;
    o.customer_external_id = customer_id_;
    o.total.currency = currency_;
    for (std::size_t i = 0; i < order_count_; ++i) {
      PendingOrder& p = orders_[i];
      FormatId(p.external_id, 'o', next_order_++, 8);
      o.external_id = p.external_id;
      o.placed_at = p.placed_at;
      o.total.minor = p.total_minor;
      o.status = p.status;
      o.refunds.assign(p.refunds, p.refunds + p.refund_count);
      TREU_RETURN_IF_ERROR(sink_.OnOrder(o));
    }
    return Ok();
  }

  // Subscriptions

  SubscriptionState NewTerms(SynthRng& rng, std::int64_t at) {
    SubscriptionState st;
    st.effective_at = Timestamp{at};
    const std::size_t plan = PickIndex(rng, kPlanWeights);
    st.plan.assign(kPlans[plan].name);
    st.interval = rng.Bernoulli(0.25) ? BillingInterval::kYear : BillingInterval::kMonth;
    st.amount_minor = PlanAmount(plan, st.interval);
    switch (plan) {
      case 0:
        st.quantity = rng.Bernoulli(0.8) ? 1 : rng.UniformInt(2, 3);
        break;
      case 1:
        st.quantity =
            1 + std::min<std::int64_t>(24, static_cast<std::int64_t>(rng.Exponential() * 2.5));
        break;
      default:
        st.quantity =
            5 + std::min<std::int64_t>(195, static_cast<std::int64_t>(rng.Exponential() * 12));
        break;
    }
    st.discount_bp = rng.Bernoulli(0.2) ? Pick<int>(rng, kDiscountsBp) : 0;
    st.status = SubscriptionStatus::kActive;
    return st;
  }

  std::int64_t PlanAmount(std::size_t plan, BillingInterval interval) const {
    return (interval == BillingInterval::kYear ? kPlans[plan].yearly_major
                                               : kPlans[plan].monthly_major) *
           minor_scale_;
  }

  static std::size_t PlanIndex(std::string_view name) {
    for (std::size_t i = 0; i < std::size(kPlans); ++i) {
      if (kPlans[i].name == name) return i;
    }
    return 0;
  }

  void GenerateSubscriptions(SynthRng& rng, std::int64_t created) {
    std::int64_t start =
        created + kHour +
        static_cast<std::int64_t>(rng.Exponential() * 14 * kDay) / kSecond * kSecond;
    if (start >= end_us_ - kDay) start = created + kHour;
    while (subscription_count_ < kMaxSubscriptionsPerCustomer && start < end_us_ - kDay) {
      if (subscriptions_.size() <= subscription_count_) subscriptions_.emplace_back();
      Subscription& s = subscriptions_[subscription_count_++];
      FormatId(s.external_id, 's', next_subscription_++, 7);
      s.customer_external_id = customer_id_;
      s.currency = currency_;
      s.started_at = Timestamp{start};
      s.ended_at.reset();
      s.history.clear();
      SubscriptionState st = NewTerms(rng, start);
      s.history.push_back(st);
      const bool discount_expires = st.discount_bp > 0 && rng.Bernoulli(0.6);
      for (std::int64_t month = 1;; ++month) {
        const std::int64_t t = start + month * kMonth;
        if (t >= end_us_) break;
        std::size_t plan = PlanIndex(st.plan);
        const bool renewal = st.interval == BillingInterval::kMonth || month % 12 == 0;
        const double churn = st.interval == BillingInterval::kMonth ? kPlans[plan].monthly_churn
                                                                    : kPlans[plan].yearly_churn;
        if (renewal && rng.Bernoulli(churn)) {
          s.ended_at = Timestamp{t};
          st.effective_at = Timestamp{t};
          st.status = SubscriptionStatus::kCanceled;
          s.history.push_back(st);
          break;
        }
        bool changed = false;
        const double u = rng.Uniform();
        if (u < kExpansionPerMonth) {
          if (plan + 1 < std::size(kPlans) && rng.Bernoulli(0.5)) {  // upgrade
            ++plan;
            st.plan.assign(kPlans[plan].name);
            st.amount_minor = PlanAmount(plan, st.interval);
            st.quantity = std::max<std::int64_t>(st.quantity, plan == 2 ? 5 : 1);
          } else {  // more seats
            st.quantity += rng.UniformInt(1, std::max<std::int64_t>(1, st.quantity / 4));
          }
          changed = true;
        } else if (u < kExpansionPerMonth + kContractionPerMonth) {
          if (st.quantity > 1 && (plan == 0 || rng.Bernoulli(0.6))) {  // fewer seats
            st.quantity -= rng.UniformInt(1, std::max<std::int64_t>(1, st.quantity / 4));
            changed = true;
          } else if (plan > 0) {  // downgrade
            --plan;
            st.plan.assign(kPlans[plan].name);
            st.amount_minor = PlanAmount(plan, st.interval);
            changed = true;
          }
        }
        if (discount_expires && month == 12 && st.discount_bp > 0) {
          st.discount_bp = 0;
          changed = true;
        }
        if (changed) {
          st.effective_at = Timestamp{t};
          s.history.push_back(st);
        }
      }
      if (!s.ended_at || !rng.Bernoulli(kReactivationShare)) break;
      start = s.ended_at->micros + 7 * kDay +
              static_cast<std::int64_t>(rng.Exponential() * 60 * kDay) / kSecond * kSecond;
    }
  }

  // Events

  // Segment-style events: a purchase session (product view, add to cart, order completed)
  // before some orders, and browsing sessions at other times. The count grows with the
  // customer's activity so that it averages events_per_customer_mean over customers.
  Status GenerateEvents(SynthRng& rng, std::int64_t index, std::int64_t created) {
    std::int64_t live_orders = 0;
    for (std::size_t i = 0; i < order_count_; ++i) {
      if (orders_[i].status != OrderStatus::kCancelled) ++live_orders;
    }
    const double activity =
        (1 + static_cast<double>(live_orders)) / (1 + kMeanLiveOrdersPerCustomer);
    std::int64_t budget =
        rng.Poisson(static_cast<double>(config_.events_per_customer_mean) * activity);
    event_count_ = 0;
    auto add = [&](std::int64_t at, EventKind kind, int product, int order) {
      if (events_.size() <= event_count_) events_.emplace_back();
      PendingEvent& e = events_[event_count_];
      e.at = Timestamp{std::clamp(at, start_us_, end_us_ - kSecond)};
      e.seq = static_cast<std::int64_t>(event_count_);
      e.kind = kind;
      e.product = product;
      e.order = order;
      ++event_count_;
      --budget;
    };
    for (std::size_t i = 0; i < order_count_ && budget >= 3; ++i) {
      const PendingOrder& o = orders_[i];
      if (o.status == OrderStatus::kCancelled || !rng.Bernoulli(0.4)) continue;
      const int product = PickProduct(rng);
      const std::int64_t at = o.placed_at.micros;
      if (budget >= 4 && rng.Bernoulli(0.5)) {
        add(at - rng.UniformInt(31 * 60, 60 * 60) * kSecond, EventKind::kPageViewed, -1, -1);
      }
      add(at - rng.UniformInt(6 * 60, 30 * 60) * kSecond, EventKind::kProductViewed, product, -1);
      add(at - rng.UniformInt(60, 5 * 60) * kSecond, EventKind::kAddedToCart, product, -1);
      add(at, EventKind::kOrderCompleted, product, static_cast<int>(i));
    }
    const std::int64_t window = std::max<std::int64_t>(kSecond, end_us_ - kHour - created);
    while (budget > 0) {  // browsing sessions
      std::int64_t at = created + rng.UniformInt(0, window / kSecond) * kSecond;
      const int page = static_cast<int>(
          rng.UniformInt(0, static_cast<std::int64_t>(std::size(kStaticPages)) - 1));
      add(at, EventKind::kPageViewed, -1 - page, -1);
      const std::int64_t views = rng.UniformInt(0, 3);
      int product = -1;
      for (std::int64_t v = 0; v < views && budget > 0; ++v) {
        at += rng.UniformInt(20, 300) * kSecond;
        product = PickProduct(rng);
        add(at, rng.Bernoulli(0.5) ? EventKind::kPageViewed : EventKind::kProductViewed, product,
            -1);
      }
      if (product >= 0 && budget > 0 && rng.Bernoulli(0.15)) {  // an abandoned cart
        add(at + rng.UniformInt(20, 300) * kSecond, EventKind::kAddedToCart, product, -1);
      }
    }
    std::sort(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(event_count_),
              [](const PendingEvent& x, const PendingEvent& y) {
                return x.at != y.at ? x.at < y.at : x.seq < y.seq;
              });
    SynthRng ids =
        SynthRng::For(config_.seed, static_cast<std::uint64_t>(index), kStreamMessageIds);
    Event& e = event_;
    e.user_id = customer_id_;
    for (std::size_t i = 0; i < event_count_; ++i) {
      const PendingEvent& p = events_[i];
      e.timestamp = p.at;
      e.received_at = Timestamp{p.at.micros + rng.UniformInt(80, 2500) * 1000};
      FormatMessageId(e.message_id, ids.Next(), ids.Next());
      FillEvent(e, p);
      TREU_RETURN_IF_ERROR(sink_.OnEvent(e));
    }
    return Ok();
  }

  // Products by popularity: low indexes are bought far more often.
  int PickProduct(SynthRng& rng) {
    const double u = rng.Uniform();
    return std::min(kProductCount - 1, static_cast<int>(kProductCount * u * u * u));
  }

  // A UUID (version 4 layout) from 128 random bits.
  static void FormatMessageId(std::string& out, std::uint64_t hi, std::uint64_t lo) {
    static constexpr char kHex[] = "0123456789abcdef";
    hi = (hi & ~0xF000ULL) | 0x4000ULL;                         // version 4
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
    char buf[36];
    int pos = 0;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) buf[pos++] = '-';
      const std::uint64_t word = i < 16 ? hi : lo;
      buf[pos++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xF];
    }
    out.assign(buf, sizeof buf);
  }

  void FillEvent(Event& e, const PendingEvent& p) {
    std::string& j = e.properties_json;
    j.clear();
    const int exponent = currency_.exponent();
    switch (p.kind) {
      case EventKind::kPageViewed: {
        e.type = EventType::kPage;
        e.name = "Page Viewed";
        std::string path, title;
        if (p.product >= 0) {
          const CatalogProduct& pr = products_[static_cast<std::size_t>(p.product)];
          path = "/products/" + pr.id;
          title = pr.name;
        } else {
          const auto* page = kStaticPages[static_cast<std::size_t>(-1 - p.product)];
          path = page[0];
          title = page[1];
        }
        j += "{\"url\":";
        AppendJsonString(j, std::string(kShopUrl) + path);
        j += ",\"path\":";
        AppendJsonString(j, path);
        j += ",\"title\":";
        AppendJsonString(j, title);
        j += '}';
        break;
      }
      case EventKind::kProductViewed:
      case EventKind::kAddedToCart: {
        const bool cart = p.kind == EventKind::kAddedToCart;
        e.type = EventType::kTrack;
        e.name = cart ? "Added to Cart" : "Product Viewed";
        const CatalogProduct& pr = products_[static_cast<std::size_t>(p.product)];
        j += "{\"product_id\":";
        AppendJsonString(j, pr.id);
        j += ",\"name\":";
        AppendJsonString(j, pr.name);
        j += ",\"category\":";
        AppendJsonString(j, pr.category);
        j += ",\"price\":";
        AppendMajor(j, pr.price_minor, exponent);
        if (cart) j += ",\"quantity\":1";
        j += ",\"currency\":";
        AppendJsonString(j, currency_.code());
        j += '}';
        break;
      }
      case EventKind::kOrderCompleted: {
        e.type = EventType::kTrack;
        e.name = "Order Completed";
        const PendingOrder& o = orders_[static_cast<std::size_t>(p.order)];
        j += "{\"order_id\":";
        AppendJsonString(j, o.external_id);
        j += ",\"total\":";
        AppendMajor(j, o.total_minor, exponent);
        j += ",\"currency\":";
        AppendJsonString(j, currency_.code());
        j += '}';
        break;
      }
    }
  }

  const SynthConfig& config_;
  const Currency currency_;
  SynthSink& sink_;
  std::int64_t minor_scale_ = 1;
  std::int64_t start_day_ = 0;
  std::int64_t days_ = 0;
  std::int64_t start_us_ = 0;
  std::int64_t end_us_ = 0;
  std::int64_t arrival_days_ = 0;
  std::vector<double> arrival_weight_;
  double max_arrival_weight_ = 1;
  std::vector<CatalogProduct> products_;

  // Global counters: customer i's ids depend only on customers before it.
  std::int64_t next_order_ = 1;
  std::int64_t next_subscription_ = 1;

  // The current customer; buffers are reused from customer to customer.
  std::string customer_id_;
  std::int64_t zone_offset_us_ = 0;
  Customer customer_;
  std::vector<PendingOrder> orders_;
  std::size_t order_count_ = 0;
  Order order_;
  std::vector<Subscription> subscriptions_;
  std::size_t subscription_count_ = 0;
  std::vector<PendingEvent> events_;
  std::size_t event_count_ = 0;
  Event event_;
};

}  // namespace

Status GenerateSynth(const SynthConfig& config, SynthSink& sink) {
  TREU_RETURN_IF_ERROR(ValidateSynthConfig(config));
  TREU_ASSIGN_OR_RETURN(const Currency currency, Currency::FromCode(config.currency));
  Generator generator(config, currency, sink);
  return generator.Run();
}

// ---------------------------------------------------------------------------------------------
// CountingSink

Status CountingSink::OnCustomer(const Customer& customer) {
  ++counts_.customers;
  return target_ ? target_->OnCustomer(customer) : Ok();
}

Status CountingSink::OnOrder(const Order& order) {
  ++counts_.orders;
  counts_.refunds += static_cast<std::int64_t>(order.refunds.size());
  return target_ ? target_->OnOrder(order) : Ok();
}

Status CountingSink::OnSubscription(const Subscription& subscription) {
  ++counts_.subscriptions;
  counts_.subscription_states += static_cast<std::int64_t>(subscription.history.size());
  return target_ ? target_->OnSubscription(subscription) : Ok();
}

Status CountingSink::OnEvent(const Event& event) {
  ++counts_.events;
  return target_ ? target_->OnEvent(event) : Ok();
}

}  // namespace treu
