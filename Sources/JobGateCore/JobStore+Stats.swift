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

extension JobStore {
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
