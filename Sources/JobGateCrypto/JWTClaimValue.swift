#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JobGateSystem

/// A JSON value as found in a JWT header, payload or JWK.
///
/// Claims are arbitrary JSON, so they are kept as a small `Sendable` tree
/// rather than `Any`. Numbers are `Double`, which is exact for NumericDate
/// values and every integer up to 2^53.
public enum JWTClaimValue: Sendable, Hashable {
    /// A JSON string.
    case string(String)
    /// A JSON number.
    case number(Double)
    /// A JSON `true` or `false`.
    case bool(Bool)
    /// A JSON array.
    case array([JWTClaimValue])
    /// A JSON object.
    case object([String: JWTClaimValue])
    /// A JSON `null`.
    case null

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The number, if this is a number.
    public var numberValue: Double? {
        if case .number(let value) = self { value } else { nil }
    }

    /// The Boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JWTClaimValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The members, if this is an object.
    public var objectValue: [String: JWTClaimValue]? {
        if case .object(let value) = self { value } else { nil }
    }
}

extension JWTClaimValue: Codable {
    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // JSONDecoder is strict about types (a number never decodes as Bool),
        // so trying each kind in turn is unambiguous.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JWTClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JWTClaimValue].self))
        }
    }

    /// Encodes this value as JSON; integral numbers are written without a
    /// fraction so NumericDates look like every other issuer's.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 9_007_199_254_740_992 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}

extension JWTClaimValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    /// A string claim written as a literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A numeric claim written as an integer literal.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A numeric claim written as a floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A Boolean claim written as a literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array claim written as a literal.
    public init(arrayLiteral elements: JWTClaimValue...) { self = .array(elements) }
    /// An object claim written as a literal.
    public init(dictionaryLiteral elements: (String, JWTClaimValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    /// `null` written as `nil`.
    public init(nilLiteral: ()) { self = .null }
}

extension JWTClaimValue {
    /// A NumericDate claim (seconds since the epoch) for `date`.
    public static func date(_ date: Date) -> JWTClaimValue {
        .number(date.timeIntervalSince1970.rounded(.down))
    }

    /// Parses a JSON object; nil if `bytes` is not JSON or not an object. Parsed by the code
    /// base's one JSON parser (`JSONValue`), so a token is held to what a request body is: valid
    /// UTF-8, no `\u0000` (DESIGN.md §13); duplicate keys resolve to the last.
    static func parseObject(_ bytes: some Collection<UInt8>) -> [String: JWTClaimValue]? {
        guard case .object(let object)? = try? JSONValue.parse(Array(bytes)) else { return nil }
        return object.dictionary.mapValues(JWTClaimValue.init)
    }

    /// The claim tree of a parsed JSON value (numbers as `Double`).
    init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n): self = .number(n.double)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JWTClaimValue.init))
        case .object(let o): self = .object(o.dictionary.mapValues(JWTClaimValue.init))
        }
    }

    /// Compact JSON with sorted keys, so signed output is reproducible.
    static func serialize(_ object: [String: JWTClaimValue]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a tree of strings, finite numbers and containers cannot
        // fail except for non-finite numbers, which no claim should hold.
        guard let data = try? encoder.encode(object) else {
            preconditionFailure("JWT claims contain a value JSON cannot encode (NaN or infinity)")
        }
        return Array(data)
    }
}
