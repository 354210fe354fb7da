import Foundation
@testable import JobGateAPI
import JobGateApp
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import JobGateWorker
import Testing

@Suite struct JobRouteTests {
    @Test func submitReplayConflictGetEventsList() async throws {
        let f = try await APIFixture.make("routes")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let r = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["n": 1], "priority": 5, "delaySeconds": 3600,
                                                          "idempotencyKey": "k1"])
        #expect(r.status == 202)
        let id = try #require(r.string("jobId"))
        #expect(r.string("status") == "queued")
        #expect(r.string("statusUrl") == "/v1/jobs/\(id)")
        #expect(r.header("Location") == "/v1/jobs/\(id)")
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.header("X-Request-Id") != nil)
        // Replay: same job, 200; header and field are the same key.
        let replay = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["n": 1], "priority": 5], headers: [("Idempotency-Key", "k1")])
        #expect(replay.status == 200)
        #expect(replay.string("jobId") == id)
        let conflict = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["n": 2], "idempotencyKey": "k1"])
        #expect(conflict.status == 409)
        #expect(conflict.errorCode == "idempotency_conflict")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1)

        let job = try await c.send("GET", "/v1/jobs/\(id)")
        #expect(job.status == 200)
        let o = try #require(job.object)
        #expect(o["jobId"] as? String == id)
        #expect(o["type"] as? String == "noop")
        #expect(o["queue"] as? String == "default")
        #expect(o["priority"] as? Int == 5)
        #expect(o["attempt"] as? Int == 0)
        #expect(o["maxAttempts"] as? Int == 3)
        #expect(o["startedAt"] is NSNull && o["finishedAt"] is NSNull && o["lastError"] is NSNull)
        #expect(o["output"] == nil)
        for key in ["createdAt", "runAt"] { #expect(JobRequestValidatorProbe.isDate(o[key])) }

        let events = try await c.send("GET", "/v1/jobs/\(id)/events")
        #expect(events.status == 200)
        let list = try #require(events.object?["events"] as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list[0]["event"] as? String == "submitted")
        #expect(list[0]["toStatus"] as? String == "queued")
        #expect(list[0]["fromStatus"] is NSNull)

        #expect(try await c.send("GET", "/v1/jobs/\(UUID().uuidString)").status == 404)
        #expect(try await c.send("GET", "/v1/jobs/not-a-uuid").errorCode == "not_found")
        #expect(try await c.send("GET", "/v1/jobs/\(UUID().uuidString)/events").status == 404)
    }

    @Test func listIsNewestFirstKeysetPaginatedAndFiltered() async throws {
        let f = try await APIFixture.make("list")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        var ids: [String] = []
        for i in 0..<5 {
            let r = try await c.send("POST", "/v1/jobs", json: ["type": i % 2 == 0 ? "noop" : "weather", "queue": "q\(i % 2)", "delaySeconds": 600])
            ids.append(try #require(r.string("jobId")))
        }
        var seen: [String] = []
        var after = ""
        for _ in 0..<4 {
            let r = try await c.send("GET", "/v1/jobs?limit=2" + (after.isEmpty ? "" : "&after=\(after)"))
            #expect(r.status == 200)
            let page = try #require(r.object?["jobs"] as? [[String: Any]])
            seen += page.compactMap { $0["jobId"] as? String }
            guard let next = r.object?["next"] as? String else { break }
            after = next
        }
        #expect(seen == ids.reversed())
        let weather = try await c.send("GET", "/v1/jobs?type=weather&status=queued&queue=q1")
        #expect((weather.object?["jobs"] as? [Any])?.count == 2)
        #expect(weather.object?["next"] is NSNull)
        #expect(try await c.send("GET", "/v1/jobs?status=bogus").errorField == "status")
        #expect(try await c.send("GET", "/v1/jobs?limit=0").errorField == "limit")
        #expect(try await c.send("GET", "/v1/jobs?limit=x").errorField == "limit")
        #expect(try await c.send("GET", "/v1/jobs?after=zzz").errorField == "after")
        #expect(try await c.send("GET", "/v1/jobs?after=").errorField == "after")
    }

    @Test func cancelAndRetry() async throws {
        let f = try await APIFixture.make("cancel")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let id = try #require(try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]).string("jobId"))
        #expect(try await c.send("POST", "/v1/jobs/\(id)/retry").status == 409)
        let cancelled = try await c.send("POST", "/v1/jobs/\(id)/cancel")
        #expect(cancelled.status == 200)
        #expect(cancelled.string("status") == "cancelled")
        let again = try await c.send("POST", "/v1/jobs/\(id)/cancel")
        #expect(again.status == 409)
        #expect(again.errorCode == "job_finished")
        let retried = try await c.send("POST", "/v1/jobs/\(id)/retry")
        #expect(retried.status == 200)
        #expect(retried.string("status") == "queued")
        #expect(try await c.send("POST", "/v1/jobs/\(UUID().uuidString)/cancel").status == 404)
        #expect(try await c.send("POST", "/v1/jobs/\(UUID().uuidString)/retry").status == 404)
    }

    /// A job type's declared queue (here from a `--job-types` file, as the README shows it) is
    /// where its jobs go when the request names none, on every submit route; a named queue wins.
    @Test func aJobTypesDeclaredQueueIsUsedWhenTheRequestNamesNone() async throws {
        let file = NSTemporaryDirectory() + "jobgate-types-\(UUID().uuidString).json"
        try Data(#"{"resize": {"argv": ["/bin/true"], "maxAttempts": 5, "queue": "images"}}"#.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let registry = try HandlerRegistry.builtIn(jobTypesFile: file)
        let f = try await APIFixture.make("typequeue", types: registry.declaredSettings) { c in
            c.referenceJobType = "resize"
        }
        defer { Task { await f.stop() } }
        let secret = try await f.token()
        let c = try f.client(secret)
        let one = try await c.send("POST", "/v1/jobs", json: ["type": "resize"])
        let named = try await c.send("POST", "/v1/jobs", json: ["type": "resize", "queue": "urgent"])
        let batch = try await c.send("POST", "/v1/jobs/batch", json: ["jobs": [["type": "resize"], ["type": "noop"]]])
        let reference = try await c.send("POST", "/submit-job-request", body: Array("{}".utf8), headers: [("Authorization", secret)])
        #expect(one.status == 202 && named.status == 202 && batch.status == 202)
        #expect(reference.status == 200)
        let batchIDs = try #require(batch.object?["jobs"] as? [[String: Any]]).compactMap { $0["jobId"] as? String }
        let ids = [one.string("jobId"), named.string("jobId"), reference.string("jobId")].compactMap { $0 } + batchIDs
        #expect(ids.count == 5)
        var queues: [String] = []
        for id in ids { queues.append(try #require(try await c.send("GET", "/v1/jobs/\(id)").string("queue"))) }
        #expect(queues == ["images", "urgent", "images", "images", "default"])
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE type = 'resize' AND max_attempts = 5") == 4)
        // A worker serving only that queue sees them.
        let claimed = try await JobStore(pool: f.pool).claim(queues: ["images"], limit: 10, worker: "t:1:x", leaseSeconds: 30)
        #expect(claimed.count == 3 && claimed.allSatisfy { $0.type == "resize" })
    }

    @Test func batchIsAllOrNothingAndNamesTheBadIndex() async throws {
        let f = try await APIFixture.make("batch")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let jobs: [[String: Any]] = (0..<300).map { ["type": "noop", "payload": ["i": $0], "delaySeconds": 600] }
        let ok = try await c.send("POST", "/v1/jobs/batch", json: ["jobs": jobs])
        #expect(ok.status == 202)
        let out = try #require(ok.object?["jobs"] as? [[String: Any]])
        #expect(out.count == 300)
        #expect(out.allSatisfy { $0["status"] as? String == "queued" })
        // Request order is kept.
        let firstID = try #require(out[0]["jobId"] as? String)
        let stored = try await f.pool.query("SELECT payload->>'i' FROM jobgate.jobs WHERE id = $1", [UUID(uuidString: firstID)!])
        #expect(try stored.first?.decode(0, as: String.self) == "0")

        var bad = jobs
        bad[7] = ["type": "nope"]
        let refused = try await c.send("POST", "/v1/jobs/batch", json: ["jobs": bad])
        #expect(refused.status == 400)
        #expect(refused.errorField == "jobs[7].type")
        bad[7] = ["type": "noop", "priority": "high"]
        #expect(try await c.send("POST", "/v1/jobs/batch", json: ["jobs": bad]).errorField == "jobs[7].priority")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 300)
        // A key repeated for the same request is one job; for a different request, refused up front.
        let twice = try await c.send("POST", "/v1/jobs/batch", json: ["jobs": [["type": "noop", "idempotencyKey": "d"], ["type": "noop", "idempotencyKey": "d"]]])
        #expect(twice.status == 202)
        let pair = try #require(twice.object?["jobs"] as? [[String: Any]])
        #expect(pair[0]["jobId"] as? String == pair[1]["jobId"] as? String)
        let clash = try await c.send("POST", "/v1/jobs/batch", json: ["jobs": [["type": "noop", "idempotencyKey": "e"], ["type": "weather", "idempotencyKey": "e"]]])
        #expect(clash.errorField == "jobs[1].idempotencyKey")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 301)
        #expect(try await c.send("POST", "/v1/jobs/batch", json: ["jobs": []]).errorField == "jobs")
        #expect(try await c.send("POST", "/v1/jobs/batch", json: ["jobs": 3]).errorField == "jobs")
        #expect(try await c.send("POST", "/v1/jobs/batch", json: ["jobs": Array(repeating: ["type": "noop"], count: 1001)]).errorField == "jobs")
    }

    @Test func badInputGetsClearErrorsAndChangesNothing() async throws {
        let f = try await APIFixture.make("badinput")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        func post(_ body: String, contentType: String? = "application/json") async throws -> HTTPClient.Response {
            try await c.send("POST", "/v1/jobs", body: Array(body.utf8), contentType: contentType)
        }
        let malformed = try await post("{\"type\": \"noop\",")
        #expect(malformed.status == 400)
        #expect(malformed.errorCode == "malformed_json")
        #expect(try await post("[1,2]").status == 400)
        #expect(try await post("").status == 400)
        let cases: [(String, String)] = [
            (#"{"type": 3}"#, "type"), (#"{}"#, "type"), (#"{"type": "nope"}"#, "type"),
            (#"{"type": "noop", "priority": "high"}"#, "priority"), (#"{"type": "noop", "priority": true}"#, "priority"),
            (#"{"type": "noop", "priority": 1.5}"#, "priority"), (#"{"type": "noop", "priority": 40000}"#, "priority"),
            (#"{"type": "noop", "maxAttempts": 0}"#, "maxAttempts"), (#"{"type": "noop", "timeoutSeconds": -1}"#, "timeoutSeconds"),
            (#"{"type": "noop", "queue": "a b"}"#, "queue"), (#"{"type": "noop", "queue": 7}"#, "queue"),
            (#"{"type": "noop", "runAt": "tomorrow"}"#, "runAt"), (#"{"type": "noop", "delaySeconds": -5}"#, "delaySeconds"),
            (#"{"type": "noop", "runAt": "2024-01-01T12:99:00Z"}"#, "runAt"), (#"{"type": "noop", "runAt": "2030-02-29T00:00:00Z"}"#, "runAt"),
            (#"{"type": "noop", "delaySeconds": 5, "runAt": "2030-01-01T00:00:00Z"}"#, "runAt"),
            (#"{"type": "noop", "idempotencyKey": ""}"#, "idempotencyKey"), (#"{"type": "noop", "typo": 1}"#, "typo"),
        ]
        for (body, field) in cases {
            let r = try await post(body)
            #expect(r.status == 400, "\(body)")
            #expect(r.errorField == field, "\(body)")
            #expect(r.object?["error"] is [String: Any])
        }
        let unknown = try await post(#"{"type": "nope"}"#)
        #expect(unknown.errorCode == "unknown_job_type")
        let bigPayload = "{\"type\":\"noop\",\"payload\":\"" + String(repeating: "x", count: 300 * 1024) + "\"}"
        let tooBig = try await post(bigPayload)
        #expect(tooBig.status == 413)
        #expect(tooBig.errorField == "payload")
        let hugeBody = "{\"type\":\"noop\",\"payload\":\"" + String(repeating: "x", count: 1_100_000) + "\"}"
        #expect(try await post(hugeBody).status == 413)
        let form = try await post("type=noop", contentType: "application/x-www-form-urlencoded")
        #expect(form.status == 415)
        #expect(form.errorCode == "unsupported_media_type")
        #expect(try await post(#"{"type":"noop"}"#, contentType: "application/json; charset=utf-8").status == 202)
        #expect(try await post(#"{"type":"noop","runAt":"2030-01-01T00:00:00.250Z"}"#).status == 202)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 2)
    }

    @Test func payloadsAreStoredAsSentAndWhatJsonbRefusesIsA400() async throws {
        let f = try await APIFixture.make("payloads")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        func post(_ path: String, _ body: String) async throws -> HTTPClient.Response {
            try await c.send("POST", path, body: Array(body.utf8))
        }
        func stored(_ id: String?) async throws -> String {
            try await f.pool.query("SELECT payload::text FROM jobgate.jobs WHERE id = $1::uuid", [id ?? ""]).first!.decode(0, as: String.self)
        }
        // Numbers keep their precision and strings their characters (nothing goes through a Double).
        let exact = try await post("/v1/jobs", #"{"type":"noop","payload":{"big": 123456789012345678901234567890.5, "s": "\u00e9\ud83d\ude00", "n": null}}"#)
        #expect(exact.status == 202)
        #expect(try await stored(exact.string("jobId")) == #"{"n": null, "s": "é😀", "big": 123456789012345678901234567890.5}"#)
        let null = try await post("/v1/jobs", #"{"type":"noop","payload":null}"#)
        #expect(try await stored(null.string("jobId")) == "null")
        let none = try await post("/v1/jobs", #"{"type":"noop"}"#)
        #expect(try await stored(none.string("jobId")) == "{}")
        // jsonb cannot hold \u0000 or a lone surrogate: refused up front, nothing stored.
        let before = try await f.count("SELECT count(*) FROM jobgate.jobs")
        for (body, code) in [(#"{"type":"noop","payload":"a\u0000b"}"#, "invalid_text"), (#"{"type":"noop","payload":"\ud800"}"#, "malformed_json")] {
            let r = try await post("/v1/jobs", body)
            #expect(r.status == 400 && r.errorCode == code && r.errorField == "payload", "\(body)")
        }
        #expect(try await post("/v1/jobs/batch", #"{"jobs":[{"type":"noop"},{"type":"noop","payload":"\u0000"}]}"#).status == 400)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == before)
        // In a batch, one key twice with the same payload written differently is one request.
        let batch = try await post("/v1/jobs/batch", #"{"jobs":[{"type":"noop","idempotencyKey":"same","payload":{"a":1,"b":[2]}},"# +
                                   #"{"type":"noop","idempotencyKey":"same","payload":{ "b" : [ 2 ], "a" : 1 }}]}"#)
        #expect(batch.status == 202)
        let ids = (batch.object?["jobs"] as? [[String: Any]])?.compactMap { $0["jobId"] as? String }
        #expect(ids?.count == 2 && ids?[0] == ids?[1])
        let different = try await post("/v1/jobs/batch", #"{"jobs":[{"type":"noop","idempotencyKey":"other","payload":{"a":1}},"# +
                                       #"{"type":"noop","idempotencyKey":"other","payload":{"a":2}}]}"#)
        #expect(different.status == 400 && different.errorField == "jobs[1].idempotencyKey")
        // A missing payload is {}; duplicate keys collapse as jsonb collapses them.
        let absent = try await post("/v1/jobs/batch", #"{"jobs":[{"type":"noop","idempotencyKey":"n"},{"type":"noop","idempotencyKey":"n","payload":{}},"# +
                                  #"{"type":"noop","idempotencyKey":"n","payload":{"a":1,"a":{}}}]}"#)
        #expect(absent.status == 400 && absent.errorField == "jobs[2].idempotencyKey")
        let same = try await post("/v1/jobs/batch", #"{"jobs":[{"type":"noop","idempotencyKey":"m"},{"type":"noop","idempotencyKey":"m","payload":{}}]}"#)
        #expect(same.status == 202)
        // The same text in two Unicode normal forms is two requests, as the database sees it.
        let nfd = try await post("/v1/jobs/batch", "{\"jobs\":[{\"type\":\"noop\",\"idempotencyKey\":\"u\",\"payload\":\"\u{e9}\"}," +
                                 "{\"type\":\"noop\",\"idempotencyKey\":\"u\",\"payload\":\"e\u{301}\"}]}")
        #expect(nfd.status == 400 && nfd.errorField == "jobs[1].idempotencyKey")

        // The parser refuses exactly the numbers PostgreSQL's jsonb refuses (else a 500 and a
        // failed group commit): checked against the server itself.
        let numbers = ["1e131071", "1e131072", "1e-16383", "1e-16384", "0e-20000", "0e200000", "0.0001e131075",
                       "123456e-16384", "10000000000e-16380", "-2.5E+10"]
        for n in numbers {
            let ours = (try? JSONValue.parse(Array(n.utf8))) != nil
            let theirs = (try? await f.pool.query("SELECT $1::jsonb", [n])) != nil
            #expect(ours == theirs, "\(n): parser \(ours), jsonb \(theirs)")
        }
        let huge = try await post("/v1/jobs", #"{"type":"noop","payload":{"x":1e200000}}"#)
        #expect(huge.status == 400 && huge.errorCode == "malformed_json")
    }

    @Test func unknownRouteWrongMethodAndOperationalRoutes() async throws {
        let f = try await APIFixture.make("ops")
        defer { Task { await f.stop() } }
        let c = try f.client()
        let missing = try await c.send("GET", "/v2/nothing")
        #expect(missing.status == 404)
        #expect(missing.errorCode == "route_not_found")
        let wrong = try await c.send("DELETE", "/v1/jobs")
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow")?.contains("POST") == true && wrong.header("Allow")?.contains("GET") == true)
        #expect(try await c.send("PUT", "/healthz").header("Allow") == "GET, HEAD")
        // A literal segment is its own resource, not also a {id}.
        #expect(try await c.send("GET", "/v1/jobs/batch").header("Allow") == "POST")
        let health = try await c.send("GET", "/healthz")
        #expect(health.status == 200 && health.string("status") == "ok")
        let ready = try await c.send("GET", "/readyz")
        #expect(ready.status == 200 && ready.string("status") == "ready")
        let metrics = try await c.send("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains("jobgate_http_requests_total{route=\"/readyz\",method=\"GET\",code=\"200\"}"))
        #expect(metrics.text.contains("jobgate_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",code=\"200\",le=\"+Inf\"}"))
        #expect(metrics.text.contains("jobgate_http_request_duration_seconds_count{route=\"unmatched\",method=\"GET\",code=\"404\"}"))
        #expect(metrics.text.contains("jobgate_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"}"))
        let authed = try f.client(try await f.token())
        #expect(try await authed.send("POST", "/v1/jobs", json: ["type": "noop", "queue": "metered"]).status == 202)
        let after = try await c.send("GET", "/metrics")
        #expect(after.text.contains("jobgate_jobs_submitted_total{type=\"noop\",queue=\"metered\"} 1"))
        let requestID = try await c.send("GET", "/healthz", headers: [("X-Request-Id", "abc-123")])
        #expect(requestID.header("X-Request-Id") == "abc-123")
    }

    @Test func readyzIs503WhenTheSchemaIsNotMigrated() async throws {
        let db = try await TestDatabase.create("unmigrated")
        let pool = JobGatePostgres.PostgresPool(configuration: APIServer.databaseConfiguration(url: db.url))
        var c = APIConfiguration()
        c.http.port = 0
        c.accessLog = false
        let server = Node.apiServer(configuration: c, pool: pool)
        try await server.start()
        let running = Task { try await server.run() }
        let r = try await HTTPClient(baseURL: server.url).send("GET", "/readyz")
        #expect(r.status == 503)
        #expect(r.errorCode == "schema_outdated")
        #expect(r.header("Retry-After") != nil)
        server.shutdown()
        _ = try? await running.value
        pool.shutdown()
    }
}

/// RFC 3339 date-times for `runAt`: every field in its range, never rolled over.
@Suite struct RunAtParsingTests {
    @Test(arguments: [
        ("2030-01-02T03:04:05Z", 1_893_553_445.0), ("2030-01-02t03:04:05z", 1_893_553_445.0),
        ("2030-01-02T04:34:05.25+01:30", 1_893_553_445.25), ("2030-01-02T00:04:05-03:00", 1_893_553_445.0),
        ("2028-02-29T00:00:00Z", 1_835_395_200.0), ("0001-01-01T00:00:00Z", -62_135_596_800.0),
        ("0001-01-01T01:00:00+01:00", -62_135_596_800.0), ("9999-12-31T23:59:58.5Z", 253_402_300_798.5),
    ])
    func validTimestampsParseToTheirInstant(_ text: String, _ epoch: Double) {
        #expect(RFC3339.date(text)?.timeIntervalSince1970 == epoch, "\(text)")
    }

    @Test(arguments: [
        "2024-01-01T12:99:00Z", "2024-01-01T24:00:00Z", "2024-01-01T23:59:60Z", "2030-02-29T00:00:00Z", "2030-04-31T00:00:00Z",
        "2030-13-01T00:00:00Z", "2030-00-10T00:00:00Z", "0000-01-01T00:00:00Z", "2030-01-01T00:00:00", "2030-01-01 00:00:00Z",
        "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00+0100", "2030-01-01T00:00:00+24:00", "2030-01-01T00:00:00Zx", "2030-1-01T00:00:00Z",
        "", "0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00", "9999-12-31T23:59:59.99999Z", "9999-12-31T23:59:59Z",
    ])
    func outOfRangeOrMalformedTimestampsAreRefused(_ text: String) {
        #expect(RFC3339.date(text) == nil, "\(text)")
    }
}

enum JobRequestValidatorProbe {
    static func isDate(_ v: Any?) -> Bool {
        guard let s = v as? String else { return false }
        return RFC3339.date(s) != nil
    }
}
