/// Every decision of `PostgresPool`, as a value: events go in, actions come out.
///
/// It knows requests and connection threads by number only. It opens no connection, takes no
/// lock, reads no clock and starts no thread: time comes in as the `now` of an event, and the
/// pool carries each action out (after its lock is released). So who gets a connection, when a
/// thread is started, who waits and for how long, and what cancellation and shutdown do are
/// all tested without IO (`PoolStateMachineTests`).
///
/// A request goes created → (waiting →) connecting → running → gone; a thread is idle, busy
/// with one request, or holding on to its connection until a cancel sent to its last
/// request's statement has reached the server. A thread is idle only while nobody waits.
struct PoolStateMachine: Sendable {
    typealias RequestID = Int
    typealias ThreadID = Int
    typealias Instant = ContinuousClock.Instant

    /// Why a request fails without running.
    enum Failure: Hashable, Sendable {
        /// No thread became free before the request's acquire deadline.
        case poolTimeout
        /// The request's task was cancelled before its closure started.
        case cancelled
        /// The pool was shut down before the request got a thread.
        case poolClosed
        /// Its thread could not connect (the pool passes on the connection's own error).
        case connectFailed
    }

    /// What the pool must do after an event, in order.
    enum Action: Hashable, Sendable {
        /// Start connection thread `ThreadID` (an `assign` to it follows).
        case startThread(ThreadID)
        /// Hand the request to the thread, which connects if it has no live connection.
        case assign(RequestID, to: ThreadID)
        /// The thread's connection is ready: run the request's closure on it.
        case execute(RequestID, on: ThreadID)
        /// Fail the request (it never runs).
        case fail(RequestID, Failure)
        /// Cancel the statement the request runs on the thread's connection (`PQcancel`), then
        /// report `statementCancelSent`.
        case cancelStatement(RequestID, on: ThreadID)
        /// Let the thread close its connection and end.
        case stopThread(ThreadID)
        /// Report `deadlinePassed(now:)` at this instant (one such check is pending at a time).
        case scheduleDeadlineCheck(at: Instant)
    }

    /// Whether a cancel of a running request's statement was asked for, and got through.
    private enum CancelState: Hashable {
        case notAsked, inFlight, sent
    }

    private enum RequestState: Hashable {
        /// Made, not yet submitted; `cancelled` if its task was cancelled in between.
        case created(cancelled: Bool)
        case waiting(deadline: Instant)
        /// Given to a thread that is (re)connecting if needed.
        case connecting(ThreadID, cancelled: Bool)
        case running(ThreadID, CancelState)
    }

    private enum ThreadState: Hashable {
        case idle
        case busy(RequestID)
        /// Finished `RequestID` while a cancel of its statement was still on its way: the
        /// connection must not serve anyone else yet.
        case awaitingCancel(RequestID)
    }

    /// The most threads (connections) the pool opens.
    let maxConnections: Int
    /// How long a request may wait for a free thread.
    let acquireTimeout: Duration

    private var requests: [RequestID: RequestState] = [:]
    /// Waiting requests, first come first served.
    private var waiting: [RequestID] = []
    private var threads: [ThreadID: ThreadState] = [:]
    /// Idle threads; the most recently idle is used first (its connection is the freshest).
    private var idle: [ThreadID] = []
    private var nextRequestID = 0
    private var nextThreadID = 0
    private var closed = false
    /// The instant of the pending deadline check, if one is scheduled.
    private var scheduledCheck: Instant?

    init(maxConnections: Int, acquireTimeout: Duration) {
        self.maxConnections = maxConnections
        self.acquireTimeout = acquireTimeout
    }

    /// Connections open (threads), threads in use, and requests waiting.
    var statistics: PostgresPool.Statistics {
        PostgresPool.Statistics(size: threads.count, inUse: threads.count - idle.count, waiting: waiting.count)
    }

    /// A new request's id. It is known before it is submitted so that a task cancelled in
    /// between (cancellation handlers run first for an already-cancelled task) is failed on
    /// submission.
    mutating func createRequest() -> RequestID {
        nextRequestID += 1
        requests[nextRequestID] = .created(cancelled: false)
        return nextRequestID
    }

    /// The request is submitted at `now`: it runs on an idle thread, on a new one while the pool
    /// is below `maxConnections`, or waits until `now + acquireTimeout` at most.
    mutating func requestArrived(_ request: RequestID, now: Instant) -> [Action] {
        guard case .created(let cancelled) = requests[request] else {
            preconditionFailure("request \(request) submitted twice")
        }
        if closed || cancelled {
            requests[request] = nil
            return [.fail(request, closed ? .poolClosed : .cancelled)]
        }
        if let thread = idle.popLast() {
            return [start(request, on: thread)]
        }
        if threads.count < maxConnections {
            nextThreadID += 1
            return [.startThread(nextThreadID), start(request, on: nextThreadID)]
        }
        let deadline = now.advanced(by: acquireTimeout)
        requests[request] = .waiting(deadline: deadline)
        waiting.append(request)
        if let scheduled = scheduledCheck, scheduled <= deadline { return [] }
        scheduledCheck = deadline
        return [.scheduleDeadlineCheck(at: deadline)]
    }

