import Foundation
import JobGateAPI
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateTestSupport
import Testing

/// A slow database must not freeze the HTTP server: requests waiting on PostgreSQL are
/// suspended, so libmicrohttpd's polling threads keep answering health checks and others.
@Suite struct StalledDatabaseTests {
    /// Another session takes the jobs table until the test lets go (cancelling the task cancels
    /// its pg_sleep and rolls back): every read and submit waits on it meanwhile.
    static func lockJobs(_ f: APIFixture) async throws -> (PostgresPool, Task<Void, any Error>) {
        let locker = PostgresPool(configuration: Database.configuration(url: f.db.url, maxConnections: 1))
        let lock = Task {
            try await locker.transaction { conn in
                _ = try conn.query("LOCK TABLE jobgate.jobs IN ACCESS EXCLUSIVE MODE")
                _ = try conn.query("SELECT pg_sleep(60)")
            }
        }
        let locked = try await eventually(timeout: .seconds(10)) {
            try await f.count("SELECT count(*) FROM pg_locks WHERE relation = 'jobgate.jobs'::regclass AND mode = 'AccessExclusiveLock' AND granted") == 1
        }
        #expect(locked, "the jobs table was never locked")
        return (locker, lock)
    }

    @Test func requestsWaitingOnALockedTableHoldNoPollingThread() async throws {
        let f = try await APIFixture.make("stalled") { $0.http.threadPoolSize = 2 }
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let client = try { () throws -> HTTPClient in
            var c = try f.client(token)
            c.timeoutSeconds = 120  // the stalled requests wait as long as the test holds the lock
            return c
        }()
        let id = try #require(try await client.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 3600]).string("jobId"))

        let (locker, lock) = try await Self.lockJobs(f)
        defer { locker.shutdown() }
        let stalled = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        i % 3 == 0 ? try await client.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 3600]).status
                            : try await client.send("GET", "/v1/jobs/\(id)").status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        let waiting = try await eventually(timeout: .seconds(10)) {
            try await f.count("SELECT count(*) FROM pg_locks WHERE relation = 'jobgate.jobs'::regclass AND NOT granted") >= 1
        }
        #expect(waiting, "the stalled requests wait on the lock")
        // 24 requests wait on PostgreSQL, more than the 2 polling threads: health checks still
        // answer (were a polling thread held, they would hang until the lock goes, a minute).
        let clock = ContinuousClock()
        for _ in 0..<5 {
            let started = clock.now
            let health = try await f.client().send("GET", "/healthz")
            #expect(health.status == 200)
            #expect(clock.now - started < .seconds(20), "healthz took \(clock.now - started) while the database was stalled")
        }
        #expect(try await f.count("SELECT count(*) FROM pg_locks WHERE relation = 'jobgate.jobs'::regclass AND NOT granted") >= 1,
                "the requests were still waiting while health checks were answered")
        lock.cancel()
        _ = await lock.result
        // Once the lock goes, every stalled request is answered normally.
        let statuses = try await stalled.value
        #expect(statuses.filter { $0 == 202 }.count == 8 && statuses.filter { $0 == 200 }.count == 16, "\(statuses)")
    }

    @Test func aStatementStuckPastTheTimeoutIs503AndChangesNothing() async throws {
        let f = try await APIFixture.make("stmttimeout", statementTimeoutSeconds: 1)
        defer { Task { await f.stop() } }
        let client = try f.client(try await f.token())
        // The job to read during the lock. A loaded CI machine has taken longer than this
        // server's 1 s statement timeout for a submit before anything was locked (a 503 that
        // changed nothing): retried under one idempotency key until stored.
        var id: String?
        _ = try await eventually(timeout: .seconds(60)) {
            id = try await client.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 3600, "idempotencyKey": "to-read"])
                .string("jobId")
            return id != nil
        }
        let stored = try #require(id)
        let (locker, lock) = try await Self.lockJobs(f)
        defer { locker.shutdown() }
        let clock = ContinuousClock()
        let started = clock.now
        let read = try await client.send("GET", "/v1/jobs/\(stored)")
        let submit = try await client.send("POST", "/v1/jobs", json: ["type": "noop", "idempotencyKey": "during-the-lock"])
        #expect(read.status == 503 && read.errorCode == "database_timeout" && read.header("Retry-After") != nil, "\(read.status) \(read.text)")
        #expect(submit.status == 503 && submit.errorCode == "database_timeout", "\(submit.status) \(submit.text)")
        #expect(clock.now - started < .seconds(30), "bounded by the 1 s statement timeout, not the minute-long lock")
        lock.cancel()
        _ = await lock.result
        // Nothing of the refused submit was stored; the service is back (within a few tries of
        // the 1 s timeout on a loaded machine).
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE idempotency_key = 'during-the-lock'") == 0)
        #expect(try await eventually(timeout: .seconds(30)) { try await client.send("GET", "/v1/jobs/\(stored)").status == 200 })
    }
}
