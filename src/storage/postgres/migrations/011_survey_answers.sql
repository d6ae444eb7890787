-- Survey invitations (one signed link each, docs/surveys.md) and the answers given through them:
-- one response per invitation, updated when the customer answers again.
CREATE TABLE survey_invitations (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  survey_id     BIGINT NOT NULL REFERENCES surveys(id),
  customer_id   BIGINT NOT NULL REFERENCES customers(id),
  nonce         BIGINT NOT NULL,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  UNIQUE (survey_id, nonce)
);
CREATE INDEX survey_invitations_by_customer ON survey_invitations (customer_id, created_at);
CREATE TABLE survey_responses (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  survey_id     BIGINT NOT NULL REFERENCES surveys(id),
  customer_id   BIGINT NOT NULL REFERENCES customers(id),
  nonce         BIGINT NOT NULL,
  answers       TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  UNIQUE (survey_id, nonce)
);
