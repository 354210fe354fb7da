import Foundation
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import JobGateWorker
import Synchronization
import Testing

/// Queue pause/resume and concurrency caps (DESIGN.md §14) across several worker pools, each
/// with its own connections, as on several hosts.
@Suite struct QueueControlTests {
    /// A registry whose `slow` jobs take `seconds`.
    private func slowRegistry(_ seconds: Double) -> HandlerRegistry {
        var r = HandlerRegistry.builtIn()
        r.register("slow", handler: ClosureHandler { _ in
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        })
        return r
    }

    private func count(_ pool: PostgresPool, _ sql: String) async throws -> Int {
        try await pool.query(sql).first?.decode(0, as: Int.self) ?? -1
    }

    @Test func aCapIsNeverExceededByThreeWorkersClaimingAtOnce() async throws {
        let f = try await EngineFixture.make("qcap", maxConnections: 4)
        defer { f.pool.shutdown() }
        try await JobTypeStore(pool: f.pool).apply(["slow": JobTypeSettings()], by: "test")
        try await f.store.setQueueControl("capped", cap: .some(3), by: "test")
        _ = try await f.store.submit((0..<45).map { _ in NewJob(tenant: "t", type: "slow", queue: "capped") })
        let pools = (0..<3).map { _ in f.newPool(maxConnections: 4) }
        defer { for p in pools { p.shutdown() } }
        let workers = pools.map { p in
            // A lease far longer than the test: a rescue (a starved heartbeat) would start a job again.
            f.worker({ $0.queues = ["capped"]; $0.concurrency = 8; $0.pollInterval = .milliseconds(100); $0.leaseSeconds = 120 },
                     registry: slowRegistry(0.3), pool: p)
        }
        let runs = workers.map { w in Task { try await w.run() } }
        // Sample `running` every 100 ms until every job is done.
        var peak = 0
        var samples = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            peak = max(peak, try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE queue = 'capped' AND status = 'running'"))
            samples += 1
            if try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE queue = 'capped' AND status = 'completed'") == 45 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        for w in workers { w.shutdown() }
        for r in runs { try await r.value }
        #expect(try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 45)
        #expect(peak <= 3, "\(peak) running at once with a cap of 3")
        // The cap, not the workers' 24 slots, was the limit: it was reached.
        #expect(peak == 3, "peak \(peak) over \(samples) samples")
        // Never exceeded between samples either: replaying the history (into `running` +1, out
        // of it −1), at most 3 were running at any moment (a claim counts only completions committed before it,
        // whose events are older than its own).
        let concurrent = try await count(f.pool, """
            SELECT max(running)::int FROM (
                SELECT sum(CASE WHEN e.to_status = 'running' THEN 1 ELSE -1 END) OVER (ORDER BY e.at, e.id) AS running
                FROM jobgate.job_events e JOIN jobgate.jobs j ON j.id = e.job_id
                WHERE j.queue = 'capped' AND (e.to_status = 'running' OR e.from_status = 'running')
            ) r
            """)
        #expect(concurrent <= 3, "the history shows \(concurrent) running at once")
    }

    @Test func aPausedQueueIsNotClaimedFromWithinASecondAndResumes() async throws {
        let f = try await EngineFixture.make("qpause", maxConnections: 4)
        defer { f.pool.shutdown() }
        let pools = (0..<2).map { _ in f.newPool(maxConnections: 4) }
        defer { for p in pools { p.shutdown() } }
        // A long lease: its calls' deadlines (a third of it) hold on a loaded machine, where the
        // fixture's 3 s lease gave 1 s claims that timed out until the first job took over 20 s.
        let workers = pools.map { p in f.worker({ $0.queues = ["p"]; $0.leaseSeconds = 30 }, pool: p) }
        let runs = workers.map { w in Task { try await w.run() } }
        _ = try await f.store.submit([NewJob(tenant: "t", type: "noop", queue: "p")])
        #expect(try await eventually(timeout: .seconds(20)) {
            try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 1
        })

        let paused = try await f.store.setQueueControl("p", paused: true, by: "test")
        #expect(paused.paused && paused.concurrencyCap == nil)
        try await Task.sleep(for: .seconds(1))
        _ = try await f.store.submit((0..<20).map { _ in NewJob(tenant: "t", type: "noop", queue: "p") })
        // Other queues are not held up: a worker on them is unaffected (the claim is per queue).
        try await Task.sleep(for: .seconds(3))
        #expect(try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'queued'") == 20, "claimed while paused")

        let resumed = try await f.store.setQueueControl("p", paused: false, by: "test")
        #expect(!resumed.paused)
        #expect(try await eventually(timeout: .seconds(20)) {
            try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 21
        })
        for w in workers { w.shutdown() }
        for r in runs { try await r.value }
    }

    @Test func aClaimerThatDoesNotKnowOfACapTakesNothingFromTheQueue() async throws {
        let f = try await EngineFixture.make("qstale")
        defer { f.pool.shutdown() }
        _ = try await f.store.submit((0..<10).map { _ in NewJob(tenant: "t", type: "noop", queue: "c") })
        try await f.store.setQueueControl("c", cap: .some(4), by: "test")
        // Its cache of capped queues is stale: it must not count without the queue's lock.
        #expect(try await f.store.claim(queues: ["c", "other"], limit: 10, worker: "w1", leaseSeconds: 30).isEmpty)
        let first = try await f.store.claim(queues: ["c"], limit: 10, worker: "w1", leaseSeconds: 30, cappedQueues: ["c"])
        #expect(first.count == 4)
        #expect(try await f.store.claim(queues: ["c"], limit: 10, worker: "w2", leaseSeconds: 30, cappedQueues: ["c"]).isEmpty)
        // Raising the cap and removing it; pausing keeps the cap.
        try await f.store.setQueueControl("c", cap: .some(6), by: "test")
        #expect(try await f.store.claim(queues: ["c"], limit: 10, worker: "w2", leaseSeconds: 30, cappedQueues: ["c"]).count == 2)
        let pausedCapped = try await f.store.setQueueControl("c", paused: true, by: "test")
        #expect(pausedCapped.paused && pausedCapped.concurrencyCap == 6)
        let uncapped = try await f.store.setQueueControl("c", paused: false, cap: .some(nil), by: "test")
        #expect(!uncapped.paused && uncapped.concurrencyCap == nil)
        #expect(try await f.store.claim(queues: ["c"], limit: 10, worker: "w3", leaseSeconds: 30).count == 4)
        #expect(try await f.store.queueControls().map(\.name) == ["c"])
        // A name the queue rule refuses changes nothing.
        await #expect(throws: PostgresError.self) { try await f.store.setQueueControl("bad name", paused: true, by: "test") }
    }
}
