// Delivering the outbox (email here; push, in-app and webhook in channels.hpp): workers claim due messages (Store::ClaimMessages), check
// again that they may be sent (consent, preferences, suppressions), build the MIME message
// with its unsubscribe headers (RFC 8058) and tracking links, sign it (DKIM, when set up),
// hand it to the workspace's transport and record the outcome (Store::FinishMessage):
//   - accepted: sent;
//   - refused for good (SMTP 5xx): bounced, and the address is suppressed;
//   - refused for now (SMTP 4xx, connection trouble): queued again after a backoff with
//     jitter, and failed (the dead letter) once the workspace's max_attempts are used up;
//   - not allowed any more: suppressed, without an attempt.
// Delivery is at least once: a worker that dies mid-send leaves its claim to lapse, and the
// message is sent again by whoever claims it next, with the same Message-ID, so receivers can
// spot such repeats.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "messaging/channels.hpp"
#include "messaging/dkim.hpp"
#include "messaging/transport.hpp"
#include "storage/store.hpp"

namespace treu::messaging {

inline constexpr std::int64_t kFirstRetryMicros = 60'000'000;          // 1 minute
inline constexpr std::int64_t kMaxRetryMicros = 6LL * 3600'000'000;    // 6 hours

// When the next attempt of a message that has had `attempts` attempts is due: the delay
// doubles from kFirstRetryMicros up to kMaxRetryMicros, and is drawn uniformly from its upper
// half (`unit` in [0, 1)), so retries of many messages spread out.
Timestamp NextAttemptAt(int attempts, Timestamp now, double unit);

// A workspace's email setup as the workers use it: settings, the transport they name, and
// the DKIM signer when DKIM is set up.
struct EmailSetup {
  MessagingSettingsRecord settings;
  std::shared_ptr<EmailTransport> transport;
  std::shared_ptr<const DkimSigner> dkim;  // null: unsigned
};

// The setup of `settings`: an SMTP transport with the unsealed password, or (transport
// "file") a FileTransport writing to `mail_dir`/<workspace id>/. Errors when a sealed secret
// doesn't open or the DKIM key is bad.
Result<EmailSetup> MakeEmailSetup(const MessagingSettingsRecord& settings, std::span<const std::uint8_t> secret,
                                  const std::filesystem::path& mail_dir, const Clock& clock);

// The customer of a claimed message, read from the store at most once however many of the
// checks made before sending it (the hold check, the send blocker) ask for it.
class MessageCustomer {
 public:
  MessageCustomer(Store& store, const OutboxMessage& m) : store_(store), message_(m) {}
  // The customer; nullptr when they were deleted.
  Result<const Customer*> Get();

 private:
  Store& store_;
  const OutboxMessage& message_;
  bool read_ = false;
  std::optional<Customer> customer_;
};

// Why a message may not be sent now, or "" when it may: checked at send time.
//   marketing: the customer's email consent is granted, the address not suppressed, the
//     message's topic not turned off and messages not paused;
//   transactional and confirmation: the address is not suppressed.
Result<std::string> SendBlocker(Store& store, const OutboxMessage& m, MessageCustomer& customer, Timestamp now);

// Builds and sends one claimed email message; returns the outcome to record (nothing is
// written here). `random_unit` draws the retry jitter.
Result<MessageOutcome> DeliverEmail(Store& store, const OutboxMessage& m, MessageCustomer& customer,
                                    const EmailSetup& setup, std::span<const std::uint8_t> secret, Timestamp now,
                                    double random_unit);

// Why a claimed message waits instead of being delivered now, and until when: the rules of a
// layer above messaging (the workspace's quiet hours in the recipient's zone), checked at send
// time because a message can come due later than it was planned (a retry, a backlog).
struct Hold {
  Timestamp until;
  std::string reason;  // the log line's detail
};
using HoldCheck = std::function<Result<std::optional<Hold>>(const OutboxMessage&, MessageCustomer&, Timestamp now)>;
// Makes the hold check of one claimed batch, so that what its messages share (a workspace's
// rules) is read once per batch and is never older than the batch.
using HoldRules = std::function<HoldCheck(Store&)>;

// The outcome of a held message: queued again for `hold.until`, logged "deferred".
MessageOutcome HeldOutcome(const OutboxMessage& m, const Hold& hold, Timestamp now);

// Workers that deliver the outbox's email: `threads` threads, each with its own store
// connection, claiming up to `batch` messages at a time; a thread that finds nothing waits
// `poll_ms` or until Wake().
class OutboxWorker {
 public:
  struct Options {
    int threads = 2;
    int batch = 20;
    int poll_ms = 500;
    std::int64_t lease_micros = 120'000'000;  // a claim lapses after 2 minutes
    std::string worker_id;                    // unique per process; made up when empty
    std::filesystem::path mail_dir = "mail";  // where the file transport writes
    // Push and webhook requests; a CurlHttpClient when null.
    std::shared_ptr<net::HttpClient> http;
    // Asked once per claimed batch for its hold check, which is asked before each delivery; a
    // message it holds is queued again for later (none: all go).
    HoldRules hold;
  };
  using StoreOpener = std::function<Result<std::unique_ptr<Store>>()>;

  static Result<std::unique_ptr<OutboxWorker>> Start(StoreOpener open, const Clock& clock,
                                                     std::span<const std::uint8_t> secret, Options options);
  ~OutboxWorker();  // finishes the messages in hand
  OutboxWorker(const OutboxWorker&) = delete;
  OutboxWorker& operator=(const OutboxWorker&) = delete;

  // Ends the wait of idle threads (new messages were enqueued).
  void Wake();
  // Messages finished by this worker since it started (any outcome).
  std::int64_t finished() const { return finished_.load(); }

 private:
  OutboxWorker(const Clock& clock, std::span<const std::uint8_t> secret, Options options);
  void Run(std::unique_ptr<Store> store, unsigned seed);
  // The setup of workspace `ws` (cached until its settings change).
  Result<std::shared_ptr<const EmailSetup>> SetupOf(Store& store, WorkspaceId ws);
  // The push and webhook setup of workspace `ws` (cached until its channel settings or address
  // policy change).
  Result<std::shared_ptr<const ChannelSetup>> ChannelSetupOf(Store& store, WorkspaceId ws);
  // Delivers one claimed message of any channel.
  Result<MessageOutcome> Deliver(Store& store, const OutboxMessage& m, MessageCustomer& customer, Timestamp now,
                                 double unit);
  // The batch's hold check first (Options::hold; none: no check): a held message is queued
  // again, the others delivered.
  Result<MessageOutcome> HoldOrDeliver(Store& store, const HoldCheck& hold, const OutboxMessage& m, Timestamp now,
                                       double unit);

  const Clock& clock_;
  std::vector<std::uint8_t> secret_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::uint64_t wakes_ = 0;  // guarded by mu_
  std::mutex setups_mu_;
  std::map<std::int64_t, std::shared_ptr<const EmailSetup>> setups_;  // guarded by setups_mu_
  std::map<std::int64_t, std::shared_ptr<const ChannelSetup>> channel_setups_;  // guarded by setups_mu_
  std::atomic<std::int64_t> finished_{0};
  std::vector<std::thread> threads_;
};

}  // namespace treu::messaging
