import Foundation
import JobGateCore
import JobGatePostgres

/// Everything the `/dashboard` page shows, read from PostgreSQL by `load(pool:now:tenant:)`.
///
/// Plain values, so `DashboardPage.render` is a pure function and tests can build one by hand.
public struct DashboardData: Sendable, Equatable {
    /// How far back the time-based sections look: 24 hours.
    public static let window: TimeInterval = 24 * 3600
    /// Minutes in the window: one throughput bucket each.
    public static let minutes = 24 * 60
    /// A worker is live when not stopped and its heartbeat is at most this old (2 × the default lease).
    public static let liveHeartbeat: TimeInterval = 60
    /// Stopped or silent workers stay listed this long.
    public static let recentWorkers: TimeInterval = 3600
    /// Latency percentiles use at most this many of the window's latest attempts, keeping a
    /// refresh bounded on a busy system (a sample this size gives stable p99s).
    public static let latencySample = 20_000
    /// Recent failures listed.
    public static let recentFailureLimit = 20
    /// Characters of `last_error` kept per failure.
    public static let errorChars = 400

    /// Ended attempts in one minute, by outcome.
    public struct Minute: Sendable, Equatable {
        /// The minute's start.
        public var start: Date
        /// Attempts completed.
        public var completed = 0
        /// Jobs failed for good.
        public var failed = 0
        /// Jobs cancelled.
        public var cancelled = 0
        /// Failed attempts scheduled for a retry.
        public var retried = 0

        /// A bucket.
        public init(start: Date, completed: Int = 0, failed: Int = 0, cancelled: Int = 0, retried: Int = 0) {
            self.start = start
            self.completed = completed
            self.failed = failed
            self.cancelled = cancelled
            self.retried = retried
        }
    }

    /// p50/p95/p99 of a duration, in seconds.
    public struct Percentiles: Sendable, Equatable {
        /// Samples behind them.
        public var count: Int
        /// Median.
        public var p50: Double
        /// 95th percentile.
        public var p95: Double
        /// 99th percentile.
        public var p99: Double

        /// Percentiles.
        public init(count: Int, p50: Double, p95: Double, p99: Double) {
            self.count = count
            self.p50 = p50
            self.p95 = p95
            self.p99 = p99
        }
    }

    /// Run time and queue wait of one job type over the window.
    public struct TypeLatency: Sendable, Equatable {
        /// The job type.
        public var type: String
        /// Started -> completed of completed attempts; nil when none completed.
        public var run: Percentiles?
        /// Submitted -> first started; nil when none started.
        public var wait: Percentiles?

        /// A row.
        public init(type: String, run: Percentiles?, wait: Percentiles?) {
            self.type = type
            self.run = run
            self.wait = wait
        }
    }

    /// Failure-side events of one job type over the window.
    public struct TypeFailures: Sendable, Equatable {
        /// The job type.
        public var type: String
        /// Jobs failed for good.
        public var failed: Int
        /// Failed attempts scheduled for a retry.
        public var retried: Int
        /// Attempts whose lease expired (worker died or was cut off).
        public var leaseExpired: Int

        /// A row.
        public init(type: String, failed: Int, retried: Int, leaseExpired: Int) {
            self.type = type
            self.failed = failed
            self.retried = retried
            self.leaseExpired = leaseExpired
        }
    }

    /// A worker from the `workers` registry: what it registered (`WorkerInfo`, whose fields
    /// read through, e.g. `worker.host`) and what the registry and its jobs say about it now.
    @dynamicMemberLookup
    public struct Worker: Sendable, Equatable {
        /// How the worker looks from its registry row.
        public enum State: String, Sendable {
            /// Heartbeat within `liveHeartbeat`, not stopped.
            case live
            /// Not stopped, but silent for longer than `liveHeartbeat` (crashed or cut off).
            case silent
            /// Stopped cleanly.
            case stopped
        }

        /// Id, host, pid, version, queues (empty means all) and handler slots.
        public var info: WorkerInfo
        /// When it started.
        public var startedAt: Date
        /// Its last heartbeat.
        public var lastHeartbeat: Date
        /// When it stopped, if it did.
        public var stoppedAt: Date?
        /// Jobs it holds as running now.
        public var running: Int
        /// Live, silent or stopped.
        public var state: State

        /// A row.
        public init(info: WorkerInfo, startedAt: Date, lastHeartbeat: Date, stoppedAt: Date?, running: Int, state: State) {
            self.info = info
            self.startedAt = startedAt
            self.lastHeartbeat = lastHeartbeat
            self.stoppedAt = stoppedAt
            self.running = running
            self.state = state
        }

        /// The registered fields (`id`, `host`, `pid`, `version`, `queues`, `concurrency`).
        public subscript<T>(dynamicMember field: KeyPath<WorkerInfo, T>) -> T { info[keyPath: field] }
    }

