import Foundation
import JobGateAuth
import JobGateCrypto
import JobGateDashboard
import Testing

struct DashboardSessionTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)
    let session = DashboardSession(secret: Array(repeating: 7, count: 32))

    @Test func issuedCookieVerifiesUntilItExpires() throws {
        let cookie = session.issue(tenant: "acme", scopes: ["jobs:read"], ttl: 600, now: Self.now)
        let got = try #require(session.verify(cookie, now: Self.now.addingTimeInterval(599)))
        #expect(got.tenant == "acme" && got.scopes == ["jobs:read"])
        #expect(session.verify(cookie, now: Self.now.addingTimeInterval(600)) == nil)
        // Compact and cookie-safe: base64url characters and one dot.
        #expect(cookie.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) })
        #expect(cookie.count < 200)
    }

    @Test func tamperedForgedOrForeignCookiesAreRefused() {
        let cookie = session.issue(tenant: "acme", scopes: ["jobs:read"], ttl: 600, now: Self.now)
        let parts = cookie.split(separator: ".").map(String.init)
        // Another tenant and scope with the old signature.
        let forged = Base64URL.encode(Array(#"{"t":"other","s":["admin"],"e":9999999999}"#.utf8)) + "." + parts[1]
        #expect(session.verify(forged, now: Self.now) == nil)
        // One flipped character of the signature.
        var sig = Array(parts[1])
        sig[3] = sig[3] == "A" ? "B" : "A"
        #expect(session.verify(parts[0] + "." + String(sig), now: Self.now) == nil)
        // Signed with another secret.
        let other = DashboardSession(secret: Array(repeating: 8, count: 32))
        #expect(other.verify(cookie, now: Self.now) == nil)
        for junk in [nil, "", ".", "abc", "a.b.c", parts[0], String(repeating: "a", count: 5000)] {
            #expect(session.verify(junk, now: Self.now) == nil)
        }
    }

    @Test func setCookieHeaderHasTheSafeAttributes() {
        let h = session.setCookieHeader(value: "v.s", ttl: 3600, secure: false)
        #expect(h == "jobgate_session=v.s; Max-Age=3600; Path=/dashboard; HttpOnly; SameSite=Strict")
        #expect(session.setCookieHeader(value: "v.s", ttl: 60, secure: true).hasSuffix("; Secure"))
        #expect(DashboardSession.clearCookieHeader(secure: false).hasPrefix("jobgate_session=; Max-Age=0;"))
    }

    @Test func cookieAndFormParsing() {
        #expect(DashboardSession.cookie(in: "a=1; jobgate_session=x.y ;b=2") == "x.y")
        #expect(DashboardSession.cookie(in: "jobgate_sessionx=1") == nil)
        #expect(DashboardSession.cookie(in: nil) == nil)
        #expect(DashboardSession.token(fromFormBody: Array("token=jg_ab%2Bc+d%3D&x=1".utf8)) == "jg_ab+c d=")
        #expect(DashboardSession.token(fromFormBody: Array("x=1&token=Bearer+abc%20".utf8)) == "abc")
        #expect(DashboardSession.token(fromFormBody: Array("token=".utf8)) == nil)
        #expect(DashboardSession.token(fromFormBody: Array("other=1".utf8)) == nil)
        #expect(DashboardSession.allows(scopes: [Scope.submit, .read]))
        #expect(DashboardSession.allows(scopes: [Scope.admin]))
        #expect(!DashboardSession.allows(scopes: [Scope.submit, .cancel]))
    }

    @Test func derivedSecretDiffersFromTheSigningKey() {
        let key = Array(repeating: UInt8(1), count: 32)
        let derived = DashboardSession.deriveSecret(fromSigningKey: key)
        #expect(derived.count == 32 && derived != key)
    }
}
