import Foundation
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import JobGateWorker
import Testing

/// The engine across real `jobgate` processes: what users run on several hosts.
@Suite struct WorkerProcessTests {
    private func migrated(_ prefix: String) async throws -> (TestDatabase, PostgresPool) {
        let f = try await EngineFixture.make(prefix, maxConnections: 4)
        return (f.db, f.pool)
    }

    private func count(_ pool: PostgresPool, _ sql: String, _ params: [any PostgresBindable] = []) async throws -> Int {
        try await pool.query(sql, params).first?.decode(0, as: Int.self) ?? -1
    }

    @Test func fourConcurrentMigrateProcessesApplyEachFileOnce() async throws {
        let db = try await TestDatabase.create("migproc")
        let bin = try JobGateBinary.path()
        let procs = try (0..<4).map { _ in try TestProcess([bin, "migrate"], environment: ["JOBGATE_DATABASE_URL": db.processURL]) }
        for p in procs {
            let code = await p.wait()
            #expect(code == 0, "migrate failed: \(p.output)")
        }
        let pool = PostgresPool(configuration: Database.configuration(url: db.url))
        defer { pool.shutdown() }
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.schema_migrations") == Migrations.all.count)
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.signing_keys") == 1)
    }

    @Test func eightWorkerProcessesCompleteEveryJobExactlyOnce() async throws {
        let (db, pool) = try await migrated("eightproc")
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        let jobs = (0..<5000).map { i in NewJob(tenant: "t", type: "noop", payload: "{\"i\":\(i)}") }
        for chunk in stride(from: 0, to: jobs.count, by: 1000) {
            _ = try await store.submit(Array(jobs[chunk..<min(chunk + 1000, jobs.count)]))
        }
        let bin = try JobGateBinary.path()
        let workers = try (0..<8).map { _ in
            try TestProcess([bin, "worker", "--concurrency", "16", "--grace-seconds", "5"],
                            environment: ["JOBGATE_DATABASE_URL": db.processURL, "JOBGATE_LOG_LEVEL": "warn"])
        }
        let done = try await eventually(timeout: .seconds(120)) {
            try await count(pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 5000
        }
        #expect(done)
        for w in workers { w.signal(SIGTERM) }
        for w in workers {
            let code = await w.wait()
            #expect(code == 0, "worker exited \(code): \(w.output.suffix(2000))")
        }
        // Exactly one start and one completion per job, all on attempt 1: no job ran twice.
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.job_events WHERE event = 'started'") == 5000)
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.job_events WHERE event = 'completed'") == 5000)
        #expect(try await count(pool, "SELECT count(*) FROM (SELECT job_id FROM jobgate.job_events WHERE event = 'started' GROUP BY job_id HAVING count(*) > 1) d") == 0)
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.jobs WHERE attempt <> 1") == 0)
        // Several processes took part, and all registered and then stopped cleanly.
        #expect(try await count(pool, "SELECT count(DISTINCT worker) FROM jobgate.job_events WHERE event = 'started'") >= 2)
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.workers WHERE stopped_at IS NOT NULL") == 8)
    }

    @Test func jobsOfASigkilledWorkerProcessAreRescuedAndItsLateResultIsFencedOut() async throws {
        let (db, pool) = try await migrated("sigkill")
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        let outcomes = try await store.submit((0..<3).map { _ in
            NewJob(tenant: "t", type: "weather", payload: "{\"records\":5,\"durationSeconds\":6}", maxAttempts: 3)
        })
        let ids = outcomes.compactMap(\.createdJob).map(\.id)
        #expect(ids.count == 3)
        let bin = try JobGateBinary.path()
        let doomed = try TestProcess([bin, "worker", "--lease-seconds", "2"], environment: ["JOBGATE_DATABASE_URL": db.processURL])
        // The holder is read with the count, in one statement: a later read could find the jobs
        // already finished on a loaded machine.
        var holder: String?
        let started = try await eventually(timeout: .seconds(30)) {
            let row = try await pool.query("SELECT count(*), min(locked_by) FROM jobgate.jobs WHERE status = 'running'").first
            guard let row, try row.decode(0, as: Int.self) == 3 else { return false }
            holder = try row.decode(1, as: String?.self)
            return true
        }
        #expect(started)
        let deadWorker = try #require(holder)
        doomed.signal(SIGKILL)
        #expect(await doomed.wait() == 128 + SIGKILL)

        var config = WorkerPool.Configuration()
        config.rescueInterval = .milliseconds(500)
        config.log = .silent
        let rescuer = WorkerPool(store: store, configuration: config)
        let run = Task { try await rescuer.run() }
        let completed = try await eventually(timeout: .seconds(40)) {
            try await count(pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 3
        }
        #expect(completed)
        rescuer.shutdown()
        try await run.value
        for id in ids {
            let events = try await store.events(jobID: id, tenant: nil).map(\.event)
            #expect(events == ["submitted", "started", "lease_expired", "started", "completed"], "\(events)")
        }
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.job_events WHERE event = 'completed' AND worker = $1", [rescuer.workerID]) == 3)
        // The dead worker's result, arriving late, changes nothing.
        let late = try await store.complete(ids.map { AttemptCompletion(id: $0, attempt: 1) }, worker: deadWorker)
        #expect(late.applied.isEmpty)
        #expect(Set(late.fencedOut) == Set(ids))
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.job_events WHERE event = 'completed'") == 3)
    }

    @Test func aCommandTypeThatTimesOutIsKilledWithItsChildren() async throws {
        let (_, pool) = try await migrated("cmdtimeout")
        defer { pool.shutdown() }
        let dir = NSTemporaryDirectory() + "jg-cmd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let types = """
            {"hang": {"argv": ["/bin/sh", "-c", "sleep 300 & echo $! > \(dir)/child.pid; echo $$ > \(dir)/main.pid; echo started >&2; sleep 300"],
                      "timeoutSeconds": 5, "maxAttempts": 1},
             "shout": {"argv": ["/bin/sh", "-c", "cat; echo \\" job=$JOBGATE_JOB_ID attempt=$JOBGATE_ATTEMPT type=$JOBGATE_JOB_TYPE\\""],
                       "contentType": "text/plain"}}
            """
        try types.write(toFile: dir + "/types.json", atomically: true, encoding: .utf8)
        let registry = try HandlerRegistry.builtIn(jobTypesFile: dir + "/types.json")
        let store = JobStore(pool: pool)
        let outcomes = try await store.submit([
            // 5 s: time for the shell to write its pid files even when spawning is slow (a
            // starved CI disk took over a second), far below the 300 s sleeps.
            NewJob(tenant: "t", type: "hang", maxAttempts: 1, timeoutSeconds: 5),
            NewJob(tenant: "t", type: "shout", payload: "{\"hello\":1}"),
        ])
        let ids = outcomes.compactMap(\.createdJob).map(\.id)
        var config = WorkerPool.Configuration()
        config.log = .silent
        let worker = WorkerPool(store: store, configuration: config, registry: registry)
        let run = Task { try await worker.run() }
        let settled = try await eventually(timeout: .seconds(60)) {
            try await count(pool, "SELECT count(*) FROM jobgate.jobs WHERE status IN ('failed', 'completed')") == 2
        }
        #expect(settled)
        worker.shutdown()
        try await run.value
        let hang = try #require(try await store.job(id: ids[0], tenant: nil))
        #expect(hang.status == .failed)
        // The shell and its background child are both gone (or at most unreaped zombies, see CommandRunner).
        for file in ["main.pid", "child.pid"] {
            let pid = try #require(Int32(String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            let gone = try await eventually(timeout: .seconds(5)) { processGoneOrZombie(pid) }
            #expect(gone, "process \(pid) from \(file) survived the timeout")
        }
        let shout = try #require(try await store.job(id: ids[1], tenant: nil))
        #expect(shout.status == .completed)
        let output = try #require(try await store.output(id: ids[1], tenant: nil))
        let text = String(decoding: output.content ?? [], as: UTF8.self)
        #expect(text.hasPrefix("{\"hello\": 1} job=\(ids[1].uuidString.lowercased()) attempt=1 type=shout"), "\(text)")
    }

    @Test func aSigtermedWorkerProcessHandsBackItsUnfinishedJobsWithoutCountingTheAttempt() async throws {
        let (db, pool) = try await migrated("sigterm")
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        let slow = try await store.submit((0..<2).map { _ in
            NewJob(tenant: "t", type: "weather", payload: "{\"records\":1,\"durationSeconds\":120}", maxAttempts: 1)
        }).compactMap(\.createdJob).map(\.id)
        _ = try await store.submit((0..<3).map { _ in NewJob(tenant: "t", type: "noop") })
        let bin = try JobGateBinary.path()
        let worker = try TestProcess([bin, "worker", "--grace-seconds", "1"], environment: ["JOBGATE_DATABASE_URL": db.processURL])
        let busy = try await eventually(timeout: .seconds(30)) {
            let done = try await count(pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'")
            let running = try await count(pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'running'")
            return done == 3 && running == 2
        }
        #expect(busy)
        worker.signal(SIGTERM)
        #expect(await worker.wait() == 0, "worker: \(worker.output.suffix(2000))")
        // Handed back as they were before the claim: queued, the attempt not counted, no owner;
        // so even with max_attempts 1 they run again.
        for id in slow {
            let job = try #require(try await store.job(id: id, tenant: nil))
            #expect(job.status == .queued && job.attempt == 0 && job.lockedBy == nil && job.leaseExpiresAt == nil)
            #expect(try await store.events(jobID: id, tenant: nil).map(\.event) == ["submitted", "started", "requeued"])
        }
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.workers WHERE stopped_at IS NOT NULL") == 1)
        let again = try await store.claim(queues: ["default"], limit: 5, worker: "next", leaseSeconds: 30)
        #expect(Set(again.map(\.id)) == Set(slow) && again.allSatisfy { $0.attempt == 1 })
    }

    /// A worker cut off from its database (here: the proxy it reaches it through closes) still
    /// stops on SIGTERM within its grace period plus the fixed 10 s of abandonment and settling,
    /// instead of retrying its unwritten result for ever; the job is then redone after its lease.
    @Test func aSigtermedWorkerCutOffFromItsDatabaseStillExitsInBoundedTime() async throws {
        let (db, pool) = try await migrated("cutoff")
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        let id = try #require(try await store.submit([
            // Long enough to be still running when the test, on a loaded machine, has seen it
            // start and cut the link (CI once took 4 s for that, and a 3 s job was completed).
            NewJob(tenant: "t", type: "weather", payload: "{\"records\":1,\"durationSeconds\":10}"),
        ]).first?.createdJob?.id)
        let proxy = try FaultProxy.forTestServer()
        defer { proxy.stop() }
        let worker = try TestProcess([try JobGateBinary.path(), "worker", "--grace-seconds", "1", "--lease-seconds", "30"],
                                     environment: ["JOBGATE_DATABASE_URL": proxy.url(database: db.name)])
        #expect(try await eventually(timeout: .seconds(30)) {
            try await count(pool, "SELECT count(*) FROM jobgate.jobs WHERE status = 'running'") == 1
        })
        proxy.stop()
        // The handler finishes meanwhile; its result cannot be written.
        try await Task.sleep(for: .seconds(11))
        let clock = ContinuousClock()
        let signalled = clock.now
        worker.signal(SIGTERM)
        let status = await worker.wait(timeout: .seconds(60))
        let took = clock.now - signalled
        #expect(status == 0, "exit \(status): \(worker.output.suffix(2000))")
        // 1 s grace + 5 s abandonment + 5 s settling, and room for a loaded machine.
        #expect(took < .seconds(25), "took \(took)")
        #expect(worker.output.contains("shutdown deadline passed"), "\(worker.output.suffix(2000))")
        // The database never heard of the result: the job is still the dead worker's, and the
        // rescuer hands it out again once the lease runs out.
        let job = try #require(try await store.job(id: id, tenant: nil))
        #expect(job.status == .running)
    }

    @Test func pruneCommandDeletesOldFinishedJobsAndTheirOutputFiles() async throws {
        let (db, pool) = try await migrated("prunecmd")
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        let ids = try await store.submit((0..<2).map { _ in NewJob(tenant: "t", type: "noop") }).map(\.jobID)
        let claimed = try await store.claim(queues: ["default"], limit: 2, worker: "w", leaseSeconds: 30)
        let dir = NSTemporaryDirectory() + "jg-prune-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files: [UUID: String] = [:]
        for c in claimed {
            files[c.id] = "\(dir)/\(c.id.lowercasedString).json"
            try "{}".write(toFile: files[c.id]!, atomically: true, encoding: .utf8)
        }
        _ = try await store.complete(claimed.map {
            AttemptCompletion(id: $0.id, attempt: 1, output: JobOutputMetadata(size: 2, contentType: "application/json",
                              sha256: [UInt8](repeating: 0, count: 32), location: .file, path: files[$0.id]))
        }, worker: "w")
        // Only the first is older than the retention.
        try await pool.query("UPDATE jobgate.jobs SET finished_at = now() - interval '8 days' WHERE id = $1", [ids[0]])
        let prune = try TestProcess([try JobGateBinary.path(), "prune", "--job-retention", "7d"], environment: ["JOBGATE_DATABASE_URL": db.processURL])
        #expect(await prune.wait() == 0, "prune: \(prune.output)")
        #expect(prune.output.contains("deleted 1 jobs"), "\(prune.output)")
        #expect(!FileManager.default.fileExists(atPath: files[ids[0]]!), "the pruned job's output file is left behind")
        #expect(FileManager.default.fileExists(atPath: files[ids[1]]!))
        #expect(try await count(pool, "SELECT count(*) FROM jobgate.jobs") == 1)
    }
}

func processGoneOrZombie(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 && errno == ESRCH { return true }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return stat.contains(") Z ")
}
