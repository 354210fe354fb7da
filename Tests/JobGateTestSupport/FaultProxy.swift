import Foundation
import JobGatePostgres
import JobGateSystem
#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy between JobGate and a real PostgreSQL that injects faults at a chosen moment of
/// the wire protocol (DESIGN.md §12): it reads the frontend messages, knows which statement
/// each Bind or Query runs, and can forward a matching statement and drop its answer after the
/// server finished it (a COMMIT that succeeded with its reply lost), cut the connection before
/// the statement reaches the server, or blackhole a connection (half-open: nothing passes,
/// nothing is closed). Everything else is forwarded byte for byte.
/// (Over 400 lines: the wire-protocol reader and the fault actions it drives are one piece.)
public final class FaultProxy: @unchecked Sendable {
    /// What to do with a statement that matches.
    public enum Action: Sendable, Equatable {
        /// Forward it, let the server finish it (up to its ReadyForQuery), discard the whole
        /// answer and close both sides: the statement took effect, the client never hears.
        case dropReply
        /// Close both sides instead of forwarding it: the statement never reaches the server.
        case cut
        /// Forward it and its answer, then pass nothing more either way, keeping both sockets open.
        case blackhole
    }

    /// A fault: the next `times` statements whose SQL contains `sql` (and whose Bind message
    /// contains `parameter`, when given) get `action`.
    public struct Fault: Sendable {
        public var sql: String
        public var parameter: String?
        public var action: Action
        public var times: Int
        public init(sql: String, parameter: String? = nil, action: Action, times: Int = 1) {
            self.sql = sql
            self.parameter = parameter
            self.action = action
            self.times = times
        }
    }

    /// The port to connect to (on 127.0.0.1).
    public let port: Int
    private let targetPort: Int
    private let listenFD: Int32
    private let lock = NSLock()
    private var faults: [Fault] = []
    private var firedCount = 0
    private var links: [Link] = []
    private var stopped = false

    /// A proxy on a free loopback port in front of 127.0.0.1:`targetPort`.
    public init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError("proxy: socket failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else { close(fd); throw TestSetupError("proxy: bind/listen failed") }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: actual.sin_port))
        let t = Thread { [self] in acceptLoop() }
        t.name = "fault-proxy-accept"
        t.start()
    }

    /// The proxy for the test server (`PGPORT`, which scripts/test exports; it listens on 127.0.0.1).
    public static func forTestServer() throws -> FaultProxy {
        guard let p = ProcessInfo.processInfo.environment["PGPORT"].flatMap(Int.init) else {
            throw TestSetupError("no PGPORT: run the tests through scripts/test")
        }
        return try FaultProxy(targetPort: p)
    }

    /// A libpq conninfo reaching `database` through the proxy.
    public func url(database: String) -> String {
        let user = ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres"
        return "host=127.0.0.1 port=\(port) dbname=\(database) user=\(user) sslmode=disable gssencmode=disable"
    }

    /// Adds a fault; it applies to statements sent from now on.
    public func arm(_ fault: Fault) {
        lock.lock()
        faults.append(fault)
        lock.unlock()
    }

    /// Removes every fault not yet used up.
    public func disarm() {
        lock.lock()
        faults.removeAll()
        lock.unlock()
    }

    /// How many statements a fault has been applied to.
    public var fired: Int {
        lock.lock()
        defer { lock.unlock() }
        return firedCount
    }

    /// Blackholes every open connection that has sent a statement containing `sql`; returns how many.
    @discardableResult
    public func blackholeConnections(thatSent sql: String) -> Int {
        lock.lock()
        let chosen = links.filter { $0.hasSent(sql) }
        lock.unlock()
        for l in chosen { l.blackhole() }
        return chosen.count
    }

    /// Closes the listening socket and every connection.
    /// Idempotent: closing the listening descriptor twice could close another socket that
    /// reused its number.
    public func stop() {
        lock.lock()
        if stopped { lock.unlock(); return }
        stopped = true
        let all = links
        links.removeAll()
        lock.unlock()
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        for l in all { l.close() }
    }

    deinit { stop() }

