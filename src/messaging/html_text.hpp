// The plain-text alternative of an HTML email, for clients and filters that read text/plain.
#pragma once

#include <string>
#include <string_view>

namespace treu::messaging {

// Readable text of an HTML document or fragment, parsed as browsers parse it (libgumbo, the
// HTML5 algorithm; entities decoded, broken markup repaired):
//   - headings, paragraphs, divs, table rows and list items start new lines; headings and
//     paragraphs are set off by a blank line; <br> breaks the line; <hr> becomes "----";
//   - list items read "- item" in <ul> and "1. item" in <ol> (respecting start=), nested
//     lists indented by two spaces;
//   - links read "text (url)", only "url" when the text is the URL itself (also for mailto:
//     links showing their address), only "text" for javascript: and fragment links;
//   - images give their alt text; table cells of a row are separated by a space;
//   - <script>, <style>, <head>, <template> and <noscript> are skipped; <pre> keeps its
//     white space;
//   - white space elsewhere collapses to single spaces, trailing spaces of lines are dropped
//     and there is never more than one blank line in a row.
// Lines end in "\n"; the result has no leading or trailing blank lines. Thread-safe.
std::string HtmlToText(std::string_view html);

}  // namespace treu::messaging
