import Foundation
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import Synchronization

/// Group commit for submissions (DESIGN.md §8).
///
/// Every HTTP connection's submit becomes a *unit* (one job, or a whole batch); units
/// wait here while up to `maxConcurrentCommits` commits are in flight, and each commit
/// takes every waiting unit (up to `maxBatchJobs` jobs) into ONE `JobStore.submit`
/// transaction. A caller resumes only after the commit holding its unit. Under light
/// load a unit is committed at once; under heavy load batches grow by themselves.
///
/// A unit is all or nothing: a batch unit's jobs share its fate. A unit with an idempotency
/// conflict is rejected on its own inside the shared transaction (`JobStore.submit(units:)`)
/// and its neighbours still commit. A commit whose statement the server refused (so nothing
/// of it was stored) is retried unit by unit, so one bad unit cannot fail its neighbours.
public final class SubmitCommitter: Sendable {
    /// Batching and backpressure limits.
    public struct Configuration: Sendable {
        /// Most jobs in one commit (a single larger unit still goes alone).
        public var maxBatchJobs: Int = 1000
        /// Commits running at once (each holds one pooled connection while it runs).
        public var maxConcurrentCommits: Int = 2
        /// A commit beyond the first starts only when at least this many jobs wait. Single
        /// submits are fastest with one commit in flight (measured on 2 cores: 12.8k/s with
        /// one, 10k/s with two: fewer, larger commits cost PostgreSQL less per job), while
        /// batch submits need a second PostgreSQL backend (about 30k → 42k jobs/s): with 64
        /// clients sending single jobs fewer than 200 ever wait, with batches more do.
        public var parallelCommitMinJobs: Int = 200
        /// Most jobs waiting or committing; more are refused with 429.
        public var maxBacklogJobs: Int = 50_000
        /// How long a commit whose reply was lost may spend finding out, on another connection,
        /// whether its jobs were stored before it answers `outcome_unknown`.
        public var resolveTimeout: Duration = .seconds(5)

        /// The defaults.
        public init() {}
    }

    /// Refused because the backlog is over `maxBacklogJobs`.
    public struct Overloaded: Error, Sendable {}

    /// The database failed and the unit was certainly not stored: the statement never ran,
    /// the server refused it, or its ids were looked up afterwards and are absent (DESIGN.md §12).
    public struct NotStored: Error, Sendable {
        /// What failed.
        public var underlying: any Error
    }

    /// The commit's reply was lost and whether the unit was stored could not be found out
    /// (the database stayed unreachable): the client should retry with the same idempotency key.
    public struct OutcomeUnknown: Error, Sendable {
        /// What failed.
        public var underlying: any Error
    }

    struct Unit: Sendable {
        var jobs: [NewJob]
        /// The ids the unit's jobs get, made on arrival so a lost commit reply can be resolved.
        var ids: [UUID]
        var continuation: CheckedContinuation<UnitOutcome, any Error>
    }

    let store: JobStore
    /// The limits.
    public let configuration: Configuration
    /// Units waiting and committing, each weighing its job count.
    private let state: Mutex<BatchQueue<Unit>>

    /// A committer over `store`.
    public init(store: JobStore, configuration: Configuration = Configuration()) {
        self.store = store
        self.configuration = configuration
        self.state = Mutex(BatchQueue(limits: .init(
            maxBatchWeight: configuration.maxBatchJobs, maxInFlight: configuration.maxConcurrentCommits,
            parallelMinWeight: configuration.parallelCommitMinJobs, maxBacklogWeight: configuration.maxBacklogJobs)))
    }

    /// Jobs waiting for or inside a commit.
    public var backlog: Int { state.withLock { $0.backlog } }

    /// Submits one job as a unit of its own and returns its outcome once committed.
    /// Throws `Overloaded` when the backlog is full, or the store's error.
    public func submit(_ job: NewJob) async throws -> SubmitOutcome {
        try await submit([job]).single
    }

    /// Submits `jobs` as one unit, all or nothing, and returns what became of it once
    /// committed: every job's outcome (in order), or the conflict that kept all of them out.
    /// Throws `Overloaded` when the backlog is full, `APIError.invalidValue` when the database
    /// refused a value of the unit, or the store's error.
    public func submit(_ jobs: [NewJob]) async throws -> UnitOutcome {
        if jobs.isEmpty { return .committed([]) }
        return try await withCheckedThrowingContinuation { continuation in
            let unit = Unit(jobs: jobs, ids: jobs.map { _ in UUIDv7.make() }, continuation: continuation)
            switch state.withLock({ $0.arrive(unit, weight: jobs.count) }) {
            case .refused: continuation.resume(throwing: Overloaded())
            case .waiting: break
            case .start(let batch): run(batch)
            }
        }
    }

