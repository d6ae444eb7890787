-- CSV imports sent over HTTP run as jobs; their state survives a restart.
CREATE TABLE import_jobs (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id   BIGINT NOT NULL REFERENCES workspaces(id),
  kind           TEXT NOT NULL,
  status         TEXT NOT NULL,
  file_name      TEXT NOT NULL,
  bytes_total    BIGINT NOT NULL,
  bytes_read     BIGINT NOT NULL,
  rows_read      BIGINT NOT NULL,
  rows_rejected  BIGINT NOT NULL,
  inserted       BIGINT NOT NULL,
  updated        BIGINT NOT NULL,
  unchanged      BIGINT NOT NULL,
  error          TEXT NOT NULL,
  issues         TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  finished_at    BIGINT
);
CREATE INDEX import_jobs_by_workspace ON import_jobs (workspace_id);
