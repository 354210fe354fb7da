import Foundation
import JobGatePostgres

extension DashboardData {
    /// Running jobs listed with their progress at most.
    public static let progressLimit = 20

    /// A running job whose current attempt reported progress (DESIGN.md §14).
    public struct ProgressRow: Sendable, Equatable {
        public var id: UUID
        public var tenant: String
        public var type: String
        public var queue: String
        public var attempt: Int
        public var done: Int64
        /// Nil when the handler did not say.
        public var total: Int64?
        /// Raw text: escape it before showing it.
        public var message: String?
        /// When the worker stored it.
        public var at: Date

        /// A row.
        public init(id: UUID, tenant: String, type: String, queue: String, attempt: Int, done: Int64, total: Int64?,
                    message: String?, at: Date) {
            self.id = id; self.tenant = tenant; self.type = type; self.queue = queue; self.attempt = attempt
            self.done = done; self.total = total; self.message = message; self.at = at
        }

        /// `done` as a share of `total` (0...1), when there is a total.
        public var fraction: Double? {
            guard let total, total > 0 else { return nil }
            return min(1, Double(done) / Double(total))
        }
    }

    /// The running jobs (of `tenant`, or all) with the newest progress, through the partial index of running jobs.
    static func readProgress(_ conn: PostgresConnection, tenant: String?) throws -> [ProgressRow] {
        try conn.query(DashboardQueries.runningProgress, [tenant, progressLimit]).map { row in
            ProgressRow(id: try row.decode(0), tenant: try row.decode(1), type: try row.decode(2), queue: try row.decode(3),
                        attempt: try row.decode(4), done: try row.decode(5), total: try row.decode(6), message: try row.decode(7),
                        at: try row.decode(8))
        }
    }
}
