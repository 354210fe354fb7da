import Foundation
import JobGatePostgres

/// Cron schedules in `jobgate.schedules` (DESIGN.md §14): a tenant's schedules for the API, and
/// the firing of due ones for the workers' scheduler (`fireDue(now:)`), which any number of
/// workers may run at once: each slot makes exactly one job (see `jobgate.fire_schedule` in
/// migration 0006 for why).
public struct ScheduleStore: Sendable {
    /// The pool it runs on.
    public let pool: PostgresPool

    /// The most schedules one tenant may have.
    public static let maxPerTenant = 1000

    /// A store over `pool`.
    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// How a create ended.
    public enum CreateOutcome: Sendable, Equatable {
        case created(Schedule)
        /// The tenant already has a schedule of that name.
        case nameTaken
        /// The tenant has `maxPerTenant` schedules.
        case limitReached
    }

    /// Stores a new schedule of `tenant` named `name`; its first slot is the first after `now`.
    public func create(tenant: String, name: String, _ d: ScheduleDefinition, now: Date = Date()) async throws -> CreateOutcome {
        let rows = try await pool.query(JobQueries.createSchedule, [
            UUIDv7.make(), tenant, name, d.cron.expression, d.cron.timeZoneName, d.type, d.queue, d.payload, d.priority, d.enabled,
            Self.nextRun(d, now: now), Self.maxPerTenant,
        ])
        if let row = rows.first { return .created(try Self.schedule(row)) }
        return try await schedule(tenant: tenant, name: name) == nil ? .limitReached : .nameTaken
    }

    /// The tenant's schedule named `name`.
    public func schedule(tenant: String, name: String) async throws -> Schedule? {
        try await pool.query(JobQueries.schedule, [tenant, name]).first.map(Self.schedule)
    }

    /// The tenant's schedules (every tenant's when nil), by tenant and name, at most `limit`.
    public func list(tenant: String?, limit: Int = ScheduleStore.maxPerTenant) async throws -> [Schedule] {
        try await pool.query(JobQueries.schedules, [tenant, limit]).map(Self.schedule)
    }

    /// Replaces `previous`'s definition with `d`. A changed expression, zone or enabled state
    /// starts over from the first slot after `now`; otherwise the next slot stays. Nil when the
    /// schedule is gone.
    public func update(_ previous: Schedule, to d: ScheduleDefinition, now: Date = Date()) async throws -> Schedule? {
        let timingChanged = previous.cron != d.cron.expression || previous.timeZone != d.cron.timeZoneName || previous.enabled != d.enabled
        return try await pool.query(JobQueries.updateSchedule, [
            previous.tenant, previous.name, d.cron.expression, d.cron.timeZoneName, d.type, d.queue, d.payload, d.priority, d.enabled,
            timingChanged, Self.nextRun(d, now: now),
        ]).first.map(Self.schedule)
    }

    /// Deletes the tenant's schedule named `name`; false when there was none. Its jobs stay.
    public func delete(tenant: String, name: String) async throws -> Bool {
        try await pool.query(JobQueries.deleteSchedule, [tenant, name]).count > 0
    }

    /// Fires every schedule due at `now` (at most `limit`), each for its latest slot not after
    /// `now`: after downtime the missed slots are caught up once, not once each. Safe to run on
    /// every worker at once; a slot another caller fired first is skipped. Returns the firings
    /// this call made.
    public func fireDue(now: Date = Date(), limit: Int = 100) async throws -> [ScheduleFiring] {
        var fired: [ScheduleFiring] = []
        for row in try await pool.query(JobQueries.dueSchedules, [now, limit]) {
            let (id, tenant, name): (UUID, String, String) = (try row.decode(0), try row.decode(1), try row.decode(2))
            let (expression, zone, due): (String, String, Date) = (try row.decode(3), try row.decode(4), try row.decode(5))
            let cron: CronSchedule
            do {
                cron = try CronSchedule(expression, timeZone: zone)
            } catch {
                try await pool.query(JobQueries.stopSchedule, [id, due, "the stored expression does not parse: \(error.message)"])
                continue
            }
            let slot = cron.latest(atOrBefore: now, notBefore: due)
            let next = cron.next(after: max(slot, now))
            for r in try await pool.query(JobQueries.fireSchedule, [id, due, slot, next]) {
                fired.append(ScheduleFiring(scheduleID: id, tenant: tenant, name: name, slot: slot,
                                            jobID: try r.decode(0), error: try r.decode(1)))
            }
        }
        return fired
    }

    static func nextRun(_ d: ScheduleDefinition, now: Date) -> Date? {
        d.enabled ? d.cron.next(after: now) : nil
    }

    /// A schedule from `JobQueries.scheduleColumns`.
    static func schedule(_ r: PostgresRow) throws -> Schedule {
        Schedule(id: try r.decode(0), tenant: try r.decode(1), name: try r.decode(2), cron: try r.decode(3), timeZone: try r.decode(4),
                 type: try r.decode(5), queue: try r.decode(6), payload: try r.decode(7), priority: try r.decode(8),
                 enabled: try r.decode(9), nextRunAt: try r.decode(10), lastSlot: try r.decode(11), lastRunAt: try r.decode(12),
                 lastJobID: try r.decode(13), lastError: try r.decode(14), createdAt: try r.decode(15), updatedAt: try r.decode(16))
    }
}
