import Foundation
import JobGateCore
import JobGatePostgres
import JobGateSystem

extension JobGateCLI {
    static let reportCommand = Command(
        name: "report", summary: "run a report from sql/ (or list them)",
        usage: "jobgate report [NAME] [--since 24h] [--format table|csv|json] [--database-url URL]",
        options: [
            OptionSpec("since", value: "DURATION", default: "24h",
                       help: "how far back the report looks: 30m, 24h, 7d, or seconds"),
            OptionSpec("format", value: "FORMAT", default: "table", help: "table, csv or json"),
        ]
    ) { args in
        guard let name = args.positionals.first else {
            print(ReportOutput.list())
            return 0
        }
        guard args.positionals.count == 1 else { throw UsageError("one report at a time, got \(args.positionals.joined(separator: " "))") }
        guard let report = Reports.named(name) else {
            throw UsageError("no report named \"\(name)\"; `jobgate report` lists them")
        }
        let format = try ReportOutput.Format(args.string("format", default: "table"))
        let since = try args.duration("since", default: .seconds(86_400))
        // A report reads history only: the read replica when there is one.
        let url = try args.string("read-database-url") ?? DatabaseLocation.required(args)
        let pool = PostgresPool(configuration: DatabaseLocation.configuration(args, url: url, maxConnections: 1, applicationName: "jobgate report"))
        defer { pool.shutdown() }
        print(try await ReportOutput.run(report, since: since, format: format, pool: pool), terminator: "")
        return 0
    }
}

/// Running a report and writing its rows as a table, CSV or JSON.
enum ReportOutput {
    enum Format: String, Sendable, CaseIterable {
        case table, csv, json

        init(_ text: String) throws {
            guard let f = Format(rawValue: text.lowercased()) else {
                throw UsageError("--format must be table, csv or json, got \"\(text)\"")
            }
            self = f
        }
    }

    /// The list printed by `jobgate report` alone.
    static func list() -> String {
        let width = (Reports.all.map(\.name.count).max() ?? 0) + 2
        var s = "reports (jobgate report NAME [--since 24h] [--format table|csv|json]):\n"
        for r in Reports.all {
            s += "  " + r.name.padding(toLength: width, withPad: " ", startingAt: 0) + r.summary + "\n"
        }
        return s + "\nThe same files run in psql: psql -v since='7 days' -f sql/NAME.sql (see sql/README.md)."
    }

    /// Runs `report` looking back `since`; the interval is a bound parameter.
    static func run(_ report: Reports.Report, since: Duration, format: Format, pool: PostgresPool) async throws -> String {
        let interval = "\(since.components.seconds) seconds"
        switch format {
        case .json:
            return try await report.runJSON(pool: pool, since: interval) + "\n"
        case .csv:
            return csv(try await report.run(pool: pool, since: interval))
        case .table:
            return table(try await report.run(pool: pool, since: interval))
        }
    }

    /// RFC 4180: a header line, fields quoted when they hold a comma, quote or line break; NULL is empty.
    static func csv(_ rows: PostgresRows) -> String {
        func field(_ v: String?) -> String {
            guard let v else { return "" }
            guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var out = rows.columns.map(field).joined(separator: ",") + "\r\n"
        for row in rows { out += row.values.map(field).joined(separator: ",") + "\r\n" }
        return out
    }

    /// Aligned columns under a header; numbers right-aligned; NULL blank; line breaks shown as `\n`.
    static func table(_ rows: PostgresRows) -> String {
        let cells = rows.rows.map { $0.values.map { ($0 ?? "").replacingOccurrences(of: "\n", with: "\\n") } }
        var widths = rows.columns.map(\.count)
        for r in cells { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        let numeric = rows.columns.indices.map { i in
            !cells.isEmpty && cells.allSatisfy { $0[i].isEmpty || Double($0[i]) != nil }
        }
        func line(_ values: [String]) -> String {
            values.enumerated().map { i, v in
                let pad = String(repeating: " ", count: widths[i] - v.count)
                return numeric[i] ? pad + v : v + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        var out = line(rows.columns)
        out += line(widths.map { String(repeating: "-", count: $0) })
        for r in cells { out += line(r) }
        out += "(\(cells.count) row\(cells.count == 1 ? "" : "s"))\n"
        return out
    }
}
