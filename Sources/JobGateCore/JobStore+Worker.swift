import Foundation
import JobGatePostgres

/// The worker side of the store: claim, lease renewal, fenced results, rescue, retention, registry.
extension JobStore {
    /// Claims up to `limit` claimable jobs of `queues` for `worker`: per queue the first rows in
    /// `priority, run_at, id` order whose `run_at` has come (`FOR UPDATE SKIP LOCKED` over
    /// `jobs_claimable_idx`), set `running` with `attempt + 1` and a lease, with their `started`
    /// events. A queue where several tenants have claimable jobs is shared between them by
    /// weight (docs/scheduling.md): the first statement then claims nothing and names such
    /// queues, and a second claims from all of `queues`. With one tenant per queue (the usual
    /// case) that is one statement, as before fair share.
    ///
    /// `cappedQueues` are the queues the caller knows to have a concurrency cap (`queueControls`,
    /// refreshed every second or so). Claims on them run in a transaction that first locks their
    /// rows, so concurrent claimers take turns and none exceeds the cap; a queue capped since the
    /// caller last looked is skipped by the statement itself until the caller knows.
    public func claim(queues: [String], limit: Int, worker: String, leaseSeconds: Double,
                      cappedQueues: Set<String> = []) async throws -> [ClaimedJob] {
        guard limit > 0, !queues.isEmpty else { return [] }
        let capped = queues.filter(cappedQueues.contains)
        // An empty Swift array casts to [UInt8] and would go as binary bytea: send the literal.
        let none = PostgresParameter.text("{}")
        if capped.isEmpty {
            let first = try Self.claimed(try await pool.query(JobQueries.claim, [queues, limit, worker, leaseSeconds, none]))
            guard first.shared else { return first.jobs }
            return try Self.claimed(try await pool.query(JobQueries.claimShared, [queues, limit, worker, leaseSeconds, none])).jobs
        }
        return try await pool.withConnection { conn in
            try conn.transaction { t in
                let locked = try t.query(JobQueries.lockCappedQueues, [capped]).map { try $0.decode(0, as: String.self) }
                let lockedParameter: any PostgresBindable = locked.isEmpty ? none : locked.postgresParameter
                let first = try Self.claimed(try t.query(JobQueries.claim, [queues, limit, worker, leaseSeconds, lockedParameter]))
                guard first.shared else { return first.jobs }
                return try Self.claimed(try t.query(JobQueries.claimShared, [queues, limit, worker, leaseSeconds, lockedParameter])).jobs
            }
        }
    }

    /// The jobs of a claim statement's rows, and whether `claim` left the claim to
    /// `claimShared` (rows with a NULL id: the queues it found shared).
    private static func claimed(_ rows: PostgresRows) throws -> (jobs: [ClaimedJob], shared: Bool) {
        var out: [ClaimedJob] = []
        var shared = false
        out.reserveCapacity(rows.count)
        for r in rows {
            guard let id = try r.decode(0, as: UUID?.self) else {
                shared = true
                continue
            }
            out.append(ClaimedJob(
                id: id, tenant: try r.decode(1), queue: try r.decode(2), type: try r.decode(3),
                payload: try r.decode(4), attempt: try r.decode(5), maxAttempts: try r.decode(6),
                timeoutSeconds: try r.decode(7), traceId: try r.decode(8), queueWaitSeconds: try r.decode(9)))
        }
        return (out, shared)
    }

    /// Renews the leases of `held`, the jobs `worker` holds (and its `workers` row), in one
    /// statement. Returns the jobs still held, and those whose cancellation was requested. A job
    /// the worker believes it runs but that is not in `renewed` was taken from it (lease expired
    /// and rescued). Jobs locked by `worker` outside `held` are not renewed (DESIGN.md §12).
    public func heartbeat(worker: String, leaseSeconds: Double, held: Set<UUID>) async throws -> HeartbeatResult {
        let rows = try await pool.query(JobQueries.heartbeat, [worker, leaseSeconds, Array(held)])
        var renewed = Set<UUID>(minimumCapacity: rows.count)
        var cancel = Set<UUID>()
        for r in rows {
            let id = try r.decode(0, as: UUID.self)
            renewed.insert(id)
            if try r.decode(1, as: Bool.self) { cancel.insert(id) }
        }
        return HeartbeatResult(renewed: renewed, cancelRequested: cancel)
    }

