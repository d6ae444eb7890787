#include "messaging/dkim.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <array>
#include <cctype>
#include <vector>

#include "messaging/mime.hpp"

namespace treu::messaging {
namespace {

// Signed when present, in this order.
constexpr std::string_view kSignedHeaders[] = {
    "from",         "to",           "subject",  "date",
    "message-id",   "mime-version", "content-type", "reply-to",
    "list-unsubscribe", "list-unsubscribe-post"};

constexpr std::size_t kMaxLine = 78;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                                static_cast<int>(size));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

std::string Sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

struct Field {
  std::string name;  // lower case
  std::string_view text;  // the whole field without its final CRLF
};

// The header fields of `headers` (the header block, each line ending in CRLF).
std::vector<Field> SplitFields(std::string_view headers) {
  std::vector<Field> fields;
  std::size_t start = 0;
  while (start < headers.size()) {
    // A field ends at a CRLF not followed by white space.
    std::size_t end = start;
    while (true) {
      end = headers.find("\r\n", end);
      if (end == std::string_view::npos) {
        end = headers.size();
        break;
      }
      if (end + 2 < headers.size() && IsWsp(headers[end + 2])) {
        end += 2;
        continue;
      }
      break;
    }
    const std::string_view text = headers.substr(start, end - start);
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = text.substr(0, colon);
      while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
      fields.push_back({Lower(name), text});
    }
    start = end + 2;
  }
  return fields;
}

bool IsValidSelector(std::string_view selector) {
  // One or more labels, like a domain name, but a single label is fine.
  return !selector.empty() && IsValidDomainName(std::string(selector) + ".example");
}

// Appends `value` to `out` (whose current line has `line_length` characters), breaking it
// into pieces with CRLF + space so that no line passes kMaxLine.
void AppendFoldedValue(std::string& out, std::size_t line_length, std::string_view value) {
  while (!value.empty()) {
    const std::size_t room = kMaxLine > line_length ? kMaxLine - line_length : 0;
    if (room == 0) {
      out += "\r\n ";
      line_length = 1;
      continue;
    }
    const std::size_t n = std::min(room, value.size());
    out += value.substr(0, n);
    value.remove_prefix(n);
    line_length += n;
  }
}

std::string OpenSslError() {
  return "OpenSSL could not sign the message";
}

}  // namespace

std::string CanonicalizeHeaderRelaxed(std::string_view field) {
  const std::size_t colon = field.find(':');
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
  std::string out = Lower(name);
  out += ':';
  if (colon == std::string_view::npos) return out + "\r\n";
  std::string value;
  bool space = false;
  for (char c : field.substr(colon + 1)) {
    if (c == '\r' || c == '\n') continue;  // unfolding
    if (IsWsp(c)) {
      space = true;
      continue;
    }
    if (space && !value.empty()) value += ' ';
    space = false;
    value += c;
  }
  out += value;
  out += "\r\n";
  return out;
}

std::string CanonicalizeBodyRelaxed(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  std::size_t pending_empty_lines = 0;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find("\r\n", start);
    const bool last = end == std::string_view::npos;
    if (last) end = body.size();
    const std::string_view line = body.substr(start, end - start);
    std::string canonical;
    bool space = false;
    for (char c : line) {
      if (IsWsp(c)) {
        space = true;
        continue;
      }
      if (space) canonical += ' ';
      space = false;
      canonical += c;
    }
    if (canonical.empty()) {
      ++pending_empty_lines;
    } else {
      for (; pending_empty_lines > 0; --pending_empty_lines) out += "\r\n";
      out += canonical;
      out += "\r\n";
    }
    start = last ? body.size() : end + 2;
  }
  return out;
}

std::string DkimBodyHash(std::string_view body) {
  const std::string digest = Sha256(CanonicalizeBodyRelaxed(body));
  return Base64(reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
}

Result<DkimSigner> DkimSigner::Create(std::string_view domain, std::string_view selector,
                                      std::string_view private_key_pem) {
  if (!IsValidDomainName(domain)) {
    return InvalidArgument("dkim domain", "\"" + std::string(domain) +
                                              "\" is not a domain name such as shop.example");
  }
  if (!IsValidSelector(selector)) {
    return InvalidArgument("dkim selector",
                           "\"" + std::string(selector) +
                               "\" is not a selector (letters, digits and hyphens, e.g. "
                               "treu2024)");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())), &BIO_free);
  if (!bio) return Internal("dkim key", "out of memory");
  // No passphrase: an encrypted key fails instead of prompting on the terminal.
  auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (raw == nullptr) {
    return InvalidArgument("dkim key",
                           "not a PEM private key (expected an unencrypted \"-----BEGIN PRIVATE "
                           "KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\" block)");
  }
  std::shared_ptr<EVP_PKEY> key(raw, &EVP_PKEY_free);
  const int type = EVP_PKEY_get_base_id(key.get());
  if (type == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(key.get());
    if (bits < 1024) {
      return InvalidArgument("dkim key", "the RSA key has " + std::to_string(bits) +
                                             " bits; DKIM verifiers need at least 1024 (2048 "
                                             "recommended)");
    }
    return DkimSigner(Lower(domain), std::string(selector), std::move(key), false);
  }
  if (type == EVP_PKEY_ED25519) {
    return DkimSigner(Lower(domain), std::string(selector), std::move(key), true);
  }
  return InvalidArgument("dkim key", "the key is neither RSA nor Ed25519");
}

