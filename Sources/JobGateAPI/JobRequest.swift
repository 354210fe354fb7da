import Foundation
import JobGateCore
import JobGateHTTP
import JobGatePostgres

/// Turns the JSON of a submit request into a `NewJob`, checking every field
/// (DESIGN.md §7) and applying the job type's defaults from its `JobTypeSettings`.
public struct JobRequestValidator: Sendable {
    /// Known job types and their defaults; any other type is refused with 400.
    public var jobTypes: [String: JobTypeSettings]
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

    /// A validator for the given types.
    public init(jobTypes: [String: JobTypeSettings], maxPayloadBytes: Int = 256 * 1024) {
        self.jobTypes = jobTypes
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Validates one job request; errors name fields with `f`'s prefix (`jobs[2].`).
    /// `headerKey` is the `Idempotency-Key` header, which must agree with the field if both are given.
    func newJob(_ f: JSONFields, tenant: String, headerKey: String? = nil,
                traceID: String? = nil, now: Date = Date()) throws(APIError) -> NewJob {
        try f.rejectUnknown(Self.fields)
        guard let type = try f.string("type", maxLength: 128) else {
            throw APIError(status: 400, code: "missing_field", message: "\(f.name("type")) is required.", field: f.name("type"))
        }
        guard let settings = jobTypes[type] else {
            throw APIError(status: 400, code: "unknown_job_type",
                           message: "Unknown job type \"\(type)\"; known types: \(jobTypes.keys.sorted().joined(separator: ", ")).",
                           field: f.name("type"))
        }
        var job = settings.newJob(tenant: tenant, type: type)
        // Stored as sent: the text was validated as JSON, and jsonb normalises it.
        if let payload = f.rawText("payload") { job.payload = payload }
        try checkPayloadSize(job.payload.utf8.count, field: f.name("payload"))
        if let queue = try f.string("queue", maxLength: 128) {
            guard Self.isValidQueueName(queue) else {
                throw APIError.invalidField(f.name("queue"), "\(f.name("queue")) may contain only letters, digits and . _ : -")
            }
            job.queue = queue
        }
        if let p = try f.int("priority", in: Self.priorityRange) { job.priority = p }
        if let m = try f.int("maxAttempts", in: Self.maxAttemptsRange) { job.maxAttempts = m }
        if let t = try f.int("timeoutSeconds", in: Self.timeoutRange) { job.timeoutSeconds = t }
        let delay = try f.double("delaySeconds", in: Self.delayRange)
        if let text = try f.string("runAt", maxLength: 64) {
            guard delay == nil else {
                throw APIError.invalidField(f.name("runAt"), "Give either runAt or delaySeconds, not both.")
            }
            guard let date = Self.parseDate(text) else {
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

    static func isValidQueueName(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == ":" || c == "-"
        }
    }

    /// An RFC 3339 date-time (`2030-01-02T03:04:05.5+01:00`; `T` and `Z` in either case), with
    /// every field in its range (no 12:99, no February 30, no leap second) and an instant from
    /// 0001-01-01T00:00:00Z to before 9999-12-31T23:59:59Z (so neither an offset nor rounding
    /// carries it into year 0, which PostgreSQL refuses, or 10000, which it prints with five
    /// digits); nil for anything else. Foundation's ISO 8601 parser rolls over out-of-range fields instead.
    public static func parseDate(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for c in b[from..<(from + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { return nil }
                v = v * 10 + Int(c - UInt8(ascii: "0"))
            }
            return v
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard let year = digits(0, 4), at(4, "-"), let month = digits(5, 2), at(7, "-"), let day = digits(8, 2),
              at(10, "T") || at(10, "t"), let hour = digits(11, 2), at(13, ":"), let minute = digits(14, 2),
              at(16, ":"), let second = digits(17, 2) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard year >= 1, (1...12).contains(month), (1...monthDays[month - 1]).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var i = 19
        var fraction = 0.0
        if at(i, ".") {
            i += 1
            var scale = 0.1
            let start = i
            while let d = digits(i, 1) {
                fraction += Double(d) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-") {
            guard let oh = digits(i + 1, 2), at(i + 3, ":"), let om = digits(i + 4, 2), oh < 24, om < 60 else { return nil }
            offset = (at(i, "-") ? -1 : 1) * (oh * 3600 + om * 60)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = PostgresTimestamp.secondsSinceEpoch(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        let utc = Double(seconds - offset) + fraction
        guard utc >= Self.firstInstant, utc < Self.lastSecond else { return nil }
        return Date(timeIntervalSince1970: utc)
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, as seconds since 1970.
    static let firstInstant = -62_135_596_800.0
    static let lastSecond = 253_402_300_799.0
}
