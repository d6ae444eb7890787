-- Loyalty (docs/loyalty.md): each workspace's program, the append-only points ledger, each
-- member's state as the ledger derives it, tier changes, the reward catalogue with the code
-- pools of voucher rewards, and redemptions. The ledger's rows are written under the
-- workspace's write lock, so seqs increase in commit order within a workspace.
CREATE TABLE loyalty_programs (
  workspace_id   INTEGER PRIMARY KEY REFERENCES workspaces(id),
  definition     TEXT NOT NULL,
  -- change-log rows up to this seq have been earned on
  processed_seq  INTEGER NOT NULL CHECK (processed_seq >= 0),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
-- Never updated or deleted. Accounts by name ("issuance", "wallet:42", ...).
CREATE TABLE loyalty_transfers (
  seq            INTEGER PRIMARY KEY,
  workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
  customer_id    INTEGER NOT NULL REFERENCES customers(id),
  id             TEXT NOT NULL CHECK (id <> ''),
  kind           TEXT NOT NULL CHECK (kind <> ''),
  from_account   TEXT NOT NULL,
  to_account     TEXT NOT NULL,
  points         INTEGER NOT NULL CHECK (points > 0),
  requested      INTEGER NOT NULL CHECK (requested >= 0),
  reason         TEXT NOT NULL,
  source_kind    TEXT NOT NULL,
  source_ref     TEXT NOT NULL,
  admin_user_id  INTEGER,
  at             INTEGER NOT NULL,
  refers_to      TEXT NOT NULL,
  expires_at     INTEGER,
  pending_until  INTEGER,
  UNIQUE (workspace_id, id)
);
CREATE INDEX loyalty_transfers_by_seq ON loyalty_transfers (workspace_id, seq);
CREATE INDEX loyalty_transfers_by_customer ON loyalty_transfers (workspace_id, customer_id, seq);
CREATE INDEX loyalty_transfers_by_time ON loyalty_transfers (workspace_id, at);
-- referral_code: '' until the member asks for one; referred_by: NULL when not referred.
CREATE TABLE loyalty_members (
  workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
  customer_id     INTEGER NOT NULL REFERENCES customers(id),
  available       INTEGER NOT NULL CHECK (available >= 0),
  pending         INTEGER NOT NULL CHECK (pending >= 0),
  held            INTEGER NOT NULL CHECK (held >= 0),
  earned          INTEGER NOT NULL,
  redeemed        INTEGER NOT NULL,
  transfers       INTEGER NOT NULL CHECK (transfers >= 0),
  tier            TEXT NOT NULL,
  tier_since      INTEGER NOT NULL,
  tier_review_at  INTEGER,
  next_due_at     INTEGER,
  referral_code   TEXT NOT NULL,
  referred_by     INTEGER REFERENCES customers(id),
  enrolled_at     INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, customer_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX loyalty_members_by_referral_code ON loyalty_members (workspace_id, referral_code)
  WHERE referral_code <> '';
CREATE INDEX loyalty_members_due ON loyalty_members (workspace_id, next_due_at);
CREATE TABLE loyalty_tier_changes (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  from_tier     TEXT NOT NULL,
  to_tier       TEXT NOT NULL,
  at            INTEGER NOT NULL,
  reason        TEXT NOT NULL CHECK (reason IN ('upgrade', 'review'))
);
CREATE INDEX loyalty_tier_changes_by_customer ON loyalty_tier_changes (workspace_id, customer_id, at);
CREATE INDEX loyalty_tier_changes_by_time ON loyalty_tier_changes (workspace_id, at);
-- stock: what is left, NULL when unlimited. tiers: the eligible tiers' names, comma-separated,
-- with ',' and '\' escaped by '\' ('' for all tiers).
CREATE TABLE loyalty_rewards (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  name          TEXT NOT NULL CHECK (name <> ''),
  kind          TEXT NOT NULL CHECK (kind IN ('discount', 'free_product', 'voucher', 'experience')),
  title         TEXT NOT NULL,
  points        INTEGER NOT NULL CHECK (points >= 0),
  stock         INTEGER CHECK (stock >= 0),
  tiers         TEXT NOT NULL,
  segment       TEXT NOT NULL,
  details       TEXT NOT NULL,
  active        INTEGER NOT NULL CHECK (active IN (0, 1)),
  redeemed      INTEGER NOT NULL CHECK (redeemed >= 0),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (workspace_id, name)
);
-- The code pool of voucher rewards, handed out oldest (lowest row) first; redemption_id is
-- the redemption holding the code, NULL while it is unused.
CREATE TABLE loyalty_reward_codes (
  row            INTEGER PRIMARY KEY,
  workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
  reward_id      INTEGER NOT NULL REFERENCES loyalty_rewards(id),
  code           TEXT NOT NULL CHECK (code <> ''),
  redemption_id  TEXT,
  UNIQUE (workspace_id, code)
);
CREATE INDEX loyalty_reward_codes_unused ON loyalty_reward_codes (workspace_id, reward_id, row)
  WHERE redemption_id IS NULL;
-- row: the order of creation. code: the voucher code given, '' for other rewards.
CREATE TABLE loyalty_redemptions (
  row           INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  id            TEXT NOT NULL CHECK (id <> ''),
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  reward_id     INTEGER NOT NULL REFERENCES loyalty_rewards(id),
  points        INTEGER NOT NULL CHECK (points >= 0),
  state         TEXT NOT NULL CHECK (state IN ('held', 'confirmed', 'released')),
  code          TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  closed_at     INTEGER,
  UNIQUE (workspace_id, id)
);
CREATE INDEX loyalty_redemptions_by_row ON loyalty_redemptions (workspace_id, row);
CREATE INDEX loyalty_redemptions_by_customer ON loyalty_redemptions (workspace_id, customer_id, row);
