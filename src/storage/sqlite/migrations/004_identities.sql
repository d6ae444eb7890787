-- Identity resolution: an anonymous id (a browser, a device) once linked to a customer by
-- an identify or alias call. Events of an anonymous id that isn't linked yet are found by a
-- partial index, so identified traffic pays nothing for it.
CREATE TABLE identities (
  workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
  anonymous_id  TEXT NOT NULL,
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, anonymous_id)
);
CREATE INDEX events_unlinked ON events (workspace_id, anonymous_id)
  WHERE customer_id IS NULL AND anonymous_id <> '';
