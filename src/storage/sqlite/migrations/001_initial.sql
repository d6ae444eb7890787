-- treu schema, SQLite. Times are UTC microseconds since 1970-01-01 (INTEGER); money is
-- integer minor units (*_minor) beside an ISO 4217 currency code. Every row carries or
-- reaches its workspace_id.
CREATE TABLE workspaces (
  id                    INTEGER PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  currency              TEXT,
  time_zone             TEXT NOT NULL,
  retention_basis       TEXT NOT NULL,
  activity_window_days  INTEGER NOT NULL,
  created_at            INTEGER NOT NULL
);

CREATE TABLE customers (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  external_id   TEXT NOT NULL,
  email         TEXT NOT NULL DEFAULT '',
  name          TEXT NOT NULL DEFAULT '',
  country       TEXT NOT NULL DEFAULT '',
  locale        TEXT NOT NULL DEFAULT '',
  time_zone     TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (workspace_id, external_id)
);

-- type: string | number | bool | time; value: the canonical text of the value.
CREATE TABLE customer_attributes (
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  name          TEXT NOT NULL,
  type          TEXT NOT NULL,
  value         TEXT NOT NULL,
  PRIMARY KEY (customer_id, name)
) WITHOUT ROWID;

CREATE TABLE customer_consents (
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  channel       TEXT NOT NULL,
  granted       INTEGER NOT NULL,
  source        TEXT NOT NULL,
  at            INTEGER NOT NULL,
  PRIMARY KEY (customer_id, channel)
) WITHOUT ROWID;

CREATE TABLE products (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  external_id   TEXT NOT NULL,
  name          TEXT NOT NULL DEFAULT '',
  price_minor   INTEGER,
  currency      TEXT,
  UNIQUE (workspace_id, external_id)
);

CREATE TABLE orders (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  external_id   TEXT NOT NULL,
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  placed_at     INTEGER NOT NULL,
  total_minor   INTEGER NOT NULL,
  currency      TEXT NOT NULL,
  status        TEXT NOT NULL,
  UNIQUE (workspace_id, external_id)
);

CREATE TABLE order_lines (
  order_id            INTEGER NOT NULL REFERENCES orders(id),
  line_no             INTEGER NOT NULL,
  product_external_id TEXT NOT NULL,
  quantity            INTEGER NOT NULL,
  unit_price_minor    INTEGER NOT NULL,
  PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;

CREATE TABLE refunds (
  order_id      INTEGER NOT NULL REFERENCES orders(id),
  refunded_at   INTEGER NOT NULL,
  amount_minor  INTEGER NOT NULL,
  PRIMARY KEY (order_id, refunded_at, amount_minor)
) WITHOUT ROWID;

CREATE TABLE subscriptions (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  external_id   TEXT NOT NULL,
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  currency      TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  ended_at      INTEGER,
  UNIQUE (workspace_id, external_id)
);
CREATE INDEX subscriptions_by_customer ON subscriptions (customer_id);

-- The subscription's terms from effective_at until the next change.
CREATE TABLE subscription_changes (
  subscription_id INTEGER NOT NULL REFERENCES subscriptions(id),
  effective_at    INTEGER NOT NULL,
  plan            TEXT NOT NULL,
  interval        TEXT NOT NULL,
  amount_minor    INTEGER NOT NULL,
  quantity        INTEGER NOT NULL,
  discount_bp     INTEGER NOT NULL,
  status          TEXT NOT NULL,
  PRIMARY KEY (subscription_id, effective_at)
) WITHOUT ROWID;

CREATE TABLE events (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  type          TEXT NOT NULL,
  name          TEXT NOT NULL,
  message_id    TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  anonymous_id  TEXT NOT NULL,
  customer_id   INTEGER REFERENCES customers(id),
  timestamp     INTEGER NOT NULL,
  received_at   INTEGER NOT NULL,
  properties    TEXT NOT NULL,
  UNIQUE (workspace_id, message_id)
);

-- The change log, seq increasing in commit order. A row covers the entities with ids
-- entity_id..last_entity_id, changed by the same operation (a bulk insert is one row per
-- run of consecutive ids). Readers scan by seq (the rowid): appending costs no index.
CREATE TABLE changes (
  seq             INTEGER PRIMARY KEY,
  workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
  entity          TEXT NOT NULL,
  entity_id       INTEGER NOT NULL,
  last_entity_id  INTEGER NOT NULL,
  op              TEXT NOT NULL,
  at              INTEGER NOT NULL
);
