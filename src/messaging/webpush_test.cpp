#include "messaging/webpush.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace treu::messaging::webpush {
namespace {

// RFC 8291 appendix A (the example of section 5), transcribed from the RFC's text with the
// line-break whitespace removed. Every value is base64url.
namespace rfc8291 {
constexpr const char* kPlaintext = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
constexpr const char* kAsPublic =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr const char* kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr const char* kUaPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr const char* kUaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr const char* kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr const char* kAuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr const char* kEcdhSecret = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
constexpr const char* kPrkKey = "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k";
constexpr const char* kKeyInfo =
    "V2ViUHVzaDogaW5mbwAEJXGyvs3942BVGq8e0PTNNmwRzr5VX4m8t7GGpTM5FzFo7OLr4BhZe9MEebhuPI-OztV3"
    "ylkYfpJGmQ22ggCLDgT-M_SrDepxkU21WCP3O1SUj0EwbZIHMtu5pZpTKGSCIA5Zent7wmC6HCJ5mFgJkuk5cwAv"
    "MBKiiujwa7t45ewP";
constexpr const char* kIkm = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg";
constexpr const char* kPrk = "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc";
constexpr const char* kCekInfo = "Q29udGVudC1FbmNvZGluZzogYWVzMTI4Z2NtAA";
constexpr const char* kCek = "oIhVW04MRdy2XN9CiKLxTg";
constexpr const char* kNonceInfo = "Q29udGVudC1FbmNvZGluZzogbm9uY2UA";
constexpr const char* kNonce = "4h_95klXJ5E_qnoN";
constexpr const char* kHeader =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr const char* kCiphertext =
    "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEs"
    "bI_0LpXMuGvnzQ";
// The body of the push message in section 5 (header then ciphertext).
constexpr const char* kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";
}  // namespace rfc8291

// RFC 8292 section 2.4: the example token and section 3.2's example public key (the key of
// the same example, given in the Authorization header "vapid t=..., k=...").
namespace rfc8292 {
constexpr const char* kToken =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1"
    "MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiU"
    "fnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA";
constexpr const char* kPublicKey =
    "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs";
}  // namespace rfc8292

std::string Raw(const char* b64url) {
  auto raw = Base64UrlDecode(b64url, "test");
  EXPECT_TRUE(raw) << b64url;
  return raw ? *raw : std::string();
}

std::string Text(const char* b64url) { return Raw(b64url); }

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

// A browser's side of a subscription: a P-256 key pair (made with GenerateVapidKeys, which
// makes P-256 key pairs) and an auth secret.
struct UserAgent {
  std::string private_raw;
  std::string public_raw;
  std::string auth_raw;
  PushSubscriptionKeys keys;
};

UserAgent NewUserAgent() {
  auto pair = GenerateVapidKeys();
  EXPECT_TRUE(pair);
  UserAgent ua;
  ua.private_raw = Raw(pair->private_key.c_str());
  ua.public_raw = Raw(pair->public_key.c_str());
  ua.auth_raw = RandomBytes(16);
  ua.keys = {pair->public_key, Base64UrlEncode(ua.auth_raw)};
  return ua;
}

Result<std::string> Decrypt(const UserAgent& ua, std::string_view body) {
  return DecryptPushPayload(body, ua.private_raw, ua.public_raw, ua.auth_raw);
}

void ExpectInvalid(const Status& status, const std::string& context) {
  ASSERT_FALSE(status) << "expected an error naming " << context;
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument) << status.error().ToString();
  EXPECT_EQ(status.error().context(), context) << status.error().ToString();
}

// -------------------------------------------------------------------------------------------
// RFC 8291

TEST(PushRfc8291, ExampleKeyPairsBelongTogether) {
  // The appendix's private keys give its public keys (LoadVapidKeys checks exactly that).
  EXPECT_TRUE(LoadVapidKeys(rfc8291::kAsPublic, rfc8291::kAsPrivate));
  EXPECT_TRUE(LoadVapidKeys(rfc8291::kUaPublic, rfc8291::kUaPrivate));
  EXPECT_EQ(Text(rfc8291::kPlaintext), "When I grow up, I want to be a watermelon");
}

