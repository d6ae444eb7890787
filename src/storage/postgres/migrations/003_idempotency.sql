-- Idempotency-Key records of REST writes: the request's hash and, once answered, the
-- response, so a retried request gets the same answer.
CREATE TABLE idempotency_keys (
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  status        INTEGER,          -- NULL while the first request is in flight
  response      TEXT,
  created_at    BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, key)
);
