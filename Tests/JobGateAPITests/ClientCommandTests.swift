import Foundation
import JobGateAPI
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// The command line users type: `jobgate token …` against the database and `jobgate
/// submit/status/cancel/retry` against a running `serve`, as separate processes.
@Suite struct ClientCommandTests {
    /// Runs `jobgate ARGS`; returns its exit code and what it printed (stdout only when `stdoutOnly`).
    func jobgate(_ args: [String], env: [String: String], stdoutOnly: Bool = false) async throws -> (Int32, String) {
        let bin = try JobGateBinary.path()
        let argv = stdoutOnly ? ["/bin/sh", "-c", "exec \"$0\" \"$@\" 2>/dev/null", bin] + args : [bin] + args
        let p = try TestProcess(argv, environment: env.merging(["JOBGATE_LOG_LEVEL": "error"]) { a, _ in a })
        let code = await p.wait()
        return (code, p.output)
    }

    @Test func tokenSubmitStatusCancelRetryAndRevoke() async throws {
        let db = try await TestDatabase.create("clicmds")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 2))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        let dbEnv = ["JOBGATE_DATABASE_URL": db.processURL]

        // The secret, alone on stdout, once; only its hash is stored.
        let (created, secretLine) = try await jobgate(["token", "create", "--tenant", "cli", "--scopes", "jobs:submit,jobs:read,jobs:cancel",
                                                       "--name", "ci-bot"], env: dbEnv, stdoutOnly: true)
        #expect(created == 0)
        let lines = secretLine.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "stdout must be the secret and a newline: \(secretLine)")
        let secret = String(lines[0])
        #expect(secret.hasPrefix("jg_") && secret.count >= 32)
        let stored = try await pool.query("SELECT count(*) FROM jobgate.api_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))", [secret])
        #expect(try stored.first?.decode(0, as: Int.self) == 1)
        let (listed, list) = try await jobgate(["token", "list", "--tenant", "cli"], env: dbEnv)
        #expect(listed == 0 && list.contains("ci-bot") && list.contains("active") && !list.contains(secret))
        #expect(try await jobgate(["token", "create", "--tenant", "cli", "--scopes", "everything"], env: dbEnv).0 == 2)

        let serve = try await ServeProcess.start(databaseURL: db.processURL, arguments: ["--no-access-log"])
        defer { serve.process.signal(SIGKILL) }
        let api = ["JOBGATE_URL": serve.url, "JOBGATE_TOKEN": secret]

        let (submitted, submitOut) = try await jobgate(["submit", "noop", "--payload", #"{"n":1}"#, "--delay", "1h"], env: api, stdoutOnly: true)
        #expect(submitted == 0, "\(submitOut)")
        let id = try #require((try JSONSerialization.jsonObject(with: Data(submitOut.utf8)) as? [String: Any])?["jobId"] as? String)
        let (shown, status) = try await jobgate(["status", id], env: api, stdoutOnly: true)
        #expect(shown == 0 && status.contains("\"status\":\"queued\""), "\(status)")
        let (cancelled, cancelOut) = try await jobgate(["cancel", id], env: api, stdoutOnly: true)
        #expect(cancelled == 0 && cancelOut.contains("\"status\":\"cancelled\""), "\(cancelOut)")
        let (retried, retryOut) = try await jobgate(["retry", id], env: api, stdoutOnly: true)
        #expect(retried == 0 && retryOut.contains("\"status\":\"queued\""), "\(retryOut)")
        let (_, events) = try await jobgate(["status", id, "--events"], env: api, stdoutOnly: true)
        #expect(["\"submitted\"", "\"cancelled\"", "\"redriven\""].allSatisfy(events.contains), "\(events)")

        // Failures exit 1 with the API's message; a usage mistake exits 2.
        let (unknown, unknownOut) = try await jobgate(["submit", "no_such_type"], env: api)
        #expect(unknown == 1 && unknownOut.contains("HTTP 400") && unknownOut.contains("no_such_type"), "\(unknownOut)")
        let (missing, missingOut) = try await jobgate(["status", "01a22689-0275-708c-a60d-000000000000"], env: api)
        #expect(missing == 1 && missingOut.contains("HTTP 404"), "\(missingOut)")
        #expect(try await jobgate(["status"], env: api).0 == 2)

        // Revoked: refused within the cache's few seconds.
        let tokenID = try #require(list.split(separator: "\n").first { $0.contains("ci-bot") }?.split(separator: "\t").first.map(String.init))
        #expect(try await jobgate(["token", "revoke", tokenID], env: dbEnv).0 == 0)
        let refused = try await eventually(timeout: .seconds(15)) {
            let (code, out) = try await jobgate(["status", id], env: api)
            return code == 1 && out.contains("HTTP 401")
        }
        #expect(refused)
    }
}
