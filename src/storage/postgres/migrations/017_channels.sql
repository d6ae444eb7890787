-- Channels beyond email (docs/messaging.md): browsers' push subscriptions per customer, the
-- named endpoints of the webhook channel, each workspace's channel settings (VAPID keys, the
-- in-app identity secret; secrets sealed with the server's secret), and the template fields of
-- push, in-app and webhook messages.
CREATE TABLE push_subscriptions (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  customer_id   BIGINT NOT NULL REFERENCES customers(id),
  endpoint      TEXT NOT NULL,
  p256dh        TEXT NOT NULL,
  auth          TEXT NOT NULL,
  user_agent    TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  UNIQUE (workspace_id, endpoint)
);
-- A customer's subscriptions (sends, erasure), in id order.
CREATE INDEX push_subscriptions_by_customer ON push_subscriptions (workspace_id, customer_id, id);
CREATE TABLE webhook_endpoints (
  workspace_id   BIGINT NOT NULL REFERENCES workspaces(id),
  name           TEXT COLLATE "C" NOT NULL,  -- listed in byte order, as in SQLite
  url            TEXT NOT NULL,
  format         TEXT NOT NULL CHECK (format IN ('json', 'slack', 'discord')),
  secret_sealed  TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, name)
);
CREATE TABLE channel_settings (
  workspace_id            BIGINT PRIMARY KEY REFERENCES workspaces(id),
  vapid_public_key        TEXT NOT NULL,
  vapid_private_sealed    TEXT NOT NULL,
  vapid_subject           TEXT NOT NULL,
  identity_secret_sealed  TEXT NOT NULL,
  updated_at              BIGINT NOT NULL
);
ALTER TABLE message_templates ADD COLUMN link_url TEXT NOT NULL DEFAULT '';
ALTER TABLE message_templates ADD COLUMN layout TEXT NOT NULL DEFAULT '';
ALTER TABLE message_templates ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
