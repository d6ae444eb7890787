// Test and benchmark support: the win-back journey of docs/journeys.md as JSON text.
// Header-only, included by *_test.cpp and bench/journeys only.
#pragma once

namespace treu::journeys::testing {

inline constexpr const char* kWinback = R"({
  "name": "winback",
  "trigger": {"type": "segment_entered", "segment": "at_risk"},
  "reentry": {"mode": "after_exit", "after_days": 90},
  "goal": {"event": "Order Completed", "within_days": 30},
  "start": "offer",
  "steps": [
    {"id": "offer", "type": "send", "template": "winback", "next": "wait1"},
    {"id": "wait1", "type": "wait", "days": 7, "next": "check"},
    {"id": "check", "type": "branch", "if": "orders_count > 3", "then": "done", "else": "bonus"},
    {"id": "bonus", "type": "grant_points", "points": 200, "reason": "winback", "next": "push"},
    {"id": "push", "type": "send", "template": "winback-push", "next": "wait2"},
    {"id": "wait2", "type": "wait_for_event", "event": "Order Completed", "timeout_days": 7, "next": "done", "timeout_next": "survey"},
    {"id": "survey", "type": "send", "template": "nps-invite", "next": "done"},
    {"id": "done", "type": "exit"}
  ]
})";

}  // namespace treu::journeys::testing
