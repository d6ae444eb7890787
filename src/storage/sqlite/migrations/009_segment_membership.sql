-- Who is in each saved segment, the log of customers entering and leaving, and the size over
-- time (docs/segments.md, "Live membership"). Built-in segments are kept by treu.
ALTER TABLE segments ADD COLUMN builtin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE segment_members (
  segment_id    INTEGER NOT NULL REFERENCES segments(id),
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  since         INTEGER NOT NULL,
  PRIMARY KEY (segment_id, customer_id)
) WITHOUT ROWID;
CREATE TABLE segment_transitions (
  id            INTEGER PRIMARY KEY,
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  segment_id    INTEGER NOT NULL REFERENCES segments(id),
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  kind          TEXT NOT NULL CHECK (kind IN ('entered', 'left')),
  at            INTEGER NOT NULL
);
CREATE INDEX segment_transitions_by_segment ON segment_transitions (segment_id, id);
CREATE TABLE segment_sizes (
  segment_id    INTEGER NOT NULL REFERENCES segments(id),
  at            INTEGER NOT NULL,
  size          INTEGER NOT NULL,
  PRIMARY KEY (segment_id, at)
) WITHOUT ROWID;
