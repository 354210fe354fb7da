import Foundation
import JobGateSystem
import Testing
@testable import JobGateHTTP

/// Starts a server on 127.0.0.1 with an ephemeral port.
func startServer(
    _ configure: (inout HTTPServer.Configuration) -> Void = { _ in },
    recorder: Recorder = Recorder(),
    handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse = testRoutes
) throws -> HTTPServer {
    var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
    configuration.threadPoolSize = 2
    configuration.connectionTimeoutSeconds = 5
    configure(&configuration)
    let server = HTTPServer(configuration: configuration) { request in
        recorder.record(request)
        return await handler(request)
    }
    try server.start()
    return server
}

@Sendable func testRoutes(_ request: HTTPRequest) async -> HTTPResponse {
    switch request.path {
    case "/echo":
        return .json(request.body)
    case "/slow":
        try? await Task.sleep(for: .seconds(1))
        return .text("slow")
    default:
        return .text("ok")
    }
}

@Suite struct HTTPServerTests {
    @Test func getParsesPathAndQuery() async throws {
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        let response = try await exchange(port: server.port,
            "GET /a%20b/c+d?x=1&name=J%C3%BCrgen+M&flag&empty=&x=2 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.text == "ok")
        let request = try #require(recorder.last)
        #expect(request.method == "GET")
        #expect(request.path == "/a b/c+d")
        #expect(request.rawQuery == "x=1&name=J%C3%BCrgen+M&flag&empty=&x=2")
        #expect(request.queryItems.map { "\($0.name)=\($0.value)" } == ["x=1", "name=Jürgen M", "flag=", "empty=", "x=2"])
        #expect(request.query("x") == "1")
        #expect(request.remoteAddress == "127.0.0.1")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func postJSONIsEchoed() async throws {
        let server = try startServer()
        let body = #"{"hello":"wörld","n":[1,2,3]}"#
        let response = try await exchange(port: server.port,
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.text == body)
        #expect(response.header("Content-Length") == "\(body.utf8.count)")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func keepAliveServesTwoRequestsOnOneConnection() async throws {
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        let port = server.port
        let (first, second, closed) = try await onOwnThread { () -> (WireResponse, WireResponse, Bool) in
            let client = try TestClient(port: port)
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none")
            let first = try client.readResponse()
            try client.send("GET /second HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let second = try client.readResponse()
            var rest: [UInt8] = []
            return (first, second, client.waitForClose(received: &rest))
        }
        #expect(first.text == "one")
        #expect(first.header("Connection")?.lowercased() != "close")
        #expect(second.text == "ok")
        #expect(closed, "Connection: close must close the connection after the response")
        #expect(recorder.count == 2)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func headersAreCaseInsensitiveAndKeepEveryValue() async throws {
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        _ = try await exchange(port: server.port,
            "GET / HTTP/1.1\r\nHost: t\r\nx-CUSTOM: first\r\nX-Custom: second\r\n\r\n")
        let request = try #require(recorder.last)
        #expect(request.headers["X-CUSTOM"] == "first")
        #expect(request.headers["x-custom"] == "first")
        #expect(request.headers.values("X-Custom") == ["first", "second"])
        #expect(request.headers["host"] == "t")
        #expect(request.headers["Missing"] == nil)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        let echoed = try await exchange(port: server.port, "GET / HTTP/1.1\r\nHost: t\r\nx-request-id: abc-123_X.9\r\n\r\n")
        #expect(echoed.header("X-Request-Id") == "abc-123_X.9")
        #expect(recorder.last?.requestID == "abc-123_X.9")

        let generated = try await exchange(port: server.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let id = try #require(generated.header("X-Request-Id"))
        #expect(id.count == 32)
        #expect(recorder.last?.requestID == id)

        let insane = try await exchange(port: server.port, "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: a b<script>\r\n\r\n")
        #expect(insane.header("X-Request-Id")?.count == 32)
        let tooLong = try await exchange(port: server.port, "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: \(String(repeating: "a", count: 129))\r\n\r\n")
        #expect(tooLong.header("X-Request-Id")?.count == 32)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func handlerHeadersAreSentAndServerOwnsRequestID() async throws {
        let server = try startServer(handler: { _ in
            var headers = HTTPHeaders()
            headers.add("Set-Cookie", "a=1")
            headers.add("Set-Cookie", "b=2")
            headers.add("X-Request-Id", "handler-tried")
            return HTTPResponse(status: 201, headers: headers, body: .bytes(Array("made".utf8)))
        })
        let response = try await exchange(port: server.port, "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: client-id\r\n\r\n")
        #expect(response.status == 201)
        #expect(response.headers.filter { $0.name.lowercased() == "set-cookie" }.map(\.value) == ["a=1", "b=2"])
        #expect(response.headers.filter { $0.name.lowercased() == "x-request-id" }.map(\.value) == ["client-id"])
        #expect(response.text == "made")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func invalidStatusFromTheHandlerBecomes500() async throws {
        let server = try startServer(handler: { _ in HTTPResponse(status: 42) })
        let response = try await exchange(port: server.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(response.status == 500)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func announcedBodyOverTheCapIs413WithoutCallingTheHandler() async throws {
        let recorder = Recorder()
        let server = try startServer({ $0.maxBodyBytes = 1000 }, recorder: recorder)
        let response = try await exchange(port: server.port,
            "POST /echo HTTP/1.1\r\nHost: t\r\nX-Request-Id: big-1\r\nContent-Length: 1001\r\n\r\n" + String(repeating: "x", count: 100))
        #expect(response.status == 413)
        #expect(response.header("X-Request-Id") == "big-1")
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.text.contains(#""code":"payload_too_large""#))
        #expect(recorder.count == 0)

        // Exactly at the cap is fine.
        let atCap = try await exchange(port: server.port,
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "y", count: 1000))
        #expect(atCap.status == 200)
        #expect(atCap.body.count == 1000)
        #expect(recorder.count == 1)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func chunkedBodyOverTheCapIs413WithoutCallingTheHandler() async throws {
        let recorder = Recorder()
        let server = try startServer({ $0.maxBodyBytes = 1000 }, recorder: recorder)
        let chunk = String(repeating: "z", count: 600)
        let response = try await exchange(port: server.port,
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n")
        #expect(response.status == 413)
        #expect(response.text.contains("payload_too_large"))
        #expect(recorder.count == 0)

        let small = try await exchange(port: server.port,
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        #expect(small.status == 200)
        #expect(small.text == "hello world")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func slowHandlerDoesNotBlockOtherRequests() async throws {
        let server = try startServer({ $0.threadPoolSize = 1 })
        let port = server.port
        let clock = ContinuousClock()
        let start = clock.now
        async let slow = exchange(port: port, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        try await Task.sleep(for: .milliseconds(150))
        let fast = try await exchange(port: port, "GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
        let fastDone = clock.now - start
        #expect(fast.text == "ok")
        let slowResponse = try await slow
        let slowDone = clock.now - start
        #expect(slowResponse.text == "slow")
        #expect(slowDone >= .milliseconds(950))
        // Ordering, not absolute time, so a loaded CI machine cannot make this flaky.
        #expect(fastDone < slowDone, "the fast request waited for the slow one: \(fastDone) vs \(slowDone)")
        await server.shutdown(gracePeriod: .seconds(1))
    }
}
