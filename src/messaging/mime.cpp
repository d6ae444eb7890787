#include "messaging/mime.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "messaging/html_text.hpp"

namespace treu::messaging {
namespace {

constexpr std::size_t kMaxLine = 78;            // recommended header line length
constexpr std::size_t kMaxHardLine = 998;       // RFC 5322 limit
constexpr std::size_t kMaxEncodedWord = 75;     // RFC 2047
constexpr std::size_t kMaxQpLine = 76;          // RFC 2045
constexpr std::size_t kMaxExtraHeaderName = 40;
constexpr std::string_view kHex = "0123456789ABCDEF";
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Headers BuildMime writes itself or that must not come from message content.
constexpr std::string_view kReservedHeaders[] = {
    "date",         "from",         "to",           "reply-to",
    "subject",      "message-id",   "mime-version", "content-type",
    "content-transfer-encoding",    "cc",           "bcc",
    "sender",       "return-path",  "dkim-signature"};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string RandomHex(std::size_t bytes) {
  std::array<unsigned char, 32> buffer{};
  bytes = std::min(bytes, buffer.size());
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) {
    // OpenSSL's generator only fails when it cannot be seeded, which leaves no safe way to
    // make unique identifiers.
    std::abort();
  }
  std::string out;
  out.reserve(bytes * 2);
  for (std::size_t i = 0; i < bytes; ++i) {
    out += "0123456789abcdef"[buffer[i] >> 4];
    out += "0123456789abcdef"[buffer[i] & 0xf];
  }
  return out;
}

bool HasLineBreakOrNul(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// A header value: no CR, LF, NUL or other control characters but tab, valid UTF-8.
Status CheckHeaderText(std::string_view text, std::string_view field) {
  if (HasLineBreakOrNul(text)) {
    return InvalidArgument(std::string(field), "contains a line break or NUL");
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return InvalidArgument(std::string(field), "contains a control character");
    }
  }
  if (!IsValidUtf8(text)) return InvalidArgument(std::string(field), "is not valid UTF-8");
  return Ok();
}

bool IsAtext(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Length in bytes of the UTF-8 sequence starting at text[i]. REQUIRES: valid UTF-8.
std::size_t SequenceLength(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

// Characters of byte `u` in a "Q" encoded-word: 1, or 3 for "=XX". Only the characters RFC
// 2047 allows in a phrase stay literal, so the same words serve subjects and display names.
std::size_t QLength(unsigned char u) {
  if (u == ' ') return 1;
  if (std::isalnum(u) || std::string_view("!*+-/").find(static_cast<char>(u)) != std::string_view::npos) {
    return 1;
  }
  return 3;
}

void AppendQ(std::string& out, unsigned char u) {
  if (u == ' ') {
    out += '_';
  } else if (QLength(u) == 1) {
    out += static_cast<char>(u);
  } else {
    out += '=';
    out += kHex[u >> 4];
    out += kHex[u & 0xf];
  }
}

void AppendBase64(std::string& out, std::string_view bytes) {
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
  }
}

std::size_t Base64Length(std::size_t bytes) { return (bytes + 2) / 3 * 4; }

// Encoded-words for `text`, each at most kMaxEncodedWord characters and the first at most
// `first_max`, split only between UTF-8 sequences. `q` picks the Q encoding, else B.
std::vector<std::string> EncodedWords(std::string_view text, bool q, std::size_t first_max) {
  constexpr std::string_view kPrefixQ = "=?UTF-8?Q?";
  constexpr std::string_view kPrefixB = "=?UTF-8?B?";
  constexpr std::size_t kOverhead = 12;  // prefix + "?="
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t max = (words.empty() ? first_max : kMaxEncodedWord) - kOverhead;
    std::size_t end = i;
    std::size_t q_length = 0;
    while (end < text.size()) {
      const std::size_t n = SequenceLength(text, end);
      std::size_t added = 0;
      if (q) {
        for (std::size_t k = 0; k < n; ++k) added += QLength(static_cast<unsigned char>(text[end + k]));
        if (q_length + added > max) break;
        q_length += added;
      } else if (Base64Length(end + n - i) > max) {
        break;
      }
      end += n;
    }
    if (end == i) end = i + SequenceLength(text, i);  // a budget below one character
    std::string word(q ? kPrefixQ : kPrefixB);
    const std::string_view chunk = text.substr(i, end - i);
    if (q) {
      for (char c : chunk) AppendQ(word, static_cast<unsigned char>(c));
    } else {
      AppendBase64(word, chunk);
    }
    word += "?=";
    words.push_back(std::move(word));
    i = end;
  }
  return words;
}

// Whichever of the Q and B encodings of `text` is shorter.
std::vector<std::string> ShortestEncodedWords(std::string_view text, std::size_t first_max) {
  std::vector<std::string> q = EncodedWords(text, true, first_max);
  std::vector<std::string> b = EncodedWords(text, false, first_max);
  auto total = [](const std::vector<std::string>& words) {
    std::size_t n = 0;
    for (const std::string& w : words) n += w.size() + 1;
    return n;
  };
  return total(q) <= total(b) ? q : b;
}

// Splits ASCII text at single spaces; a token keeps the extra spaces before it, so that
// joining the tokens with one space (or a fold, CRLF + space) gives the text back.
std::vector<std::string> SplitAtSpaces(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  bool have_token = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' && have_token) {
      tokens.push_back(std::move(current));
      current.clear();
      have_token = false;
      continue;
    }
    current += text[i];
    if (text[i] != ' ') have_token = true;
  }
  if (!current.empty() || tokens.empty()) tokens.push_back(std::move(current));
  return tokens;
}

