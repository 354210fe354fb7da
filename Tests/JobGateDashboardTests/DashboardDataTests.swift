import Foundation
import JobGateCore
@testable import JobGateDashboard
import JobGatePostgres
import JobGateTestSupport
import Testing

/// A migrated, empty database on the test server.
func migratedPool(_ prefix: String) async throws -> (TestDatabase, PostgresPool) {
    let db = try await TestDatabase.create(prefix)
    let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 4))
    try await Migrator(pool: pool).migrate()
    return (db, pool)
}

/// Jobs moved through the real engine (`JobStore`), so events are what workers write:
/// - queue `images`, type `resize`, tenant `acme`: 6 claimed by w1; 4 completed, 1 retried
///   (run_at an hour ahead), 1 failed for good with an error holding a script tag;
/// - queue `reports`, type `report`, tenant `acme`: 2 waiting (backdated 5 minutes);
/// - type `noop`, tenant `other`: 1 cancelled while queued;
/// - type `slow`, tenant `acme`: 1 running on w1;
/// - workers: w1 live, w2 stopped, w3 silent for 10 minutes.
enum DashboardFixture {
    static let scriptError = "<script>alert(1)</script> & \"quotes\" failed"

    static func fill(_ pool: PostgresPool) async throws {
        let store = JobStore(pool: pool)
        for (id, _) in [("w1", 0), ("w2", 0), ("w3", 0)] {
            try await store.registerWorker(WorkerInfo(id: "host-a:1\(id.suffix(1)):\(id)", host: "host-a", pid: 10,
                                                      version: "0.1.0", queues: id == "w1" ? [] : ["images"], concurrency: 4))
        }
        try await store.stopWorker("host-a:12:w2")
        try await pool.query("UPDATE jobgate.workers SET last_heartbeat = now() - interval '10 minutes' WHERE id = 'host-a:13:w3'")
        let w1 = "host-a:11:w1"

        let resize = try await store.submit((0..<6).map { _ in NewJob(tenant: "acme", type: "resize", queue: "images") })
        #expect(resize.count == 6)
        let claimed = try await store.claim(queues: ["images"], limit: 10, worker: w1, leaseSeconds: 60)
        #expect(claimed.count == 6)
        _ = try await store.complete(claimed.prefix(4).map { AttemptCompletion(id: $0.id, attempt: $0.attempt) }, worker: w1)
        _ = try await store.fail([
            AttemptFailure(id: claimed[4].id, attempt: 1, message: "disk full", disposition: .retry(RetryPolicy(baseSeconds: 7200, capSeconds: 7200))),
            AttemptFailure(id: claimed[5].id, attempt: 1, message: scriptError, disposition: .fail),
        ], worker: w1)

        _ = try await store.submit([NewJob(tenant: "acme", type: "report", queue: "reports", runAt: Date().addingTimeInterval(-300)),
                                    NewJob(tenant: "acme", type: "report", queue: "reports", runAt: Date().addingTimeInterval(-60))])
        let noop = try await store.submit([NewJob(tenant: "other", type: "noop")])
        _ = try await store.cancel(id: noop[0].jobID, tenant: nil)
        _ = try await store.submit([NewJob(tenant: "acme", type: "slow", queue: "slow")])
        #expect(try await store.claim(queues: ["slow"], limit: 1, worker: w1, leaseSeconds: 60).count == 1)
    }
}