    /// Records successful attempts in one statement (outputs and `completed` events included),
    /// each fenced on `status = 'running' AND locked_by = worker AND attempt = attempt`.
    public func complete(_ completions: [AttemptCompletion], worker: String) async throws -> FencedResult {
        if completions.isEmpty { return FencedResult(applied: [], fencedOut: []) }
        let params: [any PostgresBindable] = [
            worker,
            completions.map(\.id),
            completions.map(\.attempt),
            completions.map { $0.output?.size },
            completions.map { $0.output?.contentType },
            completions.map { $0.output.map { ByteaText.encode($0.sha256) } },
            completions.map { $0.output?.location.rawValue },
            completions.map { $0.output?.path },
            completions.map { c in c.output?.location == .inline ? ByteaText.encode(c.inlineContent ?? []) : nil },
        ]
        let rows = try await pool.query(JobQueries.complete, params)
        return try Self.fenced(completions.map(\.id), applied: rows)
    }

    /// Records unsuccessful attempts in one statement, as each one's disposition says:
    /// `retrying` after its type's backoff (from `job_types`; the disposition's policy for a type
    /// missing there), `failed`, or `cancelled` (the caller, the worker's state machine, decided
    /// whether attempts remain). Fenced like `complete`.
    public func fail(_ failures: [AttemptFailure], worker: String) async throws -> FencedResult {
        if failures.isEmpty { return FencedResult(applied: [], fencedOut: []) }
        let params: [any PostgresBindable] = [
            worker,
            failures.map(\.id),
            failures.map(\.attempt),
            failures.map(\.message),
            failures.map { f -> String in
                switch f.disposition {
                case .retry: return "retry"
                case .fail: return "fail"
                case .cancel: return "cancel"
                }
            },
            failures.map { f -> Double? in
                if case .retry(let p) = f.disposition { return p.baseSeconds }
                return nil
            },
            failures.map { f -> Double? in
                if case .retry(let p) = f.disposition { return p.capSeconds }
                return nil
            },
        ]
        let rows = try await pool.query(JobQueries.fail, params)
        return try Self.fenced(failures.map(\.id), applied: rows)
    }

    /// Stores the pending progress reports of `worker`'s jobs in one statement, each only while
    /// the worker still runs the attempt that made it (DESIGN.md §14). Returns the ids written;
    /// the others were fenced out (lease lost, job finished or handed back).
    public func recordProgress(_ updates: [ProgressUpdate], worker: String) async throws -> FencedResult {
        if updates.isEmpty { return FencedResult(applied: [], fencedOut: []) }
        let rows = try await pool.query(JobQueries.recordProgress, [
            worker, updates.map(\.id), updates.map(\.attempt), updates.map(\.report.done),
            updates.map(\.report.total), updates.map(\.report.message),
        ])
        return try Self.fenced(updates.map(\.id), applied: rows)
    }

    /// Hands back, as `queued` with the attempt not counted, every running job locked by `worker`
    /// outside `held`: what a claim whose reply was lost left locked. Call it only while no claim
    /// of this worker is in flight. Returns the ids handed back.
    @discardableResult
    public func releaseOrphans(worker: String, held: Set<UUID>) async throws -> [UUID] {
        let rows = try await pool.query(JobQueries.releaseOrphans, [worker, Array(held)])
        return try rows.map { try $0.decode(0, as: UUID.self) }
    }

    /// Graceful shutdown: hands `ids` (still held by `worker`) back as `queued` without counting
    /// the attempt, with `requeued` events. Returns the ids handed back.
    @discardableResult
    public func requeue(worker: String, ids: [UUID]) async throws -> [UUID] {
        if ids.isEmpty { return [] }
        let rows = try await pool.query(JobQueries.requeue, [worker, ids])
        return try rows.map { try $0.decode(0, as: UUID.self) }
    }

