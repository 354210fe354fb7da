import Foundation
import JobGateAPI
import JobGateTestSupport
import Testing

/// The client `jobgate bench` drives load with: many requests on one kept-alive connection.
@Suite struct HTTPClientConnectionTests {
    @Test func servesManyRequestsOnOneKeptAliveConnection() async throws {
        let f = try await APIFixture.make("keepalive")
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let port = f.server.port
        let statuses = try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Int], any Error>) in
            Thread {
                c.resume(with: Result {
                    let connection = HTTPClientConnection(host: "127.0.0.1", port: port, timeoutSeconds: 10)
                    var out: [Int] = []
                    for i in 0..<5 {
                        let submit = HTTPClientConnection.request("POST", "/v1/jobs", host: "127.0.0.1", port: port, token: token,
                                                                  body: Array("{\"type\":\"noop\",\"payload\":{\"i\":\(i)}}".utf8))
                        out.append(try connection.send(submit).status)
                        out.append(try connection.send(HTTPClientConnection.request("GET", "/healthz", host: "127.0.0.1", port: port, token: nil)).status)
                    }
                    return out
                })
            }.start()
        }
        #expect(statuses == Array(repeating: [202, 200], count: 5).flatMap { $0 })
        #expect(try await f.count("SELECT count(*) FROM jobs") == 5)
    }
}
