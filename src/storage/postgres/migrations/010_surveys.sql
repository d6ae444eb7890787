-- Survey definitions (docs/surveys.md): the JSON form of src/api/survey_json.hpp, by name.
CREATE TABLE surveys (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  name          TEXT NOT NULL,
  definition    TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  UNIQUE (workspace_id, name)
);