// "Name: " + tokens joined by single spaces, folded (CRLF + space) before a token that would
// pass kMaxLine. A token longer than a line stays whole.
std::string Fold(std::string_view name, const std::vector<std::string>& tokens) {
  std::string out(name);
  out += ":";
  std::size_t line_length = out.size();
  bool first = true;
  for (const std::string& token : tokens) {
    if (!first && line_length + 1 + token.size() > kMaxLine) {
      out += "\r\n";
      line_length = 0;
    }
    out += ' ';
    out += token;
    line_length += 1 + token.size();
    first = false;
  }
  return out;
}

// Whether plain ASCII `tokens` can be written as they are after "Name: ": printable ASCII,
// nothing a decoder could mistake for an encoded-word, and every token fits on a line.
bool FitsPlain(std::string_view text, std::size_t prefix_length,
               const std::vector<std::string>& tokens) {
  if (!IsPrintableAscii(text) || text.find("=?") != std::string_view::npos) return false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::size_t room = i == 0 ? kMaxLine - prefix_length : kMaxLine - 1;
    if (tokens[i].size() > room) return false;
  }
  // Leading or trailing spaces would be lost to unfolding and trimming decoders.
  return text.empty() || (text.front() != ' ' && text.back() != ' ');
}

std::string MailboxHeader(std::string_view name, const Mailbox& mailbox) {
  const std::string address = "<" + mailbox.address + ">";
  if (mailbox.name.empty()) return Fold(name, {address});
  const std::size_t prefix = name.size() + 2;
  std::vector<std::string> tokens;
  const bool all_atext = std::all_of(mailbox.name.begin(), mailbox.name.end(),
                                     [](char c) { return c == ' ' || IsAtext(c); });
  std::vector<std::string> plain = SplitAtSpaces(mailbox.name);
  if (all_atext && FitsPlain(mailbox.name, prefix, plain) &&
      mailbox.name.find("  ") == std::string::npos) {
    tokens = std::move(plain);
  } else {
    std::string quoted = "\"";
    for (char c : mailbox.name) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    quoted += '"';
    std::vector<std::string> quoted_tokens = SplitAtSpaces(quoted);
    if (FitsPlain(mailbox.name, prefix, quoted_tokens) && FitsPlain(quoted, prefix, quoted_tokens)) {
      tokens = std::move(quoted_tokens);
    } else {
      tokens = ShortestEncodedWords(mailbox.name, std::min(kMaxEncodedWord, kMaxLine - prefix));
    }
  }
  tokens.push_back(address);
  return Fold(name, tokens);
}

