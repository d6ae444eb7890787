// The JSON form of a journey definition (docs/journeys.md): the body the API and the CLI will
// take, and how the store will keep it.
//
// Reading collects every error rather than stopping at the first: unknown members (a typo is
// never dropped silently), missing and mistyped members, then ValidateJourney's checks of
// values, ids, targets, reachability and loops. Each error's context names the member with
// dots ("steps.2.tempalte", "trigger.segment", "reentry"), which HTTP problem details turn
// into a JSON pointer ("/steps/2/tempalte"). Errors ValidateJourney would report about a
// member the JSON already got wrong are left out, and the graph checks run only on input
// without such errors.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "journeys/definition.hpp"

namespace treu::journeys {

// Every error of the input (never empty on failure), all InvalidArgument.
using JourneyErrors = std::vector<Error>;

std::expected<JourneyDefinition, JourneyErrors> ParseJourneyJson(const nlohmann::json& j);
// From text; a syntax error has the context "" and names the byte offset.
std::expected<JourneyDefinition, JourneyErrors> ParseJourneyText(std::string_view text);
// The first error only.
Result<JourneyDefinition> JourneyFromJson(const nlohmann::json& j);

// The canonical JSON form: every member written the same way whatever the input spelled
// (defaults filled in, optional members left out when unset), so that
// ParseJourneyJson(JourneyToJson(d)) == d.
nlohmann::json JourneyToJson(const JourneyDefinition& def);
// JourneyToJson as text: compact (indent < 0) or indented, members in sorted order.
std::string FormatJourneyJson(const JourneyDefinition& def, int indent = -1);

// SHA-256 of the compact canonical text, as 64 lower-case hex digits: equal for structurally
// equal definitions however their JSON was spelled, so saving an unchanged definition can keep
// its version.
std::string DefinitionHash(const JourneyDefinition& def);

}  // namespace treu::journeys
