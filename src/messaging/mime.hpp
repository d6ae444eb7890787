// Internet messages (RFC 5322 + MIME) from an EmailMessage: the bytes an SMTP server or an
// .eml file receives, CRLF line endings throughout.
//
// Layout of a built message:
//
//   Date: Fri, 01 Mar 2024 12:30:00 +0000
//   From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@shop.example>
//   To: Ada <ada@example.com>
//   Reply-To: ...                      (only when set)
//   Subject: ...                       (RFC 2047 encoded-words when not plain ASCII)
//   Message-ID: <3f2a...@shop.example>
//   MIME-Version: 1.0
//   List-Unsubscribe: ...              (extra headers, in order)
//   Content-Type: multipart/alternative; boundary="=_treu_..."
//
//   --=_treu_...
//   Content-Type: text/plain; charset=UTF-8
//   Content-Transfer-Encoding: quoted-printable
//   ...
//   --=_treu_...
//   Content-Type: text/html; charset=UTF-8
//   Content-Transfer-Encoding: quoted-printable
//   ...
//   --=_treu_...--
//
// With only one body the message is a single text/plain or text/html part. Header lines are
// folded at 78 characters; encoded-words are at most 75 characters and never split a UTF-8
// sequence; body lines are at most 76 characters (quoted-printable). The boundary starts
// with "=_", which quoted-printable output can never contain.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::messaging {

// A display name and an address: "Ada Lovelace <ada@example.com>".
struct Mailbox {
  std::string name;     // UTF-8, may be empty
  std::string address;  // ASCII "local@domain", see ValidateAddress
};

struct EmailMessage {
  Mailbox from;
  Mailbox to;
  std::optional<Mailbox> reply_to;
  std::string subject;  // UTF-8, may be empty
  std::string html;     // UTF-8 HTML body, may be empty
  // UTF-8 plain-text body. When empty and `html` is not, BuildMime derives it from the HTML
  // (HtmlToText). Line endings may be LF or CRLF.
  std::string text;
  // Further headers in order, e.g. {"List-Unsubscribe", "<https://...>"}. Names are
  // printable ASCII without ':' (at most 40 characters) and none of the headers BuildMime
  // writes itself (Date, From, To, Reply-To, Subject, Message-ID, MIME-Version,
  // Content-Type, Content-Transfer-Encoding) nor Cc, Bcc, Sender, Return-Path or
  // DKIM-Signature. ASCII values are folded at their spaces; values with other characters
  // are written as encoded-words (unstructured text).
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // "local@domain" without angle brackets, to keep one Message-ID across retries of the
  // same message. Empty: a new random one in `message_id_domain`.
  std::string message_id;
  // Domain of a generated Message-ID; empty: the domain of the From address.
  std::string message_id_domain;
};

struct BuiltEmail {
  std::string message_id;  // without angle brackets, e.g. "3f2a...@shop.example"
  std::string mime;        // the message, CRLF line endings
};

// Builds the message as laid out above, dated `date` (written in UTC).
// Errors, all InvalidArgument with the field as context ("from.address", "subject",
// "extra_headers[2].value", ...):
//   - a CR, LF or NUL in any header value, name or address ("contains a line break or
//     NUL"), or another control character in a header value;
//   - an address that is not a valid ASCII address (see ValidateAddress);
//   - text that is not valid UTF-8;
//   - neither a text nor an HTML body;
//   - an extra header that is malformed, reserved, or would need a line over 998
//     characters.
// Message-ID and boundary come from OpenSSL's random generator. Thread-safe.
Result<BuiltEmail> BuildMime(const EmailMessage& message, Timestamp date);

// Checks an address as SMTP (RFC 5321) accepts it without extensions: a dot-atom local part
// ("ada.lovelace+news") or a quoted one ("\"ada lovelace\""), at most 64 characters; '@'; a
// domain of at least two labels of letters, digits and hyphens (no leading or trailing
// hyphen, 1..63 characters each); at most 254 characters in all. Non-ASCII addresses
// (SMTPUTF8) are refused with a message naming the punycode alternative for the domain.
// Errors are InvalidArgument with context `field`.
Status ValidateAddress(std::string_view address, std::string_view field);

// A domain name of at least two labels of ASCII letters, digits and hyphens (no leading or
// trailing hyphen, 1..63 characters each), at most 253 characters: "shop.example".
bool IsValidDomainName(std::string_view domain);

// RFC 5322 date-time in UTC: "Fri, 01 Mar 2024 12:30:00 +0000".
std::string FormatRfc5322Date(Timestamp t);

// Quoted-printable (RFC 2045) of UTF-8 text: lines of at most 76 characters, CRLF line
// endings (LF, CRLF and lone CR in the input are all line breaks), trailing white space of
// a line encoded.
std::string EncodeQuotedPrintable(std::string_view text);

// A whole unstructured header field "Name: value" without the final CRLF, folded at 78
// characters, with the value as RFC 2047 encoded-words (UTF-8, "B" or "Q", whichever is
// shorter) when it is not plain printable ASCII. REQUIRES: `value` is valid UTF-8 without
// control characters other than tab; `name` is at most 40 characters.
std::string EncodeUnstructuredHeader(std::string_view name, std::string_view value);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or values above
// U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace treu::messaging
