// Sends N prebuilt messages to an SMTP server from K threads over K reused connections and
// prints messages per second.
//
//   treu_smtp_bench --url smtp://127.0.0.1:2525 [--messages 20000] [--threads 8] [--dkim]
//
// --dkim signs every message (rsa-sha256, 2048-bit key) in the sending threads, to show the
// cost of signing beside the cost of delivery.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "messaging/dkim.hpp"
#include "messaging/mime.hpp"
#include "messaging/transport.hpp"

namespace {

using treu::messaging::BuildMime;
using treu::messaging::DkimSigner;
using treu::messaging::EmailMessage;
using treu::messaging::Envelope;
using treu::messaging::SendOutcome;
using treu::messaging::SmtpSettings;
using treu::messaging::SmtpTls;
using treu::messaging::SmtpTransport;


int Usage() {
  std::fprintf(stderr,
               "usage: treu_smtp_bench --url smtp://HOST:PORT [--messages N] [--threads K] "
               "[--dkim]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  long messages = 20'000;
  int threads = 8;
  bool dkim = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--url" && i + 1 < argc) {
      url = argv[++i];
    } else if (arg == "--messages" && i + 1 < argc) {
      messages = std::atol(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--dkim") {
      dkim = true;
    } else {
      return Usage();
    }
  }
  if (url.empty() || messages < 1 || threads < 1) return Usage();

  EmailMessage message;
  message.from = {"Jürgen vom Laden", "news@shop.example"};
  message.to = {"Ada Lovelace", "ada@example.com"};
  message.subject = "Grüße aus Köln 🎉 — dein Gutschein über 10 € wartet";
  message.html = "<h1>Hallo Ada</h1><p>Dein Gutschein: <b>KÖLN10</b>. Er gilt bis Sonntag.</p>"
                 "<ul><li>10 € auf alles</li><li>Versand gratis</li></ul>"
                 "<p><a href=\"https://shop.example/c/koeln10\">Jetzt einlösen</a></p>";
  message.extra_headers = {{"List-Unsubscribe", "<https://shop.example/u/abc>"},
                           {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}};
  auto built = BuildMime(message, treu::Timestamp::FromSeconds(1'709'296'200));
  if (!built) {
    std::fprintf(stderr, "%s\n", built.error().ToString().c_str());
    return 1;
  }
  std::optional<DkimSigner> signer;
  if (dkim) {
    auto created = DkimSigner::Create("shop.example", "bench", treu::messaging::GenerateDkimKey(treu::messaging::DkimKeyType::kRsa2048).value());
    if (!created) return 1;
    signer = std::move(*created);
  }

  SmtpSettings settings;
  settings.url = url;
  settings.tls = SmtpTls::kNone;
  settings.max_connections = threads;
  auto transport = SmtpTransport::Create(settings);
  if (!transport) {
    std::fprintf(stderr, "%s\n", transport.error().ToString().c_str());
    return 1;
  }
  const Envelope envelope{"bounces@shop.example", "ada@example.com"};

  std::atomic<long> next{0};
  std::atomic<long> sent{0};
  std::atomic<long> failed{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (next.fetch_add(1) < messages) {
        std::string signed_mime;
        std::string_view mime = built->mime;
        if (signer) {
          signed_mime = *signer->Sign(mime);
          mime = signed_mime;
        }
        const auto result = (*transport)->Send(envelope, mime);
        if (result.outcome == SendOutcome::kSent) {
          ++sent;
        } else if (failed.fetch_add(1) == 0) {
          std::fprintf(stderr, "first failure: %s\n", result.detail.c_str());
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("messages %ld sent %ld failed %ld threads %d connections %lld bytes/message %zu%s\n",
              messages, sent.load(), failed.load(), threads,
              static_cast<long long>((*transport)->connections_opened()), built->mime.size(),
              dkim ? " dkim rsa-sha256" : "");
  std::printf("seconds %.3f messages/s %.0f\n", seconds, static_cast<double>(sent.load()) / seconds);
  return failed.load() == 0 ? 0 : 1;
}
