// The DuckDB side of the analytics benchmark: loads bench/synth CSVs (orders.csv,
// subscriptions.csv) into an in-memory DuckDB and computes, with SQL, what `treu kpi` computes
// for the 12 months of 2025 on the basis "both" with a 365-day window, plus the monthly
// customer and revenue cohort matrices. Prints JSON: load time, the best of RUNS query
// times, and the per-month numbers (for the comparison with treu's).
// Usage: node duckdb_metrics.mjs DATA_DIR [RUNS]
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const runs = Number(process.argv[3] ?? 3);
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();

const t0 = performance.now();
await conn.run("SET TimeZone = 'UTC'");
await conn.run(`
  CREATE TABLE ord AS
  SELECT customer_id,
         CAST(CAST(placed_at AS TIMESTAMPTZ) AS TIMESTAMP) AS placed_at,
         CAST(total AS DECIMAL(18, 2)) AS total,
         CAST(CAST(NULLIF(refunded_at, '') AS TIMESTAMPTZ) AS TIMESTAMP) AS refunded_at,
         CAST(NULLIF(refunded_total, '') AS DECIMAL(18, 2)) AS refunded_total
  FROM read_csv('${dir}/orders.csv', header = true, all_varchar = true)
  WHERE status <> 'cancelled'`);
// One row per subscription state, valid from its effective time (not before the start) until
// the next state or the end; MRR per month, 0 unless active or past due.
await conn.run(`
  CREATE TABLE spans AS
  WITH s AS (
    SELECT subscription_id, customer_id, interval, status,
           CAST(amount AS DOUBLE) * CAST(quantity AS DOUBLE) * (1 - CAST(discount AS DOUBLE) / 100) AS per_interval,
           CAST(CAST(started_at AS TIMESTAMPTZ) AS TIMESTAMP) AS started_at,
           CAST(CAST(NULLIF(ended_at, '') AS TIMESTAMPTZ) AS TIMESTAMP) AS ended_at,
           CAST(CAST(effective_at AS TIMESTAMPTZ) AS TIMESTAMP) AS effective_at
    FROM read_csv('${dir}/subscriptions.csv', header = true, all_varchar = true))
  SELECT customer_id,
         greatest(effective_at, started_at) AS t_from,
         least(coalesce(lead(effective_at) OVER (PARTITION BY subscription_id ORDER BY effective_at),
                        TIMESTAMP '9999-01-01'),
               coalesce(ended_at, TIMESTAMP '9999-01-01')) AS t_to,
         CASE WHEN status IN ('active', 'past_due') THEN per_interval *
           CASE interval WHEN 'month' THEN 1 WHEN 'year' THEN 1.0 / 12 WHEN 'quarter' THEN 1.0 / 3
                         WHEN 'week' THEN 52.0 / 12 WHEN 'day' THEN 365.0 / 12 END
         ELSE 0 END AS mrr
  FROM s
  WHERE effective_at < coalesce(ended_at, TIMESTAMP '9999-01-01')`);
const loadSeconds = (performance.now() - t0) / 1000;

