import Foundation
import JobGateAPI
import JobGateCore
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
}