Status ValidateMailbox(const Mailbox& mailbox, std::string_view field) {
  TREU_RETURN_IF_ERROR(CheckHeaderText(mailbox.name, std::string(field) + ".name"));
  return ValidateAddress(mailbox.address, std::string(field) + ".address");
}

bool IsValidDomainNameInternal(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t labels = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels >= 2;
}

Status ValidateExtraHeader(const std::string& name, const std::string& value, std::size_t index) {
  const std::string field = "extra_headers[" + std::to_string(index) + "]";
  if (HasLineBreakOrNul(name)) return InvalidArgument(field + ".name", "contains a line break or NUL");
  if (name.empty() || name.size() > kMaxExtraHeaderName) {
    return InvalidArgument(field + ".name", "must have 1 to " +
                                                std::to_string(kMaxExtraHeaderName) + " characters");
  }
  for (char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == ':') {
      return InvalidArgument(field + ".name",
                             "\"" + name + "\" is not a header name (printable ASCII, no ':')");
    }
  }
  const std::string lower = Lower(name);
  if (std::find(std::begin(kReservedHeaders), std::end(kReservedHeaders), lower) !=
      std::end(kReservedHeaders)) {
    return InvalidArgument(field + ".name", name + " is set by the message builder, not here");
  }
  TREU_RETURN_IF_ERROR(CheckHeaderText(value, field + ".value"));
  return Ok();
}

// Normalises line breaks to CRLF.
std::string ToCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string PartHeaders(std::string_view subtype) {
  return "Content-Type: text/" + std::string(subtype) +
         "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n";
}

std::string EnsureFinalCrlf(std::string text) {
  if (!text.ends_with("\r\n")) text += "\r\n";
  return text;
}

}  // namespace

bool IsValidDomainName(std::string_view domain) { return IsValidDomainNameInternal(domain); }

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      n = 2;
      cp = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      n = 3;
      cp = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      n = 4;
      cp = lead & 0x07;
    } else {
      return false;
    }
    if (i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n;
  }
  return true;
}

Status ValidateAddress(std::string_view address, std::string_view field) {
  const std::string context(field);
  if (HasLineBreakOrNul(address)) return InvalidArgument(context, "contains a line break or NUL");
  if (address.empty()) return InvalidArgument(context, "is empty");
  if (std::any_of(address.begin(), address.end(),
                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return InvalidArgument(context,
                           "\"" + std::string(address) +
                               "\" has non-ASCII characters; internationalised addresses "
                               "(SMTPUTF8) are not supported, write the domain in its "
                               "punycode form (xn--...)");
  }
  const std::string quoted_address = "\"" + std::string(address) + "\"";
  if (address.size() > 254) return InvalidArgument(context, quoted_address + " is longer than 254 characters");
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return InvalidArgument(context, quoted_address + " has no '@'");
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty()) return InvalidArgument(context, quoted_address + " has an empty local part");
  if (local.size() > 64) {
    return InvalidArgument(context, quoted_address + " has a local part longer than 64 characters");
  }
  if (local.front() == '"') {
    // quoted-string: printable ASCII, with '"' and '\' escaped by '\'.
    if (local.size() < 2 || local.back() != '"') {
      return InvalidArgument(context, quoted_address + " has an unterminated quoted local part");
    }
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
      const char c = local[i];
      if (c < 0x20 || c >= 0x7f) {
        return InvalidArgument(context, quoted_address + " has a control character");
      }
      if (c == '\\') {
        if (i + 2 >= local.size()) {
          return InvalidArgument(context, quoted_address + " ends its quoted local part in '\\'");
        }
        ++i;
      } else if (c == '"') {
        return InvalidArgument(context, quoted_address + " has an unescaped '\"' in its local part");
      }
    }
  } else {
    bool previous_dot = true;  // no leading dot
    for (char c : local) {
      if (c == '.') {
        if (previous_dot) {
          return InvalidArgument(context,
                                 quoted_address + " has a misplaced '.' in its local part");
        }
        previous_dot = true;
      } else if (IsAtext(c)) {
        previous_dot = false;
      } else {
        return InvalidArgument(context, quoted_address + " has '" + std::string(1, c) +
                                            "' in its local part; quote the local part or "
                                            "remove the character");
      }
    }
    if (previous_dot) {
      return InvalidArgument(context, quoted_address + " has a misplaced '.' in its local part");
    }
  }
  if (!IsValidDomainName(domain)) {
    return InvalidArgument(context, quoted_address +
                                        " has no valid domain (labels of letters, digits and "
                                        "hyphens separated by dots, e.g. example.com)");
  }
  return Ok();
}

