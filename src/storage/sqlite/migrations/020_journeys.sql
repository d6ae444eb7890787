-- Journeys (docs/journeys.md): multi-step flows customers enter on a trigger. Each journey's
-- latest definition, state and the journey worker's cursors; every version's definition as
-- first saved (versions are immutable: runs keep the version they entered); each customer's
-- pass through a journey (a run), at most one inside a journey at a time; and how often each
-- step of a version was executed, by outcome.
CREATE TABLE journeys (
  id              INTEGER PRIMARY KEY,
  workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
  name            TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('active', 'paused')),
  version         INTEGER NOT NULL,  -- the latest version
  definition      TEXT NOT NULL,     -- the latest version's JSON
  split_key       TEXT NOT NULL,
  change_seq      INTEGER NOT NULL,  -- the worker's cursors
  trigger_cursor  INTEGER NOT NULL,
  goal_cursor     INTEGER NOT NULL,
  last_error      TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (workspace_id, name)
);
CREATE TABLE journey_versions (
  journey_id  INTEGER NOT NULL REFERENCES journeys(id),
  version     INTEGER NOT NULL,
  definition  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (journey_id, version)
) WITHOUT ROWID;
CREATE TABLE journey_runs (
  id               INTEGER PRIMARY KEY,
  workspace_id     INTEGER NOT NULL REFERENCES workspaces(id),
  journey_id       INTEGER NOT NULL REFERENCES journeys(id),
  version          INTEGER NOT NULL,
  customer_id      INTEGER NOT NULL REFERENCES customers(id),
  zone             TEXT NOT NULL,     -- the customer's time zone at entry, '' = UTC
  step             INTEGER NOT NULL,  -- the current step's index
  state            TEXT NOT NULL CHECK (state IN ('active', 'waiting', 'waiting_for_event', 'exited',
                                                  'completed')),
  wake_at          INTEGER NOT NULL,
  entered_at       INTEGER NOT NULL,
  step_entered_at  INTEGER NOT NULL,
  ended_at         INTEGER NOT NULL,  -- 0 while inside
  steps_executed   INTEGER NOT NULL
);
-- A customer is inside a journey at most once.
CREATE UNIQUE INDEX journey_runs_inside ON journey_runs (journey_id, customer_id)
  WHERE state IN ('active', 'waiting', 'waiting_for_event');
-- The worker's look for runs due to wake up.
CREATE INDEX journey_runs_due ON journey_runs (workspace_id, wake_at)
  WHERE state IN ('waiting', 'waiting_for_event');
CREATE INDEX journey_runs_by_customer ON journey_runs (workspace_id, customer_id);
CREATE INDEX journey_runs_by_journey ON journey_runs (journey_id, id);
CREATE TABLE journey_step_counts (
  journey_id  INTEGER NOT NULL REFERENCES journeys(id),
  version     INTEGER NOT NULL,
  step_id     TEXT NOT NULL,
  outcome     TEXT NOT NULL,  -- '' for steps without one
  count       INTEGER NOT NULL,
  PRIMARY KEY (journey_id, version, step_id, outcome)
) WITHOUT ROWID;
