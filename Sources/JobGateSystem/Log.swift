import Foundation
import Synchronization

/// Structured logging: one JSON object per line on stderr (`ts`, `level`, `msg`, then context).
///
/// The level comes from `JOBGATE_LOG_LEVEL` (debug, info, warn, error; default info).
/// Callers must never pass tokens, signatures or payloads as context.
public enum Log {
    /// Severity, in increasing order.
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warn, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warn: "warn"
            case .error: "error"
            }
        }
        /// Parses a level name; nil if unknown.
        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "error": self = .error
            default: return nil
            }
        }
    }

    private static let minimum = Atomic<Int>(
        Level(name: ProcessInfo.processInfo.environment["JOBGATE_LOG_LEVEL"] ?? "info")?.rawValue ?? Level.info.rawValue)
    private static let writeLock = Mutex<Void>(())

    /// Changes the minimum level at run time.
    public static func setLevel(_ level: Level) { minimum.store(level.rawValue, ordering: .relaxed) }

    /// True when `level` would be written.
    public static func enabled(_ level: Level) -> Bool { level.rawValue >= minimum.load(ordering: .relaxed) }

    /// Writes a debug line.
    public static func debug(_ msg: String, _ context: KeyValuePairs<String, any Sendable> = [:]) { write(.debug, msg, context) }
    /// Writes an info line.
    public static func info(_ msg: String, _ context: KeyValuePairs<String, any Sendable> = [:]) { write(.info, msg, context) }
    /// Writes a warning line.
    public static func warn(_ msg: String, _ context: KeyValuePairs<String, any Sendable> = [:]) { write(.warn, msg, context) }
    /// Writes an error line.
    public static func error(_ msg: String, _ context: KeyValuePairs<String, any Sendable> = [:]) { write(.error, msg, context) }

    /// Writes one line at `level` with `context` fields (strings, numbers, booleans; others as their description).
    public static func write(_ level: Level, _ msg: String, _ context: KeyValuePairs<String, any Sendable>) {
        guard enabled(level) else { return }
        write(level, msg, fields: context.map { ($0.key, $0.value) })
    }

    /// Writes one line at `level` with fields built at run time.
    public static func write(_ level: Level, _ msg: String, fields context: [(String, any Sendable)]) {
        guard enabled(level) else { return }
        var line = "{\"ts\":\"\(timestamp())\",\"level\":\"\(level.name)\",\"msg\":\(JSONText.quote(msg))"
        for (k, v) in context {
            line += ",\(JSONText.quote(k)):"
            switch v {
            case let i as Int: line += String(i)
            case let i as Int32: line += String(i)
            case let i as Int64: line += String(i)
            case let d as Double: line += d.isFinite ? String(d) : "null"
            case let b as Bool: line += b ? "true" : "false"
            case let s as String: line += JSONText.quote(s)
            case let u as UUID: line += "\"\(u.lowercasedString)\""
            default: line += JSONText.quote(String(describing: v))
            }
        }
        line += "}\n"
        writeLock.withLock { _ in
            line.utf8CString.withUnsafeBufferPointer { p in
                var offset = 0
                let total = p.count - 1
                while offset < total {
                    let n = Glibc.write(2, p.baseAddress! + offset, total - offset)
                    if n < 0 { if errno == EINTR { continue } else { return } }
                    offset += n
                }
            }
        }
    }

    private static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tv.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(tv.tv_usec))
    }
}

/// Lets a repeated warning through at most once per interval (an outage answers every
/// request 503, and one line every few seconds says so).
public final class RateLimitedLog: Sendable {
    /// The shortest time between two lines.
    public let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    public init(interval: Duration) {
        self.interval = interval
    }

    /// Whether a line may be written now (and, if so, the interval starts again).
    public func shouldLog() -> Bool {
        let now = ContinuousClock.now
        return last.withLock { l in
            if let l, now - l < interval { return false }
            l = now
            return true
        }
    }
}
