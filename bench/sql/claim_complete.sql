-- pgbench: the worker's claim then its batch completion, as two autocommit statements, like
-- JobStore.claim + JobStore.complete (the completer sends the ids and attempts it was handed).
-- With -D complete=0 the claim alone (the claimed jobs stay running): the claim's own ceiling.
--
-- 1. JobQueries.claim with $1 queues ARRAY['pgbench'], $2 limit :n, $3 worker 'pgb' || :client_id,
--    $4 lease 30 s (WorkerPool's default). Only its last SELECT differs: pgbench can keep one
--    row (\gset), so the claimed ids and attempts come back as two arrays instead of :n rows.
-- 2. JobQueries.complete with $1 that worker, $2/$3 the claimed ids and attempts, and $4-$9
--    (output size, content type, sha256, location, path, inline content) one NULL per job, as
--    JobStore.complete binds them for noop jobs, which return no output. Fenced on status,
--    worker and attempt; job_outputs and `completed` events written as JobGate writes them.
-- Run with PGOPTIONS='-c search_path=jobgate,public' (see bench/run);
-- n is the batch size: pgbench -D n=100 -D complete=1; jobs/s = tps x n.
WITH picked AS (
    SELECT c.id, c.status FROM unnest(ARRAY['pgbench']::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT id, status, priority, run_at FROM jobs
        WHERE queue = q.name AND status IN ('queued', 'retrying') AND run_at <= now()
        ORDER BY priority, run_at, id
        LIMIT :n
        FOR UPDATE SKIP LOCKED
    ) c
    ORDER BY c.priority, c.run_at, c.id
    LIMIT :n
), claimed AS (
    UPDATE jobs j SET status = 'running', attempt = j.attempt + 1, locked_by = 'pgb' || :client_id,
        lease_expires_at = now() + make_interval(secs => 30::float8), started_at = now()
    FROM picked p WHERE j.id = p.id
    RETURNING j.id, j.tenant, j.queue, j.type, j.payload::text AS payload, j.attempt, j.max_attempts,
              j.timeout_seconds, j.trace_id, j.priority, j.run_at, p.status AS from_status,
              greatest(extract(epoch FROM now() - j.run_at), 0)::float8 AS queue_wait
), ev AS (
    INSERT INTO job_events (job_id, tenant, event, from_status, to_status, attempt, worker)
    SELECT id, tenant, 'started', from_status, 'running', attempt, 'pgb' || :client_id FROM claimed
)
SELECT coalesce(array_agg(id ORDER BY priority, run_at, id), '{}') AS ids,
       coalesce(array_agg(attempt ORDER BY priority, run_at, id), '{}') AS attempts, count(*) AS claimed
FROM claimed
\gset
\if :complete
WITH input AS (
    SELECT * FROM unnest(:ids::uuid[], :attempts::int[], array_fill(NULL::bigint, ARRAY[:claimed::int]),
                         array_fill(NULL::text, ARRAY[:claimed::int]), array_fill(NULL::bytea, ARRAY[:claimed::int]),
                         array_fill(NULL::text, ARRAY[:claimed::int]), array_fill(NULL::text, ARRAY[:claimed::int]),
                         array_fill(NULL::bytea, ARRAY[:claimed::int]))
        AS c(id, attempt, size, content_type, sha256, location, path, content)
), done AS (
    UPDATE jobs j SET status = 'completed', finished_at = now(), lease_expires_at = NULL, locked_by = NULL,
        last_error = NULL, output_size = c.size, output_content_type = c.content_type, output_sha256 = c.sha256,
        output_location = c.location, output_path = c.path
    FROM input c
    WHERE j.id = c.id AND j.status || '' = 'running' AND j.locked_by = 'pgb' || :client_id AND j.attempt = c.attempt
    RETURNING j.id, j.tenant, j.attempt
), outputs AS (
    INSERT INTO job_outputs (job_id, content)
    SELECT d.id, c.content FROM done d JOIN input c ON c.id = d.id WHERE c.content IS NOT NULL
    ON CONFLICT (job_id) DO UPDATE SET content = EXCLUDED.content
), ev AS (
    INSERT INTO job_events (job_id, tenant, event, from_status, to_status, attempt, worker)
    SELECT id, tenant, 'completed', 'running', 'completed', attempt, 'pgb' || :client_id FROM done
)
SELECT id FROM done;
\endif
