/// How to reach PostgreSQL and how to size the pool.
public struct PostgresConfiguration: Sendable {
    /// A libpq URI (`postgresql://…`) or conninfo string (`host=… dbname=…`).
    /// Empty means libpq's own `PGHOST`/`PGPORT`/`PGUSER`/`PGDATABASE` environment.
    public var url: String
    /// The most connections the pool opens.
    public var maxConnections: Int = 10
    /// How long a caller waits for a free connection before getting `.poolTimeout`.
    public var acquireTimeout: Duration = .seconds(5)
    /// How long one attempt to connect may take (libpq's `connect_timeout`, whole seconds, at least 2).
    public var connectTimeoutSeconds: Int = 5
    /// `application_name` shown in `pg_stat_activity`.
    public var applicationName: String = "jobgate"
    /// Server settings for every session, sent in the startup packet (no extra round trip),
    /// e.g. `["search_path": "jobgate,public"]`. Values must not contain spaces.
    public var serverSettings: [String: String] = [:]
    /// Statements run on every new connection (constant SQL only, e.g. `SET search_path`).
    public var onConnect: [String] = []

    /// A configuration for `url`.
    public init(url: String) {
        self.url = url
    }

    /// libpq keywords applied before the user's URI, which may override them.
    var defaultParameters: [(String, String)] {
        [
            ("connect_timeout", String(max(2, connectTimeoutSeconds))),
            ("application_name", applicationName),
            // Timestamps are parsed in this format and zone; see PostgresTimestamp.
            ("options", (["-c DateStyle=ISO", "-c TimeZone=UTC", "-c client_encoding=UTF8"]
                + serverSettings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }).joined(separator: " ")),
            // Notice a dead peer (host gone, network cut) instead of waiting forever.
            ("keepalives", "1"),
            ("keepalives_idle", "15"),
            ("keepalives_interval", "5"),
            ("keepalives_count", "3"),
        ]
    }
}
