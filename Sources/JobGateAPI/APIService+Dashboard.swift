import Foundation
import JobGateCore
import JobGateDashboard
import JobGateHTTP
import JobGatePostgres

/// `/dashboard`: the operator's page behind a browser-friendly login. A token with
/// `jobs:read`, `admin` or `operator` is pasted once into a form and exchanged for a short-lived,
/// HttpOnly, signed session cookie; the token itself never reaches the browser's storage.
/// Only `operator` sees every tenant (DESIGN.md §13); the session ends with its token.
extension APIService {
    func dashboard(_ request: HTTPRequest, _ exchange: inout Exchange) async throws -> HTTPResponse {
        try await htmlWhenUnavailable(request) {
            guard let who = try await sessionPrincipal(request) else {
                return html(DashboardPage.loginPage())
            }
            exchange.tenant = who.tenant
            // An operator sees every tenant; anyone else (admin included) their own.
            let data = try await DashboardData.load(pool: pool, tenant: who.isOperator ? nil : who.tenant)
            return html(DashboardPage.render(data, now: Date()))
        }
    }

    func dashboardLogin(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard Self.isSameOrigin(request, publicBaseURL: configuration.publicBaseURL) else { return crossOriginRefusal() }
        return try await htmlWhenUnavailable(request) { try await login(request) }
    }

    /// Whether `path` is one of the dashboard's, whose every response gets `DashboardPage.securityHeaders`.
    static func isDashboardPath(_ path: String) -> Bool {
        path == "/dashboard" || path.hasPrefix("/dashboard/")
    }

    /// `response` with the dashboard's security headers (CSP, framing, sniffing, referrer).
    static func withDashboardHeaders(_ response: HTTPResponse) -> HTTPResponse {
        var response = response
        for (name, value) in DashboardPage.securityHeaders { response.headers.set(name, value) }
        return response
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
        return DashboardSession.allows(scopes: principal.scopes.map(\.rawValue)) ? principal : nil
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
        } catch where databaseError(error, requestID: request.requestID) != nil {
            return unavailablePage()
        }
    }

    private func unavailablePage() -> HTTPResponse {
        var response = html(DashboardPage.unavailable(), status: 503)
        response.headers.add("Retry-After", String(configuration.databaseRetryAfterSeconds))
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
        guard DashboardSession.allows(scopes: scopes) else {
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
                                                          ttl: ttl, secure: configuration.secureCookies))
        return HTTPResponse(status: 303, headers: headers, body: .bytes([]))
    }

    func dashboardLogout(_ request: HTTPRequest) -> HTTPResponse {
        guard Self.isSameOrigin(request, publicBaseURL: configuration.publicBaseURL) else { return crossOriginRefusal() }
        var headers = HTTPHeaders()
        headers.add("Location", "/dashboard")
        headers.add("Set-Cookie", DashboardSession.clearCookieHeader(secure: configuration.secureCookies))
        return HTTPResponse(status: 303, headers: headers, body: .bytes([]))
    }

    private func dashboardSession() async throws -> DashboardSession {
        DashboardSession(secret: DashboardSession.deriveSecret(fromSigningKey: try await signer.currentSecret()))
    }

    private func html(_ page: String, status: Int = 200) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Cache-Control", "no-store")
        return HTTPResponse(status: status, contentType: DashboardPage.contentType, bytes: Array(page.utf8), headers: headers)
    }
}
