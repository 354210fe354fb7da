@testable import JobGatePostgres
import Testing

/// The pool's decisions alone: no database, no threads, no timers; time is whatever `now` says.
@Suite struct PoolStateMachineTests {
    typealias Action = PoolStateMachine.Action
    let t0 = ContinuousClock.now

    /// size, inUse, waiting.
    func stats(_ m: PoolStateMachine) -> [Int] {
        let s = m.statistics
        return [s.size, s.inUse, s.waiting]
    }

    /// Creates and submits a request at `now`.
    func submit(_ m: inout PoolStateMachine, at now: ContinuousClock.Instant) -> (PoolStateMachine.RequestID, [Action]) {
        let id = m.createRequest()
        return (id, m.requestArrived(id, now: now))
    }

    /// A request that got thread `thread` connects and starts running.
    func run(_ m: inout PoolStateMachine, _ request: Int, on thread: Int) {
        #expect(m.connectionReady(request, on: thread) == [.execute(request, on: thread)])
    }

    /// Submits a request to an empty pool and runs it on the thread started for it (thread 1).
    func startRunning(_ m: inout PoolStateMachine) -> PoolStateMachine.RequestID {
        let (a, _) = submit(&m, at: t0)
        run(&m, a, on: 1)
        return a
    }

    @Test func aRequestStartsAThreadThenReusesItWhenIdle() {
        var m = PoolStateMachine(maxConnections: 2, acquireTimeout: .seconds(5))
        #expect(stats(m) == [0, 0, 0])
        let (a, first) = submit(&m, at: t0)
        #expect(first == [.startThread(1), .assign(a, to: 1)])
        #expect(stats(m) == [1, 1, 0])
        run(&m, a, on: 1)
        #expect(m.requestFinished(a, on: 1) == [])
        #expect(stats(m) == [1, 0, 0])
        // The idle thread takes the next request at once; no new thread, no wait.
        let (b, second) = submit(&m, at: t0)
        #expect(second == [.assign(b, to: 1)])
        #expect(stats(m) == [1, 1, 0])
    }

    @Test func requestsBeyondMaxConnectionsWaitFirstComeFirstServed() {
        var m = PoolStateMachine(maxConnections: 2, acquireTimeout: .seconds(5))
        let (a, _) = submit(&m, at: t0)
        let (b, startB) = submit(&m, at: t0)
        #expect(startB == [.startThread(2), .assign(b, to: 2)])
        run(&m, a, on: 1)
        run(&m, b, on: 2)
        let (c, waitC) = submit(&m, at: t0)
        #expect(waitC == [.scheduleDeadlineCheck(at: t0 + .seconds(5))])
        let (d, waitD) = submit(&m, at: t0 + .seconds(1))
        #expect(waitD == [], "a check is already scheduled, earlier than d's deadline")
        #expect(stats(m) == [2, 2, 2])
        // Whichever thread frees up serves the oldest waiter.
        #expect(m.requestFinished(b, on: 2) == [.assign(c, to: 2)])
        #expect(stats(m) == [2, 2, 1])
        #expect(m.requestFinished(a, on: 1) == [.assign(d, to: 1)])
        #expect(stats(m) == [2, 2, 0])
    }

    @Test func theDeadlineFailsOnlyRequestsStillWaiting() {
        var m = PoolStateMachine(maxConnections: 1, acquireTimeout: .seconds(5))
        let a = startRunning(&m)
        let (b, _) = submit(&m, at: t0)
        let (c, _) = submit(&m, at: t0 + .seconds(1))
        let (d, _) = submit(&m, at: t0 + .seconds(2))
        // b is served before its deadline; c's passes; d's is not due yet.
        #expect(m.requestFinished(a, on: 1) == [.assign(b, to: 1)])
        // The check due for b fails nobody (b got the thread) and schedules c's.
        #expect(m.deadlinePassed(now: t0 + .seconds(5)) == [.scheduleDeadlineCheck(at: t0 + .seconds(6))])
        #expect(m.deadlinePassed(now: t0 + .seconds(6)) == [.fail(c, .poolTimeout), .scheduleDeadlineCheck(at: t0 + .seconds(7))])
        #expect(stats(m) == [1, 1, 1])
        #expect(m.deadlinePassed(now: t0 + .seconds(8)) == [.fail(d, .poolTimeout)])
        #expect(stats(m) == [1, 1, 0])
        // Nobody waits, so nothing is scheduled; the running request is untouched.
        run(&m, b, on: 1)
        #expect(m.requestFinished(b, on: 1) == [])
        // The next waiter schedules a check again.
        let (e, runE) = submit(&m, at: t0 + .seconds(9))
        #expect(runE == [.assign(e, to: 1)])
        let (_, waitF) = submit(&m, at: t0 + .seconds(9))
        #expect(waitF == [.scheduleDeadlineCheck(at: t0 + .seconds(14))])
    }

    @Test func cancellingAWaitingRequestFailsAndRemovesIt() {
        var m = PoolStateMachine(maxConnections: 1, acquireTimeout: .seconds(5))
        let a = startRunning(&m)
        let (b, _) = submit(&m, at: t0)
        let (c, _) = submit(&m, at: t0)
        #expect(m.requestCancelled(b) == [.fail(b, .cancelled)])
        #expect(stats(m) == [1, 1, 1])
        #expect(m.requestCancelled(b) == [], "a second cancel does nothing")
        // b is gone: the thread passes to c, and b's deadline fails nobody.
        #expect(m.requestFinished(a, on: 1) == [.assign(c, to: 1)])
        #expect(m.deadlinePassed(now: t0 + .seconds(5)) == [])
    }

