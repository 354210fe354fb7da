import JobGatePostgres

/// How JobGate's connections are set up. Every statement names its tables with their schema
/// (`jobgate.jobs`), so no session setting is relied on: JobGate shares a database with the
/// applications it serves, and works through a transaction-pooling PgBouncer.
public enum Database {
    /// A pool configuration for `url` (empty: libpq's `PG*` environment).
    public static func configuration(url: String, maxConnections: Int = 10, applicationName: String = "jobgate") -> PostgresConfiguration {
        var c = PostgresConfiguration(url: url)
        c.maxConnections = maxConnections
        c.applicationName = applicationName
        return c
    }
}
