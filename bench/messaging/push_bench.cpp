// Web push throughput: encrypting a ~200-byte JSON notification for one of 1,000 subscriptions
// (RFC 8291: a fresh P-256 key pair and an ECDH per message, then HKDF and AES-128-GCM) and
// building its VAPID Authorization header (RFC 8292). The issue's goal is 20,000 messages/s
// on one core. Variants: with the signer's per-audience token cache (what a send does) and
// with a new ES256 token per message (the baseline), then the parts alone, to see what
// dominates.

#include <benchmark/benchmark.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "messaging/webpush.hpp"

namespace {

using namespace treu::messaging::webpush;

constexpr std::int64_t kNow = 1700000000;
constexpr std::size_t kSubscriptions = 1000;

// 205 bytes, a typical notification: title, body, link, icon, tag.
const std::string kPayload =
    R"({"title":"Your cart misses you","body":"Green tea and 2 more items are waiting. )"
    R"(Free shipping until Sunday.","url":"https://shop.example/cart?c=8812","icon":"/i/cart.png","tag":"cart-8812"})";

struct Recipient {
  std::string endpoint;
  PushSubscriptionKeys keys;
};

const std::vector<Recipient>& Pool() {
  static const std::vector<Recipient> pool = [] {
    // Endpoints spread over the big push services, as a real audience is.
    const char* services[] = {"https://fcm.googleapis.com/fcm/send/", "https://updates.push.services.mozilla.com/wpush/v2/",
                              "https://web.push.apple.com/", "https://wns2-par02p.notify.windows.com/w/?token="};
    std::vector<Recipient> out;
    for (std::size_t i = 0; i < kSubscriptions; ++i) {
      auto ua = GenerateVapidKeys();  // a P-256 key pair, as a browser makes
      if (!ua) std::abort();
      std::string auth(16, '\0');
      RAND_bytes(reinterpret_cast<unsigned char*>(auth.data()), 16);
      out.push_back({std::string(services[i % 4]) + "subscription" + std::to_string(i),
                     {ua->public_key, Base64UrlEncode(auth)}});
    }
    return out;
  }();
  return pool;
}

const VapidSigner& Signer() {
  static const VapidSigner signer = [] {
    auto keys = GenerateVapidKeys();
    auto signer = VapidSigner::Create(*keys, "mailto:push@shop.example");
    if (!signer) std::abort();
    return *signer;
  }();
  return signer;
}

// What a send does per recipient: encrypt, and the Authorization header from the cached token.
void BM_PushEncryptAndSignCached(benchmark::State& state) {
  const auto& pool = Pool();
  const VapidSigner& signer = Signer();
  std::size_t i = 0;
  for (auto _ : state) {
    const Recipient& r = pool[i++ % pool.size()];
    auto body = EncryptPushPayload(kPayload, r.keys);
    auto header = signer.Authorization(r.endpoint, kNow);
    if (!body || !header) std::abort();
    benchmark::DoNotOptimize(body->data());
    benchmark::DoNotOptimize(header->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushEncryptAndSignCached);

// The baseline: a new ES256 token for every message.
void BM_PushEncryptAndSignUncached(benchmark::State& state) {
  const auto& pool = Pool();
  const VapidSigner& signer = Signer();
  std::size_t i = 0;
  for (auto _ : state) {
    const Recipient& r = pool[i++ % pool.size()];
    auto body = EncryptPushPayload(kPayload, r.keys);
    auto audience = PushAudience(r.endpoint);
    if (!body || !audience) std::abort();
    auto token = signer.SignToken(*audience, kNow + VapidSigner::kTokenLifetime);
    if (!token) std::abort();
    const std::string header = VapidAuthorization(*token, signer.public_key());
    benchmark::DoNotOptimize(body->data());
    benchmark::DoNotOptimize(header.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushEncryptAndSignUncached);

// The parts.
void BM_PushEncryptOnly(benchmark::State& state) {
  const auto& pool = Pool();
  std::size_t i = 0;
  for (auto _ : state) {
    auto body = EncryptPushPayload(kPayload, pool[i++ % pool.size()].keys);
    if (!body) std::abort();
    benchmark::DoNotOptimize(body->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushEncryptOnly);

void BM_VapidAuthorizationCached(benchmark::State& state) {
  const auto& pool = Pool();
  const VapidSigner& signer = Signer();
  std::size_t i = 0;
  for (auto _ : state) {
    auto header = signer.Authorization(pool[i++ % pool.size()].endpoint, kNow);
    if (!header) std::abort();
    benchmark::DoNotOptimize(header->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VapidAuthorizationCached);

void BM_VapidSignToken(benchmark::State& state) {
  const VapidSigner& signer = Signer();
  for (auto _ : state) {
    auto token = signer.SignToken("https://fcm.googleapis.com", kNow);
    if (!token) std::abort();
    benchmark::DoNotOptimize(token->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VapidSignToken);

// A P-256 key pair (the ephemeral key of every message; here with its export to base64url).
void BM_P256KeyPair(benchmark::State& state) {
  for (auto _ : state) {
    auto keys = GenerateVapidKeys();
    if (!keys) std::abort();
    benchmark::DoNotOptimize(keys->public_key.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_P256KeyPair);

// Decoding and checking a subscription's keys (a point on the curve).
void BM_ValidateSubscription(benchmark::State& state) {
  const auto& pool = Pool();
  std::size_t i = 0;
  for (auto _ : state) {
    const Recipient& r = pool[i++ % pool.size()];
    if (!ValidateSubscription(r.endpoint, r.keys)) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateSubscription);

}  // namespace

BENCHMARK_MAIN();
