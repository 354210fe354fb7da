import Foundation
import JobGateAPI
import JobGateApp
import JobGateAuth
import JobGateCore
import JobGateCrypto
import JobGateHTTP
import JobGatePostgres
import JobGateTestSupport
import JobGateWorker
import Testing

/// A migrated fresh database and a real API server on 127.0.0.1 (port 0).
struct APIFixture {
    let db: TestDatabase
    let pool: PostgresPool
    let server: APIServer
    /// The server's `run()`, ended by `stop()`.
    let running: Task<Void, any Error>
    let tokens: TokenStore

    /// `proxy`: the server reaches the database through it (fault injection).
    /// `types` are written to `job_types` before the server starts (beside the built-ins).
    static func make(_ prefix: String, url: String? = nil, proxy: FaultProxy? = nil, statementTimeoutSeconds: Int = 15,
                     types: [String: JobTypeSettings] = [:],
                     configure: (inout APIConfiguration) -> Void = { _ in }) async throws -> APIFixture {
        let db = try await TestDatabase.create(prefix)
        var database = APIServer.databaseConfiguration(url: url ?? proxy?.url(database: db.name) ?? db.url, maxConnections: 8,
                                                       statementTimeoutSeconds: statementTimeoutSeconds)
        if proxy == nil {
            // An API node's 2 s connect timeout is for a database that is down; here it is up but
            // may be busy with the whole suite starting at once (CI saw connectionFailed then).
            // Tests of unreachable databases go through a proxy and keep the node's timeouts.
            database.connectTimeoutSeconds = TestDatabase.setupConnectTimeoutSeconds
            database.acquireTimeout = .seconds(20)
        }
        // Migrated as an operator would, not under the API's statement limit (one second in some tests).
        let setup = PostgresPool(configuration: db.configuration(maxConnections: 1))
        try await Migrator(pool: setup).migrate()
        try await JobTypeStore(pool: setup).apply(types, by: "test")
        setup.shutdown()
        let pool = PostgresPool(configuration: database)
        var c = APIConfiguration()
        c.http.host = "127.0.0.1"
        c.http.port = 0
        c.accessLog = false
        configure(&c)
        let server = Node.apiServer(configuration: c, pool: pool)
        try await server.start()
        let running = Task { try await server.run(gracePeriod: .seconds(2)) }
        return APIFixture(db: db, pool: pool, server: server, running: running, tokens: TokenStore(pool: pool))
    }

    /// A fixture that also accepts JWTs signed by `signer` (its JWKS written to a temporary
    /// file, read when the server starts), with `jwt` adjusting the settings and `configure`
    /// the rest.
    static func make(_ prefix: String, trusting signer: JWTSigner, jwt adjust: (inout JWTAuthSettings) -> Void = { _ in },
                     configure: (inout APIConfiguration) -> Void = { _ in }) async throws -> APIFixture {
        let jwksPath = NSTemporaryDirectory() + "jobgate-jwks-\(UUID().uuidString).json"
        try Data(signer.jwksJSON).write(to: URL(fileURLWithPath: jwksPath))
        defer { try? FileManager.default.removeItem(atPath: jwksPath) }
        return try await make(prefix) { c in
            var jwt = JWTAuthSettings()
            jwt.jwksFile = jwksPath
            adjust(&jwt)
            c.jwt = jwt
            configure(&c)
        }
    }

    func stop() async {
        server.shutdown()
        _ = try? await running.value
        pool.shutdown()
        try? FileManager.default.removeItem(atPath: outputDirectory)
    }

    /// A fresh API token's secret.
    func token(tenant: String = "acme", scopes: [Scope] = [.admin]) async throws -> String {
        try await tokens.create(tenant: tenant, scopes: scopes, name: "test").secret
    }

    func client(_ token: String? = nil) throws -> HTTPClient {
        var c = try HTTPClient(baseURL: server.url, token: token)
        c.timeoutSeconds = 60  // a starved CI disk made a held-commit test wait past 20 s
        return c
    }

    /// Where `worker()` writes file outputs; `stop()` removes it.
    var outputDirectory: String { NSTemporaryDirectory() + "jobgate-api-outputs-" + db.name }

    /// A worker pool over the fixture's database running the built-in types, quick to claim;
    /// outputs above `inlineMax` bytes go to files.
    func worker(inlineMax: Int = 1 << 20) -> WorkerPool {
        var c = WorkerPool.Configuration()
        c.concurrency = 4
        c.pollInterval = .milliseconds(100)
        c.tickInterval = .milliseconds(50)
        c.outputDirectory = outputDirectory
        c.inlineOutputMax = inlineMax
        c.log = WorkerLog(minimum: .error)
        return WorkerPool(store: JobStore(pool: pool), configuration: c, registry: .builtIn())
    }

    func count(_ sql: String, _ params: [any PostgresBindable] = []) async throws -> Int {
        try await pool.query(sql, params).first!.decode(0, as: Int.self)
    }
}

/// A `jobgate serve` process on a free port, answering `/healthz` by the time this returns.
struct ServeProcess {
    let process: TestProcess
    let url: String

    static func start(databaseURL: String, logLevel: String = "warn", arguments: [String] = []) async throws -> ServeProcess {
        let url = "http://127.0.0.1:\(TestPorts.unused())"
        let process = try TestProcess([try JobGateBinary.path(), "serve", "--listen", String(url.dropFirst(7))] + arguments,
                                      environment: ["JOBGATE_DATABASE_URL": databaseURL, "JOBGATE_LOG_LEVEL": logLevel])
        let health = try HTTPClient(baseURL: url)
        let up = try await eventually(timeout: .seconds(20)) { (try? await health.send("GET", "/healthz"))?.status == 200 }
        if !up { process.signal(SIGKILL) }
        try #require(up, "serve did not come up: \(process.output.suffix(1000))")
        return ServeProcess(process: process, url: url)
    }
}

extension HTTPClient.Response {
    /// `error.code` of the house error shape.
    var errorCode: String? { (object?["error"] as? [String: Any])?["code"] as? String }
    /// `error.field` of the house error shape.
    var errorField: String? { (object?["error"] as? [String: Any])?["field"] as? String }
    func string(_ key: String) -> String? { object?[key] as? String }
}
