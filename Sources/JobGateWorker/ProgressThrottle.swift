import Foundation
import JobGateCore

/// Which progress reports a worker writes when (DESIGN.md §14): the newest pending report of
/// each job, all jobs together in one statement, at most one statement per `interval` (so at
/// most one write per job per interval), one statement in flight at a time. The first report
/// after a quiet interval is written at once. When an attempt ends, its pending report is
/// written before its result (`final`), so a finished job shows its last progress; that write
/// carries only the ending jobs and does not wait for the interval.
///
/// A pure value: reports go in, what to write comes out; `ProgressRecorder` does the IO.
struct ProgressThrottle {
    /// One job's newest unwritten report.
    struct Pending: Equatable {
        var update: ProgressUpdate
        /// The attempt has ended: write it now, and tell whoever waits.
        var final: Bool
    }

    /// What the flusher does next.
    enum Next: Equatable {
        /// Write these now.
        case write([ProgressUpdate])
        /// Nothing may be written before this instant.
        case wait(until: ContinuousClock.Instant)
        /// Nothing is pending: the flusher ends (a later report starts another).
        case stop
    }

    let interval: Duration
    let maxBatch: Int
    private(set) var pending: [UUID: Pending] = [:]
    /// Whether a flusher runs (writing, or waiting for the interval).
    private(set) var flushing = false
    /// The jobs of the write in flight (the last `.write` not yet `written()`).
    private(set) var inFlight: Set<UUID> = []
    private var lastWrite: ContinuousClock.Instant?

    init(interval: Duration = .seconds(1), maxBatch: Int = 5000) {
        self.interval = interval
        self.maxBatch = max(1, maxBatch)
    }

    /// Keeps `update` as its job's pending report, replacing an older one. Returns true when
    /// the caller must start a flusher.
    mutating func report(_ update: ProgressUpdate) -> Bool {
        // A report made after its attempt ended (a straggling child task) keeps the write urgent.
        pending[update.id] = Pending(update: update, final: pending[update.id]?.final ?? false)
        return startFlusher()
    }

    /// The attempt of `id` ended. Returns nil when it has nothing pending or in flight (the
    /// usual case: no write, no wait); else whether a flusher must start, and the caller waits
    /// until `settled(id)`.
    mutating func finish(_ id: UUID) -> Bool? {
        if pending[id] != nil {
            pending[id]!.final = true
            return startFlusher()
        }
        return inFlight.contains(id) ? false : nil
    }

    /// Whether nothing of `id` is pending or in flight any more: its last report is stored (or given up).
    func settled(_ id: UUID) -> Bool { pending[id] == nil && !inFlight.contains(id) }

    /// The write in flight ended (stored or failed).
    mutating func written() { inFlight = [] }

    private mutating func startFlusher() -> Bool {
        if flushing { return false }
        flushing = true
        return true
    }

    /// What to do at `now`; a `.write` takes its reports out of `pending`.
    mutating func next(now: ContinuousClock.Instant) -> Next {
        if pending.isEmpty {
            flushing = false
            return .stop
        }
        if let lastWrite, now < lastWrite + interval {
            let finals = pending.values.filter(\.final).prefix(maxBatch).map(\.update)
            if finals.isEmpty { return .wait(until: lastWrite + interval) }
            for u in finals { pending[u.id] = nil }
            inFlight = Set(finals.map(\.id))
            return .write(finals)
        }
        // In no order: the statement locks its rows in id order itself.
        let batch = pending.values.prefix(maxBatch).map(\.update)
        for u in batch { pending[u.id] = nil }
        inFlight = Set(batch.map(\.id))
        lastWrite = now
        return .write(batch)
    }

    /// A write of `batch` failed: its reports are pending again unless a newer one arrived,
    /// except final ones (their attempt's result does not wait for a second try).
    mutating func failed(_ batch: [ProgressUpdate], final: Set<UUID>) {
        for u in batch where pending[u.id] == nil && !final.contains(u.id) {
            pending[u.id] = Pending(update: u, final: false)
        }
    }
}
