// The journeys in presets/journeys/ parse and validate, and are what docs/journeys.md says.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "journeys/definition_json.hpp"

namespace treu::journeys {
namespace {

JourneyDefinition Preset(const std::string& file) {
  std::ifstream in(std::filesystem::path(TREU_PRESETS_DIR) / file);
  EXPECT_TRUE(in.good()) << file;
  std::stringstream text;
  text << in.rdbuf();
  auto def = ParseJourneyText(text.str());
  EXPECT_TRUE(def.has_value()) << file << ": " << (def ? "" : def.error().front().ToString());
  return def.value_or(JourneyDefinition{});
}

TEST(PresetTest, EveryPresetIsAValidJourney) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TREU_PRESETS_DIR)) {
    const JourneyDefinition def = Preset(entry.path().filename().string());
    EXPECT_TRUE(CheckJourney(def)) << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 4);
}

TEST(PresetTest, TheTriggersAreTheDocumentedOnes) {
  EXPECT_EQ(Preset("winback.json").trigger.segment, "at_risk");
  EXPECT_EQ(Preset("winback.json").goal.event, "Order Completed");
  EXPECT_EQ(Preset("welcome.json").trigger.segment, "new");
  const Trigger nps = Preset("nps-detractor.json").trigger;
  EXPECT_EQ(nps.type, TriggerType::kSurveyAnswer);
  EXPECT_EQ(nps.max_score, 6);
  const Trigger renewal = Preset("renewal-reminder.json").trigger;
  EXPECT_EQ(renewal.type, TriggerType::kDate);
  EXPECT_EQ(renewal.attribute, "renewal_date");
  EXPECT_EQ(renewal.offset_days, -7);
}

}  // namespace
}  // namespace treu::journeys