std::string FormatRfc5322Date(Timestamp t) {
  static constexpr std::string_view kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::int64_t seconds = t.micros / kMicrosPerSecond;
  if (t.micros % kMicrosPerSecond < 0) --seconds;
  std::int64_t days = seconds / 86'400;
  std::int64_t rest = seconds % 86'400;
  if (rest < 0) {
    rest += 86'400;
    --days;
  }
  const CivilDate date = CivilFromDays(days);
  const std::int64_t weekday = ((days % 7) + 7) % 7;  // 1970-01-01 was a Thursday
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[weekday].data(), date.day, kMonths[date.month - 1].data(), date.year,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  return buffer;
}

std::string EncodeQuotedPrintable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t line_length = 0;
  auto emit = [&](std::string_view piece) {
    // Keeps room for the soft break's '='.
    if (line_length + piece.size() > kMaxQpLine - 1) {
      out += "=\r\n";
      line_length = 0;
    }
    out += piece;
    line_length += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u == '\r' || u == '\n') {
      out += "\r\n";
      line_length = 0;
      if (u == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const bool literal =
        (u >= 33 && u <= 126 && u != '=') || ((u == ' ' || u == '\t') && !at_line_end);
    if (literal) {
      // The last character of a line may use the column the soft break would take.
      if (at_line_end && line_length + 1 == kMaxQpLine) {
        out += static_cast<char>(u);
        ++line_length;
      } else {
        const char c = static_cast<char>(u);
        emit(std::string_view(&c, 1));
      }
    } else {
      const char escaped[3] = {'=', kHex[u >> 4], kHex[u & 0xf]};
      if (at_line_end && line_length + 3 == kMaxQpLine) {
        out.append(escaped, 3);
        line_length += 3;
      } else {
        emit(std::string_view(escaped, 3));
      }
    }
  }
  return out;
}

std::string EncodeUnstructuredHeader(std::string_view name, std::string_view value) {
  const std::size_t prefix = name.size() + 2;
  std::vector<std::string> tokens = SplitAtSpaces(value);
  if (value.empty() || FitsPlain(value, prefix, tokens)) return Fold(name, tokens);
  return Fold(name, ShortestEncodedWords(value, std::min(kMaxEncodedWord, kMaxLine - prefix)));
}