TEST(PushRfc8291, AppendixAEveryIntermediateValue) {
  const PushSubscriptionKeys ua{rfc8291::kUaPublic, rfc8291::kAuthSecret};
  auto trace = EncryptPushPayloadWithKey(Text(rfc8291::kPlaintext), ua, Raw(rfc8291::kAsPrivate),
                                         Raw(rfc8291::kSalt));
  ASSERT_TRUE(trace) << trace.error().ToString();
  EXPECT_EQ(Base64UrlEncode(trace->as_public), rfc8291::kAsPublic);
  EXPECT_EQ(Base64UrlEncode(trace->ecdh_secret), rfc8291::kEcdhSecret);
  EXPECT_EQ(Base64UrlEncode(trace->prk_key), rfc8291::kPrkKey);
  EXPECT_EQ(Base64UrlEncode(trace->key_info), rfc8291::kKeyInfo);
  EXPECT_EQ(Base64UrlEncode(trace->ikm), rfc8291::kIkm);
  EXPECT_EQ(Base64UrlEncode(trace->prk), rfc8291::kPrk);
  EXPECT_EQ(Base64UrlEncode(trace->cek_info), rfc8291::kCekInfo);
  EXPECT_EQ(Base64UrlEncode(trace->cek), rfc8291::kCek);
  EXPECT_EQ(Base64UrlEncode(trace->nonce_info), rfc8291::kNonceInfo);
  EXPECT_EQ(Base64UrlEncode(trace->nonce), rfc8291::kNonce);
  EXPECT_EQ(Base64UrlEncode(trace->header), rfc8291::kHeader);
  EXPECT_EQ(Base64UrlEncode(trace->ciphertext), rfc8291::kCiphertext);
  EXPECT_EQ(Base64UrlEncode(trace->body), rfc8291::kBody);
  EXPECT_EQ(trace->body, Raw(rfc8291::kBody));  // byte for byte

  // The parts as the RFC describes them, independently of the transcription.
  EXPECT_EQ(trace->key_info, std::string("WebPush: info\0", 14) + Raw(rfc8291::kUaPublic) +
                                 Raw(rfc8291::kAsPublic));
  EXPECT_EQ(trace->cek_info, std::string("Content-Encoding: aes128gcm\0", 28));
  EXPECT_EQ(trace->nonce_info, std::string("Content-Encoding: nonce\0", 24));
  EXPECT_EQ(trace->header.size(), kHeaderSize);
  EXPECT_EQ(trace->header.substr(16, 5), std::string("\x00\x00\x10\x00\x41", 5));  // rs 4096, idlen 65
}

TEST(PushRfc8291, UserAgentDecryptsTheExampleBody) {
  auto plain = DecryptPushPayload(Raw(rfc8291::kBody), Raw(rfc8291::kUaPrivate), Raw(rfc8291::kUaPublic),
                                  Raw(rfc8291::kAuthSecret));
  ASSERT_TRUE(plain) << plain.error().ToString();
  EXPECT_EQ(*plain, "When I grow up, I want to be a watermelon");

  // Another auth secret: the record does not authenticate.
  auto wrong = DecryptPushPayload(Raw(rfc8291::kBody), Raw(rfc8291::kUaPrivate), Raw(rfc8291::kUaPublic),
                                  std::string(16, 'x'));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kPermissionDenied);
}

// -------------------------------------------------------------------------------------------
// Round trips

