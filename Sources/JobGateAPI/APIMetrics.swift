import JobGateCore
import JobGateHTTP

/// The API's metrics (DESIGN.md §9): requests by route template and status with their
/// latency, and jobs submitted by type.
final class APIMetrics: Sendable {
    init() {}

    /// Records one answered request.
    func observeRequest(method: String, route: String, status: Int, seconds: Double) {}

    /// Counts newly created jobs.
    func jobsSubmitted(type: String, count: Int) {}
}

extension APIService {
    func metricsResponse() -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                     bytes: Array("# metrics registry pending\n".utf8))
    }
}
