-- 24 hours of synthetic history for scripts/dashboard-screenshot: jobs and their events as the
-- engine writes them (submitted, started, retry_scheduled / completed / failed, cancelled), up
-- to 2 minutes ago; the last minutes come from real workers. Volume follows a daily wave.
CREATE TEMP TABLE h AS
WITH mins AS (
    SELECT m, now() - make_interval(mins => m) AS t FROM generate_series(2, 1439) m
), spec AS (
    SELECT t, ty, q, tenant, greatest(n, 0) AS n FROM mins, LATERAL (VALUES
        ('resize', 'images', 'acme', (14 + 10 * sin(m / 229.0) + random() * 6)::int),
        ('report', 'reports', 'acme', (2 + random() * 3)::int),
        ('flaky', 'default', 'globex', (1 + random() * 3)::int),
        ('weather', 'default', 'globex', (3 + 2 * cos(m / 180.0) + random() * 2)::int)
    ) v(ty, q, tenant, n)
)
SELECT gen_random_uuid() AS id, ty, q, tenant, t + random() * interval '59 seconds' AS s, random() AS r,
       CASE ty WHEN 'report' THEN 0.5 + random() * 20 ELSE 0.05 + random() * random() * 4 END AS wait,
       CASE ty WHEN 'report' THEN 4 + random() * 16 WHEN 'resize' THEN 0.2 + random() * 1.5
               WHEN 'flaky' THEN 0.5 + random() * 2 ELSE 0.1 + random() * 0.4 END AS run
FROM spec, generate_series(1, n);

-- fate: ok | retry_ok (one retry) | failed (3 attempts, or 1 when not retryable) | cancelled
ALTER TABLE h ADD fate text, ADD attempts int, ADD err text;
UPDATE h SET fate = CASE
    WHEN ty = 'flaky' AND r < 0.22 THEN 'failed' WHEN ty = 'flaky' AND r < 0.55 THEN 'retry_ok'
    WHEN ty = 'resize' AND r < 0.006 THEN 'failed' WHEN ty = 'resize' AND r < 0.03 THEN 'retry_ok'
    WHEN ty = 'report' AND r < 0.03 THEN 'cancelled' ELSE 'ok' END;
UPDATE h SET attempts = CASE fate WHEN 'retry_ok' THEN 2 WHEN 'failed' THEN (CASE ty WHEN 'flaky' THEN 3 ELSE 1 END)
                                  WHEN 'cancelled' THEN 0 ELSE 1 END,
             err = CASE ty WHEN 'flaky' THEN 'upstream returned HTTP 503 Service Unavailable (GET https://partner.example/api/v2/quotes)'
                           ELSE 'convert: improper image header `/srv/images/in/IMG_' || (1000 + (r * 8999)::int) || '.jpg'' @ error/jpeg.c/ReadJPEGImage/1120' END;

INSERT INTO jobgate.jobs (id, tenant, queue, type, status, attempt, max_attempts, run_at, created_at, started_at, finished_at, last_error)
SELECT id, tenant, q, ty, CASE fate WHEN 'ok' THEN 'completed' WHEN 'retry_ok' THEN 'completed' ELSE fate END, attempts, 3, s, s,
       CASE WHEN attempts > 0 THEN s + make_interval(secs => wait + (attempts - 1) * (run + 2)) END,
       CASE WHEN fate = 'cancelled' THEN s + interval '1 second' ELSE s + make_interval(secs => wait + attempts * run + (attempts - 1) * 2) END,
       CASE WHEN fate IN ('failed', 'retry_ok') THEN err END
FROM h;

INSERT INTO jobgate.job_events (job_id, tenant, at, event, from_status, to_status, attempt, worker, message)
SELECT id, tenant, at, event, from_status, to_status, attempt, worker, message FROM (
    SELECT id, tenant, s AS at, 'submitted' AS event, NULL AS from_status, 'queued' AS to_status, 0 AS attempt,
           NULL AS worker, NULL AS message, 0 AS ord FROM h
    UNION ALL
    SELECT id, tenant, s + interval '1 second', 'cancelled', 'queued', 'cancelled', 0, NULL, NULL, 1 FROM h WHERE fate = 'cancelled'
    UNION ALL
    SELECT id, tenant, s + make_interval(secs => wait + (a - 1) * (run + 2)), 'started', 'queued', 'running', a,
           'prod-worker-' || (1 + (r * 3)::int) || ':4242:hist', NULL, 2 * a FROM h, generate_series(1, attempts) a
    UNION ALL
    SELECT id, tenant, s + make_interval(secs => wait + a * run + (a - 1) * 2),
           CASE WHEN a < attempts THEN 'retry_scheduled' WHEN fate = 'failed' THEN 'failed' ELSE 'completed' END,
           'running', CASE WHEN a < attempts THEN 'retrying' WHEN fate = 'failed' THEN 'failed' ELSE 'completed' END, a,
           'prod-worker-' || (1 + (r * 3)::int) || ':4242:hist',
           CASE WHEN a < attempts OR fate = 'failed' THEN err END, 2 * a + 1
    FROM h, generate_series(1, attempts) a
) e ORDER BY at, ord;

-- A worker that stopped cleanly half an hour ago.
INSERT INTO jobgate.workers (id, host, pid, version, queues, concurrency, started_at, last_heartbeat, stopped_at)
VALUES ('prod-worker-9:4242:old', 'prod-worker-9', 4242, '0.0.9', '{images}', 16,
        now() - interval '5 hours', now() - interval '30 minutes', now() - interval '30 minutes');