    /// The fault for a statement, used up by one; nil when none matches.
    fileprivate func take(sql: String, bind: [UInt8]) -> Action? {
        lock.lock()
        defer { lock.unlock() }
        guard let i = faults.firstIndex(where: { f in
            sql.contains(f.sql) && (f.parameter.map { p in Self.contains(bind, Array(p.utf8)) } ?? true)
        }) else { return nil }
        let action = faults[i].action
        faults[i].times -= 1
        if faults[i].times <= 0 { faults.remove(at: i) }
        firedCount += 1
        return action
    }

    private func acceptLoop() {
        while true {
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                lock.lock()
                let done = stopped
                lock.unlock()
                if done { return }
                continue
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = Self.loopback(port: targetPort)
            let ok = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if ok != 0 {
                close(client)
                close(server)
                continue
            }
            let link = Link(proxy: self, client: client, server: server)
            lock.lock()
            links.removeAll { $0.isClosed }
            links.append(link)
            lock.unlock()
            link.start()
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, hay.count >= needle.count else { return needle.isEmpty }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }
}

/// One proxied connection: a thread per direction, the frontend stream parsed into messages.
private final class Link: @unchecked Sendable {
    private weak var proxy: FaultProxy?
    private let client: Int32
    private let server: Int32
    private let lock = NSLock()
    private var closed = false
    private var holes = false
    /// Discard server bytes until the next ReadyForQuery, then close.
    private var dropping = false
    /// Statement name → SQL, as Parse messages declared them.
    private var statements: [String: String] = [:]
    private var sentSQL: [String] = []

    init(proxy: FaultProxy, client: Int32, server: Int32) {
        self.proxy = proxy
        self.client = client
        self.server = server
    }

    var isClosed: Bool { lock.lock(); defer { lock.unlock() }; return closed }

    func hasSent(_ sql: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return !closed && sentSQL.contains { $0.contains(sql) }
    }

    func start() {
        let up = Thread { [self] in frontendLoop() }
        up.name = "fault-proxy-up"
        up.start()
        let down = Thread { [self] in backendLoop() }
        down.name = "fault-proxy-down"
        down.start()
    }

    func blackhole() {
        lock.lock()
        holes = true
        lock.unlock()
    }

    func close() {
        lock.lock()
        let was = closed
        closed = true
        lock.unlock()
        if was { return }
        shutdown(client, Int32(SHUT_RDWR))
        shutdown(server, Int32(SHUT_RDWR))
        Glibc.close(client)
        Glibc.close(server)
    }

    private var isHoled: Bool { lock.lock(); defer { lock.unlock() }; return holes }

    /// Client → server, message by message (the startup packets have no type byte).
    private func frontendLoop() {
        var untyped = true
        while true {
            guard let msg = untyped ? readUntyped(client) : readTyped(client) else { close(); return }
            if untyped {
                // SSLRequest / GSSENCRequest are followed by another untyped startup packet.
                let code = msg.count >= 8 ? Int(msg[4]) << 24 | Int(msg[5]) << 16 | Int(msg[6]) << 8 | Int(msg[7]) : 0
                untyped = code == 80_877_103 || code == 80_877_104
            } else if let action = inspect(msg) {
                switch action {
                case .cut:
                    close()
                    return
                case .dropReply:
                    lock.lock()
                    dropping = true
                    lock.unlock()
                case .blackhole:
                    // Forward this statement; its answer passes, then the link goes silent.
                    _ = writeAll(server, msg)
                    waitForAnswerThenHole()
                    continue
                }
            }
            if isHoled { continue }
            if !writeAll(server, msg) { close(); return }
        }
    }

    private var holeAfterAnswer = false
    private func waitForAnswerThenHole() {
        lock.lock()
        holeAfterAnswer = true
        lock.unlock()
    }