    @Test func aTaskCancelledBeforeSubmissionFailsOnSubmission() {
        var m = PoolStateMachine(maxConnections: 1, acquireTimeout: .seconds(5))
        let a = m.createRequest()
        #expect(m.requestCancelled(a) == [])
        #expect(m.requestArrived(a, now: t0) == [.fail(a, .cancelled)])
        #expect(stats(m) == [0, 0, 0])
    }

    @Test func cancellingARunningRequestCancelsItsStatementAndHoldsTheConnectionUntilSent() {
        var m = PoolStateMachine(maxConnections: 1, acquireTimeout: .seconds(5))
        let a = startRunning(&m)
        let (b, _) = submit(&m, at: t0)
        #expect(m.requestCancelled(a) == [.cancelStatement(a, on: 1)])
        #expect(m.requestCancelled(a) == [], "one cancel per request")
        // The closure answers its caller itself (with the server's error): no failure from the
        // pool. Its thread finishes before the cancel got through: the connection waits for it.
        #expect(m.requestFinished(a, on: 1) == [])
        #expect(stats(m) == [1, 1, 1])
        #expect(m.statementCancelSent(a, on: 1) == [.assign(b, to: 1)])
        run(&m, b, on: 1)
        // A cancel that got through before the closure ended changes nothing at its end.
        #expect(m.requestCancelled(b) == [.cancelStatement(b, on: 1)])
        #expect(m.statementCancelSent(b, on: 1) == [])
        #expect(m.requestFinished(b, on: 1) == [])
        #expect(stats(m) == [1, 0, 0])
    }

    @Test func cancellingWhileConnectingFailsTheRequestOnceConnected() {
        var m = PoolStateMachine(maxConnections: 1, acquireTimeout: .seconds(5))
        let (a, _) = submit(&m, at: t0)
        let (b, _) = submit(&m, at: t0)
        #expect(m.requestCancelled(a) == [], "nothing to cancel on the server yet")
        #expect(stats(m) == [1, 1, 1])
        #expect(m.connectionReady(a, on: 1) == [.fail(a, .cancelled), .assign(b, to: 1)])
        run(&m, b, on: 1)
    }

    @Test func aFailedConnectFailsThatRequestAndFreesTheThread() {
        var m = PoolStateMachine(maxConnections: 1, acquireTimeout: .seconds(5))
        let (a, _) = submit(&m, at: t0)
        #expect(m.connectFailed(a, on: 1) == [.fail(a, .connectFailed)])
        #expect(stats(m) == [1, 0, 0])
        // The same thread tries again for the next request.
        let (b, next) = submit(&m, at: t0)
        #expect(next == [.assign(b, to: 1)])
        // A waiter is handed to the thread whose connect failed.
        let (c, _) = submit(&m, at: t0)
        #expect(m.connectFailed(b, on: 1) == [.fail(b, .connectFailed), .assign(c, to: 1)])
        #expect(stats(m) == [1, 1, 0])
    }

    @Test func shutdownFailsWaitersAndLetsRunningRequestsFinish() {
        var m = PoolStateMachine(maxConnections: 3, acquireTimeout: .seconds(5))
        let (a, _) = submit(&m, at: t0)
        let (b, _) = submit(&m, at: t0)
        let (c, _) = submit(&m, at: t0)
        run(&m, a, on: 1)
        run(&m, b, on: 2)
        run(&m, c, on: 3)
        #expect(m.requestFinished(c, on: 3) == [])
        let (d, _) = submit(&m, at: t0)
        run(&m, d, on: 3)
        let (e, _) = submit(&m, at: t0)
        let (f, _) = submit(&m, at: t0)
        #expect(m.requestFinished(d, on: 3) == [.assign(e, to: 3)])
        #expect(stats(m) == [3, 3, 1])
        #expect(m.requestCancelled(b) == [.cancelStatement(b, on: 2)])

        #expect(m.shutdown() == [.fail(f, .poolClosed)])
        #expect(m.shutdown() == [])
        #expect(stats(m) == [3, 3, 0])
        let (g, late) = submit(&m, at: t0)
        #expect(late == [.fail(g, .poolClosed)])
        // Running and connecting requests go on; each thread stops once its request is done.
        #expect(m.requestFinished(a, on: 1) == [.stopThread(1)])
        #expect(m.connectionReady(e, on: 3) == [.execute(e, on: 3)])
        #expect(m.requestFinished(e, on: 3) == [.stopThread(3)])
        #expect(m.requestFinished(b, on: 2) == [])
        #expect(m.statementCancelSent(b, on: 2) == [.stopThread(2)])
        #expect(stats(m) == [0, 0, 0])
        #expect(m.deadlinePassed(now: t0 + .seconds(5)) == [])
    }

    @Test func shutdownStopsIdleThreads() {
        var m = PoolStateMachine(maxConnections: 2, acquireTimeout: .seconds(5))
        let (a, _) = submit(&m, at: t0)
        let (b, _) = submit(&m, at: t0)
        run(&m, a, on: 1)
        run(&m, b, on: 2)
        #expect(m.requestFinished(a, on: 1) == [])
        #expect(m.requestFinished(b, on: 2) == [])
        #expect(m.shutdown() == [.stopThread(1), .stopThread(2)])
        #expect(stats(m) == [0, 0, 0])
    }
}
