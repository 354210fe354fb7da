/// Exponential backoff with jitter between attempts of one job type: its two parameters.
///
/// The delay after attempt `n` is `d/2 + random(0...d/2)` with `d = min(cap, base·2^(n-1))`
/// ("equal jitter"): retries of many jobs spread out, yet each delay is at least the
/// previous one's upper half, so delays grow until the cap. The database computes it
/// (`JobQueries.backoffSeconds`, the one copy of the formula), for a failed attempt the worker
/// reports and for a lease the rescuer finds expired alike.
public struct RetryPolicy: Sendable, Equatable {
    /// The first retry's nominal delay, in seconds.
    public var baseSeconds: Double
    /// The largest nominal delay, in seconds.
    public var capSeconds: Double

    /// A policy; defaults suit most jobs (1 s, doubling, at most 10 min).
    public init(baseSeconds: Double = 1, capSeconds: Double = 600) {
        self.baseSeconds = max(0, baseSeconds)
        self.capSeconds = max(self.baseSeconds, capSeconds)
    }
}

/// Settings of one job type: defaults applied at submit and the retry policy the worker uses.
/// Command types (a JSON file) and built-ins share this shape.
public struct JobTypeSettings: Sendable, Equatable {
    /// Each attempt's time limit, when the submitter does not set one.
    public var timeoutSeconds: Int
    /// Attempts before `failed`, when the submitter does not set them.
    public var maxAttempts: Int
    /// Backoff between attempts.
    public var retry: RetryPolicy
    /// The queue a job of this type goes to when the submitter names none (nil: `default`).
    public var queue: String?

    /// Settings; the defaults are 300 s per attempt, 3 attempts, `RetryPolicy()` and the `default` queue.
    public init(timeoutSeconds: Int = 300, maxAttempts: Int = 3, retry: RetryPolicy = RetryPolicy(), queue: String? = nil) {
        self.timeoutSeconds = timeoutSeconds
        self.maxAttempts = maxAttempts
        self.retry = retry
        self.queue = queue
    }

    /// A job of this type with the type's defaults (queue, attempts, time limit), the one place
    /// they are applied; the submitter's own fields override them afterwards.
    public func newJob(tenant: String, type: String, payload: String = "{}") -> NewJob {
        NewJob(tenant: tenant, type: type, queue: queue ?? "default", payload: payload,
               maxAttempts: maxAttempts, timeoutSeconds: timeoutSeconds)
    }
}

extension JobTypeSettings {
    /// The types every JobGate binary has a handler for, with their settings: seeded into
    /// `job_types` by `Migrator.migrate()` when missing (an operator's change is kept), and
    /// registered by `HandlerRegistry.builtIn()`.
    public static let builtIns: [String: JobTypeSettings] = [
        "weather": JobTypeSettings(timeoutSeconds: 300, maxAttempts: 3),
        "noop": JobTypeSettings(timeoutSeconds: 60, maxAttempts: 3),
    ]
}
