#include "api/segment_json.hpp"

#include <array>
#include <cmath>
#include <utility>

#include "segments/parser.hpp"

namespace treu {

using segment::Duration;
using segment::Expr;
using segment::ExprKind;
using segment::ExprPtr;
using segment::Op;

namespace {

constexpr std::array<std::pair<ExprKind, std::string_view>, 15> kKindNames = {{
    {ExprKind::kField, "field"},     {ExprKind::kNumber, "number"},   {ExprKind::kString, "string"},
    {ExprKind::kBool, "bool"},       {ExprKind::kDuration, "duration"}, {ExprKind::kNow, "now"},
    {ExprKind::kList, "list"},       {ExprKind::kCompare, "compare"}, {ExprKind::kArith, "arith"},
    {ExprKind::kAnd, "and"},         {ExprKind::kOr, "or"},           {ExprKind::kNot, "not"},
    {ExprKind::kIsNull, "is_null"},  {ExprKind::kCount, "count"},     {ExprKind::kInSegment, "in_segment"},
}};

std::string_view KindName(ExprKind kind) {
  for (auto [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "";
}

nlohmann::json DurationJson(const Duration& d) {
  return {{"amount", d.amount}, {"unit", std::string(segment::DurationUnitSuffix(d.unit))}};
}

}  // namespace

nlohmann::json SegmentToJson(const Expr& e) {
  nlohmann::json j;
  j["kind"] = std::string(KindName(e.kind));
  if (e.pos.line > 0) j["pos"] = {e.pos.line, e.pos.column};
  switch (e.kind) {
    case ExprKind::kField: j["name"] = e.text; break;
    case ExprKind::kNumber: j["value"] = e.number; break;
    case ExprKind::kString: j["value"] = e.text; break;
    case ExprKind::kBool: j["value"] = e.boolean; break;
    case ExprKind::kDuration:
      j["amount"] = e.duration.amount;
      j["unit"] = std::string(segment::DurationUnitSuffix(e.duration.unit));
      break;
    case ExprKind::kNow: break;
    case ExprKind::kList: {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& item : e.children) items.push_back(SegmentToJson(*item));
      j["items"] = std::move(items);
      break;
    }
    case ExprKind::kCompare:
    case ExprKind::kArith:
      j["op"] = std::string(segment::OpSpelling(e.op));
      [[fallthrough]];
    case ExprKind::kAnd:
    case ExprKind::kOr:
      j["left"] = SegmentToJson(*e.children[0]);
      j["right"] = SegmentToJson(*e.children[1]);
      break;
    case ExprKind::kNot: j["operand"] = SegmentToJson(*e.children[0]); break;
    case ExprKind::kIsNull:
      j["operand"] = SegmentToJson(*e.children[0]);
      j["negated"] = e.negated;
      break;
    case ExprKind::kCount:
      j["event"] = e.text;
      if (e.within) j["within"] = DurationJson(*e.within);
      if (!e.children.empty()) j["where"] = SegmentToJson(*e.children[0]);
      break;
    case ExprKind::kInSegment: j["name"] = e.text; break;
  }
  return j;
}

namespace {

class Reader {
 public:
  Result<ExprPtr> Read(const nlohmann::json& j, const std::string& ptr, bool list_allowed) {
    if (++nodes_ > segment::kMaxNodes) return Fail(ptr, "expression too large");
    if (++depth_ > segment::kMaxTreeDepth) return Fail(ptr, "expression nested too deeply");
    auto result = ReadNode(j, ptr, list_allowed);
    --depth_;
    return result;
  }

 private:
  static std::unexpected<Error> Fail(const std::string& ptr, std::string message) {
    return InvalidArgument("segment json", (ptr.empty() ? std::string("/") : ptr) + ": " + message);
  }

  static Result<const nlohmann::json*> Member(const nlohmann::json& j, const std::string& ptr, std::string_view key) {
    auto it = j.find(key);
    if (it == j.end()) return Fail(ptr, "missing '" + std::string(key) + "'");
    return &*it;
  }

