import JobGateCore
import JobGateHTTP
import JobGatePrometheus

/// The API's metrics (DESIGN.md §9) through the shared registry: requests by route
/// template, method and status with their latency, and jobs submitted by type and queue.
final class APIMetrics: Sendable {
    let metrics: JobGateMetrics

    init(_ metrics: JobGateMetrics) {
        self.metrics = metrics
    }

    /// Records one answered request (the route is a template, so label values stay few).
    func observeRequest(method: String, route: String, status: Int, seconds: Double) {
        // Methods outside the API's own become one label value, so junk requests cannot grow the series.
        let m = method == "GET" || method == "POST" || method == "HEAD" ? method : "OTHER"
        let request = metrics.request(route: route, method: m, status: status)
        request.count.inc()
        request.duration.observe(seconds)
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
