import Foundation
import JobGateCore
import Synchronization

/// Gathers finished attempts and writes them in batches: one `complete` and one `fail`
/// statement per flush, a few milliseconds apart, while results keep arriving (group commit).
/// A failed write keeps its results and is retried, so nothing is lost while the database
/// is briefly unreachable; if the process dies first, lease expiry rescues the jobs.
final class Completer: Sendable {
    struct Buffer {
        var completions: [AttemptCompletion] = []
        var failures: [AttemptFailure] = []
        var count: Int { completions.count + failures.count }
    }

    private let store: JobStore
    private let worker: String
    private let flushInterval: Duration
    private let maxBatch: Int
    private let buffer = Mutex(Buffer())
    private let signal: AsyncStream<Void>.Continuation
    private let signals: AsyncStream<Void>
    private let log: WorkerLog
    /// Called with the ids of each flush (written or fenced out) and the fenced-out ones.
    private let onFlushed: @Sendable (_ ids: [UUID], _ fencedOut: [UUID]) -> Void

    init(store: JobStore, worker: String, flushInterval: Duration, maxBatch: Int, log: WorkerLog,
         onFlushed: @escaping @Sendable ([UUID], [UUID]) -> Void) {
        self.store = store
        self.worker = worker
        self.flushInterval = flushInterval
        self.maxBatch = max(1, maxBatch)
        self.log = log
        self.onFlushed = onFlushed
        (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func add(_ completion: AttemptCompletion) {
        buffer.withLock { $0.completions.append(completion) }
        signal.yield()
    }

    func add(_ failure: AttemptFailure) {
        buffer.withLock { $0.failures.append(failure) }
        signal.yield()
    }

    /// Ends `run` once the buffer is empty.
    func stop() { signal.finish() }

    /// The flush loop; returns after `stop()` with everything written.
    func run() async {
        for await _ in signals {
            if buffer.withLock({ $0.count }) < maxBatch {
                try? await Task.sleep(for: flushInterval)
            }
            while await flushOnce() {}
        }
        while await flushOnce() {}
    }

    /// Writes one batch; false when the buffer was empty.
    private func flushOnce() async -> Bool {
        let batch: Buffer = buffer.withLock { b in
            var out = Buffer()
            let nc = min(b.completions.count, maxBatch)
            out.completions = Array(b.completions.prefix(nc))
            b.completions.removeFirst(nc)
            let nf = min(b.failures.count, maxBatch - nc)
            out.failures = Array(b.failures.prefix(nf))
            b.failures.removeFirst(nf)
            return out
        }
        if batch.count == 0 { return false }
        var delay = Duration.milliseconds(50)
        while true {
            do {
                async let c = store.complete(batch.completions, worker: worker)
                async let f = store.fail(batch.failures, worker: worker)
                let (done, failed) = try await (c, f)
                let fenced = done.fencedOut + failed.fencedOut
                if !fenced.isEmpty {
                    log.warn("results refused by fencing: the worker no longer holds these jobs", ["job.ids": fenced.map(\.uuidString).joined(separator: ","), "worker.id": worker])
                    let files = batch.completions.filter { fenced.contains($0.id) }.compactMap { $0.output?.path }
                    await OutputWriter.remove(files)
                }
                onFlushed(batch.completions.map(\.id) + batch.failures.map(\.id), fenced)
                return true
            } catch {
                log.error("recording results failed; retrying", ["error": String(describing: error), "worker.id": worker])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
