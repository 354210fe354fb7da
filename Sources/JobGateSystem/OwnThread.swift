import Foundation
import Synchronization

/// Runs blocking work (a process, a socket read, `pg_ctl`) on a thread of its own and awaits
/// its result, so it never holds one of the cooperative pool's threads (one per core).
/// The one thread hop of the code base: product code and tests alike use it.
public func onOwnThread<T: Sendable>(name: String? = nil, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        if let name { thread.name = name }
        thread.start()
    }
}

/// `onOwnThread` for work that can stop early: the calling task's cancellation sets the flag
/// `body` receives, which it polls (a supervising loop, a `poll` timeout). It returns
/// whatever `body` returns; cancellation does not abandon the thread.
public func onOwnThread<T: Sendable>(name: String? = nil, cancellable body: @escaping @Sendable (CancellationFlag) -> T) async -> T {
    let flag = CancellationFlag()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let thread = Thread { continuation.resume(returning: body(flag)) }
            if let name { thread.name = name }
            thread.start()
        }
    } onCancel: {
        flag.set()
    }
}

/// A flag set once (from a cancellation handler, a signal, another thread) and read from any
/// thread.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Sets the flag; it stays set.
    public func set() { flag.store(true, ordering: .releasing) }

    /// Whether `set()` was called.
    public var isSet: Bool { flag.load(ordering: .acquiring) }
}
