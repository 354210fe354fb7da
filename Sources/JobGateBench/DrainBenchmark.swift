import Foundation
import JobGateCore
import JobGateWorker
import JobGatePostgres
import JobGateSystem

/// Pre-fills N `noop` jobs and drains them with one in-process `WorkerPool`, for `jobgate bench`
/// and `bench/`. Durability is unchanged (synchronous_commit as the server has it); history rows
/// are written as always.
public enum DrainBenchmark {
    /// What one run measured.
    public struct Result: Sendable {
        public var jobs: Int
        /// Seconds to submit them (batches of `submitBatch` through `JobStore.submit`).
        public var submitSeconds: Double
        /// Seconds from the worker's start until every job was recorded.
        public var drainSeconds: Double
        public var jobsPerSecond: Double { Double(jobs) / max(drainSeconds, 1e-9) }
        public var submittedPerSecond: Double { Double(jobs) / max(submitSeconds, 1e-9) }
        public var statistics: WorkerPool.Statistics
    }

    /// Runs once on `pool` (a migrated database). `queue` should be empty beforehand.
    public static func run(pool: PostgresPool, jobs: Int, concurrency: Int = 1000, queue: String = "bench",
                           submitBatch: Int = 5000, maxClaimBatch: Int = 1000) async throws -> Result {
        let store = JobStore(pool: pool)
        let submitStart = ContinuousClock.now
        var left = jobs
        while left > 0 {
            let n = min(left, submitBatch)
            _ = try await store.submit((0..<n).map { _ in NewJob(tenant: "bench", type: "noop", queue: queue) })
            left -= n
        }
        let submitSeconds = (ContinuousClock.now - submitStart).seconds
        var config = WorkerPool.Configuration()
        config.concurrency = concurrency
        config.queues = [queue]
        config.maxClaimBatch = maxClaimBatch
        config.gracePeriod = .seconds(5)
        config.log = WorkerLog(minimum: .warn)
        let worker = WorkerPool(store: store, configuration: config, registry: .builtIn())
        let start = ContinuousClock.now
        let task = Task { try await worker.run() }
        while worker.statistics.recorded < jobs {
            try await Task.sleep(for: .milliseconds(2))
        }
        let drainSeconds = (ContinuousClock.now - start).seconds
        task.cancel()
        try await task.value
        return Result(jobs: jobs, submitSeconds: submitSeconds, drainSeconds: drainSeconds, statistics: worker.statistics)
    }

    /// `run` on a fresh queue of the `database` (migrated first), as a bench result
    /// with the history rows written counted.
    public static func measure(database: PostgresConfiguration, jobs: Int, concurrency: Int) async throws -> BenchResult {
        let pool = PostgresPool(configuration: database)
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        let queue = "bench-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let r = try await DrainBenchmark.run(pool: pool, jobs: jobs, concurrency: concurrency, queue: queue)
        let events = try await pool.query(
            "SELECT count(*) FROM jobgate.job_events e JOIN jobgate.jobs j ON j.id = e.job_id WHERE j.queue = $1", [queue]).first?.decode(0, as: Int.self) ?? 0
        var result = BenchResult(mode: "drain", connections: concurrency, seconds: r.drainSeconds)
        result.ok = r.jobs
        result.jobs = r.jobs
        result.notes = ["submitted \(r.jobs) jobs at \(Int(r.submittedPerSecond))/s first; \(events) history rows (3 per job)"]
        return result
    }
}
