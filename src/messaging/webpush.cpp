#include "messaging/webpush.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <array>
#include <cctype>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace treu::messaging::webpush {
namespace {

constexpr int kB64Variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
constexpr std::size_t kPointSize = 65;   // 0x04 | X (32) | Y (32)
constexpr std::size_t kScalarSize = 32;
constexpr std::size_t kAuthSize = 16;
constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kCekSize = 16;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kSignatureSize = 64;  // r | s
constexpr std::size_t kMaxSubjectSize = 1024;
constexpr std::size_t kMaxCachedAudiences = 1024;

// HKDF info strings; the trailing NUL is part of each (RFC 8291 3.4, RFC 8188 2.2 and 2.3).
constexpr std::string_view kKeyInfoPrefix{"WebPush: info\0", 14};
constexpr std::string_view kCekInfo{"Content-Encoding: aes128gcm\0", 28};
constexpr std::string_view kNonceInfo{"Content-Encoding: nonce\0", 24};

constexpr std::string_view kJwtHeader = R"({"typ":"JWT","alg":"ES256"})";

// RAII for the OpenSSL objects used here.
struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, OpenSslFree>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// Secrets are wiped from memory when their string goes.
struct Wiped {
  std::string value;
  ~Wiped() { OPENSSL_cleanse(value.data(), value.size()); }
};

std::unexpected<Error> OpenSslFailure(std::string context, std::string_view what) {
  ERR_clear_error();
  return Internal(std::move(context), "OpenSSL failed to " + std::string(what));
}

std::unexpected<Error> Rejected(std::string context, std::string detail) {
  ERR_clear_error();  // what OpenSSL queued about the bad input
  return InvalidArgument(std::move(context), std::move(detail));
}

// P-256, shared read-only: EC_POINT_mul and EC_POINT_point2oct only read it.
const EC_GROUP* P256() {
  static const Owned<EC_GROUP> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  return group.get();
}

char kGroupName[] = "prime256v1";

// The public key of a 65-byte uncompressed point. OpenSSL refuses points that are not on
// the curve (EC_POINT_oct2point checks), which we rely on for ECDH without a second check.
Result<Owned<EVP_PKEY>> PublicKeyFromPoint(std::string_view point, const std::string& context) {
  if (point.size() != kPointSize || point[0] != 0x04) {
    return Rejected(context, "not an uncompressed P-256 public key (65 bytes starting with 0x04)");
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<char*>(point.data()), point.size()),
      OSSL_PARAM_construct_end()};
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return OpenSslFailure(context, "load a key");
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) <= 0 || raw == nullptr) {
    return Rejected(context, "not a point on the P-256 curve");
  }
  return Owned<EVP_PKEY>(raw);
}

struct KeyPair {
  Owned<EVP_PKEY> key;
  std::string public_point;  // 65 bytes
};

// The key pair of a 32-byte private scalar (1 <= d < n), its public point computed.
Result<KeyPair> KeyPairFromScalar(std::string_view scalar, const std::string& context) {
  if (scalar.size() != kScalarSize) return Rejected(context, "not a 32-byte P-256 private key");
  Owned<BIGNUM> d(BN_bin2bn(Bytes(scalar), static_cast<int>(scalar.size()), nullptr));
  if (!d) return OpenSslFailure(context, "load a key");
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(P256())) >= 0) {
    return Rejected(context, "not a P-256 private key (out of range)");
  }
  Owned<EC_POINT> q(EC_POINT_new(P256()));
  std::string point(kPointSize, '\0');
  if (!q || EC_POINT_mul(P256(), q.get(), d.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(P256(), q.get(), POINT_CONVERSION_UNCOMPRESSED, Bytes(point), point.size(), nullptr) !=
          kPointSize) {
    return OpenSslFailure(context, "compute a public key");
  }
  Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return OpenSslFailure(context, "load a key");
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) <= 0 || raw == nullptr) {
    return OpenSslFailure(context, "load a key");
  }
  return KeyPair{Owned<EVP_PKEY>(raw), std::move(point)};
}

Result<KeyPair> NewKeyPair(const std::string& context) {
  Owned<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::string point(kPointSize, '\0');
  std::size_t length = 0;
  if (!key ||
      EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, Bytes(point), point.size(), &length) != 1 ||
      length != kPointSize) {
    return OpenSslFailure(context, "generate a key");
  }
  return KeyPair{std::move(key), std::move(point)};
}

