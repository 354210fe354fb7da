import Foundation
import JobGatePostgres

/// The job engine's storage: every read and transition of jobs, each one round trip where
/// possible, with its `job_events` row written in the same statement.
///
/// The HTTP API uses the client side (submit, read, cancel, redrive, output); workers use the
/// worker side (claim, heartbeat, complete, fail, requeue, rescue, prune, registry).
public struct JobStore: Sendable {
    /// The pool all operations run on.
    public let pool: PostgresPool
    /// The NOTIFY channel `submit` and `redrive` signal on (payload: the queue name).
    public static let notifyChannel = JobQueries.channel

    /// A store over `pool` (its SQL names every table with its schema).
    public init(pool: PostgresPool) {
        self.pool = pool
    }

    // MARK: submit

    /// Inserts `jobs` in ONE transaction, each job on its own (a unit of one): a reused
    /// idempotency key yields `.existing` (same request) or `.conflict` (different request),
    /// never an error, and does not keep the other jobs from being stored.
    /// Invalid input (bad JSON payload, priority out of range) fails the whole call.
    public func submit(_ jobs: [NewJob]) async throws -> [SubmitOutcome] {
        try await submit(units: jobs.map { [$0] }).map(\.single)
    }

    /// Inserts `units` (each one client's job or whole batch) in ONE transaction: a multi-row
    /// insert, their `submitted` events and one NOTIFY per distinct queue, in one round trip
    /// when no idempotency key is reused. A unit is all or nothing: when one of its jobs reuses
    /// a key for a different request, the rows the unit inserted are deleted again before
    /// commit and it yields `.conflict`, while the other units are stored as usual. So one
    /// client's conflict neither fails nor half-applies a group commit of many clients' units.
    /// Invalid input (bad JSON payload, priority out of range) fails the whole call.
    ///
    /// The NOTIFY of a rejected unit's queue may still go out at commit: it is only a hint that
    /// makes a worker look for claimable jobs, so a spurious one costs an empty claim.
    public func submit(units: [[NewJob]]) async throws -> [UnitOutcome] {
        try await pool.withConnection { conn in try Self.submit(units: units, on: conn) }
    }