    /// Server → client, message by message after the startup answer.
    private func backendLoop() {
        var first = true
        while true {
            if first {
                // The answer to an SSLRequest is one byte ('N': go on in plain text).
                var b: UInt8 = 0
                let n = recv(server, &b, 1, Int32(MSG_PEEK))
                if n <= 0 { close(); return }
                if b == UInt8(ascii: "N") {
                    _ = recv(server, &b, 1, 0)
                    if !writeAll(client, [b]) { close(); return }
                    continue
                }
                first = false
            }
            guard let msg = readTyped(server) else { close(); return }
            lock.lock()
            let drop = dropping, holed = holes, holeAfter = holeAfterAnswer
            lock.unlock()
            if drop {
                if msg[0] == UInt8(ascii: "Z") { close(); return }
                continue
            }
            if holed { continue }
            if !writeAll(client, msg) { close(); return }
            if holeAfter, msg[0] == UInt8(ascii: "Z") {
                lock.lock()
                holes = true
                holeAfterAnswer = false
                lock.unlock()
            }
        }
    }

    /// Records Parse declarations; for a Bind or simple Query, the fault that applies, if any.
    private func inspect(_ msg: [UInt8]) -> FaultProxy.Action? {
        let type = msg[0]
        let body = Array(msg[5...])
        switch type {
        case UInt8(ascii: "P"):
            let name = cString(body, from: 0)
            let sql = cString(body, from: name.utf8.count + 1)
            lock.lock()
            statements[name] = sql
            sentSQL.append(sql)
            if sentSQL.count > 64 { sentSQL.removeFirst() }
            lock.unlock()
            return nil
        case UInt8(ascii: "B"):
            let portal = cString(body, from: 0)
            let name = cString(body, from: portal.utf8.count + 1)
            lock.lock()
            let sql = statements[name] ?? ""
            lock.unlock()
            return proxy?.take(sql: sql, bind: body)
        case UInt8(ascii: "Q"):
            let sql = cString(body, from: 0)
            lock.lock()
            sentSQL.append(sql)
            if sentSQL.count > 64 { sentSQL.removeFirst() }
            lock.unlock()
            return proxy?.take(sql: sql, bind: [])
        default:
            return nil
        }
    }

    private func cString(_ b: [UInt8], from: Int) -> String {
        guard from < b.count else { return "" }
        var end = from
        while end < b.count, b[end] != 0 { end += 1 }
        return String(decoding: b[from..<end], as: UTF8.self)
    }

    private func readUntyped(_ fd: Int32) -> [UInt8]? {
        guard let head = readExactly(fd, 4) else { return nil }
        let len = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
        guard len >= 4, len < 1 << 20, let rest = readExactly(fd, len - 4) else { return nil }
        return head + rest
    }

    private func readTyped(_ fd: Int32) -> [UInt8]? {
        guard let head = readExactly(fd, 5) else { return nil }
        let len = Int(head[1]) << 24 | Int(head[2]) << 16 | Int(head[3]) << 8 | Int(head[4])
        guard len >= 4, len < 1 << 30, let rest = readExactly(fd, len - 4) else { return nil }
        return head + rest
    }

    private func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        if n == 0 { return [] }
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r > 0 { got += r } else if r < 0 && errno == EINTR { continue } else { return nil }
        }
        return out
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let r = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if r > 0 { sent += r } else if r < 0 && errno == EINTR { continue } else { return false }
        }
        return true
    }
}

/// A session of its own that a test keeps open across statements (a transaction holding
/// locks, say), unlike the pool, which rolls back what a closure leaves open. Each call runs
/// on a thread of its own, never on the cooperative pool.
public final class HeldSession: @unchecked Sendable {
    private let connection: PostgresConnection
    private let lock = NSLock()

    public init(url: String) async throws {
        connection = try await Self.blocking { try PostgresConnection(configuration: PostgresConfiguration(url: url)) }
    }

    /// Runs one unprepared statement.
    public func run(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws {
        let c = connection, l = lock
        try await Self.blocking {
            l.lock()
            defer { l.unlock() }
            _ = try c.query(sql, parameters, prepare: false)
        }
    }

    public func close() { lock.lock(); connection.close(); lock.unlock() }

    private static func blocking<T>(_ body: @escaping () throws -> T) async throws -> T {
        let box = UncheckedBox(body)
        return try await onOwnThread { UncheckedBox(try box.value()) }.value
    }
}

/// Carries a value that is not Sendable (a `PostgresConnection`) to the one thread at a time
/// that uses it.
public final class UncheckedBox<T>: @unchecked Sendable {
    public let value: T
    public init(_ v: T) { value = v }
}
