import CMicroHTTPD
import CShims
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server over libmicrohttpd.
///
/// libmicrohttpd parses requests, keeps connections alive, enforces the
/// connection limits and timeouts and streams responses from its own
/// threads (an epoll thread pool). The handler never runs on those threads:
/// once a request is fully read its connection is suspended, the handler
/// runs in a Swift `Task`, and the connection is resumed to send the answer.
///
/// Call `shutdown(gracePeriod:)` before dropping the server; dropping a
/// running server stops it at once (pending requests get a 503).
public final class HTTPServer: Sendable {
    /// Limits and addresses. Every value has a default suitable for an API node.
    public struct Configuration: Sendable {
        /// Numeric IPv4 or IPv6 address to bind (no host names).
        public var host: String = "127.0.0.1"
        /// TCP port to bind; 0 picks a free ephemeral port (see `HTTPServer.port`).
        public var port: Int = 8080
        /// Threads that libmicrohttpd uses for network IO and parsing (not for handlers).
        public var threadPoolSize: Int = HTTPServer.activeProcessorCount()
        /// Most connections open at once, all clients together; more are refused at accept.
        public var connectionLimit: Int = 1024
        /// Most connections open at once from one IP address; 0 means no per-IP limit.
        /// Off by default because API nodes usually sit behind a proxy or load balancer,
        /// where every client shares the proxy's address. A limit above a quarter of
        /// `connectionLimit` is lowered to that (see `effectivePerIPConnectionLimit`).
        public var perIPConnectionLimit: Int = 0
        /// Seconds a connection may go without receiving a byte (idle between requests,
        /// or stalled mid-request) before it is closed. Every byte restarts it, so it does
        /// not bound a request that trickles in: `headerTimeoutSeconds` does, for the head.
        /// Time spent in the handler does not count (the connection is suspended).
        public var connectionTimeoutSeconds: Int = 30
        /// Seconds a request head (request line and header fields) may take to arrive
        /// completely, however it trickles; an overdue connection is closed without an
        /// answer. A new connection's first head is timed from its accept; a kept-alive
        /// connection's next head from its first byte (seen within a quarter second),
        /// while the idle wait before that is `connectionTimeoutSeconds`'s. 0: no deadline.
        public var headerTimeoutSeconds: Int = 10
        /// Memory libmicrohttpd may use per connection; this also bounds the size of
        /// the request line plus headers (larger ones are answered 431/414 by libmicrohttpd).
        /// 32 KiB: libmicrohttpd clears the whole pool between requests on a kept-alive
        /// connection, which showed in profiles at 64 KiB.
        public var connectionMemoryLimit: Int = 32 * 1024
        /// Largest request body accepted; larger ones get 413 without reaching the handler.
        public var maxBodyBytes: Int = 1024 * 1024
        /// Receives libmicrohttpd's own diagnostics (refused connections, malformed
        /// requests, bind failures), one line each, from its threads. nil: none are produced.
        public var diagnostics: (@Sendable (String) -> Void)? = nil
        /// Adjusts every response just before it is sent, the handler's and the server's own
        /// refusals (413, 400 for an unsafe header, 503 while stopping) alike, given the request's
        /// decoded path and its headers: the one place for headers every answer of a path needs
        /// (CORS). Runs on libmicrohttpd's threads; keep it quick. nil: responses go as they are.
        public var finishResponse: (@Sendable (_ path: String, _ requestHeaders: HTTPHeaders, _ response: inout HTTPResponse) -> Void)? = nil

        /// The per-IP limit applied: `perIPConnectionLimit`, but at most
        /// `largestPerIPConnectionLimit(connectionLimit:)`, so one address can hold at most a
        /// quarter of all connections and clients elsewhere are still served; 0 stays 0.
        public var effectivePerIPConnectionLimit: Int {
            guard perIPConnectionLimit > 0 else { return 0 }
            return min(perIPConnectionLimit, Configuration.largestPerIPConnectionLimit(connectionLimit: connectionLimit))
        }

        /// A quarter of `connectionLimit` (at least 1): the most one address may hold.
        public static func largestPerIPConnectionLimit(connectionLimit: Int) -> Int {
            max(1, connectionLimit / 4)
        }

        /// The defaults: 127.0.0.1:8080 and the limits above.
        public init() {}

        /// The defaults with another address.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// Why the server could not start.
    public struct StartError: Error, CustomStringConvertible, Sendable {
        /// What went wrong, without secrets.
        public var description: String
    }

    /// The configuration the server was created with.
    public let configuration: Configuration
    let core: ServerCore

    /// Creates a server that answers every request with `handler`. Nothing is bound until `start()`.
    public init(configuration: Configuration, handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) {
        self.configuration = configuration
        self.core = ServerCore(configuration: configuration, handler: handler)
    }

    deinit {
        core.stopDaemon()
    }

    /// The bound port once started (the real one when the configuration said 0), else 0.
    public var port: Int { core.boundPort }

    /// Requests received and not yet finished (including their response being sent).
    public var inFlightRequests: Int { core.inFlight }

    /// Binds and starts serving. Ignores SIGPIPE for the whole process (libmicrohttpd
    /// already blocks it on its own threads; other socket code in the process needs it too).
    public func start() throws {
        signal(SIGPIPE, SIG_IGN)
        try core.start()
    }

    /// Stops accepting connections, lets in-flight requests finish for up to
    /// `gracePeriod`, then answers the still-pending ones 503 and stops.
    /// Responses sent while draining carry `Connection: close`.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        guard core.beginDraining() else { return }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: gracePeriod)
        while core.inFlight > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if core.answerLeftovers() > 0 {
            // Give the 503s a moment to be written before the connections are closed.
            let flushDeadline = clock.now.advanced(by: .milliseconds(250))
            while core.inFlight > 0, clock.now < flushDeadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        core.stopDaemon()
    }

    /// The number of processors available to this process (at least 1).
    public static func activeProcessorCount() -> Int {
        #if canImport(Glibc)
        let count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        let count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #endif
        return max(1, count)
    }
}
