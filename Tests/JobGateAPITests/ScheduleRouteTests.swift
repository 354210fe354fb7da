import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGateTestSupport
import Testing

/// `/v1/schedules…` and `jobgate schedule …` against a real server and database.
@Suite struct ScheduleRouteTests {
    func json(_ v: Any) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: v)) }

    @Test func createReadChangeAndDeleteWithinTheTenant() async throws {
        let f = try await APIFixture.make("schedroutes")
        defer { Task { await f.stop() } }
        let admin = try f.client(try await f.token())
        let reader = try f.client(try await f.token(scopes: [.read]))
        let other = try f.client(try await f.token(tenant: "other"))

        let created = try await admin.send("POST", "/v1/schedules", json: [
            "name": "nightly", "cron": "30 2 * * *", "timezone": "Europe/Berlin", "type": "noop", "payload": ["a": 1], "priority": 5,
        ])
        #expect(created.status == 201, "\(created.text)")
        #expect(created.header("Location") == "/v1/schedules/nightly")
        let body = try #require(created.object)
        #expect(body["cron"] as? String == "30 2 * * *" && body["timezone"] as? String == "Europe/Berlin")
        #expect((body["payload"] as? [String: Any])?["a"] as? Int == 1 && body["priority"] as? Int == 5 && body["enabled"] as? Bool == true)
        #expect(body["queue"] is NSNull && body["lastRunAt"] is NSNull && body["lastJobId"] is NSNull)
        let nextText = try #require(body["nextRunAt"] as? String)
        let next = try #require(RFC3339.date(nextText))
        #expect(next > Date() && next < Date().addingTimeInterval(86_400 + 3600))
        #expect(try CronSchedule("30 2 * * *", timeZone: "Europe/Berlin").next(after: Date()) == next)

        // Bad input: 400 naming the field, nothing stored.
        let bad: [([String: Any], String)] = [
            (["name": "x", "cron": "61 * * * *", "type": "noop"], "cron"),
            (["name": "x", "cron": "* * * *", "type": "noop"], "cron"),
            (["name": "x", "cron": "@reboot", "type": "noop"], "cron"),
            (["name": "x", "cron": "* * * * *", "timezone": "Mars/Base", "type": "noop"], "timezone"),
            (["name": "x", "cron": "* * * * *", "type": "nope"], "type"),
            (["name": "x:y", "cron": "* * * * *", "type": "noop"], "name"),
            (["name": "x", "type": "noop"], "cron"),
            (["cron": "* * * * *", "type": "noop"], "name"),
            (["name": "x", "cron": "* * * * *"], "type"),
            (["name": "x", "cron": "* * * * *", "type": "noop", "queue": "a b"], "queue"),
            (["name": "x", "cron": "* * * * *", "type": "noop", "priority": 40000], "priority"),
            (["name": "x", "cron": "* * * * *", "type": "noop", "enabled": "yes"], "enabled"),
            (["name": "x", "cron": "* * * * *", "type": "noop", "runAt": "2030-01-01T00:00:00Z"], "runAt"),
        ]
        for (request, field) in bad {
            let r = try await admin.send("POST", "/v1/schedules", json: request)
            #expect(r.status == 400 && r.errorField == field, "\(request): \(r.status) \(r.text)")
        }
        #expect(try await f.count("SELECT count(*) FROM jobgate.schedules") == 1)
        let dup = try await admin.send("POST", "/v1/schedules", json: ["name": "nightly", "cron": "@daily", "type": "noop"])
        #expect(dup.status == 409 && dup.errorCode == "schedule_exists")
        #expect(try await reader.send("POST", "/v1/schedules", json: ["name": "r", "cron": "@daily", "type": "noop"]).status == 403)

        // Reading: the tenant's own only.
        let list = try await reader.send("GET", "/v1/schedules")
        #expect(list.status == 200 && (list.object?["schedules"] as? [[String: Any]])?.map { $0["name"] as? String } == ["nightly"])
        #expect(try await reader.send("GET", "/v1/schedules/nightly").status == 200)
        #expect(try await other.send("GET", "/v1/schedules/nightly").status == 404)
        #expect((try await other.send("GET", "/v1/schedules").object?["schedules"] as? [Any])?.isEmpty == true)
        #expect(try await other.send("DELETE", "/v1/schedules/nightly").status == 404)
        #expect(try await reader.send("GET", "/v1/schedules/no%20such").status == 404)

        // The same name in another tenant is another schedule.
        #expect(try await other.send("POST", "/v1/schedules", json: ["name": "nightly", "cron": "@hourly", "type": "noop"]).status == 201)

        // Disable, enable, change.
        let off = try await admin.send("PUT", "/v1/schedules/nightly", body: try json(["enabled": false]))
        #expect(off.status == 200 && off.object?["enabled"] as? Bool == false && off.object?["nextRunAt"] is NSNull, "\(off.text)")
        #expect(off.object?["cron"] as? String == "30 2 * * *" && off.object?["priority"] as? Int == 5)
        let on = try await admin.send("PUT", "/v1/schedules/nightly", body: try json(["enabled": true, "cron": "*/5 * * * *", "timezone": "UTC"]))
        #expect(on.status == 200 && on.object?["nextRunAt"] is String && on.object?["cron"] as? String == "*/5 * * * *", "\(on.text)")
        let badChange = try await admin.send("PUT", "/v1/schedules/nightly", body: try json(["cron": "nope"]))
        #expect(badChange.status == 400 && badChange.errorField == "cron")
        #expect(try await admin.send("PUT", "/v1/schedules/nightly", body: try json(["name": "renamed"])).status == 400)
        #expect(try await admin.send("PUT", "/v1/schedules/missing", body: try json(["enabled": false])).status == 404)
        #expect(try await reader.send("PUT", "/v1/schedules/nightly", body: try json(["enabled": false])).status == 403)

        // Fired by a worker's scheduler: the view shows the slot and the job, whose events name it.
        try await f.pool.query("UPDATE jobgate.schedules SET next_run_at = now() - interval '1 minute' WHERE name = 'nightly' AND tenant = 'acme'")
        let fired = try await ScheduleStore(pool: f.pool).fireDue()
        #expect(fired.count == 1 && fired.first?.tenant == "acme")
        let shown = try await reader.send("GET", "/v1/schedules/nightly")
        let jobID = try #require(shown.object?["lastJobId"] as? String, "\(shown.text)")
        #expect(shown.object?["lastRunAt"] is String && shown.object?["lastSlot"] is String && shown.object?["lastError"] is NSNull)
        let job = try await reader.send("GET", "/v1/jobs/\(jobID)")
        #expect(job.status == 200 && job.object?["type"] as? String == "noop" && job.object?["priority"] as? Int == 5)
        let events = try await reader.send("GET", "/v1/jobs/\(jobID)/events")
        let submitted = (events.object?["events"] as? [[String: Any]])?.first
        #expect((submitted?["message"] as? String)?.hasPrefix("scheduled by nightly for ") == true, "\(events.text)")

        let deleted = try await admin.send("DELETE", "/v1/schedules/nightly")
        #expect(deleted.status == 204 && deleted.body.isEmpty)
        #expect(try await admin.send("GET", "/v1/schedules/nightly").status == 404)
        #expect(try await admin.send("DELETE", "/v1/schedules/nightly").status == 404)
        // Its job stays.
        #expect(try await reader.send("GET", "/v1/jobs/\(jobID)").status == 200)
    }

    @Test func scheduleCommandAddsListsDisablesAndRemoves() async throws {
        let f = try await APIFixture.make("schedcli")
        defer { Task { await f.stop() } }
        let env = ["JOBGATE_URL": f.server.url, "JOBGATE_TOKEN": try await f.token(), "JOBGATE_LOG_LEVEL": "error"]
        func jobgate(_ args: [String]) async throws -> (Int32, String) {
            let p = try TestProcess(["/bin/sh", "-c", "exec \"$0\" \"$@\" 2>/dev/null", try JobGateBinary.path()] + args, environment: env)
            let code = await p.wait()
            return (code, p.output)
        }
        let (added, addOut) = try await jobgate(["schedule", "add", "reports", "0 6 * * mon-fri", "noop", "--timezone", "America/New_York",
                                                 "--payload", #"{"kind":"daily"}"#, "--priority", "3"])
        #expect(added == 0 && addOut.contains("\"name\":\"reports\""), "\(addOut)")
        #expect(try await jobgate(["schedule", "add", "bad", "0 6 * *", "noop"]).0 == 1)
        #expect(try await jobgate(["schedule", "add", "only-two", "0 6 * * *"]).0 == 2)
        let (listed, table) = try await jobgate(["schedule", "list"])
        #expect(listed == 0 && table.hasPrefix("NAME\tCRON\tTIMEZONE") && table.contains("reports\t0 6 * * mon-fri\tAmerica/New_York\tnoop\tyes"),
                "\(table)")
        let (disabled, disabledOut) = try await jobgate(["schedule", "disable", "reports"])
        #expect(disabled == 0 && disabledOut.contains("\"enabled\":false"), "\(disabledOut)")
        #expect(try await jobgate(["schedule", "list"]).1.contains("noop\tno\t-"))
        #expect(try await jobgate(["schedule", "enable", "reports"]).1.contains("\"enabled\":true"))
        #expect(try await jobgate(["schedule", "rm", "reports"]).0 == 0)
        #expect(try await jobgate(["schedule", "rm", "reports"]).0 == 1)
        #expect(try await jobgate(["schedule", "rm", "a/b"]).0 == 2)
        #expect(try await jobgate(["schedule", "frobnicate"]).0 == 2)
        #expect(try await f.count("SELECT count(*) FROM jobgate.schedules") == 0)
    }
}
