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
    /// The longest one statement may run: past it the client cancels it (`PQcancel`), and the
    /// caller gets `.cancelled` (SQLSTATE 57014). Enforced by the client, not by a session's
    /// `statement_timeout`, so it holds through a transaction pooler too. nil: no limit.
    public var statementTimeout: Duration?
    /// The connections go through a transaction-pooling proxy (PgBouncer `pool_mode =
    /// transaction`), where consecutive transactions may run on different server sessions: no
    /// statement is prepared by name (each is sent unnamed, parsed each time), and nothing
    /// LISTENs on `url` (see `listenURL`). Session settings this module needs (`DateStyle`,
    /// `TimeZone`, `client_encoding`) are ones PgBouncer carries to every server session.
    public var transactionPooling: Bool = false
    /// Where LISTEN connects when it must not use `url`: a direct connection to the server
    /// (or a session-pooling proxy). nil: `url`, or no listening under `transactionPooling`.
    public var listenURL: String?

    /// A configuration for `url`.
    public init(url: String) {
        self.url = url
    }

    /// The configuration of a LISTEN session (`PostgresListener`): `listenURL`, else `url` unless
    /// the connections go through a transaction pooler, where a session's LISTEN would be lost
    /// (nil: nobody listens, and callers poll).
    public var listenConfiguration: PostgresConfiguration? {
        guard listenURL != nil || !transactionPooling else { return nil }
        var c = self
        if let listenURL { c.url = listenURL }
        c.transactionPooling = false
        c.listenURL = nil
        c.statementTimeout = nil
        return c
    }

    /// libpq keywords applied before the user's URI, which may override them.
    var defaultParameters: [(String, String)] {
        [
            ("connect_timeout", String(max(2, connectTimeoutSeconds))),
            ("application_name", applicationName),
            // No `options` startup parameter: PgBouncer refuses it. DateStyle and TimeZone are
            // set after connecting when the server's defaults differ (see PostgresConnection.connect).
            ("client_encoding", "UTF8"),
            // Notice a dead peer (host gone, network cut) instead of waiting forever.
            ("keepalives", "1"),
            ("keepalives_idle", "15"),
            ("keepalives_interval", "5"),
            ("keepalives_count", "3"),
        ]
    }
}