    /// `submit(units:)` on a connection the caller holds, on the connection's thread: for a
    /// group committer that commits batch after batch without leaving that thread. `ids` are
    /// the new jobs' ids, one per job in order (made here when nil): a caller that knows them
    /// can find out afterwards whether a commit whose reply was lost stored them.
    public static func submit(units: [[NewJob]], ids: [UUID]? = nil, on conn: PostgresConnection) throws -> [UnitOutcome] {
        var flat: [NewJob] = [], unitOfJob: [Int] = [], firstJob: [Int] = []
        flat.reserveCapacity(units.count)
        unitOfJob.reserveCapacity(units.count)
        firstJob.reserveCapacity(units.count)
        for (u, unit) in units.enumerated() {
            firstJob.append(flat.count)
            flat.append(contentsOf: unit)
            unitOfJob.append(contentsOf: repeatElement(u, count: unit.count))
        }
        // The jobs in order, each job's unit, and each unit's first job.
        let (jobs, unitOf, start) = (flat, unitOfJob, firstJob)
        if jobs.isEmpty { return units.map { _ in .committed([]) } }
        let ids = ids ?? jobs.map { _ in UUIDv7.make() }
        precondition(ids.count == jobs.count, "one id per job")
        if jobs.allSatisfy({ $0.idempotencyKey == nil }) {
            // Nothing can conflict: the insert, its events and the NOTIFY are one statement,
            // atomic on its own, so it commits without BEGIN/COMMIT round trips.
            let rows = try conn.query(JobQueries.submit, Self.submitParameters(jobs, ids: ids))
            let index = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
            var created = [Job?](repeating: nil, count: jobs.count)
            for row in rows {
                guard let i = index[try row.decode(0, as: UUID.self)] else { continue }
                created[i] = Job(submitted: jobs[i], id: ids[i], createdAt: try row.decode(1), runAt: try row.decode(2))
            }
            guard created.allSatisfy({ $0 != nil }) else {
                throw PostgresError(code: .protocolViolation, message: "the submit statement did not return every job")
            }
            return units.indices.map { u in .committed((start[u]..<start[u] + units[u].count).map { .created(created[$0]!) }) }
        }
        let waves = Self.waves(units)
        return try conn.transaction { conn in
            var outcomes = [SubmitOutcome?](repeating: nil, count: jobs.count)
            // Rejected units: the first conflicting index within the unit and the job it clashed with.
            var rejected: [Int: (index: Int, existingID: UUID)] = [:]
            // Units sharing a key are in different waves, so a reused key's job is always final
            // (committed before, an earlier wave's, or the unit's own): rejecting a unit never
            // invalidates another unit's outcome.
            for wave in waves {
                var pending = wave.flatMap { u in start[u]..<start[u] + units[u].count }
                var rounds = 0
                // A skipped key's job is normally found at once; it can only vanish (pruned) between
                // the insert and the lookup, in which case the insert is simply tried again.
                while !pending.isEmpty {
                    rounds += 1
                    let batch = pending
                    let rows = try conn.query(JobQueries.submit, Self.submitParameters(batch.map { jobs[$0] }, ids: batch.map { ids[$0] }))
                    var inserted: [UUID: (Date, Date)] = [:]
                    for row in rows { inserted[try row.decode(0, as: UUID.self)] = (try row.decode(1), try row.decode(2)) }
                    var skipped: [Int] = []
                    for i in batch {
                        if let (createdAt, runAt) = inserted[ids[i]] {
                            outcomes[i] = .created(Job(submitted: jobs[i], id: ids[i], createdAt: createdAt, runAt: runAt))
                        } else {
                            skipped.append(i)
                        }
                    }
                    pending = []
                    if skipped.isEmpty { break }
                    let found = try conn.query(JobQueries.submitLookup, [
                        skipped.map { jobs[$0].tenant }, skipped.map { jobs[$0].idempotencyKey },
                        skipped.map { jobs[$0].type }, skipped.map { jobs[$0].queue }, skipped.map { jobs[$0].payload },
                        skipped.map { jobs[$0].priority }, skipped.map { jobs[$0].maxAttempts },
                        skipped.map { jobs[$0].timeoutSeconds },
                    ])
                    var newlyRejected: [Int] = []
                    for row in found {
                        let i = skipped[try row.decode(0, as: Int.self) - 1]
                        let same = try row.decode(1, as: Bool.self)
                        let job = try JobRowDecoder.job(row, from: 2)
                        outcomes[i] = same ? .existing(job) : .conflict(existingID: job.id)
                        if !same {
                            let u = unitOf[i]
                            if let r = rejected[u] {
                                if i - start[u] < r.index { rejected[u] = (i - start[u], job.id) }
                            } else {
                                rejected[u] = (i - start[u], job.id)
                                newlyRejected.append(u)
                            }
                        }
                    }
                    // Take back what rejected units inserted (this round or earlier ones).
                    var discard: [UUID] = []
                    for u in newlyRejected {
                        for i in start[u]..<start[u] + units[u].count {
                            if case .created(let j) = outcomes[i] { discard.append(j.id) }
                        }
                    }
                    if !discard.isEmpty { _ = try conn.query(JobQueries.submitDiscard, [discard]) }
                    pending = skipped.filter { outcomes[$0] == nil && rejected[unitOf[$0]] == nil }
                    if rounds >= 3 && !pending.isEmpty {
                        throw PostgresError(code: .protocolViolation, message: "idempotency key lookup kept missing its job")
                    }
                }
            }
            return units.indices.map { u in
                if let r = rejected[u] { return .conflict(index: r.index, existingID: r.existingID) }
                return .committed(outcomes[start[u]..<start[u] + units[u].count].map { $0! })
            }
        }
    }

    /// A tenant's idempotency key, equal only when both are byte for byte (as the unique index
    /// compares them), not merely canonically equivalent as `String ==` would say.
    private struct TenantKey: Hashable {
        var tenant: String
        var key: String

