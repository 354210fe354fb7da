import Foundation

/// Runs blocking work (a process, a socket read, `pg_ctl`) on a thread of its own and awaits
/// its result, so it never holds one of the cooperative pool's threads (one per core).
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
