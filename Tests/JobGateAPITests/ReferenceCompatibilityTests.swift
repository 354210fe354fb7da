import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCrypto
import JobGateHTTP
import JobGatePostgres
import JobGateTestSupport
import Testing

/// The reference sample's own integration tests, replayed against JobGate as their clients
/// send them (DESIGN.md §16): the SAM stack's (SQS XML reply, id cut out of `<MessageId>`,
/// https link) and the CDK stack's (403 for an undefined method, JSON reply), both with a
/// Cognito-style ID token of an ordinary user: no groups, no scope claim, no tenant claim.
/// Then CORS, which the SAM stack enabled for every origin.
@Suite struct ReferenceCompatibilityTests {
    static let clientID = "5pq3ref0client0id"
    static let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Reference"

    /// An ID token as Cognito issues it to a signed-in user outside every group.
    static func idToken(_ signer: JWTSigner, extra: [String: JWTClaimValue] = [:]) throws -> String {
        let now = Date().timeIntervalSince1970
        var claims: [String: JWTClaimValue] = [
            "sub": "9a8b7c6d-0000-4000-8000-000000000001", "aud": .string(clientID), "iss": .string(issuer),
            "token_use": "id", "cognito:username": "regular-user", "email": "regular@example.com", "email_verified": true,
            "auth_time": .number(now - 5), "iat": .number(now - 5), "exp": .number(now + 3600),
        ]
        for (k, v) in extra { claims[k] = v }
        return try signer.sign(claims)
    }

    /// A fixture trusting `signer` as the reference's user pool, with the settings README's
    /// reference section gives (`defaultScopes` nil: left out).
    static func fixture(_ prefix: String, _ signer: JWTSigner, defaultScopes: Set<Scope>? = [.submit, .read],
                        configure: @escaping (inout APIConfiguration) -> Void = { _ in }) async throws -> APIFixture {
        try await APIFixture.make(prefix, trusting: signer, jwt: { jwt in
            jwt.issuer = issuer
            jwt.audience = clientID
            jwt.defaultTenant = "reference"
            jwt.defaultScopes = defaultScopes ?? []
        }, configure: configure)
    }

    @Test func samClientsIntegrationTestsPass() async throws {
        let signer = try JWTSigner(generating: .rs256)
        let f = try await Self.fixture("refsam", signer) { c in
            c.referenceFormat = .sam
            c.cors = try! CORSPolicy.parse("*")
            c.publicBaseURL = "https://jobs.example.test"
        }
        defer { Task { await f.stop() } }
        let w = f.worker()
        let run = Task { try await w.run() }
        defer { run.cancel() }
        let c = try f.client()
        let body = Array(#"{"testmessage": "sample-message-012"}"#.utf8)
        let auth = [("Authorization", try Self.idToken(signer))]

        // test_submit_job_request_no_authentication
        #expect(try await c.send("POST", "/submit-job-request", body: body).status == 401)

        // test_submit_job_request_with_authentication / test_get_job_staus_valid
        let submitted = try await c.send("POST", "/submit-job-request", body: body, headers: auth)
        #expect(submitted.status == 200)
        #expect(submitted.header("Content-Type") == "text/xml")
        let xml = submitted.text
        let match = try #require(xml.range(of: "<MessageId>.*</MessageId>", options: .regularExpression), "\(xml)")
        let messageID = String(xml[match].dropFirst(11).prefix(36))  // the sample's group()[11:47]
        #expect(UUID(uuidString: messageID) != nil, "\(xml)")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE id = $1::uuid AND tenant = 'reference' AND type = 'weather'", [messageID]) == 1)
        // MD5 of the body's bytes, as Python's hashlib gives it for this body.
        #expect(xml.contains("<MD5OfMessageBody>0c0546460569b4d5ab1b5356a6f698c6</MD5OfMessageBody>"), "\(xml)")
        let requestID = try #require(submitted.header("X-Request-Id"))
        #expect(xml.contains("<ResponseMetadata>") && xml.contains("<RequestId>\(requestID)</RequestId>"), "\(xml)")
        #expect(xml.contains(#"<SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">"#))
        #expect(submitted.header("Access-Control-Allow-Origin") == "*")
        // A client-chosen request id comes back in RequestId.
        let traced = try await c.send("POST", "/submit-job-request", body: body, headers: auth + [("X-Request-Id", "trace-42")])
        #expect(traced.text.contains("<RequestId>trace-42</RequestId>"))

        var status: [String: Any] = [:]
        #expect(try await eventually(timeout: .seconds(20)) {
            let r = try await c.send("GET", "/job-status/" + messageID, headers: auth)  // sent with Content-Type, as the sample does
            status = r.object ?? [:]
            return r.status == 200 && status["jobStatus"] as? String == "complete"
        })
        #expect(status["jobRequestId"] as? String == messageID)
        let link = try #require(status["jobProcessedPayloadLink"] as? String)
        #expect(link.hasPrefix("https://jobs.example.test/v1/outputs/\(messageID)?"))
        // The link downloads (through the TLS proxy that --public-url names, here straight).
        let url = try #require(URL(string: link))
        let download = try await HTTPClient(baseURL: f.server.url).send("GET", url.path + "?" + (url.query ?? ""))
        #expect(download.status == 200)
        #expect((download.object?["weatherData"] as? [Any]) != nil, "\(download.text.prefix(200))")