TEST(PushEncryption, RoundTripWithFreshSaltAndKeyPerMessage) {
  const UserAgent ua = NewUserAgent();
  const std::string payload = R"({"title":"Your cart misses you","body":"Green tea is back in stock"})";
  std::set<std::string> salts;
  std::set<std::string> keyids;
  for (int i = 0; i < 5; ++i) {
    auto body = EncryptPushPayload(payload, ua.keys);
    ASSERT_TRUE(body) << body.error().ToString();
    EXPECT_EQ(body->size(), kHeaderSize + payload.size() + 1 + kTagSize);
    EXPECT_EQ(body->substr(16, 5), std::string("\x00\x00\x10\x00\x41", 5));
    salts.insert(body->substr(0, 16));
    keyids.insert(body->substr(21, 65));
    auto plain = Decrypt(ua, *body);
    ASSERT_TRUE(plain) << plain.error().ToString();
    EXPECT_EQ(*plain, payload);
  }
  EXPECT_EQ(salts.size(), 5u);
  EXPECT_EQ(keyids.size(), 5u);
}

TEST(PushEncryption, EmptyPayloadAndPadding) {
  const UserAgent ua = NewUserAgent();
  auto body = EncryptPushPayload("", ua.keys, 100);
  ASSERT_TRUE(body);
  EXPECT_EQ(body->size(), kHeaderSize + 1 + 100 + kTagSize);
  auto plain = Decrypt(ua, *body);
  ASSERT_TRUE(plain) << plain.error().ToString();
  EXPECT_EQ(*plain, "");
}

TEST(PushEncryption, TamperingWithAnyByteFails) {
  const UserAgent ua = NewUserAgent();
  auto body = EncryptPushPayload("a short message", ua.keys);
  ASSERT_TRUE(body);
  for (std::size_t i = 0; i < body->size(); ++i) {
    std::string altered = *body;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    if (i >= 16 && i < 20) {
      // The record size "rs" is the one field RFC 8188 leaves unauthenticated: it only says
      // where records end. Any rs at least the record's length reads the same single record,
      // so altering it cannot change what the user agent gets.
      auto plain = Decrypt(ua, altered);
      ASSERT_TRUE(plain) << "byte " << i;
      EXPECT_EQ(*plain, "a short message");
      continue;
    }
    EXPECT_FALSE(Decrypt(ua, altered)) << "byte " << i;
  }
  // Truncated or extended.
  EXPECT_FALSE(Decrypt(ua, body->substr(0, body->size() - 1)));
  EXPECT_FALSE(Decrypt(ua, *body + "x"));
  EXPECT_FALSE(Decrypt(ua, body->substr(0, kHeaderSize)));
  EXPECT_FALSE(Decrypt(ua, ""));
}

TEST(PushEncryption, AnotherSubscriptionCannotDecrypt) {
  const UserAgent ua = NewUserAgent();
  const UserAgent other = NewUserAgent();
  auto body = EncryptPushPayload("for ua only", ua.keys);
  ASSERT_TRUE(body);
  auto plain = Decrypt(other, *body);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code(), ErrorCode::kPermissionDenied);
}

TEST(PushEncryption, MaxPayloadBoundary) {
  const UserAgent ua = NewUserAgent();
  EXPECT_EQ(kMaxPlaintextSize, 3993u);  // RFC 8291 section 4
  const std::string largest(kMaxPlaintextSize, 'p');
  auto body = EncryptPushPayload(largest, ua.keys);
  ASSERT_TRUE(body) << body.error().ToString();
  EXPECT_EQ(body->size(), kMaxBodySize);
  auto plain = Decrypt(ua, *body);
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, largest);

  ExpectInvalid(StatusOf(EncryptPushPayload(largest + "p", ua.keys)), "payload");
  // Padding counts against the limit.
  EXPECT_TRUE(EncryptPushPayload(std::string(kMaxPlaintextSize - 3, 'p'), ua.keys, 3));
  ExpectInvalid(StatusOf(EncryptPushPayload(std::string(kMaxPlaintextSize - 3, 'p'), ua.keys, 4)), "payload");
  ExpectInvalid(StatusOf(EncryptPushPayload("x", ua.keys, static_cast<std::size_t>(-1))), "payload");
}

