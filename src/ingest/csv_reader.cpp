#include "ingest/csv_reader.hpp"

#include <csv.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace treu {
namespace {

struct ParseState {
  std::vector<std::string> fields;
  std::size_t nfields = 0;
  std::int64_t record_line = 0;  // line the current record started on
  std::int64_t current_line = 0;
  const std::function<Status(std::vector<std::string>&, std::int64_t)>* on_record = nullptr;
  Status status;  // first error from on_record
};

void OnField(void* data, std::size_t len, void* user) {
  auto* st = static_cast<ParseState*>(user);
  if (st->nfields == st->fields.size()) st->fields.emplace_back();
  std::string& f = st->fields[st->nfields++];
  if (data == nullptr) {
    f.clear();
  } else {
    f.assign(static_cast<const char*>(data), len);
  }
}

void OnRecord(int /*terminator*/, void* user) {
  auto* st = static_cast<ParseState*>(user);
  st->fields.resize(st->nfields);
  if (st->status && st->nfields > 0) st->status = (*st->on_record)(st->fields, st->record_line);
  st->nfields = 0;
}

}  // namespace

Status ReadCsvFile(const std::string& path,
                   const std::function<Status(std::vector<std::string>&, std::int64_t)>& on_record,
                   const std::function<void(std::int64_t, std::int64_t)>& on_bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return InvalidArgument(path, std::string("can't open: ") + std::strerror(errno));
  std::int64_t total = 0;
  struct stat sb {};
  if (::fstat(fileno(file.get()), &sb) == 0 && S_ISREG(sb.st_mode)) total = sb.st_size;

  csv_parser parser{};
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
    return Internal("csv", "out of memory");
  }
  std::unique_ptr<csv_parser, void (*)(csv_parser*)> guard(&parser, &csv_free);

  ParseState st;
  st.on_record = &on_record;
  constexpr std::size_t kChunk = 1 << 20;
  std::vector<char> buf(kChunk);
  std::string carry;  // an incomplete line from the previous chunk
  std::int64_t read_total = 0;
  bool first = true;

  auto feed_line = [&](const char* p, std::size_t n) -> Status {
    ++st.current_line;
    // libcsv's state 0 is "row not begun": a record that continues starts on this line.
    if (parser.pstate == 0) st.record_line = st.current_line;
    if (csv_parse(&parser, p, n, OnField, OnRecord, &st) != n) {
      return InvalidArgument(path + ":" + std::to_string(st.current_line),
                             std::string("malformed CSV: ") + csv_strerror(csv_error(&parser)) +
                                 " (a quote inside a field must be doubled and the field quoted)");
    }
    return st.status;
  };

  while (true) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), file.get());
    if (n == 0) break;
    std::size_t start = 0;
    if (first) {
      first = false;
      if (n >= 3 && static_cast<unsigned char>(buf[0]) == 0xEF &&
          static_cast<unsigned char>(buf[1]) == 0xBB && static_cast<unsigned char>(buf[2]) == 0xBF) {
        start = 3;
      }
    }
    read_total += static_cast<std::int64_t>(n);
    std::size_t pos = start;
    while (pos < n) {
      const void* nl = std::memchr(buf.data() + pos, '\n', n - pos);
      if (nl == nullptr) {
        carry.append(buf.data() + pos, n - pos);
        break;
      }
      const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data()) + 1;
      if (!carry.empty()) {
        carry.append(buf.data() + pos, end - pos);
        TREU_RETURN_IF_ERROR(feed_line(carry.data(), carry.size()));
        carry.clear();
      } else {
        TREU_RETURN_IF_ERROR(feed_line(buf.data() + pos, end - pos));
      }
      pos = end;
    }
    if (on_bytes) on_bytes(read_total, total);
  }
  if (std::ferror(file.get())) {
    return InvalidArgument(path, std::string("read error: ") + std::strerror(errno));
  }
  if (!carry.empty()) TREU_RETURN_IF_ERROR(feed_line(carry.data(), carry.size()));
  if (csv_fini(&parser, OnField, OnRecord, &st) != 0) {
    return InvalidArgument(path + ":" + std::to_string(st.current_line),
                           "malformed CSV: the file ends inside a quoted field");
  }
  return st.status;
}

void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos &&
      (field.empty() || (field.front() != ' ' && field.back() != ' '))) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace treu
