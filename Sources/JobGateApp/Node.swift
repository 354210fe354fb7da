import JobGateAPI
import JobGateDashboard
import JobGatePostgres

/// How the command line assembles a node's parts, in one place for `serve`, `up` and the tests.
public enum Node {
    /// An API server over `pool` with the dashboard mounted beside the API's routes (neither
    /// module knows the other; this is where they meet). Nothing is bound until `start()`.
    /// `readPool` (a standby) serves status, listings, events and the dashboard when given.
    public static func apiServer(configuration: APIConfiguration, pool: PostgresPool, readPool: PostgresPool? = nil) -> APIServer {
        let server = APIServer(configuration: configuration, pool: pool, readPool: readPool)
        let service = server.service
        let settings = DashboardRoutes.Settings(publicBaseURL: configuration.publicBaseURL, secureCookies: configuration.secureCookies,
                                                retryAfterSeconds: configuration.databaseRetryAfterSeconds)
        service.mount(DashboardRoutes(pool: readPool ?? pool, authenticator: service.authenticator, settings: settings,
                                      signingSecret: { try await service.signingSecret() }))
        return server
    }
}
