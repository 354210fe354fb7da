import Foundation
import JobGateAPI
import JobGateDashboard
import JobGateHTTP
import JobGateTestSupport
import Testing

@Suite struct OpenAPITests {
    @Test func documentIsOpenAPI31AndCoversEveryRoute() async throws {
        let f = try await APIFixture.make("openapi")
        defer { Task { await f.stop() } }
        let r = try await f.client().send("GET", "/openapi.json")
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "application/json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        for route in Router.api {
            let op = paths[route.template]?[route.method.lowercased()] as? [String: Any]
            #expect(op != nil, "\(route.method) \(route.template) is not documented")
            #expect(op?["responses"] is [String: Any])
        }
        for route in DashboardRoutes.routes {
            #expect(paths[route.path]?[route.method.lowercased()] != nil, "\(route.method) \(route.path) is not documented")
        }
        // Nothing documented that the router or the dashboard mounted beside it does not serve.
        let served = Set(Router.api.map { "\($0.method.lowercased()) \($0.template)" }
                         + DashboardRoutes.routes.map { "\($0.method.lowercased()) \($0.path)" })
        // A path item's other members (description, summary, parameters) are not operations.
        let methods: Set = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        for (path, ops) in paths {
            for method in ops.keys where methods.contains(method) { #expect(served.contains("\(method) \(path)"), "\(method) \(path)") }
        }
        // Every $ref resolves.
        let components = try #require(doc["components"] as? [String: [String: Any]])
        for ref in Self.refs(in: doc) {
            let parts = ref.split(separator: "/")
            #expect(parts.count == 4 && components[String(parts[2])]?[String(parts[3])] != nil, "\(ref)")
        }
    }

