import Foundation
import JobGateSystem
import Synchronization
import Testing
@testable import JobGateHTTP

/// What the server did with a hostile or broken request.
enum Outcome: Equatable, CustomStringConvertible {
    case status(Int)
    case closed

    var description: String {
        switch self {
        case .status(let code): "status \(code)"
        case .closed: "closed without a response"
        }
    }
}

/// Sends raw bytes and reports the status answered, or that the server just closed.
func outcome(port: Int, _ bytes: [UInt8], timeoutSeconds: Double = 30) async throws -> Outcome {
    try await onOwnThread {
        let client = try TestClient(port: port, timeoutSeconds: timeoutSeconds)
        try? client.send(bytes)
        do {
            return .status(try client.readResponse().status)
        } catch let error as ClientError where error.description.contains("closed") {
            return .closed
        }
    }
}

func expectHealthy(_ server: HTTPServer, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let response = try await exchange(port: server.port, "GET /still-up HTTP/1.1\r\nHost: t\r\n\r\n")
    #expect(response.status == 200, sourceLocation: sourceLocation)
    #expect(response.text == "ok", sourceLocation: sourceLocation)
}

/// Waits until the server has no request in flight (all contexts released).
func expectDrained(_ server: HTTPServer, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .seconds(3))
    while server.inFlightRequests != 0, clock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
    }
    #expect(server.inFlightRequests == 0, "request state leaked", sourceLocation: sourceLocation)
}

