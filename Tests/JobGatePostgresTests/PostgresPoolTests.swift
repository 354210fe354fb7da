import Foundation
import JobGatePostgres
import JobGateTestSupport
import Synchronization
import Testing

@Suite struct PostgresPoolTests {
    /// A pool of `connections` on a fresh database, waiting at most `acquireTimeout` for one.
    static func pool(_ prefix: String, connections: Int, acquireTimeout: Duration) async throws -> PostgresPool {
        var config = try await TestDatabase.create(prefix).configuration(maxConnections: connections)
        config.acquireTimeout = acquireTimeout
        return PostgresPool(configuration: config)
    }

    @Test func exhaustedPoolFailsWithinItsBound() async throws {
        let pool = try await Self.pool("exhaust", connections: 2, acquireTimeout: .milliseconds(300))
        defer { pool.shutdown() }
        // Occupy both connections.
        // Held far longer than the bound below, so only the acquire timeout can end the wait.
        let holders = (0..<2).map { _ in Task { try await pool.query("SELECT pg_sleep(60)") } }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        do {
            try await pool.query("SELECT 1")
            Issue.record("expected a pool timeout")
        } catch let e as PostgresError {
            #expect(e.code == .poolTimeout)
            #expect(e.isUnavailable)
        }
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(250))
        // 300 ms plus a starved CI machine's scheduling; a pool without the bound waits 60 s.
        #expect(waited < .seconds(30))
        for h in holders { h.cancel() }
    }

    /// A batch loop holding the only connection hands it back when another caller waits.
    @Test func batchLoopsHandTheConnectionBackWhenOthersWait() async throws {
        let pool = try await Self.pool("batchfair", connections: 1, acquireTimeout: .seconds(5))
        defer { pool.shutdown() }
        // 1,500 batches of 5 ms: long enough that a loaded machine still answers the other
        // caller well before the loop's end if the connection is handed over.
        let remaining = Atomic<Int>(1500)
        pool.startBatches(first: 0, work: { _, conn in _ = try? conn.query("SELECT pg_sleep(0.005)") },
                          fail: { _, _ in }, next: { _ in remaining.subtract(1, ordering: .relaxed).newValue > 0 ? 0 : nil })
        while remaining.load(ordering: .relaxed) > 1490 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await pool.query("SELECT 1").count == 1)
        #expect(remaining.load(ordering: .relaxed) > 0, "the other caller waited for the whole loop")
        // The loop carries on after handing the connection over, to the last batch.
        for _ in 0..<3000 where remaining.load(ordering: .relaxed) > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(remaining.load(ordering: .relaxed) == 0)
    }

    @Test func reconnectsAfterBackendsAreTerminated() async throws {
        let db = try await TestDatabase.create("reconnect")
        let pool = PostgresPool(configuration: db.configuration(maxConnections: 3))
        defer { pool.shutdown() }
        // Open three connections at once so all are in the pool.
        try await withThrowingTaskGroup(of: Void.self) { g in
            for _ in 0..<3 { g.addTask { try await pool.query("SELECT pg_sleep(0.2)") } }
            try await g.waitForAll()
        }
        let before = Set(try await pool.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").map { try $0.decode(0, as: Int.self) })
        let killed = try await db.terminateBackends()
        #expect(killed >= 3)
        try await Task.sleep(for: .milliseconds(200))
        // Every later call succeeds: dead connections are replaced transparently.
        for _ in 0..<10 {
            let v = try await pool.query("SELECT 7 AS v").first?.decode(0, as: Int.self)
            #expect(v == 7)
        }
        let pid = try await pool.query("SELECT pg_backend_pid()").first?.decode(0, as: Int.self)
        #expect(pid != nil && !before.contains(pid!))
    }

    @Test func cancellingTheTaskCancelsTheQueryOnTheServer() async throws {
        let db = try await TestDatabase.create("cancel")
        let pool = PostgresPool(configuration: db.configuration(maxConnections: 2))
        defer { pool.shutdown() }
        let task = Task { try await pool.query("SELECT pg_sleep(30) /* jobgate-cancel-test */") }
        // Wait until the server is running it.
        let running = try await eventually {
            try await pool.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%jobgate-cancel-test%' AND state = 'active' AND pid <> pg_backend_pid()").first?.decode(0, as: Int.self) == 1
        }
        #expect(running)
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result else {
            Issue.record("the query was not cancelled")
            return
        }
        #expect((error as? PostgresError)?.code == .cancelled)
        #expect((error as? PostgresError)?.sqlState == "57014")
        // Ended by the cancel, not by the 30 s sleep (measured from the cancel: on a starved CI
        // disk, creating the database and starting the query alone took over 10 s).
        #expect(ContinuousClock.now - cancelled < .seconds(20))
        let stillRunning = try await pool.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%jobgate-cancel-test%' AND state = 'active' AND pid <> pg_backend_pid()").first?.decode(0, as: Int.self)
        #expect(stillRunning == 0)
    }

    @Test func unreachableServerFailsFastWithConnectionError() async throws {
        var config = PostgresConfiguration(url: "postgresql://nobody@127.0.0.1:1/none")
        config.connectTimeoutSeconds = 2
        let pool = PostgresPool(configuration: config)
        defer { pool.shutdown() }
        let start = ContinuousClock.now
        do {
            try await pool.ping()
            Issue.record("expected a connection failure")
        } catch let e as PostgresError {
            #expect(e.code == .connectionFailed)
            #expect(e.isUnavailable)
        }
        // Refused at once: below a hang (libpq with no connect timeout waits minutes), with
        // room for a starved CI machine (16 s seen here while outside I/O held the disk).
        #expect(ContinuousClock.now - start < .seconds(60))
    }
}

