import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem

/// `/dashboard`: the operator's page behind a browser-friendly login, mounted beside the API
/// by the command line (`APIService.mount`). A token with `jobs:read`, `admin` or `operator`
/// is pasted once into a form and exchanged for a short-lived, HttpOnly, signed session
/// cookie; the token itself never reaches the browser's storage. Only `operator` sees every
/// tenant (DESIGN.md §13); the session ends with its token.
public struct DashboardRoutes: HTTPMount {
    /// What the dashboard needs to know about the server it is mounted on.
    public struct Settings: Sendable {
        /// The server's public base URL (`--public-url`), an origin a login POST may come from.
        public var publicBaseURL: String?
        /// Marks the session cookie `Secure` (served over HTTPS).
        public var secureCookies = false
        /// `Retry-After` of the 503 page.
        public var retryAfterSeconds = 2

        public init(publicBaseURL: String? = nil, secureCookies: Bool = false, retryAfterSeconds: Int = 2) {
            self.publicBaseURL = publicBaseURL
            self.secureCookies = secureCookies
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    let pool: PostgresPool
    let authenticator: Authenticator
    let signingSecret: @Sendable () async throws -> [UInt8]
    let settings: Settings
    private let unavailableLog = RateLimitedLog(interval: .seconds(5))

    /// The dashboard over `pool`, logging in through `authenticator`, its session key derived
    /// from the current output signing key's secret (`signingSecret`), so every API node
    /// accepts every node's sessions.
    public init(pool: PostgresPool, authenticator: Authenticator, settings: Settings,
                signingSecret: @escaping @Sendable () async throws -> [UInt8]) {
        self.pool = pool
        self.authenticator = authenticator
        self.settings = settings
        self.signingSecret = signingSecret
    }

    /// The method and path of each route this mount serves (the API's OpenAPI document lists them too).
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/dashboard"), ("POST", "/dashboard/login"), ("POST", "/dashboard/logout"),
        ("POST", "/dashboard/queues/{name}/pause"), ("POST", "/dashboard/queues/{name}/resume"),
    ]

    public func serves(path: String) -> Bool {
        path == "/dashboard" || path.hasPrefix("/dashboard/")
    }

    /// The security headers (CSP, framing, sniffing, referrer) of every dashboard response.
    public var responseHeaders: [(name: String, value: String)] { DashboardPage.securityHeaders }

    public func respond(to request: HTTPRequest, note: inout RequestNote) async throws -> HTTPResponse {
        let get = request.method == "GET" || request.method == "HEAD"
        switch request.path {
        case "/dashboard":
            note.route = "/dashboard"
            guard get else { throw APIError.methodNotAllowed(["GET", "HEAD"]) }
            return try await page(request, &note)
        case "/dashboard/login":
            note.route = "/dashboard/login"
            guard request.method == "POST" else { throw APIError.methodNotAllowed(["POST"]) }
            guard Self.isSameOrigin(request, publicBaseURL: settings.publicBaseURL) else { return crossOriginRefusal() }
            return try await htmlWhenUnavailable(request) { try await login(request) }
        case "/dashboard/logout":
            note.route = "/dashboard/logout"
            guard request.method == "POST" else { throw APIError.methodNotAllowed(["POST"]) }
            guard Self.isSameOrigin(request, publicBaseURL: settings.publicBaseURL) else { return crossOriginRefusal() }
            var headers = HTTPHeaders()
            headers.add("Location", "/dashboard")
            headers.add("Set-Cookie", DashboardSession.clearCookieHeader(secure: settings.secureCookies))
            return HTTPResponse(status: 303, headers: headers, body: .bytes([]))
        default:
            guard let (queue, pause) = Self.queueControlPath(request.path) else { throw APIError.routeNotFound }
            note.route = pause ? "/dashboard/queues/{name}/pause" : "/dashboard/queues/{name}/resume"
            guard request.method == "POST" else { throw APIError.methodNotAllowed(["POST"]) }
            guard Self.isSameOrigin(request, publicBaseURL: settings.publicBaseURL) else {
                return html(DashboardPage.loginPage(error: "That change did not come from this server's own page, so it was refused."), status: 403)
            }
            return try await htmlWhenUnavailable(request) { try await setQueuePaused(queue, pause, request, &note) }
        }
    }

