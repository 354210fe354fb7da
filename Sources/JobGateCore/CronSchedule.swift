import Foundation

/// A cron expression in an IANA time zone (DESIGN.md §14): five fields, minute hour
/// day-of-month month day-of-week, each `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or
/// `a/n`, or a comma-separated list of those; months and weekdays also by name (`jan`, `mon`);
/// weekday 0 and 7 are Sunday. Or one of `@hourly`, `@daily` (`@midnight`), `@weekly`,
/// `@monthly`, `@yearly` (`@annually`). When both day fields are restricted, a day matching
/// either one matches (as in Vixie cron).
///
/// Slots are wall-clock times of the zone, turned into instants by this rule:
/// - a local time that does not exist (skipped by a spring-forward change) fires at the instant
///   the clock would have shown it without the change, i.e. shifted forward by the gap: 02:30
///   on the day Berlin moves from 02:00 to 03:00 fires at 03:30 CEST; a slot that lands on an
///   instant another slot already has fires once;
/// - a local time that occurs twice (fall back) fires once, at its first occurrence, so a
///   schedule that runs during the repeated hour pauses for its second pass. Schedules that must
///   keep a steady rate through DST changes belong in UTC, the default.
///
/// Pure: no clock, no IO. `next(after:)` and `latest(atOrBefore:notBefore:)` are what the
/// scheduler asks.
public struct CronSchedule: Sendable, Equatable {
    /// The expression as given.
    public let expression: String
    /// The zone's IANA name as given (`UTC` when none was).
    public let timeZoneName: String
    let timeZone: TimeZone
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    /// Whether each day field started with `*` (then only the other one restricts days).
    let anyDayOfMonth: Bool
    let anyDayOfWeek: Bool

    /// The longest expression accepted, in bytes.
    public static let maxLength = 256
    /// The longest zone name accepted, in bytes.
    public static let maxTimeZoneLength = 64
    /// How far ahead `next(after:)` looks before deciding an expression never fires (a 29 February
    /// that is a Monday can be 40 years away).
    static let horizonYears = 50

    /// The named expressions and what they stand for.
    public static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses `expression` in the zone named `timeZone`; the error says what is wrong and where.
    public init(_ expression: String, timeZone: String = "UTC") throws(CronError) {
        guard let zone = Self.zone(timeZone) else {
            throw CronError(field: "timezone", "\"\(timeZone.prefix(Self.maxTimeZoneLength))\" is not an IANA time zone name such as UTC, Europe/Berlin or America/New_York")
        }
        guard expression.utf8.count <= Self.maxLength else {
            throw CronError(field: "cron", "a cron expression is at most \(Self.maxLength) bytes")
        }
        var text = expression.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("@") {
            guard let expanded = Self.macros[text.lowercased()] else {
                throw CronError(field: "cron", "unknown name \"\(text)\"; known: \(Self.macros.keys.sorted().joined(separator: ", "))")
            }
            text = expanded
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CronError(field: "cron", "a cron expression has five fields (minute hour day-of-month month day-of-week), not \(fields.count)")
        }
        self.expression = expression
        self.timeZoneName = timeZone
        self.timeZone = zone
        minutes = try Self.field(fields[0], "minute", 0...59)
        hours = try Self.field(fields[1], "hour", 0...23)
        daysOfMonth = try Self.field(fields[2], "day-of-month", 1...31)
        months = try Self.field(fields[3], "month", 1...12, names: Self.monthNames)
        var dow = try Self.field(fields[4], "day-of-week", 0...7, names: Self.weekdayNames)
        if dow & (1 << 7) != 0 { dow = (dow | 1) & ~(1 << 7) }  // 7 is Sunday too
        daysOfWeek = dow
        anyDayOfMonth = fields[2].hasPrefix("*")
        anyDayOfWeek = fields[4].hasPrefix("*")
        guard next(after: Date(timeIntervalSince1970: 0)) != nil else {
            throw CronError(field: "cron", "\"\(expression)\" never matches a date (e.g. 30 February)")
        }
    }

    /// The zone named `name`: an IANA name the system knows, or `UTC`.
    static func zone(_ name: String) -> TimeZone? {
        guard name.utf8.count <= maxTimeZoneLength, name == "UTC" || name == "Etc/UTC" || knownZones.contains(name) else { return nil }
        return TimeZone(identifier: name)
    }

