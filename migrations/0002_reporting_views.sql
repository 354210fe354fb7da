-- Reporting views over history (DESIGN.md §9), read by the files in sql/ and by BI tools.
-- Views only: nothing here is on the job engine's hot path.

-- Every event with its job's type and queue. Events outlive job rows (history is kept
-- longer than finished jobs), so a pruned job's type and queue read '(pruned)'.
CREATE VIEW jobgate.report_events AS
SELECT e.id, e.job_id, e.tenant,
       coalesce(j.type, '(pruned)') AS type,
       coalesce(j.queue, '(pruned)') AS queue,
       e.at, e.event, e.from_status, e.to_status, e.attempt, e.worker, e.message
FROM jobgate.job_events e
LEFT JOIN jobgate.jobs j ON j.id = e.job_id;

-- One row per attempt: a `started` event paired with the next event of the same job that
-- ended it (completed, retry_scheduled, failed, cancelled, lease_expired, requeued).
-- `outcome` and `ended_at` are NULL while the attempt is still running.
CREATE VIEW jobgate.report_attempts AS
SELECT s.job_id, s.tenant, s.type, s.queue, s.attempt, s.worker,
       s.at AS started_at, f.at AS ended_at, f.event AS outcome, f.message,
       extract(epoch FROM f.at - s.at)::float8 AS run_seconds
FROM jobgate.report_events s
LEFT JOIN LATERAL (
    SELECT e.at, e.event, e.message FROM jobgate.job_events e
    WHERE e.job_id = s.job_id AND e.id > s.id
      AND e.event IN ('completed', 'retry_scheduled', 'failed', 'cancelled', 'lease_expired', 'requeued')
    ORDER BY e.id
    LIMIT 1
) f ON true
WHERE s.event = 'started';

-- One row per job that was started: when it was submitted and first started, and the
-- wait in between (includes any requested delay: submitted -> first started).
CREATE VIEW jobgate.report_queue_waits AS
SELECT s.job_id, s.tenant, s.type, s.queue, sub.at AS submitted_at, s.at AS started_at,
       extract(epoch FROM s.at - sub.at)::float8 AS wait_seconds
FROM jobgate.report_events s
JOIN jobgate.job_events sub ON sub.job_id = s.job_id AND sub.event = 'submitted'
WHERE s.event = 'started'
  AND NOT EXISTS (SELECT 1 FROM jobgate.job_events p
                  WHERE p.job_id = s.job_id AND p.event = 'started' AND p.id < s.id);
