-- Jobs stuck right now: running past their lease or past their attempt timeout.
-- (Past the lease: the worker is gone and the rescuer should take them; past the timeout: the handler did not stop.)
-- Parameters: none (the current state of jobs; a `since` given is ignored).
-- Columns: id, tenant, type, queue, attempt, locked_by, started_at, lease_expires_at,
--          running_seconds, reason (lease_expired, timed_out or both).
-- psql: psql -f sql/stuck_jobs.sql   jobgate: jobgate report stuck_jobs
SELECT j.id, j.tenant, j.type, j.queue, j.attempt, j.locked_by, j.started_at, j.lease_expires_at,
       round(extract(epoch FROM now() - j.started_at)::numeric, 3) AS running_seconds,
       concat_ws(',',
           CASE WHEN j.lease_expires_at < now() THEN 'lease_expired' END,
           CASE WHEN j.started_at + make_interval(secs => j.timeout_seconds) < now() THEN 'timed_out' END) AS reason
FROM jobgate.jobs j
WHERE j.status = 'running'
  AND (j.lease_expires_at < now() OR j.started_at + make_interval(secs => j.timeout_seconds) < now())
ORDER BY j.started_at, j.id;