  static Result<std::string> String(const nlohmann::json& j, const std::string& ptr, std::string_view key) {
    TREU_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(j, ptr, key));
    if (!v->is_string()) return Fail(ptr + "/" + std::string(key), "expected a string");
    return v->get<std::string>();
  }

  static Result<Duration> ReadDuration(const nlohmann::json& j, const std::string& ptr) {
    if (!j.is_object()) return Fail(ptr, "expected an object");
    TREU_ASSIGN_OR_RETURN(const nlohmann::json* amount, Member(j, ptr, "amount"));
    if (!amount->is_number_integer() || amount->get<std::int64_t>() < 0 || amount->get<std::int64_t>() > 100'000) {
      return Fail(ptr + "/amount", "expected a whole number from 0 to 100000");
    }
    TREU_ASSIGN_OR_RETURN(std::string unit_name, String(j, ptr, "unit"));
    auto unit = segment::DurationUnitFromSuffix(unit_name);
    if (!unit) return Fail(ptr + "/unit", "unknown duration unit '" + unit_name + "' (use h, d, w, mo or y)");
    return Duration{amount->get<std::int64_t>(), *unit};
  }

  Result<ExprPtr> Child(const nlohmann::json& j, const std::string& ptr, std::string_view key, bool list_allowed = false) {
    TREU_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(j, ptr, key));
    return Read(*v, ptr + "/" + std::string(key), list_allowed);
  }

