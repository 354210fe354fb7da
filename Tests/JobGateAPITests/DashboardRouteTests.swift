import Foundation
import JobGateAPI
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateTestSupport
import Testing

/// `/dashboard` behind its browser login: form → session cookie → page.
@Suite struct DashboardRouteTests {
    @Test func loginWithATokenGivesACookieThatOpensTheDashboard() async throws {
        let f = try await APIFixture.make("dashroute")
        defer { Task { await f.stop() } }
        let anonymous = try f.client()

        // No cookie: the login form, not the data.
        let login = try await anonymous.send("GET", "/dashboard", body: nil, contentType: nil)
        #expect(login.status == 200)
        #expect(login.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(login.text.contains("/dashboard/login"))
        #expect(!login.text.contains("Live workers"))

        // Wrong token, or a token without jobs:read: the form again, 401, no cookie.
        let bad = try await anonymous.send("POST", "/dashboard/login", body: Array("token=jg_nope_nope_nope_nope".utf8),
                                           contentType: "application/x-www-form-urlencoded")
        #expect(bad.status == 401)
        #expect(bad.header("Set-Cookie") == nil)
        let submitOnly = try await f.token(scopes: [.submit])
        let weak = try await anonymous.send("POST", "/dashboard/login", body: Array("token=\(submitOnly)".utf8),
                                            contentType: "application/x-www-form-urlencoded")
        #expect(weak.status == 401)
        #expect(weak.header("Set-Cookie") == nil)

        // A read token: 303 with an HttpOnly cookie that is not the token.
        let reader = try await f.token(scopes: [.read])
        let ok = try await anonymous.send("POST", "/dashboard/login", body: Array("token=\(reader)".utf8),
                                          contentType: "application/x-www-form-urlencoded")
        #expect(ok.status == 303)
        #expect(ok.header("Location") == "/dashboard")
        let setCookie = try #require(ok.header("Set-Cookie"))
        #expect(setCookie.contains("HttpOnly"))
        #expect(!setCookie.contains(reader))
        let cookie = String(setCookie.split(separator: ";")[0])

        let page = try await anonymous.send("GET", "/dashboard", body: nil, contentType: nil, headers: [("Cookie", cookie)])
        #expect(page.status == 200)
        #expect(page.header("Cache-Control") == "no-store")
        #expect(page.text.contains("<svg") || page.text.contains("No jobs yet"))
        #expect(!page.text.contains("/dashboard/login\" method"))

        // A tampered cookie is just not logged in.
        let tampered = try await anonymous.send("GET", "/dashboard", body: nil, contentType: nil,
                                                headers: [("Cookie", cookie.dropLast(2) + "xx")])
        #expect(tampered.status == 200)
        #expect(tampered.text.contains("/dashboard/login"))

        let out = try await anonymous.send("POST", "/dashboard/logout", body: nil, contentType: nil)
        #expect(out.status == 303)
        #expect(out.header("Set-Cookie")?.contains("Max-Age=0") == true)
    }

    /// The page's queue buttons (DESIGN.md §14's dashboard controls): an operator's session
    /// pauses and resumes a queue; an admin's session, another origin or no session change nothing.
    @Test func anOperatorPausesAndResumesAQueueFromThePage() async throws {
        let f = try await APIFixture.make("dashqueue")
        defer { Task { await f.stop() } }
        let browser = try f.client()
        let form = "application/x-www-form-urlencoded"
        func session(_ token: String) async throws -> String {
            let r = try await browser.send("POST", "/dashboard/login", body: Array("token=\(token)".utf8), contentType: form)
            return String(try #require(r.header("Set-Cookie"), "\(r.status) \(r.text)").split(separator: ";")[0])
        }
        func post(_ path: String, _ cookie: String?, origin: String? = nil) async throws -> HTTPClient.Response {
            var headers: [(String, String)] = cookie.map { [("Cookie", $0)] } ?? []
            if let origin { headers.append(("Origin", origin)) }
            return try await browser.send("POST", path, body: nil, contentType: nil, headers: headers)
        }
        let admin = try f.client(try await f.token())
        #expect(try await admin.send("POST", "/v1/jobs", json: ["type": "noop", "queue": "mail", "delaySeconds": 0]).status == 202)
        let store = JobStore(pool: f.pool)

        let ops = try await session(try await f.token(tenant: "ops", scopes: [.operator]))
        let page = try await browser.send("GET", "/dashboard", body: nil, contentType: nil, headers: [("Cookie", ops)])
        #expect(page.text.contains("action=\"/dashboard/queues/mail/pause\""), "\(page.text.prefix(300))")
        let paused = try await post("/dashboard/queues/mail/pause", ops)
        #expect(paused.status == 303 && paused.header("Location") == "/dashboard", "\(paused.status) \(paused.text)")
        var controls = try await store.queueControls()
        #expect(controls.count == 1 && controls[0].paused && controls[0].updatedBy.hasPrefix("dashboard, api token "), "\(controls)")
        let after = try await browser.send("GET", "/dashboard", body: nil, contentType: nil, headers: [("Cookie", ops)])
        #expect(after.text.contains("action=\"/dashboard/queues/mail/resume\""))

        // Refused, changing nothing: an admin (not an operator), no session, another origin, a bad name, a GET.
        let tenantAdmin = try await session(try await f.token())
        let adminPage = try await browser.send("GET", "/dashboard", body: nil, contentType: nil, headers: [("Cookie", tenantAdmin)])
        #expect(adminPage.status == 200 && !adminPage.text.contains("/dashboard/queues/"))
        #expect(try await post("/dashboard/queues/mail/resume", tenantAdmin).status == 403)
        #expect(try await post("/dashboard/queues/mail/resume", nil).status == 403)
        #expect(try await post("/dashboard/queues/mail/resume", ops, origin: "https://evil.example").status == 403)
        #expect(try await post("/dashboard/queues/bad%20name/resume", ops).status == 400)
        #expect(try await browser.send("GET", "/dashboard/queues/mail/resume", body: nil, contentType: nil, headers: [("Cookie", ops)]).status == 405)
        controls = try await store.queueControls()
        #expect(controls.count == 1 && controls[0].paused)

        #expect(try await post("/dashboard/queues/mail/resume", ops).status == 303)
        controls = try await store.queueControls()
        #expect(controls.count == 1 && !controls[0].paused)
    }
}
