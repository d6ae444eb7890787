#include "messaging/html_text.hpp"

#include <gumbo.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace treu::messaging {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

// Characters that only steer layout in email HTML (preheader padding, soft hyphens): dropped.
// Returns their byte length at text[i], or 0.
std::size_t InvisibleLength(std::string_view text, std::size_t i) {
  static constexpr std::string_view kInvisible[] = {
      "\xE2\x80\x8B",  // U+200B zero width space
      "\xE2\x80\x8C",  // U+200C zero width non-joiner
      "\xEF\xBB\xBF",  // U+FEFF zero width no-break space
      "\xCD\x8F",      // U+034F combining grapheme joiner
      "\xC2\xAD",      // U+00AD soft hyphen
  };
  for (std::string_view s : kInvisible) {
    if (text.substr(i, s.size()) == s) return s.size();
  }
  return 0;
}

// Collects text with collapsed white space and requested line breaks.
class TextWriter {
 public:
  // Text whose white space collapses, as in normal HTML flow.
  void Flow(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (const std::size_t n = InvisibleLength(text, i); n > 0) {
        i += n - 1;
        continue;
      }
      if (IsSpace(text[i])) {
        space_pending_ = true;
        continue;
      }
      if (text.substr(i, 2) == "\xC2\xA0") {  // no-break space
        space_pending_ = true;
        ++i;
        continue;
      }
      Put(text[i]);
    }
  }

  // Preformatted text: white space and line breaks kept.
  void Preformatted(std::string_view text) {
    for (char c : text) {
      if (c == '\r') continue;
      if (c == '\n') {
        FlushPending();
        out_ += '\n';
        continue;
      }
      Put(c, /*collapse=*/false);
    }
  }

  // At least `n` line breaks (1: a new line, 2: a blank line) before the next text.
  void Break(int n) {
    space_pending_ = false;
    if (out_.empty() || after_marker_) return;
    pending_breaks_ = std::max(pending_breaks_, n);
  }

  // One more line break (<br>), up to a blank line.
  void LineBreak() {
    space_pending_ = false;
    if (out_.empty()) return;
    pending_breaks_ = std::min(pending_breaks_ + 1, 2);
  }

  // A list item's marker on a new line, e.g. "  - ".
  void Marker(std::string_view marker) {
    Break(1);
    FlushPending();
    out_ += marker;
    after_marker_ = true;
    space_pending_ = false;
  }

  std::size_t size() const { return out_.size(); }
  std::string_view Since(std::size_t start) const {
    return std::string_view(out_).substr(std::min(start, out_.size()));
  }
  void Append(std::string_view text) { Flow(text); }
  void SoftSpace() { space_pending_ = true; }

  // The text: trailing spaces of lines removed, at most one blank line in a row, no blank
  // lines at either end.
  std::string Finish() const {
    std::string result;
    int blank_run = 0;
    std::size_t start = 0;
    while (start <= out_.size()) {
      std::size_t end = out_.find('\n', start);
      if (end == std::string::npos) end = out_.size();
      std::string_view line = std::string_view(out_).substr(start, end - start);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      if (line.empty()) {
        ++blank_run;
      } else {
        if (!result.empty()) result += blank_run > 0 ? "\n\n" : "\n";
        result += line;
        blank_run = 0;
      }
      start = end + 1;
    }
    return result;
  }

 private:
  void FlushPending() {
    if (pending_breaks_ > 0) {
      out_.append(static_cast<std::size_t>(pending_breaks_), '\n');
      pending_breaks_ = 0;
      space_pending_ = false;
    }
  }

  void Put(char c, bool collapse = true) {
    FlushPending();
    if (space_pending_ && collapse) {
      if (!out_.empty() && out_.back() != '\n' && out_.back() != ' ') out_ += ' ';
    }
    space_pending_ = false;
    after_marker_ = false;
    out_ += c;
  }

  std::string out_;
  int pending_breaks_ = 0;
  bool space_pending_ = false;
  bool after_marker_ = false;
};

std::string_view Attribute(const GumboNode* node, const char* name) {
  const GumboAttribute* attribute = gumbo_get_attribute(&node->v.element.attributes, name);
  return attribute == nullptr ? std::string_view() : std::string_view(attribute->value);
}

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