    /// Rescues up to `limit` running jobs whose lease expired (their worker died or was cut off),
    /// with `lease_expired` events. Safe to run from many workers at once. A job that gets
    /// another attempt waits its type's backoff from `job_types` (whichever worker rescues it),
    /// or `retry`'s for a type missing from that table.
    public func rescue(limit: Int = 1000, retry: RetryPolicy = RetryPolicy()) async throws -> RescueResult {
        let rows = try await pool.query(JobQueries.rescue, [limit, retry.baseSeconds, retry.capSeconds])
        var result = RescueResult(retried: [], finished: [])
        for r in rows {
            let id = try r.decode(0, as: UUID.self)
            let status = try r.decode(1, as: String.self)
            if status == JobStatus.retrying.rawValue { result.retried.append(id) } else { result.finished.append(id) }
            if let s = JobStatus(rawValue: status) {
                result.outcomes[RescueOutcome(type: try r.decode(2), queue: try r.decode(3), status: s), default: 0] += 1
            }
        }
        return result
    }

    /// Retention, by one worker at a time (nil if another is pruning): finished jobs older than
    /// `jobRetention` seconds (with their inline outputs), then history older than
    /// `historyRetention`: `job_events` day partitions made `partitionDaysAhead` days ahead and
    /// dropped whole once past it, and what remains (the legacy and default partitions) deleted
    /// in batches of `batch` rows so no statement runs long.
    /// Each batch is a transaction holding a transaction-scoped advisory lock (a session lock would
    /// not survive a transaction pooler); if another pruner holds it, this one stops.
    /// Returns the deleted jobs' output files for the caller to remove.
    public func prune(jobRetention: Double, historyRetention: Double, batch: Int = 1000,
                      partitionDaysAhead: Int = 7) async throws -> PruneResult? {
        try await pool.withConnection { conn in
            /// Runs `body` in a transaction holding the prune lock; nil if another pruner holds it.
            func locked<T>(_ body: (PostgresConnection) throws -> T) throws -> T? {
                try conn.transaction { conn in
                    let rows = try conn.query("SELECT pg_try_advisory_xact_lock($1)", [JobQueries.pruneLockKey])
                    guard try rows.first?.decode(0, as: Bool.self) == true else { return nil }
                    return try body(conn)
                }
            }
            var result = PruneResult(jobsDeleted: 0, eventsDeleted: 0, outputFiles: [])
            while true {
                guard let rows = try locked({ try $0.query(JobQueries.pruneJobs, [jobRetention, batch]) }) else {
                    return result.jobsDeleted == 0 ? nil : result
                }
                result.jobsDeleted += rows.count
                for r in rows { if let p = try r.decode(0, as: String?.self) { result.outputFiles.append(p) } }
                if rows.count < batch { break }
            }
            do {
                guard let row = try locked({ try $0.query(JobQueries.maintainEventPartitions, [partitionDaysAhead, historyRetention]).first }) else {
                    return result
                }
                result.partitionsCreated = try row?.decode(0, as: Int.self) ?? 0
                result.partitionsDropped = try row?.decode(1, as: Int.self) ?? 0
            } catch let e as PostgresError where e.code == .server {
                result.partitionProblem = e.message
            }
            while true {
                guard let n = try locked({ try $0.query(JobQueries.pruneEvents, [historyRetention, batch]).affectedRows }) else {
                    return result
                }
                result.eventsDeleted += n
                if n < batch { break }
            }
            try conn.query(JobQueries.pruneWorkers, [max(jobRetention, 86_400)])
            return result
        }
    }

    /// Adds or refreshes `worker`'s row in the registry.
    public func registerWorker(_ worker: WorkerInfo) async throws {
        try await pool.query(JobQueries.registerWorker, [
            worker.id, worker.host, worker.pid, worker.version,
            // An empty Swift array casts to [UInt8] and would go as binary bytea: send the literal.
            worker.queues.isEmpty ? PostgresParameter.text("{}") : worker.queues.postgresParameter,
            worker.concurrency,
        ])
    }