Result<BuiltEmail> BuildMime(const EmailMessage& message, Timestamp date) {
  TREU_RETURN_IF_ERROR(ValidateMailbox(message.from, "from"));
  TREU_RETURN_IF_ERROR(ValidateMailbox(message.to, "to"));
  if (message.reply_to) TREU_RETURN_IF_ERROR(ValidateMailbox(*message.reply_to, "reply_to"));
  TREU_RETURN_IF_ERROR(CheckHeaderText(message.subject, "subject"));
  for (std::size_t i = 0; i < message.extra_headers.size(); ++i) {
    TREU_RETURN_IF_ERROR(
        ValidateExtraHeader(message.extra_headers[i].first, message.extra_headers[i].second, i));
  }
  if (!IsValidUtf8(message.html)) return InvalidArgument("html", "is not valid UTF-8");
  if (!IsValidUtf8(message.text)) return InvalidArgument("text", "is not valid UTF-8");
  if (message.html.empty() && message.text.empty()) {
    return InvalidArgument("body", "the message has neither a text nor an HTML body");
  }

  BuiltEmail built;
  if (!message.message_id.empty()) {
    if (HasLineBreakOrNul(message.message_id)) {
      return InvalidArgument("message_id", "contains a line break or NUL");
    }
    const std::size_t at = message.message_id.rfind('@');
    const bool valid =
        at != std::string::npos && at > 0 && message.message_id.size() <= 250 &&
        std::all_of(message.message_id.begin(), message.message_id.begin() + at,
                    [](char c) { return c == '.' || IsAtext(c); }) &&
        IsValidDomainName(std::string_view(message.message_id).substr(at + 1));
    if (!valid) {
      return InvalidArgument("message_id", "\"" + message.message_id +
                                               "\" is not of the form local@domain (without "
                                               "angle brackets)");
    }
    built.message_id = message.message_id;
  } else {
    std::string domain = message.message_id_domain;
    if (domain.empty()) domain = message.from.address.substr(message.from.address.rfind('@') + 1);
    if (HasLineBreakOrNul(domain)) {
      return InvalidArgument("message_id_domain", "contains a line break or NUL");
    }
    if (!IsValidDomainName(domain)) {
      return InvalidArgument("message_id_domain", "\"" + domain + "\" is not a domain name");
    }
    built.message_id = RandomHex(16) + "@" + Lower(domain);
  }

  std::string text = message.text;
  if (text.empty() && !message.html.empty()) text = HtmlToText(message.html);
  // In a multipart body the CRLF before a boundary belongs to the boundary, so each part is
  // followed by one more CRLF than its text has.
  const std::string text_qp = EncodeQuotedPrintable(ToCrlf(text));
  const std::string html_qp = EncodeQuotedPrintable(ToCrlf(message.html));

  std::string& out = built.mime;
  out.reserve(text_qp.size() + html_qp.size() + 1024);
  auto header = [&out](std::string line) -> Status {
    std::size_t start = 0;
    while (start <= line.size()) {
      std::size_t end = line.find("\r\n", start);
      if (end == std::string::npos) end = line.size();
      if (end - start > kMaxHardLine) {
        return InvalidArgument(line.substr(0, line.find(':')),
                               "would need a header line over 998 characters");
      }
      start = end + 2;
    }
    out += line;
    out += "\r\n";
    return Ok();
  };
  TREU_RETURN_IF_ERROR(header("Date: " + FormatRfc5322Date(date)));
  TREU_RETURN_IF_ERROR(header(MailboxHeader("From", message.from)));
  TREU_RETURN_IF_ERROR(header(MailboxHeader("To", message.to)));
  if (message.reply_to) TREU_RETURN_IF_ERROR(header(MailboxHeader("Reply-To", *message.reply_to)));
  TREU_RETURN_IF_ERROR(header(EncodeUnstructuredHeader("Subject", message.subject)));
  TREU_RETURN_IF_ERROR(header("Message-ID: <" + built.message_id + ">"));
  TREU_RETURN_IF_ERROR(header("MIME-Version: 1.0"));
  for (const auto& [name, value] : message.extra_headers) {
    // ASCII values may be structured (List-Unsubscribe's <URL>s): folded at spaces only.
    TREU_RETURN_IF_ERROR(header(IsPrintableAscii(value) ? Fold(name, SplitAtSpaces(value))
                                                        : EncodeUnstructuredHeader(name, value)));
  }

  if (message.html.empty()) {
    out += PartHeaders("plain");
    out += "\r\n";
    out += EnsureFinalCrlf(text_qp);
    return built;
  }
  std::string boundary;
  do {
    boundary = "=_treu_" + RandomHex(16);
  } while (text_qp.find(boundary) != std::string::npos ||
           html_qp.find(boundary) != std::string::npos);
  out += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "--" + boundary + "\r\n";
  out += PartHeaders("plain");
  out += "\r\n";
  out += text_qp;
  out += "\r\n--" + boundary + "\r\n";
  out += PartHeaders("html");
  out += "\r\n";
  out += html_qp;
  out += "\r\n--" + boundary + "--\r\n";
  return built;
}

}  // namespace treu::messaging
