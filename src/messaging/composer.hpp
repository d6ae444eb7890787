// Composing messages from templates: the checks when a template is saved, the data a template
// reads for one recipient (docs/templates.md, "Data"), previews with a real customer, and
// sends — an audience (customers, a saved segment, a segment expression) rendered and enqueued
// in the outbox in batches.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/model_fits.hpp"
#include "messaging/links.hpp"
#include "messaging/template.hpp"
#include "segments/library.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"

namespace treu::messaging {

// An error of one part of a template ("subject", "html" or "text") at its position.
struct PartError {
  std::string part;
  TemplateError error;
};

// Every problem of the parts: syntax (Template::Parse), and variables the data doesn't have —
// an unknown top-level name ("custmer"), an unknown customer field ("customer.revnue_total",
// with the nearest name suggested), an unknown loyalty or shop field. Empty when all is well.
// Subject and text are text mode, html is HTML mode; an email needs a subject and html or text.
std::vector<PartError> CheckTemplate(const MessageTemplateRecord& t);

// The first problem as an InvalidArgument with context "<part>:<line>:<column>" (the HTTP layer
// names the field with it), or OK.
Status FirstProblem(const std::vector<PartError>& problems);

// Checks and saves template `t` (inserted or replaced by name): a valid name (as segment names),
// channel email, push, inapp or webhook (an endpoint the workspace has), a topic of at most 64
// letters, digits, '_', '-' or '.', and CheckTemplate. Per channel: email needs a subject and
// html or text; push a title (subject) and text; in-app text and layout banner or modal;
// webhook text and an endpoint. link_url (push, in-app, webhook) is a text template.
Result<MessageTemplateRecord> SaveTemplate(Store& store, MessageTemplateRecord t, Timestamp now);

// A template's parts, parsed.
struct CompiledTemplate {
  Template subject;
  std::optional<Template> html;
  std::optional<Template> text;
  std::optional<Template> link_url;
  std::vector<VariableUse> variables;  // of all parts
};
Result<CompiledTemplate> CompileTemplate(const MessageTemplateRecord& t);
// Whether a part of `t` uses {{ survey_url }}: it invites to a survey (a journey's send step or
// a survey wave must then name one, and one that names a survey must use it).
Result<bool> LinksToSurvey(const MessageTemplateRecord& t);

// The links a message carries for customer `c`: unsubscribe (about template `template_id`,
// so a topic can be turned off) and the preference page; and a survey invitation when the
// message invites to one (a journey's send step with a survey; "" otherwise).
struct RecipientLinks {
  std::string unsubscribe_url;
  std::string preferences_url;
  std::string survey_url;
};
// The data of every customer of a snapshot that a template reads, built once per send.
class TemplateData {
 public:
  // Loads only what `variables` read: table columns (profile, aggregates, predictions),
  // names and time zones, loyalty, recent orders. `predictions` may be null.
  static Result<std::unique_ptr<TemplateData>> Build(Store& store, const Workspace& ws,
                                                     const std::shared_ptr<const Snapshot>& s,
                                                     PredictionCache* predictions,
                                                     std::span<const VariableUse> variables, Timestamp now);
  ~TemplateData();

  // The data object of customer `c` with their links.
  Value For(Snapshot::Index c, RecipientLinks links) const;
  // The render context of customer `c`: their time zone and locale (else the workspace's
  // zone and en-US), the workspace's currency. Shared per (zone, locale).
  Result<RenderContext> ContextFor(Snapshot::Index c) const;
  // Email address and whether it may receive marketing email (consent granted).
  const std::string& Email(Snapshot::Index c) const;
  bool EmailConsent(Snapshot::Index c) const;
  // The customer's time zone name, else the workspace's.
  const std::string& ZoneName(Snapshot::Index c) const;
  // What the data was built from: the customer table and snapshot, to select an audience on.
  const segment::SegmentData& segment_data() const;

  struct Impl;