// The 32-byte private scalar of `key`.
Result<std::string> ScalarOf(const EVP_PKEY* key, const std::string& context) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return OpenSslFailure(context, "export a key");
  Owned<BIGNUM> d(raw);
  std::string scalar(kScalarSize, '\0');
  if (BN_bn2binpad(d.get(), Bytes(scalar), static_cast<int>(scalar.size())) != static_cast<int>(kScalarSize)) {
    return OpenSslFailure(context, "export a key");
  }
  return scalar;
}

// The x coordinate of the shared point (32 bytes). `peer` was loaded by PublicKeyFromPoint,
// so it is on the curve and OpenSSL's peer validation would only repeat that.
Result<std::string> Ecdh(EVP_PKEY* own, EVP_PKEY* peer, const std::string& context) {
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  std::string secret(kScalarSize, '\0');
  std::size_t length = secret.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 0) <= 0 ||
      EVP_PKEY_derive(ctx.get(), Bytes(secret), &length) <= 0 || length != kScalarSize) {
    return OpenSslFailure(context, "agree on a key");
  }
  return secret;
}

// HMAC-SHA-256: HKDF-Extract(salt = key, IKM = data), and HKDF-Expand for outputs of at most
// 32 bytes, which is HMAC(PRK, info | 0x01) cut to length (RFC 5869 2.3).
std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), Bytes(data), data.size(), Bytes(out), &length);
  out.resize(length);
  return out;
}
std::string HkdfExpand(std::string_view prk, std::string_view info, std::size_t length) {
  std::string block(info);
  block += '\x01';
  std::string out = HmacSha256(prk, block);
  out.resize(length);
  return out;
}

Result<std::string> AesGcmSeal(std::string_view key, std::string_view nonce, std::string_view plain) {
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  std::string out(plain.size() + kTagSize, '\0');
  int length = 0;
  int final_length = 0;
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), EVP_aes_128_gcm(), Bytes(key), Bytes(nonce), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), Bytes(out), &length, Bytes(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), Bytes(out) + length, &final_length) != 1 ||
      static_cast<std::size_t>(length + final_length) != plain.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), Bytes(out) + plain.size()) !=
          1) {
    return OpenSslFailure("payload", "encrypt");
  }
  return out;
}

// The plaintext, or nothing when the tag does not match.
Result<std::optional<std::string>> AesGcmOpen(std::string_view key, std::string_view nonce, std::string_view sealed) {
  const std::string_view body = sealed.substr(0, sealed.size() - kTagSize);
  std::string tag(sealed.substr(body.size()));
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  std::string out(body.size(), '\0');
  int length = 0;
  int final_length = 0;
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), EVP_aes_128_gcm(), Bytes(key), Bytes(nonce), nullptr) != 1 ||
      EVP_DecryptUpdate(ctx.get(), Bytes(out), &length, Bytes(body), static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), Bytes(tag)) != 1) {
    return OpenSslFailure("push message", "decrypt");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), Bytes(out) + length, &final_length) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(out));
}

struct ContentKeys {
  Wiped prk;
  Wiped cek;
  std::string nonce;
};

// RFC 8188 2.2 and 2.3: the content encryption key and nonce of the (only) record.
ContentKeys DeriveContentKeys(std::string_view salt, std::string_view ikm) {
  ContentKeys keys;
  keys.prk.value = HmacSha256(salt, ikm);
  keys.cek.value = HkdfExpand(keys.prk.value, kCekInfo, kCekSize);
  keys.nonce = HkdfExpand(keys.prk.value, kNonceInfo, kNonceSize);
  return keys;
}

std::string KeyInfo(std::string_view ua_public, std::string_view as_public) {
  std::string info(kKeyInfoPrefix);
  info += ua_public;
  info += as_public;
  return info;
}

void AppendBigEndian32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

struct Subscription {
  std::string point;  // 65 bytes
  Owned<EVP_PKEY> key;
  Wiped auth;  // 16 bytes
};

