-- pgbench: the submit statement of JobStore.submit for :n job(s) per transaction — the
-- multi-row insert, its 'submitted' history rows and the NOTIFY, in one statement, as the
-- API's group commit sends it. Run with PGOPTIONS='-c search_path=jobgate,public'.
-- n is the batch size: pgbench -D n=100; jobs/s = tps x n.
WITH ins AS (
    INSERT INTO jobs (id, tenant, queue, type, payload, priority, run_at, max_attempts, timeout_seconds)
    SELECT gen_random_uuid(), 'bench', 'pgbench-submit', 'noop', '{}'::jsonb, 0, now(), 3, 60
    FROM generate_series(1, :n)
    RETURNING id, tenant, queue
), ev AS (
    INSERT INTO job_events (job_id, tenant, event, to_status, attempt)
    SELECT id, tenant, 'submitted', 'queued', 0 FROM ins
), notify AS (
    SELECT pg_notify('jobgate_jobs', q.queue) FROM (SELECT DISTINCT queue FROM ins) q
)
SELECT count(*) FROM ins, (SELECT count(*) FROM notify) n;
