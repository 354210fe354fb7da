import Foundation
import JobGateSystem

/// One query parameter as sent to the server: text, binary (`bytea`) or NULL.
public enum PostgresParameter: Sendable, Equatable {
    /// SQL NULL.
    case null
    /// A value in PostgreSQL's text format; the server casts it to the parameter's type.
    case text(String)
    /// Raw bytes sent in binary format (for `bytea` parameters).
    case binary([UInt8])
}

/// A Swift value that can be sent as a query parameter.
public protocol PostgresBindable: Sendable {
    /// The value as a parameter.
    var postgresParameter: PostgresParameter { get }
}

extension PostgresParameter: PostgresBindable {
    public var postgresParameter: PostgresParameter { self }
}

extension String: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(self) }
}

extension Substring: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Int: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Int64: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Int32: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Int16: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Double: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Bool: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(self ? "t" : "f") }
}

extension UUID: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(UUIDText.lowercased(self)) }
}

extension Date: PostgresBindable {
    public var postgresParameter: PostgresParameter { .text(PostgresTimestamp.format(self)) }
}

/// Bytes go in binary format: no escaping, no hex doubling. Other arrays go as one text
/// array literal, written straight into bytes (this runs for every group commit, on the
/// committing connection's thread, so it is kept free of per-element strings).
extension Array: PostgresBindable where Element: PostgresArrayElement {
    public var postgresParameter: PostgresParameter {
        // Check the element type, not a cast: an empty [String] would cast to [UInt8].
        if Element.self == UInt8.self, let bytes = self as? [UInt8] { return .binary(bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(count * 24 + 2)
        out.append(UInt8(ascii: "{"))
        // An index loop: this runs unspecialised (through `any PostgresBindable`), where
        // `enumerated()` cost a generic metadata lookup per element.
        for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            self[i].appendPostgresArrayItem(to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return .text(String(decoding: out, as: UTF8.self))
    }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresParameter: PostgresParameter {
        switch self {
        case .none: return .null
        case .some(let v): return v.postgresParameter
        }
    }
}

/// A value that can be an element of an array parameter (sent as a text array literal).
public protocol PostgresArrayElement: Sendable {
    /// Appends the element as an item of an array literal: `NULL`, a bare number, or its text
    /// in double quotes with `"` and `\` escaped.
    func appendPostgresArrayItem(to out: inout [UInt8])
}

extension UInt8: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendDecimal(Int64(self), to: &out) }
}
extension String: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendQuoted(self, to: &out) }
}
extension Int: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendDecimal(Int64(self), to: &out) }
}
extension Int64: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendDecimal(self, to: &out) }
}
extension Int32: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendDecimal(Int64(self), to: &out) }
}
extension Int16: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendDecimal(Int64(self), to: &out) }
}
extension Double: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendQuoted(String(self), to: &out) }
}
extension Bool: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { out.append(self ? UInt8(ascii: "t") : UInt8(ascii: "f")) }
}
extension UUID: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        UUIDText.append(self, to: &out)
        out.append(UInt8(ascii: "\""))
    }
}
extension Date: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) { PostgresArrayLiteral.appendQuoted(PostgresTimestamp.format(self), to: &out) }
}
extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    public func appendPostgresArrayItem(to out: inout [UInt8]) {
        if let self { self.appendPostgresArrayItem(to: &out) } else { out.append(contentsOf: "NULL".utf8) }
    }
}

/// Pieces of PostgreSQL's array literal syntax (`{"a","b",NULL}`).
enum PostgresArrayLiteral {
    /// `"text"` with `"` and `\` escaped.
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                out.append(UInt8(ascii: "\\"))
                runStart = i
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A decimal integer (needs no quotes).
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                n += 1
            } while magnitude > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }
}

/// Formats and parses `timestamptz` text in the ISO style with UTC, which every
/// connection of this module sets (`DateStyle=ISO`, `TimeZone=UTC`).
public enum PostgresTimestamp {
    /// `2026-11-29 03:56:06.123456+00`
    public static func format(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var secs = Int(t.rounded(.down))
        var micros = Int(((t - Double(secs)) * 1_000_000).rounded())
        if micros >= 1_000_000 { secs += 1; micros -= 1_000_000 }
        var tt = time_t(secs)
        var parts = tm()
        gmtime_r(&tt, &parts)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return s.count >= n ? s : String(repeating: "0", count: n - s.count) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(micros), 6))+00"
    }

    /// Parses the server's ISO output (`YYYY-MM-DD HH:MM:SS[.ffffff]+00[:MM]`); nil if it is not that.
    public static func parse(_ s: String) -> Date? {
        let b = Array(s.utf8)
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[13] == UInt8(ascii: ":") else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            var v = 0
            for i in from..<(from + len) {
                guard i < b.count, b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
              let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2) else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offsetSeconds = 0
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = num(i + 1, 2) else { return nil }
            var om = 0
            if i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let m = num(i + 4, 2) { om = m }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        }
        let epoch = Double(secondsSinceEpoch(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
                           - offsetSeconds) + fraction
        return Date(timeIntervalSince1970: epoch)
    }

    /// Seconds since 1970-01-01 00:00:00 UTC of a proleptic Gregorian date and time in UTC
    /// (Howard Hinnant's days-from-civil, avoiding Calendar on a hot path). No range checks.
    public static func secondsSinceEpoch(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + hour * 3600 + minute * 60 + second
    }
}