// A body whose record is sealed with the right keys but carries `record` as its plaintext, so
// that only the delimiter is wrong.
std::string SealRecord(const PushEncryptionTrace& trace, const std::string& record) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(record.size() + 16, '\0');
  int n = 0;
  int m = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), reinterpret_cast<const unsigned char*>(trace.cek.data()),
                      reinterpret_cast<const unsigned char*>(trace.nonce.data()), nullptr);
  EVP_EncryptUpdate(ctx, o, &n, reinterpret_cast<const unsigned char*>(record.data()),
                    static_cast<int>(record.size()));
  EVP_EncryptFinal_ex(ctx, o + n, &m);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + record.size());
  EVP_CIPHER_CTX_free(ctx);
  return trace.header + out;
}

TEST(PushEncryption, DecryptChecksTheDelimiterAndHeader) {
  const UserAgent ua = NewUserAgent();
  const std::string as_private = Raw(GenerateVapidKeys()->private_key.c_str());
  auto trace = EncryptPushPayloadWithKey("hello", ua.keys, as_private, RandomBytes(16));
  ASSERT_TRUE(trace);
  ASSERT_EQ(*Decrypt(ua, SealRecord(*trace, std::string("hello\x02\0\0", 8))), "hello");
  // 0x01 ends a record that is not the last; push messages have one record.
  ExpectInvalid(StatusOf(Decrypt(ua, SealRecord(*trace, std::string("hello\x01", 6)))), "push message");
  ExpectInvalid(StatusOf(Decrypt(ua, SealRecord(*trace, std::string("\0\0", 2)))), "push message");

  std::string body = trace->body;
  body[20] = 64;  // idlen
  ExpectInvalid(StatusOf(Decrypt(ua, body)), "push message");
  body = trace->body;
  body.replace(16, 4, std::string("\x00\x00\x00\x11", 4));  // rs 17
  ExpectInvalid(StatusOf(Decrypt(ua, body)), "push message");
  body.replace(16, 4, std::string("\x00\x00\x00\x12", 4));  // rs 18: the record is longer
  ExpectInvalid(StatusOf(Decrypt(ua, body)), "push message");
  body = trace->body;
  body[21] = 0x05;  // the keyid is not an uncompressed point
  ExpectInvalid(StatusOf(Decrypt(ua, body)), "push message");

  // Keys of the user agent that don't belong together.
  ExpectInvalid(StatusOf(DecryptPushPayload(trace->body, ua.private_raw, Raw(rfc8291::kUaPublic), ua.auth_raw)),
                "ua keys");
}

// -------------------------------------------------------------------------------------------
// Subscriptions

const PushSubscriptionKeys kGoodKeys{rfc8291::kUaPublic, rfc8291::kAuthSecret};
constexpr const char* kEndpoint = "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bHqjZxM0VImWWqDRN7U0a";

TEST(PushSubscription, ValidSubscriptions) {
  EXPECT_TRUE(ValidateSubscription(kEndpoint, kGoodKeys));
  EXPECT_TRUE(ValidateSubscription("http://127.0.0.1:8080/push/1", kGoodKeys));
  EXPECT_TRUE(ValidateSubscription("https://[::1]:8443/push", kGoodKeys));
  // Some libraries pad their base64url.
  EXPECT_TRUE(ValidateSubscription(kEndpoint, {std::string(rfc8291::kUaPublic) + "=", "BTBZMqHH6r4Tts7J_aSIgg=="}));
}

TEST(PushSubscription, BadEndpointsNameTheField) {
  const std::vector<std::string> endpoints = {
       "ftp://push.example.net/x", "push.example.net/x", "https:///x", "https://", "https://user@push.example.net/x",
        "https://push.example.net:0/x", "https://push.example.net:99999/x", "https://push.example.net:/x",
        "https://push.example.net/a b", "https://push.example.net/a\nb", std::string("https://push.example.net/\0", 26),
        "javascript://push.example.net/x", "https://push.exa$mple.net/x", "https://[::1/x", ""};
  for (const std::string& endpoint : endpoints) {
    SCOPED_TRACE(endpoint);
    ExpectInvalid(ValidateSubscription(endpoint, kGoodKeys), "endpoint");
  }
  const std::string longest = "https://push.example.net/" + std::string(kMaxEndpointSize - 25, 'a');
  EXPECT_TRUE(ValidateSubscription(longest, kGoodKeys));
  ExpectInvalid(ValidateSubscription(longest + "a", kGoodKeys), "endpoint");
}

