-- Campaigns (docs/campaigns.md): one-off or scheduled sends of one or more template variants to
-- a segment, with a holdout; each audience member's arm, send time and outcome as recorded at
-- launch (the holdout is measured against later); and each workspace's delivery rules
-- (frequency cap, quiet hours). Plus the lookups of capping (marketing messages by due time)
-- and send-time optimisation (opens and clicks by time).
CREATE TABLE campaigns (
  id                  INTEGER PRIMARY KEY,
  workspace_id        INTEGER NOT NULL REFERENCES workspaces(id),
  name                TEXT NOT NULL,
  state               TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'testing', 'done',
                                                     'cancelled')),
  segment             TEXT NOT NULL,
  where_expr          TEXT NOT NULL,
  variants            TEXT NOT NULL,  -- "<weight>:<template name>" per variant, joined by ","
  holdout_permille    INTEGER NOT NULL,
  test_permille       INTEGER NOT NULL,
  winner_metric       TEXT NOT NULL,
  test_window         INTEGER NOT NULL,
  winner              INTEGER NOT NULL,  -- -1: none yet
  split_key           TEXT NOT NULL,
  send_at             INTEGER,
  local_time          TEXT NOT NULL,
  optimize_send_time  INTEGER NOT NULL,
  goal_window         INTEGER NOT NULL,
  last_error          TEXT NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  launched_at         INTEGER,
  test_ends_at        INTEGER,
  finished_at         INTEGER,
  UNIQUE (workspace_id, name)
);
-- The scheduler's look for due campaigns (few rows per state).
CREATE INDEX campaigns_by_state ON campaigns (state, workspace_id);
CREATE TABLE campaign_members (
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  arm           INTEGER NOT NULL,  -- a variant's index; -1 held out; -2 waiting for the winner
  due           INTEGER NOT NULL,
  outcome       TEXT NOT NULL,
  PRIMARY KEY (campaign_id, customer_id)
) WITHOUT ROWID;
CREATE TABLE delivery_rules (
  workspace_id  INTEGER PRIMARY KEY REFERENCES workspaces(id),
  cap_messages  INTEGER NOT NULL,
  cap_window    INTEGER NOT NULL,
  quiet_start   TEXT NOT NULL,
  quiet_end     TEXT NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX outbox_marketing_by_due ON outbox (workspace_id, next_attempt_at) WHERE category = 'marketing';
CREATE INDEX message_log_engagements ON message_log (workspace_id, at) WHERE kind IN ('opened', 'clicked');