    private static let knownZones = Set(TimeZone.knownTimeZoneIdentifiers)
    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// One field as a bit set of the values it allows.
    private static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String] = []) throws(CronError) -> UInt64 {
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard !item.isEmpty, parts.count <= 2 else { throw CronError(field: "cron", "the \(name) field has an empty or malformed item in \"\(text)\"") }
            var step = 1
            if parts.count == 2 {
                guard let s = Int(parts[1]), (1...range.upperBound + 1).contains(s) else {
                    throw CronError(field: "cron", "the \(name) field's step \"\(parts[1])\" is not a number from 1 to \(range.upperBound + 1)")
                }
                step = s
            }
            let lower: Int, upper: Int
            if parts[0] == "*" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else {
                let ends = parts[0].split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw CronError(field: "cron", "the \(name) field has a malformed range \"\(parts[0])\"") }
                lower = try value(ends[0], name, range, names)
                upper = ends.count == 2 ? try value(ends[1], name, range, names) : (parts.count == 2 ? range.upperBound : lower)
                guard lower <= upper else {
                    throw CronError(field: "cron", "the \(name) field's range \"\(parts[0])\" runs backwards")
                }
            }
            for v in stride(from: lower, through: upper, by: step) { bits |= 1 << UInt64(v) }
        }
        return bits
    }

    private static func value(_ text: Substring, _ name: String, _ range: ClosedRange<Int>, _ names: [String]) throws(CronError) -> Int {
        if let i = names.firstIndex(of: text.lowercased()) { return i + (name == "month" ? 1 : 0) }
        guard let v = Int(text), range.contains(v) else {
            let named = names.isEmpty ? "" : " or a name (\(names.first!)…\(names.last!))"
            throw CronError(field: "cron", "the \(name) field's value \"\(text)\" is not a number from \(range.lowerBound) to \(range.upperBound)\(named)")
        }
        return v
    }

    // MARK: evaluation

    /// The first slot strictly after `instant`, or nil when none comes within `horizonYears`.
    public func next(after instant: Date) -> Date? {
        let t = instant.timeIntervalSince1970
        let localStart = Int64((t + Double(timeZone.secondsFromGMT(for: instant))).rounded(.down))
        var c = Civil(localSeconds: localStart - ((localStart % 60) + 60) % 60 + 60)
        let lastYear = c.year + Self.horizonYears
        while c.year <= lastYear {
            if months & (1 << UInt64(c.month)) == 0 {
                c.nextMonth()
            } else if c.day > Civil.daysIn(year: c.year, month: c.month) {
                c.nextMonth()
            } else if !dayMatches(c) {
                c.nextDay()
            } else if hours & (1 << UInt64(c.hour)) == 0 {
                c.nextHour()
            } else if minutes & (1 << UInt64(c.minute)) == 0 {
                c.nextMinute()
            } else {
                if let at = resolve(c), at.timeIntervalSince1970 > t { return at }
                c.nextMinute()
            }
        }
        return nil
    }

    /// The latest slot at or before `now` and at or after `floor`, where `floor` is itself a
    /// slot (a schedule's first unfired one) not after `now`: after downtime, the one slot to fire
    /// for all those missed. Looks back in growing windows, so a long outage costs a few steps,
    /// not one per missed slot.
    public func latest(atOrBefore now: Date, notBefore floor: Date) -> Date {
        let windows: [Double] = [3_600, 86_400, 32 * 86_400, 366 * 86_400, Double(Self.horizonYears) * 366 * 86_400]
        for window in windows {
            let start = max(floor, now.addingTimeInterval(-window))
            guard var slot = start == floor ? floor : next(after: start.addingTimeInterval(-1)), slot <= now else { continue }
            var steps = 0
            while steps < 100_000, let n = next(after: slot), n <= now {
                slot = n
                steps += 1
            }
            return slot
        }
        return floor
    }

    private func dayMatches(_ c: Civil) -> Bool {
        let dom = daysOfMonth & (1 << UInt64(c.day)) != 0
        let dow = daysOfWeek & (1 << UInt64(c.weekday)) != 0
        // Vixie cron's rule: when either field starts with `*`, both must match (`*/2` in one
        // still restricts); when both are restricted, either one is enough.
        return anyDayOfMonth || anyDayOfWeek ? dom && dow : dom || dow
    }

    /// The instant of local time `c` under the rule above: the earliest instant whose local time
    /// it is; in a gap, shifted forward by the gap.
    func resolve(_ c: Civil) -> Date? {
        let naive = Double(c.localSeconds)
        func offset(_ t: Double) -> Double { Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: t))) }
        let before = offset(naive - 86_400), after = offset(naive + 86_400)
        let offsets: Set<Double> = [before, offset(naive), after]
        let candidates = offsets.map { naive - $0 }.filter { naive - offset($0) == $0 }
        if let first = candidates.min() { return Date(timeIntervalSince1970: first) }
        return Date(timeIntervalSince1970: naive - before)
    }
}

/// Why a cron expression or zone was refused: a sentence naming what is wrong.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `cron` or `timezone`: the request field at fault.
    public let field: String
    /// The sentence.
    public let message: String

    init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}

/// A proleptic Gregorian wall-clock time to the minute, with the arithmetic `next` steps by.
struct Civil: Equatable {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        (self.year, self.month, self.day, self.hour, self.minute) = (year, month, day, hour, minute)
    }

    /// The wall time `seconds` after 1970-01-01 00:00 (local), to the minute.
    init(localSeconds seconds: Int64) {
        let days = Int((seconds - ((seconds % 86_400) + 86_400) % 86_400) / 86_400)
        let rest = Int(seconds - Int64(days) * 86_400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d, hour: rest / 3600, minute: rest % 3600 / 60)
    }

    /// Days since 1970-01-01 (Hinnant's days_from_civil).
    var days: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Seconds after 1970-01-01 00:00 of this wall time, as if it were UTC.
    var localSeconds: Int64 { Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60) }

    /// 0 Sunday … 6 Saturday (1970-01-01 was a Thursday).
    var weekday: Int { ((days % 7) + 11) % 7 }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    mutating func nextMonth() {
        (day, hour, minute) = (1, 0, 0)
        if month == 12 { (year, month) = (year + 1, 1) } else { month += 1 }
    }

    mutating func nextDay() {
        (hour, minute) = (0, 0)
        if day >= Civil.daysIn(year: year, month: month) { nextMonth() } else { day += 1 }
    }

    mutating func nextHour() {
        minute = 0
        if hour == 23 { nextDay() } else { hour += 1 }
    }

    mutating func nextMinute() {
        if minute == 59 { nextHour() } else { minute += 1 }
    }
}
