import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
@testable import JobGateWorker
import Testing

/// DESIGN.md §12 for the worker's write paths, with faults injected for real: a TCP proxy
/// between the worker and PostgreSQL forwards a statement, lets it commit and drops its answer,
/// or cuts the connection before it arrives.
@Suite(.serialized) struct CommitBoundaryTests {
    /// A fixture whose second pool reaches the database through a fault proxy.
    struct Proxied {
        let f: EngineFixture
        let proxy: FaultProxy
        let proxiedPool: PostgresPool

        static func make(_ prefix: String) async throws -> Proxied {
            let f = try await EngineFixture.make(prefix)
            let proxy = try FaultProxy.forTestServer()
            let pool = PostgresPool(configuration: Database.configuration(url: proxy.url(database: f.db.name), maxConnections: 6))
            return Proxied(f: f, proxy: proxy, proxiedPool: pool)
        }

        func stop() {
            proxiedPool.shutdown()
            proxy.stop()
            f.pool.shutdown()
        }
    }

    /// Bug 1 of the issue: a claim commits, its reply is lost. The worker must hand those jobs
    /// back at once rather than renew their leases forever; with a 120 s lease, only the hand-back
    /// (not lease expiry) can finish them within the test's 60 s (a few seconds when the disk
    /// is not starved; CI's runs beside 300 other tests took longer than 15).
    @Test func aClaimWhoseReplyIsLostIsHandedBackAndRunsLongBeforeTheLease() async throws {
        let p = try await Proxied.make("claimlost")
        defer { p.stop() }
        let ids = try await p.f.store.submit((0..<20).map { _ in NewJob(tenant: "t", type: "noop") }).map(\.jobID)
        p.proxy.arm(.init(sql: "jobgate.claim_jobs(", action: .dropReply))
        let worker = p.f.worker({ $0.leaseSeconds = 120; $0.queues = ["default"] }, pool: p.proxiedPool)
        let done = try await worker.runUntil(timeout: .seconds(60)) {
            try await p.f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == ids.count
        }
        #expect(p.proxy.fired == 1, "the claim's reply was dropped")
        #expect(done, "every job completed although the first claim's reply was lost")
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'running'") == 0)
        // The lost claim's jobs were handed back without counting the attempt, then ran once.
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.job_events WHERE event = 'requeued' AND message LIKE '%never received%'") > 0)
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.jobs WHERE attempt <> 1") == 0)
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.job_events WHERE event = 'completed'") == ids.count)
    }

    /// The heartbeat renews exactly the ids it is given, never "everything locked by me", and
    /// what a lost claim left locked is handed back by `releaseOrphans`.
    @Test func heartbeatRenewsOnlyHeldJobsAndOrphansAreHandedBack() async throws {
        let f = try await EngineFixture.make("held")
        defer { f.pool.shutdown() }
        _ = try await f.store.submit((0..<3).map { _ in NewJob(tenant: "t", type: "noop") })
        let claimed = try await f.store.claim(queues: ["default"], limit: 3, worker: "w", leaseSeconds: 1)
        #expect(claimed.count == 3)
        let held: Set<UUID> = [claimed[0].id]
        let hb = try await f.store.heartbeat(worker: "w", leaseSeconds: 600, held: held)
        #expect(hb.renewed == held)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE lease_expires_at > now() + interval '60 seconds'") == 1)
        let back = try await f.store.releaseOrphans(worker: "w", held: held)
        #expect(Set(back) == Set(claimed[1...].map(\.id)))
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'queued' AND attempt = 0 AND locked_by IS NULL") == 2)
        #expect(try await f.store.job(id: claimed[0].id, tenant: nil)?.status == .running)
        #expect(try await f.events(claimed[1].id) == ["submitted", "started", "requeued"])
    }

