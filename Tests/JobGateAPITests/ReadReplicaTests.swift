import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// `--read-database-url` against a real streaming standby (DESIGN.md §15): listings read the
/// standby, a job the standby has not replayed yet is still found (from the primary), the
/// replica's lag is a metric, and reports run there.
@Suite struct ReadReplicaTests {
    @Test func readsComeFromTheStandbyAndNeverMissAJustSubmittedJob() async throws {
        try await ReplicatedServers.withServers { try await run($0) }
    }

    private func run(_ servers: ReplicatedServers) async throws {
        let primaryURL = servers.url(port: servers.primaryPort, database: "postgres")
        let standbyURL = servers.url(port: servers.standbyPort, database: "postgres")
        let primary = PostgresPool(configuration: Database.configuration(url: primaryURL, maxConnections: 2))
        defer { primary.shutdown() }
        let standby = PostgresPool(configuration: Database.configuration(url: standbyURL, maxConnections: 2))
        defer { standby.shutdown() }
        try await Migrator(pool: primary).migrate()
        let token = try await TokenStore(pool: primary).create(tenant: "acme", scopes: [.admin]).secret

        let serve = try await ServeProcess.start(databaseURL: primaryURL,
                                                 arguments: ["--no-access-log", "--read-database-url", standbyURL])
        defer { serve.process.signal(SIGKILL) }
        let bin = try JobGateBinary.path()
        let worker = try TestProcess([bin, "worker"], environment: ["JOBGATE_DATABASE_URL": primaryURL, "JOBGATE_LOG_LEVEL": "warn"])
        defer { worker.signal(SIGKILL) }
        let client = try HTTPClient(baseURL: serve.url, token: token)
        func submit() async throws -> String {
            let r = try await client.send("POST", "/v1/jobs", json: ["type": "noop"])
            #expect(r.status == 202, "\(r.text)")
            return try #require(r.string("jobId"), "\(r.text)")
        }
        func listed() async throws -> Set<String> {
            let r = try await client.send("GET", "/v1/jobs?limit=1000")
            #expect(r.status == 200, "\(r.text)")
            return Set(((r.object?["jobs"] as? [[String: Any]]) ?? []).compactMap { $0["jobId"] as? String ?? $0["id"] as? String })
        }
        func lag() async throws -> Double? {
            let text = try await client.send("GET", "/metrics").text
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("jobgate_db_replica_lag_seconds ") }) else { return nil }
            return Double(line.split(separator: " ").last ?? "")
        }

        // A job read back at once is found, whether or not the standby has it yet.
        let first = try await submit()
        #expect(try await client.send("GET", "/v1/jobs/\(first)").status == 200)
        let completed = try await eventually(timeout: .seconds(60)) {
            try await client.send("GET", "/v1/jobs/\(first)").string("status") == "completed"
        }
        #expect(completed)
        #expect(try await eventually(timeout: .seconds(30)) { try await listed().contains(first) })
        #expect(try await eventually(timeout: .seconds(30)) { try await lag() == 0 }, "a caught-up replica lags 0 s")

        // The standby stops replaying: what is submitted now exists only on the primary.
        try await standby.query("SELECT pg_wal_replay_pause()")
        defer { Task { _ = try? await standby.query("SELECT pg_wal_replay_resume()") } }
        let second = try await submit()
        let status = try await client.send("GET", "/v1/jobs/\(second)")
        #expect(status.status == 200, "a just-submitted job is read from the primary when the replica lacks it: \(status.text)")
        #expect(try await client.send("GET", "/v1/jobs/\(second)/events").status == 200)
        // The listing is the standby's: it does not have the new job, and the metric shows the lag.
        #expect(try await listed().contains(first))
        #expect(try await !listed().contains(second), "the listing came from the primary, not the replica")
        try await Task.sleep(for: .seconds(6))
        let paused = try await lag()
        #expect((paused ?? 0) > 1, "replica lag while replay is paused: \(String(describing: paused))")
        let report = try TestProcess([bin, "report", "tenant_usage", "--format", "csv", "--read-database-url", standbyURL],
                                     environment: ["JOBGATE_DATABASE_URL": primaryURL])
        #expect(await report.wait() == 0, "a report on the standby: \(report.output.suffix(1000))")

        // Replay resumes: the standby catches up, the listing shows the job, the lag goes back to 0.
        try await standby.query("SELECT pg_wal_replay_resume()")
        #expect(try await eventually(timeout: .seconds(30)) { try await listed().contains(second) })
        #expect(try await eventually(timeout: .seconds(30)) { try await lag() == 0 })
    }
}
