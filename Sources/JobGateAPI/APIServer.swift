import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import Synchronization

/// A running API node: the HTTP listener over an `APIService`.
///
/// `jobgate serve` and `jobgate up` make one, `start()` it, and on SIGTERM call
/// `shutdown(gracePeriod:)`, which stops accepting, lets in-flight requests finish and
/// waits for their group commits.
public final class APIServer: Sendable {
    /// The request handler.
    public let service: APIService
    let http: HTTPServer
    private let background = Mutex<Task<Void, Never>?>(nil)

    /// A server for `configuration` over `pool`. Nothing is bound until `start()`.
    public init(configuration: APIConfiguration, pool: PostgresPool) {
        let service = APIService(configuration: configuration, pool: pool)
        self.service = service
        var http = configuration.http
        if http.diagnostics == nil {
            http.diagnostics = { line in Log.debug("http", ["detail": line]) }
        }
        self.http = HTTPServer(configuration: http) { request in await service.handle(request) }
    }

    /// A pool configuration tuned for an API node: short connect and acquire timeouts, so an
    /// unreachable database turns into a 503 within a few seconds instead of hanging requests,
    /// and a statement timeout (0: none), so a database that is up but stuck (a lock held,
    /// an overloaded server) does too.
    public static func databaseConfiguration(url: String, maxConnections: Int = 16, statementTimeoutSeconds: Int = 15) -> PostgresConfiguration {
        var c = Database.configuration(url: url, maxConnections: maxConnections, applicationName: "jobgate-api")
        c.connectTimeoutSeconds = 2
        c.acquireTimeout = .seconds(3)
        if statementTimeoutSeconds > 0 { c.serverSettings["statement_timeout"] = "\(statementTimeoutSeconds)s" }
        return c
    }

    /// Checks the configuration, loads JWT keys, binds and starts serving.
    public func start() async throws {
        let c = service.configuration
        guard c.jobTypes[c.referenceJobType] != nil else {
            throw APIConfigurationError("the reference job type \"\(c.referenceJobType)\" is not a known job type")
        }
        try await service.authenticator.prepare()
        c.metrics.setBuildInfo(version: c.version)
        if c.observeDatabase {
            c.metrics.observe(pool: service.pool)
            c.metrics.observeQueues(store: service.store)
            c.metrics.observeDatabase(store: service.store)
        }
        try http.start()
        let authenticator = service.authenticator
        background.withLock { $0 = Task { await authenticator.refreshLoop() } }
        Log.info("api listening", ["host": c.http.host, "port": http.port, "job_types": c.jobTypes.keys.sorted().joined(separator: ",")])
    }

    /// The bound port (the real one when the configuration said 0).
    public var port: Int { http.port }

    /// The base URL, e.g. `http://127.0.0.1:8080`.
    public var url: String {
        let host = service.configuration.http.host
        return "http://" + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// Stops accepting connections, finishes in-flight requests for up to `gracePeriod`, then stops.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        background.withLock { $0?.cancel() }
        await http.shutdown(gracePeriod: gracePeriod)
        Log.info("api stopped")
    }
}