    /// Commits `first`, then whatever waits, batch after batch, on one pooled connection's own
    /// thread (`PostgresPool.startBatches`).
    private func run(_ first: BatchQueue<Unit>.Batch) {
        store.pool.startBatches(first: first,
                                work: { batch, conn in self.commit(batch.elements, on: conn) },
                                fail: { batch, error in for unit in batch.elements { unit.continuation.resume(throwing: NotStored(underlying: error)) } },
                                next: { batch in self.state.withLock { $0.finished(weight: batch.weight) } })
    }

    /// One group commit; every unit of `batch` is answered when it returns.
    private func commit(_ batch: [Unit], on conn: PostgresConnection) {
        do {
            let outcomes = try JobStore.submit(units: batch.map(\.jobs), ids: batch.flatMap(\.ids), on: conn)
            for (unit, outcome) in zip(batch, outcomes) { unit.continuation.resume(returning: outcome) }
        } catch {
            if (error as? PostgresError)?.mayHaveTakenEffect ?? true {
                // The connection broke after the statement was sent, or its answer could not be
                // read: the batch may have committed. Never retried (that could store it twice);
                // looked up instead, and each unit told what is true.
                resolve(batch, after: error, backend: conn.backendPID)
                return
            }
            // Certainly not stored. Only a statement the server refused is one unit's mistake.
            let refused = (error as? PostgresError).map { $0.code == .server && !$0.isUnavailable } ?? false
            if batch.count == 1 {
                batch[0].continuation.resume(throwing: Self.ownError(error))
                return
            }
            if !refused || !conn.isHealthy {
                // The shared fate of the batch, no one unit's mistake (a data exception here is a 500).
                for unit in batch { unit.continuation.resume(throwing: Self.shared(error)) }
                return
            }
            // Something in the batch was refused (e.g. a payload jsonb rejects): one by one,
            // so only the culprit fails.
            for unit in batch {
                do { unit.continuation.resume(returning: try JobStore.submit(units: [unit.jobs], ids: unit.ids, on: conn)[0]) } catch {
                    unit.continuation.resume(throwing: Self.ownError(error))
                }
            }
        }
    }

    /// Answers a batch whose commit reply was lost (DESIGN.md §12): on a new connection, waits
    /// for the old server process to finish what it received, then looks the batch's ids up.
    /// A unit whose jobs all exist was stored (the usual answer), one with none was not
    /// (`NotStored`), and when the database stays unreachable until `resolveTimeout` the
    /// answer is `OutcomeUnknown`. Runs on the committing connection's thread (it may block).
    private func resolve(_ batch: [Unit], after error: any Error, backend: Int32) {
        let deadline = ContinuousClock.now + configuration.resolveTimeout
        var found: [UUID: (createdAt: Date, runAt: Date)]?
        while found == nil, ContinuousClock.now < deadline {
            do {
                let lookup = try PostgresConnection(configuration: store.pool.configuration)
                defer { lookup.close() }
                guard try JobStore.waitUntilIdle(backend: backend, on: lookup, until: deadline) else { break }
                found = try JobStore.stored(ids: batch.flatMap(\.ids), on: lookup)
            } catch {
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        Log.warn("a submit commit's reply was lost; resolved by looking its jobs up",
                 ["error": String(describing: error), "jobs": batch.reduce(0) { $0 + $1.ids.count },
                  "outcome": found.map { f in f.isEmpty ? "not stored" : "stored" } ?? "unknown"])
        for unit in batch {
            guard let found else {
                unit.continuation.resume(throwing: OutcomeUnknown(underlying: error))
                continue
            }
            let rows = unit.ids.compactMap { found[$0] }
            if rows.isEmpty {
                unit.continuation.resume(throwing: NotStored(underlying: error))
            } else if rows.count == unit.ids.count {
                let jobs = zip(unit.jobs, zip(unit.ids, rows)).map { job, stored in
                    SubmitOutcome.created(Job(submitted: job, id: stored.0, createdAt: stored.1.createdAt, runAt: stored.1.runAt))
                }
                unit.continuation.resume(returning: .committed(jobs))
            } else {
                // One transaction stores all of a unit or none; a part means something else
                // touched these rows, so claim nothing.
                unit.continuation.resume(throwing: OutcomeUnknown(underlying: error))
            }
        }
    }

    /// A certainly-unstored batch's error: database unavailability says so (`NotStored`),
    /// anything else stays what it is (a server bug is a logged 500).
    private static func shared(_ error: any Error) -> any Error {
        if let e = error as? PostgresError, e.isUnavailable || e.code == .poolClosed { return NotStored(underlying: error) }
        return error
    }

    /// The error of a unit committed on its own: a value of it the database refused (SQLSTATE
    /// class 22) that validation let through is the client's mistake, so a 400, never a 500.
    private static func ownError(_ error: any Error) -> any Error {
        guard let e = error as? PostgresError, e.isDataException else { return shared(error) }
        Log.warn("the database refused a submitted value; answering 400", ["error": e.description, "message": e.message])
        return APIError.invalidValue(sqlState: e.sqlState ?? "22000")
    }
}
