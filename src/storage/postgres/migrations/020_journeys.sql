-- Journeys (docs/journeys.md): multi-step flows customers enter on a trigger. Each journey's
-- latest definition, state and the journey worker's cursors; every version's definition as
-- first saved (versions are immutable: runs keep the version they entered); each customer's
-- pass through a journey (a run), at most one inside a journey at a time; and how often each
-- step of a version was executed, by outcome.
CREATE TABLE journeys (
  id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id    BIGINT NOT NULL REFERENCES workspaces(id),
  name            TEXT COLLATE "C" NOT NULL,  -- listed in byte order, as in SQLite
  state           TEXT NOT NULL CHECK (state IN ('active', 'paused')),
  version         BIGINT NOT NULL,  -- the latest version
  definition      TEXT NOT NULL,    -- the latest version's JSON
  split_key       TEXT NOT NULL,
  change_seq      BIGINT NOT NULL,  -- the worker's cursors
  trigger_cursor  BIGINT NOT NULL,
  goal_cursor     BIGINT NOT NULL,
  last_error      TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  UNIQUE (workspace_id, name)
);
CREATE TABLE journey_versions (
  journey_id  BIGINT NOT NULL REFERENCES journeys(id),
  version     BIGINT NOT NULL,
  definition  TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (journey_id, version)
);
CREATE TABLE journey_runs (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id     BIGINT NOT NULL REFERENCES workspaces(id),
  journey_id       BIGINT NOT NULL REFERENCES journeys(id),
  version          BIGINT NOT NULL,
  customer_id      BIGINT NOT NULL REFERENCES customers(id),
  zone             TEXT NOT NULL,    -- the customer's time zone at entry, '' = UTC
  step             BIGINT NOT NULL,  -- the current step's index
  state            TEXT NOT NULL CHECK (state IN ('active', 'waiting', 'waiting_for_event', 'exited',
                                                  'completed')),
  wake_at          BIGINT NOT NULL,
  entered_at       BIGINT NOT NULL,
  step_entered_at  BIGINT NOT NULL,
  ended_at         BIGINT NOT NULL,  -- 0 while inside
  steps_executed   BIGINT NOT NULL
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
  journey_id  BIGINT NOT NULL REFERENCES journeys(id),
  version     BIGINT NOT NULL,
  step_id     TEXT COLLATE "C" NOT NULL,  -- listed in byte order, as in SQLite
  outcome     TEXT COLLATE "C" NOT NULL,
  count       BIGINT NOT NULL,
  PRIMARY KEY (journey_id, version, step_id, outcome)
);
