import CMicroHTTPD
import CShims
import Dispatch
import JobGateSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the libmicrohttpd callbacks reach through `cls`: the handler, the
/// limits, the daemon and the bookkeeping for graceful shutdown.
/// `HTTPServer` owns it and stops the daemon before letting it go.
final class ServerCore: Sendable {
    enum Phase {
        case idle, running, draining, stopping, stopped
    }

    struct State {
        var phase: Phase = .idle
        var daemon: MHDPointer?
        var listenSocket: Int32 = -1
        var boundPort: Int = 0
        /// Requests between their URI arriving and libmicrohttpd's completion notice.
        var inFlight: Int = 0
        /// Connections suspended while their handler runs.
        var suspended: [ObjectIdentifier: RequestContext] = [:]
    }

    let configuration: HTTPServer.Configuration
    let handler: @Sendable (HTTPRequest) async -> HTTPResponse
    let state = Mutex(State())
    /// Open connections and their head deadlines (kept only when `timesHeads`).
    /// Sockets are shut down only under this lock, and libmicrohttpd reports a
    /// connection closed (removing it) before it closes the socket, so a socket
    /// number is never shut down after it was reused.
    let headDeadlines: Mutex<HeadDeadlines>
    /// Whether request heads have a deadline (`headerTimeoutSeconds` > 0).
    let timesHeads: Bool
    /// Looks for overdue heads while the daemon runs.
    let headTimer = Mutex<HeadTimer?>(nil)

    /// A dispatch timer crosses threads: creating, resuming and cancelling one are
    /// thread-safe calls of libdispatch.
    struct HeadTimer: @unchecked Sendable {
        let source: DispatchSourceTimer
    }

    init(configuration: HTTPServer.Configuration, handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) {
        self.configuration = configuration
        self.handler = handler
        timesHeads = configuration.headerTimeoutSeconds > 0
        headDeadlines = Mutex(HeadDeadlines(headerTimeout: .seconds(max(0, configuration.headerTimeoutSeconds)),
                                            idleTimeout: .seconds(max(1, configuration.connectionTimeoutSeconds))))
    }

    var boundPort: Int { state.withLock { $0.boundPort } }
    var inFlight: Int { state.withLock { $0.inFlight } }
    var isDraining: Bool { state.withLock { $0.phase != .running } }

    // MARK: Lifecycle

    func start() throws {
        try state.withLock { state in
            guard state.phase == .idle else {
                throw HTTPServer.StartError(description: "the server was already started")
            }
            let daemon = try startDaemon(core: self)
            state.daemon = MHDPointer(raw: daemon)
            state.boundPort = Int(jobgate_mhd_bound_port(daemon))
            state.phase = .running
        }
        startHeadTimer()
    }

    /// Stops accepting new connections. Returns false if the server was not running.
    func beginDraining() -> Bool {
        state.withLock { state in
            guard state.phase == .running, let daemon = state.daemon else { return false }
            state.phase = .draining
            let socket = MHD_quiesce_daemon(daemon.raw)
            if socket >= 0 {
                // libmicrohttpd stops accepting but the socket keeps listening, so the kernel
                // would still complete handshakes nobody serves. Shutting a listening socket
                // down (Linux) makes new connects fail at once; it is closed after the daemon
                // stops, as libmicrohttpd asks.
                _ = Glibc.shutdown(socket, Int32(SHUT_RDWR))
                state.listenSocket = socket
            }
            return true
        }
    }

    /// Stops dispatching and answers every still-suspended request with 503.
    /// Returns the number answered.
    @discardableResult
    func answerLeftovers() -> Int {
        let pending: [RequestContext] = state.withLock { state in
            guard state.phase == .running || state.phase == .draining || state.phase == .stopping else { return [] }
            state.phase = .stopping
            return Array(state.suspended.values)
        }
        for context in pending {
            finish(context, with: ServerCore.unavailable)
        }
        return pending.count
    }

    /// Answers still-suspended requests with 503, then stops the daemon.
    /// libmicrohttpd aborts if stopped with suspended connections, and a connection
    /// must never be resumed after the daemon is gone; both are ruled out here:
    /// once the phase is `.stopping` nothing new is suspended.
    func stopDaemon() {
        answerLeftovers()
        let daemon: MHDPointer? = state.withLock { state in
            guard state.phase == .stopping else { return nil }
            defer { state.daemon = nil }  // claimed: only one caller stops it
            return state.daemon
        }
        guard let daemon else { return }
        headTimer.withLock { timer in
            timer?.source.cancel()
            timer = nil
        }
        MHD_stop_daemon(daemon.raw)
        state.withLock { state in
            if state.listenSocket >= 0 {
                close(state.listenSocket)
                state.listenSocket = -1
            }
            state.suspended.removeAll()
            state.phase = .stopped
        }
    }

    // MARK: Requests

    /// Bodies up to this size are handled from the polling thread until their first suspension.
    static let immediateBodyLimit = 16 * 1024