Result<Subscription> ParseSubscriptionKeys(const PushSubscriptionKeys& keys) {
  TREU_ASSIGN_OR_RETURN(std::string point, Base64UrlDecode(keys.p256dh, "keys/p256dh"));
  TREU_ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, PublicKeyFromPoint(point, "keys/p256dh"));
  TREU_ASSIGN_OR_RETURN(std::string auth, Base64UrlDecode(keys.auth, "keys/auth"));
  if (auth.size() != kAuthSize) {
    return InvalidArgument("keys/auth", "not a 16-byte authentication secret (" + std::to_string(auth.size()) +
                                            " bytes)");
  }
  Subscription out{std::move(point), std::move(key), {}};
  out.auth.value = std::move(auth);
  return out;
}

Status CheckPayloadSize(std::size_t plaintext, std::size_t padding) {
  if (plaintext > kMaxPlaintextSize || padding > kMaxPlaintextSize - plaintext) {
    return InvalidArgument("payload", std::to_string(plaintext) + " bytes of payload and " + std::to_string(padding) +
                                          " of padding are more than the " + std::to_string(kMaxPlaintextSize) +
                                          " bytes a push message holds");
  }
  return Ok();
}

// The encryption proper, for a subscription, an application server key pair and a salt.
// Fills `trace` when it is not null.
Result<std::string> Encrypt(std::string_view plaintext, std::size_t padding, const Subscription& ua,
                            const KeyPair& as, std::string_view salt, PushEncryptionTrace* trace) {
  TREU_ASSIGN_OR_RETURN(std::string ecdh, Ecdh(as.key.get(), ua.key.get(), "payload"));
  Wiped ecdh_secret{std::move(ecdh)};
  const std::string key_info = KeyInfo(ua.point, as.public_point);
  Wiped prk_key{HmacSha256(ua.auth.value, ecdh_secret.value)};
  Wiped ikm{HkdfExpand(prk_key.value, key_info, 32)};
  ContentKeys keys = DeriveContentKeys(salt, ikm.value);

  std::string body;
  body.reserve(kHeaderSize + plaintext.size() + 1 + padding + kTagSize);
  body += salt;
  AppendBigEndian32(body, static_cast<std::uint32_t>(kMaxBodySize));
  body += static_cast<char>(kPointSize);
  body += as.public_point;

  Wiped record;
  record.value.reserve(plaintext.size() + 1 + padding);
  record.value += plaintext;
  record.value += '\x02';
  record.value.append(padding, '\0');
  TREU_ASSIGN_OR_RETURN(std::string ciphertext, AesGcmSeal(keys.cek.value, keys.nonce, record.value));
  body += ciphertext;

  if (trace != nullptr) {
    trace->as_public = as.public_point;
    trace->ecdh_secret = ecdh_secret.value;
    trace->key_info = key_info;
    trace->prk_key = prk_key.value;
    trace->ikm = ikm.value;
    trace->prk = keys.prk.value;
    trace->cek_info = std::string(kCekInfo);
    trace->cek = keys.cek.value;
    trace->nonce_info = std::string(kNonceInfo);
    trace->nonce = keys.nonce;
    trace->header = body.substr(0, kHeaderSize);
    trace->ciphertext = std::move(ciphertext);
    trace->body = body;
  }
  return body;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

Status CheckSubject(std::string_view subject) {
  const std::string lower = Lower(subject.substr(0, 8));
  const bool mailto = lower.starts_with("mailto:") && subject.size() > 7;
  const bool https = lower.starts_with("https://") && subject.size() > 8;
  if (!mailto && !https) {
    return InvalidArgument("vapid subject", "not a contact URL such as mailto:push@shop.example or https://shop.example");
  }
  if (subject.size() > kMaxSubjectSize) return InvalidArgument("vapid subject", "longer than 1024 characters");
  for (char c : subject) {
    if (c <= ' ' || c >= 0x7f) return InvalidArgument("vapid subject", "has spaces, control or non-ASCII characters");
  }
  return Ok();
}

Status CheckAudience(std::string_view audience) {
  auto origin = PushAudience(audience);
  if (!origin || *origin != audience) {
    return InvalidArgument("vapid audience",
                           "\"" + std::string(audience) + "\" is not an origin such as https://push.example.net");
  }
  return Ok();
}

// ES256 (RFC 7518 3.4): ECDSA P-256 with SHA-256, the signature as r | s, 32 bytes each.
Result<std::string> SignEs256(EVP_PKEY* key, std::string_view data) {
  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  std::array<unsigned char, 80> der{};  // a DER ECDSA-Sig-Value of P-256 is at most 72 bytes
  std::size_t der_length = der.size();
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(md.get(), der.data(), &der_length, Bytes(data), data.size()) != 1) {
    return OpenSslFailure("vapid token", "sign");
  }
  const unsigned char* p = der.data();
  Owned<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_length)));
  if (!sig) return OpenSslFailure("vapid token", "sign");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(kSignatureSize, '\0');
  if (BN_bn2binpad(r, Bytes(raw), 32) != 32 || BN_bn2binpad(s, Bytes(raw) + 32, 32) != 32) {
    return OpenSslFailure("vapid token", "sign");
  }
  return raw;
}

