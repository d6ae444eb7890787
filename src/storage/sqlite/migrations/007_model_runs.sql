-- The purchase model behind each workspace's per-customer predictions.
ALTER TABLE workspaces ADD COLUMN purchase_model TEXT NOT NULL DEFAULT 'pareto_nbd';

-- Model fits: what was fitted on which data, with what result. Parameters and standard
-- errors are "name=value" pairs separated by ';'.
CREATE TABLE model_runs (
  id              INTEGER PRIMARY KEY,
  workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
  model           TEXT NOT NULL,
  status          TEXT NOT NULL,
  calibration_end TEXT NOT NULL,
  unit_days       REAL NOT NULL,
  params          TEXT NOT NULL,
  std_errors      TEXT NOT NULL,
  log_likelihood  REAL NOT NULL,
  customers       INTEGER NOT NULL,
  evaluations     INTEGER NOT NULL,
  seconds         REAL NOT NULL,
  error           TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  finished_at     INTEGER
);
CREATE INDEX model_runs_by_workspace ON model_runs (workspace_id, model, id);
