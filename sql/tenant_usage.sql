-- Per-tenant usage: what each tenant submitted and what running it cost.
-- Parameters: since (interval; psql default 24 hours) - events in the last `since`.
-- Columns: tenant, submitted, attempts (started), completed, failed, cancelled,
--          run_seconds (total time of attempts that ended in the window).
-- psql: psql -v since='30 days' -f sql/tenant_usage.sql   jobgate: jobgate report tenant_usage --since 30d
\if :{?since}
\else
\set since '24 hours'
\endif
WITH ev AS (
    SELECT tenant,
           count(*) FILTER (WHERE event = 'submitted') AS submitted,
           count(*) FILTER (WHERE event = 'started') AS attempts,
           count(*) FILTER (WHERE event = 'completed') AS completed,
           count(*) FILTER (WHERE event = 'failed') AS failed,
           count(*) FILTER (WHERE event = 'cancelled') AS cancelled
    FROM jobgate.job_events
    WHERE at >= now() - :'since'::interval
    GROUP BY tenant
), run AS (
    SELECT tenant, sum(run_seconds) AS run_seconds
    FROM jobgate.report_attempts
    WHERE ended_at >= now() - :'since'::interval
    GROUP BY tenant
)
SELECT ev.tenant, ev.submitted, ev.attempts, ev.completed, ev.failed, ev.cancelled,
       round(coalesce(run.run_seconds, 0)::numeric, 3) AS run_seconds
FROM ev LEFT JOIN run ON run.tenant = ev.tenant
ORDER BY ev.submitted DESC, ev.tenant;
