-- The closed loop of surveys (docs/surveys.md, "Follow-ups"): one follow-up item per detractor
-- response, worked through open → assigned → done, and its webhook notification, retried
-- until delivered. Workspaces may allow webhooks to private addresses and set a brand colour.
ALTER TABLE workspaces ADD COLUMN allow_private_webhooks INTEGER NOT NULL DEFAULT 0;
-- The colour of the workspace's survey pages and email scales, "#RRGGBB"; '' for treu's own.
ALTER TABLE workspaces ADD COLUMN brand_colour TEXT NOT NULL DEFAULT '';
-- Each response's NPS score and category (by its survey's thresholds), for the segment fields
-- nps_last_score and nps_category.
ALTER TABLE survey_responses ADD COLUMN nps_score INTEGER;
ALTER TABLE survey_responses ADD COLUMN nps_category TEXT NOT NULL DEFAULT '';
CREATE TABLE followups (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id     BIGINT NOT NULL REFERENCES workspaces(id),
  survey_id        BIGINT NOT NULL REFERENCES surveys(id),
  customer_id      BIGINT NOT NULL REFERENCES customers(id),
  nonce            BIGINT NOT NULL,
  score            INTEGER NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'done')),
  assignee         TEXT NOT NULL,
  note             TEXT NOT NULL,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  webhook_url      TEXT NOT NULL,
  notify_state     TEXT NOT NULL CHECK (notify_state IN ('none', 'pending', 'sent', 'failed')),
  notify_attempts  INTEGER NOT NULL,
  notify_next_at   BIGINT NOT NULL,
  notify_error     TEXT NOT NULL,
  UNIQUE (survey_id, nonce)
);
CREATE INDEX followups_by_status ON followups (workspace_id, status, id);
CREATE INDEX followups_to_notify ON followups (notify_state, notify_next_at);
