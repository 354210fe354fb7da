import Foundation
@testable import JobGateBench
import JobGateBench
@testable import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// The pgbench scripts of bench/run's SQL ceilings, made from JobQueries, run by pgbench itself
/// against a migrated database: they must do what JobGate's own statements do.
@Suite struct PgbenchScriptsTests {
    /// Runs `name` with pgbench (`-M prepared`, as bench/run does), one client, `transactions` times.
    static func pgbench(_ name: String, _ f: EngineFixture, transactions: Int, _ variables: [String]) async throws {
        guard let bin = ProcessInfo.processInfo.environment["JOBGATE_TEST_PGBIN"] else {
            throw TestSetupError("JOBGATE_TEST_PGBIN is not set: run the tests through scripts/test")
        }
        let path = NSTemporaryDirectory() + "jobgate-pgbench-\(UUID().uuidString).sql"
        try PgbenchScripts.named(name)!.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let run = try await onOwnThread {
            try Spawn.run([bin + "/pgbench", "-n", "-M", "prepared", "-c", "1", "-t", String(transactions)]
                               + variables.flatMap { ["-D", $0] }
                               + ["-f", path, "\(f.db.processURL)"])
        }
        #expect(run.status == 0 && run.output.contains("number of failed transactions: 0"), "pgbench \(name): \(run.output)")
    }

    @Test func submitInsertsJobsWithTheirEvents() async throws {
        let f = try await EngineFixture.make("pgbs")
        defer { f.pool.shutdown() }
        try await Self.pgbench("submit", f, transactions: 3, ["n=5"])
        let rows = try await f.pool.query("""
            SELECT j.id::text, j.status, j.tenant, j.type, j.max_attempts, j.timeout_seconds, j.payload::text,
                   (SELECT string_agg(e.event || '>' || e.to_status, ',') FROM jobgate.job_events e WHERE e.job_id = j.id)
            FROM jobgate.jobs j WHERE j.queue = 'pgbench-submit'
            """).map { $0 }
        #expect(rows.count == 15)
        for r in rows {
            let id = try r.decode(0, as: String.self)
            #expect(Array(id)[14] == "7", "\(id) is not a UUIDv7")
            #expect(try r.decode(1, as: String.self) == "queued" && r.decode(2, as: String.self) == "bench")
            #expect(try r.decode(3, as: String.self) == "noop" && r.decode(4, as: Int.self) == 3 && r.decode(5, as: Int.self) == 60)
            #expect(try r.decode(6, as: String.self) == "{}" && r.decode(7, as: String.self) == "submitted>queued")
        }
    }

    @Test func claimCompleteClaimsThenCompletesOrOnlyClaims() async throws {
        let f = try await EngineFixture.make("pgbc")
        defer { f.pool.shutdown() }
        let ids = try await f.store.submit((0..<10).map { _ in NewJob(tenant: "t", type: "noop", queue: "pgbench") }).map(\.jobID)
        try await Self.pgbench("claim-complete", f, transactions: 1, ["n=4", "complete=1"])
        try await Self.pgbench("claim-complete", f, transactions: 1, ["n=4", "complete=0"])
        let statuses = try await f.pool.query("SELECT status, count(*) FROM jobgate.jobs GROUP BY status ORDER BY status")
            .map { "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: Int.self))" }
        #expect(statuses == ["completed=4", "queued=2", "running=4"])
        // Oldest first, each with the history JobGate writes (checked for replay by `events`).
        #expect(try await f.events(ids[0]) == ["submitted", "started", "completed"])
        #expect(try await f.events(ids[4]) == ["submitted", "started"])
        #expect(try await f.events(ids[9]) == ["submitted"])
    }

    @Test func everyParameterIsReplacedAndCastsStay() {
        #expect(PgbenchScripts.substituting("SELECT $1::int[], $10, $2 WHERE x = $1", [1: ":a", 2: "ARRAY[:n]", 10: "'t'"])
                    == "SELECT (:a)::int[], ('t'), (ARRAY[:n]) WHERE x = (:a)")
        for name in PgbenchScripts.names {
            #expect(PgbenchScripts.named(name)!.firstMatch(of: /\$[0-9]/) == nil, "\(name) kept a parameter")
        }
    }
}
