import JobGatePostgres

/// Applies the bundled migrations, each in its own transaction, recording version and checksum.
///
/// Several hosts may migrate at once: a session advisory lock serialises them, and each
/// sees what the others applied. An applied file whose content changed is refused.
public struct Migrator: Sendable {
    /// The state of one migration.
    public struct Status: Sendable, Equatable {
        /// Its version.
        public let version: Int
        /// Its file name.
        public let name: String
        /// When it was applied, or nil if pending.
        public let appliedAt: String?
    }

    /// Why migrating failed.
    public enum Failure: Error, CustomStringConvertible {
        /// An applied migration's file no longer matches what was applied.
        case checksumMismatch(version: Int, name: String)
        /// The database has a migration this binary does not know (a newer JobGate migrated it).
        case unknownVersion(Int)
        /// A sentence for the operator: what is wrong and what to do about it.
        public var description: String {
            switch self {
            case .checksumMismatch(let v, let n):
                return "migration \(n) (version \(v)) was already applied but its content has changed; never edit an applied migration, add a new one"
            case .unknownVersion(let v):
                return "the database has migration version \(v), which this jobgate does not know; upgrade jobgate"
            }
        }
    }

    /// Arbitrary but fixed: the advisory lock key that serialises migrators.
    static let lockKey: Int64 = 0x6A6F_6267_6174_6501
    let pool: PostgresPool
    let files: [Migrations.File]

    /// A migrator over `pool`, applying `files` (the bundled ones by default).
    public init(pool: PostgresPool, files: [Migrations.File] = Migrations.all) {
        self.pool = pool
        self.files = files
    }

    /// Applies every pending migration; returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        let files = self.files
        // One transaction under a transaction-scoped advisory lock: concurrent migrators wait for
        // each other, and no session lock is held (none would survive a transaction pooler).
        return try await pool.withConnection { conn in
            try conn.transaction { conn in
                try conn.query("SELECT pg_advisory_xact_lock($1)", [Self.lockKey])
                try Self.ensureTable(conn)
                let applied = try Self.applied(conn)
                try Self.verify(files: files, applied: applied, conn: conn)
                var done: [Int] = []
                for file in files where applied[file.version] == nil {
                    try conn.execute(script: file.sql)
                    try conn.query(
                        "INSERT INTO jobgate.schema_migrations (version, name, checksum) VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))",
                        [file.version, file.name, file.sql])
                    done.append(file.version)
                }
                if try conn.query("SELECT to_regclass('jobgate.job_types') IS NOT NULL").first?.decode(0, as: Bool.self) == true {
                    try JobTypeStore.seedBuiltIns(conn)
                }
                return done
            }
        }
    }

    /// Applied and pending migrations, in order.
    public func status() async throws -> [Status] {
        let files = self.files
        return try await pool.withConnection { conn in
            try Self.ensureTable(conn)
            let rows = try conn.query("SELECT version, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS') FROM jobgate.schema_migrations")
            var appliedAt: [Int: String] = [:]
            for r in rows { appliedAt[try r.decode(0, as: Int.self)] = try r.decode(1, as: String.self) }
            return files.map { Status(version: $0.version, name: $0.name, appliedAt: appliedAt[$0.version]) }
        }
    }

    /// True when every bundled migration is applied (for `/readyz`).
    public func isCurrent() async throws -> Bool {
        try await appliedVersion() >= (files.last?.version ?? 0)
    }

    /// Throws `SchemaOutdated` unless every bundled migration is applied: a worker started
    /// against an older schema would otherwise fail every claim (its statements call functions
    /// the schema does not have yet).
    public func requireCurrent() async throws {
        let applied = try await appliedVersion()
        let latest = files.last?.version ?? 0
        if applied < latest { throw SchemaOutdated(applied: applied, required: latest) }
    }

    private func appliedVersion() async throws -> Int {
        let rows = try await pool.query(
            "SELECT coalesce(max(version), 0) FROM jobgate.schema_migrations")
        return try rows.first?.decode(0, as: Int.self) ?? 0
    }

    private static func ensureTable(_ conn: PostgresConnection) throws {
        try conn.execute(script: """
            CREATE SCHEMA IF NOT EXISTS jobgate;
            CREATE TABLE IF NOT EXISTS jobgate.schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """)
    }

    private static func applied(_ conn: PostgresConnection) throws -> [Int: String] {
        var out: [Int: String] = [:]
        for r in try conn.query("SELECT version, checksum FROM jobgate.schema_migrations") {
            out[try r.decode(0, as: Int.self)] = try r.decode(1, as: String.self)
        }
        return out
    }

    private static func verify(files: [Migrations.File], applied: [Int: String], conn: PostgresConnection) throws {
        let known = Dictionary(uniqueKeysWithValues: files.map { ($0.version, $0) })
        for (version, checksum) in applied.sorted(by: { $0.key < $1.key }) {
            guard let file = known[version] else { throw Failure.unknownVersion(version) }
            let rows = try conn.query("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", [file.sql])
            if try rows.first?.decode(0, as: String.self) != checksum {
                throw Failure.checksumMismatch(version: version, name: file.name)
            }
        }
    }
}

/// The database's schema is older than this binary's migrations.
public struct SchemaOutdated: Error, CustomStringConvertible, Sendable {
    /// The latest migration applied to the database (0: none).
    public let applied: Int
    /// The latest migration this binary has.
    public let required: Int

    public var description: String {
        "the database schema is at migration \(applied), this binary needs \(required): run jobgate migrate first"
    }
}
