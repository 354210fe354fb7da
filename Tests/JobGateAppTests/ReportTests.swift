import Foundation
@testable import JobGateApp
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// Each report on a fixture of known jobs and events, through `jobgate report`'s code and through psql.
@Suite(.serialized) struct ReportTests {
    /// All fixture events fall in one whole hour that ended before the current one, so hour and
    /// day buckets are known: A = the start of the previous hour.
    static let a = "(date_trunc('hour', now()) - interval '1 hour')"

    static func at(_ seconds: Int) -> String { "\(a) + interval '\(seconds) seconds'" }

    /// J1, J2 noop (tenant a) complete; J3 flaky (b) retries twice then fails; J4 flaky (b)
    /// completes; J5 noop (a) is cancelled while queued; J6 slow (c) is running with an expired
    /// lease; J7 noop (a) completed three days ago.
    static let fixture = """
        INSERT INTO jobgate.jobs (id, tenant, queue, type, status, attempt, created_at, started_at, finished_at,
                          lease_expires_at, locked_by, timeout_seconds, last_error) VALUES
          ('00000000-0000-7000-8000-000000000001', 'a', 'default', 'noop', 'completed', 1, \(at(0)), \(at(10)), \(at(12)), NULL, NULL, 300, NULL),
          ('00000000-0000-7000-8000-000000000002', 'a', 'default', 'noop', 'completed', 1, \(at(0)), \(at(20)), \(at(24)), NULL, NULL, 300, NULL),
          ('00000000-0000-7000-8000-000000000003', 'b', 'q2', 'flaky', 'failed', 3, \(at(0)), \(at(50)), \(at(56)), NULL, NULL, 300, 'kaput'),
          ('00000000-0000-7000-8000-000000000004', 'b', 'q2', 'flaky', 'completed', 1, \(at(0)), \(at(5)), \(at(15)), NULL, NULL, 300, NULL),
          ('00000000-0000-7000-8000-000000000005', 'a', 'default', 'noop', 'cancelled', 0, \(at(0)), NULL, \(at(1)), NULL, NULL, 300, NULL),
          ('00000000-0000-7000-8000-000000000006', 'c', 'default', 'slow', 'running', 1, \(at(0)), \(at(100)), NULL,
              now() - interval '1 minute', 'w:1:x', 86400, NULL),
          ('00000000-0000-7000-8000-000000000007', 'a', 'default', 'noop', 'completed', 1, now() - interval '3 days',
              now() - interval '3 days' + interval '1 second', now() - interval '3 days' + interval '2 seconds', NULL, NULL, 300, NULL);
        INSERT INTO jobgate.job_events (job_id, tenant, at, event, from_status, to_status, attempt, worker, message)
        SELECT ('00000000-0000-7000-8000-00000000000' || j)::uuid, t, \(a) + make_interval(secs => s), e, NULL, NULL, n, 'w', m
        FROM (VALUES
          (1, 'a', 0, 'submitted', 0, NULL), (1, 'a', 10, 'started', 1, NULL), (1, 'a', 12, 'completed', 1, NULL),
          (2, 'a', 0, 'submitted', 0, NULL), (2, 'a', 20, 'started', 1, NULL), (2, 'a', 24, 'completed', 1, NULL),
          (3, 'b', 0, 'submitted', 0, NULL), (3, 'b', 30, 'started', 1, NULL), (3, 'b', 31, 'retry_scheduled', 1, 'boom'),
          (3, 'b', 40, 'started', 2, NULL), (3, 'b', 43, 'retry_scheduled', 2, 'boom'),
          (3, 'b', 50, 'started', 3, NULL), (3, 'b', 56, 'failed', 3, 'kaput'),
          (4, 'b', 0, 'submitted', 0, NULL), (4, 'b', 5, 'started', 1, NULL), (4, 'b', 15, 'completed', 1, NULL),
          (5, 'a', 0, 'submitted', 0, NULL), (5, 'a', 1, 'cancelled', 0, NULL),
          (6, 'c', 0, 'submitted', 0, NULL), (6, 'c', 100, 'started', 1, NULL)
        ) AS v(j, t, s, e, n, m)
        ORDER BY s, j;
        INSERT INTO jobgate.job_events (job_id, tenant, at, event, attempt)
        SELECT '00000000-0000-7000-8000-000000000007', 'a', now() - interval '3 days' + make_interval(secs => s), e, n
        FROM (VALUES (0, 'submitted', 0), (1, 'started', 1), (2, 'completed', 1)) AS v(s, e, n) ORDER BY s;
        """

