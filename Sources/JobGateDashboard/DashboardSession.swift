import Foundation
import JobGateAuth
import JobGateCrypto

/// The browser session behind `/dashboard`: a signed, expiring cookie made from an API token.
///
/// A browser cannot send `Authorization: Bearer`, so the operator pastes a token once into a
/// login form; the API checks it as for any request and answers with this cookie. The cookie
/// holds no secret: `base64url(payload) "." base64url(HMAC-SHA256(key, "jobgate-dashboard-session.v2." + payload))`,
/// payload `{"t":tenant,"s":[scopes],"e":expiry unix seconds,"k":API token id}`. It is HttpOnly (scripts can't
/// read it), SameSite=Strict (no cross-site request carries it) and `Path=/dashboard`.
///
/// A session ends when the credential that opened it does (DESIGN.md §13): `k` names the API
/// token, which the API looks up (through its token cache) on every dashboard request, so a
/// revoked or expired token ends the session within the cache's lifetime; a JWT's session
/// (no `k`) never outlives the JWT's `exp`, which caps `e`.
///
/// ## Wiring in the API (JobGateAPI must depend on JobGateDashboard)
///
/// Make one `DashboardSession` per process from a secret every API node shares, e.g.
/// `DashboardSession(secret: DashboardSession.deriveSecret(fromSigningKey: <current signing_keys.secret>))`,
/// so a cookie issued by one node is valid on all of them.
///
/// - `GET /dashboard` (no bearer token needed):
///   `session.verify(DashboardSession.cookie(named: DashboardSession.cookieName, in: request.headers["Cookie"]), now:)`.
///   Valid (and its token still usable) → `DashboardPage.render(try await DashboardData.load(pool:, now:, tenant: operator ? nil : tenant), now:)`,
///   200 `text/html; charset=utf-8`, `Cache-Control: no-store`. Invalid or missing →
///   200 with `DashboardSession.loginPage()` (401 would make some browsers show their own dialog).
///   A database error → 503 with `DashboardPage.unavailable()`.
/// - `POST /dashboard/login` (form body, `application/x-www-form-urlencoded`):
///   `DashboardSession.token(fromFormBody: request.body)` → authenticate it exactly like a bearer
///   token (API token or JWT). If it is valid and `DashboardSession.allows(scopes:)` (it has
///   `jobs:read`, `admin` or `operator`) and the POST is same-origin: 303 `Location: /dashboard` with
///   `Set-Cookie: session.setCookieHeader(value: session.issue(tenant:scopes:tokenID:ttl:now:), ttl:, secure:)`.
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
    /// The scopes that may read the dashboard (`operator` sees every tenant, the others their own).
    public static let readScopes: Set<Scope> = [.read, .admin, .operator]

    /// What a valid session cookie says.
    public struct Claims: Sendable, Equatable {
        /// The tenant of the credential that opened the session.
        public var tenant: String
        /// Its scopes at login.
        public var scopes: [String]
        /// The API token that opened it (lowercase UUID text), nil for a JWT.
        public var tokenID: String?
        /// When the session ends at the latest.
        public var expiresAt: Date
    }

    // v2 added the token id: a v1 cookie (which could not be tied to its token) is not accepted.
    private static let context = "jobgate-dashboard-session.v2."
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
    public static func allows(scopes: some Sequence<Scope>) -> Bool {
        scopes.contains { readScopes.contains($0) }
    }

    /// A cookie value for `tenant` with `scopes`, opened by API token `tokenID` (nil for a JWT),
    /// valid for `ttl` seconds from `now`.
    public func issue(tenant: String, scopes: [String], tokenID: String? = nil, ttl: TimeInterval = DashboardSession.defaultTTL,
                      now: Date = Date()) -> String {
        let payload = Payload(t: tenant, s: scopes, e: Int64((now.timeIntervalSince1970 + ttl).rounded(.down)), k: tokenID)
        let json = (try? JSONEncoder().encode(payload)) ?? Data()
        let body = Base64URL.encode(Array(json))
        return body + "." + Base64URL.encode(mac(body))
    }

    /// What a cookie value this secret signed and that has not expired says; nil otherwise. The
    /// caller still checks that `tokenID`'s token is usable.
    public func verify(_ cookie: String?, now: Date = Date()) -> Claims? {
        guard let cookie, cookie.utf8.count <= 4096 else { return nil }
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let sig = Base64URL.decode(parts[1]) else { return nil }
        guard ConstantTime.equals(sig, mac(String(parts[0]))) else { return nil }
        guard let json = Base64URL.decode(parts[0]),
              let payload = try? JSONDecoder().decode(Payload.self, from: Data(json)),
              Double(payload.e) > now.timeIntervalSince1970
        else { return nil }
        return Claims(tenant: payload.t, scopes: payload.s, tokenID: payload.k,
                      expiresAt: Date(timeIntervalSince1970: Double(payload.e)))
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
        var k: String?
    }
}
