import CLibPQ
import Foundation

/// What a listener delivers.
public enum PostgresListenerEvent: Sendable, Equatable {
    /// A NOTIFY on one of the channels.
    case notification(channel: String, payload: String)
    /// The connection was re-established (and every channel LISTENed again);
    /// notifications sent in between were lost, so consumers should poll once.
    case reconnected
}

/// LISTEN on a dedicated connection, driven by its own thread (`PQsocket` + `poll`).
///
/// It reconnects by itself with backoff after a restart or a terminated backend,
/// re-LISTENs every channel and reports `.reconnected`. A connection that goes silently
/// half-open (a network path that drops everything without a reset, which TCP keepalives
/// miss when a middlebox still answers them) is found by a probe: after `probeInterval`
/// without traffic it sends `SELECT 1`, and no answer within `probeTimeout` means reconnect.
public final class PostgresListener: @unchecked Sendable {
    private let configuration: PostgresConfiguration
    private let lock = NSLock()
    private var channels: [String]
    private var stopped = false
    private var currentBackendPID: Int32 = 0
    private let continuation: AsyncStream<PostgresListenerEvent>.Continuation
    /// The events, in arrival order. Ends when `stop()` is called.
    public let events: AsyncStream<PostgresListenerEvent>
    /// How long `poll` waits before checking for stop and new channels.
    private let pollMilliseconds: Int32 = 200
    private let probeInterval: Double
    private let probeTimeout: Double

    /// Starts listening on `channels`; silence longer than `probeInterval` seconds is probed,
    /// and a probe unanswered for `probeTimeout` seconds drops the connection for a new one.
    public init(configuration: PostgresConfiguration, channels: [String], probeInterval: Double = 10, probeTimeout: Double = 5) {
        self.configuration = configuration
        self.channels = channels
        self.probeInterval = max(0.1, probeInterval)
        self.probeTimeout = max(0.1, probeTimeout)
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let thread = Thread { [self] in self.run() }
        thread.name = "jobgate-listen"
        thread.start()
    }

    /// The server process of the current connection (0 while disconnected); for tests and diagnostics.
    public var backendPID: Int32 {
        lock.lock()
        defer { lock.unlock() }
        return currentBackendPID
    }

    /// Adds a channel; it is LISTENed within one poll interval.
    public func listen(_ channel: String) {
        lock.lock()
        if !channels.contains(channel) { channels.append(channel) }
        lock.unlock()
    }

    /// Stops the thread, closes the connection and finishes `events`.
    public func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func run() {
        var connection: PostgresConnection?
        var listening: Set<String> = []
        var backoff = 0.05
        var connections = 0
        var announced = false
        // The last time anything arrived, and when an unanswered probe was sent.
        var lastHeard = Date()
        var probeSent: Date?
        while !isStopped {
            if connection == nil {
                do {
                    connection = try PostgresConnection(configuration: configuration)
                    listening = []
                    backoff = 0.05
                    connections += 1
                    announced = false
                    lastHeard = Date()
                    probeSent = nil
                } catch {
                    Thread.sleep(forTimeInterval: backoff)
                    backoff = min(backoff * 2, 2)
                    continue
                }
            }
            let c = connection!
            lock.lock()
            let wanted = channels
            lock.unlock()
            do {
                // (Not while a probe's answer is pending: one command at a time.)
                for ch in wanted where !listening.contains(ch) && probeSent == nil {
                    try c.execute(script: "LISTEN " + c.quoteIdentifier(ch))
                    listening.insert(ch)
                }
            } catch {
                c.close()
                connection = nil
                continue
            }
            if !announced {
                announced = true
                lock.lock()
                currentBackendPID = c.backendPID
                lock.unlock()
                if connections > 1 { continuation.yield(.reconnected) }
            }
            guard let raw = c.rawConnection else { connection = nil; continue }
            var p = pollfd(fd: PQsocket(raw), events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, pollMilliseconds)
            var broken = r < 0 && errno != EINTR
            if r > 0 {
                broken = PQconsumeInput(raw) == 0 || PQstatus(raw) != CONNECTION_OK
                lastHeard = Date()
                // The probe's answer: read its results (and clear it) once complete.
                while !broken, probeSent != nil, PQisBusy(raw) == 0 {
                    guard let result = PQgetResult(raw) else { probeSent = nil; break }
                    PQclear(result)
                }
                while !broken, let n = PQnotifies(raw) {
                    let channel = String(cString: n.pointee.relname)
                    let payload = String(cString: n.pointee.extra)
                    PQfreemem(n)
                    continuation.yield(.notification(channel: channel, payload: payload))
                }
            }
            if !broken, let sent = probeSent, Date().timeIntervalSince(sent) > probeTimeout {
                broken = true  // half-open: the probe was never answered
            } else if !broken, probeSent == nil, Date().timeIntervalSince(lastHeard) > probeInterval {
                if PQsendQuery(raw, "SELECT 1") == 1 { probeSent = Date() } else { broken = true }
                _ = PQflush(raw)
            }
            if broken {
                c.close()
                connection = nil
                lock.lock()
                currentBackendPID = 0
                lock.unlock()
            }
        }
        connection?.close()
        continuation.finish()
    }
}
