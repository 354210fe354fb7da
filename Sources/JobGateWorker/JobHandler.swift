import Foundation
import JobGateCore

/// What a handler gets for one attempt of one job.
public struct JobContext: Sendable {
    /// The job's id.
    public var id: UUID
    /// Its job type.
    public var type: String
    /// The queue it was claimed from.
    public var queue: String
    /// The tenant that submitted it.
    public var tenant: String
    /// The payload as JSON text.
    public var payload: String
    /// This attempt's number (1 for the first).
    public var attempt: Int
    /// Attempts allowed; when this one is the last, a retryable failure fails the job.
    public var maxAttempts: Int
    /// The attempt's time limit; past it the handler's task is cancelled and the attempt fails.
    public var deadline: ContinuousClock.Instant
    /// The W3C trace id of the submit request's `traceparent`, if it had one.
    public var traceId: String?
    /// Where `reportProgress` sends reports; nil drops them.
    public var progressSink: (@Sendable (ProgressReport) -> Void)?

    /// A context (the pool makes these; tests of handlers may too, passing a `progressSink` to
    /// see the handler's progress reports).
    public init(id: UUID, type: String, queue: String = "default", tenant: String = "", payload: String, attempt: Int,
                maxAttempts: Int, deadline: ContinuousClock.Instant, traceId: String? = nil,
                progressSink: (@Sendable (ProgressReport) -> Void)? = nil) {
        self.id = id; self.type = type; self.queue = queue; self.tenant = tenant; self.payload = payload
        self.attempt = attempt; self.maxAttempts = maxAttempts; self.deadline = deadline; self.traceId = traceId
        self.progressSink = progressSink
    }

    /// Reports how far the attempt has come: `done` of `total` units (nil: unknown), with a short
    /// message (made printable, cut to `ProgressReport.messageLimit` characters). Cheap: call it
    /// as often as convenient; the worker stores the newest report at most once a second
    /// (DESIGN.md §14), and the one pending when the handler returns before its result. Returns
    /// false, storing nothing, when `done` is negative or `total` below `done`.
    @discardableResult
    public func reportProgress(done: Int, total: Int? = nil, message: String? = nil) -> Bool {
        guard let report = ProgressReport(done: Int64(done), total: total.map(Int64.init), message: message) else { return false }
        reportProgress(report)
        return true
    }

    /// Reports a progress value already checked.
    public func reportProgress(_ report: ProgressReport) {
        progressSink?(report)
    }

    /// True once the attempt should stop (timeout, cancel requested, lease lost, shutdown):
    /// the handler's task is cancelled. Long handlers check this (or `checkCancellation`) between steps.
    public var isCancelled: Bool { Task.isCancelled }

    /// Throws `CancellationError` once the attempt should stop.
    public func checkCancellation() throws { try Task.checkCancellation() }
}

/// A handler's result: bytes and their content type.
public struct JobOutput: Sendable, Equatable {
    /// The output's bytes (stored inline up to the worker's limit, else in a file).
    public var bytes: [UInt8]
    /// Its content type, served with the signed download.
    public var contentType: String
    /// An output of `bytes` typed `contentType`.
    public init(bytes: [UInt8], contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
    }
}

/// An error a handler throws to say whether the attempt may be retried. Any other error
/// counts as retryable; `CancellationError` means the handler honoured a stop.
public struct JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Becomes the job's `last_error`.
    public var message: String
    /// False fails the job at once, whatever attempts remain.
    public var retryable: Bool
    /// A failure with `message`; retryable unless told otherwise.
    public init(_ message: String, retryable: Bool = true) {
        self.message = message
        self.retryable = retryable
    }
    /// The message.
    public var description: String { message }
}

/// The business logic of one job type.
///
/// `run` is called on Swift's cooperative pool: it must not block a thread (sleep with
/// `Task.sleep`, run blocking work on its own thread) and should honour task cancellation.
public protocol JobHandler: Sendable {
    /// Runs one attempt; returns the output (nil for none) or throws (`JobFailure` to choose retryability).
    func run(_ job: JobContext) async throws -> JobOutput?
}

/// A handler made from a closure.
public struct ClosureHandler: JobHandler {
    let body: @Sendable (JobContext) async throws -> JobOutput?
    /// A handler running `body` for each attempt.
    public init(_ body: @escaping @Sendable (JobContext) async throws -> JobOutput?) { self.body = body }
    /// Runs `body`.
    public func run(_ job: JobContext) async throws -> JobOutput? { try await body(job) }
}

/// Job types a worker can run, each with its settings. Built-ins come from `builtIn()`;
/// command types (external processes) and tests register more by name.
public struct HandlerRegistry: Sendable {
    /// One registered type.
    public struct Entry: Sendable {
        /// What runs the type's jobs.
        public var handler: any JobHandler
        /// The type's defaults and backoff.
        public var settings: JobTypeSettings
        /// A built-in type: its row in `job_types` is only created when missing, so an
        /// operator's `jobgate types apply` stays; a declared type's row is overwritten.
        public var builtIn: Bool
    }

    private var entries: [String: Entry] = [:]

    /// An empty registry.
    public init() {}

    /// `weather` and `noop`.
    public static func builtIn() -> HandlerRegistry {
        var r = HandlerRegistry()
        let settings = JobTypeSettings.builtIns
        r.register("weather", settings: settings["weather"]!, handler: WeatherHandler(), builtIn: true)
        r.register("noop", settings: settings["noop"]!, handler: NoopHandler(), builtIn: true)
        return r
    }

    /// Adds or replaces the handler of `type`. The worker writes its settings to `job_types`
    /// when it starts (the table every API node validates and defaults from).
    public mutating func register(_ type: String, settings: JobTypeSettings = JobTypeSettings(), handler: any JobHandler,
                                  builtIn: Bool = false) {
        entries[type] = Entry(handler: handler, settings: settings, builtIn: builtIn)
    }

    /// The entry of `type`, if registered.
    public func entry(for type: String) -> Entry? { entries[type] }

    /// The registered type names, sorted.
    public var types: [String] { entries.keys.sorted() }

    /// Every type's settings (submit-side defaults and validation).
    public var settings: [String: JobTypeSettings] { entries.mapValues(\.settings) }

    /// The settings of the types registered beyond the built-ins.
    public var declaredSettings: [String: JobTypeSettings] { entries.filter { !$0.value.builtIn }.mapValues(\.settings) }
}
