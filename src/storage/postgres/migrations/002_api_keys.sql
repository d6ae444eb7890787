-- API keys: only the SHA-256 of a key is stored, with a short prefix to recognise it.
CREATE TABLE api_keys (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  scope         TEXT NOT NULL,
  prefix        TEXT NOT NULL,
  hash          TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL DEFAULT '',
  created_at    BIGINT NOT NULL,
  revoked_at    BIGINT
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id);
