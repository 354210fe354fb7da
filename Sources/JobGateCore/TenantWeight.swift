import Foundation
import JobGatePostgres

/// A tenant's weight in the fair share of every queue (a row of `jobgate.tenants`): tenants with
/// ready jobs in one queue are claimed from in proportion to their weights (docs/scheduling.md).
public struct TenantWeight: Sendable, Equatable {
    /// The weights a tenant may have; a tenant without a row has `defaultWeight`.
    public static let range = 1...1000
    /// The weight of a tenant without a row.
    public static let defaultWeight = 1

    /// The tenant (`TenantName` rule).
    public var name: String
    /// Its weight, in `range`.
    public var weight: Int
    /// Who set it last, e.g. `jobgate tenant set`, `api token <id>` or `jwt <subject>`.
    public var updatedBy: String
    /// When it was last set (database clock).
    public var updatedAt: Date

    /// A tenant's weight row.
    public init(name: String, weight: Int, updatedBy: String, updatedAt: Date) {
        self.name = name; self.weight = weight; self.updatedBy = updatedBy; self.updatedAt = updatedAt
    }

    init(row r: PostgresRow) throws {
        self.init(name: try r.decode(0), weight: try r.decode(1), updatedBy: try r.decode(2), updatedAt: try r.decode(3))
    }
}

extension JobStore {
    /// Tenants with a weight row, by name (every other tenant weighs `TenantWeight.defaultWeight`).
    public func tenantWeights() async throws -> [TenantWeight] {
        try await pool.query(JobQueries.tenantWeights).map { try TenantWeight(row: $0) }
    }

    /// Sets `tenant`'s weight (in `TenantWeight.range`; the table's CHECK refuses others) and
    /// returns its row. A tenant needs no jobs first.
    public func setTenantWeight(_ tenant: TenantName, weight: Int, by: String) async throws -> TenantWeight {
        let rows = try await pool.query(JobQueries.setTenantWeight, [tenant.rawValue, weight, by])
        guard let r = rows.first else { throw PostgresError(code: .protocolViolation, message: "no row from setTenantWeight") }
        return try TenantWeight(row: r)
    }
}
