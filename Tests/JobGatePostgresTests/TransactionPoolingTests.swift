import Foundation
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// The client through a real PgBouncer in transaction pooling mode (stock settings), where
/// consecutive transactions of one client may run on different server sessions and one server
/// session serves many clients.
@Suite struct TransactionPoolingTests {
    private func connection(_ url: String, pooling: Bool, timeout: Duration? = nil) async throws -> UncheckedBox<PostgresConnection> {
        var c = PostgresConfiguration(url: url)
        c.transactionPooling = pooling
        c.statementTimeout = timeout
        return try await onOwnThread { [c] in UncheckedBox(try PostgresConnection(configuration: c)) }
    }

    private func run<T: Sendable>(_ box: UncheckedBox<PostgresConnection>, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await onOwnThread { try body(box.value) }
    }

    @Test func connectsThroughStockPgBouncerAndSharesOneServerSessionWithoutCollisions() async throws {
        let db = try await TestDatabase.create("bouncer")
        let bouncer = try await PgBouncerProcess.start(poolSize: 1)
        defer { bouncer.stop() }
        let a = try await connection(bouncer.url(database: db.name), pooling: true)
        let b = try await connection(bouncer.url(database: db.name), pooling: true)
        var pids: Set<Int> = []
        for i in 0..<50 {
            for (k, c) in [a, b].enumerated() {
                let row = try await run(c) { try $0.query("SELECT $1::int + $2::int, pg_backend_pid()", [i, k]).first! }
                #expect(try row.decode(0, as: Int.self) == i + k)
                pids.insert(try row.decode(1, as: Int.self))
                // A transaction of several statements stays on one session.
                try await run(c) { conn in
                    _ = try conn.transaction { t in
                        try t.query("SELECT $1::text", ["x"])
                        return try t.query("SELECT pg_backend_pid()").first!.decode(0, as: Int.self)
                    }
                }
            }
        }
        // One server session served both clients: the bouncer really pools by transaction.
        #expect(pids.count == 1)
    }

    @Test func namedPreparedStatementsCollideThroughTheBouncerWithoutTheSwitch() async throws {
        // The control for the test above: the same two clients preparing by name clash on the
        // shared server session, so the switch is what makes the difference.
        let db = try await TestDatabase.create("bouncerprep")
        let bouncer = try await PgBouncerProcess.start(poolSize: 1)
        defer { bouncer.stop() }
        let a = try await connection(bouncer.url(database: db.name), pooling: false)
        let b = try await connection(bouncer.url(database: db.name), pooling: false)
        _ = try await run(a) { try $0.query("SELECT $1::int", [1]) }
        await #expect(throws: PostgresError.self) {
            _ = try await run(b) { try $0.query("SELECT $1::int", [2]) }
        }
    }

    @Test func timestampsReadInUTCWhateverTheServerDefaultsAndOtherClientsSet() async throws {
        let db = try await TestDatabase.create("bouncertz")
        let admin = PostgresPool(configuration: PostgresConfiguration(url: ""))
        defer { admin.shutdown() }
        try await admin.query("ALTER DATABASE \(db.name) SET DateStyle = 'SQL, DMY'")
        try await admin.query("ALTER DATABASE \(db.name) SET TimeZone = 'America/New_York'")
        let bouncer = try await PgBouncerProcess.start(poolSize: 1)
        defer { bouncer.stop() }
        for url in [db.url, bouncer.url(database: db.name)] {
            let ours = try await connection(url, pooling: true)
            // Another client of the same server session with its own zone (through the bouncer).
            let theirs = try await connection(url, pooling: true)
            try await run(theirs) { try $0.execute(script: "SET TimeZone = 'Asia/Tokyo'") }
            for _ in 0..<5 {
                let text = try await run(ours) { try $0.query("SELECT now()").first!.decode(0, as: String.self) }
                #expect(text.hasSuffix("+00"), "\(url): \(text)")
                let date = try #require(PostgresTimestamp.parse(text))
                #expect(abs(date.timeIntervalSinceNow) < 300, "\(url): \(text)")
                let theirText = try await run(theirs) { try $0.query("SELECT now()::text").first!.decode(0, as: String.self) }
                #expect(theirText.hasSuffix("+09"), "\(url): the other client keeps its own zone: \(theirText)")
            }
        }
    }

    @Test func statementTimeoutCancelsTheStatementDirectAndThroughTheBouncerAndNothingElse() async throws {
        let db = try await TestDatabase.create("bouncertimeout")
        let bouncer = try await PgBouncerProcess.start(poolSize: 1)
        defer { bouncer.stop() }
        for url in [db.url, bouncer.url(database: db.name)] {
            let c = try await connection(url, pooling: true, timeout: .seconds(1))
            // Statements well inside the limit are never cancelled by a timer armed for an earlier one.
            for i in 0..<200 {
                #expect(try await run(c) { try $0.query("SELECT $1::int", [i]).first!.decode(0, as: Int.self) } == i)
            }
            // Back-to-back statements each inside the limit, together past it: each has its own deadline.
            for _ in 0..<3 {
                #expect(try await run(c) { try $0.query("SELECT pg_sleep(0.6), 1").first!.decode(1, as: Int.self) } == 1, "\(url)")
            }
            let start = ContinuousClock.now
            do {
                _ = try await run(c) { try $0.query("SELECT pg_sleep(100)") }
                Issue.record("\(url): a 100 s statement outlived a 1 s timeout")
            } catch let e as PostgresError {
                #expect(e.code == .cancelled && e.sqlState == "57014", "\(url): \(e)")
            }
            #expect(ContinuousClock.now - start < .seconds(60), "\(url)")
            // The connection is usable afterwards, and the next statement is not cancelled.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await run(c) { try $0.query("SELECT 7").first!.decode(0, as: Int.self) } == 7)
        }
    }

    @Test func listenGoesToTheListenURLOrNowhereBehindATransactionPooler() {
        var c = PostgresConfiguration(url: "host=bouncer")
        c.statementTimeout = .seconds(3)
        #expect(c.listenConfiguration?.url == "host=bouncer")
        c.transactionPooling = true
        #expect(c.listenConfiguration == nil, "a LISTEN through a transaction pooler would be lost")
        c.listenURL = "host=primary"
        let listen = c.listenConfiguration
        #expect(listen?.url == "host=primary" && listen?.transactionPooling == false && listen?.statementTimeout == nil)
    }
}
