import Foundation
import JobGateSystem
import Testing
@testable import JobGateHTTP

#if canImport(Glibc)
import Glibc
#endif

/// What the server answered a raw request, and whether a handler ran for it.
private func refusal(_ raw: [UInt8], configure: (inout HTTPServer.Configuration) -> Void = { _ in })
    async throws -> (response: WireResponse, handlerCalls: Int) {
    let recorder = Recorder()
    let server = try startServer(configure, recorder: recorder)
    let port = server.port
    let response = try await onOwnThread {
        let client = try TestClient(port: port, timeoutSeconds: 10)
        try client.send(raw)
        return try client.readResponse()
    }
    await server.shutdown(gracePeriod: .seconds(1))
    return (response, recorder.count)
}

private func bytes(_ parts: String...) -> [UInt8] {
    parts.flatMap { Array($0.utf8) }
}

/// Trickles a head one header line per second until the server closes the connection;
/// returns how long after the head's first byte that was, nil if it never did within `limit`.
private func trickle(_ client: TestClient, firstLine: String = "GET / HTTP/1.1\r\nHost: t\r\n", limit: Duration) throws -> Duration? {
    let clock = ContinuousClock()
    let start = clock.now
    try client.send(firstLine)
    var line = 0
    while clock.now - start < limit {
        for _ in 0..<10 {
            if client.isClosedByServer() { return clock.now - start }
            Thread.sleep(forTimeInterval: 0.1)
        }
        line += 1
        // A send to a socket the server shut down may still succeed once; the check above sees it.
        try? client.send("X-Line-\(line): still coming\r\n")
    }
    return nil
}

/// A trickled head (2 s deadline) was cut near its deadline: not before `earliest`,
/// and not so late that something else (the 30 s idle timeout) did it.
private func expectCutAtTheDeadline(_ closedAfter: Duration?, earliest: Duration,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    let elapsed = try #require(closedAfter, "a head trickling one line a second was never closed", sourceLocation: sourceLocation)
    #expect(elapsed >= earliest, "closed before its deadline: \(elapsed)", sourceLocation: sourceLocation)
    // Before the 30 s idle timeout, so the head deadline did it (loose for a starved CI).
    #expect(elapsed < .seconds(20), "closed long after its 2 s deadline: \(elapsed)", sourceLocation: sourceLocation)
}

@Suite struct HTTPHeadSafetyTests {
    // MARK: NUL, CR and LF

    @Test(arguments: [
        ("Authorization", bytes("GET /echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer good-token\0junk\r\nAccept: */*\r\n\r\n")),
        ("Idempotency-Key", bytes("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nIdempotency-Key: K\0A\r\n\r\n{}")),
        ("X-Trailing", bytes("GET /echo HTTP/1.1\r\nX-Trailing: a\0\r\nHost: t\r\n\r\n")),
        ("X-Last", bytes("GET /echo HTTP/1.1\r\nHost: t\r\nX-Last: a\0\r\n\r\n")),
        ("X-Only-Nul", bytes("GET /echo HTTP/1.1\r\nHost: t\r\nX-Only-Nul: \0after\r\n\r\n")),
        ("X-CR", bytes("GET /echo HTTP/1.1\r\nHost: t\r\nX-CR: a\rb\r\n\r\n")),
        ("X-Folded", bytes("GET /echo HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n")),
    ])
    func headerValueWithNULCROrLFIsRefusedBeforeAnyHandler(name: String, raw: [UInt8]) async throws {
        let (response, handlerCalls) = try await refusal(raw)
        #expect(response.status == 400, "\(name): \(response.status) \(response.text)")
        #expect(response.text.contains(#""code":"invalid_header""#), "\(response.text)")
        // libmicrohttpd glues a folded line onto the field's name, so only its start is certain.
        #expect(response.text.contains(#""field":"\#(name)"#), "\(response.text)")
        #expect(response.header("X-Request-Id") != nil)
        #expect(handlerCalls == 0, "the handler ran for a refused head")
    }