    static func withFixture(_ name: String, _ body: (EngineFixture) async throws -> Void) async throws {
        let f = try await EngineFixture.make(name)
        defer { f.pool.shutdown() }
        // Separate statements: the simple query protocol is not used by the pool.
        for statement in fixture.components(separatedBy: ";\n") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            try await f.pool.query(statement)
        }
        try await body(f)
    }

    static func json(_ report: String, _ f: EngineFixture, since: Duration = .seconds(86_400)) async throws -> [[String: Any]] {
        let text = try await ReportOutput.run(Reports.named(report)!, since: since, format: .json, pool: f.pool)
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [[String: Any]]
    }

    @Test func throughputPerHourByTypeAndFinalState() async throws {
        try await Self.withFixture("rthru") { f in
            let rows = try await Self.json("throughput_per_hour", f)
            let got = rows.map { "\($0["type"]!)/\($0["state"]!)=\($0["jobs"]!)" }
            #expect(got == ["flaky/completed=1", "flaky/failed=1", "noop/cancelled=1", "noop/completed=2"])
            #expect(Set(rows.map { $0["hour"] as! String }).count == 1)
            // A week back also sees J7, in its own hour.
            let week = try await Self.json("throughput_per_hour", f, since: .seconds(7 * 86_400))
            #expect(week.count == 5)
            #expect(week.first.map { "\($0["type"]!)/\($0["state"]!)=\($0["jobs"]!)" } == "noop/completed=1")
        }
    }

    @Test func latencyPercentilesByType() async throws {
        try await Self.withFixture("rlat") { f in
            let rows = Dictionary(uniqueKeysWithValues: try await Self.json("latency_percentiles", f).map { ($0["type"] as! String, $0) })
            #expect(Set(rows.keys) == ["flaky", "noop", "slow"])
            func n(_ t: String, _ k: String) -> Double? { (rows[t]?[k] as? NSNumber)?.doubleValue }
            #expect(n("noop", "started") == 2 && n("noop", "wait_p50") == 15 && n("noop", "wait_p95") == 19.5 && n("noop", "wait_p99") == 19.9)
            #expect(n("noop", "completed") == 2 && n("noop", "run_p50") == 3 && n("noop", "run_p95") == 3.9 && n("noop", "run_p99") == 3.98)
            #expect(n("flaky", "started") == 2 && n("flaky", "wait_p50") == 17.5 && n("flaky", "wait_p95") == 28.75 && n("flaky", "wait_p99") == 29.75)
            #expect(n("flaky", "completed") == 1 && n("flaky", "run_p50") == 10 && n("flaky", "run_p99") == 10)
            #expect(n("slow", "started") == 1 && n("slow", "wait_p50") == 100 && n("slow", "completed") == 0)
            #expect(rows["slow"]?["run_p50"] is NSNull)
        }
    }

    @Test func failureAndRetryRatesWithMostCommonErrors() async throws {
        try await Self.withFixture("rfail") { f in
            let rows = Dictionary(uniqueKeysWithValues: try await Self.json("failure_rates", f).map { ($0["type"] as! String, $0) })
            let flaky = try #require(rows["flaky"])
            #expect(flaky["attempts"] as? Int == 4 && flaky["completed"] as? Int == 1 && flaky["retried"] as? Int == 2)
            #expect(flaky["failed"] as? Int == 1 && flaky["lease_expired"] as? Int == 0 && flaky["cancelled"] as? Int == 0)
            #expect((flaky["failure_rate"] as? NSNumber)?.doubleValue == 0.25)
            #expect((flaky["retry_rate"] as? NSNumber)?.doubleValue == 0.5)
            #expect(flaky["top_errors"] as? String == "boom (2); kaput (1)")
            let noop = try #require(rows["noop"])
            #expect(noop["attempts"] as? Int == 2 && (noop["failure_rate"] as? NSNumber)?.doubleValue == 0)
            #expect(noop["top_errors"] is NSNull)
            #expect(rows["slow"]?["failure_rate"] is NSNull, "no attempt ended yet")
        }
    }

    @Test func perTenantUsage() async throws {
        try await Self.withFixture("rtenant") { f in
            let rows = try await Self.json("tenant_usage", f)
            let got = rows.map { r in
                ["tenant", "submitted", "attempts", "completed", "failed", "cancelled", "run_seconds"].map { text(r[$0]) }.joined(separator: " ")
            }
            #expect(got == ["a 3 2 2 0 1 6", "b 2 4 1 1 0 20", "c 1 1 0 0 0 0"])
            // The same through the command line users run.
            let cli = try await Self.cli(["tenant_usage", "--since", "24h", "--format", "json"], f)
            #expect(cli.count == 3 && cli.map { text($0["tenant"]) + " " + text($0["completed"]) } == ["a 2", "b 1", "c 0"])
            let none = try await Self.cli(["tenant_usage", "--since", "1s", "--format", "json"], f)
            #expect(none.isEmpty, "nothing happened in the last second of the fixture")
        }
    }

    @Test func fairSharePerQueueAndMinuteAgainstWeights() async throws {
        try await Self.withFixture("rfair") { f in
            _ = try await f.store.setTenantWeight(TenantName("a")!, weight: 3, by: "test")
            // c's running job completes too, in the same minute as a's two.
            try await f.pool.query("""
                INSERT INTO jobgate.job_events (job_id, tenant, at, event, attempt)
                VALUES ('00000000-0000-7000-8000-000000000006', 'c', \(Self.at(30)), 'completed', 1)
                """)
            let rows = try await Self.json("fair_share", f)
            let got = rows.map { r in
                ["queue", "tenant", "weight", "completed", "share", "weight_share"].map { text(r[$0]) }.joined(separator: " ")
            }
            #expect(got == ["default a 3 2 0.667 0.75", "default c 1 1 0.333 0.25", "q2 b 1 1 1 1"], "\(rows)")
            #expect(Set(rows.map { text($0["minute"]) }).count == 1, "\(rows)")
        }
    }

    /// Runs `jobgate report ARGS` on the fixture's database and parses its JSON output.
    static func cli(_ args: [String], _ f: EngineFixture) async throws -> [[String: Any]] {
        let p = try TestProcess([try JobGateBinary.path(), "report"] + args,
                                environment: ["JOBGATE_DATABASE_URL": f.db.processURL, "JOBGATE_LOG_LEVEL": "error"])
        #expect(await p.wait() == 0, "jobgate report \(args): \(p.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(p.output.utf8)) as? [[String: Any]], "\(p.output)")
    }

    /// Runs sql/`report`.sql in psql on the fixture's database, as CSV, with `-v` `variables`;
    /// psql from the throwaway server's binaries (JOBGATE_TEST_PGBIN) when set.
    static func psql(_ report: String, _ f: EngineFixture, variables: [String] = []) async throws -> Spawn.Finished {
        let bin = ProcessInfo.processInfo.environment["JOBGATE_TEST_PGBIN"].map { $0 + "/psql" } ?? "/usr/bin/psql"
        let argv = [bin, "-X", "-q", "-v", "ON_ERROR_STOP=1"] + variables.flatMap { ["-v", $0] }
            + ["--csv", "-d", f.db.url, "-f", repositoryRoot + "/sql/\(report).sql"]
        return try await onOwnThread { try Spawn.run(argv) }
    }

    @Test func stuckJobsPastLeaseOrTimeout() async throws {
        try await Self.withFixture("rstuck") { f in
            // Also one past its timeout whose lease is still fresh (a handler ignoring its deadline).
            try await f.pool.query("""
                INSERT INTO jobgate.jobs (id, tenant, type, status, attempt, started_at, lease_expires_at, locked_by, timeout_seconds)
                VALUES ('00000000-0000-7000-8000-000000000008', 'c', 'slow', 'running', 1, now() - interval '20 minutes',
                        now() + interval '20 seconds', 'w:2:y', 60)
                """)
            let rows = try await Self.json("stuck_jobs", f)
            #expect(rows.map { $0["id"] as! String } == ["00000000-0000-7000-8000-000000000006", "00000000-0000-7000-8000-000000000008"])
            #expect(rows.map { $0["reason"] as! String } == ["lease_expired", "timed_out"])
            // Unchanged in psql, and through the command line (which ignores --since here).
            let psql = try await Self.psql("stuck_jobs", f)
            let lines = psql.output.split(separator: "\n").dropFirst()
            #expect(psql.status == 0 && lines.map { "\($0.prefix(36)) \($0.split(separator: ",").last!)" }
                        == ["00000000-0000-7000-8000-000000000006 lease_expired", "00000000-0000-7000-8000-000000000008 timed_out"],
                    "\(psql.output)")
            let cli = try await Self.cli(["stuck_jobs", "--since", "7d", "--format", "json"], f)
            #expect(cli.map { $0["id"] as? String } == rows.map { $0["id"] as? String })
        }
    }

    @Test func slowestAttemptsFirst() async throws {
        try await Self.withFixture("rslow") { f in
            let rows = try await Self.json("slowest_jobs", f)
            let got = rows.map { "\(($0["job_id"] as! String).suffix(1))#\($0["attempt"]!) \($0["outcome"]!) \(text($0["run_seconds"]))" }
            #expect(got == ["4#1 completed 10", "3#3 failed 6", "2#1 completed 4", "3#2 retry_scheduled 3", "1#1 completed 2", "3#1 retry_scheduled 1"])
        }
    }

    @Test func dayByDaySummary() async throws {
        try await Self.withFixture("rdaily") { f in
            let rows = try await Self.json("daily_summary", f)
            #expect(rows.count == 1)
            let d = try #require(rows.first)
            let got = ["submitted", "started", "completed", "failed", "cancelled", "retried", "rescued", "tenants", "run_p95"]
                .map { "\(d[$0]!)" }.joined(separator: " ")
            #expect(got == "6 7 3 1 1 2 0 3 9.4")
            #expect(try await Self.json("daily_summary", f, since: .seconds(7 * 86_400)).count == 2)
        }
    }

    @Test func tableAndCSVFormats() async throws {
        try await Self.withFixture("rfmt") { f in
            let report = Reports.named("tenant_usage")!
            let csv = try await ReportOutput.run(report, since: .seconds(86_400), format: .csv, pool: f.pool)
            #expect(csv == "tenant,submitted,attempts,completed,failed,cancelled,run_seconds\r\na,3,2,2,0,1,6.000\r\nb,2,4,1,1,0,20.000\r\nc,1,1,0,0,0,0.000\r\n")
            let table = try await ReportOutput.run(report, since: .seconds(86_400), format: .table, pool: f.pool)
            #expect(table == """
                tenant  submitted  attempts  completed  failed  cancelled  run_seconds
                ------  ---------  --------  ---------  ------  ---------  -----------
                a               3         2          2       0          1        6.000
                b               2         4          1       1          0       20.000
                c               1         1          0       0          0        0.000
                (3 rows)

                """)
            let errors = try await ReportOutput.run(Reports.named("failure_rates")!, since: .seconds(86_400), format: .csv, pool: f.pool)
            #expect(errors.contains(",boom (2); kaput (1)\r\n"))
        }
    }

    @Test func csvQuotesCommasQuotesAndLineBreaks() async throws {
        let f = try await EngineFixture.make("rcsv")
        defer { f.pool.shutdown() }
        let rows = try await f.pool.query("SELECT 'x,y' AS a, E'say \"hi\"\\nthere' AS b UNION ALL SELECT NULL, 'plain'")
        #expect(ReportOutput.csv(rows) == "a,b\r\n\"x,y\",\"say \"\"hi\"\"\nthere\"\r\n,plain\r\n")
        #expect(ReportOutput.table(rows).contains("say \"hi\"\\nthere"))
    }

    /// The same files, unchanged, in psql: its CSV matches ours (stuck_jobs reads the clock, so its
    /// psql run is checked by id and reason in `stuckJobsPastLeaseOrTimeout`).
    @Test func filesRunUnchangedInPsqlWithTheSameResults() async throws {
        try await Self.withFixture("rpsql") { f in
            for report in Reports.all where report.name != "stuck_jobs" {
                let psql = try await Self.psql(report.name, f, variables: ["since=1 day"])
                #expect(psql.status == 0, "\(report.name): \(psql.output)")
                let ours = try await ReportOutput.run(report, since: .seconds(86_400), format: .csv, pool: f.pool)
                #expect(psql.output.replacingOccurrences(of: "\r\n", with: "\n") == ours.replacingOccurrences(of: "\r\n", with: "\n"),
                        "\(report.name)")
            }
            // Without -v since, the file's own default (24 hours) applies.
            let plain = try await Self.psql("throughput_per_hour", f)
            #expect(plain.status == 0 && plain.output.split(separator: "\n").count == 5, "\(plain.output)")
        }
    }

    @Test func bundledReportsMatchTheFilesAndHaveHeaders() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.repositoryRoot + "/sql")
            .filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
        #expect(Reports.all.map(\.name) == files)
        for r in Reports.all {
            let onDisk = try String(contentsOfFile: Self.repositoryRoot + "/sql/\(r.name).sql", encoding: .utf8)
            #expect(r.source == onDisk, "\(r.name) differs from the compiled copy")
            #expect(!r.summary.isEmpty && r.header.contains("Parameters:") && r.header.contains("Columns:"), "\(r.name)")
            #expect(!r.statement.contains(":'since'") && !r.statement.contains("\\"), "\(r.name)")
            #expect(r.takesSince == (r.name != "stuck_jobs"), "\(r.name)")
        }
        #expect(Reports.named("slowest_jobs.sql")?.name == "slowest_jobs")
        #expect(ReportOutput.list().contains("throughput_per_hour"))
    }

    @Test func commandLineUsageErrors() async {
        #expect(await JobGateCLI.main(["jobgate", "report", "no_such_report"]) == 2)
        #expect(await JobGateCLI.main(["jobgate", "report", "daily_summary", "--format", "xml", "--database-url", "x"]) == 2)
        #expect(await JobGateCLI.main(["jobgate", "report", "daily_summary", "--since", "soon", "--database-url", "x"]) == 2)
        #expect(await JobGateCLI.main(["jobgate", "report"]) == 0)
    }

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
}

/// A JSON value as text, numbers without a needless ".0".
func text(_ v: Any?) -> String {
    if let n = v as? NSNumber {
        let d = n.doubleValue
        return d == d.rounded() ? String(Int64(d)) : String(d)
    }
    return v.map { "\($0)" } ?? "nil"
}
