import Foundation
import Synchronization

// The worker's own statements (claim, heartbeat, hand-backs, rescue, prune) run under a
// deadline so a stalled database call never hangs one of its loops (River #1251, #1255).

/// Runs `body`, cancelling it at `limit` (the pool then cancels its statement on the server):
/// a stalled database call (a lock held for minutes) never hangs a loop of the pool. A call
/// cancelled at its deadline answers with its own outcome (a commit that beat the cancel
/// still returns its rows); one that does not end within 2 s more throws `DeadlineExceeded`,
/// whose outcome is unknown.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let answer = AnswerOnce(continuation)
        let work = Task {
            do { answer.resume(.success(try await body())) } catch { answer.resume(.failure(error)) }
        }
        answer.setTimer(Task {
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            work.cancel()
            try? await Task.sleep(for: .seconds(2))
            answer.resume(.failure(DeadlineExceeded(limit: limit)))
        })
    }
}

/// A task running `body` every `interval` (first after one interval unless `immediately`)
/// until it is cancelled.
func repeating(every interval: Duration, immediately: Bool = false, _ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
    Task {
        if immediately { await body() }
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            await body()
        }
    }
}

/// A database call of the pool did not end, even cancelled, near its deadline; whether it
/// took effect is unknown.
struct DeadlineExceeded: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "the database call did not end within \(limit) (cancelled; outcome unknown)" }
}

/// A continuation resumed by whichever of two tasks answers first.
/// The timer is cancelled once answered, so no sleeping task outlives a quick call.
private final class AnswerOnce<T: Sendable>: Sendable {
    private let state: Mutex<(continuation: CheckedContinuation<T, any Error>?, timer: Task<Void, Never>?)>
    init(_ c: CheckedContinuation<T, any Error>) { state = Mutex((c, nil)) }
    func setTimer(_ timer: Task<Void, Never>) {
        let answered = state.withLock { s -> Bool in
            if s.continuation == nil { return true }
            s.timer = timer
            return false
        }
        if answered { timer.cancel() }
    }
    func resume(_ result: Result<T, any Error>) {
        let (c, timer) = state.withLock { s in
            defer { s = (nil, nil) }
            return (s.continuation, s.timer)
        }
        timer?.cancel()
        c?.resume(with: result)
    }
}

