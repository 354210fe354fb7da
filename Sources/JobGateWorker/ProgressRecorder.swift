import Foundation
import JobGateCore
import Synchronization

/// Writes the progress the pool's running attempts report (DESIGN.md §14), as
/// `ProgressThrottle` decides: the newest report of each job, every job's in one statement,
/// at most one statement a second. Nothing runs while nothing is reported: the flusher task
/// exists only while reports are pending. Progress is advisory: a failed write is logged and
/// its reports tried again with the next statement unless newer ones replaced them.
final class ProgressRecorder: Sendable {
    /// Counters for tests and metrics.
    struct Counts: Sendable, Equatable {
        /// Reports accepted from handlers and commands.
        var reports = 0
        /// Statements written.
        var statements = 0
        /// Rows those statements changed.
        var rowsWritten = 0
        /// Rows they did not change because the worker no longer ran that attempt.
        var fencedOut = 0
    }

    private struct State {
        var throttle: ProgressThrottle
        /// Attempts that ended with a report pending, waiting for it to be written.
        var waiters: [UUID: [CheckedContinuation<Void, Never>]] = [:]
        var counts = Counts()
    }

    private let store: JobStore
    private let worker: String
    private let log: WorkerLog
    private let callLimit: Duration
    private let state: Mutex<State>

    init(store: JobStore, worker: String, log: WorkerLog, interval: Duration = .seconds(1), maxBatch: Int = 5000,
         callLimit: Duration) {
        self.store = store
        self.worker = worker
        self.log = log
        self.callLimit = callLimit
        self.state = Mutex(State(throttle: ProgressThrottle(interval: interval, maxBatch: maxBatch)))
    }

    var counts: Counts { state.withLock { $0.counts } }

    /// Keeps `report` as the newest of job `id` at `attempt`, to be written within the interval.
    func report(_ report: ProgressReport, id: UUID, attempt: Int) {
        let start = state.withLock { s in
            s.counts.reports += 1
            return s.throttle.report(ProgressUpdate(id: id, attempt: attempt, report: report))
        }
        if start { startFlusher() }
    }

    /// The attempt of `id` ended: writes its pending report, if any, and waits for one in
    /// flight, before returning, so the result recorded next (which fences progress out) finds
    /// the job's last progress in place. Returns at once, without suspending, when nothing is pending.
    func finish(_ id: UUID) async {
        // Most jobs report nothing: no suspension for them on the way to their result. (Nothing
        // reports for `id` after its handler returned, so a settled job stays settled.)
        if state.withLock({ $0.throttle.settled(id) }) { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let start = state.withLock { s -> Bool? in
                guard let start = s.throttle.finish(id) else { return nil }
                s.waiters[id, default: []].append(c)
                return start
            }
            switch start {
            case nil: c.resume()
            case true?: startFlusher()
            case false?: break
            }
        }
    }

    private func startFlusher() {
        Task { [self] in
            while true {
                let next = state.withLock { $0.throttle.next(now: .now) }
                switch next {
                case .stop:
                    return
                case .wait(let until):
                    try? await Task.sleep(until: until, clock: .continuous)
                case .write(let batch):
                    await write(batch)
                }
            }
        }
    }

    private func write(_ batch: [ProgressUpdate]) async {
        var result: FencedResult?
        do {
            result = try await withDeadline(callLimit) { [store, worker] in try await store.recordProgress(batch, worker: worker) }
        } catch {
            log.warn("recording progress failed", ["error": String(describing: error), "worker.id": worker, "jobs": String(batch.count)])
        }
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.throttle.written()
            var woken: [CheckedContinuation<Void, Never>] = []
            var final = Set<UUID>()
            for u in batch where s.waiters[u.id] != nil {
                final.insert(u.id)
                // A newer report of an ended attempt is pending (final): its waiters wait for that one.
                if s.throttle.settled(u.id) { woken += s.waiters.removeValue(forKey: u.id)! }
            }
            s.counts.statements += 1
            if let result {
                s.counts.rowsWritten += result.applied.count
                s.counts.fencedOut += result.fencedOut.count
            } else {
                s.throttle.failed(batch, final: final)
            }
            return woken
        }
        for w in woken { w.resume() }
        if let fenced = result?.fencedOut, !fenced.isEmpty {
            log.debug("progress refused by fencing: the worker no longer runs these attempts",
                      ["job.ids": fenced.map(\.uuidString).joined(separator: ","), "worker.id": worker])
        }
    }
}
