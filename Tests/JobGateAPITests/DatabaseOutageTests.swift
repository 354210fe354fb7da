import Foundation
import JobGateAPI
import JobGateApp
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import JobGateWorker
import Synchronization
import Testing

/// Stops PostgreSQL under a running API. Uses a private cluster (initdb/pg_ctl in a temp
/// dir) so the shared throwaway server that other suites use keeps running.
@Suite struct DatabaseOutageTests {
    @Test func unreachableDatabaseIs503FastAndServiceReturnsWithEveryAcknowledgedJob() async throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "jg-outage-\(UInt32.random(in: 0...UInt32.max))")
        let pg = try EmbeddedPostgres(directory: dir, port: TestPorts.unused())
        try await onOwnThread { try pg.start() }
        defer {
            pg.stop()
            try? FileManager.default.removeItem(at: dir)
        }
        let pool = PostgresPool(configuration: APIServer.databaseConfiguration(url: pg.url, maxConnections: 8))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        var c = APIConfiguration()
        c.http.port = 0
        c.accessLog = false
        let server = Node.apiServer(configuration: c, pool: pool)
        try await server.start()
        let serving = Task { try await server.run(gracePeriod: .seconds(2)) }
        let secret = try await TokenStore(pool: pool).create(tenant: "t", scopes: [.admin]).secret
        let client = try { var c = try HTTPClient(baseURL: server.url, token: secret); c.timeoutSeconds = 30; return c }()
        let shared = OutageRecord()
        let submitted = try await client.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 3600])
        #expect(submitted.status == 202)
        let firstID = try #require(submitted.string("jobId"))
        shared.acked.withLock { _ = $0.insert(firstID) }

        // Submitters run throughout the outage and the restart.
        let submitters = (0..<4).map { _ in
            Task {
                while !shared.stop.load(ordering: .relaxed) {
                    guard let r = try? await client.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 3600]) else { continue }
                    shared.outcomes.withLock { $0[r.status, default: 0] += 1 }
                    if r.status == 202, let id = r.string("jobId") { shared.acked.withLock { _ = $0.insert(id) } }
                    if r.status == 503 { try? await Task.sleep(for: .milliseconds(50)) }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        try await onOwnThread { pg.stop() }

        let clock = ContinuousClock()
        for (method, path) in [("POST", "/v1/jobs"), ("GET", "/v1/jobs/\(firstID)"), ("GET", "/readyz"), ("GET", "/v1/jobs")] {
            let started = clock.now
            let r = method == "POST" ? try await client.send(method, path, json: ["type": "noop"]) : try await client.send(method, path)
            let took = clock.now - started
            #expect(r.status == 503, "\(method) \(path)")
            #expect(r.header("Retry-After") != nil)
            // A 2 s connect timeout and a 3 s wait for a connection bound it at about 5 s; the
            // margin is for a loaded CI machine. A hanging request would take the client's 30 s.
            #expect(took < .seconds(10), "\(method) \(path) took \(took)")
        }
        #expect(try await client.send("GET", "/healthz").status == 200)
        // The browser's pages answer with the HTML 503 page, as documented, not the API's JSON.
        for (method, path) in [("GET", "/dashboard"), ("POST", "/dashboard/login")] {
            let r = method == "GET" ? try await client.send(method, path)
                : try await client.send(method, path, body: Array("token=jg_V6t6Ya-3ju094w6aWi6hRlWhlz0FjFDjDnXTjlJhsLk".utf8), contentType: "application/x-www-form-urlencoded")
            #expect(r.status == 503 && r.header("Content-Type")?.hasPrefix("text/html") == true && r.header("Retry-After") != nil,
                    "\(method) \(path): \(r.status) \(r.header("Content-Type") ?? "")")
        }

        try await onOwnThread { try pg.start() }
        #expect(try await eventually(timeout: .seconds(20)) {
            (try? await client.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 3600]))?.status == 202
        })
        #expect(try await client.send("GET", "/readyz").status == 200)
        try await Task.sleep(for: .milliseconds(300))
        shared.stop.store(true, ordering: .relaxed)
        for t in submitters { await t.value }
        server.shutdown()
        try await serving.value

        // Every job that got a 202 is in the database.
        let ids = shared.acked.withLock { $0 }
        let stored = try await pool.query("SELECT id::text FROM jobgate.jobs").map { try $0.decode(0, as: String.self) }
        #expect(ids.isSubset(of: Set(stored)), "missing: \(ids.subtracting(stored).count)")
        let seen = shared.outcomes.withLock { $0 }
        #expect(seen[503, default: 0] > 0)
        #expect(seen[202, default: 0] > 0)
        #expect(seen.keys.allSatisfy { [202, 503].contains($0) }, "\(seen)")
    }
}

final class OutageRecord: Sendable {
    let acked = Mutex<Set<String>>([])
    let stop = Atomic<Bool>(false)
    let outcomes = Mutex<[Int: Int]>([:])
}
