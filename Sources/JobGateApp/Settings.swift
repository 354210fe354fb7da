import Foundation
import JobGateCore
import JobGatePostgres

/// Errors that know how to describe themselves to an operator on one line.
protocol JobGatePostgresErrorDescribing {
    var operatorDescription: String { get }
}

extension PostgresError: JobGatePostgresErrorDescribing {
    /// For the command line only (an operator's terminal): the server message helps and holds no request data.
    var operatorDescription: String {
        var s = "database error"
        if let st = sqlState { s += " \(st)" }
        s += ": \(message)"
        if let h = hint { s += " (hint: \(h))" }
        return s
    }
}

/// Where the database is, resolved from flag, environment and libpq's own variables.
enum DatabaseLocation {
    /// The configured URL; "" means libpq's `PG*` environment; nil means none is configured.
    static func configured(_ args: Arguments) -> String? {
        if let url = args.string("database-url") { return url }
        let env = ProcessInfo.processInfo.environment
        if env["PGHOST"] != nil || env["PGDATABASE"] != nil { return "" }
        return nil
    }

    /// The configured URL, or a usage error explaining how to configure one.
    static func required(_ args: Arguments) throws -> String {
        guard let url = configured(args) else {
            throw UsageError("no database configured: set --database-url or JOBGATE_DATABASE_URL (a libpq URI such as postgresql://user@host/db), or PGHOST/PGDATABASE")
        }
        return url
    }

    /// A pool configuration on `url` with how the database is reached (`--pgbouncer`,
    /// `--listen-database-url`).
    static func configuration(_ args: Arguments, url: String, maxConnections: Int = 10,
                              applicationName: String = "jobgate") -> PostgresConfiguration {
        var c = Database.configuration(url: url, maxConnections: maxConnections, applicationName: applicationName)
        applyTopology(args, to: &c)
        return c
    }

    /// Sets `--pgbouncer` and `--listen-database-url` on a configuration made elsewhere.
    static func applyTopology(_ args: Arguments, to c: inout PostgresConfiguration) {
        c.transactionPooling = args.flag("pgbouncer")
        c.listenURL = args.string("listen-database-url")
    }

    /// A one-connection pool on the required database, for commands that run a few
    /// statements and exit (the caller shuts it down).
    static func commandPool(_ args: Arguments) throws -> PostgresPool {
        PostgresPool(configuration: configuration(args, url: try required(args), maxConnections: 1))
    }
}
