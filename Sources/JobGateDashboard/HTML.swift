import Foundation

/// Escaping and number/time formatting for the dashboard's HTML. Every value that comes from
/// the database goes through `escape` (job errors, types, queues and worker ids are user data).
public enum HTML {
    /// `s` with `& < > " '` replaced by entities: safe in element content and quoted attributes.
    public static func escape(_ s: some StringProtocol) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// An integer with thin-space thousands separators: `12 345`.
    static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "\u{202F}" }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// A duration in seconds, short: `850 ms`, `4.2 s`, `3 m 20 s`, `2 h 5 m`, `3 d 4 h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "–" }
        let s = max(seconds, 0)
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        if s < 10 { return String(format: "%.1f s", s) }
        if s < 60 { return "\(Int(s.rounded())) s" }
        let total = Int(s.rounded())
        if total < 3600 { return "\(total / 60) m \(total % 60) s" }
        if total < 86_400 { return "\(total / 3600) h \(total % 3600 / 60) m" }
        return "\(total / 86_400) d \(total % 86_400 / 3600) h"
    }

    /// `2025-01-31 14:05:09 UTC`.
    static func timestamp(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// `14:05` (UTC).
    static func clock(_ date: Date) -> String {
        let c = utc.dateComponents([.hour, .minute], from: date)
        return String(format: "%02d:%02d", c.hour!, c.minute!)
    }

    /// How long before `now`: `12 s ago`.
    static func ago(_ date: Date, now: Date) -> String {
        let d = now.timeIntervalSince(date)
        return d < 0.5 ? "just now" : duration(d) + " ago"
    }

    /// A coordinate for SVG: at most one decimal.
    static func coord(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    private static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()
}
