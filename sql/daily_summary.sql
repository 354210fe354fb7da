-- Day by day: jobs submitted and finished, retries, rescues, tenants and run time.
-- Parameters: since (interval; psql default 24 hours) - days with events in the last `since` (days of the
-- session's time zone; the first day is partial).
-- Columns: day, submitted, started, completed, failed, cancelled, retried, rescued (lease_expired),
--          tenants (distinct submitting tenants), run_p95 (seconds, completed attempts).
-- psql: psql -v since='30 days' -f sql/daily_summary.sql   jobgate: jobgate report daily_summary --since 30d
\if :{?since}
\else
\set since '24 hours'
\endif
WITH ev AS (
    SELECT date_trunc('day', at) AS day,
           count(*) FILTER (WHERE event = 'submitted') AS submitted,
           count(*) FILTER (WHERE event = 'started') AS started,
           count(*) FILTER (WHERE event = 'completed') AS completed,
           count(*) FILTER (WHERE event = 'failed') AS failed,
           count(*) FILTER (WHERE event = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE event = 'retry_scheduled') AS retried,
           count(*) FILTER (WHERE event = 'lease_expired') AS rescued,
           count(DISTINCT tenant) FILTER (WHERE event = 'submitted') AS tenants
    FROM jobgate.job_events
    WHERE at >= now() - :'since'::interval
    GROUP BY 1
), run AS (
    SELECT date_trunc('day', ended_at) AS day,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY run_seconds) AS run_p95
    FROM jobgate.report_attempts
    WHERE outcome = 'completed' AND ended_at >= now() - :'since'::interval
    GROUP BY 1
)
SELECT ev.day::date AS day, ev.submitted, ev.started, ev.completed, ev.failed, ev.cancelled,
       ev.retried, ev.rescued, ev.tenants, round(run.run_p95::numeric, 3) AS run_p95
FROM ev LEFT JOIN run ON run.day = ev.day
ORDER BY ev.day;
