/// A set of routes mounted beside an application's own on one server: the dashboard beside
/// the API, mounted by the command line, so neither module imports the other. The server's
/// handler asks its mounts first; a mount serves every method on its paths (405 and 404 for
/// them are its own), and its errors go through the handler's error mapping like any other.
public protocol HTTPMount: Sendable {
    /// Whether `path` is this mount's.
    func serves(path: String) -> Bool

    /// Headers every response for one of its paths carries, errors included (a page's
    /// security headers).
    var responseHeaders: [(name: String, value: String)] { get }

    /// The response to a request for one of its paths; `note` takes the route template and
    /// the tenant for the access log and metrics.
    func respond(to request: HTTPRequest, note: inout RequestNote) async throws -> HTTPResponse
}

/// What a handler learned about a request, for its access-log line and metrics.
public struct RequestNote: Sendable {
    /// The route template (`/v1/jobs/{id}`), or `unmatched`.
    public var route = "unmatched"
    /// The authenticated tenant, if any.
    public var tenant: String?

    public init() {}
}