        // test_get_job_staus_invalid
        let missing = try await c.send("GET", "/job-status/38573c4b-07ad-4ccf-8241-869ffe16d566", headers: auth)
        #expect((missing.object?["Error Message"] as? String)?.contains("No Job data found for Job Id") == true)

        // The document says the submit answers SQS's XML in this mode.
        let doc = try #require(try await c.send("GET", "/openapi.json").object)
        let ok = ((((doc["paths"] as? [String: Any])?["/submit-job-request"] as? [String: Any])?["post"] as? [String: Any])?["responses"] as? [String: Any])?["200"]
        #expect(((ok as? [String: Any])?["content"] as? [String: Any])?.keys.sorted() == ["text/xml"])
    }

    @Test func cdkClientsIntegrationTestsPass() async throws {
        let signer = try JWTSigner(generating: .es256)
        let f = try await Self.fixture("refcdk", signer)
        defer { Task { await f.stop() } }
        let w = f.worker()
        let run = Task { try await w.run() }
        defer { run.cancel() }
        let c = try f.client()
        let token = try Self.idToken(signer)

        // test_access_to_the_api_without_authentication: API Gateway's answer to an undefined method.
        let anonymous = try await c.send("GET", "/submit-job-request", contentType: nil)
        #expect(anonymous.status == 403)
        #expect(anonymous.text == #"{"message":"Missing Authentication Token"}"#)
        #expect(anonymous.header("Content-Type") == "application/json")
        #expect(anonymous.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException")
        for (method, path) in [("DELETE", "/job-status/x"), ("PUT", "/submit-job-request"), ("OPTIONS", "/submit-job-request")] {
            #expect(try await c.send(method, path, contentType: nil).status == 403, "\(method) \(path)")
        }
        // With a token, or on JobGate's own routes, a wrong method stays a 405.
        let withToken = try await c.send("GET", "/submit-job-request", contentType: nil, headers: [("Authorization", token)])
        #expect(withToken.status == 405 && withToken.header("Allow") == "POST")
        let own = try await c.send("DELETE", "/v1/jobs", contentType: nil)
        #expect(own.status == 405 && own.errorCode == "method_not_allowed" && own.header("Allow") == "POST, GET, HEAD")
        #expect(try await c.send("OPTIONS", "/v1/jobs", contentType: nil).status == 405)  // no CORS configured: unchanged

        // test_allow_submit_job_api
        let body = Array(#"{"testmessage": "sample job request int testing"}"#.utf8)
        let submitted = try await c.send("POST", "/submit-job-request", body: body, headers: [("Authorization", token)])
        #expect(submitted.status == 200)
        #expect(submitted.header("Content-Type") == "application/json")
        #expect(submitted.header("Access-Control-Allow-Origin") == nil)
        let result = (submitted.object?["SendMessageResponse"] as? [String: Any])?["SendMessageResult"] as? [String: Any]
        let messageID = try #require(result?["MessageId"] as? String, "\(submitted.text)")
        #expect(!messageID.isEmpty && submitted.string("jobId") == messageID)

        // test_allow_get_job_status (the sample accepts either state; then it completes).
        let status = try await c.send("GET", "/job-status/" + messageID, contentType: nil, headers: [("Authorization", token)])
        #expect(status.status == 200)
        let data = try #require(try JSONSerialization.jsonObject(with: Data(status.text.replacingOccurrences(of: "'", with: "\"").utf8)) as? [String: Any])
        #expect(data["jobRequestId"] as? String == messageID)
        #expect(["Submitted", "complete"].contains(data["jobStatus"] as? String ?? ""))
        var link: String?
        #expect(try await eventually(timeout: .seconds(20)) {
            let r = try await c.send("GET", "/job-status/" + messageID, contentType: nil, headers: [("Authorization", token)])
            link = r.object?["jobProcessedPayloadLink"] as? String
            return r.string("jobStatus") == "complete" && link != nil
        })
        let url = try #require(URL(string: link ?? ""))
        #expect(try await HTTPClient(baseURL: f.server.url).send("GET", url.path + "?" + (url.query ?? "")).status == 200)
    }

    /// The reference authorizer let every signed-in user submit and read; JobGate grants that
    /// only with `--jwt-default-scopes`, and only to tokens without a scopes claim.
    @Test func idTokensWithoutAScopeClaimGetTheDefaultScopesOnly() async throws {
        let signer = try JWTSigner(generating: .rs256)
        let without = try await Self.fixture("refnoscopes", signer, defaultScopes: nil)
        let token = try Self.idToken(signer)
        let bare = try without.client(token)
        let refused = try await bare.send("POST", "/submit-job-request", body: Array("{}".utf8))
        #expect(refused.status == 403 && refused.errorCode == "forbidden", "\(refused.text)")
        #expect(try await bare.send("GET", "/job-status/\(UUID())").status == 403)
        await without.stop()

        let f = try await Self.fixture("refscopes", signer)
        defer { Task { await f.stop() } }
        let submitted = try await f.client(token).send("POST", "/submit-job-request", body: Array("{}".utf8))
        #expect(submitted.status == 200)
        let id = try #require(submitted.string("jobId"))
        #expect(try await f.client(token).send("GET", "/job-status/\(id)").string("jobStatus") == "Submitted")
        // Reading and submitting, nothing more: cancelling needs jobs:cancel.
        #expect(try await f.client(token).send("POST", "/v1/jobs/\(id)/cancel").status == 403)
        // A scopes claim, even one naming no JobGate scope (an access token's), is taken as it is.
        let scoped = try Self.idToken(signer, extra: ["scope": "openid email"])
        #expect(try await f.client(scoped).send("POST", "/submit-job-request", body: Array("{}".utf8)).status == 403)
        let reader = try Self.idToken(signer, extra: ["scope": "jobs:read"])
        #expect(try await f.client(reader).send("POST", "/submit-job-request", body: Array("{}".utf8)).status == 403)
        #expect(try await f.client(reader).send("GET", "/job-status/\(id)").status == 200)
        // API tokens keep exactly their own scopes.
        let apiReader = try await f.token(tenant: "reference", scopes: [.read])
        #expect(try await f.client(apiReader).send("POST", "/submit-job-request", body: Array("{}".utf8)).status == 403)
    }

    @Test func corsPreflightsAndHeadersForAllowedOriginsOnly() async throws {
        let f = try await APIFixture.make("refcors") { c in c.cors = try! CORSPolicy.parse("https://app.example.com, http://localhost:3000") }
        defer { Task { await f.stop() } }
        let anonymous = try f.client()
        let app = ("Origin", "https://app.example.com")
        let evil = ("Origin", "https://evil.example")

        // A preflight needs no token and names what the path allows.
        let preflight = try await anonymous.send("OPTIONS", "/v1/jobs", contentType: nil, headers: [
            app, ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "authorization, content-type, idempotency-key")])
        #expect(preflight.status == 204)
        #expect(preflight.body.isEmpty)
        #expect(preflight.header("Access-Control-Allow-Origin") == "https://app.example.com")
        #expect(preflight.header("Access-Control-Allow-Methods") == "POST, GET, HEAD, OPTIONS")
        #expect(preflight.header("Access-Control-Allow-Headers") == "Authorization, Content-Type, Idempotency-Key, X-Request-Id, traceparent")
        #expect(preflight.header("Access-Control-Max-Age") == "600")
        #expect(preflight.header("Vary") == "Origin")
        #expect(preflight.header("Access-Control-Allow-Credentials") == nil)
        let status = try await anonymous.send("OPTIONS", "/job-status/\(UUID())", contentType: nil,
                                              headers: [("Origin", "http://localhost:3000"), ("Access-Control-Request-Method", "GET")])
        #expect(status.status == 204 && status.header("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS")
        #expect(status.header("Access-Control-Allow-Origin") == "http://localhost:3000")

        // Another origin is refused, with no CORS headers at all.
        let refused = try await anonymous.send("OPTIONS", "/v1/jobs", contentType: nil, headers: [evil, ("Access-Control-Request-Method", "POST")])
        #expect(refused.status == 403 && refused.errorCode == "cors_origin_not_allowed")
        #expect(refused.header("Access-Control-Allow-Origin") == nil && refused.header("Access-Control-Allow-Methods") == nil)

        // Actual answers, errors included, carry the origin and what a script may read.
        let token = try await f.token()
        let submitted = try await anonymous.send("POST", "/v1/jobs", body: Array(#"{"type":"noop","delaySeconds":60}"#.utf8),
                                                 headers: [app, ("Authorization", "Bearer " + token)])
        #expect(submitted.status == 202)
        #expect(submitted.header("Access-Control-Allow-Origin") == "https://app.example.com")
        #expect(submitted.header("Access-Control-Expose-Headers") == "Location, Retry-After, X-Request-Id, ETag, WWW-Authenticate, Allow")
        #expect(submitted.header("Vary") == "Origin")
        let unauthorized = try await anonymous.send("GET", "/v1/jobs", contentType: nil, headers: [app])
        #expect(unauthorized.status == 401 && unauthorized.header("Access-Control-Allow-Origin") == "https://app.example.com")
        // Refused by the HTTP server before any route runs (the body is over --max-body): still readable.
        let tooLarge = try await anonymous.send("POST", "/v1/jobs", body: [UInt8](repeating: 32, count: 1_100_000), headers: [app])
        #expect(tooLarge.status == 413 && tooLarge.header("Access-Control-Allow-Origin") == "https://app.example.com")
        let wrongMethod = try await anonymous.send("DELETE", "/v1/jobs", contentType: nil, headers: [app, ("Authorization", token)])
        #expect(wrongMethod.status == 405 && wrongMethod.header("Allow") == "POST, GET, HEAD, OPTIONS")
        // Not for another origin, which still learns the answer varies by Origin.
        let other = try await anonymous.send("GET", "/healthz", contentType: nil, headers: [evil])
        #expect(other.status == 200 && other.header("Access-Control-Allow-Origin") == nil && other.header("Vary") == "Origin")
        // Not on the dashboard (same-origin by design) nor on paths no route serves.
        let dashboard = try await anonymous.send("GET", "/dashboard", contentType: nil, headers: [app])
        #expect(dashboard.header("Access-Control-Allow-Origin") == nil)
        #expect(try await anonymous.send("OPTIONS", "/dashboard", contentType: nil, headers: [app]).status == 405)
        let unknown = try await anonymous.send("OPTIONS", "/nowhere", contentType: nil, headers: [app])
        #expect(unknown.status == 404 && unknown.header("Access-Control-Allow-Origin") == nil)

        // The document lists the preflight of every API path.
        let doc = try #require(try await anonymous.send("GET", "/openapi.json").object)
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        for route in Router.api {
            #expect(paths[route.template]?["options"] != nil, "OPTIONS \(route.template) is not documented")
        }
        #expect(paths["/dashboard"]?["options"] == nil)
    }

    /// The document of a `sam` server with CORS passes the OpenAPI 3.1 validator, and the new
    /// answers (the XML submit, preflights, the refused origin) are what it documents.
    @Test func compatibilityResponsesMatchTheDocument() async throws {
        let validator = try #require(ProcessInfo.processInfo.environment["JOBGATE_TEST_OPENAPI_VALIDATOR"],
                                     "run the tests through scripts/test, which installs the Python test tools")
        let f = try await APIFixture.make("refdoc") { c in
            c.referenceFormat = .sam
            c.cors = try! CORSPolicy.parse("https://app.example.com")
        }
        defer { Task { await f.stop() } }
        let c = try f.client()
        let token = ("Authorization", try await f.token())
        var recorder = ConformanceRecorder()
        func record(_ method: String, _ template: String, _ r: HTTPClient.Response) throws {
            try recorder.record(method, template, r)
        }
        let xml = try await c.send("POST", "/submit-job-request", body: Array(#"{"a":1}"#.utf8), headers: [token])
        #expect(xml.status == 200)
        try record("POST", "/submit-job-request", xml)
        for template in ["/v1/jobs", "/v1/jobs/{id}", "/v1/outputs/{id}", "/submit-job-request", "/job-status/{job-id}", "/openapi.json"] {
            let path = template.replacingOccurrences(of: "{id}", with: UUID().uuidString.lowercased()).replacingOccurrences(of: "{job-id}", with: "x")
            let allowed = try await c.send("OPTIONS", path, contentType: nil, headers: [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "GET")])
            #expect(allowed.status == 204, "\(template)")
            try record("OPTIONS", template, allowed)
            let plain = try await c.send("OPTIONS", path, contentType: nil)
            #expect(plain.status == 204 && plain.header("Allow")?.hasSuffix("OPTIONS") == true, "\(template)")
            try record("OPTIONS", template, plain)
            let refused = try await c.send("OPTIONS", path, contentType: nil, headers: [("Origin", "https://evil.example")])
            #expect(refused.status == 403, "\(template)")
            try record("OPTIONS", template, refused)
        }
        let document = try await c.send("GET", "/openapi.json").body
        let path = NSTemporaryDirectory() + "jobgate-refdoc-\(UUID().uuidString.prefix(8)).json"
        try Data(document).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let valid = try TestProcess([validator, path])
        #expect(await valid.wait() == 0 && valid.output.contains("OK"), "\(valid.output)")
        let (status, output, checked) = try await recorder.check(document: document, validator: validator)
        #expect(status == 0 && output.contains(" 0 problems"), "\(output)")
        #expect(checked == 6, "\(output)")
    }
}
