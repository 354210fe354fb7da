import Foundation
import JobGateCore

// The worker loop's vocabulary: its limits, the events it takes and the actions it gives.
extension WorkerStateMachine {
    /// Limits of the loop.
    public struct Limits: Sendable, Equatable {
        /// Handlers running at once.
        public var concurrency: Int
        /// Most jobs one claim statement asks for.
        public var maxClaimBatch: Int
        /// Finished jobs waiting to be recorded beyond which claiming pauses (backpressure).
        public var maxPendingResults: Int
        /// After an attempt's deadline a handler that ignores cancellation is abandoned this much later.
        public var abandonAfter: Duration
        /// Heartbeats failing in a row after which claiming pauses until one succeeds: a worker
        /// that cannot renew leases must not take jobs it will lose (the pool beats every lease/3,
        /// so 2 is about two thirds of a lease without renewal).
        public var maxHeartbeatFailures: Int
        /// After the grace period and `abandonAfter`, how long a shutdown still waits for results
        /// and hand-backs to be written before it stops anyway (a database that cannot be reached
        /// must not keep a stopping worker alive past its supervisor's kill): what is unwritten
        /// then is redone once its lease expires, as after a crash.
        public var settleWithin: Duration
        /// Limits; `concurrency` at least 1.
        public init(concurrency: Int, maxClaimBatch: Int = 1000, maxPendingResults: Int? = nil, abandonAfter: Duration = .seconds(5),
                    maxHeartbeatFailures: Int = 2, settleWithin: Duration = .seconds(5)) {
            self.concurrency = max(1, concurrency)
            self.maxClaimBatch = max(1, maxClaimBatch)
            self.maxPendingResults = maxPendingResults ?? max(2 * self.concurrency, 1000)
            self.abandonAfter = abandonAfter
            self.maxHeartbeatFailures = max(1, maxHeartbeatFailures)
            self.settleWithin = settleWithin
        }
    }

    /// Why a running handler is being stopped.
    public enum StopReason: Sendable, Equatable {
        /// The attempt ran past its deadline: the attempt fails (retryable).
        case timeout
        /// A cancel was requested: the job becomes `cancelled`.
        case cancelRequested
        /// Another worker took the job (lease expired): the result is dropped.
        case leaseLost
        /// Graceful shutdown ran out of grace: the job is handed back.
        case shutdown
    }

    /// How a handler ended.
    public enum HandlerResult: Sendable, Equatable {
        /// It returned; with the output's metadata (and inline bytes) if it produced one.
        case succeeded(JobOutputMetadata?, inline: [UInt8]?)
        /// It threw an error.
        case failed(message: String, retryable: Bool)
        /// It stopped because it was cancelled.
        case cancelled
    }

    /// What to write for a finished attempt, decided here: a failure is retried with its type's
    /// policy only when it is retryable and attempts remain, so the statement that writes it
    /// and the metrics that count it follow one decision.
    public enum Record: Sendable, Equatable {
        /// A successful attempt, with its output if it made one.
        case complete(AttemptCompletion)
        /// An unsuccessful attempt: retried, failed or cancelled, as its disposition says.
        case failure(AttemptFailure)
    }

    /// Inputs.
    public enum Event: Sendable, Equatable {
        /// There may be claimable jobs (start, NOTIFY, poll tick).
        case wake
        /// A claim returned `jobs` after asking for `requested`.
        case claimed([ClaimedJob], requested: Int, now: ContinuousClock.Instant)
        /// A claim failed; the next wake retries. `outcomeUnknown` when the statement may have
        /// committed (its reply was lost): jobs may now be locked by this worker that it does not hold.
        case claimFailed(outcomeUnknown: Bool)
        /// A handler ended (of this attempt: a late return of an older one is ignored).
        case finished(AttemptRef, HandlerResult)
        /// The completer wrote (or gave up on) these attempts' results.
        case recorded([AttemptRef])
        /// Time to renew leases.
        case heartbeatDue
        /// The heartbeat sent for `sent` came back.
        case heartbeatDone(HeartbeatResult, sent: Set<UUID>)
        /// The heartbeat failed.
        case heartbeatFailed
        /// The clock moved (timeouts, grace deadline).
        case tick(ContinuousClock.Instant)
        /// Stop claiming; running jobs get `grace` to finish, then are handed back.
        case shutdown(now: ContinuousClock.Instant, grace: Duration)
        /// A requeue of these ids finished.
        case requeued([UUID])
        /// Handing back running jobs locked by this worker that it does not hold finished
        /// (`ok` false: it failed and is tried again).
        case orphansReleased(ok: Bool)
    }

    /// Outputs.
    public enum Action: Sendable, Equatable {
        /// Claim up to `limit` jobs.
        case claim(limit: Int)
        /// Run the job's handler with this attempt deadline.
        case execute(ClaimedJob, deadline: ContinuousClock.Instant)
        /// Cancel the job's handler task.
        case stopHandler(UUID, StopReason)
        /// Hand a result to the completer.
        case record(ClaimedJob, Record)
        /// Forget a result: the worker no longer holds the job (log it).
        case drop(ClaimedJob, StopReason)
        /// Renew the leases of exactly these jobs: the ones this worker holds (running, or
        /// finished with the result not yet written), never "everything locked by me".
        case heartbeat(Set<UUID>)
        /// Hand back every running job locked by this worker except `held` (a claim whose reply
        /// was lost locked jobs that no handler runs). No claim is in flight meanwhile.
        case releaseOrphans(held: Set<UUID>)
        /// Hand these jobs back (graceful shutdown).
        case requeue([UUID])
        /// Shutdown ran out of time with these jobs' results or hand-backs unwritten (the
        /// database could not be reached): stop writing; their leases expire and they run again.
        case giveUp([UUID])
        /// Everything is settled after shutdown (or given up on): the pool may stop.
        case finish
    }
}
