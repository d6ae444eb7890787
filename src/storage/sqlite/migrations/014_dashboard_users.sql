-- Users of the web dashboard and their sessions (docs/api.md, "Dashboard sessions"). Passwords
-- are kept as argon2id hashes; sessions only as the SHA-256 of their token. Users are deleted
-- outright, with their sessions.
CREATE TABLE dashboard_users (
  id             INTEGER PRIMARY KEY,
  workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
  email          TEXT NOT NULL,
  name           TEXT NOT NULL DEFAULT '',
  role           TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'viewer')),
  password_hash  TEXT NOT NULL,
  locale         TEXT NOT NULL CHECK (locale IN ('en', 'de')),
  created_at     INTEGER NOT NULL,
  last_login_at  INTEGER,
  UNIQUE (workspace_id, email)
);
CREATE INDEX dashboard_users_by_email ON dashboard_users (email);
CREATE TABLE dashboard_sessions (
  token_hash    TEXT PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES dashboard_users(id),
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  csrf_token    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  remote        TEXT NOT NULL DEFAULT '',
  user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions (workspace_id, user_id);
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
