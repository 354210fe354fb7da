-- pgbench: JobQueries.submit, the statement the API's group commit sends (JobStore.submit
-- without idempotency keys: one autocommit statement), for :n job(s) a statement.
-- The text below the parameter list is JobQueries.submit's, with each $k replaced by the
-- array JobStore.submitParameters binds for :n noop jobs as the API makes them:
--   $1  ids: UUIDv7 (48-bit Unix milliseconds, version 7, random rest), built here from
--       clock_timestamp() as UUIDv7.make does in Swift, so inserts land at the right edge of
--       the primary key as JobGate's do (random v4 ids would scatter them over the index);
--   $2  tenants 'bench'; $3 queues 'pgbench-submit'; $4 types 'noop'; $5 payloads '{}' (text);
--   $6  priorities 0; $7 run_at NULL (= now()); $8 max_attempts 3 and $9 timeouts 60 (noop's
--       type settings); $10 idempotency keys NULL; $11 trace ids NULL (no traceparent header).
-- Building the ids costs PostgreSQL a little CPU that JobGate spends in Swift instead, so the
-- ceiling is if anything slightly low.
-- Run with PGOPTIONS='-c search_path=jobgate,public' (see bench/run);
-- n is the batch size: pgbench -D n=100; jobs/s = tps x n.
WITH input AS (
    SELECT * FROM unnest(
            array(SELECT (substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(r, 16, 3) || substr(r, 19))::uuid
                  FROM (SELECT lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') AS t,
                               gen_random_uuid()::text AS r
                        FROM generate_series(1, :n)) v),
            array_fill('bench'::text, ARRAY[:n::int]), array_fill('pgbench-submit'::text, ARRAY[:n::int]),
            array_fill('noop'::text, ARRAY[:n::int]), array_fill('{}'::text, ARRAY[:n::int]), array_fill(0, ARRAY[:n::int]),
            array_fill(NULL::timestamptz, ARRAY[:n::int]), array_fill(3, ARRAY[:n::int]), array_fill(60, ARRAY[:n::int]),
            array_fill(NULL::text, ARRAY[:n::int]), array_fill(NULL::text, ARRAY[:n::int]))
        AS i(id, tenant, queue, type, payload, priority, run_at, max_attempts, timeout_seconds, idempotency_key, trace_id)
), ins AS (
    INSERT INTO jobs (id, tenant, queue, type, payload, priority, run_at, max_attempts, timeout_seconds,
                      idempotency_key, trace_id, request_hash)
    SELECT i.id, i.tenant, i.queue, i.type, i.payload::jsonb, i.priority, coalesce(i.run_at, now()), i.max_attempts,
           i.timeout_seconds, i.idempotency_key, i.trace_id,
           CASE WHEN i.idempotency_key IS NOT NULL THEN sha256(convert_to(concat_ws(E'\n', i.type, i.queue, i.payload::jsonb::text, i.priority::text, i.max_attempts::text, i.timeout_seconds::text), 'UTF8')) END
    FROM input i
    ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING *
), ev AS (
    INSERT INTO job_events (job_id, tenant, event, to_status, attempt)
    SELECT id, tenant, 'submitted', 'queued', 0 FROM ins
), notify AS (
    SELECT pg_notify('jobgate_jobs', q.queue) FROM (SELECT DISTINCT queue FROM ins) q
)
SELECT j.id, j.created_at, j.run_at FROM ins j, (SELECT count(*) FROM notify) n;