// Whether `signature` (r | s) is a valid ES256 signature of `data` by `key`.
bool VerifyEs256(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  Owned<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(Bytes(signature), 32, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(signature) + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return false;
  }
  unsigned char* der_raw = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig.get(), &der_raw);
  Owned<unsigned char> der(der_raw);
  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  const bool ok = der_length > 0 && md &&
                  EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(md.get(), der.get(), static_cast<std::size_t>(der_length), Bytes(data),
                                   data.size()) == 1;
  ERR_clear_error();
  return ok;
}

const std::string& EncodedJwtHeader() {
  static const std::string header = Base64UrlEncode(kJwtHeader);
  return header;
}

Result<std::string> SignVapidToken(EVP_PKEY* key, std::string_view audience, std::string_view subject,
                                   std::int64_t expires_unix) {
  // nlohmann's object keeps its keys sorted: {"aud":..,"exp":..,"sub":..}.
  const nlohmann::json claims = {
      {"aud", std::string(audience)}, {"exp", expires_unix}, {"sub", std::string(subject)}};
  std::string token = EncodedJwtHeader();
  token += '.';
  token += Base64UrlEncode(claims.dump());
  TREU_ASSIGN_OR_RETURN(std::string signature, SignEs256(key, token));
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

// The key pair of stored VAPID keys, checked to belong together.
Result<KeyPair> LoadVapidKeyPair(std::string_view public_key, std::string_view private_key) {
  TREU_ASSIGN_OR_RETURN(std::string point, Base64UrlDecode(public_key, "vapid public key"));
  TREU_RETURN_IF_ERROR(PublicKeyFromPoint(point, "vapid public key"));
  TREU_ASSIGN_OR_RETURN(std::string scalar_text, Base64UrlDecode(private_key, "vapid private key"));
  Wiped scalar{std::move(scalar_text)};
  TREU_ASSIGN_OR_RETURN(KeyPair pair, KeyPairFromScalar(scalar.value, "vapid private key"));
  if (CRYPTO_memcmp(pair.public_point.data(), point.data(), kPointSize) != 0) {
    return InvalidArgument("vapid keys", "the private key does not belong to the public key");
  }
  return pair;
}

}  // namespace

std::string Base64UrlEncode(std::string_view raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), kB64Variant), '\0');
  sodium_bin2base64(out.data(), out.size(), Bytes(raw), raw.size(), kB64Variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text, std::string_view context) {
  // Padding is tolerated (some libraries add it) but the alphabet must be base64url's.
  while (text.ends_with('=')) text.remove_suffix(1);
  std::string out(text.size() * 3 / 4 + 1, '\0');
  std::size_t length = 0;
  if (sodium_base642bin(Bytes(out), out.size(), text.data(), text.size(), nullptr, &length, nullptr, kB64Variant) !=
      0) {
    return InvalidArgument(std::string(context), "not base64url");
  }
  out.resize(length);
  return out;
}

Result<VapidKeys> GenerateVapidKeys() {
  TREU_ASSIGN_OR_RETURN(KeyPair pair, NewKeyPair("vapid keys"));
  TREU_ASSIGN_OR_RETURN(std::string scalar, ScalarOf(pair.key.get(), "vapid keys"));
  Wiped wiped{std::move(scalar)};
  return VapidKeys{Base64UrlEncode(pair.public_point), Base64UrlEncode(wiped.value)};
}

