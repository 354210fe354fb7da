-- Failure and retry rates by type, with the most common errors.
-- Parameters: since (interval; psql default 24 hours) - attempts started in the last `since`.
-- Columns: type, attempts, completed, retried (retry_scheduled), failed (job failed for good),
--          lease_expired, cancelled, failure_rate (failed / attempts that ended),
--          retry_rate (retried / attempts that ended), top_errors (up to 3 messages with counts).
-- psql: psql -v since='7 days' -f sql/failure_rates.sql   jobgate: jobgate report failure_rates --since 7d
\if :{?since}
\else
\set since '24 hours'
\endif
WITH a AS (
    SELECT * FROM jobgate.report_attempts WHERE started_at >= now() - :'since'::interval
), counts AS (
    SELECT type, count(*) AS attempts,
           count(*) FILTER (WHERE outcome = 'completed') AS completed,
           count(*) FILTER (WHERE outcome = 'retry_scheduled') AS retried,
           count(*) FILTER (WHERE outcome = 'failed') AS failed,
           count(*) FILTER (WHERE outcome = 'lease_expired') AS lease_expired,
           count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE outcome IS NOT NULL AND outcome <> 'requeued') AS ended
    FROM a GROUP BY type
), errors AS (
    SELECT type, message, count(*) AS n,
           row_number() OVER (PARTITION BY type ORDER BY count(*) DESC, message) AS rank
    FROM a WHERE outcome IN ('retry_scheduled', 'failed', 'lease_expired') AND message IS NOT NULL
    GROUP BY type, message
)
SELECT c.type, c.attempts, c.completed, c.retried, c.failed, c.lease_expired, c.cancelled,
       round(c.failed::numeric / nullif(c.ended, 0), 4) AS failure_rate,
       round(c.retried::numeric / nullif(c.ended, 0), 4) AS retry_rate,
       (SELECT string_agg(left(e.message, 80) || ' (' || e.n || ')', '; ' ORDER BY e.rank)
        FROM errors e WHERE e.type = c.type AND e.rank <= 3) AS top_errors
FROM counts c
ORDER BY c.type;