std::string_view DkimSigner::algorithm() const {
  return ed25519_ ? "ed25519-sha256" : "rsa-sha256";
}

std::string DkimSigner::DnsName() const { return selector_ + "._domainkey." + domain_; }

Result<std::string> GenerateDkimKey(DkimKeyType type) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      type == DkimKeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519") : EVP_RSA_gen(2048),
      EVP_PKEY_free);
  if (!key) return Internal("dkim key", "OpenSSL could not generate a key");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("dkim key", "OpenSSL could not write the key");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::string DkimSigner::DnsRecord() const {
  std::string p;
  if (ed25519_) {
    std::array<unsigned char, 64> raw{};
    std::size_t length = raw.size();
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &length) == 1) {
      p = Base64(raw.data(), length);
    }
  } else {
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key_.get(), &der);
    if (length > 0) {
      p = Base64(der, static_cast<std::size_t>(length));
      OPENSSL_free(der);
    }
  }
  return std::string("v=DKIM1; k=") + (ed25519_ ? "ed25519" : "rsa") + "; p=" + p;
}

Result<std::string> DkimSigner::Sign(std::string_view message) const {
  const std::size_t blank = message.starts_with("\r\n") ? 0 : message.find("\r\n\r\n");
  if (blank == std::string_view::npos) {
    return InvalidArgument("dkim", "the message has no blank line ending its headers");
  }
  const std::string_view header_block = message.substr(0, blank == 0 ? 0 : blank + 2);
  const std::string_view body = message.substr(blank == 0 ? 2 : blank + 4);
  const std::vector<Field> fields = SplitFields(header_block);

  std::string signed_headers;
  std::string names;
  bool has_from = false;
  for (std::string_view name : kSignedHeaders) {
    // Several instances of a header are signed from the bottom up (RFC 6376 5.4.2).
    for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
      if (it->name != name) continue;
      if (name == "from") has_from = true;
      signed_headers += CanonicalizeHeaderRelaxed(it->text);
      if (!names.empty()) names += ':';
      names += name;
    }
  }
  if (!has_from) return InvalidArgument("dkim", "the message has no From header to sign");

  // The header as it will appear, with an empty b= tag for the signature computation.
  std::string header = "DKIM-Signature: v=1; a=" + std::string(algorithm()) +
                       "; c=relaxed/relaxed;\r\n d=" + domain_ + "; s=" + selector_ + ";";
  // h= on its own line, folded after colons, which the tag's syntax allows.
  std::string h = "\r\n h=";
  std::size_t line_length = 3;
  std::size_t start = 0;
  while (start < names.size()) {
    std::size_t end = names.find(':', start);
    end = end == std::string::npos ? names.size() : end + 1;
    const std::string_view piece = std::string_view(names).substr(start, end - start);
    if (line_length + piece.size() + 1 > kMaxLine) {
      h += "\r\n ";
      line_length = 1;
    }
    h += piece;
    line_length += piece.size();
    start = end;
  }
  header += h;
  header += ";\r\n bh=" + DkimBodyHash(body) + ";\r\n b=";

  std::string data = signed_headers;
  const std::string canonical = CanonicalizeHeaderRelaxed(header);
  data += canonical.substr(0, canonical.size() - 2);  // without its CRLF

  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx) return Internal("dkim", OpenSslError());
  std::string input = data;
  const EVP_MD* md = EVP_sha256();
  if (ed25519_) {
    // RFC 8463: Ed25519 (pure) over the SHA-256 of the data.
    input = Sha256(data);
    md = nullptr;
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) {
    return Internal("dkim", OpenSslError());
  }
  std::size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, bytes, input.size()) != 1) {
    return Internal("dkim", OpenSslError());
  }
  std::vector<unsigned char> signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, bytes, input.size()) != 1) {
    return Internal("dkim", OpenSslError());
  }
  AppendFoldedValue(header, 3, Base64(signature.data(), length));

  std::string out;
  out.reserve(header.size() + 2 + message.size());
  out += header;
  out += "\r\n";
  out += message;
  return out;
}

}  // namespace treu::messaging
