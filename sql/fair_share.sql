-- Fair share: per queue and minute, each tenant's completions against the share its weight asks
-- for among the tenants that completed jobs there in that minute (docs/scheduling.md).
-- Parameters: since (interval; psql default 24 hours) - completions in the last `since`.
-- Columns: queue, minute, tenant, weight (1 without a row in jobgate.tenants), completed,
--          share (its fraction of the minute's completions in the queue), weight_share (its
--          weight over the weights of the tenants seen there that minute).
-- psql: psql -v since='1 hour' -f sql/fair_share.sql   jobgate: jobgate report fair_share --since 1h
\if :{?since}
\else
\set since '24 hours'
\endif
WITH c AS (
    SELECT coalesce(j.queue, '?') AS queue, date_trunc('minute', e.at) AS minute, e.tenant, count(*) AS completed
    FROM jobgate.job_events e LEFT JOIN jobgate.jobs j ON j.id = e.job_id
    WHERE e.event = 'completed' AND e.at >= now() - :'since'::interval
    GROUP BY 1, 2, 3
), w AS (
    SELECT c.*, coalesce(t.weight, 1) AS weight FROM c LEFT JOIN jobgate.tenants t ON t.name = c.tenant
)
SELECT queue, to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') AS minute, tenant, weight, completed,
       round(completed::numeric / sum(completed) OVER (PARTITION BY queue, minute), 3) AS share,
       round(weight::numeric / sum(weight) OVER (PARTITION BY queue, minute), 3) AS weight_share
FROM w
ORDER BY queue, minute, tenant;
