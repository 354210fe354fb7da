import Foundation
import JobGateCore
import JobGateDashboard
import JobGateHTTP
import JobGatePostgres

/// `/dashboard`: the operator's page behind a browser-friendly login. A token with
/// `jobs:read` or `admin` is pasted once into a form and exchanged for a short-lived,
/// HttpOnly, signed session cookie; the token itself never reaches the browser's storage.
extension APIService {
    func dashboard(_ request: HTTPRequest, _ exchange: inout Exchange) async throws -> HTTPResponse {
        try await htmlWhenUnavailable(request) {
            let session = try await dashboardSession()
            guard let who = session.verify(DashboardSession.cookie(in: request.headers["Cookie"])) else {
                return html(DashboardPage.loginPage())
            }
            exchange.tenant = who.tenant
            // An admin sees every tenant; a jobs:read token its own.
            let data = try await DashboardData.load(pool: pool, tenant: who.scopes.contains(Scope.admin.rawValue) ? nil : who.tenant)
            return html(DashboardPage.render(data, now: Date()))
        }
    }

    func dashboardLogin(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await htmlWhenUnavailable(request) { try await login(request) }
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
        let scopes = principal.scopes.map(\.rawValue)
        guard DashboardSession.allows(scopes: scopes) else {
            return html(DashboardPage.loginPage(error: "That token lacks the jobs:read or admin scope."), status: 401)
        }
        let session = try await dashboardSession()
        var headers = HTTPHeaders()
        headers.add("Location", "/dashboard")
        headers.add("Set-Cookie", session.setCookieHeader(value: session.issue(tenant: principal.tenant, scopes: scopes),
                                                          secure: configuration.secureCookies))
        return HTTPResponse(status: 303, headers: headers, body: .bytes([]))
    }

    func dashboardLogout() -> HTTPResponse {
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
