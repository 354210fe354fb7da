import Foundation
import JobGateSystem

/// One job to submit: the request body of `POST /v1/jobs`, and one element of a batch.
///
/// Fields left nil take the job type's defaults on the server (its queue, attempts and time
/// limit from `job_types`). The payload is kept as JSON text, sent as it is.
public struct JobSubmission: Sendable, Hashable {
    /// The job type (required; the API refuses a type it does not know with `unknown_job_type`).
    public var type: String
    /// The payload as JSON text (any JSON value; `{}` by default).
    public private(set) var payloadJSON: String
    /// The queue; nil for the type's own.
    public var queue: String?
    /// Lower runs first (-32768…32767); nil for 0.
    public var priority: Int?
    /// Not before this time; nil for now. Do not set together with `delaySeconds`.
    public var runAt: Date?
    /// Not before this many seconds from the server's now; nil for none.
    public var delaySeconds: Double?
    /// Attempts before `failed` (1…1000); nil for the type's.
    public var maxAttempts: Int?
    /// Each attempt's time limit in seconds (1…86400); nil for the type's.
    public var timeoutSeconds: Int?
    /// Submitting again with the same key (in the same tenant) returns the same job instead of
    /// a second one: set it whenever a submit may be retried.
    public var idempotencyKey: String?

    /// A job whose payload is already JSON text. Throws `.invalidRequest` if it is not JSON.
    public init(type: String, payloadJSON: String = "{}", queue: String? = nil, priority: Int? = nil, runAt: Date? = nil,
                delaySeconds: Double? = nil, maxAttempts: Int? = nil, timeoutSeconds: Int? = nil,
                idempotencyKey: String? = nil) throws(JobGateClientError) {
        do {
            _ = try JSONValue.parse(Array(payloadJSON.utf8))
        } catch {
            throw JobGateClientError(kind: .invalidRequest, message: "the payload is not JSON: \(error)", field: "payload")
        }
        if let delaySeconds, !delaySeconds.isFinite {
            throw JobGateClientError(kind: .invalidRequest, message: "delaySeconds must be a finite number", field: "delaySeconds")
        }
        self.type = type
        self.payloadJSON = payloadJSON
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.delaySeconds = delaySeconds
        self.maxAttempts = maxAttempts
        self.timeoutSeconds = timeoutSeconds
        self.idempotencyKey = idempotencyKey
    }

    /// A job whose payload is `payload` encoded as JSON (`encoder`'s settings: dates, keys…).
    /// Throws `.invalidRequest` when it cannot be encoded.
    public init<Payload: Encodable>(type: String, payload: Payload, queue: String? = nil, priority: Int? = nil, runAt: Date? = nil,
                                    delaySeconds: Double? = nil, maxAttempts: Int? = nil, timeoutSeconds: Int? = nil,
                                    idempotencyKey: String? = nil, encoder: JSONEncoder = JSONEncoder()) throws(JobGateClientError) {
        let data: Data
        do { data = try encoder.encode(payload) } catch {
            throw JobGateClientError(kind: .invalidRequest, message: "the payload cannot be encoded as JSON: \(error)", field: "payload")
        }
        try self.init(type: type, payloadJSON: String(decoding: data, as: UTF8.self), queue: queue, priority: priority, runAt: runAt,
                      delaySeconds: delaySeconds, maxAttempts: maxAttempts, timeoutSeconds: timeoutSeconds,
                      idempotencyKey: idempotencyKey)
    }

    /// Appends the request's JSON object (the payload as its text, the rest escaped).
    func appendJSON(to out: inout [UInt8]) {
        out += Array("{\"type\":".utf8)
        JSONText.appendQuoted(type, to: &out)
        out += Array(",\"payload\":".utf8)
        out += Array(payloadJSON.utf8)
        func member(_ name: String, _ text: String) {
            out += Array(",\"\(name)\":".utf8)
            out += Array(text.utf8)
        }
        if let queue { member("queue", JSONText.quote(queue)) }
        if let priority { member("priority", String(priority)) }
        if let runAt { member("runAt", JSONText.quote(APITimestamp.format(runAt))) }
        if let delaySeconds { member("delaySeconds", String(delaySeconds)) }
        if let maxAttempts { member("maxAttempts", String(maxAttempts)) }
        if let timeoutSeconds { member("timeoutSeconds", String(timeoutSeconds)) }
        if let idempotencyKey { member("idempotencyKey", JSONText.quote(idempotencyKey)) }
        out.append(UInt8(ascii: "}"))
    }
}