    /// A heartbeat whose reply is lost renewed the leases anyway; the worker must not treat its
    /// jobs as lost: they complete once, nothing fenced, nothing rescued.
    ///
    /// A heartbeat waits for its lost reply until its deadline (a third of the lease) and 2 s
    /// more, so with a lease of L the next renewal can come L/3 + 2 s + one heartbeat interval
    /// after the lost one, against L for the lease it renewed: a 3 s lease left no margin (a
    /// loaded machine could expire it), 12 s leaves 4 s. The jobs outlast both lost replies.
    @Test func aHeartbeatWhoseReplyIsLostLosesNoJob() async throws {
        let p = try await Proxied.make("hblost")
        defer { p.stop() }
        let ids = try await p.f.store.submit((0..<4).map { _ in
            NewJob(tenant: "t", type: "weather", payload: #"{"records": 2, "durationSeconds": 14}"#)
        }).map(\.jobID)
        p.proxy.arm(.init(sql: "renewed AS", action: .dropReply, times: 2))
        let worker = p.f.worker({ $0.leaseSeconds = 12; $0.queues = ["default"] }, pool: p.proxiedPool)
        let done = try await worker.runUntil(timeout: .seconds(60)) {
            try await p.f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == ids.count
        }
        #expect(p.proxy.fired == 2)
        #expect(done)
        #expect(worker.statistics.fencedOut == 0 && worker.statistics.dropped == 0)
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.job_events WHERE event = 'lease_expired'") == 0)
    }

    /// Bug 2: a completion commits, its reply is lost, the retry is refused by fencing and the
    /// output files were deleted. The retry must recognise its own commit and keep them.
    @Test func aCompletionWhoseReplyIsLostKeepsItsOutputFiles() async throws {
        let p = try await Proxied.make("completelost")
        defer { p.stop() }
        let ids = try await p.f.store.submit((0..<5).map { _ in NewJob(tenant: "t", type: "weather", payload: #"{"records": 3}"#) }).map(\.jobID)
        p.proxy.arm(.init(sql: "jobgate.complete_jobs(", action: .dropReply))
        let worker = p.f.worker({ $0.inlineOutputMax = 0; $0.queues = ["default"]; $0.leaseSeconds = 30 }, pool: p.proxiedPool)
        let done = try await worker.runUntil(timeout: .seconds(15)) {
            try await p.f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == ids.count
        }
        #expect(p.proxy.fired == 1)
        #expect(done)
        #expect(worker.statistics.fencedOut == 0, "the retried completion is its own commit, not a fenced-out result")
        for id in ids {
            let job = try #require(try await p.f.store.job(id: id, tenant: nil))
            let path = try #require(job.output?.path, "a file output")
            #expect(FileManager.default.fileExists(atPath: path), "the output of \(id) is still there")
        }
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.job_events WHERE event = 'completed'") == ids.count)
    }

    /// A failure whose reply is lost is recognised the same way (it is not counted as fenced out).
    @Test func aFailureWhoseReplyIsLostIsRecognisedOnRetry() async throws {
        let p = try await Proxied.make("faillost")
        defer { p.stop() }
        let id = try await p.f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"records": "x"}"#)])[0].jobID
        p.proxy.arm(.init(sql: "retry_scheduled", action: .dropReply))
        let worker = p.f.worker({ $0.queues = ["default"]; $0.leaseSeconds = 30 }, pool: p.proxiedPool)
        let run = Task { try await worker.run() }
        let done = try await eventually(timeout: .seconds(15)) { try await p.f.status(id) == .failed }
        worker.shutdown()
        try await run.value
        #expect(p.proxy.fired == 1)
        #expect(done)
        #expect(worker.statistics.fencedOut == 0)
        #expect(try await p.f.events(id) == ["submitted", "started", "failed"])
    }

    /// Bug 4: a worker's batched completion and its heartbeat locked the same rows in different
    /// orders and deadlocked. Every multi-row write now locks in id order.
    @Test func completionAndHeartbeatBatchesOverTheSameRowsNeverDeadlock() async throws {
        let f = try await EngineFixture.make("deadlock")
        defer { f.pool.shutdown() }
        for round in 0..<6 {
            _ = try await f.store.submit((0..<400).map { _ in NewJob(tenant: "t", type: "noop") })
            let claimed = try await f.store.claim(queues: ["default"], limit: 400, worker: "w", leaseSeconds: 30)
            let held = Set(claimed.map(\.id))
            // Completions in a shuffled order, against heartbeats over all of them, at once.
            let shuffled = claimed.shuffled()
            let halves = [Array(shuffled[..<200]), Array(shuffled[200...])]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for half in halves {
                    group.addTask {
                        _ = try await f.store.complete(half.map { AttemptCompletion(id: $0.id, attempt: $0.attempt, output: nil, inlineContent: nil) },
                                                       worker: "w")
                    }
                }
                for _ in 0..<3 {
                    group.addTask { _ = try await f.store.heartbeat(worker: "w", leaseSeconds: 30, held: held) }
                }
                try await group.waitForAll()
            }
            #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'running'") == 0, "round \(round)")
        }
    }

    /// River #1302: the rescuer must not overwrite a job completed between its scan and its write.
    @Test func theRescuerNeverOverwritesAJobFinishedMeanwhile() async throws {
        let f = try await EngineFixture.make("rescuerace")
        defer { f.pool.shutdown() }
        let id = try await f.store.submit([NewJob(tenant: "t", type: "noop")])[0].jobID
        let c = try #require(try await f.store.claim(queues: ["default"], limit: 1, worker: "w", leaseSeconds: 30).first)
        try await f.pool.query("UPDATE jobgate.jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
        // The worker's completion is in progress (row locked, not committed) while a rescuer runs.
        let completing = try await HeldSession(url: f.db.url)
        defer { completing.close() }
        try await completing.run("BEGIN")
        try await completing.run("SELECT 1 FROM jobgate.jobs WHERE id = $1 FOR UPDATE", [id])
        #expect(try await f.store.rescue().count == 0, "a locked row is skipped")
        try await completing.run("ROLLBACK")
        let r = try await f.store.complete([AttemptCompletion(id: id, attempt: c.attempt, output: nil, inlineContent: nil)], worker: "w")
        #expect(r.applied == [id])
        #expect(try await f.store.rescue().count == 0)
        #expect(try await f.status(id) == .completed)
    }

    /// River #1321: a worker whose heartbeat writes fail must stop claiming (it could not keep
    /// the leases), and must not cause another live worker's jobs to be rescued.
    @Test func aWorkerWhoseHeartbeatsFailStopsClaimingAndLiveWorkersKeepTheirJobs() async throws {
        let p = try await Proxied.make("hbfail")
        defer { p.stop() }
        let sick = p.f.worker({ $0.leaseSeconds = 3; $0.queues = ["default"]; $0.concurrency = 2 }, pool: p.proxiedPool)
        p.proxy.arm(.init(sql: "renewed AS", parameter: sick.workerID, action: .cut, times: 1_000_000))
        let healthyPool = p.f.newPool()
        defer { healthyPool.shutdown() }
        // The live worker's lease is longer than the sick one's: on a loaded CI machine a 3 s
        // lease has expired between two healthy heartbeats (due every second) and been rescued,
        // which is not what this test is about (its jobs must not be rescued because of the
        // sick worker; lease renewal has tests of its own).
        let healthy = p.f.worker({ $0.leaseSeconds = 10; $0.queues = ["default"]; $0.concurrency = 2 }, pool: healthyPool)
        let runs = [Task { try await sick.run() }, Task { try await healthy.run() }]
        // Long jobs for both, then (after the sick worker's heartbeats have failed twice) short ones.
        _ = try await p.f.store.submit((0..<4).map { _ in NewJob(tenant: "t", type: "weather", payload: #"{"records": 1, "durationSeconds": 5}"#) })
        try await Task.sleep(for: .seconds(3))
        let later = try await p.f.store.submit((0..<6).map { _ in NewJob(tenant: "t", type: "noop") }).map(\.jobID)
        let done = try await eventually(timeout: .seconds(30)) {
            try await p.f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 10
        }
        for w in [sick, healthy] { w.shutdown() }
        for r in runs { try await r.value }
        #expect(done)
        #expect(p.proxy.fired >= 2, "the sick worker's heartbeats failed")
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.job_events WHERE event = 'started' AND worker = $1 AND job_id = ANY($2::uuid[])",
                                    [sick.workerID, later]) == 0, "the sick worker claimed nothing after its heartbeats failed")
        #expect(try await p.f.count("SELECT count(*) FROM jobgate.job_events WHERE event = 'lease_expired' AND worker = $1", [healthy.workerID]) == 0,
                "no job of the live worker was rescued")
    }

    /// River #1251/#1255: a database call that stalls (a table lock held) must not hang the
    /// worker: its calls give up at their deadline, so a shutdown completes while the lock is
    /// still held, and work resumes once it is released.
    @Test func aStalledDatabaseDoesNotHangTheWorker() async throws {
        let f = try await EngineFixture.make("stall")
        defer { f.pool.shutdown() }
        let locker = try await HeldSession(url: f.db.url)
        defer { locker.close() }
        let worker = f.worker({ $0.leaseSeconds = 3; $0.queues = ["default"]; $0.gracePeriod = .seconds(1) })
        let run = Task { try await worker.run() }
        try await Task.sleep(for: .milliseconds(500))
        try await locker.run("BEGIN")
        try await locker.run("LOCK TABLE jobgate.jobs IN ACCESS EXCLUSIVE MODE")
        try await Task.sleep(for: .seconds(1))
        let stopped = Stopped()
        let waiter = Task { try await run.value; stopped.set() }
        worker.shutdown()
        // Bounded: if the worker hangs on the lock, the lock is released after 8 s and the test fails.
        let inTime = await eventually(timeout: .seconds(8)) { stopped.isSet }
        try await locker.run("ROLLBACK")
        try await waiter.value
        #expect(inTime, "the worker shut down while the lock was still held")
        // A fresh worker works again once the lock is gone.
        let again = f.worker({ $0.leaseSeconds = 3; $0.queues = ["default"] })
        let run2 = Task { try await again.run() }
        let id = try await f.store.submit([NewJob(tenant: "t", type: "noop")])[0].jobID
        #expect(try await eventually(timeout: .seconds(10)) { try await f.status(id) == .completed })
        again.shutdown()
        try await run2.value
    }
}

extension WorkerPool {
    /// Runs the pool until `condition` holds (or `timeout` passes), then shuts it down
    /// gracefully; whether the condition held.
    func runUntil(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let run = Task { try await self.run() }
        let held = try await eventually(timeout: timeout, condition)
        shutdown()
        try await run.value
        return held
    }
}

private final class Stopped: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