TEST(PushSubscription, BadKeysNameTheField) {
  const std::string point = Raw(rfc8291::kUaPublic);
  std::string off_curve = point;
  off_curve[64] = static_cast<char>(off_curve[64] ^ 0x01);
  std::string compressed = point.substr(0, 33);
  compressed[0] = 0x02;
  const std::vector<std::string> bad_points = {
       Base64UrlEncode(off_curve), Base64UrlEncode(point.substr(0, 64)), Base64UrlEncode(point + "x"),
        Base64UrlEncode(compressed), Base64UrlEncode(std::string(65, '\0')), std::string("BCVxsr7N+eNgVRqv"),
        std::string("not base64url!"), std::string()};
  for (const std::string& p256dh : bad_points) {
    SCOPED_TRACE(p256dh);
    ExpectInvalid(ValidateSubscription(kEndpoint, {p256dh, rfc8291::kAuthSecret}), "keys/p256dh");
    ExpectInvalid(StatusOf(EncryptPushPayload("x", {p256dh, rfc8291::kAuthSecret})), "keys/p256dh");
  }
  const std::vector<std::string> bad_secrets = {Base64UrlEncode(std::string(15, 'a')),
                                               Base64UrlEncode(std::string(17, 'a')),
                                               "BTBZMqHH6r4Tts7J/aSIgg", ""};
  for (const std::string& auth : bad_secrets) {
    SCOPED_TRACE(auth);
    ExpectInvalid(ValidateSubscription(kEndpoint, {rfc8291::kUaPublic, auth}), "keys/auth");
    ExpectInvalid(StatusOf(EncryptPushPayload("x", {rfc8291::kUaPublic, auth})), "keys/auth");
  }
}

TEST(PushSubscription, AudienceIsTheOrigin) {
  EXPECT_EQ(*PushAudience(kEndpoint), "https://fcm.googleapis.com");
  EXPECT_EQ(*PushAudience("https://Updates.Push.Services.Mozilla.com/wpush/v2/gAAA?x=1"),
            "https://updates.push.services.mozilla.com");
  EXPECT_EQ(*PushAudience("HTTPS://push.example.net:443/x"), "https://push.example.net");
  EXPECT_EQ(*PushAudience("https://push.example.net:8443"), "https://push.example.net:8443");
  EXPECT_EQ(*PushAudience("http://localhost:80/x#frag"), "http://localhost");
  EXPECT_EQ(*PushAudience("http://[::1]:8080/x"), "http://[::1]:8080");
  ExpectInvalid(StatusOf(PushAudience("mailto:push@example.com")), "endpoint");
}

// -------------------------------------------------------------------------------------------
// VAPID

// The example of RFC 8292 section 2.4 with the public key the RFC gives for it (section 3.2,
// the "k=" of the example Authorization header): the RFC's signature verifies as printed.
TEST(VapidRfc8292, ExampleTokenVerifies) {
  auto claims = VerifyVapidToken(rfc8292::kToken, rfc8292::kPublicKey);
  ASSERT_TRUE(claims) << claims.error().ToString();
  EXPECT_EQ(claims->audience, "https://push.example.net");
  EXPECT_EQ(claims->subject, "mailto:push@example.com");
  EXPECT_EQ(claims->expires, 1453523768);
  // The token's header and claims are the RFC's JSON.
  const std::string token = rfc8292::kToken;
  EXPECT_EQ(Text(token.substr(0, token.find('.')).c_str()), R"({"typ":"JWT","alg":"ES256"})");
}