const metricsSql = `
  WITH p AS (
    SELECT generate_series AS s, generate_series + INTERVAL 1 MONTH AS e,
           generate_series + INTERVAL 1 MONTH - INTERVAL 12 MONTH AS y
    FROM generate_series(TIMESTAMP '2025-01-01', TIMESTAMP '2025-12-01', INTERVAL 1 MONTH)),
  bounds AS (SELECT s AS t FROM p UNION SELECT e FROM p UNION SELECT y FROM p),
  mrr_t AS MATERIALIZED (
    SELECT b.t, sp.customer_id, sum(sp.mrr) AS mrr
    FROM bounds b JOIN spans sp ON sp.t_from <= b.t AND b.t < sp.t_to
    GROUP BY ALL HAVING sum(sp.mrr) > 0),
  active AS MATERIALIZED (
    SELECT DISTINCT b.t, o.customer_id FROM bounds b
    JOIN ord o ON o.placed_at >= b.t - INTERVAL 365 DAY AND o.placed_at < b.t
    UNION SELECT t, customer_id FROM mrr_t),
  first_mrr AS MATERIALIZED (SELECT customer_id, min(t_from) AS first FROM spans WHERE mrr > 0 GROUP BY 1),
  first_act AS MATERIALIZED (
    SELECT customer_id, min(first) AS first FROM (
      SELECT customer_id, min(placed_at) AS first FROM ord GROUP BY 1
      UNION ALL SELECT customer_id, first FROM first_mrr) GROUP BY 1),
  bought AS MATERIALIZED (
    SELECT p.s, o.customer_id, count(*) AS n, sum(o.total) AS total
    FROM p JOIN ord o ON o.placed_at >= p.s AND o.placed_at < p.e GROUP BY ALL),
  moves AS MATERIALIZED (
    SELECT p.s, c.customer_id, coalesce(a.mrr, 0) AS m0, coalesce(b.mrr, 0) AS m1
    FROM p CROSS JOIN (SELECT DISTINCT customer_id FROM spans) c
    LEFT JOIN mrr_t a ON a.t = p.s AND a.customer_id = c.customer_id
    LEFT JOIN mrr_t b ON b.t = p.e AND b.customer_id = c.customer_id)
  SELECT strftime(p.s, '%Y-%m') AS period,
    (SELECT count(*) FROM active a WHERE a.t = p.s) AS active_start,
    (SELECT count(*) FROM active a WHERE a.t = p.e) AS active_end,
    (SELECT count(*) FROM active a JOIN active b ON b.customer_id = a.customer_id AND b.t = p.e
      WHERE a.t = p.s) AS retained,
    (SELECT count(*) FROM first_act f WHERE f.first >= p.s AND f.first < p.e) AS new_customers,
    (SELECT count(*) FROM bought b WHERE b.s = p.s) AS buyers,
    (SELECT count(*) FROM bought b WHERE b.s = p.s AND b.n >= 2) AS repeat_buyers,
    (SELECT coalesce(sum(n), 0) FROM bought b WHERE b.s = p.s) AS orders,
    (SELECT coalesce(sum(total), 0) FROM bought b WHERE b.s = p.s)
      - (SELECT coalesce(sum(refunded_total), 0) FROM ord o WHERE o.refunded_at >= p.s AND o.refunded_at < p.e)
      AS revenue,
    (SELECT coalesce(sum(mrr), 0) FROM mrr_t m WHERE m.t = p.s) AS mrr_start,
    (SELECT coalesce(sum(mrr), 0) FROM mrr_t m WHERE m.t = p.e) AS mrr_end,
    (SELECT count(*) FROM mrr_t m WHERE m.t = p.e) AS accounts,
    (SELECT coalesce(sum(m1), 0) FROM moves m LEFT JOIN first_mrr f USING (customer_id)
      WHERE m.s = p.s AND m0 = 0 AND m1 > 0 AND f.first >= p.s) AS new_mrr,
    (SELECT coalesce(sum(m1), 0) FROM moves m LEFT JOIN first_mrr f USING (customer_id)
      WHERE m.s = p.s AND m0 = 0 AND m1 > 0 AND f.first < p.s) AS reactivation,
    (SELECT coalesce(sum(m1 - m0), 0) FROM moves m WHERE m.s = p.s AND m0 > 0 AND m1 > m0) AS expansion,
    (SELECT coalesce(sum(m0 - m1), 0) FROM moves m WHERE m.s = p.s AND m1 > 0 AND m1 < m0) AS contraction,
    (SELECT coalesce(sum(m0), 0) FROM moves m WHERE m.s = p.s AND m0 > 0 AND m1 = 0) AS churn,
    (SELECT count(*) FROM ord o WHERE o.placed_at >= p.y AND o.placed_at < p.e) AS orders_12m,
    (SELECT count(*) FROM active a WHERE a.t = p.y) AS active_12m_ago,
    (SELECT count(*) FROM active a JOIN active b ON b.customer_id = a.customer_id AND b.t = p.e
      WHERE a.t = p.y) AS retained_12m
  FROM p ORDER BY p.s`;

// Monthly cohorts: share active (ordered in the month, or MRR > 0 at its end) and purchase
// revenue relative to the first month.
const cohortSql = `
  WITH first_act AS (
    SELECT customer_id, date_trunc('month', min(first)) AS cohort FROM (
      SELECT customer_id, min(placed_at) AS first FROM ord GROUP BY 1
      UNION ALL SELECT customer_id, min(t_from) FROM spans WHERE mrr > 0 GROUP BY 1) GROUP BY 1),
  months AS (
    SELECT generate_series AS m FROM generate_series(
      (SELECT min(cohort) FROM first_act), (SELECT date_trunc('month', max(placed_at)) FROM ord),
      INTERVAL 1 MONTH)),
  ordered AS MATERIALIZED (SELECT DISTINCT customer_id, date_trunc('month', placed_at) AS m FROM ord),
  paying AS MATERIALIZED (
    SELECT DISTINCT s.customer_id, mo.m FROM months mo
    JOIN spans s ON s.mrr > 0 AND s.t_from <= mo.m + INTERVAL 1 MONTH AND mo.m + INTERVAL 1 MONTH < s.t_to),
  act AS MATERIALIZED (SELECT * FROM ordered UNION SELECT * FROM paying),
  rev AS MATERIALIZED (
    SELECT customer_id, m, sum(v) AS v FROM (
      SELECT customer_id, date_trunc('month', placed_at) AS m, total AS v FROM ord
      UNION ALL SELECT customer_id, date_trunc('month', refunded_at), -refunded_total FROM ord
        WHERE refunded_at IS NOT NULL) GROUP BY ALL)
  SELECT strftime(f.cohort, '%Y-%m') AS cohort, strftime(mo.m, '%Y-%m') AS month,
         count(DISTINCT f.customer_id) FILTER (WHERE a.customer_id IS NOT NULL) AS active,
         (SELECT count(*) FROM first_act g WHERE g.cohort = f.cohort) AS size,
         (SELECT coalesce(sum(r.v), 0) FROM rev r JOIN first_act g USING (customer_id)
           WHERE g.cohort = f.cohort AND r.m = mo.m) AS revenue
  FROM first_act f JOIN months mo ON mo.m >= f.cohort
  LEFT JOIN act a ON a.customer_id = f.customer_id AND a.m = mo.m
  GROUP BY f.cohort, mo.m ORDER BY 1, 2`;

let best = Infinity;
let metrics, cohorts;
for (let i = 0; i < runs; ++i) {
  const t = performance.now();
  metrics = await rows(metricsSql);
  cohorts = await rows(cohortSql);
  best = Math.min(best, (performance.now() - t) / 1000);
}
console.log(JSON.stringify({ load_seconds: loadSeconds, query_seconds: best, metrics, cohorts }));
