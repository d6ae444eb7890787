// Signatures of outgoing webhook bodies, so receivers can tell that a request comes from
// this server and was not altered or replayed. Each webhook request carries the header
//
//   Treu-Signature:
//   t=1700000000,v1=832be273f597839e50b0a55959bf52c9ea7302f2d2ead55d94ded225c89dae80
//
// where t is the Unix time of sending in seconds and v1 is the lower-case hex
// HMAC-SHA256, keyed with the webhook's secret, of the text "<t>.<body>" (t in decimal, a
// full stop, then the raw body bytes exactly as sent). A receiver recomputes v1 from the
// raw body and its copy of the secret, compares in constant time, and rejects a t more
// than a few minutes away from its clock. The scheme is Stripe's, so existing verification
// code adapts with a header-name change. Later schemes would add v2=... beside v1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace treu::net {

// The request header SignWebhook's value goes in.
inline constexpr std::string_view kWebhookSignatureHeader = "Treu-Signature";

// "t=<unix_time>,v1=<64 lower-case hex digits>" for `body` sent at `unix_time` (seconds),
// as described above. Any secret, including an empty one, is accepted; callers choose
// secrets of at least 32 random bytes. Thread-safe.
std::string SignWebhook(std::string_view secret, std::int64_t unix_time, std::string_view body);

}  // namespace treu::net
