import JobGateHTTP
import JobGateSystem

/// Reading JSON request bodies: media type check (415), parsing (400 for malformed JSON)
/// and typed field access that names the offending field (400).
enum JSONBody {
    /// Refuses a declared non-JSON media type. A body without `Content-Type` is read as JSON.
    static func checkContentType(_ request: HTTPRequest) throws(APIError) {
        guard let raw = request.headers["Content-Type"] else { return }
        let media = ASCII.trimmed(raw.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if ASCII.equalsIgnoringCase(media, "application/json") { return }
        if ASCII.hasPrefixIgnoringCase(media, "application/"), media.lowercased().hasSuffix("+json") { return }
        throw APIError.unsupportedMediaType
    }

    /// Parses any JSON value.
    static func parse(_ bytes: [UInt8]) throws(APIError) -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            if error.isNUL { throw APIError.invalidText(field: error.field) }
            throw APIError.malformedJSON(error.description, field: error.field)
        }
    }

    /// The body as a JSON object.
    static func object(_ request: HTTPRequest) throws(APIError) -> JSONFields {
        try checkContentType(request)
        if request.body.isEmpty {
            throw APIError(status: 400, code: "missing_body", message: "The request needs a JSON object body.")
        }
        guard case .object(let object) = try parse(request.body) else {
            throw APIError(status: 400, code: "invalid_body", message: "The request body must be a JSON object.")
        }
        return JSONFields(object, source: request.body)
    }
}

/// Typed access to the members of one JSON object; errors name the field with `prefix`
/// (e.g. `jobs[3].`).
struct JSONFields {
    let object: JSONObject
    /// The text the object was parsed from (member ranges point into it).
    let source: [UInt8]
    let prefix: String

    init(_ object: JSONObject, source: [UInt8], prefix: String = "") {
        self.object = object
        self.source = source
        self.prefix = prefix
    }

    func name(_ key: String) -> String { prefix + key }

    /// Refuses members outside `known` (catches typos such as `delay_seconds`).
    func rejectUnknown(_ known: Set<String>) throws(APIError) {
        guard object.members.contains(where: { !known.contains($0.key) }) else { return }
        if let extra = object.members.map(\.key).sorted().first(where: { !known.contains($0) }) {
            throw APIError(status: 400, code: "unknown_field", message: "Unknown field \"\(extra)\".", field: name(extra))
        }
    }

    /// The member, treating JSON null as absent.
    func value(_ key: String) -> JSONValue? {
        guard let m = object[key] else { return nil }
        if case .null = m.value { return nil }
        return m.value
    }

    /// The member's text exactly as sent (JSON null included), or nil when absent.
    func rawText(_ key: String) -> String? {
        guard let m = object[key] else { return nil }
        return String(decoding: source[m.range], as: UTF8.self)
    }

    /// The fields of a nested object, or nil when `value` is not one.
    func fields(of value: JSONValue, prefix: String) -> JSONFields? {
        guard case .object(let o) = value else { return nil }
        return JSONFields(o, source: source, prefix: prefix)
    }

    func string(_ key: String, maxLength: Int = 256, allowEmpty: Bool = false) throws(APIError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw APIError.invalidField(name(key), "\(name(key)) must be a string.") }
        if !allowEmpty && s.isEmpty { throw APIError.invalidField(name(key), "\(name(key)) must not be empty.") }
        if s.utf8.count > maxLength { throw APIError.invalidField(name(key), "\(name(key)) is longer than \(maxLength) bytes.") }
        // The parser refuses \u0000 already; this keeps any other way of building fields from
        // handing the database a NUL (DESIGN.md §13).
        if s.utf8.contains(0) { throw APIError.invalidText(field: name(key)) }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw APIError.invalidField(name(key), "\(name(key)) must be true or false.") }
        return b
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let v = value(key) else { return nil }
        guard case .number(let n) = v, case let d = n.double, d.isFinite, d.rounded() == d else {
            throw APIError.invalidField(name(key), "\(name(key)) must be an integer.")
        }
        guard d >= Double(range.lowerBound), d <= Double(range.upperBound) else {
            throw APIError.invalidField(name(key), "\(name(key)) must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return Int(d)
    }

    func double(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let v = value(key) else { return nil }
        guard case .number(let n) = v, n.double.isFinite else {
            throw APIError.invalidField(name(key), "\(name(key)) must be a number.")
        }
        guard range.contains(n.double) else {
            throw APIError.invalidField(name(key), "\(name(key)) must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return n.double
    }
}
