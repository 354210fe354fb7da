import Foundation
import JobGateCore
import JobGatePostgres
import Testing

/// A migrated fresh database and a store over it: the one migrated-database fixture of the
/// engine's tests (the API's `APIFixture` adds a server on top of the same steps).
public struct EngineFixture: Sendable {
    public let db: TestDatabase
    public let pool: PostgresPool
    public var store: JobStore { JobStore(pool: pool) }

    public static func make(_ prefix: String, maxConnections: Int = 10) async throws -> EngineFixture {
        let db = try await TestDatabase.create(prefix)
        let pool = PostgresPool(configuration: db.configuration(maxConnections: maxConnections))
        try await Migrator(pool: pool).migrate()
        return EngineFixture(db: db, pool: pool)
    }

    /// A second pool on the same database (another "process").
    public func newPool(maxConnections: Int = 6) -> PostgresPool {
        PostgresPool(configuration: db.configuration(maxConnections: maxConnections))
    }

    /// The job's event names, oldest first, after checking that they replay its transitions:
    /// the first enters `queued` from nothing, each starts where the previous one ended, and
    /// the last ends in the job's current status (read in the same snapshot).
    public func events(_ id: UUID, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
        let rows = try await pool.query("""
            SELECT e.event, e.from_status, e.to_status, j.status
            FROM jobgate.job_events e LEFT JOIN jobgate.jobs j ON j.id = e.job_id WHERE e.job_id = $1 ORDER BY e.id
            """, [id]).map { $0 }
        var previous: String?? = .none
        for r in rows {
            let (event, from, to) = (try r.decode(0, as: String.self), try r.decode(1, as: String?.self), try r.decode(2, as: String?.self))
            switch previous {
            case .none: #expect(from == nil && to == "queued", "\(event) is not a submission", sourceLocation: sourceLocation)
            case .some(let p): #expect(from == p, "\(event) starts from \(from ?? "nil"), not from \(p ?? "nil")", sourceLocation: sourceLocation)
            }
            previous = .some(to)
        }
        if let last = rows.last, let status = try last.decode(3, as: String?.self) {
            #expect(try last.decode(2, as: String?.self) == status, "the last event does not end in the job's status \(status)", sourceLocation: sourceLocation)
        }
        return try rows.map { try $0.decode(0) }
    }

    /// Moves every job's clock back: run_at and lease expiries `seconds` earlier.
    public func shiftTime(_ seconds: Double) async throws {
        try await pool.query(
            "UPDATE jobgate.jobs SET run_at = run_at - make_interval(secs => $1::float8), lease_expires_at = lease_expires_at - make_interval(secs => $1::float8)",
            [seconds])
    }
}

