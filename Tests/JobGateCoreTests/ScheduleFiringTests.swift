import Foundation
import JobGateCore
import JobGatePostgres
import JobGatePrometheus
import JobGateSystem
import JobGateTestSupport
@testable import JobGateWorker
import Synchronization
import Testing

/// Firing cron schedules against a real database: one job per slot however many workers race,
/// missed slots caught up once, the schedule named in its jobs' events.
@Suite struct ScheduleFiringTests {
    /// A whole minute in the past, so the fabricated clocks below never run ahead of nothing.
    static func minute(_ offset: Int = 0) -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 86_400 + Double(offset * 60))
    }

    @Test func threeConcurrentTickersFireEachSlotExactlyOnce() async throws {
        let f = try await EngineFixture.make("schedrace")
        defer { f.pool.shutdown() }
        let t0 = Self.minute()
        let store = ScheduleStore(pool: f.pool)
        guard case .created = try await store.create(tenant: "acme", name: "every-minute",
                                                       ScheduleDefinition(cron: try CronSchedule("* * * * *"), type: "noop"), now: t0)
        else { Issue.record("not created"); return }
        // Three pools: three worker processes. Each ticks every slot several times, all at once,
        // with clocks a few seconds apart.
        let pools = (0..<3).map { _ in f.newPool(maxConnections: 3) }
        defer { for p in pools { p.shutdown() } }
        let slots = 8
        var fired: [ScheduleFiring] = []
        for m in 1...slots {
            fired += try await withThrowingTaskGroup(of: [ScheduleFiring].self) { group in
                for (i, p) in pools.enumerated() {
                    for k in 0..<4 {
                        group.addTask { try await ScheduleStore(pool: p).fireDue(now: t0.addingTimeInterval(Double(m * 60 + i * 3 + k))) }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        // One firing per slot over all tickers, each making its own job.
        #expect(fired.count == slots)
        #expect(Set(fired.map(\.slot)) == Set((1...slots).map { t0.addingTimeInterval(Double($0 * 60)) }))
        #expect(fired.allSatisfy { $0.jobID != nil && $0.error == nil })
        #expect(Set(fired.compactMap(\.jobID)).count == slots)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == slots)
        #expect(try await f.count("""
            SELECT count(DISTINCT e.data->>'slot') FROM jobgate.job_events e
            WHERE e.event = 'submitted' AND e.data->>'schedule' = 'every-minute' AND e.message LIKE 'scheduled by every-minute for %'
            """) == slots)
        let s = try #require(try await store.schedule(tenant: "acme", name: "every-minute"))
        #expect(s.lastSlot == t0.addingTimeInterval(Double(slots * 60)))
        #expect(s.nextRunAt == t0.addingTimeInterval(Double((slots + 1) * 60)))
        #expect(s.lastJobID != nil && s.lastError == nil)
        // The job carries the slot as its idempotency key.
        let key = try await f.pool.query("SELECT idempotency_key FROM jobgate.jobs WHERE id = $1", [s.lastJobID!]).first?.decode(0, as: String.self)
        #expect(key == "schedule:every-minute:" + s.lastSlot!.formatted(.iso8601))
    }

    @Test func threeWorkerPoolsWithAFastClockFireEverySlotOnce() async throws {
        let f = try await EngineFixture.make("schedpools")
        defer { f.pool.shutdown() }
        let t0 = Self.minute()
        _ = try await ScheduleStore(pool: f.pool).create(
            tenant: "acme", name: "fast", ScheduleDefinition(cron: try CronSchedule("* * * * *"), type: "noop"), now: t0)
        // A clock running 600 times too fast: a minute every 100 ms of real time.
        let start = ContinuousClock.now
        let clock: @Sendable () -> Date = { t0.addingTimeInterval((ContinuousClock.now - start).seconds * 600) }
        let pools = (0..<3).map { _ in f.newPool(maxConnections: 4) }
        let metrics = JobGateMetrics(registry: MetricsRegistry())
        let workers = pools.map { p in
            f.worker({ $0.scheduleInterval = .milliseconds(30); $0.scheduleClock = clock; $0.queues = ["default"]; $0.metrics = metrics }, pool: p)
        }
        let tasks = workers.map { w in Task { try await w.run() } }
        // At least ten slots fired and every worker has ticked a few times (a loaded machine
        // starts pools slowly, so this waits for the work, not for a fixed time).
        let enough = try await eventually(timeout: .seconds(90)) {
            try await f.count("SELECT count(*) FROM jobgate.jobs") >= 10
        }
        #expect(enough)
        try await Task.sleep(for: .milliseconds(500))
        // Stop the clock's effect: no slot is due past the end once the schedule is disabled.
        try await f.pool.query("UPDATE jobgate.schedules SET enabled = false")
        for t in tasks { t.cancel() }
        for t in tasks { try await t.value }
        for p in pools { p.shutdown() }
        let firings = workers.map { $0.statistics.scheduled }
        let jobs = try await f.count("SELECT count(*) FROM jobgate.jobs")
        // Each fired slot made one job, and no slot was fired twice.
        #expect(jobs >= 10, "\(jobs) jobs")
        #expect(firings.reduce(0, +) == jobs, "\(firings) firings for \(jobs) jobs")
        #expect(firings.filter { $0 > 0 }.count >= 2, "\(firings): the slots were shared between workers")
        #expect(try await f.count("SELECT count(DISTINCT idempotency_key) FROM jobgate.jobs") == jobs)
        // Operators see the firings (the three workers share one registry here).
        #expect(metrics.registry.render().contains("jobgate_schedule_firings_total{outcome=\"job\"} \(jobs)\n"),
                "\(metrics.registry.render().split(separator: "\n").filter { $0.contains("schedule") })")
    }

    @Test func missedSlotsAreCaughtUpOnce() async throws {
        let f = try await EngineFixture.make("schedcatchup")
        defer { f.pool.shutdown() }
        let t0 = Self.minute()
        let store = ScheduleStore(pool: f.pool)
        _ = try await store.create(tenant: "acme", name: "five", ScheduleDefinition(cron: try CronSchedule("*/5 * * * *"), type: "noop"),
                                   now: t0)
        // Nothing ran for three hours: 36 slots went by. One job, for the latest of them.
        let later = t0.addingTimeInterval(3 * 3600 + 90)
        let fired = try await store.fireDue(now: later)
        #expect(fired.count == 1)
        let latest = try CronSchedule("*/5 * * * *").latest(atOrBefore: later, notBefore: t0)
        #expect(fired.first?.slot == latest && latest > later.addingTimeInterval(-300))
        #expect(try await store.fireDue(now: later).isEmpty)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1)
        let s = try #require(try await store.schedule(tenant: "acme", name: "five"))
        #expect(s.nextRunAt == latest.addingTimeInterval(300))
    }

    @Test func disabledSchedulesWaitAndFailedSubmitsAreRecorded() async throws {
        let f = try await EngineFixture.make("schedfail")
        defer { f.pool.shutdown() }
        let t0 = Self.minute()
        let store = ScheduleStore(pool: f.pool)
        _ = try await store.create(tenant: "acme", name: "off", ScheduleDefinition(cron: try CronSchedule("* * * * *"), type: "noop", enabled: false),
                                   now: t0)
        try await JobTypeStore(pool: f.pool).apply(["doomed": JobTypeSettings()], by: "test")
        _ = try await store.create(tenant: "acme", name: "doomed", ScheduleDefinition(cron: try CronSchedule("* * * * *"), type: "doomed"),
                                   now: t0)
        try await f.pool.query("DELETE FROM jobgate.job_types WHERE name = 'doomed'")
        let fired = try await store.fireDue(now: t0.addingTimeInterval(61))
        #expect(fired.map(\.name) == ["doomed"])
        #expect(fired.first?.jobID == nil && fired.first?.error?.contains("unknown job type") == true)
        let doomed = try #require(try await store.schedule(tenant: "acme", name: "doomed"))
        #expect(doomed.lastError?.contains("unknown job type") == true && doomed.nextRunAt == t0.addingTimeInterval(120))
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 0)
        // Enabled again, a schedule starts from the next slot after now: its disabled time is not caught up.
        let off = try #require(try await store.schedule(tenant: "acme", name: "off"))
        #expect(off.nextRunAt == nil)
        var d = ScheduleDefinition(cron: try CronSchedule("* * * * *"), type: "noop")
        d.enabled = true
        let on = try #require(try await store.update(off, to: d, now: t0.addingTimeInterval(3600)))
        #expect(on.nextRunAt == t0.addingTimeInterval(3660))
    }

    @Test func namesAreUniquePerTenantAndBounded() async throws {
        let f = try await EngineFixture.make("schednames")
        defer { f.pool.shutdown() }
        let store = ScheduleStore(pool: f.pool)
        let d = ScheduleDefinition(cron: try CronSchedule("@daily"), type: "noop")
        guard case .created = try await store.create(tenant: "acme", name: "n", d) else { Issue.record("not created"); return }
        #expect(try await store.create(tenant: "acme", name: "n", d) == .nameTaken)
        guard case .created = try await store.create(tenant: "other", name: "n", d) else { Issue.record("not created"); return }
        try await f.pool.query("""
            INSERT INTO jobgate.schedules (id, tenant, name, cron, type)
            SELECT gen_random_uuid(), 'full', 's' || i, '@daily', 'noop' FROM generate_series(1, $1::int) i
            """, [ScheduleStore.maxPerTenant])
        #expect(try await store.create(tenant: "full", name: "one-more", d) == .limitReached)
        #expect(try await store.list(tenant: "acme").map(\.name) == ["n"])
        #expect(try await store.delete(tenant: "acme", name: "n"))
        #expect(!(try await store.delete(tenant: "acme", name: "n")))
        #expect(try await store.schedule(tenant: "other", name: "n") != nil)
    }
}
