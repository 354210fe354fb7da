import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import Synchronization

/// A running API node: the HTTP listener over an `APIService`.
///
/// Its lifecycle is the worker's: `run()` serves until the calling task is cancelled or
/// `shutdown()` asks it to stop, then stops accepting, lets in-flight requests finish (and
/// their group commits) for the grace period, and returns. `jobgate serve` and `jobgate up`
/// call `start()` first, to fail on a bad configuration or a taken port before saying they
/// listen, then `run()`, and call `shutdown()` on SIGTERM.
public final class APIServer: Sendable {
    /// The request handler.
    public let service: APIService
    let http: HTTPServer
    private let background = Mutex<[Task<Void, Never>]>([])
    private let started = Mutex(false)
    private let stopRequests: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    /// A server for `configuration` over `pool` (reads of status, listings and events from
    /// `readPool`, a standby, when given). Nothing is bound until `start()`.
    public init(configuration: APIConfiguration, pool: PostgresPool, readPool: PostgresPool? = nil) {
        let service = APIService(configuration: configuration, pool: pool, readPool: readPool)
        self.service = service
        var http = configuration.http
        if http.diagnostics == nil {
            http.diagnostics = { line in Log.debug("http", ["detail": line]) }
        }
        if configuration.cors != nil {
            // On every answer of the API's paths, the server's own refusals (413…) included.
            http.finishResponse = { path, headers, response in service.addCORSHeaders(path: path, requestHeaders: headers, to: &response) }
        }
        self.http = HTTPServer(configuration: http) { request in await service.handle(request) }
        (stopRequests, stopContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// A pool configuration tuned for an API node: short connect and acquire timeouts, so an
    /// unreachable database turns into a 503 within a few seconds instead of hanging requests,
    /// and a statement timeout (0: none), so a database that is up but stuck (a lock held,
    /// an overloaded server) does too.
    public static func databaseConfiguration(url: String, maxConnections: Int = 16, statementTimeoutSeconds: Int = 15) -> PostgresConfiguration {
        var c = Database.configuration(url: url, maxConnections: maxConnections, applicationName: "jobgate-api")
        c.connectTimeoutSeconds = 2
        c.acquireTimeout = .seconds(3)
        if statementTimeoutSeconds > 0 { c.statementTimeout = .seconds(statementTimeoutSeconds) }
        return c
    }

    /// Checks the configuration, loads JWT keys, binds and starts serving; `run()` does it
    /// first unless it was done. A second call does nothing.
    public func start() async throws {
        guard started.withLock({ s in defer { s = true }; return !s }) else { return }
        do {
            try await bind()
        } catch {
            started.withLock { $0 = false }
            throw error
        }
    }

    private func bind() async throws {
        let c = service.configuration
        do {
            try await service.jobTypes.refresh()
        } catch {
            // The database may be down or not migrated yet: serve (503s) and load it later.
            Log.warn("could not load job types; retrying in the background", ["error": String(describing: error)])
        }
        if service.jobTypes.isLoaded, service.jobTypes.current[c.referenceJobType] == nil {
            throw APIConfigurationError("the reference job type \"\(c.referenceJobType)\" is not a known job type (jobgate types apply)")
        }
        try await service.authenticator.prepare()
        c.metrics.setBuildInfo(version: c.version)
        if c.observeDatabase {
            c.metrics.observe(pool: service.pool)
            c.metrics.observeQueues(store: service.store)
            c.metrics.observeDatabase(store: service.store)
            if let replica = service.replicaStore { c.metrics.observeReplica(store: replica) }
        }
        try http.start()
        let authenticator = service.authenticator
        let catalog = service.jobTypes
        let listen = service.pool.configuration.listenConfiguration
        background.withLock {
            $0 = [
                Task { await authenticator.refreshLoop() },
                Task {
                    await catalog.run(listen: listen, interval: c.jobTypesReloadInterval) { message, error in
                        Log.warn(message, ["error": String(describing: error)])
                    }
                },
            ]
        }
        Log.info("api listening", ["host": c.http.host, "port": http.port, "job_types": catalog.current.keys.sorted().joined(separator: ",")])
    }

    /// The bound port (the real one when the configuration said 0).
    public var port: Int { http.port }

    /// The base URL, e.g. `http://127.0.0.1:8080`.
    public var url: String {
        let host = service.configuration.http.host
        return "http://" + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// Serves (starting first if `start()` was not called) until `shutdown()` is called or
    /// the calling task is cancelled; then stops accepting connections, lets in-flight
    /// requests finish for up to `gracePeriod`, and returns once the node has stopped.
    public func run(gracePeriod: Duration = .seconds(10)) async throws {
        try await start()
        let stop = stopContinuation
        await withTaskCancellationHandler {
            for await _ in stopRequests { break }
        } onCancel: {
            stop.yield()
        }
        background.withLock { for t in $0 { t.cancel() } }
        await http.shutdown(gracePeriod: gracePeriod)
        Log.info("api stopped")
    }

    /// Asks `run()` to stop gracefully; it returns once in-flight requests have finished.
    /// The background reloads (tokens' revocations, job types) stop at once, also when the
    /// server was started and `run()` never called.
    public func shutdown() {
        background.withLock { for t in $0 { t.cancel() } }
        stopContinuation.yield()
    }
}
