-- Queue wait and run time p50/p95/p99 by type, from history.
-- Parameters: since (interval; psql default 24 hours) - jobs first started / attempts completed in the last `since`.
-- Columns: type, started (jobs first started), wait_p50/p95/p99 (seconds, submitted -> first started),
--          completed (completed attempts), run_p50/p95/p99 (seconds, started -> completed).
-- psql: psql -v since='7 days' -f sql/latency_percentiles.sql   jobgate: jobgate report latency_percentiles --since 7d
\if :{?since}
\else
\set since '24 hours'
\endif
WITH waits AS (
    SELECT w.type, count(*) AS started,
           percentile_cont(0.50) WITHIN GROUP (ORDER BY w.wait_seconds) AS wait_p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY w.wait_seconds) AS wait_p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY w.wait_seconds) AS wait_p99
    FROM jobgate.report_queue_waits w
    WHERE w.started_at >= now() - :'since'::interval
    GROUP BY w.type
), runs AS (
    SELECT a.type, count(*) AS completed,
           percentile_cont(0.50) WITHIN GROUP (ORDER BY a.run_seconds) AS run_p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY a.run_seconds) AS run_p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY a.run_seconds) AS run_p99
    FROM jobgate.report_attempts a
    WHERE a.outcome = 'completed' AND a.ended_at >= now() - :'since'::interval
    GROUP BY a.type
)
SELECT coalesce(w.type, r.type) AS type,
       coalesce(w.started, 0) AS started,
       round(w.wait_p50::numeric, 3) AS wait_p50, round(w.wait_p95::numeric, 3) AS wait_p95,
       round(w.wait_p99::numeric, 3) AS wait_p99,
       coalesce(r.completed, 0) AS completed,
       round(r.run_p50::numeric, 3) AS run_p50, round(r.run_p95::numeric, 3) AS run_p95,
       round(r.run_p99::numeric, 3) AS run_p99
FROM waits w FULL JOIN runs r ON r.type = w.type
ORDER BY 1;
