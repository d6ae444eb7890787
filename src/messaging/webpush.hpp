// Web push: encrypting a message for a browser's push subscription (RFC 8291 over the
// "aes128gcm" content coding of RFC 8188) and identifying the sender to the push service with
// a VAPID token (RFC 8292).
//
// A browser subscribes through its push service and hands the site an endpoint URL and two
// keys (PushSubscription.toJSON()): "p256dh", its P-256 public key, and "auth", a 16-byte
// secret. The push service only relays ciphertext: every message is encrypted to the browser
// with a fresh ephemeral P-256 key and a random salt (ECDH, then HKDF-SHA-256, then
// AES-128-GCM), as a single record of at most 4096 bytes. Requests to the push service carry
// "Authorization: vapid t=<JWT>, k=<public key>", a JWT signed with ES256 by the server's VAPID
// key, whose public half the browser was given when it subscribed (applicationServerKey).
//
// Keys and secrets cross this interface in base64url without padding, as browsers give and
// take them, except where a comment says "raw" (bytes in a std::string).
//
// Nothing here does I/O or reads the clock: callers pass the current time.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace treu::messaging::webpush {

// What push services must accept as a message body (RFC 8030 7.2), and thus our record size.
inline constexpr std::size_t kMaxBodySize = 4096;
// salt (16) | rs (4) | idlen (1) | keyid: the application server's public key (65).
inline constexpr std::size_t kHeaderSize = 86;
inline constexpr std::size_t kTagSize = 16;
// The longest plaintext that fits one 4096-byte body with the delimiter octet: 3993 (RFC 8291
// section 4). Padding counts against it.
inline constexpr std::size_t kMaxPlaintextSize = kMaxBodySize - kHeaderSize - kTagSize - 1;
// The longest endpoint URL accepted from a browser.
inline constexpr std::size_t kMaxEndpointSize = 2048;

// base64url without padding of raw bytes.
std::string Base64UrlEncode(std::string_view raw);
// The raw bytes of base64url text (with or without "=" padding). InvalidArgument with
// `context` when `text` is not base64url.
Result<std::string> Base64UrlDecode(std::string_view text, std::string_view context);

// ---------------------------------------------------------------------------------------------
// VAPID keys

struct VapidKeys {
  std::string public_key;   // base64url of the 65-byte uncompressed P-256 point (0x04 | X | Y)
  std::string private_key;  // base64url of the 32-byte private scalar
};

// A new VAPID key pair. Internal when OpenSSL fails.
Result<VapidKeys> GenerateVapidKeys();

// Checks a stored key pair: both decode, the private scalar is a valid P-256 key and its
// public point is `public_key`. Returns the pair as given. InvalidArgument, context "vapid
// public key" or "vapid private key" for a malformed key, "vapid keys" when the halves don't
// belong together.
Result<VapidKeys> LoadVapidKeys(std::string_view public_key, std::string_view private_key);

// ---------------------------------------------------------------------------------------------
// Subscriptions

struct PushSubscriptionKeys {
  std::string p256dh;  // base64url of the browser's 65-byte uncompressed P-256 public key
  std::string auth;    // base64url of the browser's 16-byte authentication secret
};

// Checks a subscription before it is stored: `endpoint` is an absolute http or https URL with
// a host, of at most kMaxEndpointSize bytes and without control characters or spaces (which
// hosts may be reached is the SSRF policy's business, not checked here); `keys.p256dh` a point
// on P-256; `keys.auth` 16 bytes. InvalidArgument whose context names the field: "endpoint",
// "keys/p256dh" or "keys/auth".
Status ValidateSubscription(std::string_view endpoint, const PushSubscriptionKeys& keys);

// The origin of an endpoint, the "aud" of its VAPID token: "https://push.example.net" for
// "https://push.example.net/wpush/v2/abc"; scheme and host in lower case, the port kept unless
// it is the scheme's default. InvalidArgument (context "endpoint") when `endpoint` is not an
// absolute http(s) URL with a host, or has user information ("user@host").
Result<std::string> PushAudience(std::string_view endpoint);

// ---------------------------------------------------------------------------------------------
// Encryption (RFC 8291)

// The HTTP body of a push message carrying `plaintext` to the subscription `ua` (sent with
// "Content-Encoding: aes128gcm"): salt (16) | rs (4, 4096) | idlen (1, 65) | the ephemeral
// public key (65) | ciphertext and tag. Every call uses a new ephemeral key pair and a new
// random salt. `padding` zero octets follow the delimiter, to hide the plaintext's length.
// InvalidArgument: context "payload" when plaintext.size() + padding > kMaxPlaintextSize;
// "keys/p256dh" or "keys/auth" for malformed keys. Internal when OpenSSL fails. Thread-safe.
Result<std::string> EncryptPushPayload(std::string_view plaintext, const PushSubscriptionKeys& ua,
                                       std::size_t padding = 0);

// Every value the encryption computes, named as in RFC 8291 (sections 3.3, 3.4, appendix A)
// and RFC 8188 (2.2, 2.3); all raw bytes.
struct PushEncryptionTrace {
  std::string as_public;    // application server (ephemeral) public key, 65 bytes
  std::string ecdh_secret;  // 32 bytes
  std::string key_info;     // "WebPush: info" 0x00 | ua_public | as_public
  std::string prk_key;      // HKDF-Extract(auth_secret, ecdh_secret)
  std::string ikm;          // HKDF-Expand(PRK_key, key_info, 32)
  std::string prk;          // HKDF-Extract(salt, IKM)
  std::string cek_info;     // "Content-Encoding: aes128gcm" 0x00
  std::string cek;          // HKDF-Expand(PRK, cek_info, 16)
  std::string nonce_info;   // "Content-Encoding: nonce" 0x00
  std::string nonce;        // HKDF-Expand(PRK, nonce_info, 12)
  std::string header;       // salt | rs | idlen | keyid, 86 bytes
  std::string ciphertext;   // AES-128-GCM of plaintext | 0x02 | padding, with the tag
  std::string body;         // header | ciphertext
};

