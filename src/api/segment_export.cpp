#include "api/segment_export.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "ingest/csv_reader.hpp"
#include "segments/binder.hpp"

namespace treu {

using nlohmann::json;

Result<segment::Membership> EvaluateSaved(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                          std::string_view name, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(segment::SegmentLibrary lib, segment::SegmentLibrary::Load(store, ws.id));
  if (!lib.Has(name)) return NotFound("segment " + std::string(name), "no such segment");
  TREU_ASSIGN_OR_RETURN(auto bound, lib.Resolver()(name));
  return segment::EvaluateSegment(store, ws, s, *bound, lib, now);
}

bool WriteSegmentExport(const Snapshot& s, const segment::Membership& m, std::string_view format,
                        const std::function<bool(std::string_view line)>& write) {
  const CustomerTable& t = m.table;
  static constexpr const char* kColumns[] = {"email", "orders_count", "revenue_total", "last_order_at"};
  auto text = [&t](const char* column, std::size_t c) -> std::optional<std::string> {
    const Column* col = t.Find(column);
    if (col == nullptr || col->IsNull(c)) return std::nullopt;
    switch (col->type) {
      case ColumnType::kString: return col->dictionary[static_cast<std::size_t>(col->codes[c])];
      case ColumnType::kTime: return FormatTimestamp(Timestamp{col->times[c]});
      case ColumnType::kBool: return std::string(col->bools[c] == 1 ? "true" : "false");
      default: {
        char buf[32];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, col->numbers[c]);  // shortest form
        return std::string(buf, end);
      }
    }
  };
  if (format == "csv" && !write("customer_id,email,orders_count,revenue_total,last_order_at\n")) return false;
  for (Snapshot::Index c = 0; c < m.members.size(); ++c) {
    if (!m.members[c]) continue;
    std::string line;
    if (format == "csv") {
      AppendCsvField(line, s.external_id(c));
      for (const char* column : kColumns) {
        line += ',';
        if (auto v = text(column, c)) AppendCsvField(line, *v);
      }
    } else {
      json row = {{"customer_id", s.external_id(c)}};
      for (const char* column : kColumns) {
        const Column* col = t.Find(column);
        auto v = text(column, c);
        if (!v) {
          row[column] = nullptr;
        } else if (col->type == ColumnType::kNumber || col->type == ColumnType::kMoney) {
          row[column] = col->numbers[c];
        } else {
          row[column] = *v;
        }
      }
      line = row.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    line += '\n';
    if (!write(line)) return false;
  }
  return true;
}

}  // namespace treu