    @Test func wholeValuesPassWhateverTheLineEndings() async throws {
        // The checks must not refuse what libmicrohttpd parses normally: empty values,
        // bare LF line ends, values next to each other, a lone header.
        let recorder = Recorder()
        let server = try startServer(recorder: recorder)
        let port = server.port
        let heads = [
            "GET /h HTTP/1.1\r\nHost: t\r\nX-Empty:\r\nAuthorization: Bearer abc\r\n\r\n",
            "GET /h HTTP/1.1\nHost: t\nX-Empty:\nAuthorization: Bearer abc\n\n",
            "GET /h HTTP/1.1\r\nHost: t\r\nAuthorization:   Bearer abc\r\n\n",
            "GET /h HTTP/1.1\r\nAuthorization: Bearer abc\r\n\r\n",
            "GET /h HTTP/1.0\r\n\r\n",
        ]
        for head in heads {
            let response = try await exchange(port: port, head, timeoutSeconds: 10)
            #expect(response.status == 200, "\(head.debugDescription): \(response.text)")
        }
        #expect(recorder.count == heads.count)
        let keptAlive = try await onOwnThread { () -> [Int] in
            let client = try TestClient(port: port, timeoutSeconds: 10)
            var statuses: [Int] = []
            for key in ["first", "second"] {
                try client.send("GET /h HTTP/1.1\r\nHost: t\r\nIdempotency-Key: \(key)\r\n\r\n")
                statuses.append(try client.readResponse().status)
            }
            return statuses
        }
        #expect(keptAlive == [200, 200])
        #expect(recorder.last?.headers["Idempotency-Key"] == "second")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test(arguments: [
        ("type", "/echo?type=noop%00zzz"),
        ("type", "/echo?limit=5&type=a%0Db"),
        ("after", "/echo?after=x%0a"),
        ("ok", "/echo?ok=%0D%0AX-Injected:%20yes"),
    ])
    func queryParameterWithNULCROrLFIsRefusedBeforeAnyHandler(name: String, target: String) async throws {
        let (response, handlerCalls) = try await refusal(bytes("GET \(target) HTTP/1.1\r\nHost: t\r\n\r\n"))
        #expect(response.status == 400, "\(target): \(response.status) \(response.text)")
        #expect(response.text.contains(#""code":"invalid_query""#), "\(response.text)")
        #expect(response.text.contains(#""field":\#(JSONText.quote(name))"#), "\(response.text)")
        #expect(handlerCalls == 0)
    }

    @Test func rawNULInTheRequestTargetIsRefused() async throws {
        // libmicrohttpd hands the target over as a C string, so `?type=noop\0zzz` arrived as `?type=noop`.
        let (response, handlerCalls) = try await refusal(bytes("GET /echo?type=noop\0zzz HTTP/1.1\r\nHost: t\r\n\r\n"))
        #expect(response.status == 400, "\(response.text)")
        #expect(response.text.contains(#""code":"invalid_target""#), "\(response.text)")
        #expect(handlerCalls == 0)
        let (fine, calls) = try await refusal(bytes("GET /echo?type=noop%20x&b=%E2%82%AC HTTP/1.1\r\nHost: t\r\n\r\n"))
        #expect(fine.status == 200, "\(fine.text)")
        #expect(calls == 1)
    }

    // MARK: Head deadline

    @Test func tricklingHeadIsClosedAtTheHeaderDeadline() async throws {
        // Each line comes 1 s after the last, far inside the 30 s idle timeout that
        // libmicrohttpd restarts on every byte: only the 2 s head deadline can end it.
        let server = try startServer({ $0.headerTimeoutSeconds = 2; $0.connectionTimeoutSeconds = 30 })
        let port = server.port
        let closedAfter = try await onOwnThread {
            try trickle(try TestClient(port: port, timeoutSeconds: 40), limit: .seconds(25))
        }
        try expectCutAtTheDeadline(closedAfter, earliest: .milliseconds(1900))
        try await expectHealthy(server)
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func keptAliveConnectionIdlesPastTheHeadDeadlineButItsNextHeadIsTimed() async throws {
        let server = try startServer({ $0.headerTimeoutSeconds = 2; $0.connectionTimeoutSeconds = 30 })
        let port = server.port
        let (second, closedAfter) = try await onOwnThread { () -> (Int, Duration?) in
            let client = try TestClient(port: port, timeoutSeconds: 40)
            try client.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try client.readResponse()
            // Idle for longer than the head deadline: that is the idle timeout's business.
            Thread.sleep(forTimeInterval: 3.5)
            try client.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n")
            let second = try client.readResponse().status
            Thread.sleep(forTimeInterval: 1)
            return (second, try trickle(client, firstLine: "GET /c HTTP/1.1\r\n", limit: .seconds(25)))
        }
        #expect(second == 200, "a kept-alive connection idle past the head deadline was closed")
        // Its first byte is seen within a quarter second, so up to that much is forgiven.
        try expectCutAtTheDeadline(closedAfter, earliest: .milliseconds(1500))
        try await expectDrained(server)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    // MARK: Per-IP share

    @Test func oneAddressHoldingItsShareLeavesRoomForOthers() async throws {
        // 8 connections in all; the configured 8 per IP is lowered to a quarter, 2. The head
        // deadline (10 s) and idle timeout (30 s) are far away: only the share protects here.
        let server = try startServer({
            $0.connectionLimit = 8
            $0.perIPConnectionLimit = 8
            $0.headerTimeoutSeconds = 10
            $0.connectionTimeoutSeconds = 30
        })
        let port = server.port
        let clock = ContinuousClock()
        let (held, status, took) = try await onOwnThread { () -> (Int, Int, Duration) in
            // 127.0.0.2 opens all 8 and trickles a head on each.
            var attackers: [TestClient] = []
            for _ in 0..<8 {
                let client = try TestClient(port: port, timeoutSeconds: 5, sourceAddress: "127.0.0.2")
                try? client.send("GET / HTTP/1.1\r\nHost: t\r\n")
                attackers.append(client)
            }
            Thread.sleep(forTimeInterval: 0.5)
            for client in attackers { try? client.send("X-More: soon\r\n") }
            // The ones over the share are closed as libmicrohttpd accepts them (later on a loaded machine).
            var held = attackers.count
            let settle = clock.now
            while held > 2, clock.now - settle < .seconds(5) {
                Thread.sleep(forTimeInterval: 0.1)
                held = attackers.filter { !$0.isClosedByServer() }.count
            }
            // Meanwhile a client from 127.0.0.1 is served at once.
            let start = clock.now
            let client = try TestClient(port: port, timeoutSeconds: 30, sourceAddress: "127.0.0.1")
            try client.send("GET /other HTTP/1.1\r\nHost: t\r\n\r\n")
            let status = (try? client.readResponse().status) ?? 0
            let took = clock.now - start
            withExtendedLifetime(attackers) {}
            return (held, status, took)
        }
        #expect(held == 2, "127.0.0.2 holds \(held) connections; its share is 2")
        #expect(status == 200, "a client from 127.0.0.1 was not served while 127.0.0.2 held its share")
        #expect(took < .seconds(20), "served only after \(took)")  // the attackers hold theirs forever
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func perIPLimitIsAtMostAQuarterOfTheConnections() {
        var configuration = HTTPServer.Configuration()
        configuration.connectionLimit = 1024
        configuration.perIPConnectionLimit = 256
        #expect(configuration.effectivePerIPConnectionLimit == 256)
        configuration.perIPConnectionLimit = 1000
        #expect(configuration.effectivePerIPConnectionLimit == 256)
        configuration.perIPConnectionLimit = 10
        #expect(configuration.effectivePerIPConnectionLimit == 10)
        configuration.perIPConnectionLimit = 0
        #expect(configuration.effectivePerIPConnectionLimit == 0, "0 stays: no per-IP limit behind a proxy")
        configuration.connectionLimit = 3
        configuration.perIPConnectionLimit = 5
        #expect(configuration.effectivePerIPConnectionLimit == 1)
        #expect(HTTPServer.Configuration.largestPerIPConnectionLimit(connectionLimit: 100) == 25)
    }
}
