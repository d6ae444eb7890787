-- One customer's events, segment entries and exits, and survey answers (the customer page's
-- timeline) without scanning the workspace's.
CREATE INDEX events_by_user ON events (workspace_id, user_id, id);
CREATE INDEX segment_transitions_by_customer ON segment_transitions (workspace_id, customer_id, id);
CREATE INDEX survey_responses_by_customer ON survey_responses (workspace_id, customer_id, id);
-- The loyalty report's pass over every transfer reads this index alone, not the table.
CREATE INDEX loyalty_transfers_flows ON loyalty_transfers (workspace_id, kind, from_account, at, points);
