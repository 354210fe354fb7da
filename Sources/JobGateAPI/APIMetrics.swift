import JobGateCore
import JobGateHTTP
import Synchronization

/// The API's metrics (DESIGN.md §9) through the shared registry: requests by route
/// template, method and status with their latency, and jobs submitted by type and queue.
final class APIMetrics: Sendable {
    let metrics: JobGateMetrics

    /// One request's label values; the route is a template, so there are few of these.
    private struct RequestLabels: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    /// The counter and histogram of each label combination seen, found with one lookup per
    /// request instead of one per family (each of which builds and hashes a label array).
    private let children = Mutex<[RequestLabels: (Counter, Histogram)]>([:])

    init(_ metrics: JobGateMetrics) {
        self.metrics = metrics
    }

    /// Records one answered request.
    func observeRequest(method: String, route: String, status: Int, seconds: Double) {
        // Methods outside the API's own become one label value, so junk requests cannot grow the series.
        let m = method == "GET" || method == "POST" || method == "HEAD" ? method : "OTHER"
        let key = RequestLabels(route: route, method: m, status: status)
        let (count, duration) = children.withLock { known in
            if let c = known[key] { return c }
            let c = (metrics.httpRequests.labels(route, m, String(status)), metrics.httpRequestDuration.labels(route, m, String(status)))
            known[key] = c
            return c
        }
        count.inc()
        duration.observe(seconds)
    }

    /// Counts newly created jobs (idempotent replays are not counted).
    func jobsSubmitted(type: String, queue: String, count: Int) {
        metrics.job(type: type, queue: queue).submitted.inc(by: Double(count))
    }
}

extension APIService {
    func metricsResponse() async -> HTTPResponse {
        let text = await metrics.metrics.registry.scrape()
        return HTTPResponse(status: 200, contentType: MetricsRegistry.contentType, bytes: Array(text.utf8))
    }
}