Result<VapidKeys> LoadVapidKeys(std::string_view public_key, std::string_view private_key) {
  TREU_RETURN_IF_ERROR(LoadVapidKeyPair(public_key, private_key));
  return VapidKeys{std::string(public_key), std::string(private_key)};
}

Result<std::string> PushAudience(std::string_view endpoint) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("endpoint", "not an absolute http(s) URL with a host: " + std::string(why));
  };
  const std::size_t scheme_end = endpoint.find("://");
  if (scheme_end == std::string_view::npos) return bad("no scheme");
  const std::string scheme = Lower(endpoint.substr(0, scheme_end));
  if (scheme != "https" && scheme != "http") return bad("the scheme is not http or https");
  std::string_view authority = endpoint.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return bad("user information before the host");
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // an IPv6 literal
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in the host");
    host = authority.substr(0, close + 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("characters after the IPv6 address");
      port = rest.substr(1);
      if (port.empty()) return bad("an empty port");
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return bad("a malformed IPv6 host");
    }
    if (host.size() < 3) return bad("an empty host");
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("an empty port");
    }
    if (host.empty()) return bad("no host");
    for (char c : host) {
      if (!IsHostChar(c)) return bad("a character that is not allowed in a host name");
    }
  }
  std::string origin = scheme + "://" + Lower(host);
  if (!port.empty()) {
    if (port.size() > 5) return bad("a port out of range");
    unsigned value = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return bad("a port that is not a number");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad("a port out of range");
    const bool default_port = (scheme == "https" && value == 443) || (scheme == "http" && value == 80);
    if (!default_port) origin += ":" + std::to_string(value);
  }
  return origin;
}

Status ValidateSubscription(std::string_view endpoint, const PushSubscriptionKeys& keys) {
  if (endpoint.size() > kMaxEndpointSize) {
    return InvalidArgument("endpoint", "longer than " + std::to_string(kMaxEndpointSize) + " bytes");
  }
  for (char c : endpoint) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return InvalidArgument("endpoint", "has spaces, control or non-ASCII characters (URLs percent-encode them)");
    }
  }
  TREU_RETURN_IF_ERROR(PushAudience(endpoint));
  TREU_RETURN_IF_ERROR(ParseSubscriptionKeys(keys));
  return Ok();
}

Result<std::string> EncryptPushPayload(std::string_view plaintext, const PushSubscriptionKeys& ua,
                                       std::size_t padding) {
  TREU_RETURN_IF_ERROR(CheckPayloadSize(plaintext.size(), padding));
  TREU_ASSIGN_OR_RETURN(Subscription subscription, ParseSubscriptionKeys(ua));
  // RFC 8291 3.1 and 3.4: a new key pair and a new salt for every message.
  TREU_ASSIGN_OR_RETURN(KeyPair as, NewKeyPair("payload"));
  std::array<unsigned char, kSaltSize> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return OpenSslFailure("payload", "draw a salt");
  return Encrypt(plaintext, padding, subscription, as,
                 std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()), nullptr);
}

Result<PushEncryptionTrace> EncryptPushPayloadWithKey(std::string_view plaintext, const PushSubscriptionKeys& ua,
                                                      std::string_view as_private_raw, std::string_view salt_raw,
                                                      std::size_t padding) {
  TREU_RETURN_IF_ERROR(CheckPayloadSize(plaintext.size(), padding));
  TREU_ASSIGN_OR_RETURN(Subscription subscription, ParseSubscriptionKeys(ua));
  TREU_ASSIGN_OR_RETURN(KeyPair as, KeyPairFromScalar(as_private_raw, "as private key"));
  if (salt_raw.size() != kSaltSize) return InvalidArgument("salt", "not 16 bytes");
  PushEncryptionTrace trace;
  TREU_RETURN_IF_ERROR(Encrypt(plaintext, padding, subscription, as, salt_raw, &trace));
  return trace;
}

