import Foundation
import JobGateSystem

/// The rows a statement returned, copied out of libpq's result (text format).
public struct PostgresRows: Sendable, Sequence {
    /// Column names, in order.
    public let columns: [String]
    /// The rows.
    public let rows: [PostgresRow]
    /// Rows affected by an INSERT/UPDATE/DELETE (libpq's `PQcmdTuples`), or the row count.
    public let affectedRows: Int

    /// The number of rows.
    public var count: Int { rows.count }
    /// The first row, if any.
    public var first: PostgresRow? { rows.first }
    /// Rows in order.
    public func makeIterator() -> IndexingIterator<[PostgresRow]> { rows.makeIterator() }
}

/// One row: text values with explicit NULLs, decoded on access.
public struct PostgresRow: Sendable {
    /// Column names, shared by all rows of a result.
    public let columns: [String]
    /// The raw text values; nil is SQL NULL.
    public let values: [String?]

    /// The index of a column by name.
    public func index(of name: String) throws -> Int {
        guard let i = columns.firstIndex(of: name) else {
            throw PostgresError(code: .decoding, message: "no column named \(name)")
        }
        return i
    }

    /// Decodes column `column` as `T`; a NULL or undecodable value throws (use an Optional type to accept NULL).
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard column >= 0, column < values.count else {
            throw PostgresError(code: .decoding, message: "column index \(column) out of range")
        }
        return try T.decode(postgresText: values[column], column: columns[column])
    }

    /// Decodes the column named `name` as `T`.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try decode(index(of: name), as: type)
    }
}

/// A Swift type that can be read from a column's text value.
public protocol PostgresDecodable: Sendable {
    /// Decodes a value; `text` is nil for SQL NULL.
    static func decode(postgresText text: String?, column: String) throws -> Self
}

/// A type decoded from a non-NULL text value by a failable initializer.
public protocol PostgresTextDecodable: PostgresDecodable {
    /// Parses the server's text form; nil when it is not valid.
    init?(postgresText: String)
}

extension PostgresTextDecodable {
    public static func decode(postgresText text: String?, column: String) throws -> Self {
        guard let text else {
            throw PostgresError(code: .decoding, message: "column \(column) is NULL; decode as an Optional to accept NULL")
        }
        guard let v = Self(postgresText: text) else {
            throw PostgresError(code: .decoding, message: "column \(column) is not a valid \(Self.self)")
        }
        return v
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String?, column: String) throws -> Wrapped? {
        guard let text else { return nil }
        return try Wrapped.decode(postgresText: text, column: column)
    }
}

extension String: PostgresTextDecodable {
    public init?(postgresText: String) { self = postgresText }
}
extension Int: PostgresTextDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Int64: PostgresTextDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Int32: PostgresTextDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Int16: PostgresTextDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Double: PostgresTextDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Bool: PostgresTextDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}
extension UUID: PostgresTextDecodable {
    public init?(postgresText: String) {
        guard let u = UUIDText.parse(postgresText) else { return nil }
        self = u
    }
}
extension Date: PostgresTextDecodable {
    public init?(postgresText: String) {
        guard let d = PostgresTimestamp.parse(postgresText) else { return nil }
        self = d
    }
}

/// `bytea` arrives in hex text form (`\x0aff…`).
extension Array: PostgresDecodable, PostgresTextDecodable where Element == UInt8 {
    public init?(postgresText: String) {
        let b = Array(postgresText.utf8)
        guard b.count >= 2, b[0] == UInt8(ascii: "\\"), b[1] == UInt8(ascii: "x"), b.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((b.count - 2) / 2)
        var i = 2
        while i < b.count {
            guard let hi = nibble(b[i]), let lo = nibble(b[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }
}

/// Text arrays (`{a,"b c",NULL}`) decode to `[String?]`-like arrays of strings; NULL elements are dropped by `[String]`.
public struct PostgresTextArray: PostgresTextDecodable {
    /// The elements; nil for NULL.
    public let elements: [String?]
    public init?(postgresText: String) {
        guard let e = PostgresArrayParser.parse(postgresText) else { return nil }
        elements = e
    }
}

enum PostgresArrayParser {
    /// Parses a one-dimensional array literal.
    static func parse(_ s: String) -> [String?]? {
        var chars = Array(s.unicodeScalars)[...]
        guard chars.first == "{", chars.last == "}" else { return nil }
        chars = chars.dropFirst().dropLast()
        var out: [String?] = []
        if chars.isEmpty { return out }
        var i = chars.startIndex
        while i <= chars.endIndex {
            var value = String.UnicodeScalarView()
            var quoted = false
            if i < chars.endIndex, chars[i] == "\"" {
                quoted = true
                i += 1
                while i < chars.endIndex, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.endIndex { i += 1 }
                    value.append(chars[i])
                    i += 1
                }
                i += 1  // closing quote
            } else {
                while i < chars.endIndex, chars[i] != "," {
                    value.append(chars[i])
                    i += 1
                }
            }
            let str = String(value)
            out.append(!quoted && str == "NULL" ? nil : str)
            if i >= chars.endIndex { break }
            i += 1  // comma
        }
        return out
    }
}
