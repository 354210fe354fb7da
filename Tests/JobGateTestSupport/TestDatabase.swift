import Foundation
import JobGatePostgres

/// A fresh, empty database on the test server (found through libpq's `PG*` variables,
/// which `scripts/test` exports). Tests fail loudly when no server is configured.
public struct TestDatabase: Sendable {
    /// The database's name.
    public let name: String
    /// A conninfo string for it.
    public let url: String

    /// Whether the environment names a test server.
    public static var serverConfigured: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["PGHOST"] != nil || env["PGDATABASE"] != nil || env["JOBGATE_DATABASE_URL"] != nil
    }

    /// Creates a new database named after `prefix` plus random characters.
    public static func create(_ prefix: String = "t") async throws -> TestDatabase {
        guard serverConfigured else {
            throw TestSetupError("no PostgreSQL configured: run the tests through scripts/test (it starts one and sets PGHOST/PGPORT)")
        }
        let name = "jg_\(prefix.lowercased())_" + UUID().uuidString.prefix(8).lowercased()
        // Through a pool, so the blocking libpq calls run on its thread, not the test's.
        let admin = PostgresPool(configuration: adminConfiguration)
        defer { admin.shutdown() }
        try await admin.withConnection { conn in
            try conn.execute(script: "CREATE DATABASE " + conn.quoteIdentifier(name))
        }
        return TestDatabase(name: name, url: "dbname=\(name)")
    }

    /// A pool configuration for this database.
    public func configuration(maxConnections: Int = 10) -> PostgresConfiguration {
        var c = PostgresConfiguration(url: url)
        c.maxConnections = maxConnections
        c.connectTimeoutSeconds = Self.setupConnectTimeoutSeconds
        c.acquireTimeout = Self.setupAcquireTimeout
        return c
    }

    /// How long a fixture's pool waits for a free connection: tests that race many calls on a
    /// small pool (three tickers of four calls on three connections) wait on each other's row
    /// locks, which on a loaded CI machine has outlasted the product's 5 s. A test of the wait
    /// itself sets its own.
    public static let setupAcquireTimeout: Duration = .seconds(30)

    /// How long a fixture's own connections may take to connect. The whole suite starts at
    /// once and a loaded CI machine has been seen to take longer than a product's 5 s; a test
    /// of an unreachable database sets its own timeouts.
    public static let setupConnectTimeoutSeconds = 30

    /// The server's maintenance database, for creating and dropping test databases.
    static var adminConfiguration: PostgresConfiguration {
        var c = PostgresConfiguration(url: "")
        c.connectTimeoutSeconds = setupConnectTimeoutSeconds
        return c
    }

    /// A libpq URI equivalent of `url` for child processes (host and port from the environment).
    public var processURL: String {
        let env = ProcessInfo.processInfo.environment
        var parts = ["dbname=\(name)"]
        if let h = env["PGHOST"] { parts.append("host=\(h)") }
        if let p = env["PGPORT"] { parts.append("port=\(p)") }
        if let u = env["PGUSER"] { parts.append("user=\(u)") }
        return parts.joined(separator: " ")
    }

    /// Terminates every other backend connected to this database.
    public func terminateBackends() async throws -> Int {
        let admin = PostgresPool(configuration: Self.adminConfiguration)
        defer { admin.shutdown() }
        let rows = try await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            [name])
        return rows.count
    }
}

/// A test could not be set up (e.g. no server); it fails, it is never skipped.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Polls `condition` until true or `timeout` passes.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// Returns at once unless a UTC midnight is less than `margin` away; then waits until just past
/// it. For tests that name day partitions from the test's clock while the server names them from
/// its own: across a midnight the two days differ.
public func awayFromUTCMidnight(margin: TimeInterval = 300) async {
    let secondsIntoDay = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400)
    let left = 86_400 - secondsIntoDay
    if left < margin { try? await Task.sleep(for: .seconds(left + 2)) }
}