struct ListState {
  bool ordered = false;
  long next = 1;
};

class Renderer {
 public:
  std::string Render(const GumboNode* root) {
    struct Frame {
      const GumboNode* node;
      unsigned next_child = 0;
      std::size_t start = 0;  // output size when the element was entered
    };
    std::vector<Frame> stack;
    if (Enter(root)) stack.push_back({root, 0, writer_.size()});
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const GumboVector& children = frame.node->type == GUMBO_NODE_DOCUMENT
                                        ? frame.node->v.document.children
                                        : frame.node->v.element.children;
      if (frame.next_child < children.length) {
        const auto* child = static_cast<const GumboNode*>(children.data[frame.next_child++]);
        const std::size_t start = writer_.size();
        if (Enter(child)) stack.push_back({child, 0, start});
        continue;
      }
      Exit(frame.node, frame.start);
      stack.pop_back();
    }
    return writer_.Finish();
  }

 private:
  // Writes what comes before an element's children; false when it has none to visit.
  bool Enter(const GumboNode* node) {
    switch (node->type) {
      case GUMBO_NODE_DOCUMENT:
        return true;
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_CDATA:
      case GUMBO_NODE_WHITESPACE:
        if (pre_depth_ > 0) {
          writer_.Preformatted(node->v.text.text);
        } else {
          writer_.Flow(node->v.text.text);
        }
        return false;
      case GUMBO_NODE_COMMENT:
      case GUMBO_NODE_TEMPLATE:
        return false;
      case GUMBO_NODE_ELEMENT:
        break;
    }
    switch (node->v.element.tag) {
      case GUMBO_TAG_SCRIPT:
      case GUMBO_TAG_STYLE:
      case GUMBO_TAG_HEAD:
      case GUMBO_TAG_TEMPLATE:
      case GUMBO_TAG_NOSCRIPT:
      case GUMBO_TAG_TITLE:
        return false;
      case GUMBO_TAG_BR:
        writer_.LineBreak();
        return false;
      case GUMBO_TAG_HR:
        writer_.Break(1);
        writer_.Flow("----");
        writer_.Break(1);
        return false;
      case GUMBO_TAG_IMG:
        writer_.Flow(Attribute(node, "alt"));
        return false;
      case GUMBO_TAG_H1:
      case GUMBO_TAG_H2:
      case GUMBO_TAG_H3:
      case GUMBO_TAG_H4:
      case GUMBO_TAG_H5:
      case GUMBO_TAG_H6:
      case GUMBO_TAG_P:
      case GUMBO_TAG_BLOCKQUOTE:
        writer_.Break(2);
        return true;
      case GUMBO_TAG_PRE:
        writer_.Break(2);
        ++pre_depth_;
        return true;
      case GUMBO_TAG_UL:
      case GUMBO_TAG_OL: {
        writer_.Break(lists_.empty() ? 2 : 1);
        ListState list;
        list.ordered = node->v.element.tag == GUMBO_TAG_OL;
        if (list.ordered) {
          const std::string start(Attribute(node, "start"));
          char* end = nullptr;
          const long value = std::strtol(start.c_str(), &end, 10);
          if (!start.empty() && end != nullptr && *end == '\0') list.next = value;
        }
        lists_.push_back(list);
        return true;
      }
      case GUMBO_TAG_LI: {
        const std::string indent(2 * (lists_.empty() ? 0 : lists_.size() - 1), ' ');
        if (!lists_.empty() && lists_.back().ordered) {
          writer_.Marker(indent + std::to_string(lists_.back().next++) + ". ");
        } else {
          writer_.Marker(indent + "- ");
        }
        return true;
      }
      case GUMBO_TAG_TR:
        writer_.Break(1);
        first_cell_.push_back(true);
        return true;
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        if (!first_cell_.empty()) {
          if (!first_cell_.back()) writer_.SoftSpace();
          first_cell_.back() = false;
        }
        return true;
      case GUMBO_TAG_DIV:
      case GUMBO_TAG_TABLE:
      case GUMBO_TAG_SECTION:
      case GUMBO_TAG_ARTICLE:
      case GUMBO_TAG_HEADER:
      case GUMBO_TAG_FOOTER:
      case GUMBO_TAG_NAV:
      case GUMBO_TAG_ASIDE:
      case GUMBO_TAG_MAIN:
      case GUMBO_TAG_FIGURE:
      case GUMBO_TAG_FIGCAPTION:
      case GUMBO_TAG_ADDRESS:
      case GUMBO_TAG_DL:
      case GUMBO_TAG_DT:
      case GUMBO_TAG_DD:
      case GUMBO_TAG_CAPTION:
      case GUMBO_TAG_CENTER:
        writer_.Break(1);
        return true;
      default:
        return true;
    }
  }

  // Writes what comes after an element's children; `start` is the output size before them.
  void Exit(const GumboNode* node, std::size_t start) {
    if (node->type != GUMBO_NODE_ELEMENT) return;
    switch (node->v.element.tag) {
      case GUMBO_TAG_A:
        Link(node, start);
        return;
      case GUMBO_TAG_H1:
      case GUMBO_TAG_H2:
      case GUMBO_TAG_H3:
      case GUMBO_TAG_H4:
      case GUMBO_TAG_H5:
      case GUMBO_TAG_H6:
      case GUMBO_TAG_P:
      case GUMBO_TAG_BLOCKQUOTE:
        writer_.Break(2);
        return;
      case GUMBO_TAG_PRE:
        --pre_depth_;
        writer_.Break(2);
        return;
      case GUMBO_TAG_UL:
      case GUMBO_TAG_OL:
        if (!lists_.empty()) lists_.pop_back();
        writer_.Break(lists_.empty() ? 2 : 1);
        return;
      case GUMBO_TAG_TR:
        if (!first_cell_.empty()) first_cell_.pop_back();
        writer_.Break(1);
        return;
      case GUMBO_TAG_LI:
      case GUMBO_TAG_DIV:
      case GUMBO_TAG_TABLE:
      case GUMBO_TAG_SECTION:
      case GUMBO_TAG_ARTICLE:
      case GUMBO_TAG_HEADER:
      case GUMBO_TAG_FOOTER:
      case GUMBO_TAG_NAV:
      case GUMBO_TAG_ASIDE:
      case GUMBO_TAG_MAIN:
      case GUMBO_TAG_FIGURE:
      case GUMBO_TAG_FIGCAPTION:
      case GUMBO_TAG_ADDRESS:
      case GUMBO_TAG_DL:
      case GUMBO_TAG_DT:
      case GUMBO_TAG_DD:
      case GUMBO_TAG_CAPTION:
      case GUMBO_TAG_CENTER:
        writer_.Break(1);
        return;
      default:
        return;
    }
  }

  void Link(const GumboNode* node, std::size_t start) {
    const std::string_view href = Trim(Attribute(node, "href"));
    if (href.empty() || href.front() == '#' || StartsWithIgnoringCase(href, "javascript:") ||
        StartsWithIgnoringCase(href, "data:")) {
      return;
    }
    const std::string_view text = Trim(writer_.Since(start));
    if (text == href) return;
    if (StartsWithIgnoringCase(href, "mailto:") && text == href.substr(7)) return;
    if (text.empty()) {
      writer_.Append(href);
      return;
    }
    writer_.Append(" (");
    writer_.Append(href);
    writer_.Append(")");
  }

  TextWriter writer_;
  std::vector<ListState> lists_;
  std::vector<bool> first_cell_;  // per open table row: no cell written yet
  int pre_depth_ = 0;
};

struct GumboOutputDeleter {
  void operator()(GumboOutput* output) const {
    gumbo_destroy_output(&kGumboDefaultOptions, output);
  }
};

}  // namespace

std::string HtmlToText(std::string_view html) {
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 0;  // parse errors are repaired, not needed
  std::unique_ptr<GumboOutput, GumboOutputDeleter> output(
      gumbo_parse_with_options(&options, html.data(), html.size()));
  if (!output) return {};
  Renderer renderer;
  return renderer.Render(output->document);
}

}  // namespace treu::messaging
