import JobGateAuth

/// The API's operations: one per route of DESIGN.md §7.
public enum RouteID: String, Sendable, CaseIterable {
    case submitJob, submitBatch, listJobs, getJob, jobEvents, cancelJob, retryJob
    case listQueues, updateQueue, pauseQueue, resumeQueue
    case listTenants, updateTenant
    case createSchedule, listSchedules, getSchedule, updateSchedule, deleteSchedule
    case output, referenceSubmit, referenceStatus
    case healthz, readyz, metrics, openapi
}

/// One route: a method, a path template such as `/v1/jobs/{id}`, and its operation.
public struct Route: Sendable, Equatable {
    /// `GET`, `POST`…
    public var method: String
    /// The path template; `{name}` matches one non-empty segment.
    public var template: String
    /// What it does.
    public var id: RouteID
    /// The scope a caller needs, or nil for routes without authentication.
    public var scope: Scope?

    /// The template's segments as bytes, with `nil` for a `{parameter}`.
    let segments: [[UInt8]?]

    /// A route.
    public init(_ method: String, _ template: String, _ id: RouteID, scope: Scope?) {
        self.method = method
        self.template = template
        self.id = id
        self.scope = scope
        self.segments = template.split(separator: "/", omittingEmptySubsequences: false).map { t in
            t.first == "{" && t.last == "}" ? nil : Array(t.utf8)
        }
    }

    /// Whether it is one of the reference sample's routes, which answer as API Gateway did.
    public var isReference: Bool { id == .referenceSubmit || id == .referenceStatus }

    public static func == (a: Route, b: Route) -> Bool {
        a.method == b.method && a.template == b.template && a.id == b.id && a.scope == b.scope
    }
}

/// Matches a method and path to a route, giving the path parameters; tells 404 from 405.
public struct Router: Sendable {
    /// The outcome of matching a request.
    public enum Match: Sendable {
        /// A route and the values of its `{}` segments, in order.
        case found(Route, parameters: [String])
        /// No template matches the path.
        case notFound
        /// Templates match the path, but not with this method; the allowed methods, and the
        /// routes of the path.
        case methodNotAllowed(allowed: [String], routes: [Route])
    }

    /// Every route, in matching order (literal segments before parameters).
    public let routes: [Route]

    /// A router over `routes`.
    public init(routes: [Route] = Router.api) {
        self.routes = routes
    }

    /// The routes of DESIGN.md §7 (and §14's schedules).
    public static let api: [Route] = [
        Route("POST", "/v1/jobs", .submitJob, scope: .submit),
        Route("GET", "/v1/jobs", .listJobs, scope: .read),
        Route("POST", "/v1/jobs/batch", .submitBatch, scope: .submit),
        Route("GET", "/v1/jobs/{id}", .getJob, scope: .read),
        Route("GET", "/v1/jobs/{id}/events", .jobEvents, scope: .read),
        Route("POST", "/v1/jobs/{id}/cancel", .cancelJob, scope: .cancel),
        Route("POST", "/v1/jobs/{id}/retry", .retryJob, scope: .submit),
        Route("POST", "/v1/schedules", .createSchedule, scope: .submit),
        Route("GET", "/v1/schedules", .listSchedules, scope: .read),
        Route("GET", "/v1/schedules/{name}", .getSchedule, scope: .read),
        Route("PUT", "/v1/schedules/{name}", .updateSchedule, scope: .submit),
        Route("DELETE", "/v1/schedules/{name}", .deleteSchedule, scope: .submit),
        Route("GET", "/v1/outputs/{id}", .output, scope: nil),
        Route("GET", "/v1/queues", .listQueues, scope: .operator),
        Route("PUT", "/v1/queues/{name}", .updateQueue, scope: .operator),
        Route("POST", "/v1/queues/{name}/pause", .pauseQueue, scope: .operator),
        Route("POST", "/v1/queues/{name}/resume", .resumeQueue, scope: .operator),
        Route("GET", "/v1/tenants", .listTenants, scope: .operator),
        Route("PUT", "/v1/tenants/{name}", .updateTenant, scope: .operator),
        Route("POST", "/submit-job-request", .referenceSubmit, scope: .submit),
        Route("GET", "/job-status/{job-id}", .referenceStatus, scope: .read),
        Route("GET", "/healthz", .healthz, scope: nil),
        Route("GET", "/readyz", .readyz, scope: nil),
        Route("GET", "/metrics", .metrics, scope: nil),
        Route("GET", "/openapi.json", .openapi, scope: nil),
        // The browser routes under /dashboard are the dashboard's own, mounted beside these.
    ]

    /// Matches `method` and `path`. `HEAD` is served by `GET` routes. Only the most specific
    /// templates matching the path count (most literal segments), so `/v1/jobs/batch` is its own
    /// resource and not also `/v1/jobs/{id}`.
    public func match(method: String, path: String) -> Match {
        // Runs for every request: one pass over the routes on the path's bytes, without
        // allocating per route.
        let bytes = Array(path.utf8)
        var parts: [Range<Int>] = []
        var from = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "/") {
            parts.append(from..<i)
            from = i + 1
        }
        parts.append(from..<bytes.count)
        var most = -1
        var hit: Route?
        var specific: [Route] = []
        for route in routes {
            guard let literals = Self.literalCount(route.segments, bytes, parts) else { continue }
            if literals > most {
                most = literals
                hit = nil
                specific.removeAll(keepingCapacity: true)
            }
            guard literals == most else { continue }
            specific.append(route)
            if hit == nil, route.method == method || (method == "HEAD" && route.method == "GET") { hit = route }
        }
        if let hit {
            let parameters = hit.segments.indices.filter { hit.segments[$0] == nil }.map { String(decoding: bytes[parts[$0]], as: UTF8.self) }
            return .found(hit, parameters: parameters)
        }
        if specific.isEmpty { return .notFound }
        var allowed: [String] = []
        for route in specific where !allowed.contains(route.method) { allowed.append(route.method) }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: allowed, routes: specific)
    }

    /// How many literal segments match, or nil when the path does not fit the template.
    private static func literalCount(_ template: [[UInt8]?], _ bytes: [UInt8], _ parts: [Range<Int>]) -> Int? {
        guard template.count == parts.count else { return nil }
        var literals = 0
        for i in template.indices {
            if let literal = template[i] {
                guard bytes[parts[i]].elementsEqual(literal) else { return nil }
                literals += 1
            } else if parts[i].isEmpty {
                return nil
            }
        }
        return literals
    }
}