// The encryption with a given application server key and salt instead of fresh ones, for
// known-answer tests (RFC 8291 appendix A) only: a key or salt used twice breaks the
// confidentiality of both messages. `as_private_raw` is the 32-byte private scalar,
// `salt_raw` 16 bytes. Errors as EncryptPushPayload, plus InvalidArgument (context "as
// private key" or "salt") for a malformed key or salt.
Result<PushEncryptionTrace> EncryptPushPayloadWithKey(std::string_view plaintext,
                                                      const PushSubscriptionKeys& ua,
                                                      std::string_view as_private_raw,
                                                      std::string_view salt_raw,
                                                      std::size_t padding = 0);

// The user agent's side, for tests and a local test receiver: the plaintext of `body` (as
// EncryptPushPayload makes it), given the subscription's raw private scalar (32 bytes), raw
// public key (65 bytes) and raw auth secret (16 bytes). Accepts one record of any record size
// with any padding. InvalidArgument (context "push message") when the header is malformed,
// the keyid is not a P-256 point, the body holds more than one record or the padding
// delimiter is not 0x02; (context "ua keys") for malformed keys; PermissionDenied (context
// "push message") when the record does not authenticate (altered, or for another subscription).
Result<std::string> DecryptPushPayload(std::string_view body, std::string_view ua_private_raw,
                                       std::string_view ua_public_raw, std::string_view auth_raw);

// ---------------------------------------------------------------------------------------------
// VAPID (RFC 8292)

// A VAPID token: a JWT with header {"typ":"JWT","alg":"ES256"} and claims {"aud", "exp",
// "sub"}, signed with ES256 (the 64-byte r | s signature of JWS, not DER). `audience` is the
// origin of the endpoint (PushAudience), `subject` a "mailto:" or "https:" contact URL,
// `expires_unix` the expiry in seconds since the epoch (push services refuse expiries more
// than 24 hours ahead). InvalidArgument: context "vapid audience" when `audience` is not an
// origin, "vapid subject" when `subject` is neither mailto: nor https:, "vapid private key" /
// "vapid public key" for malformed keys. Parses the key on every call; VapidSigner doesn't.
Result<std::string> MakeVapidToken(const VapidKeys& keys, std::string_view audience,
                                   std::string_view subject, std::int64_t expires_unix);

// The Authorization header value: "vapid t=<token>, k=<public key>".
std::string VapidAuthorization(std::string_view token, std::string_view public_key);

// The claims of a verified token.
struct VapidClaims {
  std::string audience;      // "aud"
  std::string subject;       // "sub", empty when absent
  std::int64_t expires = 0;  // "exp"
};

// Verifies `token` against the base64url public key `public_key`: three base64url parts, a
// header with "alg":"ES256", a 64-byte signature valid for the key, claims with a string
// "aud" and an integer "exp". Does not compare "exp" with the clock: the caller does.
// InvalidArgument (context "vapid token") when the token is malformed, (context "vapid public
// key") when the key is; Unauthenticated (context "vapid token") when the signature does not
// verify.
Result<VapidClaims> VerifyVapidToken(std::string_view token, std::string_view public_key);

// Signs VAPID tokens with a key parsed once, and reuses each audience's token while it is
// valid: a token lasts kTokenLifetime and is renewed once less than kRenewBefore remains, so
// a send to thousands of subscriptions of one push service signs once. Thread-safe; copies
// share the key and the cache.
class VapidSigner {
 public:
  static constexpr std::int64_t kTokenLifetime = 12 * 3600;
  static constexpr std::int64_t kRenewBefore = 3600;

  // A signer for `keys` (checked as LoadVapidKeys does) with contact `subject` ("mailto:" or
  // "https:" URL). InvalidArgument as LoadVapidKeys, or context "vapid subject".
  static Result<VapidSigner> Create(const VapidKeys& keys, std::string_view subject);

  // The token for `audience` (an origin, see PushAudience) at `now_unix` seconds since the
  // epoch: the cached one while it expires more than kRenewBefore after `now_unix`, else a new
  // one expiring at now_unix + kTokenLifetime. InvalidArgument (context "vapid audience") when
  // `audience` is not an origin; Internal when OpenSSL fails to sign.
  Result<std::string> Token(std::string_view audience, std::int64_t now_unix) const;

  // The Authorization header value for a request to `endpoint` (whose origin is the
  // audience) at `now_unix`. InvalidArgument (context "endpoint") for a malformed endpoint;
  // otherwise as Token.
  Result<std::string> Authorization(std::string_view endpoint, std::int64_t now_unix) const;

  // A token for `audience` signed now, bypassing the cache (the benchmark's baseline).
  Result<std::string> SignToken(std::string_view audience, std::int64_t expires_unix) const;

  const std::string& public_key() const { return public_key_; }
  const std::string& subject() const { return subject_; }

 private:
  struct Cache;
  VapidSigner(std::shared_ptr<EVP_PKEY> key, std::string public_key, std::string subject);

  std::shared_ptr<EVP_PKEY> key_;  // never modified after Create
  std::string public_key_;
  std::string subject_;
  std::shared_ptr<Cache> cache_;  // its own mutex
};

}  // namespace treu::messaging::webpush
