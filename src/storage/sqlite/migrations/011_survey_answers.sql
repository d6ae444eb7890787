-- Survey invitations (one signed link each, docs/surveys.md) and the answers given through them:
-- one response per invitation, updated when the customer answers again.
CREATE TABLE survey_invitations (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  survey_id     INTEGER NOT NULL REFERENCES surveys(id),
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  nonce         INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  UNIQUE (survey_id, nonce)
);
CREATE INDEX survey_invitations_by_customer ON survey_invitations (customer_id, created_at);
CREATE TABLE survey_responses (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  survey_id     INTEGER NOT NULL REFERENCES surveys(id),
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  nonce         INTEGER NOT NULL,
  answers       TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (survey_id, nonce)
);