@Suite(.serialized) struct DashboardDataTests {
    @Test func emptyDatabaseLoadsAnEmptyDashboardAndRendersTheEmptyState() async throws {
        let (_, pool) = try await migratedPool("dashempty")
        defer { pool.shutdown() }
        let now = Date()
        let data = try await DashboardData.load(pool: pool, now: now)
        #expect(!data.hasJobs)
        #expect(data.throughput.count == DashboardData.minutes)
        #expect(data.totals == DashboardData.Minute(start: data.throughput[0].start))
        #expect(data.queues.isEmpty && data.latency.isEmpty && data.failures.isEmpty)
        #expect(data.workers.isEmpty && data.recentFailures.isEmpty && data.running == 0)

        let html = DashboardPage.render(data, now: now)
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("No jobs yet"))
        #expect(html.contains("/v1/jobs"))
        #expect(html.contains("No worker has sent a heartbeat"))
        #expect(!html.contains("<svg"))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"15\">"))
    }

    @Test func fixtureDatabaseLoadsTheRightNumbers() async throws {
        let (_, pool) = try await migratedPool("dashdata")
        defer { pool.shutdown() }
        try await DashboardFixture.fill(pool)
        let now = Date()
        let data = try await DashboardData.load(pool: pool, now: now)
        #expect(data.hasJobs)
        let t = data.totals
        #expect((t.completed, t.failed, t.retried, t.cancelled) == (4, 1, 1, 1))
        // Everything happened in the last minute or two: the newest buckets hold it all.
        #expect(data.throughput.suffix(3).reduce(0) { $0 + $1.completed } == 4)
        #expect(data.throughput.last!.start <= now && now.timeIntervalSince(data.throughput.last!.start) < 60)

        let queues = Dictionary(uniqueKeysWithValues: data.queues.map { ($0.queue, $0) })
        #expect(queues["reports"]?.ready == 2)
        #expect((queues["reports"]?.oldestAgeSeconds ?? 0) >= 299)
        #expect(queues["images"]?.ready ?? 0 == 0) // the retry is an hour away
        #expect(data.running == 1)

        let latency = Dictionary(uniqueKeysWithValues: data.latency.map { ($0.type, $0) })
        #expect(latency["resize"]?.run?.count == 4)
        #expect(latency["resize"]?.wait?.count == 6)
        #expect(latency["slow"]?.wait?.count == 1 && latency["slow"]?.run == nil)
        #expect(latency["report"] == nil)

        #expect(data.failures == [DashboardData.TypeFailures(type: "resize", failed: 1, retried: 1, leaseExpired: 0)])
        #expect(data.recentFailures.count == 1)
        #expect(data.recentFailures.first?.lastError == DashboardFixture.scriptError)
        #expect(data.recentFailures.first.map { [$0.type, $0.queue, $0.tenant, $0.status] } == ["resize", "images", "acme", "failed"])

        #expect(data.workers.map(\.state) == [.live, .silent, .stopped])
        #expect(data.workers.first?.running == 1)
        #expect(data.liveWorkers == 1)
    }

    @Test func tenantLimitsHistoryButNotQueuesOrWorkers() async throws {
        let (_, pool) = try await migratedPool("dashtenant")
        defer { pool.shutdown() }
        try await DashboardFixture.fill(pool)
        let other = try await DashboardData.load(pool: pool, tenant: "other")
        #expect((other.totals.completed, other.totals.cancelled) == (0, 1))
        #expect(other.recentFailures.isEmpty && other.failures.isEmpty)
        #expect(other.workers.count == 3 && other.running == 1)
        #expect(DashboardPage.render(other, now: other.now).contains("tenant <b>other</b>"))
    }

    @Test func fixturePageShowsEverySectionAndEscapesTheError() async throws {
        let (_, pool) = try await migratedPool("dashpage")
        defer { pool.shutdown() }
        try await DashboardFixture.fill(pool)
        let data = try await DashboardData.load(pool: pool)
        let html = DashboardPage.render(data, now: data.now)
        for section in ["Jobs per minute by outcome", "Queue depth and oldest wait", "Failures by type",
                        "Wait and run time by type", "Workers", "Recent failed jobs"] {
            #expect(html.contains(section), "missing section \(section)")
        }
        #expect(!html.contains("No jobs yet"))
        // Tiles: 4 completed, 1 failed, 1 retried, 1 cancelled, 2 ready, 1 running, 1 live worker.
        for tile in ["<div class=\"v\">4</div><div class=\"l\">completed", "<div class=\"v\">1</div><div class=\"l\">failed",
                     "<div class=\"v\">2</div><div class=\"l\">ready in queues", "<div class=\"v\">1</div><div class=\"l\">live workers"] {
            #expect(html.contains(tile), "missing tile \(tile)")
        }
        #expect(html.contains("2 ready · oldest 5 m"))
        #expect(html.contains("1 failed · 1 retried"))
        #expect(html.contains("host-a:11:w1"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; failed"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=") && !html.contains("href=\"http"))
    }

    /// The running `slow` job reports progress; the page lists it with a bar, escaped, per tenant.
    @Test func runningJobsShowTheirProgress() async throws {
        let (_, pool) = try await migratedPool("dashprogress")
        defer { pool.shutdown() }
        try await DashboardFixture.fill(pool)
        let store = JobStore(pool: pool)
        let before = try await DashboardData.load(pool: pool)
        #expect(before.progress.isEmpty)
        #expect(!DashboardPage.render(before, now: before.now).contains("Running jobs with progress"))
        let slow = try #require(try await store.list(tenant: "acme", status: .running, limit: 10).first)
        let written = try await store.recordProgress(
            [ProgressUpdate(id: slow.id, attempt: slow.attempt, report: ProgressReport(done: 30, total: 120, message: "<b>rows</b>")!)],
            worker: "host-a:11:w1")
        #expect(written.applied == [slow.id])
        let data = try await DashboardData.load(pool: pool)
        #expect(data.progress.map(\.id) == [slow.id])
        #expect(data.progress.first.map { [$0.done, $0.total] } == [30, 120])
        #expect(data.progress.first?.fraction == 0.25)
        let html = DashboardPage.render(data, now: data.now)
        #expect(html.contains("Running jobs with progress"))
        #expect(html.contains("30 / 120") && html.contains("width:25%") && html.contains("&lt;b&gt;rows&lt;/b&gt;"))
        #expect(!html.contains("<b>rows"))
        #expect(try await DashboardData.load(pool: pool, tenant: "other").progress.isEmpty)
    }

    @Test func schedulesShowTheirNextAndLastFiringPerTenant() async throws {
        let (_, pool) = try await migratedPool("dashsched")
        defer { pool.shutdown() }
        let store = ScheduleStore(pool: pool)
        _ = try await store.create(tenant: "acme", name: "nightly", ScheduleDefinition(cron: try CronSchedule("30 2 * * *", timeZone: "Europe/Berlin"), type: "noop"))
        _ = try await store.create(tenant: "acme", name: "paused", ScheduleDefinition(cron: try CronSchedule("@hourly"), type: "noop", enabled: false))
        _ = try await store.create(tenant: "other", name: "theirs", ScheduleDefinition(cron: try CronSchedule("@daily"), type: "noop"))
        try await pool.query("UPDATE jobgate.schedules SET last_run_at = now() - interval '2 minutes', last_error = '<b>gone</b>' WHERE name = 'paused'")
        let acme = try await DashboardData.load(pool: pool, tenant: "acme")
        #expect(acme.schedules.map(\.name) == ["nightly", "paused"])
        let html = DashboardPage.render(acme, now: acme.now)
        #expect(html.contains("<h2>Schedules"))
        #expect(html.contains("<td class=\"k\">nightly</td><td><code>30 2 * * *</code></td><td>Europe/Berlin</td><td>20"))
        #expect(html.contains("<td>disabled</td><td>2 m 0 s ago</td>") || html.contains("<td>disabled</td><td>2 m 1 s ago</td>"), "\(html)")
        #expect(html.contains("&lt;b&gt;gone&lt;/b&gt;") && !html.contains("theirs"))
        let all = try await DashboardData.load(pool: pool)
        #expect(all.schedules.count == 3)
        #expect(DashboardPage.render(all, now: all.now).contains("<th>tenant</th>"))
        // No schedule, no section.
        let none = try await DashboardData.load(pool: pool, tenant: "nobody")
        #expect(!DashboardPage.render(none, now: none.now).contains("Schedules"))
    }
}
