import JobGatePostgres

/// How JobGate's connections are set up: every session puts the `jobgate` schema first
/// on its `search_path`, so JobGate can share a database with the applications it serves.
public enum Database {
    /// A pool configuration for `url` (empty: libpq's `PG*` environment) with JobGate's session settings.
    public static func configuration(url: String, maxConnections: Int = 10, applicationName: String = "jobgate") -> PostgresConfiguration {
        var c = PostgresConfiguration(url: url)
        c.maxConnections = maxConnections
        c.applicationName = applicationName
        c.serverSettings["search_path"] = "jobgate,public"
        return c
    }
}
