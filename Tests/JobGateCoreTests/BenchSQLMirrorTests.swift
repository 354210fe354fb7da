import Foundation
@testable import JobGateCore
import Testing

/// bench/sql/*.sql give pgbench JobGate's own statements (the ceilings of bench/run) with the
/// parameters replaced by arrays built in SQL. They are copies, so this keeps them true: every
/// stretch of a statement between its parameters must appear, verbatim up to whitespace, in
/// the file that mirrors it.
@Suite struct BenchSQLMirrorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Comments dropped and whitespace runs folded to one space.
    static func normalized(_ sql: String) -> String {
        sql.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.range(of: "--").map { String(line[..<$0.lowerBound]) } ?? String(line) }
            .joined(separator: " ")
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// The stretches of `sql` between its `$n` parameters (with their casts), long enough to mean something.
    static func stretches(_ sql: String) -> [String] {
        normalized(sql).split(separator: /\$[0-9]+(::[a-z]+(\[\])?)?/).map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.count >= 20 }
    }

    static func file(_ name: String) throws -> String {
        normalized(try String(contentsOf: root.appendingPathComponent("bench/sql/\(name)"), encoding: .utf8))
    }

    @Test(arguments: [
        ("submit.sql", "submit"), ("claim_complete.sql", "claim"), ("claim_complete.sql", "complete"),
    ])
    func benchFileMirrorsTheStatement(_ name: String, _ statement: String) throws {
        var sql = ["submit": JobQueries.submit, "claim": JobQueries.claim, "complete": JobQueries.complete][statement]!
        if statement == "claim", let last = sql.range(of: "\nSELECT ", options: .backwards) {
            sql = String(sql[..<last.lowerBound])  // the file keeps the claimed rows for \gset with a SELECT of its own
        }
        let text = try Self.file(name)
        let parts = Self.stretches(sql)
        #expect(parts.count >= 2)
        for part in parts {
            #expect(text.contains(part), "bench/sql/\(name) no longer holds this part of JobQueries.\(statement): \(part)")
        }
    }

    @Test func theCheckNoticesAChange() {
        let parts = Self.stretches("SELECT a FROM jobs WHERE id = $1::uuid AND status = 'running' -- note\nAND x = $2")
        #expect(parts == ["SELECT a FROM jobs WHERE id =", "AND status = 'running' AND x ="])
        #expect(!Self.normalized("SELECT a FROM jobs WHERE id = 7 AND status = 'queued'").contains(parts[1]))
    }
}
