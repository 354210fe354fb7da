/// Every SQL statement of the job engine, in one place (River's driver layer).
///
/// Each transition updates `jobs` and writes its `job_events` row in ONE statement
/// (data-modifying CTEs), so history can never disagree with state. Values always
/// travel as parameters; batches travel as arrays and are expanded with `unnest`.
///
/// Over 400 lines on purpose: all of the engine's SQL is read and reviewed together (the
/// fencing, lock order and event rows of every transition side by side), as the house habits ask.
package enum JobQueries {
    /// The NOTIFY channel; the payload is the queue name.
    static let channel = "jobgate_jobs"

    /// The columns `JobRowDecoder` reads, in order, for a relation aliased `a`
    /// (the `jobs` table, or a CTE that returned these names).
    static func jobColumns(_ a: String) -> String {
        """
        \(a).id, \(a).tenant, \(a).queue, \(a).type, \(a).payload::text AS payload, \(a).priority, \(a).status, \(a).attempt, \
        \(a).max_attempts, \(a).run_at, \(a).created_at, \(a).started_at, \(a).finished_at, \(a).timeout_seconds, \
        \(a).lease_expires_at, \(a).locked_by, \(a).cancel_requested_at, \(a).idempotency_key, \(a).last_error, \(a).trace_id, \
        \(a).output_size, \(a).output_content_type, \(a).output_sha256, \(a).output_location, \(a).output_path, \
        \(progress(a))
        """
    }
    static let jobColumnCount = 29

    /// The progress columns of the attempt the job is on: another attempt's report (the one
    /// before a retry) reads as none (migration 0009).
    static func progress(_ a: String) -> String {
        ["done", "total", "message", "at"].map {
            "CASE WHEN \(a).progress_attempt = \(a).attempt THEN \(a).progress_\($0) END AS progress_\($0)"
        }.joined(separator: ", ")
    }

    /// The request fingerprint for idempotency conflicts: what the job would do, not when
    /// (`runAt` is left out so a replayed `delaySeconds` is the same request). The payload
    /// goes through `jsonb` so key order and whitespace do not matter. `jobgate.submit` (migration
    /// 0004) holds this expression verbatim for `i`, so a key used through the API and through
    /// SQL means one job; change both together (SQLSubmitTests checks the migration contains it).
    static func requestHash(_ a: String) -> String {
        """
        sha256(convert_to(concat_ws(E'\\n', \(a).type, \(a).queue, \(a).payload::jsonb::text, \(a).priority::text, \
        \(a).max_attempts::text, \(a).timeout_seconds::text), 'UTF8'))
        """
    }

    // MARK: submit

    /// $1 ids, $2 tenants, $3 queues, $4 types, $5 payloads, $6 priorities, $7 run_at (NULL = now),
    /// $8 max_attempts, $9 timeouts, $10 idempotency keys, $11 trace ids.
    /// Rows whose key already exists are skipped (ON CONFLICT DO NOTHING, which waits for a
    /// concurrent inserter of the same key and then skips): the caller looks them up.
    package static let submit = """
        WITH input AS (
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                                 $7::timestamptz[], $8::int[], $9::int[], $10::text[], $11::text[])
                AS i(id, tenant, queue, type, payload, priority, run_at, max_attempts, timeout_seconds, idempotency_key, trace_id)
        ), ins AS (
            INSERT INTO jobgate.jobs (id, tenant, queue, type, payload, priority, run_at, max_attempts, timeout_seconds,
                              idempotency_key, trace_id, request_hash)
            SELECT i.id, i.tenant, i.queue, i.type, i.payload::jsonb, i.priority, coalesce(i.run_at, now()), i.max_attempts,
                   i.timeout_seconds, i.idempotency_key, i.trace_id,
                   CASE WHEN i.idempotency_key IS NOT NULL THEN \(requestHash("i")) END
            FROM input i
            ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING *
        ), ev AS (
            INSERT INTO jobgate.job_events (job_id, tenant, event, to_status, attempt)
            SELECT id, tenant, 'submitted', 'queued', 0 FROM ins
        ), notify AS (
            SELECT pg_notify('\(channel)', q.queue) FROM (SELECT DISTINCT queue FROM ins) q
        )
        SELECT j.id, j.created_at, j.run_at FROM ins j, (SELECT count(*) FROM notify) n
        """

    /// The existing jobs for keys that were skipped, and whether each request matches.
    /// $1 tenants, $2 keys, $3 types, $4 queues, $5 payloads, $6 priorities, $7 max_attempts, $8 timeouts.
    static let submitLookup = """
        SELECT i.ord, (j.request_hash IS NOT DISTINCT FROM \(requestHash("i"))) AS same, \(jobColumns("j"))
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[])
                 WITH ORDINALITY AS i(tenant, idempotency_key, type, queue, payload, priority, max_attempts, timeout_seconds, ord)
        JOIN jobgate.jobs j ON j.tenant = i.tenant AND j.idempotency_key = i.idempotency_key
        """

    /// Takes back, inside the submitting transaction, the rows a rejected unit had inserted:
    /// the jobs and their `submitted` events (the only events a job not yet committed can have).
    /// $1 job ids.
    static let submitDiscard = """
        WITH j AS (DELETE FROM jobgate.jobs WHERE id = ANY($1::uuid[]))
        DELETE FROM jobgate.job_events WHERE job_id = ANY($1::uuid[]) AND event = 'submitted'
        """

    /// $1 ids: those that exist (a submit whose reply was lost looks its own ids up).
    static let storedIDs = "SELECT id, created_at, run_at FROM jobgate.jobs WHERE id = ANY($1::uuid[])"

    /// $1 a server process id: whether that backend (not this one) is still in a statement or
    /// a transaction. Only sessions of the same role show their state, as JobGate's do.
    static let backendBusy = """
        SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                       WHERE pid = $1 AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle')
        """

    // MARK: reads

    /// $1 id, $2 tenant (NULL = any).
    static let job = "SELECT \(jobColumns("j")) FROM jobgate.jobs j WHERE j.id = $1 AND ($2::text IS NULL OR j.tenant = $2)"

    /// Many jobs by id at once (coalesced status reads). $1 ids.
    static let jobsByID = "SELECT \(jobColumns("j")) FROM jobgate.jobs j WHERE j.id = ANY($1::uuid[])"

    /// Newest first, keyset on id. $1 tenant, $2 status, $3 type, $4 queue, $5 after (exclusive), $6 limit; NULL = any.
    /// Sent unprepared so each call is planned with its values (the optional filters would defeat a generic plan).
    static let list = """
        SELECT \(jobColumns("j")) FROM jobgate.jobs j
        WHERE ($1::text IS NULL OR j.tenant = $1) AND ($2::text IS NULL OR j.status = $2)
          AND ($3::text IS NULL OR j.type = $3) AND ($4::text IS NULL OR j.queue = $4)
          AND ($5::uuid IS NULL OR j.id < $5)
        ORDER BY j.id DESC LIMIT $6
        """

    /// $1 job id, $2 tenant (NULL = any).
    static let events = """
        SELECT id, job_id, tenant, at, event, from_status, to_status, attempt, worker, message, data::text
        FROM jobgate.job_events WHERE job_id = $1 AND ($2::text IS NULL OR tenant = $2) ORDER BY id
        """

    /// $1 id, $2 tenant (NULL = any).
    static let output = """
        SELECT j.output_size, j.output_content_type, j.output_sha256, j.output_location, j.output_path, o.content
        FROM jobgate.jobs j LEFT JOIN jobgate.job_outputs o ON o.job_id = j.id
        WHERE j.id = $1 AND ($2::text IS NULL OR j.tenant = $2) AND j.status = 'completed' AND j.output_location IS NOT NULL
        """

    // MARK: client transitions

    /// $1 id, $2 tenant (NULL = any), $3 message. Queued/retrying → cancelled; running → cancel requested
    /// (once). `previous` is NULL when no job matched; `u.*` NULL when nothing changed.
    static let cancel = """
        WITH target AS (
            SELECT id, status, cancel_requested_at FROM jobgate.jobs
            WHERE id = $1 AND ($2::text IS NULL OR tenant = $2) FOR UPDATE
        ), u AS (
            UPDATE jobgate.jobs j SET
                status = CASE WHEN t.status IN ('queued', 'retrying') THEN 'cancelled' ELSE j.status END,
                finished_at = CASE WHEN t.status IN ('queued', 'retrying') THEN now() ELSE j.finished_at END,
                cancel_requested_at = coalesce(j.cancel_requested_at, now())
            FROM target t
            WHERE j.id = t.id AND (t.status IN ('queued', 'retrying') OR (t.status = 'running' AND t.cancel_requested_at IS NULL))
            RETURNING j.*, t.status AS from_status
        ), ev AS (
            INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt, message)
            SELECT id, tenant, CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'cancel_requested' END,
                   from_status, status, attempt, $3
            FROM u
        )
        SELECT t.status AS previous, \(jobColumns("u")) FROM target t LEFT JOIN u ON u.id = t.id
        """

    /// $1 id, $2 tenant (NULL = any). Failed/cancelled → queued with attempts reset, and a NOTIFY.
    static let redrive = """
        WITH target AS (
            SELECT id, status FROM jobgate.jobs WHERE id = $1 AND ($2::text IS NULL OR tenant = $2) FOR UPDATE
        ), u AS (
            UPDATE jobgate.jobs j SET status = 'queued', attempt = 0, run_at = now(), started_at = NULL, finished_at = NULL,
                cancel_requested_at = NULL, locked_by = NULL, lease_expires_at = NULL, last_error = NULL,
                progress_attempt = NULL, progress_done = NULL, progress_total = NULL, progress_message = NULL, progress_at = NULL
            FROM target t WHERE j.id = t.id AND t.status IN ('failed', 'cancelled')
            RETURNING j.*, t.status AS from_status
        ), ev AS (
            INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt)
            SELECT id, tenant, 'redriven', from_status, 'queued', 0 FROM u
        )
        SELECT t.status AS previous, \(jobColumns("u")),
               CASE WHEN u.id IS NOT NULL THEN pg_notify('\(channel)', u.queue)::text END AS notified
        FROM target t LEFT JOIN u ON u.id = t.id
        """

    // MARK: worker transitions

    /// $1 the capped queues among a claim's, locked in name order until the claim commits:
    /// claimers of a capped queue take turns, each counting what the previous one claimed.
    static let lockCappedQueues = """
        SELECT name FROM jobgate.queues WHERE name = ANY($1::text[]) AND concurrency_cap IS NOT NULL
        ORDER BY name FOR UPDATE
        """

    /// Running jobs per queue, through the partial index of running jobs.
    static let runningByQueue = """
        SELECT queue, count(*)::int FROM jobgate.jobs WHERE status = 'running' GROUP BY queue
        """

    /// Queues with a row (paused or capped), by name.
    /// With each queue's running jobs (through the partial index of running jobs).
    static let queueControls = """
        SELECT q.name, q.paused, q.concurrency_cap, q.updated_by, q.updated_at,
               (SELECT count(*) FROM jobgate.jobs r WHERE r.status = 'running' AND r.queue = q.name)::int AS running
        FROM jobgate.queues q ORDER BY q.name
        """

    /// $1 queue, $2 paused (NULL: unchanged), $3 set the cap (bool), $4 cap (NULL: none), $5 by. Upserts
    /// the queue's row and wakes idle workers (a resume or a raised cap frees work); returns the row.
    static let setQueueControl = """
        WITH up AS (
            INSERT INTO jobgate.queues AS q (name, paused, concurrency_cap, updated_by)
            VALUES ($1, coalesce($2::bool, false), CASE WHEN $3::bool THEN $4::int END, $5)
            ON CONFLICT (name) DO UPDATE SET
                paused = coalesce($2::bool, q.paused),
                concurrency_cap = CASE WHEN $3::bool THEN $4::int ELSE q.concurrency_cap END,
                updated_by = $5, updated_at = now()
            RETURNING name, paused, concurrency_cap, updated_by, updated_at
        ), wake AS (
            SELECT pg_notify('\(channel)', name) FROM up
        )
        SELECT up.*, (SELECT count(*) FROM jobgate.jobs r WHERE r.status = 'running' AND r.queue = up.name)::int AS running
        FROM up, (SELECT count(*) FROM wake) w
        """

    /// $1 worker, $2 lease seconds, $3 the ids the worker holds. Renews the leases of exactly
    /// those jobs (never "everything locked by me": a claim whose reply was lost left jobs locked
    /// by this worker that no handler runs, and renewing them would keep them `running` for good)
    /// and the worker's registry row. Rows are locked in id order, as in every multi-row write.
    static let heartbeat = """
        WITH held AS (
            SELECT id FROM jobgate.jobs WHERE id = ANY($3::uuid[]) AND status = 'running' AND locked_by = $1
            ORDER BY id FOR UPDATE
        ), renewed AS (
            UPDATE jobgate.jobs j SET lease_expires_at = now() + make_interval(secs => $2::float8)
            FROM held h WHERE j.id = h.id
            RETURNING j.id, j.cancel_requested_at IS NOT NULL AS cancel
        ), w AS (
            UPDATE jobgate.workers SET last_heartbeat = now() WHERE id = $1
        )
        SELECT id, cancel FROM renewed
        """

    /// $1 worker, $2 ids, $3 attempts, $4 done, $5 totals, $6 messages: the pending progress
    /// reports of a worker's jobs in one statement (DESIGN.md §14), each applied only while the
    /// worker still runs that attempt (fenced like a completion, rows locked in id order like
    /// every multi-row write). Returns the ids written.
    static let recordProgress = """
        WITH held AS (\(fencedLock)
        ), input AS (
            SELECT * FROM unnest($2::uuid[], $3::int[], $4::int8[], $5::int8[], $6::text[]) AS i(id, attempt, done, total, message)
        )
        UPDATE jobgate.jobs j SET progress_attempt = i.attempt, progress_done = i.done, progress_total = i.total,
            progress_message = i.message, progress_at = now()
        FROM held h JOIN input i ON i.id = h.id
        WHERE j.id = h.id AND j.attempt = i.attempt
        RETURNING j.id
        """

    /// The rows of ids `$2` that worker `$1` still runs, locked in id order: every multi-row
    /// write locks in one order, so a worker's batched completion and its heartbeat cannot
    /// deadlock. The attempt is checked by the write that follows, on the locked row. Found by
    /// `id = ANY($2)`, an index condition on the primary key (in a pgbench of the completion,
    /// somewhat faster than joining the input here). `status || ''` keeps the planner off
    /// jobs_running_lease_idx: with statistics saying few rows run, it nested-looped that index
    /// against the input (1000 x 1000 comparisons, 200-800 ms a batch).
    private static let fencedLock = """

            SELECT j.id FROM jobgate.jobs j
            WHERE j.id = ANY($2::uuid[]) AND j.status || '' = 'running' AND j.locked_by = $1
            ORDER BY j.id FOR UPDATE OF j
        """

    /// The rows of `input` that this statement did not apply (`applied`) but that worker `$1`
    /// already recorded at the same attempt (one of `events`): an earlier try of the same write
    /// committed and only its reply was lost, so the retry is that write's success, not a
    /// fenced-out result.
    ///
    /// Costs nothing on the usual path: the one-time filter skips it when every input row was
    /// applied. Otherwise one index probe per row (`LATERAL … LIMIT 1` on job_events_job_idx):
    /// as a plain `EXISTS`, the planner semi-joined it against a scan of all of `job_events`
    /// whenever that table's statistics were stale (completions at 2,200 jobs/s instead of
    /// 17,000 in a pgbench of this statement).
    private static func alreadyRecorded(events: String, applied: String) -> String {
        """
        SELECT c.id FROM input c
        CROSS JOIN LATERAL (
            SELECT 1 FROM jobgate.job_events e WHERE e.job_id = c.id AND e.attempt = c.attempt AND e.worker = $1
              AND e.event IN (\(events)) LIMIT 1
        ) recorded
        WHERE (SELECT count(*) FROM \(applied)) < (SELECT count(*) FROM input)
          AND NOT EXISTS (SELECT 1 FROM \(applied) a WHERE a.id = c.id)
        """
    }

    /// $1 worker, then per job: $2 id, $3 attempt, $4 size, $5 content type, $6 sha256, $7 location,
    /// $8 path, $9 inline content. Fenced on status, worker and attempt; returns the ids recorded
    /// (now or by an earlier try whose reply was lost). `jobgate.complete_jobs` (migration 0011):
    /// the rows locked as `fencedLock` does, set completed, their inline outputs and `completed`
    /// events written, then `alreadyRecorded` for `'completed'`. A function so that its plan is
    /// made once per session (a completion of one job planned in 0.52 ms and ran in 0.16 ms).
    package static let complete = """
        SELECT id FROM jobgate.complete_jobs($1::text, $2::uuid[], $3::int[], $4::bigint[], $5::text[], $6::bytea[],
                                             $7::text[], $8::text[], $9::bytea[])
        """

    /// $1 worker, then per job: $2 id, $3 attempt, $4 message, $5 disposition (retry/fail/cancel),
    /// $6 retry delay seconds. Fenced on status, worker and attempt; returns the ids recorded (now or
    /// by an earlier try whose reply was lost).
    static let fail = """
        WITH input AS (
            SELECT * FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::float8[], $7::float8[])
                AS c(id, attempt, message, disposition, base, cap)
        ), held AS (\(fencedLock)
        ), backoff AS (
            -- The type's backoff from job_types; the worker's policy when the type is not there.
            SELECT c.id, \(backoffSeconds(attempt: "c.attempt", base: "coalesce(t.backoff_base_seconds, c.base)",
                                           cap: "coalesce(t.backoff_cap_seconds, c.cap)")) AS delay
            FROM input c JOIN jobgate.jobs j ON j.id = c.id LEFT JOIN jobgate.job_types t ON t.name = j.type
            WHERE c.disposition = 'retry'
        ), u AS (
            UPDATE jobgate.jobs j SET
                status = CASE c.disposition WHEN 'cancel' THEN 'cancelled' WHEN 'fail' THEN 'failed' ELSE 'retrying' END,
                run_at = CASE WHEN c.disposition = 'retry' THEN now() + make_interval(secs => b.delay) ELSE j.run_at END,
                finished_at = CASE WHEN c.disposition = 'retry' THEN NULL ELSE now() END,
                lease_expires_at = NULL, locked_by = NULL, last_error = c.message
            FROM held h JOIN input c ON c.id = h.id LEFT JOIN backoff b ON b.id = h.id
            WHERE j.id = h.id AND j.id = ANY($2::uuid[]) AND j.attempt = c.attempt
            RETURNING j.id, j.tenant, j.attempt, j.status, j.run_at, c.message, b.delay
        ), ev AS (
            INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt, worker, message, data)
            SELECT id, tenant, CASE status WHEN 'retrying' THEN 'retry_scheduled' ELSE status END, 'running', status,
                   attempt, $1, message,
                   CASE WHEN status = 'retrying' THEN jsonb_build_object('delaySeconds', delay, 'runAt', run_at) END
            FROM u
        )
        SELECT id FROM u
        UNION ALL
        \(alreadyRecorded(events: "'retry_scheduled', 'failed', 'cancelled'", applied: "u"))
        """

    /// $1 worker, $2 ids. Graceful shutdown: running → queued without counting the attempt
    /// (or → cancelled if a cancel was requested meanwhile).
    static let requeue = handBack(selecting: "id = ANY($2::uuid[])", message: "worker shut down before the job finished")

    /// $1 worker, $2 the ids it holds. Every other running job locked by the worker goes back
    /// to `queued` at once, attempt not counted: a claim committed but its reply was lost, so no
    /// handler runs them. The worker sends it only while no claim of its own is in flight.
    static let releaseOrphans = handBack(
        selecting: "NOT (id = ANY($2::uuid[]))", message: "the worker never received this claim (its reply was lost)")

    /// Running jobs of worker $1 matching `selecting` back to `queued` without counting the
    /// attempt (or → cancelled if a cancel was requested meanwhile), locked in id order.
    private static func handBack(selecting: String, message: String) -> String {
        """
        WITH target AS (
            SELECT id FROM jobgate.jobs WHERE \(selecting) AND status = 'running' AND locked_by = $1
            ORDER BY id FOR UPDATE
        ), u AS (
            UPDATE jobgate.jobs j SET
                status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'queued' END,
                finished_at = CASE WHEN j.cancel_requested_at IS NOT NULL THEN now() END,
                attempt = j.attempt - 1, locked_by = NULL, lease_expires_at = NULL
            FROM target t WHERE j.id = t.id
            RETURNING j.id, j.tenant, j.attempt, j.status, j.queue
        ), ev AS (
            INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt, worker, message)
            SELECT id, tenant, CASE status WHEN 'cancelled' THEN 'cancelled' ELSE 'requeued' END, 'running', status,
                   attempt + 1, $1, '\(message)'
            FROM u
        ), notify AS (
            SELECT pg_notify('\(channel)', q.queue) FROM (SELECT DISTINCT queue FROM u) q
        )
        SELECT u.id FROM u, (SELECT count(*) FROM notify) n
        """
    }

    /// The backoff in seconds after attempt `attempt` under a policy (`base`, `cap`): the one
    /// copy of `RetryPolicy`'s formula, `d/2 + random(0...d/2)` with `d = min(cap, base·2^(n-1))`
    /// (the exponent stops at 62 so the power stays finite). Spliced into `fail` and `rescue`.
    static func backoffSeconds(attempt: String, base: String, cap: String) -> String {
        "least(\(cap), \(base) * power(2, least(\(attempt) - 1, 62))) * (0.5 + random() / 2)"
    }

    /// $1 limit, $2 backoff base seconds, $3 backoff cap seconds (for a type missing from
    /// `job_types`; a known type's backoff comes from there). Running jobs whose lease expired:
    /// back to `retrying` with backoff, `failed` when attempts are used up, `cancelled` when a cancel
    /// was requested. SKIP LOCKED lets many rescuers run at once without double-rescuing.
    static let rescue = """
        WITH expired AS (
            SELECT id, locked_by, type FROM jobgate.jobs
            WHERE status = 'running' AND lease_expires_at < now()
            ORDER BY lease_expires_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        ), u AS (
            UPDATE jobgate.jobs j SET
                status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                              WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'retrying' END,
                run_at = CASE WHEN j.cancel_requested_at IS NULL AND j.attempt < j.max_attempts
                              THEN now() + make_interval(secs => \(backoffSeconds(attempt: "j.attempt", base: "p.base", cap: "p.cap")))
                              ELSE j.run_at END,
                finished_at = CASE WHEN j.cancel_requested_at IS NULL AND j.attempt < j.max_attempts THEN NULL ELSE now() END,
                locked_by = NULL, lease_expires_at = NULL,
                last_error = 'lease expired: worker ' || coalesce(e.locked_by, '?') || ' stopped renewing it'
            -- Re-checked on the row itself: a job finished between the scan and this write keeps
            -- its result (River #1302).
            FROM expired e, LATERAL (
                SELECT coalesce(t.backoff_base_seconds, $2::float8) AS base, coalesce(t.backoff_cap_seconds, $3::float8) AS cap
                FROM (SELECT 1) one LEFT JOIN jobgate.job_types t ON t.name = e.type
            ) p
            WHERE j.id = e.id AND j.status = 'running' AND j.lease_expires_at < now()
            RETURNING j.id, j.tenant, j.attempt, j.status, e.locked_by AS old_worker, j.last_error, j.type, j.queue
        ), ev AS (
            INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt, worker, message)
            SELECT id, tenant, 'lease_expired', 'running', status, attempt, old_worker, last_error FROM u
        )
        SELECT id, status, type, queue FROM u
        """

    // MARK: job types

    /// The NOTIFY channel of `job_types` changes (no payload: listeners reload the table).
    static let jobTypesChannel = "jobgate_job_types"

    /// Every job type.
    static let jobTypes = """
        SELECT name, queue, max_attempts, timeout_seconds, backoff_base_seconds, backoff_cap_seconds FROM jobgate.job_types
        """

    /// $1–$6 arrays (name, queue, max attempts, timeout, backoff base, cap), $7 who writes,
    /// $8 overwrite. Inserts missing types; with $8 updates those that differ. Returns each
    /// row written with its values before (NULL when inserted), and NOTIFYs when any was.
    static let applyJobTypes = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::float8[], $6::float8[])
                AS t(name, queue, max_attempts, timeout_seconds, base, cap)
        ), old AS (
            SELECT jt.* FROM jobgate.job_types jt JOIN input i ON i.name = jt.name
        ), up AS (
            INSERT INTO jobgate.job_types AS jt (name, queue, max_attempts, timeout_seconds, backoff_base_seconds, backoff_cap_seconds, updated_by)
            SELECT name, queue, max_attempts, timeout_seconds, base, cap, $7 FROM input
            ON CONFLICT (name) DO UPDATE SET
                queue = EXCLUDED.queue, max_attempts = EXCLUDED.max_attempts, timeout_seconds = EXCLUDED.timeout_seconds,
                backoff_base_seconds = EXCLUDED.backoff_base_seconds, backoff_cap_seconds = EXCLUDED.backoff_cap_seconds,
                updated_by = EXCLUDED.updated_by, updated_at = now()
            WHERE $8::bool AND (jt.queue, jt.max_attempts, jt.timeout_seconds, jt.backoff_base_seconds, jt.backoff_cap_seconds)
                IS DISTINCT FROM (EXCLUDED.queue, EXCLUDED.max_attempts, EXCLUDED.timeout_seconds,
                                  EXCLUDED.backoff_base_seconds, EXCLUDED.backoff_cap_seconds)
            RETURNING jt.name
        ), notify AS (
            SELECT pg_notify('\(jobTypesChannel)', '') WHERE EXISTS (SELECT 1 FROM up)
        )
        SELECT i.name, i.queue, i.max_attempts, i.timeout_seconds, i.base, i.cap,
               o.queue, o.max_attempts, o.timeout_seconds, o.backoff_base_seconds, o.backoff_cap_seconds
        FROM up JOIN input i ON i.name = up.name LEFT JOIN old o ON o.name = up.name, (SELECT count(*) FROM notify) n
        ORDER BY i.name
        """

    // MARK: retention

    /// An arbitrary fixed advisory-lock key: one pruner at a time.
    static let pruneLockKey: Int64 = 0x6A6F_6267_6174_6502

    /// $1 retention seconds, $2 batch. Finished jobs (their inline outputs cascade); returns file paths.
    static let pruneJobs = """
        WITH doomed AS (
            SELECT id FROM jobgate.jobs WHERE finished_at < now() - make_interval(secs => $1::float8)
            ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED
        )
        DELETE FROM jobgate.jobs j USING doomed d WHERE j.id = d.id
        RETURNING CASE WHEN j.output_location = 'file' THEN j.output_path END
        """

    /// $1 retention seconds, $2 batch.
    static let pruneEvents = """
        DELETE FROM jobgate.job_events WHERE (id, at) IN (
            SELECT id, at FROM jobgate.job_events WHERE at < now() - make_interval(secs => $1::float8) ORDER BY at LIMIT $2)
        """

    /// $1 days ahead, $2 retention seconds: day partitions of `job_events` made ahead and
    /// dropped when wholly past retention (migration 0005); returns (created, dropped).
    static let maintainEventPartitions = "SELECT created, dropped FROM jobgate.maintain_event_partitions($1::int, $2::float8)"

    /// $1 retention seconds: registry rows of workers gone for longer.
    static let pruneWorkers = """
        DELETE FROM jobgate.workers WHERE coalesce(stopped_at, last_heartbeat) < now() - make_interval(secs => $1::float8)
        """

    // MARK: workers and queues

    /// $1 id, $2 host, $3 pid, $4 version, $5 queues, $6 concurrency.
    static let registerWorker = """
        INSERT INTO jobgate.workers (id, host, pid, version, queues, concurrency) VALUES ($1, $2, $3, $4, $5::text[], $6)
        ON CONFLICT (id) DO UPDATE SET last_heartbeat = now(), stopped_at = NULL
        """

    /// $1 id.
    static let stopWorker = "UPDATE jobgate.workers SET stopped_at = now(), last_heartbeat = now() WHERE id = $1"

    /// Queues with claimable jobs: a loose index scan over `jobs_claimable_idx`, one probe per queue.
    static let claimableQueues = """
        WITH RECURSIVE q AS (
            (SELECT queue FROM jobgate.jobs WHERE status IN ('queued', 'retrying') ORDER BY queue LIMIT 1)
            UNION ALL
            SELECT (SELECT queue FROM jobgate.jobs WHERE status IN ('queued', 'retrying') AND queue > q.queue ORDER BY queue LIMIT 1)
            FROM q WHERE q.queue IS NOT NULL
        )
        SELECT queue FROM q WHERE queue IS NOT NULL
        """

    // MARK: metrics

    /// $1 cap per (queue, priority). Depth and oldest age for `jobgate_queue_*` gauges, cheap
    /// at any backlog: a loose index scan over `jobs_claimable_idx` finds each (queue, priority)
    /// (one probe each, at most 1000 groups), then per group one probe for the oldest `run_at`
    /// and a ready count that stops after $1 index entries. Never a count over the table.
    static let queueStats = """
        WITH RECURSIVE g AS (
            (SELECT queue, priority FROM jobgate.jobs WHERE status IN ('queued', 'retrying') ORDER BY queue, priority LIMIT 1)
            UNION ALL
            SELECT n.queue, n.priority FROM g CROSS JOIN LATERAL (
                SELECT queue, priority FROM jobgate.jobs
                WHERE status IN ('queued', 'retrying') AND (queue, priority) > (g.queue, g.priority)
                ORDER BY queue, priority LIMIT 1
            ) n
        ), groups AS (SELECT queue, priority FROM g LIMIT 1000)
        SELECT g.queue,
            (SELECT count(*) FROM (
                SELECT 1 FROM jobgate.jobs WHERE status IN ('queued', 'retrying') AND queue = g.queue
                    AND priority = g.priority AND run_at <= now() LIMIT $1) c)::bigint AS ready,
            coalesce(greatest(extract(epoch FROM now() - (
                SELECT run_at FROM jobgate.jobs WHERE status IN ('queued', 'retrying') AND queue = g.queue
                    AND priority = g.priority ORDER BY run_at LIMIT 1)), 0), 0)::float8 AS oldest_age
        FROM groups g
        """

    /// A standby's replay lag in seconds: 0 on a primary, and 0 when it has replayed everything
    /// it received (an idle primary sends nothing, so the last replayed commit only grows older).
    static let replicaLag = """
        SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8
        """

    /// $1 seconds: workers not stopped whose last heartbeat is at most that old. The registry is
    /// small (rows of workers gone longer than the retention are pruned), so this is cheap.
    static let liveWorkers = """
        SELECT count(*)::bigint FROM jobgate.workers
        WHERE stopped_at IS NULL AND last_heartbeat >= now() - make_interval(secs => $1::float8)
        """
}
