import Foundation
import JobGatePostgres

/// The reports of `sql/`, compiled into the binary so `jobgate report` works from any directory.
/// Adding a file to `sql/` means adding a line here; a test checks that the two agree.
///
/// The files are plain psql scripts: the only parameter is the psql variable `:'since'`
/// (an interval), given a default by a `\if :{?since}` block. To run one here, psql
/// meta-command lines are dropped and `:'since'` becomes the bound parameter `$1` (see
/// `sql/README.md`): values never enter the SQL text.
public enum Reports {
    /// One report file.
    public struct Report: Sendable {
        /// The file name without `.sql`, e.g. `throughput_per_hour`.
        public let name: String
        /// The file's text as psql runs it.
        public let source: String

        /// The header's first line: what the report answers.
        public var summary: String {
            let first = source.split(separator: "\n").first { $0.hasPrefix("--") } ?? ""
            return first.dropFirst(2).trimmingCharacters(in: .whitespaces)
        }

        /// The leading `--` comment block, without the markers.
        public var header: String {
            source.split(separator: "\n", omittingEmptySubsequences: false)
                .prefix { $0.hasPrefix("--") }
                .map { String($0.dropFirst(2)).trimmingCharacters(in: .whitespaces) }
                .joined(separator: "\n")
        }

        /// True when the report reads `:'since'` (it takes `$1`, an interval).
        public var takesSince: Bool { statement.contains("$1") }

        /// The statement for the extended protocol: psql meta-commands and comment-only lines
        /// dropped, `:'since'` replaced by `$1`, no trailing semicolon.
        public var statement: String {
            var lines: [Substring] = []
            for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
                let t = line.drop { $0 == " " || $0 == "\t" }
                if t.hasPrefix("\\") || t.hasPrefix("--") { continue }
                lines.append(line)
            }
            var sql = lines.joined(separator: "\n").replacingOccurrences(of: ":'since'", with: "$1")
            while let last = sql.last, last.isWhitespace || last == ";" { sql.removeLast() }
            while let first = sql.first, first.isWhitespace { sql.removeFirst() }
            return sql
        }

        /// Runs the report. `since` is an interval in PostgreSQL's syntax (e.g. `86400 seconds`),
        /// bound as a parameter; ignored by reports that do not read it.
        public func run(pool: PostgresPool, since: String) async throws -> PostgresRows {
            try await pool.query(statement, takesSince ? [since] : [])
        }

        /// Runs the report and returns its rows as one JSON array of objects, typed by PostgreSQL
        /// (numbers stay numbers, NULL is null), in the report's order.
        public func runJSON(pool: PostgresPool, since: String) async throws -> String {
            let sql = "SELECT coalesce(json_agg(r), '[]'::json)::text FROM (\n\(statement)\n) r"
            let rows = try await pool.query(sql, takesSince ? [since] : [])
            return try rows.first?.decode(0, as: String.self) ?? "[]"
        }
    }

    /// Every report, by name.
    public static let all: [Report] = [
        report("daily_summary", PackageResources.daily_summary_sql),
        report("failure_rates", PackageResources.failure_rates_sql),
        report("fair_share", PackageResources.fair_share_sql),
        report("latency_percentiles", PackageResources.latency_percentiles_sql),
        report("slowest_jobs", PackageResources.slowest_jobs_sql),
        report("stuck_jobs", PackageResources.stuck_jobs_sql),
        report("tenant_usage", PackageResources.tenant_usage_sql),
        report("throughput_per_hour", PackageResources.throughput_per_hour_sql),
    ].sorted { $0.name < $1.name }

    /// The report called `name` (with or without `.sql`).
    public static func named(_ name: String) -> Report? {
        let n = name.hasSuffix(".sql") ? String(name.dropLast(4)) : name
        return all.first { $0.name == n }
    }

    private static func report(_ name: String, _ bytes: [UInt8]) -> Report {
        Report(name: name, source: String(decoding: bytes, as: UTF8.self))
    }
}
