import Dispatch
import Foundation
import JobGateSystem
import Synchronization

/// A pool of PostgreSQL connections, each driven by a thread it owns.
///
/// Async callers hand a synchronous closure to `withConnection`; it runs on a
/// connection's own thread, so libpq's blocking calls never occupy Swift's
/// cooperative thread pool. Waiting for a free connection is bounded by
/// `acquireTimeout`. A connection found dead when it is taken (server restart,
/// terminated backend) is replaced before the caller's closure runs.
/// Cancelling the calling task removes a waiting request, or cancels the
/// running statement on the server (`PQcancel`).
///
/// Every decision (which thread serves whom, when a thread is started, who waits, what
/// cancellation, deadlines and shutdown do) is `PoolStateMachine`'s. This class is its IO
/// shell: it feeds the machine events under one lock, turns the actions into effects there
/// (looking up the request's closures, the thread, the connection) and carries them out after
/// unlocking: starting threads, handing a request to a thread's inbox, failing a request,
/// `PQcancel`, arming the one timer that checks acquire deadlines.
public final class PostgresPool: Sendable {
    typealias RequestID = PoolStateMachine.RequestID
    typealias ThreadID = PoolStateMachine.ThreadID

    /// The pool's configuration.
    public let configuration: PostgresConfiguration
    private let state: Mutex<State>

    /// What the lock guards: the machine, and what its numbers stand for.
    private struct State {
        var machine: PoolStateMachine
        /// Submitted requests, until they fail or finish.
        var items: [RequestID: PoolWorkItem] = [:]
        var threads: [ThreadID: PoolThread] = [:]
        /// Each thread's current connection, to cancel its statement from another thread.
        var connections: [ThreadID: CancelTarget] = [:]
    }

    /// An action with what it needs looked up, carried out after unlocking.
    private enum Effect {
        case start(PoolThread)
        case hand(PoolThread, RequestID, PoolWorkItem)
        case fail(PoolWorkItem, PostgresError)
        case cancelStatement(CancelTarget?, RequestID, ThreadID)
        case stop(PoolThread)
        case checkDeadlines(at: ContinuousClock.Instant)
    }

    /// Makes a pool; no connection is opened until the first use.
    public init(configuration: PostgresConfiguration) {
        self.configuration = configuration
        let machine = PoolStateMachine(maxConnections: configuration.maxConnections, acquireTimeout: configuration.acquireTimeout)
        self.state = Mutex(State(machine: machine))
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
        state.withLock { $0.machine.statistics }
    }

