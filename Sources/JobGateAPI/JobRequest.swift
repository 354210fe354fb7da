import Foundation
import JobGateCore
import JobGateHTTP
import JobGatePostgres

/// Turns the JSON of a submit request into a `NewJob`, checking every field
/// (DESIGN.md §7) and applying the job type's defaults from its `JobTypeSettings`.
public struct JobRequestValidator: Sendable {
    /// Known job types and their defaults, read at each request; any other type is refused with 400.
    public let types: @Sendable () -> [String: JobTypeSettings]
    /// Largest payload, as JSON text, in bytes (413 above).
    public var maxPayloadBytes: Int

    /// Limits of the optional fields.
    public static let priorityRange = -32768...32767
    /// `maxAttempts` limits.
    public static let maxAttemptsRange = 1...1000
    /// `timeoutSeconds` limits (one day at most).
    public static let timeoutRange = 1...86_400
    /// `delaySeconds` limits (one year at most).
    public static let delayRange = 0.0...31_536_000.0
    /// Request fields of `POST /v1/jobs` and each element of a batch.
    static let fields: Set<String> = ["type", "payload", "queue", "priority", "runAt", "delaySeconds", "maxAttempts",
                                      "timeoutSeconds", "idempotencyKey"]

    /// A validator for the types `types` returns at each request (a `JobTypeCatalog`'s).
    public init(types: @escaping @Sendable () -> [String: JobTypeSettings], maxPayloadBytes: Int = 256 * 1024) {
        self.types = types
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Validates one job request; errors name fields with `f`'s prefix (`jobs[2].`).
    /// `headerKey` is the `Idempotency-Key` header, which must agree with the field if both are given.
    func newJob(_ f: JSONFields, tenant: String, headerKey: String? = nil,
                traceID: String? = nil, now: Date = Date()) throws(APIError) -> NewJob {
        try f.rejectUnknown(Self.fields)
        guard let (type, settings) = try jobType(f) else { throw APIError.missingField(f.name("type")) }
        var job = settings.newJob(tenant: tenant, type: type)
        if let payload = try payload(f) { job.payload = payload }
        if let queue = try Self.queue(f) { job.queue = queue }
        if let p = try f.int("priority", in: Self.priorityRange) { job.priority = p }
        if let m = try f.int("maxAttempts", in: Self.maxAttemptsRange) { job.maxAttempts = m }
        if let t = try f.int("timeoutSeconds", in: Self.timeoutRange) { job.timeoutSeconds = t }
        let delay = try f.double("delaySeconds", in: Self.delayRange)
        if let text = try f.string("runAt", maxLength: 64) {
            guard delay == nil else {
                throw APIError.invalidField(f.name("runAt"), "Give either runAt or delaySeconds, not both.")
            }
            guard let date = RFC3339.date(text) else {
                throw APIError.invalidField(f.name("runAt"), "\(f.name("runAt")) must be an RFC 3339 timestamp such as 2030-01-02T03:04:05Z.")
            }
            job.runAt = date
        } else if let delay, delay > 0 {
            job.runAt = now.addingTimeInterval(delay)
        }
        let fieldKey = try f.string("idempotencyKey", maxLength: 255)
        if let headerKey, let fieldKey, !headerKey.utf8.elementsEqual(fieldKey.utf8) {
            throw APIError.invalidField(f.name("idempotencyKey"), "The Idempotency-Key header and the idempotencyKey field differ.")
        }
        job.idempotencyKey = fieldKey ?? headerKey
        job.traceId = traceID
        return job
    }

    /// The job type `type` names and its settings; nil when absent, 400 when unknown. Submits and
    /// schedules (which make jobs later) check types the same way.
    func jobType(_ f: JSONFields) throws(APIError) -> (String, JobTypeSettings)? {
        guard let type = try f.string("type", maxLength: 128) else { return nil }
        let jobTypes = types()
        guard let settings = jobTypes[type] else {
            throw APIError(status: 400, code: "unknown_job_type",
                           message: "Unknown job type \"\(type)\"; known types: \(jobTypes.keys.sorted().joined(separator: ", ")).",
                           field: f.name("type"))
        }
        return (type, settings)
    }

    /// `payload` as sent (nil when absent): stored so, since the text was validated as JSON and
    /// jsonb normalises it; 413 over the limit.
    func payload(_ f: JSONFields) throws(APIError) -> String? {
        guard let payload = f.rawText("payload") else { return nil }
        try checkPayloadSize(payload.utf8.count, field: f.name("payload"))
        return payload
    }

    /// `queue`, checked against `QueueName`; nil when absent (or null).
    static func queue(_ f: JSONFields) throws(APIError) -> String? {
        guard let queue = try f.string("queue", maxLength: QueueName.maxLength) else { return nil }
        guard QueueName.isValid(queue) else {
            throw APIError.invalidField(f.name("queue"), "\(f.name("queue")) may contain only letters, digits and . _ : -")
        }
        return queue
    }

    /// 413 when a payload is over the limit.
    func checkPayloadSize(_ bytes: Int, field: String) throws(APIError) {
        if bytes > maxPayloadBytes {
            throw APIError(status: 413, code: "payload_too_large",
                           message: "The payload is \(bytes) bytes; the limit is \(maxPayloadBytes).", field: field)
        }
    }

    /// The `Idempotency-Key` header, checked (1...255 bytes).
    static func headerKey(_ request: HTTPRequest) throws(APIError) -> String? {
        guard let key = request.headers["Idempotency-Key"] else { return nil }
        guard !key.isEmpty, key.utf8.count <= 255 else {
            throw APIError(status: 400, code: "invalid_header", message: "Idempotency-Key must be 1 to 255 bytes.", field: "Idempotency-Key")
        }
        if key.utf8.contains(0) { throw APIError.invalidText(field: "Idempotency-Key") }
        return key
    }

    /// The trace id of a W3C `traceparent` header, if well formed.
    static func traceID(_ request: HTTPRequest) -> String? {
        guard let tp = request.headers["traceparent"] else { return nil }
        let parts = tp.split(separator: "-")
        guard parts.count == 4, parts[1].count == 32, parts[1].allSatisfy(\.isHexDigit) else { return nil }
        return String(parts[1])
    }
}
