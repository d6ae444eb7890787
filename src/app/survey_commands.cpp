#include "app/survey_commands.hpp"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/survey_json.hpp"

namespace treu::app {
namespace {

using nlohmann::json;

struct SurveyFlags {
  std::string action;
  std::vector<std::string> args;
  bool replace = false, json = false;
};

int Create(Context& ctx, const std::string& file, bool replace) {
  std::ifstream in(file);
  if (!in) return Fail(Error(ErrorCode::kNotFound, file, "can't open the file"));
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return Fail(Error(ErrorCode::kInvalidArgument, file, "is not valid JSON"));
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = ctx.EnsureWorkspace(**store);
  if (!ws) return Fail(ws.error());
  auto saved = SaveSurveyDefinition(**store, ws->id, j, replace, ctx.clock.Now());
  if (!saved) {
    if (saved.error().code() == ErrorCode::kAlreadyExists) {
      return Fail(Error(ErrorCode::kAlreadyExists, file, saved.error().detail() + " (use --replace to change it)"));
    }
    return Fail(saved.error().WithContext(file));
  }
  std::printf("%s survey %s (id %lld)\n", replace ? "saved" : "created", saved->name.c_str(),
              static_cast<long long>(saved->id));
  return 0;
}

int List(Context& ctx, bool as_json) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = (*store)->FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  auto all = (*store)->ListSurveys(ws->id);
  if (!all) return Fail(all.error());
  json out = json::array();
  for (const SurveyRecord& r : *all) {
    auto s = SurveyOf(r);
    if (!s) return Fail(s.error());
    if (as_json) {
      json j = SurveyToJson(*s);
      j["id"] = r.id;
      out.push_back(j);
      continue;
    }
    std::printf("%-6lld %-32s %-13s %zu question%s\n", static_cast<long long>(r.id), r.name.c_str(),
                std::string(survey::SurveyKindName(s->kind)).c_str(), s->questions.size(),
                s->questions.size() == 1 ? "" : "s");
  }
  if (as_json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int Show(Context& ctx, const std::string& name) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = (*store)->FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  auto found = (*store)->FindSurvey(ws->id, name);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(Error(ErrorCode::kNotFound, "survey " + name, "no such survey"));
  auto s = SurveyOf(**found);
  if (!s) return Fail(s.error());
  json j = SurveyToJson(*s);
  j["id"] = (*found)->id;
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

}  // namespace

std::function<int()> SetupSurvey(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<SurveyFlags>();
  cmd.add_option("ACTION", f->action, "create FILE (a survey definition in JSON, docs/surveys.md), list, show NAME")
      ->required()
      ->check(CLI::IsMember({"create", "list", "show"}));
  cmd.add_option("ARGS", f->args, "FILE or NAME");
  cmd.add_flag("--replace", f->replace, "create: replace the survey of the same name");
  cmd.add_flag("--json", f->json, "list: JSON");
  return [f, &ctx]() -> int {
    const std::size_t want = f->action == "list" ? 0 : 1;
    if (f->args.size() != want) {
      return Fail(Error(ErrorCode::kInvalidArgument, "survey " + f->action,
                        want == 0 ? "takes no arguments" : f->action == "create" ? "takes FILE" : "takes NAME"));
    }
    if (f->action == "create") return Create(ctx, f->args[0], f->replace);
    if (f->action == "list") return List(ctx, f->json);
    return Show(ctx, f->args[0]);
  };
}

}  // namespace treu::app