@Suite struct PostgresListenerTests {
    /// pg-boss #851: a LISTEN connection that goes silently half-open (the proxy passes nothing
    /// and closes nothing) is found by the probe and replaced within probe interval + timeout.
    @Test func aHalfOpenListenConnectionIsDetectedAndReplaced() async throws {
        let db = try await TestDatabase.create("halfopen")
        let proxy = try FaultProxy.forTestServer()
        defer { proxy.stop() }
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let listener = PostgresListener(configuration: PostgresConfiguration(url: proxy.url(database: db.name)),
                                        channels: ["jobs.default"], probeInterval: 1, probeTimeout: 1)
        defer { listener.stop() }
        var iterator = listener.events.makeAsyncIterator()
        #expect(try await eventually { listener.backendPID != 0 })
        #expect(proxy.blackholeConnections(thatSent: "LISTEN") == 1)
        let started = ContinuousClock.now
        let event = await iterator.next()
        #expect(event == .reconnected)
        // Within probe interval + timeout (2 s) when the machine is not starved; never otherwise.
        #expect(ContinuousClock.now - started < .seconds(30), "detected within probe interval + timeout")
        try await pool.query("SELECT pg_notify($1, $2)", ["jobs.default", "after"])
        #expect(await iterator.next() == .notification(channel: "jobs.default", payload: "after"))
    }

    @Test func deliversNotificationsAndAgainAfterItsBackendIsTerminated() async throws {
        let db = try await TestDatabase.create("listen")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let listener = PostgresListener(configuration: db.configuration(), channels: ["jobs.default"])
        defer { listener.stop() }
        var iterator = listener.events.makeAsyncIterator()
        #expect(try await eventually { listener.backendPID != 0 })
        try await pool.query("SELECT pg_notify($1, $2)", ["jobs.default", "hello"])
        let first = await iterator.next()
        #expect(first == .notification(channel: "jobs.default", payload: "hello"))

        let oldPID = listener.backendPID
        let admin = PostgresPool(configuration: PostgresConfiguration(url: db.url))
        try await admin.query("SELECT pg_terminate_backend($1::int)", [Int(oldPID)])
        admin.shutdown()
        let reconnected = await iterator.next()
        #expect(reconnected == .reconnected)
        #expect(listener.backendPID != oldPID && listener.backendPID != 0)
        try await pool.query("SELECT pg_notify($1, $2)", ["jobs.default", "again"])
        let second = await iterator.next()
        #expect(second == .notification(channel: "jobs.default", payload: "again"))
    }
}
