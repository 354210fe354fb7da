import Foundation
import JobGateCore
import JobGatePostgres
import Synchronization

/// A JobGate worker inside another Swift service: the same `WorkerPool` as `jobgate worker`,
/// with its own database connections, running the host's Swift handlers.
///
/// ```swift
/// var handlers = HandlerRegistry()
/// handlers.register("resize", settings: JobTypeSettings(queue: "images")) { (r: Resize, job: JobContext) in
///     try await resize(r)
/// }
/// let worker = EmbeddedWorker(databaseURL: url, handlers: handlers)
/// try await worker.run()   // until its task is cancelled or `shutdown()`; then drains
/// ```
///
/// `run()` migrates the database (unless `Configuration.migrate` is false), writes the
/// registered types to `job_types` (so every API node accepts them), and works until its task
/// is cancelled or `shutdown()` is called. Either way it stops claiming, lets running jobs
/// finish within the grace period (`pool.gracePeriod`, 25 s by default; their tasks are
/// cancelled at its end), hands the unfinished ones back to the queue, and returns. Run it
/// once: it closes its connections when it returns.
///
/// It serves the queues of its registered types by default. Give the host's types a queue of
/// their own (`JobTypeSettings(queue:)`): a worker that claims a job of a type it has no
/// handler for fails that attempt (retryably), so a queue should be served only by workers
/// that know all of its types.
public final class EmbeddedWorker: Sendable {
    /// How an embedded worker connects and behaves.
    public struct Configuration: Sendable {
        /// A libpq connection string or `postgres://` URL; empty for libpq's `PG*` environment.
        public var databaseURL: String
        /// Queues to claim from; nil for the queues of the registered types, empty for every queue.
        public var queues: [String]?
        /// Apply pending migrations before starting (as `jobgate migrate` does; concurrent
        /// migrators wait for each other on a lock).
        public var migrate: Bool = true
        /// Most database connections the worker opens (besides its LISTEN connection).
        public var maxConnections: Int = 8
        /// `application_name` of its connections, as `pg_stat_activity` shows it.
        public var applicationName: String = "jobgate-embedded-worker"
        /// The pool's own settings: `concurrency` (16), `leaseSeconds`, `gracePeriod`,
        /// `outputDirectory` for outputs over `inlineOutputMax`, retention, `log`… `queues`
        /// here is replaced by the resolved `queues` above.
        public var pool: WorkerPool.Configuration = WorkerPool.Configuration()

        /// Settings for the database at `databaseURL`, with defaults for the rest.
        public init(databaseURL: String) {
            self.databaseURL = databaseURL
        }
    }

    /// The configuration it was made with.
    public let configuration: Configuration
    /// The job types it runs.
    public let handlers: HandlerRegistry
    private let database: PostgresPool
    private let worker: WorkerPool
    private let preparation = Mutex<Task<Void, any Error>?>(nil)

    /// A worker for the database at `databaseURL` running `handlers`, `concurrency` jobs at
    /// once, from `queues` (nil: the queues of the registered types).
    public convenience init(databaseURL: String, queues: [String]? = nil, concurrency: Int = 16, handlers: HandlerRegistry) {
        var c = Configuration(databaseURL: databaseURL)
        c.queues = queues
        c.pool.concurrency = concurrency
        self.init(configuration: c, handlers: handlers)
    }

    /// A worker with every setting of `configuration`, running `handlers`.
    public init(configuration: Configuration, handlers: HandlerRegistry) {
        self.configuration = configuration
        self.handlers = handlers
        database = PostgresPool(configuration: Database.configuration(
            url: configuration.databaseURL, maxConnections: configuration.maxConnections, applicationName: configuration.applicationName))
        var pool = configuration.pool
        pool.queues = configuration.queues ?? Self.queues(of: handlers)
        worker = WorkerPool(store: JobStore(pool: database), configuration: pool, registry: handlers)
    }

    deinit { database.shutdown() }

    /// The worker's id (`host:pid:random`): `locked_by` of the jobs it runs, `worker` in their events.
    public var workerID: String { worker.workerID }

    /// The queues it claims from (empty: every queue).
    public var queues: [String] { worker.configuration.queues }

    /// Counters of the jobs it claimed, completed, failed…
    public var statistics: WorkerPool.Statistics { worker.statistics }

    /// Prepares the database without claiming anything yet: applies pending migrations (unless
    /// turned off) and writes the registered types to `job_types`, so that API nodes accept
    /// submits of them once this returns (they reload the table on its NOTIFY, within moments).
    /// `run()` does it first when it was not done; calling it again waits for the first call,
    /// or tries again when that failed.
    public func start() async throws {
        let task = preparation.withLock { task in
            if let task { return task }
            let made = Task { [configuration, handlers, database, worker] in
                if configuration.migrate { _ = try await Migrator(pool: database).migrate() }
                let changes = try await JobTypeStore(pool: database).apply(handlers.declaredSettings, by: worker.workerID)
                for change in changes {
                    worker.log.info("job type written", ["type": change.name, "added": change.before == nil ? "true" : "false",
                                                         "worker.id": worker.workerID])
                }
            }
            task = made
            return made
        }
        do {
            try await task.value
        } catch {
            // A database that was not up yet: the next call tries again.
            preparation.withLock { if $0 == task { $0 = nil } }
            throw error
        }
    }

    /// Works until the calling task is cancelled or `shutdown()` is called, then drains
    /// gracefully (see the type's description) and returns. Throws when the database cannot
    /// be prepared or reached at the start.
    public func run() async throws {
        defer { database.shutdown() }
        try await start()
        try await worker.run()
    }

    /// Asks `run()` to stop gracefully, as cancelling its task does. Before `run()` it makes
    /// `run()` stop as soon as it has started.
    public func shutdown() { worker.shutdown() }

    /// The queues of the registered types (a type without one goes to `default`), sorted.
    static func queues(of handlers: HandlerRegistry) -> [String] {
        Set(handlers.settings.values.map { $0.queue ?? "default" }).sorted()
    }
}