  Result<ExprPtr> ReadNode(const nlohmann::json& j, const std::string& ptr, bool list_allowed) {
    if (!j.is_object()) return Fail(ptr, "expected an object");
    TREU_ASSIGN_OR_RETURN(std::string kind_name, String(j, ptr, "kind"));
    std::optional<ExprKind> kind;
    for (auto [k, name] : kKindNames) {
      if (name == kind_name) kind = k;
    }
    if (!kind) return Fail(ptr + "/kind", "unknown kind '" + kind_name + "'");
    segment::Pos pos;
    if (auto it = j.find("pos"); it != j.end()) {
      const auto& p = *it;
      if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer() ||
          p[0].get<std::int64_t>() < 0 || p[1].get<std::int64_t>() < 0 || p[0].get<std::int64_t>() > 1'000'000 ||
          p[1].get<std::int64_t>() > 1'000'000) {
        return Fail(ptr + "/pos", "expected [line, column]");
      }
      pos = {p[0].get<int>(), p[1].get<int>()};
    }
    switch (*kind) {
      case ExprKind::kField: {
        TREU_ASSIGN_OR_RETURN(std::string name, String(j, ptr, "name"));
        if (!segment::IsValidFieldName(name)) return Fail(ptr + "/name", "invalid field name '" + name + "'");
        return segment::MakeField(std::move(name), pos);
      }
      case ExprKind::kNumber: {
        TREU_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(j, ptr, "value"));
        if (!v->is_number() || !std::isfinite(v->get<double>())) return Fail(ptr + "/value", "expected a finite number");
        return segment::MakeNumber(v->get<double>(), pos);
      }
      case ExprKind::kString: {
        TREU_ASSIGN_OR_RETURN(std::string value, String(j, ptr, "value"));
        return segment::MakeString(std::move(value), pos);
      }
      case ExprKind::kBool: {
        TREU_ASSIGN_OR_RETURN(const nlohmann::json* v, Member(j, ptr, "value"));
        if (!v->is_boolean()) return Fail(ptr + "/value", "expected true or false");
        return segment::MakeBool(v->get<bool>(), pos);
      }
      case ExprKind::kDuration: {
        TREU_ASSIGN_OR_RETURN(Duration d, ReadDuration(j, ptr));
        return segment::MakeDuration(d, pos);
      }
      case ExprKind::kNow: return segment::MakeNow(pos);
      case ExprKind::kList: {
        if (!list_allowed) return Fail(ptr, "a list is only allowed as the right side of 'in'");
        TREU_ASSIGN_OR_RETURN(const nlohmann::json* items, Member(j, ptr, "items"));
        if (!items->is_array()) return Fail(ptr + "/items", "expected an array");
        std::vector<ExprPtr> out;
        for (std::size_t i = 0; i < items->size(); ++i) {
          TREU_ASSIGN_OR_RETURN(ExprPtr item, Read((*items)[i], ptr + "/items/" + std::to_string(i), false));
          out.push_back(std::move(item));
        }
        return segment::MakeList(std::move(out), pos);
      }
      case ExprKind::kCompare:
      case ExprKind::kArith: {
        TREU_ASSIGN_OR_RETURN(std::string op_name, String(j, ptr, "op"));
        static constexpr Op kCompareOps[] = {Op::kEq, Op::kNe, Op::kLt, Op::kLe, Op::kGt, Op::kGe,
                                             Op::kIn, Op::kContains, Op::kStartsWith, Op::kMatches};
        static constexpr Op kArithOps[] = {Op::kAdd, Op::kSub};
        std::optional<Op> op;
        if (*kind == ExprKind::kCompare) {
          for (Op o : kCompareOps) if (segment::OpSpelling(o) == op_name) op = o;
        } else {
          for (Op o : kArithOps) if (segment::OpSpelling(o) == op_name) op = o;
        }
        if (!op) return Fail(ptr + "/op", "unknown operator '" + op_name + "'");
        TREU_ASSIGN_OR_RETURN(ExprPtr left, Child(j, ptr, "left"));
        TREU_ASSIGN_OR_RETURN(ExprPtr right, Child(j, ptr, "right", *op == Op::kIn));
        if (*op == Op::kIn && right->kind != ExprKind::kList) return Fail(ptr + "/right", "expected a list after 'in'");
        return segment::MakeBinary(*kind, *op, std::move(left), std::move(right), pos);
      }
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        TREU_ASSIGN_OR_RETURN(ExprPtr left, Child(j, ptr, "left"));
        TREU_ASSIGN_OR_RETURN(ExprPtr right, Child(j, ptr, "right"));
        return segment::MakeBinary(*kind, Op::kNone, std::move(left), std::move(right), pos);
      }
      case ExprKind::kNot: {
        TREU_ASSIGN_OR_RETURN(ExprPtr operand, Child(j, ptr, "operand"));
        return segment::MakeNot(std::move(operand), pos);
      }
      case ExprKind::kIsNull: {
        TREU_ASSIGN_OR_RETURN(ExprPtr operand, Child(j, ptr, "operand"));
        bool negated = false;
        if (auto it = j.find("negated"); it != j.end()) {
          if (!it->is_boolean()) return Fail(ptr + "/negated", "expected true or false");
          negated = it->get<bool>();
        }
        return segment::MakeIsNull(std::move(operand), negated, pos);
      }
      case ExprKind::kCount: {
        TREU_ASSIGN_OR_RETURN(std::string event, String(j, ptr, "event"));
        std::optional<Duration> within;
        if (auto it = j.find("within"); it != j.end()) {
          TREU_ASSIGN_OR_RETURN(Duration d, ReadDuration(*it, ptr + "/within"));
          within = d;
        }
        ExprPtr where;
        if (j.contains("where")) {
          TREU_ASSIGN_OR_RETURN(where, Child(j, ptr, "where"));
        }
        return segment::MakeCount(std::move(event), within, std::move(where), pos);
      }
      case ExprKind::kInSegment: {
        TREU_ASSIGN_OR_RETURN(std::string name, String(j, ptr, "name"));
        return segment::MakeInSegment(std::move(name), pos);
      }
    }
    return Fail(ptr, "unknown kind");
  }

  int nodes_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<ExprPtr> SegmentFromJson(const nlohmann::json& j) {
  TREU_ASSIGN_OR_RETURN(ExprPtr e, Reader().Read(j, "", false));
  // The text form is the reference: a tree whose canonical text the parser refuses (nested
  // deeper than the parser allows) is refused here too.
  std::string text = segment::PrintSegment(*e);
  if (auto parsed = segment::ParseSegment(text); !parsed) {
    const std::string& detail = parsed.error().detail();
    return InvalidArgument("segment json", "/: " + detail.substr(0, detail.find('\n')));
  }
  return e;
}

}  // namespace treu