TEST(Vapid, GeneratedKeysLoadAndMismatchedKeysDont) {
  auto keys = GenerateVapidKeys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(Raw(keys->public_key.c_str()).size(), 65u);
  EXPECT_EQ(Raw(keys->private_key.c_str()).size(), 32u);
  EXPECT_TRUE(LoadVapidKeys(keys->public_key, keys->private_key));
  auto other = GenerateVapidKeys();
  ExpectInvalid(StatusOf(LoadVapidKeys(keys->public_key, other->private_key)), "vapid keys");
  ExpectInvalid(StatusOf(LoadVapidKeys("###", keys->private_key)), "vapid public key");
  ExpectInvalid(StatusOf(LoadVapidKeys(keys->public_key, "###")), "vapid private key");
  ExpectInvalid(StatusOf(LoadVapidKeys(keys->public_key, Base64UrlEncode(std::string(32, '\0')))),
                "vapid private key");
  ExpectInvalid(StatusOf(LoadVapidKeys(keys->public_key, Base64UrlEncode(std::string(32, '\xff')))),
                "vapid private key");  // above the group order
}

TEST(Vapid, MadeTokenVerifiesWithItsClaims) {
  auto keys = GenerateVapidKeys();
  ASSERT_TRUE(keys);
  auto token = MakeVapidToken(*keys, "https://push.example.net", "mailto:push@shop.example", 1700000000);
  ASSERT_TRUE(token) << token.error().ToString();
  const std::string header = token->substr(0, token->find('.'));
  EXPECT_EQ(Text(header.c_str()), R"({"typ":"JWT","alg":"ES256"})");
  const std::size_t second = token->rfind('.');
  const std::string claims_part = token->substr(header.size() + 1, second - header.size() - 1);
  EXPECT_EQ(Text(claims_part.c_str()), R"({"aud":"https://push.example.net","exp":1700000000,"sub":"mailto:push@shop.example"})");
  EXPECT_EQ(Raw(token->substr(second + 1).c_str()).size(), 64u);  // r | s, not DER

  auto claims = VerifyVapidToken(*token, keys->public_key);
  ASSERT_TRUE(claims) << claims.error().ToString();
  EXPECT_EQ(claims->audience, "https://push.example.net");
  EXPECT_EQ(claims->subject, "mailto:push@shop.example");
  EXPECT_EQ(claims->expires, 1700000000);

  EXPECT_EQ(VapidAuthorization(*token, keys->public_key), "vapid t=" + *token + ", k=" + keys->public_key);
}

TEST(Vapid, TamperedTokenOrWrongKeyFails) {
  auto keys = GenerateVapidKeys();
  auto token = MakeVapidToken(*keys, "https://push.example.net", "https://shop.example/contact", 1700000000);
  ASSERT_TRUE(token);
  const std::size_t first = token->find('.');
  const std::size_t second = token->rfind('.');

  // Another claim, re-encoded: the signature no longer matches.
  const std::string forged_claims =
      Base64UrlEncode(R"({"aud":"https://push.example.net","exp":1900000000,"sub":"https://shop.example/contact"})");
  const std::string forged = token->substr(0, first + 1) + forged_claims + token->substr(second);
  auto result = VerifyVapidToken(forged, keys->public_key);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kUnauthenticated);

  // Every character of the signature.
  for (std::size_t i = second + 1; i < token->size(); ++i) {
    std::string altered = *token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(VerifyVapidToken(altered, keys->public_key)) << i;
  }
  // alg "none" and a missing signature.
  const std::string none = Base64UrlEncode(R"({"typ":"JWT","alg":"none"})") + token->substr(first);
  EXPECT_FALSE(VerifyVapidToken(none, keys->public_key));
  EXPECT_FALSE(VerifyVapidToken(token->substr(0, second + 1), keys->public_key));
  EXPECT_FALSE(VerifyVapidToken(token->substr(0, second), keys->public_key));
  EXPECT_FALSE(VerifyVapidToken(*token + ".x", keys->public_key));

  auto other = GenerateVapidKeys();
  result = VerifyVapidToken(*token, other->public_key);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_FALSE(VerifyVapidToken(rfc8292::kToken, keys->public_key));
  ExpectInvalid(StatusOf(VerifyVapidToken(*token, "not a key")), "vapid public key");
}

TEST(Vapid, AudienceAndSubjectAreChecked) {
  auto keys = GenerateVapidKeys();
  ExpectInvalid(StatusOf(MakeVapidToken(*keys, "https://push.example.net/path", "mailto:a@b.example", 1)),
                "vapid audience");
  ExpectInvalid(StatusOf(MakeVapidToken(*keys, "push.example.net", "mailto:a@b.example", 1)), "vapid audience");
  ExpectInvalid(StatusOf(MakeVapidToken(*keys, "https://push.example.net", "a@b.example", 1)), "vapid subject");
  ExpectInvalid(StatusOf(MakeVapidToken(*keys, "https://push.example.net", "http://b.example", 1)), "vapid subject");
  ExpectInvalid(StatusOf(MakeVapidToken(*keys, "https://push.example.net", "mailto:a b@b.example", 1)),
                "vapid subject");
  ExpectInvalid(StatusOf(VapidSigner::Create(*keys, "mailto:")), "vapid subject");
}

TEST(VapidSigner, CachesTokensPerAudienceUntilAnHourIsLeft) {
  auto keys = GenerateVapidKeys();
  auto signer = VapidSigner::Create(*keys, "mailto:push@shop.example");
  ASSERT_TRUE(signer) << signer.error().ToString();
  const std::int64_t t0 = 1700000000;
  auto first = signer->Token("https://push.example.net", t0);
  ASSERT_TRUE(first);
  auto claims = VerifyVapidToken(*first, keys->public_key);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->expires, t0 + 12 * 3600);
  EXPECT_EQ(claims->subject, "mailto:push@shop.example");

  // ECDSA signatures are randomised, so equal tokens mean a cached one.
  EXPECT_EQ(*signer->Token("https://push.example.net", t0 + 3600), *first);
  EXPECT_EQ(*signer->Token("https://push.example.net", t0 + 11 * 3600), *first);  // exactly 1 h left
  auto renewed = signer->Token("https://push.example.net", t0 + 11 * 3600 + 1);
  ASSERT_TRUE(renewed);
  EXPECT_NE(*renewed, *first);
  EXPECT_EQ(VerifyVapidToken(*renewed, keys->public_key)->expires, t0 + 23 * 3600 + 1);

  auto other = signer->Token("https://fcm.googleapis.com", t0);
  ASSERT_TRUE(other);
  EXPECT_EQ(VerifyVapidToken(*other, keys->public_key)->audience, "https://fcm.googleapis.com");

  // A copy shares the cache.
  const VapidSigner copy = *signer;
  EXPECT_EQ(*copy.Token("https://push.example.net", t0 + 11 * 3600 + 2), *renewed);

  auto header = signer->Authorization(kEndpoint, t0);
  ASSERT_TRUE(header);
  EXPECT_EQ(*header, "vapid t=" + *other + ", k=" + keys->public_key);
  ExpectInvalid(StatusOf(signer->Authorization("ftp://x/y", t0)), "endpoint");
  ExpectInvalid(StatusOf(signer->Token("https://push.example.net/x", t0)), "vapid audience");
}

TEST(VapidSigner, ThreadsShareOneToken) {
  auto keys = GenerateVapidKeys();
  auto signer = VapidSigner::Create(*keys, "mailto:push@shop.example");
  ASSERT_TRUE(signer);
  const std::string expected = *signer->Token("https://push.example.net", 1700000000);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto token = signer->Token("https://push.example.net", 1700000000 + i);
        if (!token || *token != expected) ++mismatches;
        // Other audiences, signed concurrently.
        auto own = signer->Token("https://push" + std::to_string(t) + ".example.net", 1700000000 + i);
        if (!own) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace treu::messaging::webpush
