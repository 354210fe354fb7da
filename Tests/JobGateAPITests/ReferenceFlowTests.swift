import Foundation
import JobGateAPI
import JobGateCore
import JobGateCrypto
import JobGateHTTP
import JobGateTestSupport
import JobGateWorker
import Testing

@Suite struct ReferenceFlowTests {
    /// The reference client's flow, unchanged: raw token, submit, poll, download the link.
    @Test(arguments: [1 << 20, 64])
    func submitPollDownload(inlineMax: Int) async throws {
        let f = try await APIFixture.make("reference")
        defer { Task { await f.stop() } }
        let w = f.worker(inlineMax: inlineMax)
        let run = Task { try await w.run() }
        defer { run.cancel() }
        let secret = try await f.token(scopes: [.submit, .read])
        let c = try f.client()
        let auth = [("Authorization", secret)]
        let submitted = try await c.send("POST", "/submit-job-request", body: Array(#"{"records": 7}"#.utf8), headers: auth)
        #expect(submitted.status == 200)
        let id = try #require(submitted.string("jobId"))
        let message = ((submitted.object?["SendMessageResponse"] as? [String: Any])?["SendMessageResult"] as? [String: Any])?["MessageId"]
        #expect(message as? String == id)

        var status: [String: Any] = [:]
        #expect(try await eventually(timeout: .seconds(20)) {
            let r = try await c.send("GET", "/job-status/\(id)", headers: auth)
            status = r.object ?? [:]
            return status["jobStatus"] as? String == "complete"
        })
        #expect(status["jobId"] as? String == id)
        #expect(status["jobRequestId"] as? String == id)
        let link = try #require(status["jobProcessedPayloadLink"] as? String)
        let url = try #require(URL(string: link))
        #expect(url.scheme == "http")
        let target = url.path + "?" + (url.query ?? "")
        let download = try await HTTPClient(baseURL: f.server.url).send("GET", target)
        #expect(download.status == 200)
        #expect(download.header("Content-Type") == "application/json")
        #expect(download.header("Content-Length") == String(download.body.count))
        let etag = try #require(download.header("ETag"))
        #expect(etag == "\"" + Hex.encode(SHA256.hash(download.body)) + "\"")
        let weather = try #require(download.object?["weatherData"] as? [[String: Any]])
        #expect(weather.count == 7)
        #expect(weather[0]["station"] != nil && weather[0]["temperature"] != nil)
        let cached = try await HTTPClient(baseURL: f.server.url).send("GET", target, headers: [("If-None-Match", etag)])
        #expect(cached.status == 304)

        // The /v1 view of the same job carries the output metadata and a signed path.
        let job = try await f.client(secret).send("GET", "/v1/jobs/\(id)")
        let output = try #require(job.object?["output"] as? [String: Any])
        #expect(output["size"] as? Int == download.body.count)
        #expect(output["sha256"] as? String == Hex.encode(SHA256.hash(download.body)))
        #expect((output["url"] as? String)?.hasPrefix("/v1/outputs/\(id)?expires=") == true)
        #expect(output["expiresAt"] is String && output["contentType"] as? String == "application/json")
    }

    @Test func unknownJobGetsTheReferenceMessage() async throws {
        let f = try await APIFixture.make("refmissing")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        for id in [UUID().uuidString.lowercased(), "no-such-job"] {
            let r = try await c.send("GET", "/job-status/\(id)")
            #expect(r.status == 404)
            #expect(r.text == "{\"Error Message\":\"No Job data found for Job Id : \(id)\"}")
        }
        #expect(try await c.send("POST", "/submit-job-request", body: Array("x=1".utf8), contentType: "text/plain").status == 415)
        #expect(try await c.send("POST", "/submit-job-request", body: Array("{oops".utf8)).status == 400)
        // An empty body is an empty payload; the job starts out Submitted.
        let empty = try await c.send("POST", "/submit-job-request", body: [])
        #expect(empty.status == 200)
        let status = try await c.send("GET", "/job-status/\(empty.string("jobId")!)")
        #expect(status.string("jobStatus") == "Submitted")
        #expect(status.object?["jobProcessedPayloadLink"] == nil)
    }

    @Test func tamperedAndExpiredSignaturesAreRefused() async throws {
        let f = try await APIFixture.make("signed")
        defer { Task { await f.stop() } }
        let w = f.worker()
        let run = Task { try await w.run() }
        defer { run.cancel() }
        let c = try f.client(try await f.token())
        let id = try #require(try await c.send("POST", "/v1/jobs", json: ["type": "weather", "payload": ["records": 2]]).string("jobId"))
        var path = ""
        #expect(try await eventually(timeout: .seconds(20)) {
            path = ((try await c.send("GET", "/v1/jobs/\(id)").object?["output"] as? [String: Any])?["url"] as? String) ?? ""
            return !path.isEmpty
        })
        let anon = try HTTPClient(baseURL: f.server.url)
        #expect(try await anon.send("GET", path).status == 200)
        let sig = try #require(path.range(of: "sig=")).upperBound
        var tampered = path
        let flipped: Character = path[sig] == "A" ? "B" : "A"
        tampered.replaceSubrange(sig...sig, with: String(flipped))
        let bad = try await anon.send("GET", tampered)
        #expect(bad.status == 403)
        #expect(bad.errorCode == "invalid_signature")
        let longer = path.replacingOccurrences(of: "expires=", with: "expires=9")
        #expect(try await anon.send("GET", longer).status == 403)
        let otherJob = path.replacingOccurrences(of: id, with: UUID().uuidString.lowercased())
        #expect(try await anon.send("GET", otherJob).status == 403)
        #expect(try await anon.send("GET", "/v1/outputs/\(id)").status == 403)
        let expired = try await OutputSigner(pool: f.pool).sign(UUID(uuidString: id)!, now: Date().addingTimeInterval(-7200))
        let old = try await anon.send("GET", expired.path)
        #expect(old.status == 403)
        #expect(old.text.contains("expired"))
    }
}
