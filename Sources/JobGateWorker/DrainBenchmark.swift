import Foundation
import JobGateCore
import JobGatePostgres

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
        let submitSeconds = seconds(ContinuousClock.now - submitStart)
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
        let drainSeconds = seconds(ContinuousClock.now - start)
        task.cancel()
        try await task.value
        return Result(jobs: jobs, submitSeconds: submitSeconds, drainSeconds: drainSeconds, statistics: worker.statistics)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
