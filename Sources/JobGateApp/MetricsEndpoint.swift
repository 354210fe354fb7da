import JobGateCore
import JobGateHTTP
import JobGatePrometheus
import JobGateSystem

/// A worker's `/metrics` listener (`jobgate worker --metrics-addr HOST:PORT`): `GET /metrics`
/// renders `registry` in the Prometheus text format; `GET /healthz` answers `ok`; anything else
/// is 404 (405 for other methods on `/metrics`). Small limits: only Prometheus talks to it.
public final class MetricsEndpoint: Sendable {
    /// Why the address could not be used.
    public struct AddressError: Error, CustomStringConvertible, Sendable {
        /// What is wrong with it.
        public var description: String
    }

    /// The underlying server.
    public let server: HTTPServer

    /// The bound port (the real one when started with port 0).
    public var port: Int { server.port }

    private init(server: HTTPServer) {
        self.server = server
    }

    /// Starts serving `registry` on `host:port` (numeric address; port 0 picks a free one).
    public static func start(host: String, port: Int, registry: MetricsRegistry = Metrics.default) throws -> MetricsEndpoint {
        var config = HTTPServer.Configuration(host: host, port: port)
        config.threadPoolSize = 1
        config.connectionLimit = 64
        config.connectionTimeoutSeconds = 10
        config.maxBodyBytes = 4096
        config.diagnostics = { line in Log.debug("metrics endpoint: \(line)") }
        let server = HTTPServer(configuration: config) { request in
            await respond(to: request, registry: registry)
        }
        try server.start()
        return MetricsEndpoint(server: server)
    }

    /// Starts serving on an address written `HOST:PORT` (`[v6]:PORT` for IPv6), as `--metrics-addr` takes it.
    public static func start(address: String, registry: MetricsRegistry = Metrics.default) throws -> MetricsEndpoint {
        let (host, port) = try parse(address: address)
        return try start(host: host, port: port, registry: registry)
    }

    /// Splits `HOST:PORT` / `[v6]:PORT`; a bare `:PORT` means all IPv4 interfaces.
    public static func parse(address: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":") else {
            throw AddressError(description: "metrics address must be HOST:PORT, got \(address)")
        }
        var host = String(address[..<colon])
        guard let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw AddressError(description: "metrics address has no valid port: \(address)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }

    /// Stops listening, letting a scrape in progress finish.
    public func stop() async {
        await server.shutdown(gracePeriod: .seconds(2))
    }

    static func respond(to request: HTTPRequest, registry: MetricsRegistry) async -> HTTPResponse {
        switch request.path {
        case "/metrics":
            guard request.method == "GET" || request.method == "HEAD" else {
                var h = HTTPHeaders()
                h.set("Allow", "GET, HEAD")
                return .text("method not allowed\n", status: 405, headers: h)
            }
            let text = await registry.scrape()
            return HTTPResponse(status: 200, contentType: MetricsRegistry.contentType, bytes: Array(text.utf8))
        case "/healthz":
            return .text("ok\n")
        default:
            return .text("not found\n", status: 404)
        }
    }
}
