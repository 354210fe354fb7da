import Foundation

/// Why a `JobGateClient` call failed.
///
/// `kind` says which way it failed; for `.api` the API's own answer is here as it sent it:
/// the HTTP status, the stable `code` (`not_found`, `unknown_job_type`, `idempotency_conflict`,
/// `rate_limited`…), the human `message`, the request `field` at fault, `Retry-After` and the
/// request's `X-Request-Id` (quote it when asking an operator to look at the logs).
public struct JobGateClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which way a call failed. An extensible set of constants rather than an enum, so new
    /// kinds do not break a `switch` in code built against this version.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// The API answered with its error body (`{"error":{"code","message","field"}}`).
        public static let api = Kind(name: "api")
        /// The server could not be reached, or the connection failed before a whole answer arrived.
        public static let transport = Kind(name: "transport")
        /// The server answered something this client does not understand (not JobGate's API?).
        public static let invalidResponse = Kind(name: "invalidResponse")
        /// Refused before sending: a payload that is not JSON, a URL this client cannot use.
        public static let invalidRequest = Kind(name: "invalidRequest")
        /// `waitForCompletion` ran out of time; `job` is the last state seen, if any.
        public static let timedOut = Kind(name: "timedOut")

        /// The kind's name, as in `description`.
        public let name: String
        /// The kind's name.
        public var description: String { name }
    }

    /// Which way the call failed.
    public var kind: Kind
    /// The HTTP status of the answer (`.api`, `.invalidResponse`), else nil.
    public var status: Int?
    /// The API's machine-readable error code (`.api` only), e.g. `not_found`.
    public var code: String?
    /// What went wrong, for humans: the API's message for `.api`.
    public var message: String
    /// The request field the API blames (`type`, `jobs[3].priority`), if any.
    public var field: String?
    /// Seconds the API asked to wait before trying again (`Retry-After` of a 429 or 503).
    public var retryAfterSeconds: Int?
    /// The `X-Request-Id` of the failed request, when the server sent one.
    public var requestID: String?
    /// For `.timedOut`: the job as last seen (nil if no status was read in time).
    public var job: JobSnapshot?

    /// An error with the given parts (the client makes these; tests may too).
    public init(kind: Kind, status: Int? = nil, code: String? = nil, message: String, field: String? = nil,
                retryAfterSeconds: Int? = nil, requestID: String? = nil, job: JobSnapshot? = nil) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
        self.requestID = requestID
        self.job = job
    }

    /// Whether trying the same call again later may succeed: the server was unreachable,
    /// overloaded (429) or without its database (503), or a gateway failed (502, 504).
    /// A submit retried after such an error should carry an idempotency key.
    public var isTransient: Bool {
        kind == .transport || (kind == .api && [429, 502, 503, 504].contains(status ?? 0))
    }

    /// One line: the kind, the status and code when there are some, and the message.
    public var description: String {
        var s = "JobGate client: " + kind.name
        if let status { s += " HTTP \(status)" }
        if let code { s += " \(code)" }
        s += ": " + message
        if let field { s += " (field \(field))" }
        return s
    }
}
