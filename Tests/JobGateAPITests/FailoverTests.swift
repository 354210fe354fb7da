import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Synchronization
import Testing

/// A primary crash and a standby promotion under submit load (DESIGN.md §15): a real streaming
/// synchronous standby made with `pg_basebackup`, SIGKILL of the primary's postmaster, `pg_ctl
/// promote`, and a `serve` and a `worker` process on the libpq multi-host URL, neither restarted.
@Suite struct FailoverTests {
    private final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }

    private struct Answer: Sendable {
        var sentAt: ContinuousClock.Instant
        var answeredAt = ContinuousClock.now
        var status: Int
        var jobID: String?
    }

    @Test func noAcknowledgedJobIsLostAndBothRecoverByThemselves() async throws {
        try await ReplicatedServers.withServers { try await run($0) }
    }

    private func run(_ servers: ReplicatedServers) async throws {
        let url = servers.failoverURL(database: "postgres")
        let setup = PostgresPool(configuration: Database.configuration(url: url, maxConnections: 1))
        try await Migrator(pool: setup).migrate()
        let token = try await TokenStore(pool: setup).create(tenant: "acme", scopes: [.admin]).secret
        setup.shutdown()

        let bin = try JobGateBinary.path()
        let serve = try await ServeProcess.start(databaseURL: url, arguments: ["--no-access-log", "--api-db-timeout", "5"])
        defer { serve.process.signal(SIGKILL) }
        let worker = try TestProcess([bin, "worker", "--lease-seconds", "5", "--concurrency", "8"],
                                     environment: ["JOBGATE_DATABASE_URL": url, "JOBGATE_LOG_LEVEL": "warn"])
        defer { worker.signal(SIGKILL) }

        // Submit load from 4 clients until told to stop; every answer is kept.
        let stop = StopFlag()
        let base = serve.url
        let load = Task {
            try await withThrowingTaskGroup(of: [Answer].self) { group in
                // Four paced clients (about 50 submits/s each): load, without starving the
                // tests that run beside this one on a 2-core CI machine.
                for c in 0..<4 {
                    group.addTask { [base, token] in
                        let client = try HTTPClient(baseURL: base, token: token)
                        var answers: [Answer] = []
                        var i = 0
                        while !stop.isSet {
                            let sentAt = ContinuousClock.now
                            i += 1
                            if let r = try? await client.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["c": c, "i": i]]) {
                                answers.append(Answer(sentAt: sentAt, status: r.status, jobID: r.string("jobId")))
                                try await Task.sleep(for: .milliseconds(r.status == 202 ? 20 : 50))
                            } else {
                                answers.append(Answer(sentAt: sentAt, status: 0, jobID: nil))
                                try await Task.sleep(for: .milliseconds(50))
                            }
                        }
                        return answers
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        try await Task.sleep(for: .seconds(3))
        try await servers.killPrimary()
        let killedAt = ContinuousClock.now
        try await Task.sleep(for: .seconds(1))
        try await servers.promoteStandby()
        let promotedAt = ContinuousClock.now
        // Keep the load on until submits have been accepted again for a while (bounded).
        let standby = PostgresPool(configuration: Database.configuration(url: servers.url(port: servers.standbyPort, database: "postgres"),
                                                                         maxConnections: 2))
        defer { standby.shutdown() }
        let recovered = try await eventually(timeout: .seconds(60)) {
            try await standby.query("SELECT count(*) FROM jobgate.jobs WHERE created_at > now() - interval '1 second'")
                .first?.decode(0, as: Int.self) ?? 0 > 0
        }
        try await Task.sleep(for: .seconds(2))
        stop.set()
        let answers = try await load.value
        #expect(recovered, "no submit was accepted within 60 s of the promotion: \(serve.process.output.suffix(1500))")

        let acknowledged = answers.compactMap { $0.status == 202 ? $0.jobID : nil }
        // What clients saw: the longest stretch without an accepted submit, and what they got meanwhile.
        let accepted = answers.filter { $0.status == 202 }.map(\.answeredAt).sorted()
        let outage = zip(accepted, accepted.dropFirst()).map { ($1 - $0).seconds }.max() ?? .infinity
        let slowest = answers.filter { $0.status == 202 }.map { ($0.answeredAt - $0.sentAt).seconds }.max() ?? 0
        let refused = answers.filter { $0.status != 202 }
        let statuses = Dictionary(grouping: refused, by: \.status).mapValues(\.count)
        print("failover: \(acknowledged.count) acknowledged; the primary was killed, the standby promoted "
              + "\(String(format: "%.1f", (promotedAt - killedAt).seconds)) s later; longest gap between accepted submits "
              + "\(String(format: "%.1f", outage)) s; slowest accepted submit \(String(format: "%.1f", slowest)) s; refused: \(statuses)")
        #expect(acknowledged.count > 20, "hardly any load: \(answers.count) answers")
        // Promotion came 1 s after the kill; clients must be served again well within half a minute.
        #expect(outage >= 1 && outage < 30, "longest gap between accepted submits: \(outage) s")
        // A refusal is a 503 (never a lying 5xx of another kind); 0 is a transport error.
        #expect(refused.allSatisfy { $0.status == 503 || $0.status == 0 }, "\(statuses)")

        // Every acknowledged job is on the promoted server, and all of them complete.
        let stored = try await standby.query("SELECT id::text FROM jobgate.jobs").map { try $0.decode(0, as: String.self) }
        let missing = Set(acknowledged.map { $0.lowercased() }).subtracting(stored.map { $0.lowercased() })
        #expect(missing.isEmpty, "\(missing.count) acknowledged jobs lost, e.g. \(missing.prefix(3))")
        let done = try await eventually(timeout: .seconds(120)) {
            try await standby.query("SELECT count(*) FROM jobgate.jobs WHERE status <> 'completed'").first?.decode(0, as: Int.self) == 0
        }
        let left = try await standby.query("SELECT status, count(*)::int FROM jobgate.jobs WHERE status <> 'completed' GROUP BY 1")
            .map { "\(try $0.decode(0, as: String.self)): \(try $0.decode(1, as: Int.self))" }
        #expect(done, "not completed after the failover: \(left); worker: \(worker.output.suffix(1500))")
        // The API answers from the new primary without a restart.
        let client = try HTTPClient(baseURL: serve.url, token: token)
        #expect(try await client.send("GET", "/readyz").status == 200)
    }
}
