import Foundation
import JobGateCore
import JobGateSystem

/// The JSON shapes of DESIGN.md §7, written by hand (hot paths; exact field order).
enum JobJSON {
    /// A job as returned by `GET /v1/jobs/{id}`, list, cancel and retry.
    static func job(_ j: Job, output: OutputSigner.SignedURL?) -> String {
        var s = "{\"jobId\":\"\(j.id.lowercasedString)\",\"type\":\(JSONText.quote(j.type)),\"queue\":\(JSONText.quote(j.queue))"
        s += ",\"status\":\"\(j.status.rawValue)\",\"priority\":\(j.priority),\"attempt\":\(j.attempt),\"maxAttempts\":\(j.maxAttempts)"
        s += ",\"createdAt\":\(date(j.createdAt)),\"runAt\":\(date(j.runAt)),\"startedAt\":\(date(j.startedAt))"
        s += ",\"finishedAt\":\(date(j.finishedAt)),\"lastError\":\(string(j.lastError))"
        if let o = j.output, let url = output {
            s += ",\"output\":{\"url\":\(JSONText.quote(url.path)),\"expiresAt\":\(date(url.expiresAt)),\"size\":\(o.size)"
            s += ",\"contentType\":\(JSONText.quote(o.contentType)),\"sha256\":\"\(o.sha256Hex)\"}"
        }
        if let p = j.progress {
            s += ",\"progress\":{\"done\":\(p.done),\"total\":\(p.total.map(String.init) ?? "null")"
            s += ",\"message\":\(string(p.message)),\"at\":\(date(p.at))}"
        }
        return s + "}"
    }

    /// One event of `GET /v1/jobs/{id}/events`.
    static func event(_ e: JobEvent) -> String {
        "{\"event\":\(JSONText.quote(e.event)),\"at\":\(date(e.at)),\"fromStatus\":\(string(e.fromStatus?.rawValue))"
            + ",\"toStatus\":\(string(e.toStatus?.rawValue)),\"attempt\":\(e.attempt),\"worker\":\(string(e.worker))"
            + ",\"message\":\(string(e.message))}"
    }

    static func string(_ s: String?) -> String { s.map(JSONText.quote) ?? "null" }

    static func date(_ d: Date?) -> String {
        guard let d else { return "null" }
        return "\"" + timestamp(d) + "\""
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2025-01-02T03:04:05.678Z`.
    static func timestamp(_ d: Date) -> String {
        // To whole microseconds first (PostgreSQL's precision; a Date read back from
        // `…57.354000` can be 57.35399999…), then down to milliseconds. Floor division, so
        // instants before 1970 keep a non-negative millisecond part.
        let us = Int64((d.timeIntervalSince1970 * 1_000_000).rounded())
        let ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000)
        let seconds = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)
        var t = time_t(seconds)
        let frac = Int32(ms - seconds * 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        // By hand: String(format:) goes through vfprintf and Foundation on every job read.
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ v: Int32, _ width: Int) {
            let x = max(0, v)
            var div: Int32 = 1
            for _ in 1..<width { div *= 10 }
            for _ in 0..<width {
                out.append(UInt8(48 + (x / div) % 10))
                div /= 10
            }
        }
        put(parts.tm_year + 1900, 4); out.append(45); put(parts.tm_mon + 1, 2); out.append(45); put(parts.tm_mday, 2)
        out.append(84); put(parts.tm_hour, 2); out.append(58); put(parts.tm_min, 2); out.append(58); put(parts.tm_sec, 2)
        out.append(46); put(frac, 3); out.append(90)
        return String(decoding: out, as: UTF8.self)
    }
}