    /// A job that failed for good.
    public struct FailedJob: Sendable, Equatable {
        /// Its id.
        public var id: UUID
        /// Its tenant.
        public var tenant: String
        /// Its type.
        public var type: String
        /// Its queue.
        public var queue: String
        /// Its status now (`failed`, or e.g. `queued` again after a redrive).
        public var status: String
        /// The attempt that failed.
        public var attempt: Int
        /// When it failed.
        public var failedAt: Date
        /// Its last error, cut to `errorChars`. Raw text: escape it before showing it.
        public var lastError: String

        /// A row.
        public init(id: UUID, tenant: String, type: String, queue: String, status: String, attempt: Int,
                    failedAt: Date, lastError: String) {
            self.id = id
            self.tenant = tenant
            self.type = type
            self.queue = queue
            self.status = status
            self.attempt = attempt
            self.failedAt = failedAt
            self.lastError = lastError
        }
    }

    /// A cron schedule: when it fires next and when it last did.
    public struct ScheduleRow: Sendable, Equatable {
        public var tenant: String
        public var name: String
        public var cron: String
        public var timeZone: String
        public var enabled: Bool
        /// Its next slot; nil while disabled.
        public var nextRunAt: Date?
        /// When it last fired.
        public var lastRunAt: Date?
        /// Why its last firing made no job. Raw text: escape it before showing it.
        public var lastError: String?

        /// A row.
        public init(tenant: String, name: String, cron: String, timeZone: String, enabled: Bool, nextRunAt: Date?,
                    lastRunAt: Date?, lastError: String?) {
            self.tenant = tenant; self.name = name; self.cron = cron; self.timeZone = timeZone; self.enabled = enabled
            self.nextRunAt = nextRunAt; self.lastRunAt = lastRunAt; self.lastError = lastError
        }
    }

    /// Cron schedules listed at most.
    public static let scheduleLimit = 50

    /// When the data was read.
    public var now: Date
    /// The tenant the time-based sections are limited to; nil for all tenants.
    public var tenant: String?
    /// False on a database that never held a job: the page shows how to submit one.
    public var hasJobs: Bool
    /// One bucket per minute of the window, oldest first (`minutes` of them).
    public var throughput: [Minute]
    /// Depth and oldest waiting age per queue (all tenants: queues are shared).
    public var queues: [QueueStats]
    /// Paused and capped queues (`jobgate queue`, `PUT /v1/queues/{name}`).
    public var queueControls: [QueueControl] = []
    /// The viewer may pause and resume queues (an operator): the page shows the buttons.
    public var canControlQueues = false
    /// Jobs running now (all tenants).
    public var running: Int
    /// Percentiles by type.
    public var latency: [TypeLatency]
    /// Failures by type, most failed first.
    public var failures: [TypeFailures]
    /// Live workers first, then silent and recently stopped ones.
    public var workers: [Worker]
    /// The latest jobs that failed for good, newest first.
    public var recentFailures: [FailedJob]
    /// Cron schedules (the tenant's, or all), soonest first, at most `scheduleLimit`.
    public var schedules: [ScheduleRow]
    /// Running jobs (the tenant's, or all) with their progress, newest report first, at most `progressLimit`.
    public var progress: [ProgressRow] = []

    /// A value (tests and previews); production code uses `load`.
    public init(now: Date, tenant: String? = nil, hasJobs: Bool, throughput: [Minute], queues: [QueueStats], running: Int,
                latency: [TypeLatency], failures: [TypeFailures], workers: [Worker], recentFailures: [FailedJob],
                schedules: [ScheduleRow] = []) {
        self.now = now
        self.tenant = tenant
        self.hasJobs = hasJobs
        self.throughput = throughput
        self.queues = queues
        self.running = running
        self.latency = latency
        self.failures = failures
        self.workers = workers
        self.recentFailures = recentFailures
        self.schedules = schedules
    }

    /// An empty window ending at `now`: every minute present with zero counts.
    public static func emptyThroughput(now: Date) -> [Minute] {
        let end = floor(now.timeIntervalSince1970 / 60) * 60
        let start = end - Double(minutes - 1) * 60
        return (0..<minutes).map { Minute(start: Date(timeIntervalSince1970: start + Double($0) * 60)) }
    }

    /// Totals of the window by outcome.
    public var totals: Minute {
        throughput.reduce(into: Minute(start: throughput.first?.start ?? now)) { t, m in
            t.completed += m.completed
            t.failed += m.failed
            t.cancelled += m.cancelled
            t.retried += m.retried
        }
    }

    /// Workers in state `live`.
    public var liveWorkers: Int { workers.count { $0.state == .live } }

