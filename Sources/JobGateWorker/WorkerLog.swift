import JobGateCore
import JobGateSystem

/// The worker's logger: `Log`'s JSON lines (DESIGN.md §9) with a per-pool minimum level,
/// so tests and benchmarks can quiet one pool without touching the process-wide level.
public struct WorkerLog: Sendable {
    /// Severity.
    public typealias Level = Log.Level

    /// The lowest level this pool writes (the process-wide `JOBGATE_LOG_LEVEL` applies too).
    public var minimum: Level
    private var muted = false

    /// A logger writing `minimum` and above.
    public init(minimum: Level = .debug) {
        self.minimum = minimum
    }

    /// Writes nothing.
    public static let silent: WorkerLog = {
        var log = WorkerLog(minimum: .error)
        log.muted = true
        return log
    }()

    func debug(_ msg: String, _ fields: [String: String] = [:]) { emit(.debug, msg, fields) }
    func info(_ msg: String, _ fields: [String: String] = [:]) { emit(.info, msg, fields) }
    func warn(_ msg: String, _ fields: [String: String] = [:]) { emit(.warn, msg, fields) }
    func error(_ msg: String, _ fields: [String: String] = [:]) { emit(.error, msg, fields) }

    private func emit(_ level: Level, _ msg: String, _ fields: [String: String]) {
        guard !muted, level >= minimum, Log.enabled(level) else { return }
        Log.write(level, msg, fields: fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value as any Sendable) })
    }
}