    /// Runs `body` with a connection on that connection's thread and returns its result.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let item = PoolWorkItem()
        // Made before the cancellation handler exists, which may run before the submission.
        let id = state.withLock { $0.machine.createRequest() }
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
                submit(id, item)
            }
        } onCancel: {
            perform { $0.machine.requestCancelled(id) }
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
        perform { $0.machine.shutdown() }
    }

    /// Submits a request that cannot be cancelled (a batch loop's).
    func enqueue(_ item: PoolWorkItem) {
        submit(state.withLock { $0.machine.createRequest() }, item)
    }

    private func submit(_ id: RequestID, _ item: PoolWorkItem) {
        perform { state in
            state.items[id] = item
            return state.machine.requestArrived(id, now: .now)
        }
    }

    // MARK: Events from connection threads

    /// `thread` could not connect for `request`; the caller gets `error`.
    fileprivate func connectFailed(_ request: RequestID, on thread: ThreadID, error: PostgresError) {
        perform(connectError: error) { $0.machine.connectFailed(request, on: thread) }
    }

    /// `thread` holds a live `connection` for `request`: true if the closure is to run now,
    /// false if the request was cancelled meanwhile (it has been failed).
    fileprivate func connectionReady(_ request: RequestID, on thread: ThreadID, connection: PostgresConnection) -> Bool {
        perform { state in
            state.connections[thread] = CancelTarget(connection)
            return state.machine.connectionReady(request, on: thread)
        }
    }

    /// `thread` ran `request`'s closure and cleaned its connection up.
    fileprivate func finished(_ request: RequestID, on thread: ThreadID) {
        perform { state in
            state.items[request] = nil
            return state.machine.requestFinished(request, on: thread)
        }
    }

    // MARK: Carrying actions out

    /// Feeds one event to the machine under the lock, resolves its actions there and carries
    /// them out after unlocking. Returns whether the actions include `execute` (for the
    /// thread that reported a ready connection).
    @discardableResult
    private func perform(connectError: PostgresError? = nil, _ event: (inout State) -> [PoolStateMachine.Action]) -> Bool {
        let (effects, execute) = state.withLock { state in
            resolve(event(&state), in: &state, connectError: connectError)
        }
        for effect in effects { carryOut(effect) }
        return execute
    }

    private func resolve(_ actions: [PoolStateMachine.Action], in state: inout State, connectError: PostgresError?) -> ([Effect], Bool) {
        var effects: [Effect] = []
        var execute = false
        for action in actions {
            switch action {
            case .startThread(let t):
                let thread = PoolThread(id: t, pool: self)
                state.threads[t] = thread
                effects.append(.start(thread))
            case .assign(let r, let t):
                guard let thread = state.threads[t], let item = state.items[r] else {
                    preconditionFailure("request \(r) or thread \(t) unknown")
                }
                effects.append(.hand(thread, r, item))
            case .execute:
                execute = true
            case .fail(let r, let failure):
                guard let item = state.items.removeValue(forKey: r) else { continue }
                effects.append(.fail(item, Self.error(for: failure, connectError: connectError)))
            case .cancelStatement(let r, let t):
                effects.append(.cancelStatement(state.connections[t], r, t))
            case .stopThread(let t):
                state.connections[t] = nil
                if let thread = state.threads.removeValue(forKey: t) { effects.append(.stop(thread)) }
            case .scheduleDeadlineCheck(let instant):
                effects.append(.checkDeadlines(at: instant))
            }
        }
        return (effects, execute)
    }

    private func carryOut(_ effect: Effect) {
        switch effect {
        case .start(let thread):
            thread.start()
        case .hand(let thread, let request, let item):
            thread.hand(request, item)
        case .fail(let item, let error):
            item.fail?(error)
        case .cancelStatement(let target, let request, let thread):
            // The cancel must reach the server before this connection serves another caller,
            // or it could cancel that caller's statement. The machine guarantees it without
            // holding the lock through the round trip: the request stays `inFlight` until
            // `statementCancelSent`, and a thread that finishes it meanwhile is parked
            // (`awaitingCancel`) with nothing to run, its connection handed to nobody.
            // `PQcancel` returns once the server has closed the cancel connection, i.e. has
            // received the request.
            target?.cancel()
            perform { $0.machine.statementCancelSent(request, on: thread) }
        case .stop(let thread):
            thread.stop()
        case .checkDeadlines(let instant):
            // One timer for every waiter: the machine schedules the next check only when none
            // is pending or this deadline is earlier. Dispatch's clock may differ slightly from
            // ContinuousClock; a check that finds nothing due schedules itself again.
            let delay = max(.zero, instant - .now)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(delay.inNanoseconds))) { [weak self] in
                self?.perform { $0.machine.deadlinePassed(now: .now) }
            }
        }
    }

    private static func error(for failure: PoolStateMachine.Failure, connectError: PostgresError?) -> PostgresError {
        switch failure {
        case .poolTimeout: PostgresError(code: .poolTimeout, message: "no database connection became free in time")
        case .cancelled: PostgresError(code: .cancelled, message: "the task was cancelled")
        case .poolClosed: PostgresError(code: .poolClosed, message: "the pool was shut down")
        case .connectFailed: connectError ?? PostgresError(code: .connectionFailed, message: "connection failed")
        }
    }
}

/// Lets another thread cancel a running statement without touching the connection otherwise
/// (`PostgresConnection.cancel` is safe from any thread).
final class CancelTarget: @unchecked Sendable {
    private let connection: PostgresConnection
    init(_ connection: PostgresConnection) { self.connection = connection }
    func cancel() { connection.cancel() }
}

/// A request's two ways to answer its caller. Both are set before it is submitted and then
/// called once, by whoever the machine lets finish the request (its thread, or the failing
/// event's caller).
final class PoolWorkItem: @unchecked Sendable {
    var execute: ((PostgresConnection) -> Void)?
    var fail: ((PostgresError) -> Void)?
}

/// A thread that owns one connection and runs the requests the pool hands it.
private final class PoolThread: Sendable {
    let id: PostgresPool.ThreadID
    private weak let pool: PostgresPool?
    private let configuration: PostgresConfiguration
    /// Requests handed over and not yet taken; `stop` leaves it empty.
    private let inbox = Mutex<[(PostgresPool.RequestID, PoolWorkItem)]>([])
    /// Signalled once per `hand` and once by `stop`.
    private let wakeup = DispatchSemaphore(value: 0)

    init(id: PostgresPool.ThreadID, pool: PostgresPool) {
        self.id = id
        self.pool = pool
        self.configuration = pool.configuration
    }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "jobgate-pg"
        thread.stackSize = 1 << 20
        thread.start()
    }

    func hand(_ request: PostgresPool.RequestID, _ item: PoolWorkItem) {
        inbox.withLock { $0.append((request, item)) }
        wakeup.signal()
    }

    func stop() {
        wakeup.signal()
    }

    /// Blocks until a request is handed over, or returns nil when told to stop.
    private func take() -> (PostgresPool.RequestID, PoolWorkItem)? {
        wakeup.wait()
        return inbox.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    private func run() {
        var connection: PostgresConnection?
        while let (request, item) = take() {
            guard let pool else {
                // The pool went away after handing this over (a batch loop keeps no reference).
                item.fail?(PostgresError(code: .poolClosed, message: "the pool was shut down"))
                break
            }
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
                    pool.connectFailed(request, on: id, error: error)
                    continue
                }
            }
            let c = connection!
            guard pool.connectionReady(request, on: id, connection: c) else { continue }
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
            pool.finished(request, on: id)
        }
        connection?.close()
    }
}