Result<std::string> DecryptPushPayload(std::string_view body, std::string_view ua_private_raw,
                                       std::string_view ua_public_raw, std::string_view auth_raw) {
  if (auth_raw.size() != kAuthSize) return InvalidArgument("ua keys", "the auth secret is not 16 bytes");
  TREU_ASSIGN_OR_RETURN(KeyPair ua, KeyPairFromScalar(ua_private_raw, "ua keys"));
  if (ua_public_raw.size() != kPointSize ||
      CRYPTO_memcmp(ua.public_point.data(), ua_public_raw.data(), kPointSize) != 0) {
    return InvalidArgument("ua keys", "the private key does not belong to the public key");
  }

  // RFC 8188 2.1: salt (16) | rs (4) | idlen (1) | keyid (idlen) | records.
  constexpr std::string_view kContext = "push message";
  if (body.size() < kSaltSize + 5) return InvalidArgument(std::string(kContext), "shorter than its header");
  const std::string_view salt = body.substr(0, kSaltSize);
  std::uint32_t rs = 0;
  for (std::size_t i = 0; i < 4; ++i) rs = (rs << 8) | static_cast<unsigned char>(body[kSaltSize + i]);
  const auto idlen = static_cast<unsigned char>(body[kSaltSize + 4]);
  if (rs < kTagSize + 2) return InvalidArgument(std::string(kContext), "record size below 18");
  if (idlen != kPointSize) {
    return InvalidArgument(std::string(kContext), "the keyid is not a 65-byte P-256 public key");
  }
  if (body.size() < kHeaderSize) return InvalidArgument(std::string(kContext), "shorter than its header");
  const std::string_view keyid = body.substr(kSaltSize + 5, kPointSize);
  const std::string_view record = body.substr(kHeaderSize);
  if (record.size() < kTagSize + 1) return InvalidArgument(std::string(kContext), "the record is truncated");
  if (record.size() > rs) {
    return InvalidArgument(std::string(kContext), "more than one record (push messages have one)");
  }
  TREU_ASSIGN_OR_RETURN(Owned<EVP_PKEY> as, PublicKeyFromPoint(keyid, std::string(kContext)));

  TREU_ASSIGN_OR_RETURN(std::string ecdh, Ecdh(ua.key.get(), as.get(), std::string(kContext)));
  Wiped ecdh_secret{std::move(ecdh)};
  Wiped prk_key{HmacSha256(auth_raw, ecdh_secret.value)};
  Wiped ikm{HkdfExpand(prk_key.value, KeyInfo(ua_public_raw, keyid), 32)};
  const ContentKeys keys = DeriveContentKeys(salt, ikm.value);
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> opened, AesGcmOpen(keys.cek.value, keys.nonce, record));
  if (!opened) {
    return MakeError(ErrorCode::kPermissionDenied, std::string(kContext),
                     "does not decrypt (altered, or encrypted for another subscription)");
  }
  std::string plain = std::move(*opened);
  // RFC 8188 2: the record ends in the delimiter and zeros; 0x02 marks the last record.
  const std::size_t delimiter = plain.find_last_not_of('\0');
  if (delimiter == std::string::npos || plain[delimiter] != '\x02') {
    return InvalidArgument(std::string(kContext), "the padding delimiter is not 0x02");
  }
  plain.resize(delimiter);
  return plain;
}

Result<std::string> MakeVapidToken(const VapidKeys& keys, std::string_view audience, std::string_view subject,
                                   std::int64_t expires_unix) {
  TREU_RETURN_IF_ERROR(CheckAudience(audience));
  TREU_RETURN_IF_ERROR(CheckSubject(subject));
  TREU_ASSIGN_OR_RETURN(KeyPair pair, LoadVapidKeyPair(keys.public_key, keys.private_key));
  return SignVapidToken(pair.key.get(), audience, subject, expires_unix);
}

std::string VapidAuthorization(std::string_view token, std::string_view public_key) {
  std::string out = "vapid t=";
  out += token;
  out += ", k=";
  out += public_key;
  return out;
}

