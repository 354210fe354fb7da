-- Jobs finished per hour, by type and final state (completed, failed, cancelled).
-- Parameters: since (interval; psql default 24 hours) - hours whose jobs finished in the last `since`.
-- Columns: hour, type, state, jobs. A redriven job that finishes again counts again.
-- psql: psql -v since='7 days' -f sql/throughput_per_hour.sql   jobgate: jobgate report throughput_per_hour --since 7d
\if :{?since}
\else
\set since '24 hours'
\endif
SELECT date_trunc('hour', e.at) AS hour, e.type, e.event AS state, count(*) AS jobs
FROM jobgate.report_events e
WHERE e.event IN ('completed', 'failed', 'cancelled')
  AND e.at >= now() - :'since'::interval
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
