/// Which connections owe a request head, and since when: the bookkeeping behind
/// `HTTPServer.Configuration.headerTimeoutSeconds`.
///
/// libmicrohttpd's connection timeout restarts on every byte, so a head sent a
/// line every few seconds never ends. This value follows each connection
/// through libmicrohttpd's callbacks and says which sockets are overdue;
/// `ServerCore` does the IO (reading byte counters, shutting sockets down).
///
/// When a head starts:
/// - on a new connection, when it is accepted (no later than its first byte);
/// - on a kept-alive connection, when the first byte after the previous answer
///   is seen: the socket's received-byte counter (`bytesReceived`) is compared
///   with its value when the answer was done, at every `overdue` call. Until then
///   the connection is idle and only the idle timeout applies. Where the counter
///   is unknown, the head is timed from its request line, and an idle connection
///   is cut once it has been idle for the idle timeout plus the head timeout.
struct HeadDeadlines {
    typealias Instant = ContinuousClock.Instant

    enum Phase: Equatable {
        /// Owes a complete head, begun no later than `since`.
        case awaitingHead(since: Instant)
        /// Its head is complete: the request is being read, handled or answered.
        case inRequest
        /// Kept alive after an answer finished at `since`, when the socket had
        /// received `bytesReceived` bytes (nil: unknown).
        case idle(since: Instant, bytesReceived: Int64?)
        /// Overdue and shut down; libmicrohttpd closes it on its next look.
        case cutOff
    }

    struct Entry: Equatable {
        var socket: Int32
        var phase: Phase
    }

    /// How long a head may take from its start.
    let headerTimeout: Duration
    /// libmicrohttpd's idle timeout (for the fallback when no byte counter is available).
    let idleTimeout: Duration
    /// Connections by libmicrohttpd's connection pointer.
    private(set) var entries: [UInt: Entry] = [:]

    init(headerTimeout: Duration, idleTimeout: Duration) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    /// A connection was accepted: its first head starts now.
    mutating func opened(_ connection: UInt, socket: Int32, at now: Instant) {
        entries[connection] = Entry(socket: socket, phase: .awaitingHead(since: now))
    }

    /// A request line was read. On a kept-alive connection whose next head was not
    /// yet seen starting, it starts now; otherwise nothing changes.
    mutating func requestLineReceived(_ connection: UInt, at now: Instant) {
        guard let entry = entries[connection], case .idle = entry.phase else { return }
        entries[connection]?.phase = .awaitingHead(since: now)
    }

    /// The head is complete (the access handler was called for it).
    mutating func headCompleted(_ connection: UInt) {
        guard let entry = entries[connection], entry.phase != .cutOff else { return }
        entries[connection]?.phase = .inRequest
    }

    /// The answer is done; the connection may be kept alive for another request.
    mutating func requestCompleted(_ connection: UInt, at now: Instant, bytesReceived: Int64?) {
        guard let entry = entries[connection], entry.phase != .cutOff else { return }
        entries[connection]?.phase = .idle(since: now, bytesReceived: bytesReceived)
    }

    /// libmicrohttpd closed the connection (its socket is closed right after).
    mutating func closed(_ connection: UInt) {
        entries[connection] = nil
    }

    /// The sockets whose head is overdue at `now`, each returned once (then `cutOff`).
    /// Idle connections whose byte counter moved start their head now.
    mutating func overdue(at now: Instant, bytesReceived: (Int32) -> Int64?) -> [Int32] {
        var due: [Int32] = []
        for (connection, entry) in entries {
            switch entry.phase {
            case .awaitingHead(let since):
                if now - since >= headerTimeout {
                    entries[connection]?.phase = .cutOff
                    due.append(entry.socket)
                }
            case .idle(let since, let before):
                if let before, let count = bytesReceived(entry.socket), count > before {
                    entries[connection]?.phase = .awaitingHead(since: now)
                } else if now - since >= idleTimeout + headerTimeout {
                    // Still here after its idle timeout: bytes trickle in that no counter showed.
                    entries[connection]?.phase = .cutOff
                    due.append(entry.socket)
                }
            case .inRequest, .cutOff:
                break
            }
        }
        return due
    }
}
