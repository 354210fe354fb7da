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

    private struct State {
        var waiting: [Waiter] = []
        var inFlight = 0
    }

    private let state = Mutex(State())
    private let pool: PostgresPool
    private let maxBatch: Int
    private let maxInFlight: Int
    private let serve: @Sendable (PostgresConnection, [Input]) throws -> [Output]

    /// A coalescer running at most `maxInFlight` batches of at most `maxBatch` inputs at once on `pool`.
    public init(pool: PostgresPool, maxBatch: Int = 500, maxInFlight: Int = 1,
                serve: @escaping @Sendable (PostgresConnection, [Input]) throws -> [Output]) {
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
        self.maxInFlight = max(1, maxInFlight)
        self.serve = serve
    }

    /// Serves `input` in the next batch and returns its result (or the batch's error).
    public func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let batch: [Waiter]? = state.withLock { s in
                s.waiting.append(Waiter(input: input, continuation: continuation))
                return take(&s)
            }
            if let batch { run(batch) }
        }
    }

    private func take(_ s: inout State) -> [Waiter]? {
        guard !s.waiting.isEmpty, s.inFlight < maxInFlight else { return nil }
        let n = min(maxBatch, s.waiting.count)
        let batch = Array(s.waiting[..<n])
        s.waiting.removeFirst(n)
        s.inFlight += 1
        return batch
    }

    private func run(_ first: [Waiter]) {
        pool.startBatches(first: first, work: { batch, conn in
            do {
                let outputs = try self.serve(conn, batch.map(\.input))
                precondition(outputs.count == batch.count, "a coalesced batch must return one result per input")
                for (w, o) in zip(batch, outputs) { w.continuation.resume(returning: o) }
            } catch {
                for w in batch { w.continuation.resume(throwing: error) }
            }
        }, fail: { batch, error in
            for w in batch { w.continuation.resume(throwing: error) }
        }, next: { _ in
            self.state.withLock { s in
                s.inFlight -= 1
                return self.take(&s)
            }
        })
    }
}
