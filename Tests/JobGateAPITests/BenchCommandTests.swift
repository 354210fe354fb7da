import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// A short smoke of `jobgate bench` against real `serve` and `worker` processes: each HTTP
/// mode reports what it did as JSON, and what it reports matches the database.
@Suite struct BenchCommandTests {
    private func bench(_ args: [String], url: String, token: String) async throws -> [String: Any] {
        let p = try TestProcess([try JobGateBinary.path(), "bench"] + args + ["--url", url, "--token", token, "--json"],
                                environment: ["JOBGATE_LOG_LEVEL": "error"])
        #expect(await p.wait() == 0, "bench \(args): \(p.output.suffix(1000))")
        return try #require(try JSONSerialization.jsonObject(with: Data(p.output.utf8)) as? [String: Any], "\(p.output.suffix(1000))")
    }

    @Test func submitBatchStatusAndEndToEndModesReportWhatHappened() async throws {
        let db = try await TestDatabase.create("benchcmd")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 2))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        let token = try await TokenStore(pool: pool).create(tenant: "bench", scopes: [.admin]).secret
        let serve = try await ServeProcess.start(databaseURL: db.processURL, arguments: ["--no-access-log"])
        defer { serve.process.signal(SIGKILL) }
        let url = serve.url
        let env = ["JOBGATE_DATABASE_URL": db.processURL, "JOBGATE_LOG_LEVEL": "warn"]

        let submit = try await bench(["submit", "--connections", "4", "--duration", "1s"], url: url, token: token)
        let submitted = try #require(submit["ok"] as? Int)
        #expect(submitted > 0 && (submit["errors"] as? [String: Any])?.isEmpty == true)
        #expect(submit["transportErrors"] as? Int == 0, "a transport error would leave a committed job uncounted: \(submit)")
        let batch = try await bench(["batch", "--connections", "2", "--duration", "1s", "--batch-size", "50"], url: url, token: token)
        let batched = try #require(batch["jobs"] as? Int)
        #expect(batched > 0 && batched == (batch["ok"] as? Int ?? 0) * 50)
        #expect(batch["transportErrors"] as? Int == 0, "\(batch)")
        // Every 2xx the bench counted is a job in the database.
        let stored = try await pool.query("SELECT count(*) FROM jobgate.jobs").first?.decode(0, as: Int.self)
        #expect(stored == submitted + batched)

        let status = try await bench(["status", "--connections", "2", "--duration", "1s", "--prefill", "20"], url: url, token: token)
        #expect((status["ok"] as? Int ?? 0) > 0 && (status["latency"] as? [String: Any])?["p99"] is Double)

        // End to end needs a worker to run what it submits. Without a clean slate it would first
        // drain the thousands of queued jobs above, and the e2e counts and latencies would
        // measure this machine's speed instead.
        try await pool.query("TRUNCATE jobgate.jobs, jobgate.job_events, jobgate.job_outputs")
        let worker = try TestProcess([try JobGateBinary.path(), "worker"], environment: env)
        defer { worker.signal(SIGKILL) }
        let e2e = try await bench(["e2e", "--connections", "4", "--duration", "1s", "--rate", "40"], url: url, token: token)
        #expect(e2e["ok"] as? Int == 40, "\(e2e)")
        let done = try #require(e2e["submitToComplete"] as? [String: Any], "\(e2e)")
        let start = try #require(e2e["submitToStart"] as? [String: Any])
        #expect(done["count"] as? Int == 40 && start["count"] as? Int == 40)
        let (p50Start, p50Done) = (try #require(start["p50"] as? Double), try #require(done["p50"] as? Double))
        // Server times are whole milliseconds, so a start can read up to 1 ms early.
        #expect(p50Start > -0.001 && p50Done >= p50Start && p50Done < 30, "\(e2e)")
    }
}