    /// Reads the dashboard: one connection, one read-only snapshot (a repeatable-read transaction)
    /// with a 5 s statement timeout, plus `JobStore.queueStats` (the bounded query behind
    /// `jobgate_queue_depth`). `tenant` limits throughput, latency and failures to one tenant;
    /// queue depth, running jobs and workers are shared by every tenant and always shown whole.
    public static func load(pool: PostgresPool, now: Date = Date(), tenant: String? = nil) async throws -> DashboardData {
        let minutesStart = emptyThroughput(now: now)[0].start
        let windowStart = now.addingTimeInterval(-window)
        var data = try await pool.withConnection { conn in
            try conn.transaction { conn in
                try conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                try conn.query("SET LOCAL statement_timeout = '5s'")
                return try read(conn, now: now, minutesStart: minutesStart, windowStart: windowStart, tenant: tenant)
            }
        }
        let store = JobStore(pool: pool)
        data.queues = try await store.queueStats()
        data.queueControls = try await store.queueControls()
        return data
    }

    private static func read(_ conn: PostgresConnection, now: Date, minutesStart: Date, windowStart: Date,
                             tenant: String?) throws -> DashboardData {
        let hasJobs = try conn.query(DashboardQueries.hasJobs).first?.decode(0, as: Bool.self) ?? false

        var minutes = emptyThroughput(now: now)
        let first = Int(minutesStart.timeIntervalSince1970)
        for row in try conn.query(DashboardQueries.throughput, [minutesStart, tenant]) {
            let i = (try row.decode(0, as: Int.self) - first) / 60
            guard minutes.indices.contains(i) else { continue }
            let n = try row.decode(2, as: Int.self)
            switch try row.decode(1, as: String.self) {
            case "completed": minutes[i].completed += n
            case "failed": minutes[i].failed += n
            case "cancelled": minutes[i].cancelled += n
            default: minutes[i].retried += n
            }
        }

        var latency: [TypeLatency] = []
        for row in try conn.query(DashboardQueries.latency, [windowStart, tenant, latencySample]) {
            func percentiles(_ c: Int) throws -> Percentiles? {
                let n = try row.decode(c, as: Int.self)
                guard n > 0 else { return nil }
                return Percentiles(count: n, p50: try row.decode(c + 1), p95: try row.decode(c + 2), p99: try row.decode(c + 3))
            }
            latency.append(TypeLatency(type: try row.decode(0), run: try percentiles(1), wait: try percentiles(5)))
        }

        let failures = try conn.query(DashboardQueries.failures, [windowStart, tenant]).map { row in
            TypeFailures(type: try row.decode(0), failed: try row.decode(1), retried: try row.decode(2), leaseExpired: try row.decode(3))
        }

        let recent = try conn.query(DashboardQueries.recentFailures, [windowStart, tenant, recentFailureLimit, errorChars]).map { row in
            FailedJob(id: try row.decode(0), tenant: try row.decode(1), type: try row.decode(2), queue: try row.decode(3),
                      status: try row.decode(4), attempt: try row.decode(5), failedAt: try row.decode(6), lastError: try row.decode(7))
        }

        var runningBy: [String: Int] = [:]
        for row in try conn.query(DashboardQueries.runningByWorker) {
            runningBy[try row.decode(0, as: String.self)] = try row.decode(1, as: Int.self)
        }
        let workers = try conn.query(DashboardQueries.workers, [now.addingTimeInterval(-recentWorkers), 100]).map { row in
            let id: String = try row.decode(0)
            let heartbeat: Date = try row.decode(7)
            let stopped: Date? = try row.decode(8)
            let state: Worker.State = stopped != nil ? .stopped
                : now.timeIntervalSince(heartbeat) <= liveHeartbeat ? .live : .silent
            let info = WorkerInfo(id: id, host: try row.decode(1), pid: try row.decode(2), version: try row.decode(3),
                                  queues: try row.decode(4, as: PostgresTextArray.self).elements.compactMap { $0 },
                                  concurrency: try row.decode(5))
            return Worker(info: info, startedAt: try row.decode(6), lastHeartbeat: heartbeat,
                          stoppedAt: stopped, running: runningBy[id] ?? 0, state: state)
        }.sorted { ($0.state.rank, $1.startedAt) < ($1.state.rank, $0.startedAt) }

        let schedules = try conn.query(DashboardQueries.schedules, [tenant, scheduleLimit]).map { row in
            ScheduleRow(tenant: try row.decode(0), name: try row.decode(1), cron: try row.decode(2), timeZone: try row.decode(3),
                        enabled: try row.decode(4), nextRunAt: try row.decode(5), lastRunAt: try row.decode(6), lastError: try row.decode(7))
        }

        var data = DashboardData(now: now, tenant: tenant, hasJobs: hasJobs, throughput: minutes, queues: [],
                                 running: runningBy.values.reduce(0, +), latency: latency, failures: failures,
                                 workers: workers, recentFailures: recent, schedules: schedules)
        data.progress = try readProgress(conn, tenant: tenant)
        return data
    }
}

extension DashboardData.Worker.State {
    fileprivate var rank: Int {
        switch self {
        case .live: 0
        case .silent: 1
        case .stopped: 2
        }
    }
}