    /// Marks `workerID` stopped in the registry.
    public func stopWorker(_ workerID: String) async throws {
        try await pool.query(JobQueries.stopWorker, [workerID])
    }

    /// The queues with a row in `jobgate.queues` (paused or capped), by name.
    public func queueControls() async throws -> [QueueControl] {
        try await pool.query(JobQueries.queueControls).map { try QueueControl(row: $0) }
    }

    /// Pauses or resumes `queue` (`paused` nil: unchanged) and sets or removes its cap
    /// (`cap`: nil leaves it, `.some(nil)` removes it); idle workers are woken. Returns the queue's row.
    @discardableResult
    public func setQueueControl(_ queue: String, paused: Bool? = nil, cap: Int?? = nil, by: String) async throws -> QueueControl {
        let row = try await pool.query(JobQueries.setQueueControl, [
            queue, paused.map { $0 ? "true" : "false" }.map(PostgresParameter.text) ?? PostgresParameter.null,
            cap != nil, (cap ?? nil).map { PostgresParameter.text(String($0)) } ?? PostgresParameter.null, by,
        ])
        guard let r = row.first else { throw PostgresError(code: .protocolViolation, message: "no row from setQueueControl") }
        return try QueueControl(row: r)
    }

    /// The queues that have claimable jobs (for workers that serve every queue).
    public func claimableQueues() async throws -> [String] {
        try await pool.query(JobQueries.claimableQueues).map { try $0.decode(0, as: String.self) }
    }

    /// The claim of queues shared by several tenants (same parameters), for `EXPLAIN` in tests.
    public static var claimSharedSQL: String { JobQueries.claimShared }

    private static func fenced(_ ids: [UUID], applied rows: PostgresRows) throws -> FencedResult {
        var applied = Set<UUID>(minimumCapacity: rows.count)
        for r in rows { applied.insert(try r.decode(0, as: UUID.self)) }
        return FencedResult(applied: ids.filter { applied.contains($0) }, fencedOut: ids.filter { !applied.contains($0) })
    }
}

/// `bytea` values inside text array parameters: PostgreSQL's hex input form `\x…`.
enum ByteaText {
    private static let digits = Array("0123456789abcdef".utf8)
    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2 + 2)
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "x"))
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Decodes `JobQueries.jobColumns` starting at a column offset.
enum JobRowDecoder {
    static func job(_ r: PostgresRow, from o: Int) throws -> Job {
        let status = try r.decode(o + 6, as: String.self)
        var output: JobOutputMetadata?
        if let loc = try r.decode(o + 23, as: String?.self), let location = OutputLocation(rawValue: loc) {
            output = JobOutputMetadata(
                size: try r.decode(o + 20, as: Int?.self) ?? 0,
                contentType: try r.decode(o + 21, as: String?.self) ?? "application/octet-stream",
                sha256: try r.decode(o + 22, as: [UInt8]?.self) ?? [],
                location: location, path: try r.decode(o + 24))
        }
        var progress: JobProgress?
        if let done = try r.decode(o + 25, as: Int64?.self), let at = try r.decode(o + 28, as: Date?.self) {
            progress = JobProgress(done: done, total: try r.decode(o + 26), message: try r.decode(o + 27), at: at)
        }
        return Job(
            id: try r.decode(o), tenant: try r.decode(o + 1), queue: try r.decode(o + 2), type: try r.decode(o + 3),
            payload: try r.decode(o + 4), priority: try r.decode(o + 5),
            status: JobStatus(rawValue: status) ?? .queued,
            attempt: try r.decode(o + 7), maxAttempts: try r.decode(o + 8), runAt: try r.decode(o + 9),
            createdAt: try r.decode(o + 10), startedAt: try r.decode(o + 11), finishedAt: try r.decode(o + 12),
            timeoutSeconds: try r.decode(o + 13), leaseExpiresAt: try r.decode(o + 14), lockedBy: try r.decode(o + 15),
            cancelRequestedAt: try r.decode(o + 16), idempotencyKey: try r.decode(o + 17), lastError: try r.decode(o + 18),
            traceId: try r.decode(o + 19), output: output, progress: progress)
    }
}
