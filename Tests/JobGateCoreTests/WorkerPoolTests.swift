import Foundation
import JobGateCore
import JobGateCrypto
import JobGatePostgres
import JobGateTestSupport
@testable import JobGateWorker
import Testing

extension EngineFixture {
    func worker(_ configure: (inout WorkerPool.Configuration) -> Void = { _ in }, registry: HandlerRegistry = .builtIn(),
                pool: PostgresPool? = nil) -> WorkerPool {
        var c = WorkerPool.Configuration()
        c.concurrency = 8
        c.leaseSeconds = 3
        c.pollInterval = .milliseconds(200)
        c.tickInterval = .milliseconds(50)
        c.rescueInterval = .milliseconds(200)
        c.gracePeriod = .seconds(2)
        c.outputDirectory = NSTemporaryDirectory() + "jobgate-test-outputs-" + db.name
        c.log = WorkerLog(minimum: .error)
        configure(&c)
        return WorkerPool(store: JobStore(pool: pool ?? self.pool), configuration: c, registry: registry)
    }

    func status(_ id: UUID) async throws -> JobStatus? { try await store.job(id: id, tenant: nil)?.status }

    func count(_ sql: String, _ params: [any PostgresBindable] = []) async throws -> Int {
        try await pool.query(sql, params).first!.decode(0, as: Int.self)
    }
}

