import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// A real `jobgate serve` process: its stderr holds one JSON access-log line per request,
/// and never a token, a signature or a payload.
@Suite struct AccessLogTests {
    @Test func accessLogLinesNameTheRouteAndNeverHoldSecrets() async throws {
        let db = try await TestDatabase.create("accesslog")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        let secret = try await TokenStore(pool: pool).create(tenant: "acme", scopes: [.admin]).secret
        let serve = try await ServeProcess.start(databaseURL: db.processURL, logLevel: "info")
        let server = serve.process
        defer { server.signal(SIGKILL) }
        var bearer = try HTTPClient(baseURL: serve.url, token: secret)

        let payloadMarker = "payload-marker-\(UUID().uuidString.prefix(6))"
        let submitted = try await bearer.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["secret": payloadMarker]])
        #expect(submitted.status == 202)
        let id = try #require(submitted.object?["jobId"] as? String)
        #expect(try await bearer.send("GET", "/v1/jobs/\(id)").status == 200)
        // The reference routes take the raw token, without "Bearer".
        let raw = try await HTTPClient(baseURL: serve.url).send("GET", "/job-status/\(id)", body: nil, contentType: nil,
                                                                                 headers: [("Authorization", secret)])
        #expect(raw.status == 200)
        bearer = try HTTPClient(baseURL: serve.url, token: "jg_wrong_\(secret.suffix(12))")
        #expect(try await bearer.send("GET", "/v1/jobs/\(id)").status == 401)
        let anonymous = try HTTPClient(baseURL: serve.url)
        _ = try await anonymous.send("POST", "/dashboard/login", body: Array("token=\(secret)".utf8),
                                     contentType: "application/x-www-form-urlencoded")
        _ = try await anonymous.send("GET", "/v1/outputs/\(id)?expires=1&kid=k&sig=signature-marker", body: nil, contentType: nil)

        server.signal(SIGTERM)
        #expect(await server.wait() == 0)
        let log = server.output
        let access = log.split(separator: "\n").filter { $0.contains("\"msg\":\"request\"") }
        #expect(access.count >= 6, "expected an access line per request:\n\(log.suffix(2000))")
        #expect(access.contains { $0.contains("\"http.route\":\"/v1/jobs/{id}\"") && $0.contains("\"http.status\":200") })
        #expect(access.contains { $0.contains("\"http.route\":\"/v1/jobs\"") && $0.contains("\"tenant\":\"acme\"") })
        #expect(access.allSatisfy { $0.contains("\"request.id\":\"") && $0.contains("\"duration_ms\":") })
        for forbidden in [secret, String(secret.suffix(20)), "signature-marker", payloadMarker] {
            #expect(!log.contains(forbidden), "the log holds a secret or payload: \(forbidden.prefix(8))…")
        }
        // Every line is one JSON object.
        for line in log.split(separator: "\n") where line.hasPrefix("{") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not JSON: \(line)")
        }
    }

    @Test func theLogLevelFromTheEnvironmentFiltersLines() async throws {
        let db = try await TestDatabase.create("loglevel")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        var outputs: [String: String] = [:]
        for level in ["warn", "info", "debug"] {
            let serve = try await ServeProcess.start(databaseURL: db.processURL, logLevel: level)
            let server = serve.process
            defer { server.signal(SIGKILL) }
            let client = try HTTPClient(baseURL: serve.url)
            #expect(try await client.send("GET", "/v1/jobs").status == 401)
            // Bytes that are not HTTP: libmicrohttpd's complaint about them is logged at debug.
            let port = try #require(URL(string: serve.url)?.port)
            let garbage: [UInt8] = [0, 1, 2, 255, 254, 13, 10] + Array("\u{7f}GARBAGE \r\n\r\n".utf8)
            _ = try? await onOwnThread { try HTTPClientConnection(host: "127.0.0.1", port: port, timeoutSeconds: 10).send(garbage) }
            server.signal(SIGTERM)
            #expect(await server.wait() == 0)
            outputs[level] = server.output
        }
        let warn = try #require(outputs["warn"]), info = try #require(outputs["info"]), debug = try #require(outputs["debug"])
        // At warn, neither info lines (startup, access log) nor debug ones; at info, info lines
        // but no debug ones; at debug, both kinds.
        #expect(!warn.contains("\"level\":\"info\"") && !warn.contains("\"level\":\"debug\""), "\(warn.suffix(1000))")
        #expect(!warn.contains("\"msg\":\"request\""))
        #expect(info.contains("\"msg\":\"request\"") && !info.contains("\"level\":\"debug\""), "\(info.suffix(1000))")
        #expect(debug.contains("\"level\":\"debug\",\"msg\":\"http\"") && debug.contains("\"msg\":\"request\""), "\(debug.suffix(1000))")
    }
}
