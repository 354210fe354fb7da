import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGateTestSupport
import Testing

/// `GET /v1/queues` and `PATCH /v1/queues/{name}` (operators), and `jobgate queue`.
@Suite struct QueueRouteTests {
    @Test func operatorsPauseResumeAndCapQueuesAndOthersCannot() async throws {
        let f = try await APIFixture.make("queueroutes")
        defer { Task { await f.stop() } }
        let ops = try f.client(try await f.token(tenant: "ops", scopes: [.operator]))
        let admin = try f.client(try await f.token())

        #expect(try await ops.send("GET", "/v1/queues").text == #"{"queues":[]}"#)
        let paused = try await ops.send("PATCH", "/v1/queues/images", json: ["paused": true])
        #expect(paused.status == 200, "\(paused.text)")
        #expect(paused.object?["paused"] as? Bool == true && paused.object?["concurrencyCap"] is NSNull)
        let capped = try await ops.send("PATCH", "/v1/queues/images", json: ["concurrencyCap": 5])
        #expect(capped.object?["paused"] as? Bool == true && capped.object?["concurrencyCap"] as? Int == 5, "\(capped.text)")
        let list = try await ops.send("GET", "/v1/queues")
        let queues = try #require(list.object?["queues"] as? [[String: Any]])
        #expect(queues.count == 1 && queues[0]["name"] as? String == "images" && (queues[0]["updatedBy"] as? String)?.hasPrefix("api token ") == true)
        let resumed = try await ops.send("PATCH", "/v1/queues/images", json: ["paused": false, "concurrencyCap": NSNull()])
        #expect(resumed.object?["paused"] as? Bool == false && resumed.object?["concurrencyCap"] is NSNull, "\(resumed.text)")

        // A tenant's admin is not an operator: a queue is shared by every tenant.
        #expect(try await admin.send("PATCH", "/v1/queues/images", json: ["paused": true]).status == 403)
        #expect(try await admin.send("GET", "/v1/queues").status == 403)
        // Bad input is refused and changes nothing.
        for (body, field) in [(["paused": "yes"], "paused"), (["concurrencyCap": -1], "concurrencyCap"),
                              (["concurrencyCap": 2_000_000], "concurrencyCap"), (["size": 3], "size")] as [([String: Any], String)] {
            let r = try await ops.send("PATCH", "/v1/queues/images", json: body)
            #expect(r.status == 400 && r.errorField == field, "\(body): \(r.status) \(r.text)")
        }
        #expect(try await ops.send("PATCH", "/v1/queues/images", json: [String: Any]()).status == 400)
        let badName = try await ops.send("PATCH", "/v1/queues/bad%20name", json: ["paused": true])
        #expect(badName.status == 400 || badName.status == 404, "\(badName.status) \(badName.text)")
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
        #expect(try await run(["cap", "reports", "2"]).0 == 0)
        let (code, listed) = try await run(["list"])
        #expect(code == 0 && listed.contains("reports\tyes\t2\t0\tjobgate queue cap"), "\(listed)")
        // Usage errors exit 2 and change nothing.
        #expect(try await run(["cap", "reports", "many"]).0 == 2)
        #expect(try await run(["pause", "bad name"]).0 == 2)
        #expect(try await run(["halt", "reports"]).0 == 2)
        let controls = try await JobStore(pool: f.pool).queueControls()
        #expect(controls.map(\.name) == ["reports"] && controls[0].paused && controls[0].concurrencyCap == 2)
    }
}
