import JobGatePostgres
import Synchronization

/// Gathers concurrent requests into batches served by one call each: while a batch is in
/// flight, new requests wait; when it ends, everything waiting goes into the next one.
/// Under light load a request is served at once (a batch of one); under heavy load batches
/// grow by themselves, so per-call overhead (a round trip, a statement, a commit) is shared.
///
/// `serve` gets the batch's inputs in arrival order and returns one result per input; it runs
/// on a pooled connection's own thread, batch after batch while requests wait
/// (`PostgresPool.startBatches`).
public final class Coalescer<Input: Sendable, Output: Sendable>: Sendable {
    private struct Waiter: Sendable {
        var input: Input
        var continuation: CheckedContinuation<Output, any Error>
    }

    private let state: Mutex<BatchQueue<Waiter>>
    private let pool: PostgresPool
    private let serve: @Sendable (PostgresConnection, [Input]) throws -> [Output]

    /// A coalescer running at most `maxInFlight` batches of at most `maxBatch` inputs at once on `pool`.
    public init(pool: PostgresPool, maxBatch: Int = 500, maxInFlight: Int = 1,
                serve: @escaping @Sendable (PostgresConnection, [Input]) throws -> [Output]) {
        self.pool = pool
        self.state = Mutex(BatchQueue(limits: .init(maxBatchWeight: maxBatch, maxInFlight: maxInFlight)))
        self.serve = serve
    }

    /// Serves `input` in the next batch and returns its result (or the batch's error).
    public func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let arrival = state.withLock { $0.arrive(Waiter(input: input, continuation: continuation)) }
            if case .start(let batch) = arrival { run(batch) }
        }
    }

    private func run(_ first: BatchQueue<Waiter>.Batch) {
        pool.startBatches(first: first, work: { batch, conn in
            let waiters = batch.elements
            do {
                let outputs = try self.serve(conn, waiters.map(\.input))
                precondition(outputs.count == waiters.count, "a coalesced batch must return one result per input")
                for (w, o) in zip(waiters, outputs) { w.continuation.resume(returning: o) }
            } catch {
                for w in waiters { w.continuation.resume(throwing: error) }
            }
        }, fail: { batch, error in
            for w in batch.elements { w.continuation.resume(throwing: error) }
        }, next: { batch in
            self.state.withLock { $0.finished(weight: batch.weight) }
        })
    }
}
