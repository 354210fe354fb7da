import Foundation
import JobGateHTTP

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

    /// Parses any JSON value (`NSNull` for null).
    static func parse(_ bytes: [UInt8]) throws(APIError) -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo["NSDebugDescription"] as? String ?? "parse error"
            throw APIError.malformedJSON(detail)
        }
    }

    /// The body as a JSON object; an empty body is `{}` when `emptyIsObject`.
    static func object(_ request: HTTPRequest, emptyIsObject: Bool = false) throws(APIError) -> [String: Any] {
        try checkContentType(request)
        if request.body.isEmpty {
            if emptyIsObject { return [:] }
            throw APIError(status: 400, code: "missing_body", message: "The request needs a JSON object body.")
        }
        guard let object = try parse(request.body) as? [String: Any] else {
            throw APIError(status: 400, code: "invalid_body", message: "The request body must be a JSON object.")
        }
        return object
    }

    /// Re-encodes a parsed value as compact JSON text.
    static func encode(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]) else {
            return "null"
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Typed access to the members of one JSON object; errors name the field with `prefix`
/// (e.g. `jobs[3].`).
struct JSONFields {
    let object: [String: Any]
    let prefix: String

    init(_ object: [String: Any], prefix: String = "") {
        self.object = object
        self.prefix = prefix
    }

    func name(_ key: String) -> String { prefix + key }

    /// Refuses members outside `known` (catches typos such as `delay_seconds`).
    func rejectUnknown(_ known: Set<String>) throws(APIError) {
        if let extra = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw APIError(status: 400, code: "unknown_field", message: "Unknown field \"\(extra)\".", field: name(extra))
        }
    }

    /// The member, treating JSON null as absent.
    func value(_ key: String) -> Any? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        return v
    }

    func string(_ key: String, maxLength: Int = 256, allowEmpty: Bool = false) throws(APIError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String, !Self.isNumber(v) else { throw APIError.invalidField(name(key), "\(name(key)) must be a string.") }
        if !allowEmpty && s.isEmpty { throw APIError.invalidField(name(key), "\(name(key)) must not be empty.") }
        if s.utf8.count > maxLength { throw APIError.invalidField(name(key), "\(name(key)) is longer than \(maxLength) bytes.") }
        return s
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let v = value(key) else { return nil }
        guard Self.isNumber(v), let n = v as? NSNumber, let d = Optional(n.doubleValue), d.isFinite, d.rounded() == d else {
            throw APIError.invalidField(name(key), "\(name(key)) must be an integer.")
        }
        guard d >= Double(range.lowerBound), d <= Double(range.upperBound) else {
            throw APIError.invalidField(name(key), "\(name(key)) must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return Int(d)
    }

    func double(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let v = value(key) else { return nil }
        guard Self.isNumber(v), let n = v as? NSNumber, n.doubleValue.isFinite else {
            throw APIError.invalidField(name(key), "\(name(key)) must be a number.")
        }
        guard range.contains(n.doubleValue) else {
            throw APIError.invalidField(name(key), "\(name(key)) must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return n.doubleValue
    }

    /// True for JSON numbers (not booleans, which Foundation also boxes as NSNumber).
    static func isNumber(_ v: Any) -> Bool {
        guard let n = v as? NSNumber, !(v is String) else { return false }
        return String(cString: n.objCType) != "c"
    }
}
