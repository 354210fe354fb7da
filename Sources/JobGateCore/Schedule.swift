import Foundation

/// A tenant's cron schedule (DESIGN.md §14), as stored in `jobgate.schedules`.
public struct Schedule: Sendable, Equatable {
    /// Its id (made by JobGate).
    public var id: UUID
    /// The tenant it belongs to and submits for.
    public var tenant: String
    /// Its name, unique per tenant (`ScheduleName`).
    public var name: String
    /// The cron expression, as given.
    public var cron: String
    /// The IANA zone the expression is read in.
    public var timeZone: String
    /// The job type of the jobs it makes.
    public var type: String
    /// Their queue; nil: the type's queue when the job is made.
    public var queue: String?
    /// Their payload, as JSON text.
    public var payload: String
    /// Their priority.
    public var priority: Int
    /// Whether it fires.
    public var enabled: Bool
    /// Its first slot not fired yet; nil while disabled.
    public var nextRunAt: Date?
    /// The latest slot it fired.
    public var lastSlot: Date?
    /// When it fired last.
    public var lastRunAt: Date?
    /// The job its last firing made.
    public var lastJobID: UUID?
    /// Why its last firing made no job, if it did not.
    public var lastError: String?
    /// When it was made and last changed.
    public var createdAt: Date
    public var updatedAt: Date

    /// A schedule (values as read from a row).
    public init(id: UUID, tenant: String, name: String, cron: String, timeZone: String, type: String, queue: String?,
                payload: String, priority: Int, enabled: Bool, nextRunAt: Date?, lastSlot: Date?, lastRunAt: Date?,
                lastJobID: UUID?, lastError: String?, createdAt: Date, updatedAt: Date) {
        self.id = id; self.tenant = tenant; self.name = name; self.cron = cron; self.timeZone = timeZone; self.type = type
        self.queue = queue; self.payload = payload; self.priority = priority; self.enabled = enabled; self.nextRunAt = nextRunAt
        self.lastSlot = lastSlot; self.lastRunAt = lastRunAt; self.lastJobID = lastJobID; self.lastError = lastError
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }
}

/// What a schedule makes and when: the fields a client sets (create, or update in full).
public struct ScheduleDefinition: Sendable, Equatable {
    /// The parsed expression and zone.
    public var cron: CronSchedule
    /// The job type.
    public var type: String
    /// The queue; nil: the type's.
    public var queue: String?
    /// The payload as JSON text.
    public var payload: String
    /// The priority (-32768…32767).
    public var priority: Int
    /// Whether it fires.
    public var enabled: Bool

    /// A definition.
    public init(cron: CronSchedule, type: String, queue: String? = nil, payload: String = "{}", priority: Int = 0, enabled: Bool = true) {
        self.cron = cron; self.type = type; self.queue = queue; self.payload = payload; self.priority = priority; self.enabled = enabled
    }
}

/// The rule for schedule names: 1 to 128 bytes of ASCII letters, digits and `. _ -`, starting
/// with a letter or digit. No `:`, which separates the parts of the idempotency key
/// `schedule:<name>:<slot>` of its jobs; safe in a URL path as it is. The same rule is the CHECK
/// of `schedules.name` (migration 0006).
public enum ScheduleName {
    /// The longest name, in bytes.
    public static let maxLength = 128
    /// The rule, for error messages.
    public static let rule = "1 to 128 of the letters, digits and . _ -, starting with a letter or digit"

    /// Whether `name` follows the rule.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) }
        guard let first = bytes.first, alnum(first), bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }
}

/// What one firing did: the schedule, the slot, and the job made (or why none was).
public struct ScheduleFiring: Sendable, Equatable {
    /// The schedule's id, tenant and name.
    public var scheduleID: UUID
    public var tenant: String
    public var name: String
    /// The slot fired (the latest one due; earlier missed ones are not fired separately).
    public var slot: Date
    /// The job made, or nil when the submit failed.
    public var jobID: UUID?
    /// Why no job was made.
    public var error: String?
}