@Suite(.serialized) struct WorkerPoolTests {
    @Test func eightPoolsDrainFiveThousandJobsEachExactlyOnce() async throws {
        let f = try await EngineFixture.make("eight")
        defer { f.pool.shutdown() }
        for _ in 0..<5 { _ = try await f.store.submit((0..<1000).map { _ in NewJob(tenant: "t", type: "noop") }) }
        let pools = (0..<8).map { _ in f.newPool(maxConnections: 5) }
        // A lease far above the run's length: this test is about the claim's exclusion with no
        // fault. With the fixture's 3 s lease, a CPU-starved CI run (39 s for this drain, beside
        // 300 other tests) let heartbeats miss their 1 s deadline and 31 leases expire, a rescue
        // that is correct behaviour but not what this test checks.
        let workers = pools.map { p in
            f.worker({ $0.concurrency = 32; $0.maxClaimBatch = 50; $0.queues = ["default"]; $0.leaseSeconds = 60 }, pool: p)
        }
        let tasks = workers.map { w in Task { try await w.run() } }
        #expect(try await eventually(timeout: .seconds(120)) {
            try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 5000
        })
        for t in tasks { t.cancel() }
        for t in tasks { try await t.value }
        for p in pools { p.shutdown() }
        // Every job completed exactly once, in one attempt, by one worker.
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status <> 'completed' OR attempt <> 1") == 0)
        #expect(try await f.count("""
            SELECT count(*) FROM (SELECT job_id FROM jobgate.job_events GROUP BY job_id
              HAVING count(*) FILTER (WHERE event = 'started') <> 1 OR count(*) FILTER (WHERE event = 'completed') <> 1
                  OR count(DISTINCT worker) FILTER (WHERE worker IS NOT NULL) <> 1) x
            """) == 0)
        #expect(try await f.count("SELECT count(DISTINCT worker) FROM jobgate.job_events WHERE event = 'started'") > 1)
        #expect(workers.map { $0.statistics.fencedOut }.reduce(0, +) == 0)
        #expect(workers.map { $0.statistics.claimed }.reduce(0, +) == 5000)
        #expect(try await f.count("SELECT count(*) FROM jobgate.workers WHERE stopped_at IS NOT NULL") == 8)
    }

    @Test func gracefulShutdownHandsBackUnfinishedJobsAndFinishesQuickOnes() async throws {
        let f = try await EngineFixture.make("graceful")
        defer { f.pool.shutdown() }
        let slow = try await f.store.submit((0..<3).map { _ in NewJob(tenant: "t", type: "weather", payload: #"{"durationSeconds": 60}"#) }).map(\.jobID)
        let quick = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"durationSeconds": 0.3, "records": 3}"#)]).map(\.jobID)
        let w = f.worker { $0.concurrency = 4; $0.gracePeriod = .milliseconds(800) }
        let task = Task { try await w.run() }
        #expect(try await eventually { try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'running'") == 4 })
        task.cancel()
        try await task.value
        #expect(try await f.status(quick[0]) == .completed)
        for id in slow {
            let job = try #require(try await f.store.job(id: id, tenant: nil))
            #expect(job.status == .queued && job.attempt == 0 && job.lockedBy == nil)
            #expect(try await f.events(id) == ["submitted", "started", "requeued"])
        }
        #expect(w.statistics.requeued == 3)
    }

    @Test func attemptTimeoutAndCancelOfARunningJob() async throws {
        let f = try await EngineFixture.make("timeout")
        defer { f.pool.shutdown() }
        let timed = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"durationSeconds": 60}"#, maxAttempts: 1, timeoutSeconds: 1)])[0].jobID
        let cancelled = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"durationSeconds": 60}"#)])[0].jobID
        let w = f.worker { $0.leaseSeconds = 1.5 }
        let task = Task { try await w.run() }
        #expect(try await eventually { try await f.status(cancelled) == .running })
        guard case .cancelRequested = try await f.store.cancel(id: cancelled, tenant: "t") else { Issue.record("not requested"); return }
        #expect(try await eventually { try await f.status(cancelled) == .cancelled })
        #expect(try await eventually { try await f.status(timed) == .failed })
        task.cancel()
        try await task.value
        #expect(try await f.store.job(id: timed, tenant: nil)?.lastError == "timed out after 1s")
        #expect(try await f.events(timed) == ["submitted", "started", "failed"])
        #expect(try await f.events(cancelled) == ["submitted", "started", "cancel_requested", "cancelled"])
    }

    @Test func handlerFailuresRetryWithBackoffThenFailAndNonRetryableFailsAtOnce() async throws {
        let f = try await EngineFixture.make("hfail")
        defer { f.pool.shutdown() }
        var registry = HandlerRegistry.builtIn()
        registry.register("flaky", settings: JobTypeSettings(retry: RetryPolicy(baseSeconds: 0.2, capSeconds: 1)),
                          handler: ClosureHandler { job in throw JobFailure("attempt \(job.attempt) broke") })
        registry.register("fatal", handler: ClosureHandler { _ in throw JobFailure("bad payload", retryable: false) })
        let flaky = try await f.store.submit([NewJob(tenant: "t", type: "flaky", maxAttempts: 3)])[0].jobID
        let fatal = try await f.store.submit([NewJob(tenant: "t", type: "fatal", maxAttempts: 3)])[0].jobID
        let w = f.worker({ $0.pollInterval = .milliseconds(50) }, registry: registry)
        let task = Task { try await w.run() }
        #expect(try await eventually { let a = try await f.status(flaky); let b = try await f.status(fatal); return a == .failed && b == .failed })
        task.cancel()
        try await task.value
        let ev = try await f.store.events(jobID: flaky, tenant: nil)
        #expect(ev.map(\.event) == ["submitted", "started", "retry_scheduled", "started", "retry_scheduled", "started", "failed"])
        #expect(ev.last?.message == "attempt 3 broke" && ev.last?.attempt == 3)
        // The waits between attempts grow (0.1–0.2 s, then 0.2–0.4 s).
        let starts = ev.filter { $0.event == "started" }.map(\.at)
        let gaps = zip(starts.dropFirst(), starts).map { $0.timeIntervalSince($1) }
        #expect(gaps[0] >= 0.1 && gaps[1] >= 0.2, "\(gaps)")
        #expect(try await f.events(fatal) == ["submitted", "started", "failed"])
        #expect(try await f.store.job(id: fatal, tenant: nil)?.attempt == 1)
    }

    @Test func deadWorkersJobsAreRescuedAfterTheLeaseAndItsLateResultIsRefused() async throws {
        let f = try await EngineFixture.make("dead")
        defer { f.pool.shutdown() }
        let ids = try await f.store.submit((0..<5).map { _ in NewJob(tenant: "t", type: "noop") }).map(\.jobID)
        // A worker claims with a 1 s lease, then dies: its pool goes away without a word.
        let deadPool = f.newPool(maxConnections: 2)
        let claimed = try await JobStore(pool: deadPool).claim(queues: ["default"], limit: 5, worker: "dead:1:x", leaseSeconds: 1)
        deadPool.shutdown()
        #expect(claimed.count == 5)
        let w = f.worker()
        let task = Task { try await w.run() }
        #expect(try await eventually { try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 5 })
        task.cancel()
        try await task.value
        for id in ids {
            let ev = try await f.store.events(jobID: id, tenant: nil)
            #expect(ev.map(\.event) == ["submitted", "started", "lease_expired", "started", "completed"])
            #expect(ev[2].worker == "dead:1:x" && ev[3].worker == w.workerID)
        }
        let late = try await f.store.complete(claimed.map { AttemptCompletion(id: $0.id, attempt: $0.attempt) }, worker: "dead:1:x")
        #expect(late.applied.isEmpty && late.fencedOut.count == 5)
    }

    @Test func weatherOutputsInlineAndAsAtomicFilesWithSHA256() async throws {
        let f = try await EngineFixture.make("outputs")
        defer { f.pool.shutdown() }
        let small = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"records": 2}"#)])[0].jobID
        let big = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"records": 50}"#)])[0].jobID
        let bad = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"records": "many"}"#)])[0].jobID
        let w = f.worker { $0.inlineOutputMax = 2000 }
        let task = Task { try await w.run() }
        #expect(try await eventually { try await f.count("SELECT count(*) FROM jobgate.jobs WHERE finished_at IS NOT NULL") == 3 })
        task.cancel()
        try await task.value
        let s = try #require(try await f.store.output(id: small))
        #expect(s.metadata.location == .inline && s.metadata.contentType == "application/json")
        let bytes = try #require(s.content)
        #expect(bytes.count == s.metadata.size && SHA256.hash(bytes) == s.metadata.sha256)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let records = try #require(obj["weatherData"] as? [[String: Any]])
        #expect(records.count == 2)
        #expect(Set(records[0].keys) == ["station", "geoLocation", "localTime", "conditions", "temperature", "pressure", "humidity"])
        let b = try #require(try await f.store.output(id: big))
        #expect(b.metadata.location == .file && b.content == nil)
        let path = try #require(b.metadata.path)
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(file.count == b.metadata.size && SHA256.hash(file) == b.metadata.sha256 && b.metadata.size > 2000)
        let dir = try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        #expect(!dir.contains { $0.hasSuffix(".tmp") })
        #expect(try await f.status(bad) == .failed)
        #expect(try await f.store.job(id: bad, tenant: nil)?.lastError?.contains("records") == true)
    }
}
