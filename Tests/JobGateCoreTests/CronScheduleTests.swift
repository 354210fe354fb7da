import Foundation
import JobGateCore
import Testing

/// The cron parser and its slots, in UTC and across DST changes (no database).
struct CronScheduleTests {
    func at(_ text: String) -> Date { RFC3339.date(text)! }

    func next(_ expression: String, _ zone: String = "UTC", after: String) throws -> Date? {
        try CronSchedule(expression, timeZone: zone).next(after: at(after))
    }

    /// The first `n` slots after `after`, as RFC 3339 UTC text.
    func slots(_ expression: String, _ zone: String = "UTC", after: String, _ n: Int) throws -> [String] {
        let cron = try CronSchedule(expression, timeZone: zone)
        var out: [String] = []
        var t = at(after)
        for _ in 0..<n {
            guard let s = cron.next(after: t) else { break }
            out.append(s.formatted(.iso8601))
            t = s
        }
        return out
    }

    @Test(arguments: [
        ("* * * *", "five fields"), ("* * * * * *", "five fields"), ("60 * * * *", "minute"), ("* 24 * * *", "hour"),
        ("* * 0 * *", "day-of-month"), ("* * * 13 *", "month"), ("* * * * 8", "day-of-week"), ("5-1 * * * *", "backwards"),
        ("*/0 * * * *", "step"), ("*/x * * * *", "step"), ("1,,2 * * * *", "empty"), ("a * * * *", "minute"),
        ("@reboot", "unknown name"), ("0 0 30 2 *", "never"), ("0 0 31 4,6 *", "never"), ("1-2-3 * * * *", "malformed"),
        ("* * * foo *", "month"), ("", "five fields"),
    ])
    func refusesMalformedExpressionsNamingTheProblem(_ expression: String, _ problem: String) {
        #expect {
            try CronSchedule(expression)
        } throws: { error in
            let e = error as? CronError
            return e?.field == "cron" && e?.message.contains(problem) == true
        }
    }

    @Test func refusesUnknownZonesAndOverlongText() {
        for zone in ["Mars/Olympus", "", "EST", "GMT+1", "europe/berlin"] {
            #expect(throws: CronError.self, "\(zone)") { try CronSchedule("* * * * *", timeZone: zone) }
            #expect((try? CronSchedule("* * * * *", timeZone: zone)) == nil)
        }
        #expect((try? CronSchedule("* * * * *", timeZone: "Mars/Olympus").next(after: Date())) == nil)
        #expect(throws: CronError.self) { try CronSchedule(String(repeating: "1,", count: 200) + "1 * * * *") }
        for zone in ["UTC", "Etc/UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"] {
            #expect((try? CronSchedule("* * * * *", timeZone: zone)) != nil, "\(zone)")
        }
    }

    @Test func fieldsListsRangesStepsAndNames() throws {
        #expect(try next("*/15 * * * *", after: "2024-06-07T10:07:00Z") == at("2024-06-07T10:15:00Z"))
        #expect(try next("*/15 * * * *", after: "2024-06-07T10:15:00Z") == at("2024-06-07T10:30:00Z"))
        #expect(try next("5,50 9-17/4 * * *", after: "2024-06-07T13:50:00Z") == at("2024-06-07T17:05:00Z"))
        #expect(try next("0 9 * * mon-fri", after: "2024-06-07T09:00:00Z") == at("2024-06-10T09:00:00Z"))  // Fri → Mon
        #expect(try next("0 9 * * 7", after: "2024-06-07T09:00:00Z") == at("2024-06-09T09:00:00Z"))  // 7 is Sunday
        #expect(try next("0 0 1 JAN,jul *", after: "2024-01-01T00:00:00Z") == at("2024-07-01T00:00:00Z"))
        #expect(try next("30 4 10/10 * *", after: "2024-02-21T00:00:00Z") == at("2024-03-10T04:30:00Z"))  // 10, 20, 30
        #expect(try next("0 0 29 2 *", after: "2023-03-01T00:00:00Z") == at("2024-02-29T00:00:00Z"))
        #expect(try next("0 0 29 2 1", after: "2024-03-01T00:00:00Z") != nil)  // 29 Feb or any Monday (either field)
        // Both day fields restricted: either matches (13th, or any Friday).
        #expect(try next("0 0 13 * fri", after: "2024-09-01T00:00:00Z") == at("2024-09-06T00:00:00Z"))
        #expect(try next("0 0 13 * fri", after: "2024-10-11T00:00:00Z") == at("2024-10-13T00:00:00Z"))
        // One restricted with a leading *: only the other one counts.
        #expect(try next("0 0 */10 * *", after: "2024-09-01T00:00:00Z") == at("2024-09-11T00:00:00Z"))
        // Seconds are ignored: a slot is strictly after, to the minute.
        #expect(try next("* * * * *", after: "2024-06-07T10:07:59.9Z") == at("2024-06-07T10:08:00Z"))
    }

    @Test func namedExpressions() throws {
        #expect(try next("@hourly", after: "2024-06-07T10:07:00Z") == at("2024-06-07T11:00:00Z"))
        #expect(try next("@daily", after: "2024-06-07T10:07:00Z") == at("2024-06-08T00:00:00Z"))
        #expect(try next("@midnight", after: "2024-06-07T10:07:00Z") == at("2024-06-08T00:00:00Z"))
        #expect(try next("@weekly", after: "2024-06-07T10:07:00Z") == at("2024-06-09T00:00:00Z"))
        #expect(try next("@monthly", after: "2024-01-31T10:07:00Z") == at("2024-02-01T00:00:00Z"))
        #expect(try next("@yearly", after: "2024-06-07T10:07:00Z") == at("2025-01-01T00:00:00Z"))
        #expect(try next("@ANNUALLY", after: "2024-06-07T10:07:00Z") == at("2025-01-01T00:00:00Z"))
        #expect(try next("0 0 1 1 *", "Europe/Berlin", after: "2024-06-07T10:07:00Z") == at("2024-12-31T23:00:00Z"))
    }

    /// Berlin moves from 02:00 CET to 03:00 CEST on 31 March 2024, and back from 03:00 CEST to
    /// 02:00 CET on 27 October 2024.
    @Test func berlinSpringForwardFiresTheMissingTimeOnceShiftedByTheGap() throws {
        #expect(try slots("30 2 * * *", "Europe/Berlin", after: "2024-03-29T12:00:00Z", 4) == [
            "2024-03-30T01:30:00Z",  // 02:30 CET
            "2024-03-31T01:30:00Z",  // 02:30 does not exist: 03:30 CEST, once
            "2024-04-01T00:30:00Z",  // 02:30 CEST
            "2024-04-02T00:30:00Z",
        ])
        // 02:30 and 03:30 both land on 03:30 CEST that day: one slot.
        #expect(try slots("30 2,3 * * *", "Europe/Berlin", after: "2024-03-30T12:00:00Z", 3) == [
            "2024-03-31T01:30:00Z", "2024-04-01T00:30:00Z", "2024-04-01T01:30:00Z",
        ])
        // Hourly through the gap: 01:00 CET, then 03:00 CEST (02:00 is 03:00), no hour twice.
        #expect(try slots("0 * * * *", "Europe/Berlin", after: "2024-03-30T23:30:00Z", 3) == [
            "2024-03-31T00:00:00Z", "2024-03-31T01:00:00Z", "2024-03-31T02:00:00Z",
        ])
    }

    @Test func berlinFallBackFiresTheRepeatedTimeOnceAtItsFirstOccurrence() throws {
        #expect(try slots("30 2 * * *", "Europe/Berlin", after: "2024-10-26T12:00:00Z", 2) == [
            "2024-10-27T00:30:00Z",  // 02:30 CEST; 02:30 CET an hour later does not fire
            "2024-10-28T01:30:00Z",  // 02:30 CET
        ])
        // Asked from inside the repeated hour's second pass, the next slot is the next day's.
        #expect(try next("30 2 * * *", "Europe/Berlin", after: "2024-10-27T01:00:00Z") == at("2024-10-28T01:30:00Z"))
    }

    /// New York moves from 02:00 EST to 03:00 EDT on 10 March 2024, and back from 02:00 EDT to
    /// 01:00 EST on 3 November 2024.
    @Test func newYorkTransitions() throws {
        #expect(try slots("30 2 * * *", "America/New_York", after: "2024-03-08T12:00:00Z", 3) == [
            "2024-03-09T07:30:00Z",  // 02:30 EST
            "2024-03-10T07:30:00Z",  // 02:30 does not exist: 03:30 EDT
            "2024-03-11T06:30:00Z",  // 02:30 EDT
        ])
        #expect(try slots("30 1 * * *", "America/New_York", after: "2024-11-02T12:00:00Z", 3) == [
            "2024-11-03T05:30:00Z",  // 01:30 EDT; not again at 01:30 EST
            "2024-11-04T06:30:00Z",  // 01:30 EST
            "2024-11-05T06:30:00Z",
        ])
        // Hourly through the repeated hour: 01:00 EDT, then 02:00 EST (the second 01:00 is skipped).
        #expect(try slots("0 * * * *", "America/New_York", after: "2024-11-03T04:30:00Z", 2) == [
            "2024-11-03T05:00:00Z", "2024-11-03T07:00:00Z",
        ])
        // A weekday schedule keeps its local time across the change.
        #expect(try slots("0 9 * * mon", "America/New_York", after: "2024-10-28T00:00:00Z", 2) == [
            "2024-10-28T13:00:00Z", "2024-11-04T14:00:00Z",
        ])
    }

    @Test func latestMissedSlotIsFoundWithoutWalkingEverySlot() throws {
        let minutely = try CronSchedule("* * * * *")
        let floor = at("2024-06-01T00:00:00Z")
        #expect(minutely.latest(atOrBefore: at("2024-06-04T07:08:30Z"), notBefore: floor) == at("2024-06-04T07:08:00Z"))
        #expect(minutely.latest(atOrBefore: floor, notBefore: floor) == floor)
        // Ten years of missed minutes: still one answer, quickly.
        let started = ContinuousClock.now
        #expect(minutely.latest(atOrBefore: at("2034-06-01T00:00:30Z"), notBefore: floor) == at("2034-06-01T00:00:00Z"))
        #expect(ContinuousClock.now - started < .seconds(10), "a walk over five million minutes takes minutes in a debug build")
        let daily = try CronSchedule("0 9 * * *", timeZone: "Europe/Berlin")
        #expect(daily.latest(atOrBefore: at("2024-06-05T08:00:00Z"), notBefore: at("2024-06-01T07:00:00Z")) == at("2024-06-05T07:00:00Z"))
        #expect(daily.latest(atOrBefore: at("2024-06-05T06:59:00Z"), notBefore: at("2024-06-01T07:00:00Z")) == at("2024-06-04T07:00:00Z"))
        let rare = try CronSchedule("0 0 1 1 *")
        #expect(rare.latest(atOrBefore: at("2031-03-01T00:00:00Z"), notBefore: at("2025-01-01T00:00:00Z")) == at("2031-01-01T00:00:00Z"))
    }

    @Test func scheduleNames() {
        for ok in ["nightly", "a", "Report-2.daily_v1", String(repeating: "x", count: 128)] { #expect(ScheduleName.isValid(ok), "\(ok)") }
        for bad in ["", "-x", ".x", "a:b", "a/b", "a b", "é", String(repeating: "x", count: 129), "a\u{0}"] {
            #expect(!ScheduleName.isValid(bad), "\(bad)")
        }
    }
}
