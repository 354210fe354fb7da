import Foundation
import JobGateAPI
import JobGateHTTP
import JobGateTestSupport
import Testing

/// `jobgate up` as the README's first command runs it: no database configured, so it creates
/// an embedded cluster, serves the API, runs workers, and stops it all on SIGTERM; a second
/// `up` reuses the cluster and its jobs.
@Suite struct UpCommandTests {
    /// Anything that would point `up` at an existing database instead of embedding one.
    private static let databaseVariables = ["JOBGATE_DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"]

    private func up(_ dir: String, port: Int) throws -> TestProcess {
        try TestProcess([try JobGateBinary.path(), "up", "--data-dir", dir + "/pg", "--listen", "127.0.0.1:\(port)",
                         "--output-dir", dir + "/outputs", "--grace-seconds", "2"],
                        environment: ["JOBGATE_LOG_LEVEL": "warn"], removing: Self.databaseVariables)
    }

    /// The token `up` prints once it is ready.
    private func token(of process: TestProcess) async throws -> String {
        var token: String?
        let printed = await eventually(timeout: .seconds(90)) {
            token = process.output.split(separator: "\n").first { $0.hasPrefix("token: ") }.map { String($0.dropFirst(7)) }
            return token != nil
        }
        #expect(printed, "up printed no token: \(process.output.suffix(2000))")
        return try #require(token)
    }

    /// When a check fails, `up` is SIGKILLed and cannot stop the PostgreSQL it started with
    /// pg_ctl, which would run on with its data directory deleted under it: stop it here
    /// (SIGQUIT, an immediate shutdown) and give it a few seconds to go.
    private func stopPostmaster(pidFile: String) {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = text.split(separator: "\n").first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }), pid > 0,
              kill(pid, SIGQUIT) == 0 else { return }
        let deadline = Date().addingTimeInterval(10)
        while kill(pid, 0) == 0, FileManager.default.fileExists(atPath: pidFile), Date() < deadline { usleep(50_000) }
    }

    @Test func upEmbedsPostgresServesAndWorksThenStopsEverythingOnSigterm() async throws {
        let dir = "/tmp/jg-up-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)  // as root, the cluster's unprivileged user must reach it
        let pidFile = "\(dir)/pg/data/postmaster.pid"
        defer {
            stopPostmaster(pidFile: pidFile)
            try? FileManager.default.removeItem(atPath: dir)
        }
        let port = TestPorts.unused()
        let base = "http://127.0.0.1:\(port)"

        let first = try up(dir, port: port)
        let token1 = try await token(of: first)
        let client = try HTTPClient(baseURL: base, token: token1)
        let submitted = try await client.send("POST", "/v1/jobs", json: ["type": "weather", "payload": ["records": 3]])
        #expect(submitted.status == 202)
        let id = try #require(submitted.object?["jobId"] as? String)
        let completed = try await eventually(timeout: .seconds(30)) {
            try await client.send("GET", "/v1/jobs/\(id)").object?["status"] as? String == "completed"
        }
        #expect(completed, "the job did not complete: \(first.output.suffix(2000))")
        // up's token is admin and operator: its dashboard shows every tenant.
        let browser = try HTTPClient(baseURL: base)
        let login = try await browser.send("POST", "/dashboard/login", body: Array("token=\(token1)".utf8),
                                           contentType: "application/x-www-form-urlencoded")
        let session = String(try #require(login.header("Set-Cookie")).split(separator: ";")[0])
        #expect(try await browser.send("GET", "/dashboard", body: nil, contentType: nil, headers: [("Cookie", session)]).text.contains("all tenants"))

        first.signal(SIGTERM)
        #expect(await first.wait() == 0, "up: \(first.output.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/pg/data/PG_VERSION"), "the cluster is not where --data-dir says")
        #expect(!FileManager.default.fileExists(atPath: pidFile), "the embedded PostgreSQL still runs after up exited")
        await #expect(throws: (any Error).self) { _ = try await client.send("GET", "/healthz") }

        // Again on the same folder: the same cluster with the job in it; the first run's token is
        // replaced by the new one.
        let second = try up(dir, port: port)
        let token2 = try await token(of: second)
        #expect(token2 != token1)
        let again = try HTTPClient(baseURL: base, token: token2)
        let job = try await again.send("GET", "/v1/jobs/\(id)")
        #expect(job.status == 200 && job.object?["status"] as? String == "completed")
        #expect(try await client.send("GET", "/v1/jobs/\(id)").status == 401)
        second.signal(SIGINT)
        #expect(await second.wait() == 0, "up: \(second.output.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: pidFile))
    }
}