    /// The thread given `request` has a live connection: run the closure, unless the task was
    /// cancelled meanwhile (then the request fails and the thread takes the next one).
    mutating func connectionReady(_ request: RequestID, on thread: ThreadID) -> [Action] {
        guard case .connecting(thread, let cancelled) = requests[request] else {
            preconditionFailure("request \(request) is not connecting on thread \(thread)")
        }
        if cancelled {
            requests[request] = nil
            return [.fail(request, .cancelled)] + release(thread)
        }
        requests[request] = .running(thread, .notAsked)
        return [.execute(request, on: thread)]
    }

    /// The thread given `request` could not connect: the request fails with that error, and the
    /// thread (still without a connection) takes the next request, trying again.
    mutating func connectFailed(_ request: RequestID, on thread: ThreadID) -> [Action] {
        guard case .connecting(thread, _) = requests[request] else {
            preconditionFailure("request \(request) is not connecting on thread \(thread)")
        }
        requests[request] = nil
        return [.fail(request, .connectFailed)] + release(thread)
    }

    /// The request's closure returned and its connection was cleaned up: the thread takes the
    /// next request, unless a cancel of this request's statement is still on its way.
    mutating func requestFinished(_ request: RequestID, on thread: ThreadID) -> [Action] {
        guard case .running(thread, let cancel) = requests[request] else {
            preconditionFailure("request \(request) is not running on thread \(thread)")
        }
        requests[request] = nil
        if cancel == .inFlight {
            threads[thread] = .awaitingCancel(request)
            return []
        }
        return release(thread)
    }

    /// The request's task was cancelled: a request not yet running fails with `.cancelled`
    /// (at once, or when its thread has connected); a running one has its statement cancelled
    /// and completes through its own closure, which sees the server's error.
    mutating func requestCancelled(_ request: RequestID) -> [Action] {
        switch requests[request] {
        case .created:
            requests[request] = .created(cancelled: true)
            return []
        case .waiting:
            requests[request] = nil
            waiting.removeAll { $0 == request }
            return [.fail(request, .cancelled)]
        case .connecting(let thread, _):
            requests[request] = .connecting(thread, cancelled: true)
            return []
        case .running(let thread, .notAsked):
            requests[request] = .running(thread, .inFlight)
            return [.cancelStatement(request, on: thread)]
        case .running, nil:
            // Already cancelled, or already done.
            return []
        }
    }

    /// The server has received (or refused) the cancel of the request's statement: the thread,
    /// if the request already finished, may take the next request.
    mutating func statementCancelSent(_ request: RequestID, on thread: ThreadID) -> [Action] {
        if case .running(thread, .inFlight) = requests[request] {
            requests[request] = .running(thread, .sent)
            return []
        }
        guard threads[thread] == .awaitingCancel(request) else { return [] }
        return release(thread)
    }

    /// The scheduled deadline check is due: requests still waiting whose deadline is at or
    /// before `now` fail with `.poolTimeout`; the next check is scheduled for the others.
    mutating func deadlinePassed(now: Instant) -> [Action] {
        scheduledCheck = nil
        var actions: [Action] = []
        var earliest: Instant?
        var stillWaiting: [RequestID] = []
        for request in waiting {
            guard case .waiting(let deadline) = requests[request] else { continue }
            if deadline <= now {
                requests[request] = nil
                actions.append(.fail(request, .poolTimeout))
            } else {
                stillWaiting.append(request)
                earliest = min(earliest ?? deadline, deadline)
            }
        }
        waiting = stillWaiting
        if let earliest {
            scheduledCheck = earliest
            actions.append(.scheduleDeadlineCheck(at: earliest))
        }
        return actions
    }

    /// Waiting requests fail with `.poolClosed` and idle threads stop; running requests finish,
    /// then their threads stop. Later submissions fail with `.poolClosed`.
    mutating func shutdown() -> [Action] {
        guard !closed else { return [] }
        closed = true
        var actions: [Action] = waiting.map { .fail($0, .poolClosed) }
        for request in waiting { requests[request] = nil }
        waiting.removeAll()
        for thread in idle {
            threads[thread] = nil
            actions.append(.stopThread(thread))
        }
        idle.removeAll()
        return actions
    }

    private mutating func start(_ request: RequestID, on thread: ThreadID) -> Action {
        requests[request] = .connecting(thread, cancelled: false)
        threads[thread] = .busy(request)
        return .assign(request, to: thread)
    }

    /// The thread is free: it takes the first waiting request, or idles, or stops once closed.
    private mutating func release(_ thread: ThreadID) -> [Action] {
        if closed {
            threads[thread] = nil
            return [.stopThread(thread)]
        }
        if !waiting.isEmpty {
            return [start(waiting.removeFirst(), on: thread)]
        }
        threads[thread] = .idle
        idle.append(thread)
        return []
    }
}
