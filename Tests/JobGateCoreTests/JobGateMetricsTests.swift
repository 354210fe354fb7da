import Foundation
import JobGateCore
import JobGatePostgres
import JobGatePrometheus
import JobGateTestSupport
import Testing

/// The app's metric set (`JobGateMetrics`) renders the names `deploy/` and the README use.
@Suite struct JobGateMetricsTests {
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
        try await f.pool.query("UPDATE jobgate.jobs SET run_at = now() - interval '100 seconds' WHERE queue = 'a'")
        try await f.pool.query("UPDATE jobgate.jobs SET run_at = now() - interval '50 seconds' WHERE queue = 'b' AND priority = 2")

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
        try await f.pool.query("UPDATE jobgate.jobs SET status = 'cancelled', finished_at = now() WHERE queue = 'a'")
        let after = await m.registry.scrape()
        #expect(after.contains("jobgate_queue_depth{queue=\"a\"} 0\n"))
        #expect(after.contains("jobgate_queue_oldest_age_seconds{queue=\"a\"} 0\n"))
    }

    @Test func queueStatsPlanUsesTheClaimableIndexOnly() async throws {
        let f = try await EngineFixture.make("qplan")
        defer { f.pool.shutdown() }
        // Plenty of finished history and a backlog, so a sequential scan would be tempting if the query allowed it.
        try await f.pool.query("""
            INSERT INTO jobgate.jobs (id, tenant, queue, type, status, finished_at)
            SELECT gen_random_uuid(), 't', 'q' || (i % 3), 'noop', CASE WHEN i % 10 = 0 THEN 'queued' ELSE 'completed' END,
                   CASE WHEN i % 10 = 0 THEN NULL ELSE now() END
            FROM generate_series(1, 20000) i
            """)
        try await f.pool.query("ANALYZE jobgate.jobs")
        let plan = try await QueryPlans.custom(f.pool, JobStore.queueStatsSQL.replacingOccurrences(of: "$1", with: "10000"), [])
        #expect(!plan.contains("Seq Scan"), "\(plan)")
        #expect(plan.contains("jobs_claimable_idx"), "\(plan)")
    }
}

