import Foundation

// The API's answers as Swift values. Field names and types follow the JSON the routes write
// (`JobJSON` and `APIService+Jobs` in JobGateAPI, DESIGN.md §7); `ClientModelsTests` decodes
// real answers of a running server into them.

/// Where a job is in its lifecycle: `status` in the API's JSON.
public enum JobState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting to be claimed (possibly not before `runAt`).
    case queued
    /// A worker holds it and runs it.
    case running
    /// An attempt failed; it will run again at `runAt`.
    case retrying
    /// Finished successfully; may have an output.
    case completed
    /// Finished unsuccessfully: attempts used up, or a non-retryable error.
    case failed
    /// Cancelled before or while running.
    case cancelled

    /// True for the states a job never leaves by itself: completed, failed, cancelled.
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// A job as the submit answered: `{"jobId","status","statusUrl"}` (`POST /v1/jobs`), or one
/// element of a batch's `jobs` (without `statusUrl`).
public struct SubmittedJob: Sendable, Hashable, Codable {
    /// The job's id (a UUIDv7).
    public var id: UUID
    /// Its state when the submit answered: `queued` for a new job; an idempotent replay
    /// answers the existing job's state.
    public var status: JobState
    /// The path of the job's status (`/v1/jobs/{id}`); nil in a batch's answer.
    public var statusURL: String?

    enum CodingKeys: String, CodingKey {
        case id = "jobId", status, statusURL = "statusUrl"
    }
}

/// A job as `GET /v1/jobs/{id}` (and cancel, retry, list) shows it at one moment.
public struct JobSnapshot: Sendable, Hashable, Codable {
    /// A finished job's output: where to fetch it (a signed, expiring link) and what it is.
    public struct Output: Sendable, Hashable, Codable {
        /// The signed link, a path such as `/v1/outputs/{id}?expires=…&kid=…&sig=…` (no token needed).
        public var url: String
        /// When the link's signature stops being accepted (read the job again for a fresh one).
        public var expiresAt: Date
        /// The output's size in bytes.
        public var size: Int
        /// The content type the handler gave it.
        public var contentType: String
        /// The SHA-256 of the bytes, lowercase hex (also the download's ETag).
        public var sha256: String
    }

    /// What the job's current (or last) attempt last reported about how far it has come.
    public struct Progress: Sendable, Hashable, Codable {
        /// Units done.
        public var done: Int64
        /// Units in all; nil when the handler did not say.
        public var total: Int64?
        /// What it said it was doing; nil for nothing.
        public var message: String?
        /// When the worker stored it.
        public var at: Date
    }

    /// The job's id.
    public var id: UUID
    /// Its job type.
    public var type: String
    /// The queue it runs from.
    public var queue: String
    /// Where it is in its lifecycle.
    public var status: JobState
    /// Lower runs first.
    public var priority: Int
    /// The current or last attempt's number (0 before the first).
    public var attempt: Int
    /// Attempts allowed before it fails.
    public var maxAttempts: Int
    /// When it was submitted.
    public var createdAt: Date
    /// When it may run (next).
    public var runAt: Date
    /// When its latest attempt started, if one did.
    public var startedAt: Date?
    /// When it finished, if it did.
    public var finishedAt: Date?
    /// The last failed attempt's error (a handler's message, the tail of a command's stderr).
    public var lastError: String?
    /// The output of a completed job that has one (GET only: cancel and retry answers omit it).
    public var output: Output?
    /// The progress its current (or last) attempt reported, if it reported any (DESIGN.md §14).
    public var progress: Progress?

    enum CodingKeys: String, CodingKey {
        case id = "jobId", type, queue, status, priority, attempt, maxAttempts, createdAt, runAt, startedAt, finishedAt
        case lastError, output, progress
    }
}

/// One state change of a job, from `GET /v1/jobs/{id}/events` (oldest first).
public struct JobHistoryEvent: Sendable, Hashable, Codable {
    /// What happened: `submitted`, `started`, `completed`, `retry_scheduled`, `failed`,
    /// `lease_expired`, `cancel_requested`, `cancelled`, `requeued`, `redriven`.
    public var event: String
    /// When.
    public var at: Date
    /// The state before, if the event changed it.
    public var fromStatus: JobState?
    /// The state after, if the event changed it.
    public var toStatus: JobState?
    /// The attempt it belongs to.
    public var attempt: Int
    /// The worker involved, if any.
    public var worker: String?
    /// Detail such as an attempt's error.
    public var message: String?
}

/// One page of `GET /v1/jobs`: the tenant's jobs, newest first.
public struct JobPage: Sendable, Hashable, Codable {
    /// The jobs of this page.
    public var jobs: [JobSnapshot]
    /// The cursor of the next page (pass it as `after`), nil on the last page.
    public var next: String?
}

/// The API's error body, `{"error":{"code","message","field"}}`.
struct ErrorBody: Decodable {
    struct Detail: Decodable {
        var code: String
        var message: String
        var field: String?
    }
    var error: Detail
}

/// A batch's answer, `{"jobs":[{"jobId","status"},…]}`.
struct BatchAnswer: Decodable {
    var jobs: [SubmittedJob]
}

/// The events' answer, `{"events":[…]}`.
struct EventsAnswer: Decodable {
    var events: [JobHistoryEvent]
}

/// The API's timestamps: RFC 3339 in UTC with milliseconds (`2025-01-02T03:04:05.678Z`).
enum APITimestamp {
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 timestamp: \(text)")
            }
            return date
        }
        return d
    }

    static func parse(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }

    /// `date` as the API accepts it in `runAt`, with milliseconds.
    static func format(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }
}