    /// `/dashboard/queues/{name}/pause` or `…/resume`: the queue name and whether to pause.
    static func queueControlPath(_ path: String) -> (String, Bool)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[1] == "dashboard", parts[2] == "queues", !parts[3].isEmpty,
              parts[4] == "pause" || parts[4] == "resume" else { return nil }
        return (String(parts[3]), parts[4] == "pause")
    }

    /// The page's pause and resume buttons: an operator's session only (a queue is shared by
    /// every tenant), the same check as `POST /v1/queues/{name}/pause`.
    private func setQueuePaused(_ queue: String, _ pause: Bool, _ request: HTTPRequest, _ note: inout RequestNote) async throws -> HTTPResponse {
        guard let who = try await sessionPrincipal(request) else {
            return html(DashboardPage.loginPage(error: "Sign in again: the session ended."), status: 403)
        }
        note.tenant = who.tenant
        guard who.isOperator else {
            return html(DashboardPage.loginPage(error: "Pausing and resuming queues takes the operator scope."), status: 403)
        }
        guard QueueName.isValid(queue) else {
            return html(DashboardPage.loginPage(error: "That is not a queue name."), status: 400)
        }
        let by: String
        switch who.kind {
        case .apiToken(let id): by = "dashboard, api token \(id)"
        case .jwt(let subject): by = "dashboard, jwt \(subject ?? "(no subject)")"
        }
        try await JobStore(pool: pool).setQueueControl(queue, paused: pause, by: by)
        var headers = HTTPHeaders()
        headers.add("Location", "/dashboard")
        return HTTPResponse(status: 303, headers: headers, body: .bytes([]))
    }

    private func page(_ request: HTTPRequest, _ note: inout RequestNote) async throws -> HTTPResponse {
        try await htmlWhenUnavailable(request) {
            guard let who = try await sessionPrincipal(request) else {
                return html(DashboardPage.loginPage())
            }
            note.tenant = who.tenant
            // An operator sees every tenant; anyone else (admin included) their own.
            var data = try await DashboardData.load(pool: pool, tenant: who.isOperator ? nil : who.tenant)
            data.canControlQueues = who.isOperator
            return html(DashboardPage.render(data, now: Date()))
        }
    }

    /// The caller behind the request's session cookie while the credential that opened it is
    /// still valid: an API token is looked up again (through the authenticator's short cache),
    /// so revoking or expiring it ends the session; a JWT session carries its tenant and scopes
    /// and ends at the JWT's `exp` at the latest (the cookie's expiry).
    private func sessionPrincipal(_ request: HTTPRequest) async throws -> Principal? {
        guard let claims = try await dashboardSession().verify(DashboardSession.cookie(in: request.headers["Cookie"])) else {
            return nil
        }
        let principal: Principal
        if let tokenText = claims.tokenID {
            guard let id = UUIDText.parse(tokenText), let p = try await authenticator.principal(forTokenID: id) else { return nil }
            principal = p
        } else {
            guard let tenant = TenantName(claims.tenant) else { return nil }
            principal = Principal(tenant: tenant, scopes: Set(claims.scopes.compactMap(Scope.init(rawValue:))),
                                  kind: .jwt(subject: nil), expiresAt: claims.expiresAt)
        }
        return DashboardSession.allows(scopes: principal.scopes) ? principal : nil
    }

