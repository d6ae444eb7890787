-- Campaigns (docs/campaigns.md): one-off or scheduled sends of one or more template variants to
-- a segment, with a holdout; each audience member's arm, send time and outcome as recorded at
-- launch (the holdout is measured against later); and each workspace's delivery rules
-- (frequency cap, quiet hours). Plus the lookups of capping (marketing messages by due time)
-- and send-time optimisation (opens and clicks by time).
CREATE TABLE campaigns (
  id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id        BIGINT NOT NULL REFERENCES workspaces(id),
  name                TEXT COLLATE "C" NOT NULL,  -- listed in byte order, as in SQLite
  state               TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'testing', 'done',
                                                     'cancelled')),
  segment             TEXT NOT NULL,
  where_expr          TEXT NOT NULL,
  variants            TEXT NOT NULL,  -- "<weight>:<template name>" per variant, joined by ","
  holdout_permille    BIGINT NOT NULL,
  test_permille       BIGINT NOT NULL,
  winner_metric       TEXT NOT NULL,
  test_window         BIGINT NOT NULL,
  winner              BIGINT NOT NULL,  -- -1: none yet
  split_key           TEXT NOT NULL,
  send_at             BIGINT,
  local_time          TEXT NOT NULL,
  optimize_send_time  BIGINT NOT NULL,
  goal_window         BIGINT NOT NULL,
  last_error          TEXT NOT NULL,
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL,
  launched_at         BIGINT,
  test_ends_at        BIGINT,
  finished_at         BIGINT,
  UNIQUE (workspace_id, name)
);
-- The scheduler's look for due campaigns (few rows per state).
CREATE INDEX campaigns_by_state ON campaigns (state, workspace_id);
CREATE TABLE campaign_members (
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  campaign_id   BIGINT NOT NULL REFERENCES campaigns(id),
  customer_id   BIGINT NOT NULL REFERENCES customers(id),
  arm           BIGINT NOT NULL,  -- a variant's index; -1 held out; -2 waiting for the winner
  due           BIGINT NOT NULL,
  outcome       TEXT NOT NULL,
  PRIMARY KEY (campaign_id, customer_id)
);
CREATE TABLE delivery_rules (
  workspace_id  BIGINT PRIMARY KEY REFERENCES workspaces(id),
  cap_messages  BIGINT NOT NULL,
  cap_window    BIGINT NOT NULL,
  quiet_start   TEXT NOT NULL,
  quiet_end     TEXT NOT NULL,
  updated_at    BIGINT NOT NULL
);
CREATE INDEX outbox_marketing_by_due ON outbox (workspace_id, next_attempt_at) WHERE category = 'marketing';
CREATE INDEX message_log_engagements ON message_log (workspace_id, at) WHERE kind IN ('opened', 'clicked');
