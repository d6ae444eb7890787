// DKIM signatures (RFC 6376) on outgoing messages, so receivers can tell that the sending
// domain vouches for a message and that its signed headers and body were not altered.
//
// Signatures use relaxed/relaxed canonicalisation and sign those of these headers the message
// has: From, To, Subject, Date, Message-ID, MIME-Version, Content-Type, Reply-To,
// List-Unsubscribe, List-Unsubscribe-Post. The key decides the algorithm: RSA keys sign
// rsa-sha256, Ed25519 keys ed25519-sha256 (RFC 8463). The receiver finds the public key in
// DNS, in the TXT record of "<selector>._domainkey.<domain>" (DnsRecord below).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.hpp"

namespace treu::messaging {

class DkimSigner {
 public:
  // A signer for `domain` (the d= tag, e.g. "shop.example") and `selector` (the s= tag,
  // e.g. "treu2024"), with the PEM private key `private_key_pem` ("-----BEGIN PRIVATE
  // KEY-----", PKCS#8, or "-----BEGIN RSA PRIVATE KEY-----", unencrypted).
  // InvalidArgument: context "dkim domain" / "dkim selector" for a malformed name; context
  // "dkim key" when the PEM text holds no private key ("not a PEM private key"), an RSA key
  // shorter than 1024 bits, or a key type other than RSA and Ed25519.
  static Result<DkimSigner> Create(std::string_view domain, std::string_view selector,
                                   std::string_view private_key_pem);

  // `message` (RFC 5322 bytes, CRLF line endings, e.g. BuiltEmail::mime) with a
  // DKIM-Signature header prepended, folded at 78 characters. InvalidArgument (context
  // "dkim") when the message has no From header or no blank line ending the headers;
  // Internal when OpenSSL fails to sign. Thread-safe.
  Result<std::string> Sign(std::string_view message) const;

  // The DNS TXT record to publish at "<selector>._domainkey.<domain>", e.g.
  // "v=DKIM1; k=rsa; p=MIIBIjANBg...". Split it into strings of at most 255 characters
  // where the DNS provider asks for it.
  std::string DnsRecord() const;
  // "<selector>._domainkey.<domain>".
  std::string DnsName() const;
  // "rsa-sha256" or "ed25519-sha256".
  std::string_view algorithm() const;

 private:
  DkimSigner(std::string domain, std::string selector, std::shared_ptr<EVP_PKEY> key, bool ed25519)
      : domain_(std::move(domain)), selector_(std::move(selector)), key_(std::move(key)),
        ed25519_(ed25519) {}

  std::string domain_;
  std::string selector_;
  std::shared_ptr<EVP_PKEY> key_;  // never modified after Create; shared by copies
  bool ed25519_ = false;
};

// A new private key for DKIM in PEM (PKCS#8): RSA 2048 bits (rsa-sha256, what every receiver
// verifies) or Ed25519 (ed25519-sha256, RFC 8463). Internal when OpenSSL fails.
enum class DkimKeyType { kRsa2048, kEd25519 };
Result<std::string> GenerateDkimKey(DkimKeyType type);

// Relaxed header canonicalisation (RFC 6376 3.4.2) of one header field, given as it appears
// in the message (name, colon, value, continuation lines, without the final CRLF):
// lower-case name, unfolded, runs of white space as one space, none at the end of the value
// or around the colon; followed by CRLF.
std::string CanonicalizeHeaderRelaxed(std::string_view field);

// Relaxed body canonicalisation (RFC 6376 3.4.4): runs of white space within lines as one
// space, none at line ends, no empty lines at the end, CRLF after the last line; an empty
// body stays empty.
std::string CanonicalizeBodyRelaxed(std::string_view body);

// Base64 of the SHA-256 of the relaxed canonical body (the bh= tag).
std::string DkimBodyHash(std::string_view body);

}  // namespace treu::messaging
