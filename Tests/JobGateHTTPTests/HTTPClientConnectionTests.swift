import Foundation
@testable import JobGateHTTP
import JobGateSystem
import JobGateTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The client `jobgate bench` drives load with: many requests on one kept-alive connection.
@Suite struct HTTPClientConnectionTests {
    @Test func servesManyRequestsOnOneKeptAliveConnection() async throws {
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        let port = server.port
        let (statuses, bodies, connects) = try await onOwnThread {
            let connection = HTTPClientConnection(host: "127.0.0.1", port: port, timeoutSeconds: 10)
            var statuses: [Int] = []
            var bodies: [String] = []
            for i in 0..<5 {
                let echo = HTTPClientConnection.request("POST", "/echo", host: "127.0.0.1", port: port, token: "t",
                                                        body: Array("{\"i\":\(i)}".utf8))
                let r = try connection.send(echo)
                statuses.append(r.status)
                bodies.append(String(decoding: r.body, as: UTF8.self))
                statuses.append(try connection.send(HTTPClientConnection.request("GET", "/healthz", host: "127.0.0.1", port: port, token: nil)).status)
            }
            return (statuses, bodies, connection.connects)
        }
        await server.shutdown(gracePeriod: .seconds(1))
        #expect(statuses == Array(repeating: 200, count: 10))
        #expect(bodies == (0..<5).map { "{\"i\":\($0)}" })
        // A client that silently reopened after each response would pass the rest.
        #expect(connects == 1)
        #expect(recorder.count == 10)
    }

    // A server answers 413 from the Content-Length and closes while the client is still
    // writing a body far larger than the sockets' buffers: the write fails (EPIPE or a reset),
    // and the answer the server sent first is what the client returns (CI once got "send
    // failed (errno 32)" instead of the 413).
    @Test func aBodyRefusedBeforeItIsSentReturnsTheServersAnswer() async throws {
        let recorder = Recorder()
        let server = try startServer({ $0.maxBodyBytes = 1000 }, recorder: recorder)
        let port = server.port
        let statuses = try await onOwnThread {
            try (0..<3).map { _ in
                let connection = HTTPClientConnection(host: "127.0.0.1", port: port, timeoutSeconds: 10)
                defer { connection.close() }
                let big = HTTPClientConnection.request("POST", "/echo", host: "127.0.0.1", port: port, token: nil,
                                                       body: Array(repeating: UInt8(ascii: "x"), count: 32 << 20))
                return try connection.send(big).status
            }
        }
        await server.shutdown(gracePeriod: .seconds(1))
        #expect(statuses == [413, 413, 413])
        #expect(recorder.count == 0)
    }

    // The server may have acted on a request it never answered in full (a POST made a job):
    // sending it again would do that twice.
    @Test func doesNotResendARequestThatTimedOut() async throws {
        let run = try await twoRequests([.ok, .silence])
        #expect(run.second == nil)
        #expect(run.requests == 2)
        #expect(run.connects == 1)
    }

    @Test func doesNotResendARequestWhoseAnswerWasCutOff() async throws {
        let run = try await twoRequests([.ok, .cutOff])
        #expect(run.second == nil)
        #expect(run.requests == 2)
        #expect(run.connects == 1)
    }

    // A kept-alive connection the server closed while idle never saw the request: send it again.
    @Test func resendsOnAConnectionTheServerClosedWhileIdle() async throws {
        let run = try await twoRequests([.okThenClose, .ok])
        #expect(run.second == 200)
        #expect(run.requests == 2)
        #expect(run.connects == 2)
    }

    // A server may also act on a request and then close without a word: a POST is sent again
    // after that only when a replay is harmless (it carries an Idempotency-Key).
    @Test func resendsAPostOnAClosedConnectionOnlyWithAnIdempotencyKey() async throws {
        let plain = try await twoRequests([.okThenClose, .ok], method: "POST")
        #expect(plain.second == nil)
        #expect(plain.connects == 1)
        let keyed = try await twoRequests([.okThenClose, .ok], method: "POST", headers: [("Idempotency-Key", "k1")])
        #expect(keyed.second == 200)
        #expect(keyed.connects == 2)
        #expect(HTTPClientConnection.isReplayable(HTTPClientConnection.request("DELETE", "/x", host: "h", port: 1, token: nil)))
        #expect(!HTTPClientConnection.isReplayable(HTTPClientConnection.request("POST", "/x", host: "h", port: 1, token: nil,
                                                                                body: Array("Idempotency-Key: in the body".utf8))))
    }

    /// Two requests on one connection (1 s timeout) to a server that answers as `script` says:
    /// the second one's status (nil when it threw), how often the client connected, and how
    /// many requests the server read.
    private func twoRequests(_ script: [ScriptedServer.Answer], method: String = "GET",
                             headers: [(String, String)] = []) async throws -> (second: Int?, connects: Int, requests: Int) {
        let server = try ScriptedServer(script)
        let port = server.port
        let (first, second, connects) = try await onOwnThread {
            let connection = HTTPClientConnection(host: "127.0.0.1", port: port, timeoutSeconds: 1)
            defer { connection.close() }
            let request = HTTPClientConnection.request(method, "/", host: "127.0.0.1", port: port, token: nil, headers: headers)
            let first = try connection.send(request).status
            return (first, (try? connection.send(request))?.status, connection.connects)
        }
        #expect(first == 200)
        return (second, connects, server.stop())
    }
}

/// A plain-socket HTTP server on 127.0.0.1 whose one thread answers each request (numbered
/// across connections, in order) as its script says, and `.ok` past its end. Requests are
/// bodyless (a head ending in an empty line).
private final class ScriptedServer: Sendable {
    enum Answer: Sendable {
        /// 200 with a two-byte body; the connection stays open.
        case ok
        /// The same, then closes the connection.
        case okThenClose
        /// No answer: reads on until the client sends more or closes.
        case silence
        /// Part of a status line and headers, then closes the connection.
        case cutOff
    }

    let port: Int
    private let listener: Int32
    private let requests = Mutex(0)
    private let done = DispatchSemaphore(value: 0)

    init(_ script: [Answer]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, listening else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            serve(script)
            done.signal()
        }.start()
    }

    /// Stops accepting and returns how many requests it read.
    func stop() -> Int {
        shutdown(listener, Int32(SHUT_RDWR))
        done.wait()
        close(listener)
        return requests.withLock { $0 }
    }

    private func serve(_ script: [Answer]) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 && errno == EINTR { continue }
            guard client >= 0 else { return }
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var pending: [UInt8] = []
            exchange: while readRequest(client, &pending) {
                let n = requests.withLock { n in
                    n += 1
                    return n
                }
                switch n <= script.count ? script[n - 1] : .ok {
                case .ok: write(client, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                case .okThenClose:
                    write(client, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    break exchange
                case .silence: continue
                case .cutOff:
                    write(client, "HTTP/1.1 200 OK\r\nContent-Le")
                    break exchange
                }
            }
            close(client)
        }
    }

    /// Reads up to the end of the next request's head; false when the stream ends first.
    private func readRequest(_ fd: Int32, _ pending: inout [UInt8]) -> Bool {
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let i = (0..<max(0, pending.count - 3)).first(where: { Array(pending[$0..<$0 + 4]) == end }) {
                pending.removeFirst(i + 4)
                return true
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            pending.append(contentsOf: chunk[0..<n])
        }
    }

    private func write(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
