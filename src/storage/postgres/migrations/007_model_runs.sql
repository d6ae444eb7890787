-- The purchase model behind each workspace's per-customer predictions.
ALTER TABLE workspaces ADD COLUMN purchase_model TEXT NOT NULL DEFAULT 'pareto_nbd';

-- Model fits: what was fitted on which data, with what result. Parameters and standard
-- errors are "name=value" pairs separated by ';'.
CREATE TABLE model_runs (
  id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id    BIGINT NOT NULL REFERENCES workspaces(id),
  model           TEXT NOT NULL,
  status          TEXT NOT NULL,
  calibration_end TEXT NOT NULL,
  unit_days       DOUBLE PRECISION NOT NULL,
  params          TEXT NOT NULL,
  std_errors      TEXT NOT NULL,
  log_likelihood  DOUBLE PRECISION NOT NULL,
  customers       BIGINT NOT NULL,
  evaluations     BIGINT NOT NULL,
  seconds         DOUBLE PRECISION NOT NULL,
  error           TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  finished_at     BIGINT
);
CREATE INDEX model_runs_by_workspace ON model_runs (workspace_id, model, id);
