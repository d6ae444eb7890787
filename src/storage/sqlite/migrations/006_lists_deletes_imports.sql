-- Orders and subscriptions are listed per customer (REST filters, customer erasure).
CREATE INDEX orders_by_customer ON orders (customer_id);

-- CSV imports sent over HTTP run as jobs; their state survives a restart.
CREATE TABLE import_jobs (
  id             INTEGER PRIMARY KEY,
  workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
  kind           TEXT NOT NULL,
  status         TEXT NOT NULL,
  file_name      TEXT NOT NULL,
  bytes_total    INTEGER NOT NULL,
  bytes_read     INTEGER NOT NULL,
  rows_read      INTEGER NOT NULL,
  rows_rejected  INTEGER NOT NULL,
  inserted       INTEGER NOT NULL,
  updated        INTEGER NOT NULL,
  unchanged      INTEGER NOT NULL,
  error          TEXT NOT NULL,
  issues         TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  finished_at    INTEGER
);
CREATE INDEX import_jobs_by_workspace ON import_jobs (workspace_id);