 private:
  explicit TemplateData(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where the links of customer `c` in a message from template `template_id` lead: under
// `public_url` (trailing '/' ignored), signed by `signer`. Only the links the template shows
// are made; the others (and survey_url) are "".
struct LinksShown {
  bool unsubscribe = true;
  bool preferences = true;
};
RecipientLinks LinksFor(std::string_view public_url, const LinkSigner& signer, WorkspaceId ws, CustomerId c,
                        std::int64_t template_id, LinksShown shown = {});

struct RenderedMessage {
  std::string subject;
  std::string html;
  std::string text;
  std::string link_url;  // push and in-app; "" when none or not an http(s) URL
};

// Renders template `t` for customer `customer` (external id) with the live data.
Result<RenderedMessage> PreviewTemplate(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                        PredictionCache* predictions, const MessageTemplateRecord& t,
                                        std::string_view customer, std::span<const std::uint8_t> secret,
                                        Timestamp now);

struct SendRequest {
  std::string template_name;
  std::vector<std::string> customers;  // external ids; or
  std::string segment;                 // a saved segment's name, and/or
  std::string where;                   // a segment expression
  std::string category = "marketing";  // or "transactional"
  std::string campaign;
  // Makes the send repeatable: message keys are "<key>:<customer id>", so sending with the same
  // key again enqueues nothing twice. Empty: a key of the template, campaign and time.
  std::string key;
};

struct SendReport {
  std::int64_t audience = 0;            // customers selected
  std::int64_t queued = 0;              // messages added to the outbox
  std::int64_t duplicates = 0;          // keys already in the outbox
  std::int64_t no_email = 0;            // skipped (email): no address
  std::int64_t no_address = 0;          // skipped (push): no push subscription
  std::int64_t no_consent = 0;          // skipped (marketing): no email consent
  std::int64_t suppressed = 0;          // skipped: the address is suppressed
  std::string key;
};

// Why a recipient of a send gets no message.
enum class Skip { kNone, kNoEmail, kNoConsent, kSuppressed, kNoSubscription };
// "", "no_email", "no_consent", "suppressed", "no_subscription".
std::string_view SkipName(Skip s);

// One send prepared: its templates (the variants, all of one channel) compiled, the data all of
// them read built once, the workspace's suppressed addresses and messaging settings, each
// customer's push subscriptions and the webhook endpoints' formats. Composes recipients'
// messages; the const methods may run on several threads at once.
class Composer {
 public:
  // NotFound for a webhook template whose endpoint was deleted (FailedPrecondition);
  // InvalidArgument when the templates' channels differ or there are none.
  static Result<std::unique_ptr<Composer>> Prepare(Store& store, const Workspace& ws,
                                                   const std::shared_ptr<const Snapshot>& s,
                                                   PredictionCache* predictions,
                                                   std::vector<MessageTemplateRecord> templates,
                                                   std::span<const std::uint8_t> secret, Timestamp now);
  ~Composer();

  const TemplateData& data() const;
  Channel channel() const;
  // Whether customer c can be reached on the channel: email needs an address and, for
  // marketing, consent and no suppression; push a subscription; in-app and webhook always.
  Skip Check(Snapshot::Index c, bool marketing) const;

  struct Envelope {
    std::string category = "marketing";
    std::string campaign;
    std::string key;  // message keys are "<key>:<external id>" (push: ":<subscription id>" more)
    Timestamp due;    // next_attempt_at
    Timestamp now;    // created_at
    std::string survey_url;  // the template's {{ survey_url }}: the customer's invitation
  };
  // Renders variant `v` for c and appends its messages (a push message per subscription).
  // A render error (a limit) names the customer.
  Status Compose(std::size_t v, Snapshot::Index c, const Envelope& e, std::vector<OutboxMessage>& out) const;

  struct Impl;

 private:
  explicit Composer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Selects, renders and enqueues in batches of 10,000 (one transaction each), reporting progress
// (customers done of total). Errors of the audience (unknown customer, segment errors with
// position) before anything is enqueued; a render error (a limit) names the customer.
Result<SendReport> SendTemplate(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                PredictionCache* predictions, const SendRequest& request,
                                std::span<const std::uint8_t> secret, Timestamp now,
                                const std::function<void(std::int64_t done, std::int64_t total)>& progress = {});

}  // namespace treu::messaging
