import Foundation
import JobGatePostgres

/// RFC 3339 timestamps as the API accepts them (`runAt`) and the bench reads them back.
public enum RFC3339 {
    /// An RFC 3339 date-time (`2030-01-02T03:04:05.5+01:00`; `T` and `Z` in either case), with
    /// every field in its range (no 12:99, no February 30, no leap second) and an instant from
    /// 0001-01-01T00:00:00Z to before 9999-12-31T23:59:59Z (so neither an offset nor rounding
    /// carries it into year 0, which PostgreSQL refuses, or 10000, which it prints with five
    /// digits); nil for anything else. Foundation's ISO 8601 parser rolls over out-of-range fields instead.
    public static func date(_ text: String) -> Date? {
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
