import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// The registry and the text exposition format, without a database.
struct MetricsTests {
    @Test func counterAndGaugeRenderHelpTypeAndSortedSamples() {
        let r = MetricsRegistry()
        let c = r.counter("x_requests_total", help: "Requests.", labels: ["route", "code"])
        c.labels("/b", "200").inc()
        c.labels("/a", "500").inc(by: 2)
        c.labels("/a", "500").inc(by: -5) // ignored: counters never go down
        let g = r.gauge("x_busy", help: "Busy slots.")
        g.set(3)
        g.labels().dec()
        #expect(r.render() == """
            # HELP x_busy Busy slots.
            # TYPE x_busy gauge
            x_busy 2
            # HELP x_requests_total Requests.
            # TYPE x_requests_total counter
            x_requests_total{route="/a",code="500"} 2
            x_requests_total{route="/b",code="200"} 1

            """)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        let r = MetricsRegistry()
        r.counter("x_total", help: "Back\\slash and\nnewline \"quoted\".", labels: ["v"])
            .labels("a\\b \"c\"\nd").inc()
        let text = r.render()
        #expect(text.contains(#"# HELP x_total Back\\slash and\nnewline "quoted"."#))
        #expect(text.contains(#"x_total{v="a\\b \"c\"\nd"} 1"#))
        // Every sample stays on one line.
        #expect(text.split(separator: "\n").count == 3)
    }

    @Test func histogramBucketsAreCumulativeWithInfSumAndCount() {
        let r = MetricsRegistry()
        let h = r.histogram("x_seconds", help: "Durations.", labels: ["type"], buckets: Buckets([0.25, 1, 10]))
        let child = h.labels("noop")
        for v in [0.125, 0.25, 0.5, 2, 20, 30] { child.observe(v) }
        #expect(r.render() == """
            # HELP x_seconds Durations.
            # TYPE x_seconds histogram
            x_seconds_bucket{type="noop",le="0.25"} 2
            x_seconds_bucket{type="noop",le="1"} 3
            x_seconds_bucket{type="noop",le="10"} 4
            x_seconds_bucket{type="noop",le="+Inf"} 6
            x_seconds_sum{type="noop"} 52.875
            x_seconds_count{type="noop"} 6

            """)
    }

    @Test func readyBucketsSpanMillisecondsToMinutesAndHours() {
        #expect(Buckets.latency.bounds.first == 0.001)
        #expect(Buckets.latency.bounds.last == 60)
        #expect(Buckets.jobDuration.bounds.first == 0.001)
        #expect(Buckets.jobDuration.bounds.last! >= 3600 * 6)
        #expect(Buckets.exponential(start: 1, factor: 2, count: 4).bounds == [1, 2, 4, 8])
        #expect(Buckets([3, 1, 1, .infinity]).bounds == [1, 3])
    }

    @Test func computedGaugesAreCollectedAtRenderTime() {
        let r = MetricsRegistry()
        let value = LockedBox(1.0)
        r.computedGauge("x_depth", help: "Depth.", labels: ["queue"]) {
            [MetricSample(labels: ["b"], value: value.get()), MetricSample(labels: ["a"], value: 0.25)]
        }
        #expect(r.render().contains("x_depth{queue=\"b\"} 1\n"))
        value.set(7)
        let text = r.render()
        #expect(text.contains("x_depth{queue=\"a\"} 0.25\nx_depth{queue=\"b\"} 7\n"))
    }

    @Test func registeringTheSameFamilyTwiceReturnsIt() {
        let r = MetricsRegistry()
        let a = r.counter("x_total", help: "X.", labels: ["k"])
        let b = r.counter("x_total", help: "X.", labels: ["k"])
        a.labels("v").inc()
        b.labels("v").inc()
        #expect(a === b)
        #expect(a.labels("v") === b.labels("v"))
        #expect(a.labels("v").value == 2)
    }

    @Test func manyTasksIncrementingLoseNothing() async {
        let r = MetricsRegistry()
        let c = r.counter("x_total", help: "X.", labels: ["k"])
        let g = r.gauge("x_gauge", help: "G.")
        let h = r.histogram("x_seconds", help: "H.", buckets: Buckets([0.5]))
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<16 {
                group.addTask {
                    for i in 0..<5_000 {
                        c.labels(t % 2 == 0 ? "even" : "odd").inc()
                        g.labels().inc()
                        h.observe(i % 2 == 0 ? 0.25 : 1)
                    }
                }
            }
        }
        #expect(c.labels("even").value == 40_000)
        #expect(c.labels("odd").value == 40_000)
        #expect(g.labels().value == 80_000)
        #expect(h.labels().count == 80_000)
        #expect(h.labels().sum == 40_000 * 0.25 + 40_000 * 1)
        #expect(r.render().contains("x_seconds_bucket{le=\"0.5\"} 40000\nx_seconds_bucket{le=\"+Inf\"} 80000\n"))
    }

    @Test func jobGateMetricsUseTheDocumentedNames() {
        let m = JobGateMetrics(registry: MetricsRegistry())
        m.setBuildInfo(version: "1.2.3")
        m.jobsCompleted.labels("noop", "default").inc()
        m.httpRequests.labels("/v1/jobs", "POST", "202").inc()
        m.httpRequestDuration.labels("/v1/jobs", "POST", "202").observe(0.002)
        let text = m.registry.render()
        for name in [
            "jobgate_http_requests_total", "jobgate_http_request_duration_seconds", "jobgate_jobs_submitted_total",
            "jobgate_jobs_started_total", "jobgate_jobs_completed_total", "jobgate_jobs_failed_total",
            "jobgate_jobs_retried_total", "jobgate_jobs_rescued_total", "jobgate_jobs_cancelled_total",
            "jobgate_job_run_duration_seconds", "jobgate_job_queue_wait_seconds", "jobgate_worker_slots_busy",
            "jobgate_build_info",
        ] {
            #expect(text.contains("# TYPE \(name) "), "missing \(name)")
        }
        #expect(text.contains("jobgate_build_info{version=\"1.2.3\"} 1\n"))
        #expect(text.contains("jobgate_jobs_completed_total{type=\"noop\",queue=\"default\"} 1\n"))
        #expect(text.contains("jobgate_http_request_duration_seconds_bucket{route=\"/v1/jobs\",method=\"POST\",code=\"202\",le=\"0.0025\"} 1\n"))
    }
}

/// Queue depth/age and pool gauges against PostgreSQL.
@Suite(.serialized) struct DatabaseMetricsTests {
    @Test func queueDepthAndOldestAgeComeFromTheClaimableIndex() async throws {
        let f = try await EngineFixture.make("qstats")
        defer { f.pool.shutdown() }
        let m = JobGateMetrics(registry: MetricsRegistry())
        m.observe(pool: f.pool)
        let collector = m.observeQueues(store: f.store, maxAge: .milliseconds(0), depthCap: 5)

        _ = try await f.store.submit((0..<3).map { _ in NewJob(tenant: "t", type: "noop", queue: "a") })
        _ = try await f.store.submit((0..<4).map { _ in NewJob(tenant: "t", type: "noop", queue: "b", priority: 1) })
        _ = try await f.store.submit((0..<4).map { _ in NewJob(tenant: "t", type: "noop", queue: "b", priority: 2) })
        // Scheduled for later: waiting, but not ready, so neither depth nor age.
        _ = try await f.store.submit([NewJob(tenant: "t", type: "noop", queue: "c", runAt: Date().addingTimeInterval(3600))])
        try await f.pool.query("UPDATE jobs SET run_at = now() - interval '100 seconds' WHERE queue = 'a'")
        try await f.pool.query("UPDATE jobs SET run_at = now() - interval '50 seconds' WHERE queue = 'b' AND priority = 2")

        let text = await m.registry.scrape()
        #expect(text.contains("jobgate_queue_depth{queue=\"a\"} 3\n"))
        #expect(text.contains("jobgate_queue_depth{queue=\"b\"} 5\n"), "capped at depthCap")
        #expect(text.contains("jobgate_queue_depth{queue=\"c\"} 0\n"))
        let stats = Dictionary(uniqueKeysWithValues: collector.cached.map { ($0.queue, $0) })
        #expect(stats["a"]!.oldestAgeSeconds >= 100 && stats["a"]!.oldestAgeSeconds < 110)
        #expect(stats["b"]!.oldestAgeSeconds >= 50 && stats["b"]!.oldestAgeSeconds < 60, "oldest across priorities")
        #expect(stats["c"]!.oldestAgeSeconds == 0)
        #expect(text.contains("jobgate_db_pool_connections{state=\"in_use\"} 0\n"))
        #expect(text.contains("# TYPE jobgate_db_pool_connections gauge\n"))

        // A drained queue is reported as 0, not dropped.
        try await f.pool.query("UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE queue = 'a'")
        let after = await m.registry.scrape()
        #expect(after.contains("jobgate_queue_depth{queue=\"a\"} 0\n"))
        #expect(after.contains("jobgate_queue_oldest_age_seconds{queue=\"a\"} 0\n"))
    }

    @Test func queueStatsPlanUsesTheClaimableIndexOnly() async throws {
        let f = try await EngineFixture.make("qplan")
        defer { f.pool.shutdown() }
        // Plenty of finished history and a backlog, so a sequential scan would be tempting if the query allowed it.
        try await f.pool.query("""
            INSERT INTO jobs (id, tenant, queue, type, status, finished_at)
            SELECT gen_random_uuid(), 't', 'q' || (i % 3), 'noop', CASE WHEN i % 10 = 0 THEN 'queued' ELSE 'completed' END,
                   CASE WHEN i % 10 = 0 THEN NULL ELSE now() END
            FROM generate_series(1, 20000) i
            """)
        try await f.pool.query("ANALYZE jobs")
        let plan = try await f.pool.withConnection { c in
            try c.query("EXPLAIN " + JobStore.queueStatsSQL.replacingOccurrences(of: "$1", with: "10000"))
                .map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
        }
        #expect(!plan.contains("Seq Scan"), "\(plan)")
        #expect(plan.contains("jobs_claimable_idx"), "\(plan)")
    }
}

final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
}
