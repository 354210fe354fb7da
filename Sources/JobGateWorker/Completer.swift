import Foundation
import JobGateCore
import JobGatePostgres
import Synchronization

/// Gathers finished attempts and writes them in batches: one `complete` and one `fail`
/// statement per batch (group commit). The batching rule is `BatchQueue`'s, the same as the
/// API's submits and status reads: one batch in flight; a result that arrives while it is in
/// flight waits and goes with everything else that waited, so under load batches grow by
/// themselves and under light load a result is written at once. A failed write keeps its
/// results and is retried with backoff, so nothing is lost while the database is briefly
/// unreachable; if the process dies first, lease expiry rescues the jobs.
final class Completer: Sendable {
    /// One finished attempt.
    enum Result: Sendable {
        case completion(AttemptCompletion)
        case failure(AttemptFailure)
    }

    private let store: JobStore
    private let worker: String
    private let state: Mutex<BatchQueue<Result>>
    /// Set when a shutdown gives up: failed writes are no longer retried.
    private let stopped = Atomic(false)
    private let log: WorkerLog
    /// Called with the attempts of each batch (written or fenced out) and the ids fenced out
    /// (a batch holds one attempt per job: the next one is claimed only after this one's write).
    private let onFlushed: @Sendable (_ attempts: [AttemptRef], _ fencedOut: [UUID]) -> Void

    init(store: JobStore, worker: String, maxBatch: Int, log: WorkerLog,
         onFlushed: @escaping @Sendable ([AttemptRef], [UUID]) -> Void) {
        self.store = store
        self.worker = worker
        self.state = Mutex(BatchQueue(limits: .init(maxBatchWeight: max(1, maxBatch))))
        self.log = log
        self.onFlushed = onFlushed
    }

    func add(_ completion: AttemptCompletion) { arrive(.completion(completion)) }

    /// Stops retrying: a batch whose write fails from now on is dropped (its jobs' leases
    /// expire and the rescuer hands them out again).
    func stop() { stopped.store(true, ordering: .relaxed) }

    func add(_ failure: AttemptFailure) { arrive(.failure(failure)) }

    private func arrive(_ result: Result) {
        guard case .start(let batch) = state.withLock({ $0.arrive(result) }) else { return }
        // One task writes batches back to back while results keep arriving, and ends when
        // none wait.
        Task { [self] in
            var next: BatchQueue<Result>.Batch? = batch
            while let b = next {
                await write(b.elements)
                next = state.withLock { $0.finished(weight: b.weight) }
            }
        }
    }

    /// Writes one batch, retrying until the database takes it.
    private func write(_ results: [Result]) async {
        var completions: [AttemptCompletion] = []
        var failures: [AttemptFailure] = []
        for r in results {
            switch r {
            case .completion(let c): completions.append(c)
            case .failure(let f): failures.append(f)
            }
        }
        var delay = Duration.milliseconds(50)
        while true {
            do {
                async let c = store.complete(completions, worker: worker)
                async let f = store.fail(failures, worker: worker)
                let (done, failed) = try await (c, f)
                let fenced = done.fencedOut + failed.fencedOut
                if !fenced.isEmpty {
                    log.warn("results refused by fencing: the worker no longer holds these jobs",
                             ["job.ids": fenced.map(\.uuidString).joined(separator: ","), "worker.id": worker])
                    let files = completions.filter { fenced.contains($0.id) }.compactMap { $0.output?.path }
                    await OutputWriter.remove(files)
                }
                onFlushed(completions.map(\.ref) + failures.map(\.ref), fenced)
                return
            } catch {
                if stopped.load(ordering: .relaxed) {
                    log.error("recording results failed; not retried, the worker is stopping", ["error": String(describing: error), "worker.id": worker])
                    return
                }
                log.error("recording results failed; retrying", ["error": String(describing: error), "worker.id": worker])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
