#include "messaging/dkim.hpp"

#include <gtest/gtest.h>

#include <tuple>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

namespace treu::messaging {
namespace {

std::string PrivateKeyPem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, cipher, nullptr, 0, nullptr,
                           const_cast<char*>("passphrase"));
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return pem;
}

std::string NewRsaKeyPem(unsigned bits) {
  EVP_PKEY* key = EVP_RSA_gen(bits);
  std::string pem = PrivateKeyPem(key);
  EVP_PKEY_free(key);
  return pem;
}

// Generated once: RSA key generation is slow under the sanitizers.
const std::string& RsaKeyPem() {
  static const std::string pem = NewRsaKeyPem(2048);
  return pem;
}

const std::string kMessage =
    "Date: Fri, 01 Mar 2024 12:30:00 +0000\r\n"
    "From: Shop <news@shop.example>\r\n"
    "To: Ada <ada@example.com>\r\n"
    "Subject: Hello\r\n"
    "Message-ID: <1@shop.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "X-Mailer: treu\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "\r\n"
    "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

// The value of tag `tag` in the DKIM-Signature header of `signed_message`, unfolded.
std::string Tag(const std::string& signed_message, const std::string& tag) {
  const std::string header = signed_message.substr(0, signed_message.find("\r\nDate:"));
  std::string unfolded;
  for (char c : header) {
    if (c != '\r' && c != '\n' && c != ' ') unfolded += c;
  }
  const std::size_t start = unfolded.find(";" + tag + "=");
  if (start == std::string::npos) return "<missing>";
  const std::size_t value = start + tag.size() + 2;
  return unfolded.substr(value, unfolded.find(';', value) - value);
}

