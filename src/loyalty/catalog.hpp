// Saving the program and the reward catalogue from their JSON forms (the REST bodies and the
// CLI's files), and the JSON form of rewards.
//
// A reward: {"title": "5 € off", "kind": "discount", "points": 500, "stock": 100,
//            "tiers": ["gold"], "segment": "vip", "active": true,
//            "details": {"amount": "5.00"}}
// kind is one of discount, free_product, voucher (one code of the reward's pool per
// redemption: POST …/codes), experience; stock is optional (none: unlimited); details is any
// JSON object handed back with every redemption.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "loyalty/program.hpp"
#include "storage/store.hpp"

namespace treu::loyalty {

// Checks the definition (ProgramFromJson) and stores it as the workspace's program. Without
// "starts_at" the program keeps the start it has, or (a new program) starts `now`.
Result<LoyaltyProgramRecord> SaveProgram(Store& store, const Workspace& ws, const nlohmann::json& definition,
                                         Timestamp now);
// Replaces some top-level members of the stored program (`names`: the ones a caller may
// change, e.g. rules and multipliers) and stores it as SaveProgram does. InvalidArgument for
// other members; NotFound when there is no program yet.
Result<LoyaltyProgramRecord> SaveProgramParts(Store& store, const Workspace& ws, const nlohmann::json& parts,
                                              const std::vector<std::string>& names, Timestamp now);
// The stored program in its JSON form, with created_at and updated_at.
nlohmann::json ProgramRecordJson(const LoyaltyProgramRecord& r);

// Checks a reward's JSON form and stores it under `name` (created or replaced).
// InvalidArgument naming the member.
Result<LoyaltyReward> SaveReward(Store& store, WorkspaceId ws, std::string_view name, const nlohmann::json& body,
                                 Timestamp now);
nlohmann::json RewardJson(const LoyaltyReward& r);

// A member's row as JSON (balances, tier, referral), with the customer's external id.
nlohmann::json MemberJson(const LoyaltyMember& m, std::string_view customer_id);
nlohmann::json TransferJson(const LoyaltyTransferRecord& t);
nlohmann::json RedemptionJson(const LoyaltyRedemption& r, std::string_view customer_id, const LoyaltyReward& reward);

}  // namespace treu::loyalty