        static func == (a: TenantKey, b: TenantKey) -> Bool {
            a.tenant.utf8.elementsEqual(b.tenant.utf8) && a.key.utf8.elementsEqual(b.key.utf8)
        }

        func hash(into hasher: inout Hasher) {
            for b in tenant.utf8 { hasher.combine(b) }
            hasher.combine(0xFF as UInt8)  // never in UTF-8: separates tenant from key
            for b in key.utf8 { hasher.combine(b) }
        }
    }

    /// Units grouped so that no two units of one wave share an idempotency key (of a tenant),
    /// each unit as early as it can go and after every earlier unit with one of its keys.
    /// Without shared keys (the usual case) this is one wave of all units, in order.
    static func waves(_ units: [[NewJob]]) -> [[Int]] {
        var waves: [[Int]] = [[]]
        var lastWave: [TenantKey: Int] = [:]
        for (u, unit) in units.enumerated() {
            var w = 0
            for job in unit {
                if let key = job.idempotencyKey, let last = lastWave[TenantKey(tenant: job.tenant, key: key)] { w = max(w, last + 1) }
            }
            for job in unit {
                if let key = job.idempotencyKey { lastWave[TenantKey(tenant: job.tenant, key: key)] = w }
            }
            if w == waves.count { waves.append([]) }
            waves[w].append(u)
        }
        return waves
    }

    /// The submit statement's array parameters for `jobs` with their new `ids`.
    static func submitParameters(_ jobs: [NewJob], ids: [UUID]) -> [any PostgresBindable] {
        [ids, jobs.map(\.tenant), jobs.map(\.queue), jobs.map(\.type), jobs.map(\.payload), jobs.map(\.priority),
         jobs.map(\.runAt), jobs.map(\.maxAttempts), jobs.map(\.timeoutSeconds), jobs.map(\.idempotencyKey), jobs.map(\.traceId)]
    }

    /// Which of `ids` exist, with their creation and run times: how a submitter whose commit
    /// reply was lost learns what it stored (JobGate made the ids, so they name its own rows).
    public static func stored(ids: [UUID], on conn: PostgresConnection) throws -> [UUID: (createdAt: Date, runAt: Date)] {
        var found: [UUID: (createdAt: Date, runAt: Date)] = [:]
        for r in try conn.query(JobQueries.storedIDs, [ids]) {
            found[try r.decode(0, as: UUID.self)] = (try r.decode(1), try r.decode(2))
        }
        return found
    }