    static let unavailable = HTTPResponse.error(status: 503, code: "shutting_down", message: "The server is shutting down.")

    /// Called for a new request (its URI just arrived).
    func requestArrived() {
        state.withLock { $0.inFlight += 1 }
    }

    /// Called when libmicrohttpd is done with a request.
    func requestCompleted(_ context: RequestContext) {
        state.withLock { state in
            state.inFlight -= 1
            state.suspended[context.key] = nil
        }
    }

    /// Suspends `connection` and runs the handler for `request` in a task; returns nil.
    /// Once the server is stopping it does not suspend and returns the 503 to send now.
    ///
    /// No libmicrohttpd call is made under the server lock; the context lock is
    /// held across the suspend so neither the task nor shutdown can resume first.
    func dispatch(_ request: HTTPRequest, context: RequestContext, connection: OpaquePointer) -> HTTPResponse? {
        let registered = state.withLock { state -> Bool in
            guard state.phase == .running || state.phase == .draining else { return false }
            state.suspended[context.key] = context
            return true
        }
        guard registered else { return ServerCore.unavailable }
        let answerNow = context.state.withLock { contextState -> HTTPResponse? in
            // Shutdown may have answered between registering and here.
            if case .ready(let response) = contextState.phase { return response }
            contextState.phase = .handling
            contextState.suspendedConnection = MHDPointer(raw: connection)
            MHD_suspend_connection(connection)
            return nil
        }
        if let answerNow {
            state.withLock { $0.suspended[context.key] = nil }
            return answerNow
        }
        let handler = self.handler
        let run: @Sendable () async -> Void = {
            let response = await handler(request)
            self.finish(context, with: response)
        }
        if request.body.count <= ServerCore.immediateBodyLimit {
            // Started on this libmicrohttpd thread and run here until its first real suspension
            // (a database call): routing, authentication from the cache and parsing need no hop
            // to the cooperative pool, and a handler that never suspends answers from here.
            Task.immediate(operation: run)
        } else {
            // A large body (a batch of up to 1 MiB takes milliseconds to parse) is handled on
            // the cooperative pool, so it never holds one of the polling threads that long.
            Task(operation: run)
        }
        return nil
    }

    /// Stores `response` for a suspended request and resumes its connection, once.
    /// A late call (shutdown already answered, or the request is gone) does nothing.
    func finish(_ context: RequestContext, with response: HTTPResponse) {
        let resumed = context.state.withLock { contextState -> Bool in
            guard let connection = contextState.suspendedConnection else {
                if case .receiving = contextState.phase {
                    // Registered but not yet suspended: make dispatch answer this instead.
                    contextState.phase = .ready(response)
                }
                return false
            }
            contextState.suspendedConnection = nil
            contextState.phase = .ready(response)
            // Resumed under the context lock so shutdown and the task cannot both resume.
            // A client that hung up meanwhile is noticed by libmicrohttpd after the resume.
            MHD_resume_connection(connection.raw)
            return true
        }
        if resumed {
            state.withLock { $0.suspended[context.key] = nil }
        }
    }
}

// MARK: Head deadlines

extension ServerCore {
    /// Applies one libmicrohttpd event to the head deadlines (if heads are timed).
    func headEvent(_ connection: OpaquePointer,
                   _ apply: (inout HeadDeadlines, UInt, ContinuousClock.Instant) -> Void) {
        guard timesHeads else { return }
        let now = ContinuousClock.now
        let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
        headDeadlines.withLock { apply(&$0, key, now) }
    }

    /// A request of `connection` is done: it idles until the next head starts.
    func headAnswered(_ connection: OpaquePointer) {
        headEvent(connection) { deadlines, key, now in
            let socket = deadlines.entries[key]?.socket ?? -1
            deadlines.requestCompleted(key, at: now, bytesReceived: ServerCore.bytesReceived(socket))
        }
    }

    static func bytesReceived(_ socket: Int32) -> Int64? {
        guard socket >= 0 else { return nil }
        let count = jobgate_socket_bytes_received(socket)
        return count < 0 ? nil : count
    }

    /// Every few hundred milliseconds, shuts down the sockets whose head is overdue.
    /// libmicrohttpd then reads end-of-file and closes the connection itself, so
    /// its limits and bookkeeping stay right.
    private func startHeadTimer() {
        guard timesHeads else { return }
        let interval = min(Duration.milliseconds(250), headDeadlines.withLock { $0.headerTimeout } / 8)
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        let nanoseconds = Int(interval.inNanoseconds)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds),
                       leeway: .milliseconds(10))
        timer.setEventHandler { [weak self] in self?.cutOverdueHeads() }
        timer.resume()
        headTimer.withLock { $0 = HeadTimer(source: timer) }
    }

    func cutOverdueHeads() {
        let now = ContinuousClock.now
        headDeadlines.withLock { deadlines in
            for socket in deadlines.overdue(at: now, bytesReceived: ServerCore.bytesReceived) {
                _ = Glibc.shutdown(socket, Int32(SHUT_RDWR))
            }
        }
    }
}
