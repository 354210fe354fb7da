/// All of the dashboard's SQL. Every statement is bounded by time (`job_events_at_idx` range
/// scans over the window), by a partial index (running jobs) or by a small table (`workers`);
/// none scans `jobs` or all of `job_events`. Job rows are only looked up by primary key.
///
/// Parameters are always: $1 the window start (timestamptz), $2 the tenant or NULL for all,
/// then what the statement says. Names are schema-qualified so any pool can run them.
enum DashboardQueries {
    /// Whether the database has ever held a job (cheap: stops at the first row).
    static let hasJobs = """
        SELECT EXISTS (SELECT 1 FROM jobgate.jobs) OR EXISTS (SELECT 1 FROM jobgate.job_events)
        """

    /// Ended attempts per minute of the window, by outcome: minute (epoch seconds), event, count.
    static let throughput = """
        SELECT extract(epoch FROM date_trunc('minute', e.at))::bigint AS minute, e.event, count(*)::bigint
        FROM jobgate.job_events e
        WHERE e.at >= $1 AND ($2::text IS NULL OR e.tenant = $2)
          AND e.event IN ('completed', 'failed', 'cancelled', 'retry_scheduled')
        GROUP BY 1, 2
        """

    /// Run time of the latest $3 completed attempts of the window (started -> completed, the
    /// `started` event found through `job_events_job_idx`), and queue wait of the latest $3 jobs
    /// first started in the window (submitted -> first started), as p50/p95/p99 by type.
    /// Columns: type, runs, run_p50, run_p95, run_p99, waits, wait_p50, wait_p95, wait_p99.
    static let latency = """
        WITH done AS (
            SELECT e.id, e.job_id, e.at FROM jobgate.job_events e
            WHERE e.at >= $1 AND ($2::text IS NULL OR e.tenant = $2) AND e.event = 'completed'
            ORDER BY e.at DESC LIMIT $3
        ), runs AS (
            SELECT coalesce(j.type, '(pruned)') AS type, extract(epoch FROM d.at - s.at)::float8 AS seconds
            FROM done d
            JOIN LATERAL (
                SELECT x.at FROM jobgate.job_events x
                WHERE x.job_id = d.job_id AND x.id < d.id AND x.event = 'started'
                ORDER BY x.id DESC LIMIT 1
            ) s ON true
            LEFT JOIN jobgate.jobs j ON j.id = d.job_id
        ), firsts AS (
            SELECT e.id, e.job_id, e.at FROM jobgate.job_events e
            WHERE e.at >= $1 AND ($2::text IS NULL OR e.tenant = $2) AND e.event = 'started'
              AND NOT EXISTS (SELECT 1 FROM jobgate.job_events p
                              WHERE p.job_id = e.job_id AND p.id < e.id AND p.event = 'started')
            ORDER BY e.at DESC LIMIT $3
        ), waits AS (
            SELECT coalesce(j.type, '(pruned)') AS type, extract(epoch FROM f.at - s.at)::float8 AS seconds
            FROM firsts f
            JOIN LATERAL (
                SELECT x.at FROM jobgate.job_events x
                WHERE x.job_id = f.job_id AND x.id < f.id AND x.event = 'submitted'
                ORDER BY x.id LIMIT 1
            ) s ON true
            LEFT JOIN jobgate.jobs j ON j.id = f.job_id
        ), r AS (
            SELECT type, count(*) AS n,
                   percentile_cont(0.50) WITHIN GROUP (ORDER BY seconds) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) AS p99
            FROM runs GROUP BY type
        ), w AS (
            SELECT type, count(*) AS n,
                   percentile_cont(0.50) WITHIN GROUP (ORDER BY seconds) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) AS p99
            FROM waits GROUP BY type
        )
        SELECT coalesce(r.type, w.type), coalesce(r.n, 0)::bigint, r.p50, r.p95, r.p99,
               coalesce(w.n, 0)::bigint, w.p50, w.p95, w.p99
        FROM r FULL JOIN w ON w.type = r.type
        ORDER BY 1
        """

    /// Failure-side events of the window by job type: type, failed (for good), retried, lease_expired.
    static let failures = """
        SELECT coalesce(j.type, '(pruned)') AS type,
               count(*) FILTER (WHERE e.event = 'failed')::bigint,
               count(*) FILTER (WHERE e.event = 'retry_scheduled')::bigint,
               count(*) FILTER (WHERE e.event = 'lease_expired')::bigint
        FROM jobgate.job_events e
        LEFT JOIN jobgate.jobs j ON j.id = e.job_id
        WHERE e.at >= $1 AND ($2::text IS NULL OR e.tenant = $2)
          AND e.event IN ('failed', 'retry_scheduled', 'lease_expired')
        GROUP BY 1
        ORDER BY 2 DESC, 3 DESC, 1
        """

    /// The latest $3 jobs that failed for good in the window, newest first, with their last error
    /// cut to $4 characters: id, tenant, type, queue, current status, attempt, failed at, error.
    static let recentFailures = """
        SELECT e.job_id, e.tenant, coalesce(j.type, '(pruned)'), coalesce(j.queue, '(pruned)'),
               coalesce(j.status, 'failed'), e.attempt, e.at,
               left(coalesce(j.last_error, e.message, ''), $4::int)
        FROM (
            SELECT job_id, tenant, attempt, at, message FROM jobgate.job_events
            WHERE at >= $1 AND ($2::text IS NULL OR tenant = $2) AND event = 'failed'
            ORDER BY at DESC, id DESC LIMIT $3
        ) e
        LEFT JOIN jobgate.jobs j ON j.id = e.job_id
        ORDER BY e.at DESC
        """

    /// Jobs running now (the `jobs_running_lease_idx` partial index), per worker holding them.
    /// Parameters: none.
    static let runningByWorker = """
        SELECT coalesce(locked_by, ''), count(*)::bigint FROM jobgate.jobs WHERE status = 'running' GROUP BY 1
        """

    /// Running jobs whose current attempt reported progress, newest report first (through the
    /// partial index of running jobs). Parameters: $1 the tenant or NULL for all, $2 the most rows.
    /// Columns: id, tenant, type, queue, attempt, done, total, message, at.
    static let runningProgress = """
        SELECT id, tenant, type, queue, attempt, progress_done, progress_total, progress_message, progress_at
        FROM jobgate.jobs
        WHERE status = 'running' AND progress_attempt = attempt AND ($1::text IS NULL OR tenant = $1)
        ORDER BY progress_at DESC, id
        LIMIT $2
        """

    /// The worker registry: workers seen since $1 (stopped or not), at most $2 rows, newest first.
    /// Columns: id, host, pid, version, queues, concurrency, started_at, last_heartbeat, stopped_at.
    static let workers = """
        SELECT id, host, pid, version, queues, concurrency, started_at, last_heartbeat, stopped_at
        FROM jobgate.workers
        WHERE coalesce(stopped_at, last_heartbeat) >= $1
        ORDER BY (stopped_at IS NULL) DESC, started_at DESC, id
        LIMIT $2
        """

    /// Cron schedules, soonest next slot first (disabled ones last). Parameters: $1 the tenant or
    /// NULL for all, $2 the most rows. The table holds at most 1000 per tenant.
    /// Columns: tenant, name, cron, time_zone, enabled, next_run_at, last_run_at, last_error.
    static let schedules = """
        SELECT tenant, name, cron, time_zone, enabled, next_run_at, last_run_at, last_error FROM jobgate.schedules
        WHERE $1::text IS NULL OR tenant = $1
        ORDER BY next_run_at NULLS LAST, tenant, name
        LIMIT $2
        """
}