Result<VapidClaims> VerifyVapidToken(std::string_view token, std::string_view public_key) {
  TREU_ASSIGN_OR_RETURN(std::string point, Base64UrlDecode(public_key, "vapid public key"));
  TREU_ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, PublicKeyFromPoint(point, "vapid public key"));

  const std::string context = "vapid token";
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return InvalidArgument(context, "not a JWT of three parts separated by dots");
  }
  const std::string_view signing_input = token.substr(0, second);
  TREU_ASSIGN_OR_RETURN(std::string header_text, Base64UrlDecode(token.substr(0, first), context));
  TREU_ASSIGN_OR_RETURN(std::string claims_text, Base64UrlDecode(token.substr(first + 1, second - first - 1), context));
  TREU_ASSIGN_OR_RETURN(std::string signature, Base64UrlDecode(token.substr(second + 1), context));

  const nlohmann::json header = nlohmann::json::parse(header_text, nullptr, false);
  if (!header.is_object() || !header.contains("alg") || header["alg"] != "ES256") {
    return InvalidArgument(context, "the header is not a JSON object with \"alg\":\"ES256\"");
  }
  if (signature.size() != kSignatureSize) return InvalidArgument(context, "the signature is not 64 bytes (r | s)");
  if (!VerifyEs256(key.get(), signing_input, signature)) {
    return MakeError(ErrorCode::kUnauthenticated, context, "the signature does not verify with this public key");
  }
  const nlohmann::json claims = nlohmann::json::parse(claims_text, nullptr, false);
  if (!claims.is_object() || !claims.contains("aud") || !claims["aud"].is_string() || !claims.contains("exp") ||
      !claims["exp"].is_number_integer()) {
    return InvalidArgument(context, "the claims are not a JSON object with a string \"aud\" and an integer \"exp\"");
  }
  VapidClaims out;
  out.audience = claims["aud"].get<std::string>();
  out.expires = claims["exp"].get<std::int64_t>();
  if (claims.contains("sub")) {
    if (!claims["sub"].is_string()) return InvalidArgument(context, "\"sub\" is not a string");
    out.subject = claims["sub"].get<std::string>();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

struct VapidSigner::Cache {
  struct Entry {
    std::string token;
    std::int64_t expires = 0;
  };
  std::mutex mu;
  std::unordered_map<std::string, Entry> tokens;  // by audience; guarded by mu
};

VapidSigner::VapidSigner(std::shared_ptr<EVP_PKEY> key, std::string public_key, std::string subject)
    : key_(std::move(key)), public_key_(std::move(public_key)), subject_(std::move(subject)),
      cache_(std::make_shared<Cache>()) {}

Result<VapidSigner> VapidSigner::Create(const VapidKeys& keys, std::string_view subject) {
  TREU_RETURN_IF_ERROR(CheckSubject(subject));
  TREU_ASSIGN_OR_RETURN(KeyPair pair, LoadVapidKeyPair(keys.public_key, keys.private_key));
  std::shared_ptr<EVP_PKEY> key(pair.key.release(), &EVP_PKEY_free);
  return VapidSigner(std::move(key), keys.public_key, std::string(subject));
}

Result<std::string> VapidSigner::SignToken(std::string_view audience, std::int64_t expires_unix) const {
  TREU_RETURN_IF_ERROR(CheckAudience(audience));
  return SignVapidToken(key_.get(), audience, subject_, expires_unix);
}

Result<std::string> VapidSigner::Token(std::string_view audience, std::int64_t now_unix) const {
  {
    std::lock_guard lock(cache_->mu);
    auto it = cache_->tokens.find(std::string(audience));
    if (it != cache_->tokens.end() && it->second.expires - now_unix >= kRenewBefore) return it->second.token;
  }
  // Signed outside the lock: other audiences' cached tokens stay available meanwhile. Two
  // threads may both renew one audience; either token is valid.
  const std::int64_t expires = now_unix + kTokenLifetime;
  TREU_ASSIGN_OR_RETURN(std::string token, SignToken(audience, expires));
  std::lock_guard lock(cache_->mu);
  if (cache_->tokens.size() >= kMaxCachedAudiences) {
    std::erase_if(cache_->tokens, [&](const auto& entry) { return entry.second.expires - now_unix < kRenewBefore; });
    if (cache_->tokens.size() >= kMaxCachedAudiences) cache_->tokens.clear();
  }
  cache_->tokens[std::string(audience)] = Cache::Entry{token, expires};
  return token;
}

Result<std::string> VapidSigner::Authorization(std::string_view endpoint, std::int64_t now_unix) const {
  TREU_ASSIGN_OR_RETURN(std::string audience, PushAudience(endpoint));
  TREU_ASSIGN_OR_RETURN(std::string token, Token(audience, now_unix));
  return VapidAuthorization(token, public_key_);
}

}  // namespace treu::messaging::webpush
