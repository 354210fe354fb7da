-- The 20 slowest attempts that ended in the window, slowest first.
-- Parameters: since (interval; psql default 24 hours) - attempts that ended in the last `since`.
-- Columns: job_id, tenant, type, queue, attempt, outcome, worker, started_at, run_seconds.
-- psql: psql -v since='7 days' -f sql/slowest_jobs.sql   jobgate: jobgate report slowest_jobs --since 7d
\if :{?since}
\else
\set since '24 hours'
\endif
SELECT a.job_id, a.tenant, a.type, a.queue, a.attempt, a.outcome, a.worker, a.started_at,
       round(a.run_seconds::numeric, 3) AS run_seconds
FROM jobgate.report_attempts a
WHERE a.ended_at >= now() - :'since'::interval AND a.outcome <> 'requeued'
ORDER BY a.run_seconds DESC, a.job_id
LIMIT 20;
