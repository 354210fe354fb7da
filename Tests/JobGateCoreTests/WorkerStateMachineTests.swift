import Foundation
import JobGateCore
@testable import JobGateWorker
import Testing

/// The worker loop without IO: events in, actions out.
@Suite struct WorkerStateMachineTests {
    typealias SM = WorkerStateMachine
    let t0 = ContinuousClock.now

    func job(_ n: Int, timeout: Int = 10) -> ClaimedJob {
        ClaimedJob(id: UUID(uuidString: String(format: "00000000-0000-7000-8000-%012d", n))!, attempt: 1, timeoutSeconds: timeout)
    }

    func failure(_ j: ClaimedJob, _ message: String, _ d: AttemptFailure.Disposition) -> SM.Record {
        .failure(AttemptFailure(id: j.id, attempt: j.attempt, message: message, disposition: d))
    }

    func claims(_ actions: [SM.Action]) -> [Int] {
        actions.compactMap { if case .claim(let l) = $0 { return l } else { return nil } }
    }

    @Test func claimsUpToFreeSlotsAndOneClaimAtATime() {
        var sm = SM(limits: .init(concurrency: 4, maxClaimBatch: 3))
        #expect(sm.handle(.wake) == [.claim(limit: 3)])
        #expect(sm.handle(.wake).isEmpty, "a claim is in flight")
        let jobs = [job(1), job(2), job(3)]
        let a = sm.handle(.claimed(jobs, requested: 3, now: t0))
        #expect(a.prefix(3) == [.execute(jobs[0], deadline: t0 + .seconds(10)), .execute(jobs[1], deadline: t0 + .seconds(10)),
                                .execute(jobs[2], deadline: t0 + .seconds(10))])
        // A full batch means more may be waiting: claim the one free slot at once.
        #expect(claims(a) == [1])
        // A short batch: wait for a wake.
        #expect(claims(sm.handle(.claimed([], requested: 1, now: t0))) == [])
        #expect(sm.runningCount == 3)
        let done = sm.handle(.finished(jobs[0].ref, .succeeded(nil, inline: nil)))
        #expect(done == [.record(jobs[0], .complete(AttemptCompletion(id: jobs[0].id, attempt: 1)))])
        #expect(sm.pendingResults == 1)
        #expect(sm.handle(.recorded([jobs[0].ref])).isEmpty)
        #expect(claims(sm.handle(.wake)) == [2])
    }

    @Test func aClaimSentAfterABurstOfFinishesTakesEverySlotFreedMeanwhile() {
        var sm = SM(limits: .init(concurrency: 4, maxClaimBatch: 3))
        _ = sm.handle(.wake)
        let jobs = [job(1), job(2), job(3)]
        _ = sm.handle(.claimed(jobs, requested: 3, now: t0))  // its follow-up claim of 1 is in flight
        #expect(sm.claimLimitNow == 1)
        #expect(claims(sm.handle(.claimed([job(4)], requested: 1, now: t0))) == [], "full: nothing free")
        #expect(sm.claimLimitNow == 0)
        // The first finish decides a claim for its one slot; the others free theirs before it is sent.
        #expect(claims(sm.handle(.finished(jobs[0].ref, .succeeded(nil, inline: nil)))) == [1])
        _ = sm.handle(.finished(jobs[1].ref, .succeeded(nil, inline: nil)))
        #expect(sm.claimLimitNow == 2)
        _ = sm.handle(.finished(jobs[2].ref, .succeeded(nil, inline: nil)))
        #expect(sm.claimLimitNow == 3, "no more than maxClaimBatch")
        _ = sm.handle(.finished(job(4).ref, .succeeded(nil, inline: nil)))
        #expect(sm.claimLimitNow == 3)
        #expect(sm.runningCount == 0)
        // The pool sent 3: a full answer means more may be waiting.
        let b = [job(5), job(6), job(7)]
        #expect(claims(sm.handle(.claimed(b, requested: 3, now: t0))) == [1])
        #expect(sm.runningCount == 3)
    }

    @Test func backpressureWhenResultsPileUp() {
        var sm = SM(limits: .init(concurrency: 2, maxClaimBatch: 10, maxPendingResults: 1))
        _ = sm.handle(.wake)
        let jobs = [job(1), job(2)]
        _ = sm.handle(.claimed(jobs, requested: 2, now: t0))
        #expect(claims(sm.handle(.finished(jobs[0].ref, .succeeded(nil, inline: nil)))).isEmpty, "a result is waiting to be written")
        let a = sm.handle(.finished(jobs[1].ref, .failed(message: "boom", retryable: false)))
        #expect(a == [.record(jobs[1], failure(jobs[1], "boom", .fail))])
        #expect(claims(sm.handle(.recorded([jobs[0].ref]))).isEmpty)
        #expect(claims(sm.handle(.recorded([jobs[1].ref]))) == [2])
    }

    @Test func timeoutStopsTheHandlerAndFailsTheAttempt() {
        var sm = SM(limits: .init(concurrency: 1))
        _ = sm.handle(.wake)
        let j = job(1, timeout: 5)
        _ = sm.handle(.claimed([j], requested: 1, now: t0))
        #expect(sm.handle(.tick(t0 + .seconds(4))).isEmpty)
        #expect(sm.handle(.tick(t0 + .seconds(5))) == [.stopHandler(j.id, .timeout)])
        #expect(sm.handle(.tick(t0 + .seconds(6))).isEmpty, "stopped once")
        #expect(sm.handle(.finished(j.ref, .cancelled)).first ==
                .record(j, failure(j, "timed out after 5s", .retry(RetryPolicy()))))
    }

    @Test func handlerIgnoringCancellationIsAbandoned() {
        var sm = SM(limits: .init(concurrency: 1, abandonAfter: .seconds(2)))
        _ = sm.handle(.wake)
        let j = job(1, timeout: 5)
        _ = sm.handle(.claimed([j], requested: 1, now: t0))
        _ = sm.handle(.tick(t0 + .seconds(5)))
        let a = sm.handle(.tick(t0 + .seconds(7)))
        #expect(a.first == .record(j, failure(j, "timed out after 5s", .retry(RetryPolicy()))))
        #expect(sm.runningCount == 0)
        #expect(sm.handle(.finished(j.ref, .succeeded(nil, inline: nil))).isEmpty, "a late return is ignored")
    }

    /// A retried job claimed again by this worker before the write of its last attempt was
    /// acknowledged here (CI: a flaky job's retry counter lost one): each acknowledgement
    /// settles its own attempt, the job stays held until the newer one is written, and a
    /// shutdown waits for it.
    @Test func aRetriedJobBackBeforeItsLastResultIsAcknowledgedIsSettledPerAttempt() {
        var sm = SM(limits: .init(concurrency: 2))
        _ = sm.handle(.wake)
        let first = job(1)
        _ = sm.handle(.claimed([first], requested: 2, now: t0))
        #expect(sm.handle(.finished(first.ref, .failed(message: "x", retryable: true))).first ==
                .record(first, failure(first, "x", .retry(RetryPolicy()))))
        // The retry's write committed, the job came due and was claimed again, and its second
        // attempt failed too, all before the first write's acknowledgement came back.
        var second = first
        second.attempt = 2
        #expect(claims(sm.handle(.wake)) == [2])
        _ = sm.handle(.claimed([second], requested: 2, now: t0))
        #expect(sm.handle(.finished(second.ref, .failed(message: "y", retryable: true))).first ==
                .record(second, failure(second, "y", .retry(RetryPolicy()))))
        #expect(sm.pendingResults == 2)
        _ = sm.handle(.shutdown(now: t0, grace: .seconds(1)))
        #expect(sm.handle(.recorded([first.ref])).isEmpty, "the second attempt's result is not written yet")
        #expect(sm.held == [first.id], "its lease is still renewed")
        #expect(sm.handle(.recorded([second.ref])) == [.finish])
    }

    /// A handler abandoned past its deadline returns after its job's next attempt started here:
    /// the late return must not settle the running attempt.
    @Test func anAbandonedAttemptsLateReturnLeavesTheNextAttemptRunning() {
        var sm = SM(limits: .init(concurrency: 1, abandonAfter: .seconds(2)))
        _ = sm.handle(.wake)
        let first = job(1, timeout: 5)
        _ = sm.handle(.claimed([first], requested: 1, now: t0))
        _ = sm.handle(.tick(t0 + .seconds(5)))
        _ = sm.handle(.tick(t0 + .seconds(7)))  // abandoned, its failure recorded
        _ = sm.handle(.recorded([first.ref]))
        var second = first
        second.attempt = 2
        _ = sm.handle(.claimed([second], requested: 1, now: t0 + .seconds(8)))
        #expect(sm.handle(.finished(first.ref, .succeeded(nil, inline: nil))).isEmpty, "the late return is ignored")
        #expect(sm.runningCount == 1)
        #expect(sm.handle(.finished(second.ref, .succeeded(nil, inline: nil))).first ==
                .record(second, .complete(AttemptCompletion(id: second.id, attempt: 2))))
    }

    @Test func heartbeatStopsCancelledAndLostJobs() {
        var sm = SM(limits: .init(concurrency: 3))
        _ = sm.handle(.wake)
        let jobs = [job(1), job(2), job(3)]
        _ = sm.handle(.claimed(jobs, requested: 3, now: t0))
        guard case .heartbeat(let sent) = sm.handle(.heartbeatDue).first else { Issue.record("no heartbeat"); return }
        #expect(sent == Set(jobs.map(\.id)))
        #expect(sm.handle(.heartbeatDue).isEmpty, "one heartbeat at a time")
        let result = HeartbeatResult(renewed: [jobs[0].id, jobs[1].id], cancelRequested: [jobs[1].id])
        let a = sm.handle(.heartbeatDone(result, sent: sent))
        #expect(a.count == 2)
        #expect(a.contains(.stopHandler(jobs[1].id, .cancelRequested)) && a.contains(.stopHandler(jobs[2].id, .leaseLost)))
        #expect(sm.handle(.finished(jobs[1].ref, .cancelled)).first ==
                .record(jobs[1], failure(jobs[1], "cancelled on request", .cancel)))
        #expect(sm.handle(.finished(jobs[2].ref, .cancelled)).first == .drop(jobs[2], .leaseLost))
    }

    @Test func gracefulShutdownWaitsThenHandsBack() {
        var sm = SM(limits: .init(concurrency: 2, abandonAfter: .seconds(3)))
        _ = sm.handle(.wake)
        let jobs = [job(1, timeout: 100), job(2, timeout: 100)]
        _ = sm.handle(.claimed(jobs, requested: 2, now: t0))
        #expect(sm.handle(.shutdown(now: t0, grace: .seconds(10))).isEmpty)
        #expect(claims(sm.handle(.wake)).isEmpty, "no claims while draining")
        // One finishes within the grace period and is recorded.
        #expect(sm.handle(.finished(jobs[0].ref, .succeeded(nil, inline: nil))).count == 1)
        #expect(sm.handle(.tick(t0 + .seconds(10))) == [.stopHandler(jobs[1].id, .shutdown)])
        #expect(sm.handle(.finished(jobs[1].ref, .cancelled)) == [.requeue([jobs[1].id])])
        #expect(sm.handle(.requeued([jobs[1].id])).isEmpty, "a result is still being written")
        #expect(sm.handle(.recorded([jobs[0].ref])) == [.finish])
        #expect(sm.isFinished)
    }

    @Test func shutdownRequeuesJobsOfAnInFlightClaimAndUnresponsiveHandlers() {
        var sm = SM(limits: .init(concurrency: 2, abandonAfter: .seconds(1)))
        _ = sm.handle(.wake)
        let a = job(1), b = job(2)
        _ = sm.handle(.claimed([a], requested: 2, now: t0))
        _ = sm.handle(.wake)  // a second claim in flight
        _ = sm.handle(.shutdown(now: t0, grace: .seconds(1)))
        #expect(sm.handle(.claimed([b], requested: 1, now: t0)) == [.requeue([b.id])])
        _ = sm.handle(.requeued([b.id]))
        #expect(sm.handle(.tick(t0 + .seconds(1))) == [.stopHandler(a.id, .shutdown)])
        #expect(sm.handle(.tick(t0 + .seconds(2))) == [.requeue([a.id])])
        #expect(sm.handle(.requeued([a.id])) == [.finish])
    }

    /// A database that cannot be reached must not keep a stopping worker alive: results and
    /// hand-backs still unwritten `settleWithin` after grace and abandonment are given up on
    /// (their leases expire and they run again), and the machine finishes.
    @Test func aShutdownThatCannotWriteGivesUpAfterItsDeadline() {
        var sm = SM(limits: .init(concurrency: 3, abandonAfter: .seconds(2), settleWithin: .seconds(4)))
        _ = sm.handle(.wake)
        let done = job(1, timeout: 100), slow = job(2, timeout: 100), stuck = job(3, timeout: 100)
        _ = sm.handle(.claimed([done, slow, stuck], requested: 3, now: t0))
        #expect(sm.handle(.finished(done.ref, .succeeded(nil, inline: nil))).contains {
            if case .record(let j, _) = $0 { j.id == done.id } else { false }
        }, "to be recorded, and never written")
        _ = sm.handle(.shutdown(now: t0, grace: .seconds(1)))
        let stops = sm.handle(.tick(t0 + .seconds(1)))
        #expect(stops.count == 2 && stops.contains(.stopHandler(slow.id, .shutdown)) && stops.contains(.stopHandler(stuck.id, .shutdown)))
        #expect(sm.handle(.finished(slow.ref, .cancelled)) == [.requeue([slow.id])])
        // The hand-back never returns, the result is never written, one handler ignores its cancel.
        #expect(sm.handle(.tick(t0 + .seconds(3))) == [.requeue([stuck.id])])
        #expect(sm.handle(.tick(t0 + .seconds(6.9))).isEmpty && !sm.isFinished, "still within settleWithin")
        let end = sm.handle(.tick(t0 + .seconds(7)))
        #expect(end == [.giveUp([done.id, slow.id, stuck.id].sorted { $0.uuidString < $1.uuidString }), .finish], "\(end)")
        #expect(sm.isFinished && sm.held.isEmpty)
        // Late answers change nothing.
        #expect(sm.handle(.recorded([done.ref])).isEmpty && sm.handle(.requeued([slow.id])).isEmpty)
        #expect(sm.handle(.tick(t0 + .seconds(20))).isEmpty)
    }

    /// DESIGN.md §12: a claim whose outcome is unknown makes the machine hand back whatever is
    /// locked by the worker beyond what it holds, before any further claim, and only while no
    /// claim is in flight; heartbeats carry exactly the held ids.
    @Test func aClaimWithAnUnknownOutcomeReleasesOrphansBeforeClaimingAgain() {
        var sm = SM(limits: .init(concurrency: 4))
        _ = sm.handle(.wake)
        let a = job(1)
        _ = sm.handle(.claimed([a], requested: 1, now: t0))  // a full batch: another claim goes out
        #expect(sm.handle(.wake).isEmpty, "a claim is already in flight")
        let after = sm.handle(.claimFailed(outcomeUnknown: true))
        #expect(after == [.releaseOrphans(held: [a.id])])
        #expect(claims(sm.handle(.wake)).isEmpty, "no claim until the hand-back is done")
        #expect(claims(sm.handle(.orphansReleased(ok: true))) == [3])
        // A failed hand-back is tried again at the next tick (not at once: no busy loop while
        // the database is down), still before the next claim.
        _ = sm.handle(.claimFailed(outcomeUnknown: true))
        #expect(sm.handle(.orphansReleased(ok: false)).isEmpty)
        #expect(claims(sm.handle(.wake)).isEmpty)
        #expect(sm.handle(.tick(t0)).contains(.releaseOrphans(held: [a.id])))
        // A claim that certainly stored nothing leaves nothing to hand back.
        _ = sm.handle(.orphansReleased(ok: true))
        #expect(sm.handle(.claimFailed(outcomeUnknown: false)).isEmpty)
        // Held = running plus results not yet written.
        _ = sm.handle(.finished(a.ref, .succeeded(nil, inline: nil)))
        guard case .heartbeat(let sent) = sm.handle(.heartbeatDue).first else { Issue.record("no heartbeat"); return }
        #expect(sent == [a.id], "a job whose result is being written keeps its lease")
    }

    /// River #1321: heartbeats failing in a row pause claiming until one succeeds.
    @Test func failingHeartbeatsPauseClaims() {
        var sm = SM(limits: .init(concurrency: 2, maxHeartbeatFailures: 2))
        _ = sm.handle(.wake)
        _ = sm.handle(.claimed([], requested: 2, now: t0))
        for _ in 0..<2 {
            _ = sm.handle(.heartbeatDue)
            _ = sm.handle(.heartbeatFailed)
        }
        #expect(claims(sm.handle(.wake)).isEmpty, "no claims while leases cannot be renewed")
        _ = sm.handle(.heartbeatDue)
        _ = sm.handle(.heartbeatDone(HeartbeatResult(renewed: [], cancelRequested: []), sent: []))
        #expect(claims(sm.handle(.wake)) == [2])
    }

    /// Retry or fail is decided here, once: a retryable failure is retried with its type's
    /// policy while attempts remain; on the last attempt, or when not retryable, it fails.
    @Test func aFailureIsRetriedWithItsTypesPolicyOnlyWhileAttemptsRemain() {
        let slow = RetryPolicy(baseSeconds: 30, capSeconds: 300)
        var sm = SM(limits: .init(concurrency: 4), retryPolicies: ["slow": slow])
        _ = sm.handle(.wake)
        let id = { (n: Int) in UUID(uuidString: String(format: "00000000-0000-7000-8000-%012d", n))! }
        let typed = ClaimedJob(id: id(1), type: "slow", attempt: 1, maxAttempts: 3)
        let other = ClaimedJob(id: id(2), type: "noop", attempt: 2, maxAttempts: 3)
        let last = ClaimedJob(id: id(3), type: "slow", attempt: 3, maxAttempts: 3)
        let fatal = ClaimedJob(id: id(4), type: "slow", attempt: 1, maxAttempts: 3)
        _ = sm.handle(.claimed([typed, other, last, fatal], requested: 4, now: t0))
        #expect(sm.handle(.finished(typed.ref, .failed(message: "x", retryable: true))).first == .record(typed, failure(typed, "x", .retry(slow))))
        #expect(sm.handle(.finished(other.ref, .failed(message: "x", retryable: true))).first ==
                .record(other, failure(other, "x", .retry(RetryPolicy()))), "a type with no policy of its own gets the default")
        #expect(sm.handle(.finished(last.ref, .failed(message: "x", retryable: true))).first == .record(last, failure(last, "x", .fail)))
        #expect(sm.handle(.finished(fatal.ref, .failed(message: "x", retryable: false))).first == .record(fatal, failure(fatal, "x", .fail)))
    }
}