@Suite struct HTTPServerEdgeTests {
    @Test func garbageBytesAreRejectedAndTheServerStaysUp() async throws {
        let recorder = Recorder()
        let diagnostics = Mutex<[String]>([])
        let server = try startServer({ $0.diagnostics = { line in diagnostics.withLock { $0.append(line) } } }, recorder: recorder)
        let garbage: [UInt8] = [0, 1, 2, 255, 254, 13, 10] + Array("\u{7f}GARBAGE \r\n\r\n".utf8)
        let result = try await outcome(port: server.port, garbage)
        print("garbage ->", result)
        #expect(result == .status(400) || result == .closed)
        let badLine = try await outcome(port: server.port, Array("HELLO\r\n\r\n".utf8))
        print("request line without target ->", badLine)
        #expect(badLine == .status(400) || badLine == .closed)
        #expect(recorder.count == 0)
        #expect(!diagnostics.withLock { $0.isEmpty }, "libmicrohttpd's complaints should reach the diagnostics sink")
        try await expectHealthy(server)
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func hugeHeaderIsRejectedAndTheServerStaysUp() async throws {
        let recorder = Recorder()
        let server = try startServer({ $0.connectionMemoryLimit = 16 * 1024 }, recorder: recorder)
        let big = "GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "a", count: 64 * 1024))\r\n\r\n"
        let result = try await outcome(port: server.port, Array(big.utf8))
        print("64 KiB header with 16 KiB memory limit ->", result)
        #expect(result == .status(431) || result == .status(413) || result == .closed)
        let longURL = "GET /\(String(repeating: "u", count: 32 * 1024)) HTTP/1.1\r\nHost: t\r\n\r\n"
        let urlResult = try await outcome(port: server.port, Array(longURL.utf8))
        print("32 KiB URL with 16 KiB memory limit ->", urlResult)
        #expect(urlResult == .status(414) || urlResult == .status(431) || urlResult == .closed)
        #expect(recorder.count == 0)
        try await expectHealthy(server)
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func conflictingContentLengthAndTransferEncoding() async throws {
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        let smuggle = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        let result = try await outcome(port: server.port, Array(smuggle.utf8))
        print("Content-Length + Transfer-Encoding ->", result, "handler calls:", recorder.count)
        // libmicrohttpd 0.9.75 would let chunked win and call the handler; the server refuses.
        #expect(result == .status(400))
        #expect(recorder.count == 0)
        let twoLengths = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nhello"
        let lengths = try await outcome(port: server.port, Array(twoLengths.utf8))
        print("two different Content-Length ->", lengths)
        #expect(lengths == .status(400))
        #expect(recorder.count == 0)
        try await expectHealthy(server)
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func stalledClientIsClosedAfterTheConnectionTimeout() async throws {
        let recorder = Recorder()
        let server = try startServer({ $0.connectionTimeoutSeconds = 1 }, recorder: recorder)
        let port = server.port
        let clock = ContinuousClock()
        let start = clock.now
        let stalled = Task {
            try await onOwnThread { () -> Bool in
                let client = try TestClient(port: port, timeoutSeconds: 90)
                try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nhalf a bo")
                var received: [UInt8] = []
                return client.waitForClose(received: &received)
            }
        }
        // While the stalled connection hangs, others are served.
        try await Task.sleep(for: .milliseconds(200))
        try await expectHealthy(server)
        let closed = try await stalled.value
        let elapsed = clock.now - start
        #expect(closed, "the stalled connection was not closed")
        #expect(elapsed < .seconds(60), "closed only after \(elapsed)")  // 1 s timeout; loose for a starved CI (20.3 s seen under outside I/O)
        #expect(elapsed >= .milliseconds(900), "closed too early: \(elapsed)")
        #expect(recorder.count == 1)  // only the healthy request
        try await expectHealthy(server)
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func perIPConnectionLimitRefusesTheThirdConnection() async throws {
        // The second connection waits idle while the first is served; on a loaded machine
        // that took longer than the tests' usual 5 s connection timeout, which closed it.
        let server = try startServer({ $0.perIPConnectionLimit = 2; $0.connectionTimeoutSeconds = 120 })
        let port = server.port
        let (third, firstAfter) = try await onOwnThread { () -> (Bool, Int) in
            let first = try TestClient(port: port)
            let second = try TestClient(port: port)
            // Make sure both are accepted before the third arrives.
            try first.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try first.readResponse()
            try second.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try second.readResponse()
            let third = try TestClient(port: port, timeoutSeconds: 2)
            try? third.send("GET /c HTTP/1.1\r\nHost: t\r\n\r\n")
            var received: [UInt8] = []
            let refused = third.waitForClose(received: &received) && received.isEmpty
            // The refusal touches only the third connection.
            try first.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
            return (refused, try first.readResponse().status)
        }
        #expect(third, "a third connection from the same IP was served")
        #expect(firstAfter == 200)
        // Once the others are gone (the server notices their close asynchronously), new
        // connections are accepted again.
        var healthy = false
        for _ in 0..<40 where !healthy {
            healthy = (try? await expectHealthy(server)) != nil
            if !healthy { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(healthy)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func fileBodyIsStreamedWithItsLength() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jobgate-http-\(UUID().uuidString).bin").path
        var bytes = [UInt8](repeating: 0, count: 5 * 1024 * 1024)
        var generator = SystemRandomNumberGenerator()
        for i in stride(from: 0, to: bytes.count, by: 8) {
            withUnsafeBytes(of: generator.next() as UInt64) { word in
                for j in 0..<8 { bytes[i + j] = word[j] }
            }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size = UInt64(bytes.count)
        let server = try startServer(handler: { request in
            switch request.path {
            case "/file": .file(path: path, size: size, contentType: "application/octet-stream")
            case "/missing": .file(path: path + ".missing", size: 10)
            default: .text("ok")
            }
        })
        let response = try await exchange(port: server.port, "GET /file HTTP/1.1\r\nHost: t\r\n\r\n", timeoutSeconds: 10)
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "\(bytes.count)")
        #expect(response.header("Content-Type") == "application/octet-stream")
        #expect(response.body.count == bytes.count)
        #expect(response.body == bytes)

        let missing = try await exchange(port: server.port, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(missing.status == 500)
        #expect(missing.text.contains("file_unavailable"))
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func clientLeavingDuringTheHandlerDoesNotBreakTheServer() async throws {
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        let port = server.port
        try await onOwnThread {
            let client = try TestClient(port: port)
            try client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            // client goes away while the handler sleeps
        }
        try await Task.sleep(for: .milliseconds(1300))
        #expect(recorder.count == 1)
        try await expectHealthy(server)
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func gracefulShutdownFinishesInFlightRequestsThenStopsListening() async throws {
        // The handler is held until the test lets it go, so no timing decides what is in flight.
        let (gate, open) = AsyncStream<Void>.makeStream()
        let server = try startServer(handler: { request in
            guard request.path == "/held" else { return await testRoutes(request) }
            for await _ in gate { break }
            return .text("slow")
        })
        let port = server.port
        let clock = ContinuousClock()
        let slow = Task { try await exchange(port: port, "GET /held HTTP/1.1\r\nHost: t\r\n\r\n") }
        while server.inFlightRequests == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let start = clock.now
        // A long grace period: shutdown must return when the request is done, well before it.
        let shutdown = Task { await server.shutdown(gracePeriod: .seconds(120)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.inFlightRequests == 1)
        let refusedWhileDraining = try await onOwnThread { !canConnect(port: port) }
        #expect(refusedWhileDraining, "new connections are accepted while draining")
        open.yield()
        open.finish()
        await shutdown.value
        let took = clock.now - start
        let response = try await slow.value
        #expect(response.status == 200)
        #expect(response.text == "slow")
        #expect(response.header("Connection")?.lowercased() == "close")
        #expect(took < .seconds(60), "shutdown waited for its grace period: \(took)")
        #expect(!canConnect(port: port), "the port still accepts connections")
    }

    @Test func shutdownAnswersLeftoversWith503AfterTheGracePeriod() async throws {
        // Held until after the grace period, however slow the machine.
        let (gate, open) = AsyncStream<Void>.makeStream()
        defer { open.finish() }
        let server = try startServer(handler: { request in
            for await _ in gate { break }
            return .text("too late")
        })
        let port = server.port
        let slow = Task { try await exchange(port: port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") }
        while server.inFlightRequests == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        await server.shutdown(gracePeriod: .milliseconds(200))
        let response = try await slow.value
        #expect(response.status == 503)
        #expect(response.text.contains("shutting_down"))
        #expect(!canConnect(port: port))
    }

    @Test func endlessChunkedBodyIsCutOff() async throws {
        let recorder = Recorder()
        let server = try startServer({ $0.maxBodyBytes = 1000 }, recorder: recorder)
        let port = server.port
        let closed = try await onOwnThread { () -> Bool in
            let client = try TestClient(port: port, timeoutSeconds: 30)
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = "4000\r\n" + String(repeating: "q", count: 0x4000) + "\r\n"
            for _ in 0..<64 {  // 1 MiB, far past cap + drain budget
                do { try client.send(chunk) } catch { break }
            }
            var received: [UInt8] = []
            return client.waitForClose(received: &received)
        }
        #expect(closed)
        #expect(recorder.count == 0)
        try await expectHealthy(server)
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func headRequestGetsHeadersOnly() async throws {
        let server = try startServer()
        let port = server.port
        let (head, next) = try await onOwnThread { () -> (WireResponse, WireResponse) in
            let client = try TestClient(port: port)
            try client.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try client.readResponse(headRequest: true)
            try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            return (head, try client.readResponse())
        }
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "2")
        #expect(next.text == "ok")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func stoppingTwiceOrBeforeStartIsHarmless() async throws {
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0)) { _ in .text("x") }
        await server.shutdown(gracePeriod: .milliseconds(10))
        try server.start()
        #expect(server.port > 0)
        #expect(throws: HTTPServer.StartError.self) { try server.start() }
        await server.shutdown(gracePeriod: .milliseconds(10))
        await server.shutdown(gracePeriod: .milliseconds(10))
    }

    @Test func bindingABusyPortFails() async throws {
        let first = try startServer()
        let second = HTTPServer(configuration: .init(host: "127.0.0.1", port: first.port)) { _ in .text("x") }
        #expect(throws: HTTPServer.StartError.self) { try second.start() }
        let bad = HTTPServer(configuration: .init(host: "localhost", port: 0)) { _ in .text("x") }
        #expect(throws: HTTPServer.StartError.self) { try bad.start() }
        await first.shutdown(gracePeriod: .milliseconds(10))
    }
}
