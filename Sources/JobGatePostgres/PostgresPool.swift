import Dispatch
import Foundation

/// A pool of PostgreSQL connections, each driven by a thread it owns.
///
/// Async callers hand a synchronous closure to `withConnection`; it runs on a
/// connection's own thread, so libpq's blocking calls never occupy Swift's
/// cooperative thread pool. Waiting for a free connection is bounded by
/// `acquireTimeout`. A connection found dead when it is taken (server restart,
/// terminated backend) is replaced before the caller's closure runs.
/// Cancelling the calling task removes a waiting request, or cancels the
/// running statement on the server (`PQcancel`).
public final class PostgresPool: @unchecked Sendable {
    /// The pool's configuration.
    public let configuration: PostgresConfiguration
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [PoolWorkItem] = []
    private var threads: [PoolThread] = []
    private var idleThreads = 0
    private var busyThreads = 0
    private var closed = false

    /// Makes a pool; no connection is opened until the first use.
    public init(configuration: PostgresConfiguration) {
        self.configuration = configuration
    }

    deinit {
        shutdown()
    }

    /// Numbers for metrics: connections open, in use, and requests waiting for one.
    public struct Statistics: Sendable {
        /// Threads (each with at most one connection).
        public var size: Int
        /// Threads running a caller's closure.
        public var inUse: Int
        /// Requests waiting for a free connection.
        public var waiting: Int
    }

    /// Current pool usage.
    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return Statistics(size: threads.count, inUse: busyThreads, waiting: queue.count)
    }

    /// Runs `body` with a connection on that connection's thread and returns its result.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let item = PoolWorkItem()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                item.execute = { connection in
                    do {
                        continuation.resume(returning: try body(connection))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                item.fail = { error in continuation.resume(throwing: error) }
                enqueue(item)
            }
        } onCancel: {
            cancel(item)
        }
    }

    /// Runs `body` in a transaction on one connection; a thrown error rolls it back.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { try $0.transaction(body) }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        try await withConnection { try $0.query(sql, parameters) }
    }

    /// A health check: one round trip to the server.
    public func ping() async throws {
        _ = try await query("SELECT 1")
    }

    /// Fails waiting requests, lets running ones finish, and closes every connection.
    public func shutdown() {
        condition.lock()
        if closed { condition.unlock(); return }
        closed = true
        let pending = queue
        queue.removeAll()
        for item in pending { item.state = .finished }
        condition.broadcast()
        condition.unlock()
        for item in pending { item.fail?(PostgresError(code: .poolClosed, message: "the pool was shut down")) }
    }

    func enqueue(_ item: PoolWorkItem) {
        condition.lock()
        if closed {
            condition.unlock()
            item.fail?(PostgresError(code: .poolClosed, message: "the pool was shut down"))
            return
        }
        if item.cancelledEarly {
            condition.unlock()
            item.fail?(PostgresError(code: .cancelled, message: "the task was cancelled"))
            return
        }
        item.state = .queued
        queue.append(item)
        var needsTimer = idleThreads < queue.count
        if idleThreads < queue.count, threads.count < configuration.maxConnections {
            let thread = PoolThread(pool: self)
            threads.append(thread)
            thread.start()
            needsTimer = false
        }
        condition.signal()
        condition.unlock()
        if needsTimer {
            let timeout = configuration.acquireTimeout
            let ns = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(ns))) { [weak self] in
                self?.expire(item)
            }
        }
    }

    private func expire(_ item: PoolWorkItem) {
        condition.lock()
        guard case .queued = item.state, let i = queue.firstIndex(where: { $0 === item }) else {
            condition.unlock()
            return
        }
        queue.remove(at: i)
        item.state = .finished
        condition.unlock()
        item.fail?(PostgresError(code: .poolTimeout, message: "no database connection became free in time"))
    }

    private func cancel(_ item: PoolWorkItem) {
        condition.lock()
        switch item.state {
        case .new:
            item.cancelledEarly = true
            condition.unlock()
        case .queued:
            if let i = queue.firstIndex(where: { $0 === item }) { queue.remove(at: i) }
            item.state = .finished
            condition.unlock()
            item.fail?(PostgresError(code: .cancelled, message: "the task was cancelled"))
        case .running(let target):
            guard let target else {
                // Still connecting: the thread checks this flag before running the closure.
                item.cancelledEarly = true
                condition.unlock()
                return
            }
            // Under the lock, so the item cannot finish and the connection pass to the
            // next caller before the server has received the cancel request.
            target.cancel()
            condition.unlock()
        case .finished:
            condition.unlock()
        }
    }

    /// Called by a pool thread: blocks until there is work, or returns nil when the pool closes.
    fileprivate func next() -> PoolWorkItem? {
        condition.lock()
        defer { condition.unlock() }
        idleThreads += 1
        while queue.isEmpty && !closed { condition.wait() }
        idleThreads -= 1
        if queue.isEmpty { return nil }
        let item = queue.removeFirst()
        item.state = .running(nil)
        busyThreads += 1
        return item
    }

    fileprivate func markRunning(_ item: PoolWorkItem, on connection: PostgresConnection) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if item.cancelRequestedWhileConnecting { return false }
        item.state = .running(CancelTarget(connection))
        return true
    }

    fileprivate func finished(_ item: PoolWorkItem) {
        condition.lock()
        item.state = .finished
        busyThreads -= 1
        condition.unlock()
    }
}

/// Lets another thread cancel a running statement without touching the connection otherwise.
final class CancelTarget: @unchecked Sendable {
    private let connection: PostgresConnection
    init(_ connection: PostgresConnection) { self.connection = connection }
    func cancel() { connection.cancel() }
}

final class PoolWorkItem: @unchecked Sendable {
    enum State {
        case new, queued, running(CancelTarget?), finished
    }
    var state: State = .new
    var cancelledEarly = false
    var execute: ((PostgresConnection) -> Void)?
    var fail: ((PostgresError) -> Void)?
    var cancelRequestedWhileConnecting: Bool {
        if case .running(nil) = state { return cancelledEarly }
        return false
    }
}

/// A thread that owns one connection and runs the pool's work on it.
private final class PoolThread: @unchecked Sendable {
    private weak var pool: PostgresPool?
    private let configuration: PostgresConfiguration

    init(pool: PostgresPool) {
        self.pool = pool
        self.configuration = pool.configuration
    }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "jobgate-pg"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func run() {
        var connection: PostgresConnection?
        while let pool, let item = pool.next() {
            // A connection closed by the server while idle is replaced before use, so
            // callers see a restart or a terminated backend only if it happens mid-call.
            if let c = connection, !c.isAliveWithoutRoundTrip() {
                c.close()
                connection = nil
            }
            if connection == nil {
                do {
                    connection = try PostgresConnection(configuration: configuration)
                } catch {
                    pool.finished(item)
                    item.fail?(error)
                    continue
                }
            }
            let c = connection!
            guard pool.markRunning(item, on: c) else {
                pool.finished(item)
                item.fail?(PostgresError(code: .cancelled, message: "the task was cancelled"))
                continue
            }
            c.statementsSent = 0
            item.execute?(c)
            item.execute = nil
            item.fail = nil
            if !c.isHealthy {
                c.close()
                connection = nil
            } else if c.inTransaction {
                // The closure left a transaction open (it should not): never hand it to the next caller.
                if (try? c.query("ROLLBACK", prepare: false)) == nil {
                    c.close()
                    connection = nil
                }
            }
            pool.finished(item)
        }
        connection?.close()
    }
}
