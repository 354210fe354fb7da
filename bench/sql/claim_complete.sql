-- pgbench: the worker's claim statement (:n jobs) then its batch completion, as two
-- autocommit statements with history rows, exactly like JobStore.claim + JobStore.complete.
-- Run with PGOPTIONS='-c search_path=jobgate,public' (see bench/run);
-- n is the batch size: pgbench -D n=100; jobs/s = tps x n.
WITH picked AS (
    SELECT c.id, c.status FROM unnest(ARRAY['pgbench']) AS q(name)
    CROSS JOIN LATERAL (
        SELECT id, status, priority, run_at FROM jobs
        WHERE queue = q.name AND status IN ('queued', 'retrying') AND run_at <= now()
        ORDER BY priority, run_at, id LIMIT :n FOR UPDATE SKIP LOCKED) c
    ORDER BY c.priority, c.run_at, c.id LIMIT :n
), claimed AS (
    UPDATE jobs j SET status = 'running', attempt = j.attempt + 1, locked_by = 'pgb' || :client_id,
        lease_expires_at = now() + interval '30 seconds', started_at = now()
    FROM picked p WHERE j.id = p.id
    RETURNING j.id, j.tenant, j.queue, j.type, j.payload::text AS payload, j.attempt, j.max_attempts,
              j.timeout_seconds, j.trace_id, j.priority, j.run_at, p.status AS from_status
), ev AS (
    INSERT INTO job_events (job_id, tenant, event, from_status, to_status, attempt, worker)
    SELECT id, tenant, 'started', from_status, 'running', attempt, 'pgb' || :client_id FROM claimed
)
SELECT count(*) FROM claimed;
WITH done AS (
    UPDATE jobs j SET status = 'completed', finished_at = now(), lease_expires_at = NULL, locked_by = NULL, last_error = NULL
    WHERE j.status = 'running' AND j.locked_by = 'pgb' || :client_id
    RETURNING j.id, j.tenant, j.attempt
), ev AS (
    INSERT INTO job_events (job_id, tenant, event, from_status, to_status, attempt, worker)
    SELECT id, tenant, 'completed', 'running', 'completed', attempt, 'pgb' || :client_id FROM done
)
SELECT count(*) FROM done;
