-- Saved segments: a name and an expression of the segment language (docs/segments.md).
CREATE TABLE segments (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  BIGINT NOT NULL REFERENCES workspaces(id),
  name          TEXT NOT NULL,
  expr          TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  UNIQUE (workspace_id, name)
);