// RFC 6376 3.4.5.
TEST(DkimCanonicalizationTest, RfcExample) {
  EXPECT_EQ(CanonicalizeHeaderRelaxed("A: X"), "a:X\r\n");
  EXPECT_EQ(CanonicalizeHeaderRelaxed("B : Y\t\r\n\tZ  "), "b:Y Z\r\n");
  EXPECT_EQ(CanonicalizeBodyRelaxed(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(DkimCanonicalizationTest, BodyEdgeCases) {
  EXPECT_EQ(CanonicalizeBodyRelaxed(""), "");
  EXPECT_EQ(CanonicalizeBodyRelaxed("\r\n\r\n"), "");
  EXPECT_EQ(CanonicalizeBodyRelaxed("no final break"), "no final break\r\n");
  EXPECT_EQ(CanonicalizeBodyRelaxed("a\r\n \r\nb  \r\n"), "a\r\n\r\nb\r\n");
}

TEST(DkimBodyHashTest, KnownValues) {
  // sha256 of the empty string: the relaxed hash of an empty body.
  EXPECT_EQ(DkimBodyHash(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  // The body of RFC 6376 appendix A (bh as in its errata 3192).
  EXPECT_EQ(DkimBodyHash("Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n"),
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  // printf ' C\r\nD E\r\n' | openssl dgst -sha256 -binary | base64
  EXPECT_EQ(DkimBodyHash(" C \r\nD \t E\r\n\r\n\r\n"), "unak6JHq0wL+Q1HP7dW1tjBx9FLA6DffoZ0qrLwbbpo=");
}

TEST(DkimSignerTest, SignatureHeaderLayout) {
  auto signer = DkimSigner::Create("Shop.Example", "treu2024", RsaKeyPem());
  ASSERT_TRUE(signer) << signer.error().ToString();
  EXPECT_EQ(signer->algorithm(), "rsa-sha256");
  EXPECT_EQ(signer->DnsName(), "treu2024._domainkey.shop.example");
  EXPECT_TRUE(signer->DnsRecord().starts_with("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"));
  auto signed_message = signer->Sign(kMessage);
  ASSERT_TRUE(signed_message) << signed_message.error().ToString();
  EXPECT_TRUE(signed_message->starts_with(
      "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=shop.example; s=treu2024;\r\n"
      " h=from:to:subject:date:message-id:mime-version:content-type;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b="))
      << *signed_message;
  EXPECT_TRUE(signed_message->ends_with(kMessage));
  const std::string header = signed_message->substr(0, signed_message->size() - kMessage.size());
  std::size_t start = 0;
  while (start < header.size()) {
    const std::size_t end = header.find("\r\n", start);
    EXPECT_LE(end - start, 78u) << header;
    start = end + 2;
  }
  // 2048 bits: a 256-byte signature, 344 base64 characters.
  EXPECT_EQ(Tag(*signed_message, "b").size(), 344u);
}

TEST(DkimSignerTest, SignatureCoversSignedHeadersAndBodyOnly) {
  auto signer = DkimSigner::Create("shop.example", "s1", RsaKeyPem());
  ASSERT_TRUE(signer);
  const std::string b = Tag(*signer->Sign(kMessage), "b");
  // RSA PKCS#1 v1.5 signatures are deterministic.
  EXPECT_EQ(Tag(*signer->Sign(kMessage), "b"), b);
  // Relaxed canonicalisation: re-folded white space in headers and trailing white space in
  // the body do not matter, nor do unsigned headers.
  EXPECT_EQ(Tag(*signer->Sign(Replace(kMessage, "Subject: Hello", "Subject:   Hello  ")), "b"), b);
  EXPECT_EQ(Tag(*signer->Sign(Replace(kMessage, "To: Ada <", "To: Ada\r\n  <")), "b"), b);
  EXPECT_EQ(Tag(*signer->Sign(Replace(kMessage, "Joe.\r\n", "Joe.  \r\n\r\n")), "b"), b);
  EXPECT_EQ(Tag(*signer->Sign(Replace(kMessage, "X-Mailer: treu", "X-Mailer: other")), "b"), b);
  // Signed headers and the body do.
  EXPECT_NE(Tag(*signer->Sign(Replace(kMessage, "Subject: Hello", "Subject: Hellp")), "b"), b);
  EXPECT_NE(Tag(*signer->Sign(Replace(kMessage, "Joe.", "Jo.")), "b"), b);
  EXPECT_NE(Tag(*signer->Sign(Replace(kMessage, "From: Shop", "From: Shoq")), "b"), b);
}

TEST(DkimSignerTest, RepeatedAndOptionalHeaders) {
  auto signer = DkimSigner::Create("shop.example", "s1", RsaKeyPem());
  ASSERT_TRUE(signer);
  const std::string message =
      Replace(kMessage, "X-Mailer: treu\r\n",
              "List-Unsubscribe: <https://shop.example/u>\r\n"
              "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nReply-To: <r@shop.example>\r\n"
              "To: Second <second@example.com>\r\n");
  EXPECT_EQ(Tag(*signer->Sign(message), "h"),
            "from:to:to:subject:date:message-id:mime-version:content-type:reply-to:"
            "list-unsubscribe:list-unsubscribe-post");
}

TEST(DkimSignerTest, Ed25519) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  auto signer = DkimSigner::Create("shop.example", "ed", PrivateKeyPem(key));
  EVP_PKEY_free(key);
  ASSERT_TRUE(signer) << signer.error().ToString();
  EXPECT_EQ(signer->algorithm(), "ed25519-sha256");
  // RFC 8463: p= is the raw 32-byte key, 44 base64 characters.
  EXPECT_EQ(signer->DnsRecord().size(), std::string("v=DKIM1; k=ed25519; p=").size() + 44);
  auto signed_message = signer->Sign(kMessage);
  ASSERT_TRUE(signed_message);
  EXPECT_EQ(Tag(*signed_message, "a"), "ed25519-sha256");
  EXPECT_EQ(Tag(*signed_message, "b").size(), 88u);  // 64 bytes
}

TEST(DkimSignerTest, BadKeysAndNames) {
  EXPECT_EQ(DkimSigner::Create("shop.example", "s1", "not a key").error().ToString(),
            "dkim key: not a PEM private key (expected an unencrypted \"-----BEGIN PRIVATE "
            "KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\" block)");
  EXPECT_EQ(DkimSigner::Create("shop.example", "s1", "").error().context(), "dkim key");
  EXPECT_EQ(DkimSigner::Create("shop.example", "s1", NewRsaKeyPem(512)).error().ToString(),
            "dkim key: the RSA key has 512 bits; DKIM verifiers need at least 1024 (2048 "
            "recommended)");
  // An encrypted key fails instead of asking for a passphrase.
  EVP_PKEY* key = EVP_RSA_gen(1024);
  const std::string encrypted = PrivateKeyPem(key, EVP_aes_128_cbc());
  EVP_PKEY_free(key);
  EXPECT_TRUE(encrypted.find("ENCRYPTED") != std::string::npos);
  EXPECT_EQ(DkimSigner::Create("shop.example", "s1", encrypted).error().context(), "dkim key");
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EXPECT_EQ(DkimSigner::Create("shop.example", "s1", PrivateKeyPem(ec)).error().ToString(),
            "dkim key: the key is neither RSA nor Ed25519");
  EVP_PKEY_free(ec);
  EXPECT_EQ(DkimSigner::Create("shop", "s1", RsaKeyPem()).error().context(), "dkim domain");
  EXPECT_EQ(DkimSigner::Create("shop.example", "s 1", RsaKeyPem()).error().context(),
            "dkim selector");
  EXPECT_EQ(DkimSigner::Create("shop.example\r\n", "s1", RsaKeyPem()).error().context(),
            "dkim domain");
}

TEST(DkimSignerTest, MalformedMessages) {
  auto signer = DkimSigner::Create("shop.example", "s1", RsaKeyPem());
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->Sign("From: a@b.example\r\nno blank line").error().ToString(),
            "dkim: the message has no blank line ending its headers");
  EXPECT_EQ(signer->Sign("To: a@b.example\r\n\r\nbody").error().ToString(),
            "dkim: the message has no From header to sign");
}

TEST(DkimKeyTest, GeneratedKeysSignWithTheirAlgorithm) {
  for (auto [type, algorithm, key_tag] : {std::tuple{DkimKeyType::kRsa2048, "rsa-sha256", "k=rsa"},
                                          std::tuple{DkimKeyType::kEd25519, "ed25519-sha256", "k=ed25519"}}) {
    auto pem = GenerateDkimKey(type);
    ASSERT_TRUE(pem.has_value()) << pem.error().ToString();
    EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----")) << *pem;
    auto signer = DkimSigner::Create("shop.example", "s1", *pem);
    ASSERT_TRUE(signer.has_value()) << signer.error().ToString();
    EXPECT_EQ(signer->algorithm(), algorithm);
    EXPECT_NE(signer->DnsRecord().find(key_tag), std::string::npos) << signer->DnsRecord();
    EXPECT_NE(*pem, GenerateDkimKey(type).value()) << "every key is new";
  }
}

}  // namespace
}  // namespace treu::messaging
