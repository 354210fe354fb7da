import Foundation
import JobGateCrypto

/// The browser session behind `/dashboard`: a signed, expiring cookie made from an API token.
///
/// A browser cannot send `Authorization: Bearer`, so the operator pastes a token once into a
/// login form; the API checks it as for any request and answers with this cookie. The cookie
/// holds no secret: `base64url(payload) "." base64url(HMAC-SHA256(key, "jobgate-dashboard-session.v1." + payload))`,
/// payload `{"t":tenant,"s":[scopes],"e":expiry unix seconds}`. It is HttpOnly (scripts can't
/// read it), SameSite=Strict (no cross-site request carries it) and `Path=/dashboard`.
///
/// ## Wiring in the API (JobGateAPI must depend on JobGateDashboard)
///
/// Make one `DashboardSession` per process from a secret every API node shares, e.g.
/// `DashboardSession(secret: DashboardSession.deriveSecret(fromSigningKey: <current signing_keys.secret>))`,
/// so a cookie issued by one node is valid on all of them.
///
/// - `GET /dashboard` (no bearer token needed):
///   `session.verify(DashboardSession.cookie(named: DashboardSession.cookieName, in: request.headers["Cookie"]), now:)`.
///   Valid → `DashboardPage.render(try await DashboardData.load(pool:, now:, tenant: admin ? nil : tenant), now:)`,
///   200 `text/html; charset=utf-8`, `Cache-Control: no-store`. Invalid or missing →
///   200 with `DashboardSession.loginPage()` (401 would make some browsers show their own dialog).
///   A database error → 503 with `DashboardPage.unavailable()`.
/// - `POST /dashboard/login` (form body, `application/x-www-form-urlencoded`):
///   `DashboardSession.token(fromFormBody: request.body)` → authenticate it exactly like a bearer
///   token (API token or JWT). If it is valid and `DashboardSession.allows(scopes:)` (it has
///   `jobs:read` or `admin`): 303 `Location: /dashboard` with
///   `Set-Cookie: session.setCookieHeader(value: session.issue(tenant:scopes:ttl:now:), ttl:, secure:)`.
///   Otherwise 200 (or 401) with `loginPage(error: "That token is not valid or lacks jobs:read.")`.
///   Never log the body.
/// - `POST /dashboard/logout` (optional): 303 to `/dashboard` with `DashboardSession.clearCookieHeader(secure:)`.
///
/// Pass `secure: true` when the API is served over HTTPS (directly or behind a TLS proxy).
public struct DashboardSession: Sendable {
    /// The cookie's name.
    public static let cookieName = "jobgate_session"
    /// Default lifetime: 8 hours, a working day.
    public static let defaultTTL: TimeInterval = 8 * 3600
    /// The scopes that may read the dashboard.
    public static let readScopes: Set<String> = ["jobs:read", "admin"]

    private static let context = "jobgate-dashboard-session.v1."
    private let secret: [UInt8]

    /// A session signer and checker with `secret` (at least 16 bytes; 32 random bytes is right).
    public init(secret: [UInt8]) {
        precondition(secret.count >= 16, "a dashboard session secret needs at least 16 bytes")
        self.secret = secret
    }

    /// A secret for sessions derived from an output-URL signing key, so the two uses of the key
    /// can never be confused (a signature of one is never valid as the other).
    public static func deriveSecret(fromSigningKey key: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(key: key, message: "jobgate dashboard session key")
    }

    /// Whether a token with `scopes` may open the dashboard.
    public static func allows(scopes: some Sequence<String>) -> Bool {
        scopes.contains { readScopes.contains($0) }
    }

    /// A cookie value for `tenant` with `scopes`, valid for `ttl` seconds from `now`.
    public func issue(tenant: String, scopes: [String], ttl: TimeInterval = DashboardSession.defaultTTL, now: Date = Date()) -> String {
        let payload = Payload(t: tenant, s: scopes, e: Int64((now.timeIntervalSince1970 + ttl).rounded(.down)))
        let json = (try? JSONEncoder().encode(payload)) ?? Data()
        let body = Base64URL.encode(Array(json))
        return body + "." + Base64URL.encode(mac(body))
    }

    /// The tenant and scopes of a cookie value this secret signed and that has not expired; nil otherwise.
    public func verify(_ cookie: String?, now: Date = Date()) -> (tenant: String, scopes: [String])? {
        guard let cookie, cookie.utf8.count <= 4096 else { return nil }
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let sig = Base64URL.decode(parts[1]) else { return nil }
        guard ConstantTime.equals(sig, mac(String(parts[0]))) else { return nil }
        guard let json = Base64URL.decode(parts[0]),
              let payload = try? JSONDecoder().decode(Payload.self, from: Data(json)),
              Double(payload.e) > now.timeIntervalSince1970
        else { return nil }
        return (payload.t, payload.s)
    }

    /// The `Set-Cookie` value for a session cookie (`Max-Age` = `ttl`).
    public func setCookieHeader(value: String, ttl: TimeInterval = DashboardSession.defaultTTL, secure: Bool) -> String {
        "\(Self.cookieName)=\(value); Max-Age=\(Int(ttl)); Path=/dashboard; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that removes the session cookie.
    public static func clearCookieHeader(secure: Bool) -> String {
        "\(Self.cookieName)=; Max-Age=0; Path=/dashboard; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The value of cookie `name` in a `Cookie` request header (`a=1; b=2`), if present.
    public static func cookie(named name: String = cookieName, in header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                return kv[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The `token` field of a login form body (`application/x-www-form-urlencoded`), decoded and trimmed.
    public static func token(fromFormBody body: [UInt8]) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        for field in text.split(separator: "&") {
            let kv = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, kv[0] == "token" else { continue }
            let raw = kv[1].replacingOccurrences(of: "+", with: " ")
            guard let value = raw.removingPercentEncoding?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty
            else { return nil }
            return value.hasPrefix("Bearer ") ? String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces) : value
        }
        return nil
    }

    private func mac(_ body: String) -> [UInt8] {
        HMACSHA256.authenticate(key: secret, message: Self.context + body)
    }

    private struct Payload: Codable {
        var t: String
        var s: [String]
        var e: Int64
    }
}
