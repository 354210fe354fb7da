import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGateTestSupport
import Testing

/// `GET /v1/queues`, `PUT /v1/queues/{name}`, `POST …/pause|resume` (operators), and `jobgate queue`.
@Suite struct QueueRouteTests {
    @Test func operatorsPauseResumeAndCapQueuesAndOthersCannot() async throws {
        let f = try await APIFixture.make("queueroutes")
        defer { Task { await f.stop() } }
        let ops = try f.client(try await f.token(tenant: "ops", scopes: [.operator]))
        let admin = try f.client(try await f.token())

        #expect(try await ops.send("GET", "/v1/queues").text == #"{"queues":[]}"#)
        // A queue with ready jobs and no controls is listed with its depth.
        for _ in 0..<3 { #expect(try await admin.send("POST", "/v1/jobs", json: ["type": "noop", "queue": "mail"]).status == 202) }
        let listed = try #require(try await ops.send("GET", "/v1/queues").object?["queues"] as? [[String: Any]])
        #expect(listed.count == 1 && listed[0]["name"] as? String == "mail" && listed[0]["ready"] as? Int == 3
                && listed[0]["running"] as? Int == 0 && listed[0]["paused"] as? Bool == false && listed[0]["concurrency"] is NSNull
                && listed[0]["updatedBy"] is NSNull && (listed[0]["oldestReadySeconds"] as? Double).map { $0 >= 0 } == true, "\(listed)")

        let paused = try await ops.send("POST", "/v1/queues/images/pause")
        #expect(paused.status == 200, "\(paused.text)")
        #expect(paused.object?["paused"] as? Bool == true && paused.object?["concurrency"] is NSNull)
        let capped = try await ops.send("PUT", "/v1/queues/images", json: ["concurrency": 5])
        #expect(capped.object?["paused"] as? Bool == true && capped.object?["concurrency"] as? Int == 5, "\(capped.text)")
        let list = try await ops.send("GET", "/v1/queues")
        let queues = try #require(list.object?["queues"] as? [[String: Any]])
        #expect(queues.map { $0["name"] as? String } == ["images", "mail"]
                && (queues[0]["updatedBy"] as? String)?.hasPrefix("api token ") == true, "\(queues)")
        let resumed = try await ops.send("POST", "/v1/queues/images/resume")
        #expect(resumed.object?["paused"] as? Bool == false && resumed.object?["concurrency"] as? Int == 5, "\(resumed.text)")
        let uncapped = try await ops.send("PUT", "/v1/queues/images", json: ["concurrency": NSNull(), "paused": false])
        #expect(uncapped.object?["paused"] as? Bool == false && uncapped.object?["concurrency"] is NSNull, "\(uncapped.text)")

        // A tenant's admin is not an operator: a queue is shared by every tenant.
        #expect(try await admin.send("PUT", "/v1/queues/images", json: ["paused": true]).status == 403)
        #expect(try await admin.send("POST", "/v1/queues/images/pause").status == 403)
        #expect(try await admin.send("GET", "/v1/queues").status == 403)
        // Bad input is refused and changes nothing.
        for (body, field) in [(["paused": "yes"], "paused"), (["concurrency": -1], "concurrency"),
                              (["concurrency": 2_000_000], "concurrency"), (["concurrency": 1.5], "concurrency"), (["size": 3], "size")]
            as [([String: Any], String)] {
            let r = try await ops.send("PUT", "/v1/queues/images", json: body)
            #expect(r.status == 400 && r.errorField == field, "\(body): \(r.status) \(r.text)")
        }
        #expect(try await ops.send("PUT", "/v1/queues/images", json: [String: Any]()).status == 400)
        for (method, path) in [("PUT", "/v1/queues/bad%20name"), ("POST", "/v1/queues/bad%20name/pause")] {
            let r = method == "PUT" ? try await ops.send(method, path, json: ["paused": true]) : try await ops.send(method, path)
            #expect(r.status == 400 || r.status == 404, "\(path): \(r.status) \(r.text)")
        }
        let after = try await JobStore(pool: f.pool).queueControls()
        #expect(after.count == 1 && !after[0].paused && after[0].concurrencyCap == nil)
    }

    @Test func theQueueCommandPausesCapsAndLists() async throws {
        let f = try await APIFixture.make("queuecli")
        defer { Task { await f.stop() } }
        let env = ["JOBGATE_DATABASE_URL": f.db.processURL]
        func run(_ args: [String]) async throws -> (Int32, String) {
            let p = try TestProcess([try JobGateBinary.path(), "queue"] + args, environment: env)
            return (await p.wait(), p.output)
        }
        #expect(try await run(["pause", "reports"]).0 == 0)
        #expect(try await run(["set", "reports", "--concurrency", "2"]).0 == 0)
        let (code, listed) = try await run(["list"])
        #expect(code == 0 && listed.contains("reports\tyes\t2\t0\t0\t0.0s\tjobgate queue set"), "\(listed)")
        // Usage errors exit 2 and change nothing.
        #expect(try await run(["set", "reports", "--concurrency", "many"]).0 == 2)
        #expect(try await run(["set", "reports"]).0 == 2)
        #expect(try await run(["pause", "reports", "--concurrency", "3"]).0 == 2)
        #expect(try await run(["pause", "bad name"]).0 == 2)
        #expect(try await run(["halt", "reports"]).0 == 2)
        var controls = try await JobStore(pool: f.pool).queueControls()
        #expect(controls.map(\.name) == ["reports"] && controls[0].paused && controls[0].concurrencyCap == 2)
        #expect(try await run(["set", "reports", "--concurrency", "none"]).0 == 0)
        #expect(try await run(["resume", "reports"]).0 == 0)
        controls = try await JobStore(pool: f.pool).queueControls()
        #expect(controls.map(\.name) == ["reports"] && !controls[0].paused && controls[0].concurrencyCap == nil)
    }
}