    /// Whether a browser form POST comes from this server's own page: `Sec-Fetch-Site` must not say
    /// `cross-site` or `same-site`, and an `Origin` must be this server (the request's `Host`, or
    /// the configured public URL). A request with neither header is not from a browser that
    /// could be tricked into sending it (curl, scripts), and passes.
    static func isSameOrigin(_ request: HTTPRequest, publicBaseURL: String?) -> Bool {
        if let site = request.headers["Sec-Fetch-Site"] {
            let s = ASCII.trimmed(Substring(site))
            if ASCII.equalsIgnoringCase(s, "cross-site") || ASCII.equalsIgnoringCase(s, "same-site") { return false }
        }
        guard let originHeader = request.headers["Origin"] else { return true }
        let origin = ASCII.trimmed(Substring(originHeader))
        // "null" (sandboxed frames, data: URLs) and anything without a scheme are another origin.
        guard let sep = origin.range(of: "://") else { return false }
        let scheme = origin[..<sep.lowerBound]
        guard ASCII.equalsIgnoringCase(scheme, "http") || ASCII.equalsIgnoringCase(scheme, "https") else { return false }
        let authority = origin[sep.upperBound...]
        if let host = request.headers["Host"], !authority.isEmpty, ASCII.equalsIgnoringCase(authority, ASCII.trimmed(Substring(host))) {
            return true
        }
        if let base = publicBaseURL {
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            return ASCII.equalsIgnoringCase(origin, trimmed)
        }
        return false
    }

    /// 403 for a login or logout POST from another origin (login CSRF): the login page, no cookie.
    private func crossOriginRefusal() -> HTTPResponse {
        html(DashboardPage.loginPage(error: "This sign-in did not come from this server's own page, so it was refused."), status: 403)
    }

    /// The browser's pages answer a database the API would answer 503 for (unreachable, or
    /// past its statement timeout) with the HTML 503 page and `Retry-After`, wherever on the
    /// way the database was needed, not the API's JSON error.
    private func htmlWhenUnavailable(_ request: HTTPRequest, _ body: () async throws -> HTTPResponse) async throws -> HTTPResponse {
        do {
            return try await body()
        } catch let e as PostgresError where e.code == .cancelled || e.isUnavailable {
            if unavailableLog.shouldLog() {
                Log.warn("database unavailable or too slow; answering the 503 page", ["request.id": request.requestID, "error": e.description])
            }
            return unavailablePage()
        }
    }

    private func unavailablePage() -> HTTPResponse {
        var response = html(DashboardPage.unavailable(), status: 503)
        response.headers.add("Retry-After", String(settings.retryAfterSeconds))
        return response
    }

    private func login(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let token = DashboardSession.token(fromFormBody: request.body) else {
            return html(DashboardPage.loginPage(error: "Paste a token."), status: 401)
        }
        let principal: Principal
        do {
            principal = try await authenticator.authenticate("Bearer " + token)
        } catch let e as APIError where e.status == 401 {
            return html(DashboardPage.loginPage(error: "That token is invalid, expired or revoked."), status: 401)
        }
        let scopes = principal.scopes.map(\.rawValue).sorted()
        guard DashboardSession.allows(scopes: principal.scopes) else {
            return html(DashboardPage.loginPage(error: "That token lacks the jobs:read, admin or operator scope."), status: 401)
        }
        // Never longer than the credential: the JWT's exp or the API token's expiry.
        var ttl = DashboardSession.defaultTTL
        if let end = principal.expiresAt { ttl = min(ttl, end.timeIntervalSinceNow.rounded(.down)) }
        guard ttl >= 1 else {
            return html(DashboardPage.loginPage(error: "That token is invalid, expired or revoked."), status: 401)
        }
        var tokenID: String?
        if case .apiToken(let id) = principal.kind { tokenID = id }
        let session = try await dashboardSession()
        var headers = HTTPHeaders()
        headers.add("Location", "/dashboard")
        headers.add("Set-Cookie", session.setCookieHeader(value: session.issue(tenant: principal.tenant, scopes: scopes, tokenID: tokenID, ttl: ttl),
                                                          ttl: ttl, secure: settings.secureCookies))
        return HTTPResponse(status: 303, headers: headers, body: .bytes([]))
    }

    private func dashboardSession() async throws -> DashboardSession {
        DashboardSession(secret: DashboardSession.deriveSecret(fromSigningKey: try await signingSecret()))
    }

    private func html(_ page: String, status: Int = 200) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Cache-Control", "no-store")
        return HTTPResponse(status: status, contentType: DashboardPage.contentType, bytes: Array(page.utf8), headers: headers)
    }
}
