import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// An API node and two worker hosts whose every statement goes through a real PgBouncer in
/// transaction pooling mode with stock settings (DESIGN.md §15), three server sessions shared by
/// all of them.
@Suite struct PgBouncerDeploymentTests {
    @Test func apiWorkersAndCommandsRunThroughATransactionPooler() async throws {
        let db = try await TestDatabase.create("bouncerdeploy")
        let bouncer = try await PgBouncerProcess.start(poolSize: 3)
        defer { bouncer.stop() }
        let via = bouncer.url(database: db.name)
        let bin = try JobGateBinary.path()
        let env = ["JOBGATE_DATABASE_URL": via, "JOBGATE_PGBOUNCER": "1", "JOBGATE_LOG_LEVEL": "warn"]
        func command(_ args: [String]) async throws -> String {
            let p = try TestProcess([bin] + args, environment: env)
            let code = await p.wait()
            #expect(code == 0, "jobgate \(args.joined(separator: " ")) exited \(code): \(p.output.suffix(1500))")
            return p.output
        }

        // Two migrators at once serialise on the transaction-scoped lock.
        let migrators = try (0..<2).map { _ in try TestProcess([bin, "migrate"], environment: env) }
        for m in migrators {
            let code = await m.wait()
            #expect(code == 0, "migrate: \(m.output.suffix(1500))")
        }
        let typesFile = NSTemporaryDirectory() + "jobgate-bouncer-types-\(UUID().uuidString.prefix(8)).json"
        try #"{"pause": {"argv": ["/bin/true"], "queue": "slow", "maxAttempts": 2}}"#.write(toFile: typesFile, atomically: true, encoding: .utf8)
        defer { unlink(typesFile) }
        #expect(try await command(["types", "apply", typesFile]).contains("pause"))
        #expect(try await command(["types", "list"]).contains("noop"))
        let tokenOutput = try await command(["token", "create", "--tenant", "acme", "--scopes", "admin"])
        let token = try #require(tokenOutput.split(separator: "\n").map(String.init).first { $0.hasPrefix(TokenStore.secretPrefix) },
                                 "no token in: \(tokenOutput)")

        let serve = try await ServeProcess.start(databaseURL: via, arguments: ["--no-access-log", "--pgbouncer"])
        defer { serve.process.signal(SIGKILL) }
        // One worker wakes on NOTIFY over a direct connection, the other polls.
        let workers = try [["--listen-database-url", db.processURL], []].map { extra in
            try TestProcess([bin, "worker", "--concurrency", "8", "--grace-seconds", "5", "--queues", "default"] + extra, environment: env)
        }
        defer { for w in workers { w.signal(SIGKILL) } }
        let client = try HTTPClient(baseURL: serve.url, token: token)
        #expect(try await client.send("GET", "/readyz").status == 200)

        let perTask = 50
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for t in 0..<6 {
                group.addTask {
                    var ids: [String] = []
                    for i in 0..<perTask {
                        let r = try await client.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["t": t, "i": i]])
                        #expect(r.status == 202, "submit answered \(r.status): \(r.text)")
                        if let id = r.string("jobId") { ids.append(id) }
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        try #require(ids.count == 6 * perTask && Set(ids).count == ids.count)

        let direct = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 2))
        defer { direct.shutdown() }
        func count(_ sql: String) async throws -> Int { try await direct.query(sql).first?.decode(0, as: Int.self) ?? -1 }
        let done = try await eventually(timeout: .seconds(120)) {
            try await count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == ids.count
        }
        let completed = try await count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'")
        #expect(done, "completed: \(completed) of \(ids.count)")
        #expect(try await count("SELECT count(*) FROM jobgate.job_events WHERE event = 'completed'") == ids.count)
        #expect(try await count("SELECT count(*) FROM jobgate.jobs WHERE attempt <> 1") == 0)
        // Status reads through the bouncer.
        let status = try await client.send("GET", "/v1/jobs/\(ids[0])")
        #expect(status.status == 200 && status.string("status") == "completed", "\(status.text)")
        // A job of the declared type lands on the type's queue.
        let paused = try await client.send("POST", "/v1/jobs", json: ["type": "pause"])
        let pausedJob = try await client.send("GET", "/v1/jobs/\(try #require(paused.string("jobId"), "\(paused.text)"))")
        #expect(pausedJob.string("queue") == "slow", "\(pausedJob.text)")

        _ = try await command(["prune", "--job-retention", "7d"])
        for w in workers { w.signal(SIGTERM) }
        for w in workers {
            let code = await w.wait()
            #expect(code == 0, "worker exited \(code): \(w.output.suffix(1500))")
        }
        // Nothing that a shared server session would break: no prepared-statement clash, no
        // missing relation, no refused startup parameter.
        for (name, log) in [("serve", serve.process.output), ("worker 1", workers[0].output), ("worker 2", workers[1].output)] {
            for bad in ["prepared statement", "42P05", "26000", "42P01", "unsupported startup parameter"] {
                #expect(!log.contains(bad), "\(name) logged \(bad): \(log.suffix(1500))")
            }
        }
    }
}
