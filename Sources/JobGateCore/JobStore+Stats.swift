import JobGatePostgres

// The store's reads for metrics and health: what the collectors cache for scrapes. Their SQL
// is in `JobQueries`, with every other job statement.

/// Depth and oldest waiting age of one queue.
public struct QueueStats: Sendable, Equatable {
    /// The queue.
    public var queue: String
    /// Jobs ready to run now (`queued`/`retrying` with `run_at` reached), capped (see `JobStore.queueStats`).
    public var ready: Int
    /// Seconds since the `run_at` of the oldest ready job; 0 when none is ready.
    public var oldestAgeSeconds: Double

    /// Stats for one queue.
    public init(queue: String, ready: Int, oldestAgeSeconds: Double) {
        self.queue = queue
        self.ready = ready
        self.oldestAgeSeconds = oldestAgeSeconds
    }
}

/// A queue as operators see it (DESIGN.md §14, `GET /v1/queues`, `jobgate queue list`): its
/// controls and what it holds now.
public struct QueueView: Sendable, Equatable {
    /// Its controls: a queue without a row is not paused and has no cap (`hasRow` false).
    public var control: QueueControl
    /// Whether `jobgate.queues` has a row for it (someone paused or capped it once).
    public var hasRow: Bool
    /// Jobs ready to run now, counted up to the stats' depth cap.
    public var ready: Int
    /// Seconds the oldest ready job has waited; 0 when none is ready.
    public var oldestReadySeconds: Double

    /// A view.
    public init(control: QueueControl, hasRow: Bool, ready: Int, oldestReadySeconds: Double) {
        self.control = control; self.hasRow = hasRow; self.ready = ready; self.oldestReadySeconds = oldestReadySeconds
    }
}

extension JobStore {
    /// Every queue that has a row, ready jobs or running jobs, by name: controls, depth (capped
    /// at `depthCap`, as the metrics are) and running jobs, from three cheap reads.
    public func queues(depthCap: Int = QueueStatsCollector.defaultDepthCap) async throws -> [QueueView] {
        async let controls = queueControls()
        async let stats = queueStats(depthCap: depthCap)
        async let runningRows = pool.query(JobQueries.runningByQueue)
        var running: [String: Int] = [:]
        for row in try await runningRows { running[try row.decode(0, as: String.self)] = try row.decode(1, as: Int.self) }
        var byName: [String: QueueView] = [:]
        for c in try await controls { byName[c.name] = QueueView(control: c, hasRow: true, ready: 0, oldestReadySeconds: 0) }
        for s in try await stats {
            byName[s.queue, default: QueueView(control: QueueControl(name: s.queue), hasRow: false, ready: 0, oldestReadySeconds: 0)]
                .ready = s.ready
            byName[s.queue]!.oldestReadySeconds = s.oldestAgeSeconds
        }
        for (name, n) in running {
            byName[name, default: QueueView(control: QueueControl(name: name), hasRow: false, ready: 0, oldestReadySeconds: 0)]
                .control.running = n
        }
        return byName.values.sorted { $0.control.name < $1.control.name }
    }

    /// Per-queue depth and oldest age from `jobs_claimable_idx` alone (see `JobQueries.queueStats`):
    /// cost grows with the number of (queue, priority) pairs and `depthCap`, not with the backlog
    /// or history. Depth is exact up to `depthCap` per priority and reported as at most `depthCap`.
    public func queueStats(depthCap: Int = QueueStatsCollector.defaultDepthCap) async throws -> [QueueStats] {
        let rows = try await pool.query(JobQueries.queueStats, [depthCap])
        var byQueue: [String: QueueStats] = [:]
        for row in rows {
            let queue = try row.decode(0, as: String.self)
            let ready = try row.decode(1, as: Int.self)
            let age = ready > 0 ? try row.decode(2, as: Double.self) : 0
            var s = byQueue[queue] ?? QueueStats(queue: queue, ready: 0, oldestAgeSeconds: 0)
            s.ready = min(s.ready + ready, depthCap)
            s.oldestAgeSeconds = max(s.oldestAgeSeconds, age)
            byQueue[queue] = s
        }
        return byQueue.values.sorted { $0.queue < $1.queue }
    }
}

extension JobStore {
    /// How far this store's server, a standby, is behind in replay, in seconds (0 on a primary, or
    /// when everything received is replayed).
    public func replicaLagSeconds() async throws -> Double {
        try await pool.query(JobQueries.replicaLag).first?.decode(0, as: Double.self) ?? 0
    }

    /// Workers that have not stopped and sent a heartbeat within `seconds` (see `JobQueries.liveWorkers`).
    public func liveWorkerCount(within seconds: Double) async throws -> Int {
        try await pool.query(JobQueries.liveWorkers, [seconds]).first?.decode(0, as: Int.self) ?? 0
    }
}

extension JobStore {
    /// The queue stats statement ($1 = depth cap), for `EXPLAIN` in plan-regression tests.
    public static var queueStatsSQL: String { JobQueries.queueStats }
}
