-- A campaign member whose message is planned but not yet rendered into the outbox
-- (docs/decisions/0006): the launch records it, and the campaign materialiser renders and
-- enqueues it shortly before it is due. Partial indexes find a campaign's planned members in
-- due order (the materialiser) and a workspace's in a span of time (the frequency cap).
ALTER TABLE campaign_members ADD COLUMN planned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX campaign_members_planned ON campaign_members (campaign_id, due) WHERE planned = 1;
CREATE INDEX campaign_members_planned_by_time ON campaign_members (workspace_id, due) WHERE planned = 1;
