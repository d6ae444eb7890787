-- Messaging (docs/messaging.md): templates, the outbox every channel delivers from with its
-- delivery log, suppressed addresses, consent proof, customers' preferences and each
-- workspace's sending settings (secrets sealed with the server's secret).
CREATE TABLE message_templates (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  name          TEXT NOT NULL,
  channel       TEXT NOT NULL,
  topic         TEXT NOT NULL,
  subject       TEXT NOT NULL,
  html          TEXT NOT NULL,
  body_text     TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  UNIQUE (workspace_id, name)
);
CREATE TABLE outbox (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id     BIGINT NOT NULL REFERENCES workspaces(id),
  idempotency_key  TEXT NOT NULL,
  channel          TEXT NOT NULL,
  customer_id      BIGINT NOT NULL REFERENCES customers(id),
  category         TEXT NOT NULL CHECK (category IN ('marketing', 'transactional', 'confirmation')),
  topic            TEXT NOT NULL,
  template_id      BIGINT NOT NULL,
  campaign         TEXT NOT NULL,
  recipient        TEXT NOT NULL,
  subject          TEXT NOT NULL,
  html             TEXT NOT NULL,
  body_text        TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'bounced', 'failed',
                                                  'suppressed', 'cancelled')),
  attempts         INTEGER NOT NULL,
  next_attempt_at  BIGINT NOT NULL,
  lease_until      BIGINT NOT NULL,
  claimed_by       TEXT NOT NULL,
  provider_id      TEXT NOT NULL,
  last_error       TEXT NOT NULL,
  created_at       BIGINT NOT NULL,
  sent_at          BIGINT,
  UNIQUE (workspace_id, idempotency_key)
);
-- Claiming: the due queued messages, and the sending ones whose lease lapsed, oldest due first.
CREATE INDEX outbox_due ON outbox (channel, next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX outbox_leased ON outbox (channel, lease_until, id) WHERE state = 'sending';
-- Lists (newest first), counts per state and cancellations, per filter.
CREATE INDEX outbox_by_customer ON outbox (workspace_id, customer_id, id);
CREATE INDEX outbox_by_campaign ON outbox (workspace_id, campaign, state, id);
CREATE INDEX outbox_by_state ON outbox (workspace_id, state, id);
CREATE TABLE message_log (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  message_id    BIGINT NOT NULL REFERENCES outbox(id),
  customer_id   BIGINT NOT NULL REFERENCES customers(id),
  kind          TEXT NOT NULL,
  at            BIGINT NOT NULL,
  detail        TEXT NOT NULL
);
CREATE INDEX message_log_by_message ON message_log (message_id, id);
CREATE INDEX message_log_by_customer ON message_log (workspace_id, customer_id, id);
CREATE TABLE email_suppressions (
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  address       TEXT COLLATE "C" NOT NULL,  -- listed in byte order, as in SQLite
  reason        TEXT NOT NULL,
  detail        TEXT NOT NULL,
  at            BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, address)
);
CREATE TABLE consent_records (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  customer_id   BIGINT NOT NULL REFERENCES customers(id),
  channel       TEXT NOT NULL,
  action        TEXT NOT NULL,
  at            BIGINT NOT NULL,
  ip            TEXT NOT NULL,
  user_agent    TEXT NOT NULL,
  text_version  TEXT NOT NULL,
  source        TEXT NOT NULL
);
CREATE INDEX consent_records_by_customer ON consent_records (workspace_id, customer_id, id);
CREATE TABLE message_preferences (
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  customer_id   BIGINT NOT NULL REFERENCES customers(id),
  topics_off    TEXT NOT NULL,
  paused_until  BIGINT,
  tracking_off  INTEGER NOT NULL,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, customer_id)
);
CREATE TABLE messaging_settings (
  workspace_id          BIGINT PRIMARY KEY REFERENCES workspaces(id),
  from_name             TEXT NOT NULL,
  from_address          TEXT NOT NULL,
  reply_to              TEXT NOT NULL,
  transport             TEXT NOT NULL CHECK (transport IN ('file', 'smtp')),
  smtp_url              TEXT NOT NULL,
  smtp_tls              TEXT NOT NULL CHECK (smtp_tls IN ('none', 'starttls', 'tls')),
  smtp_username         TEXT NOT NULL,
  smtp_password_sealed  TEXT NOT NULL,
  dkim_domain           TEXT NOT NULL,
  dkim_selector         TEXT NOT NULL,
  dkim_key_sealed       TEXT NOT NULL,
  consent_text_version  TEXT NOT NULL,
  public_url            TEXT NOT NULL,
  track_engagement      INTEGER NOT NULL,
  max_attempts          INTEGER NOT NULL,
  updated_at            BIGINT NOT NULL
);