    /// Waits until the server process `pid` no longer runs a statement or transaction (it has
    /// committed, rolled back or gone), checked from `conn`, another session; false if it still
    /// does at `deadline`. Before that, a commit it received may yet become visible.
    public static func waitUntilIdle(backend pid: Int32, on conn: PostgresConnection, until deadline: ContinuousClock.Instant) throws -> Bool {
        while true {
            let busy = try conn.query(JobQueries.backendBusy, [pid]).first?.decode(0, as: Bool.self) ?? false
            if !busy { return true }
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    // MARK: reads

    /// One job; `tenant` nil reads any tenant's (admin).
    public func job(id: UUID, tenant: String?) async throws -> Job? {
        let rows = try await pool.query(JobQueries.job, [id, tenant])
        return try rows.first.map { try JobRowDecoder.job($0, from: 0) }
    }

    /// The jobs with these ids that exist, in no particular order (any tenant: callers filter),
    /// on a connection the caller holds (the API's coalesced status reads, on the connection's thread).
    public static func jobs(ids: [UUID], on conn: PostgresConnection) throws -> [Job] {
        if ids.isEmpty { return [] }
        return try conn.query(JobQueries.jobsByID, [ids]).map { try JobRowDecoder.job($0, from: 0) }
    }

    /// Jobs newest first, filtered by whatever is not nil; pass the last id of a page as `after`
    /// for the next page (keyset pagination on the time-ordered id).
    public func list(tenant: String?, status: JobStatus? = nil, type: String? = nil, queue: String? = nil,
                     limit: Int = 50, after: UUID? = nil) async throws -> [Job] {
        let params: [any PostgresBindable] = [tenant, status?.rawValue, type, queue, after, max(1, min(limit, 1000))]
        let rows = try await pool.withConnection { try $0.query(JobQueries.list, params, prepare: false) }
        return try rows.map { try JobRowDecoder.job($0, from: 0) }
    }

    /// A job's history, oldest first; empty if the job is unknown to this tenant.
    public func events(jobID: UUID, tenant: String?) async throws -> [JobEvent] {
        let rows = try await pool.query(JobQueries.events, [jobID, tenant])
        return try rows.map { r in
            JobEvent(
                id: try r.decode(0), jobID: try r.decode(1), tenant: try r.decode(2), at: try r.decode(3),
                event: try r.decode(4), fromStatus: (try r.decode(5, as: String?.self)).flatMap(JobStatus.init(rawValue:)),
                toStatus: (try r.decode(6, as: String?.self)).flatMap(JobStatus.init(rawValue:)), attempt: try r.decode(7),
                worker: try r.decode(8), message: try r.decode(9), data: try r.decode(10))
        }
    }

    /// A completed job's output: inline bytes, or the metadata of a file output. Nil when the job
    /// is unknown, not completed, or completed without an output.
    public func output(id: UUID, tenant: String? = nil) async throws -> StoredOutput? {
        guard let r = try await pool.query(JobQueries.output, [id, tenant]).first else { return nil }
        guard let location = OutputLocation(rawValue: try r.decode(3, as: String.self)) else { return nil }
        let meta = JobOutputMetadata(
            size: try r.decode(0), contentType: try r.decode(1), sha256: try r.decode(2, as: [UInt8]?.self) ?? [],
            location: location, path: try r.decode(4))
        return StoredOutput(metadata: meta, content: try r.decode(5, as: [UInt8]?.self))
    }

    // MARK: client transitions

    /// Cancels a job: queued/retrying at once; running via `cancel_requested_at` (its worker stops
    /// it on the next heartbeat and records `cancelled`); finished ones are left alone.
    ///
    /// When the connection breaks after the statement was sent (it may have committed with its
    /// reply lost), it is asked once more: cancelling converges, so a second try is harmless
    /// and finds the job cancelled if the first one did it (DESIGN.md §12).
    public func cancel(id: UUID, tenant: String?, message: String? = nil) async throws -> CancelOutcome {
        do {
            return try await cancelOnce(id: id, tenant: tenant, message: message)
        } catch let e as PostgresError where e.mayHaveTakenEffect {
            switch try await cancelOnce(id: id, tenant: tenant, message: message) {
            case .alreadyFinished(let job) where job.status == .cancelled: return .cancelled(job)
            case let outcome: return outcome
            }
        }
    }

    private func cancelOnce(id: UUID, tenant: String?, message: String?) async throws -> CancelOutcome {
        let rows = try await pool.query(JobQueries.cancel, [id, tenant, message])
        guard let r = rows.first, let previous = try r.decode(0, as: String?.self) else { return .notFound }
        if try r.decode(1, as: UUID?.self) != nil {
            let job = try JobRowDecoder.job(r, from: 1)
            return job.status == .cancelled ? .cancelled(job) : .cancelRequested(job)
        }
        guard let job = try await self.job(id: id, tenant: tenant) else { return .notFound }
        return previous == JobStatus.running.rawValue && !job.status.isFinished ? .cancelRequested(job) : .alreadyFinished(job)
    }

    /// Dead-letter redrive: a failed or cancelled job goes back to `queued` with its attempts reset.
    public func redrive(id: UUID, tenant: String?) async throws -> RedriveOutcome {
        let rows = try await pool.query(JobQueries.redrive, [id, tenant])
        guard let r = rows.first, (try r.decode(0, as: String?.self)) != nil else { return .notFound }
        if try r.decode(1, as: UUID?.self) != nil { return .redriven(try JobRowDecoder.job(r, from: 1)) }
        guard let job = try await self.job(id: id, tenant: tenant) else { return .notFound }
        return .notRedrivable(job)
    }
}