    /// The served document checked by an independent OpenAPI 3.1 validator (openapi-spec-validator
    /// from PyPI, installed by scripts/test into .build/pytools).
    @Test func servedDocumentPassesAnOpenAPI31Validator() async throws {
        let validator = try #require(ProcessInfo.processInfo.environment["JOBGATE_TEST_OPENAPI_VALIDATOR"],
                                     "run the tests through scripts/test, which installs the OpenAPI validator")
        let f = try await APIFixture.make("openapivalid")
        defer { Task { await f.stop() } }
        let r = try await f.client().send("GET", "/openapi.json")
        let path = NSTemporaryDirectory() + "jobgate-openapi-\(UUID().uuidString.prefix(8)).json"
        try Data(r.body).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let check = try TestProcess([validator, path])
        #expect(await check.wait() == 0, "\(check.output)")
        #expect(check.output.contains("OK"), "\(check.output)")
        // And it does reject a broken document, so the pass above means something.
        var broken = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        broken["paths"] = ["/v1/jobs": ["post": ["responses": ["202": ["content": "nonsense"]]]]]
        try JSONSerialization.data(withJSONObject: broken).write(to: URL(fileURLWithPath: path))
        let refused = try TestProcess([validator, path])
        #expect(await refused.wait() != 0, "\(refused.output)")
    }

    /// What the routes return, checked against what the document says they return: the status
    /// is documented for the operation, the content type too, and every JSON body validates
    /// against its schema (by jsonschema, an independent JSON Schema 2020-12 validator).
    @Test func responsesOfEveryRouteMatchTheDocument() async throws {
        let validator = try #require(ProcessInfo.processInfo.environment["JOBGATE_TEST_OPENAPI_VALIDATOR"],
                                     "run the tests through scripts/test, which installs the Python test tools")
        let f = try await APIFixture.make("openapiconf")
        defer { Task { await f.stop() } }
        let admin = try f.client(try await f.token())
        let reader = try f.client(try await f.token(scopes: [.read]))
        let anonymous = try f.client()
        var recorder = ConformanceRecorder()
        func record(_ method: String, _ template: String, _ r: HTTPClient.Response) throws {
            try recorder.record(method, template, r)
        }
        func json(_ v: Any) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: v)) }

        let submitted = try await admin.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["a": 1], "delaySeconds": 3600])
        try record("POST", "/v1/jobs", submitted)
        let id = try #require(submitted.string("jobId"))
        let keyed: [String: Any] = ["type": "noop", "idempotencyKey": "k1", "delaySeconds": 3600]
        try record("POST", "/v1/jobs", try await admin.send("POST", "/v1/jobs", json: keyed))
        try record("POST", "/v1/jobs", try await admin.send("POST", "/v1/jobs", json: keyed))  // replay
        try record("POST", "/v1/jobs", try await admin.send("POST", "/v1/jobs", json: ["type": "weather", "idempotencyKey": "k1"]))  // 409
        try record("POST", "/v1/jobs", try await admin.send("POST", "/v1/jobs", body: Array("{nope".utf8)))
        try record("POST", "/v1/jobs", try await admin.send("POST", "/v1/jobs", json: ["type": "no_such_type"]))
        try record("POST", "/v1/jobs", try await admin.send("POST", "/v1/jobs", body: Array("x".utf8), contentType: "text/plain"))
        try record("POST", "/v1/jobs", try await admin.send("POST", "/v1/jobs", body: [UInt8](repeating: 32, count: 1_100_000)))
        try record("POST", "/v1/jobs", try await anonymous.send("POST", "/v1/jobs", json: ["type": "noop"]))
        try record("POST", "/v1/jobs", try await reader.send("POST", "/v1/jobs", json: ["type": "noop"]))
        try record("GET", "/v1/jobs/{id}", try await reader.send("GET", "/v1/jobs/\(id)"))
        try record("GET", "/v1/jobs/{id}", try await reader.send("GET", "/v1/jobs/01a22689-0275-708c-a60d-000000000000"))
        try record("GET", "/v1/jobs", try await reader.send("GET", "/v1/jobs?limit=2"))
        try record("GET", "/v1/jobs", try await reader.send("GET", "/v1/jobs?status=bogus"))
        try record("GET", "/v1/jobs/{id}/events", try await reader.send("GET", "/v1/jobs/\(id)/events"))
        try record("POST", "/v1/jobs/{id}/cancel", try await admin.send("POST", "/v1/jobs/\(id)/cancel"))
        try record("POST", "/v1/jobs/{id}/cancel", try await admin.send("POST", "/v1/jobs/\(id)/cancel"))  // 409: finished
        try record("POST", "/v1/jobs/{id}/cancel", try await reader.send("POST", "/v1/jobs/\(id)/cancel"))  // 403
        try record("POST", "/v1/jobs/{id}/retry", try await admin.send("POST", "/v1/jobs/\(id)/retry"))
        try record("POST", "/v1/jobs/{id}/retry", try await admin.send("POST", "/v1/jobs/\(id)/retry"))  // 409: queued again
        let schedule: [String: Any] = ["name": "s1", "cron": "@daily", "timezone": "Europe/Berlin", "type": "noop", "payload": ["x": [1, 2]]]
        try record("POST", "/v1/schedules", try await admin.send("POST", "/v1/schedules", json: schedule))
        try record("POST", "/v1/schedules", try await admin.send("POST", "/v1/schedules", json: schedule))  // 409: name taken
        try record("POST", "/v1/schedules", try await admin.send("POST", "/v1/schedules", json: ["name": "s2", "cron": "bad", "type": "noop"]))
        try record("GET", "/v1/schedules", try await reader.send("GET", "/v1/schedules"))
        try record("GET", "/v1/schedules/{name}", try await reader.send("GET", "/v1/schedules/s1"))
        try record("GET", "/v1/schedules/{name}", try await reader.send("GET", "/v1/schedules/nope"))
        try record("PUT", "/v1/schedules/{name}", try await admin.send("PUT", "/v1/schedules/s1", body: try json(["enabled": false, "queue": NSNull()])))
        try record("PUT", "/v1/schedules/{name}", try await reader.send("PUT", "/v1/schedules/s1", body: try json(["enabled": true])))  // 403
        try record("DELETE", "/v1/schedules/{name}", try await admin.send("DELETE", "/v1/schedules/s1"))
        try record("DELETE", "/v1/schedules/{name}", try await admin.send("DELETE", "/v1/schedules/s1"))  // 404
        try record("POST", "/v1/jobs/batch", try await admin.send("POST", "/v1/jobs/batch", body: try json(["jobs": [["type": "noop"], ["type": "weather"]]])))
        try record("POST", "/v1/jobs/batch", try await admin.send("POST", "/v1/jobs/batch", body: try json(["jobs": [["type": "noop"], ["type": 7]]])))
        let ops = try f.client(try await f.token(tenant: "ops", scopes: [.operator]))
        try record("PUT", "/v1/tenants/{name}", try await ops.send("PUT", "/v1/tenants/acme", body: try json(["weight": 3])))
        try record("PUT", "/v1/tenants/{name}", try await ops.send("PUT", "/v1/tenants/acme", body: try json(["weight": 0])))  // 400
        try record("PUT", "/v1/tenants/{name}", try await admin.send("PUT", "/v1/tenants/acme", body: try json(["weight": 2])))  // 403
        try record("GET", "/v1/tenants", try await ops.send("GET", "/v1/tenants"))
        try record("GET", "/v1/tenants", try await admin.send("GET", "/v1/tenants"))  // 403
        let raw = [("Authorization", try await f.token())]
        let reference = try await anonymous.send("POST", "/submit-job-request", body: try json(["records": 2]), headers: raw)
        try record("POST", "/submit-job-request", reference)
        let referenceID = try #require((reference.object?["jobId"] ?? reference.object?["job_id"]) as? String, "\(reference.text)")
        try record("GET", "/job-status/{job-id}", try await anonymous.send("GET", "/job-status/\(referenceID)", body: nil, contentType: nil, headers: raw))
        try record("GET", "/job-status/{job-id}", try await anonymous.send("GET", "/job-status/nope", body: nil, contentType: nil, headers: raw))
        try record("GET", "/v1/outputs/{id}", try await anonymous.send("GET", "/v1/outputs/\(id)?expires=1&kid=k&sig=tampered"))
        for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
            try record("GET", path, try await anonymous.send("GET", path))
        }
        try record("GET", "/dashboard", try await anonymous.send("GET", "/dashboard"))
        try record("POST", "/dashboard/login", try await anonymous.send("POST", "/dashboard/login", body: Array("token=".utf8),
                                                                          contentType: "application/x-www-form-urlencoded"))
        try record("POST", "/dashboard/logout", try await anonymous.send("POST", "/dashboard/logout", body: [], contentType: nil))
        // The statuses above cover success and error answers of every route.
        #expect(recorder.statuses.isSuperset(of: [200, 201, 202, 204, 303, 400, 401, 403, 404, 409, 413, 415]), "\(recorder.statuses.sorted())")

        let document = try await anonymous.send("GET", "/openapi.json").body
        let (status, output, checked) = try await recorder.check(document: document, validator: validator)
        #expect(status == 0, "\(output)")
        #expect(output.contains(" JSON bodies checked, 0 problems"), "\(output)")
        #expect(checked >= 25, "only \(checked) JSON bodies were checked: \(output)")
    }

    /// Schemathesis (PyPI, pinned in Tests/tools/requirements.txt) generates requests from the
    /// served document, valid and invalid, and checks every answer: no 5xx, status codes,
    /// content types, headers and bodies as documented, invalid input refused. Left out:
    /// positive_data_acceptance, which flags two documented rules a schema cannot express
    /// (an Idempotency-Key header differing from the field; U+0000 in payload strings, which
    /// jsonb cannot store), both 400s by design. Fixed seeds keep the cases the same from run
    /// to run; a crash inside schemathesis itself (seen once in a few dozen runs, in its case
    /// generation) is retried with the next seed, a finding never is. The `sam` run also serves
    /// CORS, so SQS's XML reply and the preflights are checked against the document too.
    @Test(arguments: [ReferenceFormat.cdk, .sam])
    func schemathesisFindsNoServerErrorsOrMismatches(_ format: ReferenceFormat) async throws {
        let validator = try #require(ProcessInfo.processInfo.environment["JOBGATE_TEST_OPENAPI_VALIDATOR"],
                                     "run the tests through scripts/test, which installs the Python test tools")
        let schemathesis = URL(fileURLWithPath: validator).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        let f = try await APIFixture.make("schemathesis") { c in
            guard format == .sam else { return }
            c.referenceFormat = .sam
            c.cors = try! CORSPolicy.parse("https://app.example.com")
        }
        defer { Task { await f.stop() } }
        let token = try await f.token()
        var outputs: [String] = []
        for seed in 1...3 {
            let run = try TestProcess([schemathesis, "run", f.server.url + "/openapi.json", "--header", "Authorization: Bearer \(token)",
                                       "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                                       "--seed", String(seed), "--max-examples", "100", "--workers", "1", "--no-color"])
            // A hang guard, not a speed bound: a 2-core CI running the whole suite beside it took 240 s.
            let status = await run.wait(timeout: .seconds(900))
            outputs.append(run.output)
            if status == 0 {
                #expect(run.output.contains(" passed") && !run.output.contains("FAILURES"), "\(run.output.suffix(4000))")
                return
            }
            // Only schemathesis's own crash is worth another seed; anything it found fails the test.
            guard run.output.contains("Runtime Error"), !run.output.contains("FAILURES") else { break }
        }
        Issue.record("schemathesis: \(outputs.last?.suffix(6000) ?? "")")
    }

    static func refs(in value: Any) -> [String] {
        if let d = value as? [String: Any] {
            return (d["$ref"] as? String).map { [$0] } ?? [] + d.values.flatMap(refs(in:))
        }
        if let a = value as? [Any] { return a.flatMap(refs(in:)) }
        return []
    }
}
