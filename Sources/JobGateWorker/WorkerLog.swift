import Foundation
import Synchronization

/// One JSON object per line on stderr (DESIGN.md §9), at or above a level.
/// The app's logger can replace this later; the worker only needs these three calls.
public struct WorkerLog: Sendable {
    /// Severity.
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warn, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String { ["debug", "info", "warn", "error"][rawValue] }
    }

    /// The lowest level written.
    public var minimum: Level
    /// Where lines go; stderr by default.
    public var sink: @Sendable (String) -> Void

    public init(minimum: Level = .info, sink: @escaping @Sendable (String) -> Void = WorkerLog.stderr) {
        self.minimum = minimum
        self.sink = sink
    }

    /// Discards everything.
    public static let silent = WorkerLog(minimum: .error) { _ in }

    private static let lock = Mutex(())
    /// Writes a line to stderr under a lock so lines never interleave.
    public static let stderr: @Sendable (String) -> Void = { line in
        let data = Array((line + "\n").utf8)
        lock.withLock { _ in
            data.withUnsafeBytes { buf in _ = write(2, buf.baseAddress, buf.count) }
        }
    }

    func debug(_ msg: String, _ fields: [String: String] = [:]) { emit(.debug, msg, fields) }
    func info(_ msg: String, _ fields: [String: String] = [:]) { emit(.info, msg, fields) }
    func warn(_ msg: String, _ fields: [String: String] = [:]) { emit(.warn, msg, fields) }
    func error(_ msg: String, _ fields: [String: String] = [:]) { emit(.error, msg, fields) }

    private func emit(_ level: Level, _ msg: String, _ fields: [String: String]) {
        guard level >= minimum else { return }
        var obj: [String: String] = fields
        obj["ts"] = Date().formatted(.iso8601)
        obj["level"] = level.name
        obj["msg"] = msg
        guard let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) else { return }
        sink(String(decoding: data, as: UTF8.self))
    }
}
