import Foundation
import JobGateCore

/// The worker's claim / execute / record loop as a pure value: events in, actions out.
/// `WorkerPool` performs the actions (database calls, handler tasks, timers) and feeds the
/// results back as events; this type does no IO and reads no clock, so it is tested alone.
///
/// A slot is taken from claim until the handler returns; results then wait in the completer
/// (`recording`, bounded) so the next claim can run while they are written.
public struct WorkerStateMachine: Sendable {
    struct Running: Sendable {
        var job: ClaimedJob
        var deadline: ContinuousClock.Instant
        var stopReason: StopReason?
    }

    enum Mode: Sendable, Equatable {
        case running
        case draining(deadline: ContinuousClock.Instant)
        case finished
    }

    /// Its limits.
    public let limits: Limits
    /// Backoff of each job type's retries; a type not listed uses `RetryPolicy()`.
    public let retryPolicies: [String: RetryPolicy]
    private(set) var mode: Mode = .running
    private(set) var running: [UUID: Running] = [:]
    /// Keyed by attempt: a retried job may be claimed again before its last result's write is
    /// acknowledged here, and that acknowledgement must not settle the new attempt.
    private(set) var recording: Set<AttemptRef> = []
    private(set) var requeueing: Set<UUID> = []
    private(set) var claimInFlight = false
    /// Jobs may be waiting: set by wakes and full batches, cleared when a claim comes back short.
    private(set) var moreMayBeWaiting = false
    private(set) var heartbeatInFlight = false
    /// A claim's outcome was unknown: jobs may be locked by this worker that it does not hold.
    private(set) var orphansPossible = false
    private(set) var releaseInFlight = false
    /// A hand-back failed: the next try waits for the next tick (not a busy loop while the
    /// database is down).
    private(set) var releaseWaitsForTick = false
    /// Heartbeats failed in a row; at `limits.maxHeartbeatFailures` claiming pauses.
    private(set) var heartbeatFailures = 0

    /// A machine in the running mode with nothing claimed.
    public init(limits: Limits, retryPolicies: [String: RetryPolicy] = [:]) {
        self.limits = limits
        self.retryPolicies = retryPolicies
    }

    /// Jobs whose handlers are running.
    public var runningCount: Int { running.count }
    /// Finished jobs whose results are not yet written.
    public var pendingResults: Int { recording.count }
    /// True once shutdown has settled everything.
    public var isFinished: Bool { mode == .finished }

    /// Feeds one event; returns what to do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .wake:
            moreMayBeWaiting = true
            claimIfPossible(&actions)

        case .claimed(let jobs, let requested, let now):
            claimInFlight = false
            if case .draining = mode {
                // The claim was already in flight when shutdown began: hand them straight back.
                if !jobs.isEmpty {
                    let ids = jobs.map(\.id)
                    requeueing.formUnion(ids)
                    actions.append(.requeue(ids))
                }
                finishIfSettled(&actions)
                break
            }
            for job in jobs {
                let deadline = now + .seconds(max(1, job.timeoutSeconds))
                running[job.id] = Running(job: job, deadline: deadline)
                actions.append(.execute(job, deadline: deadline))
            }
            moreMayBeWaiting = jobs.count >= requested
            claimIfPossible(&actions)

        case .claimFailed(let outcomeUnknown):
            claimInFlight = false
            if outcomeUnknown { orphansPossible = true }
            releaseOrphansIfNeeded(&actions)
            finishIfSettled(&actions)

        case .finished(let ref, let result):
            // Abandoned, unknown, or an older attempt of a job running again here.
            guard let r = running[ref.id], r.job.attempt == ref.attempt else { break }
            running.removeValue(forKey: ref.id)
            settle(r, result, &actions)
            claimIfPossible(&actions)
            finishIfSettled(&actions)

        case .recorded(let refs):
            for ref in refs { recording.remove(ref) }
            claimIfPossible(&actions)
            finishIfSettled(&actions)

        case .heartbeatDue:
            guard !heartbeatInFlight, mode != .finished else { break }
            heartbeatInFlight = true
            actions.append(.heartbeat(held))

        case .heartbeatDone(let result, let sent):
            heartbeatInFlight = false
            heartbeatFailures = 0
            for id in sent {
                guard let r = running[id], r.stopReason == nil else { continue }
                if !result.renewed.contains(id) {
                    running[id]?.stopReason = .leaseLost
                    actions.append(.stopHandler(id, .leaseLost))
                } else if result.cancelRequested.contains(id) {
                    running[id]?.stopReason = .cancelRequested
                    actions.append(.stopHandler(id, .cancelRequested))
                }
            }

        case .heartbeatFailed:
            heartbeatInFlight = false
            heartbeatFailures += 1

        case .tick(let now):
            releaseWaitsForTick = false
            for (id, r) in running {
                if r.stopReason == nil, now >= r.deadline {
                    running[id]?.stopReason = .timeout
                    actions.append(.stopHandler(id, .timeout))
                } else if r.stopReason == .timeout, now >= r.deadline + limits.abandonAfter {
                    // The handler ignores cancellation: give up on it; its slot is freed and the
                    // attempt recorded as failed. A late return is ignored (unknown id).
                    running.removeValue(forKey: id)
                    settle(r, .cancelled, &actions)
                }
            }
            if case .draining(let deadline) = mode {
                if now >= deadline {
                    for (id, r) in running where r.stopReason == nil || r.stopReason == .timeout {
                        running[id]?.stopReason = .shutdown
                        actions.append(.stopHandler(id, .shutdown))
                    }
                }
                if now >= deadline + limits.abandonAfter, !running.isEmpty {
                    // Handlers that ignore cancellation: hand their jobs back anyway.
                    let ids = running.keys.sorted { $0.uuidString < $1.uuidString }
                    running.removeAll()
                    requeueing.formUnion(ids)
                    actions.append(.requeue(ids))
                }
                if now >= deadline + limits.abandonAfter + limits.settleWithin, mode != .finished {
                    let unsettled = held.sorted { $0.uuidString < $1.uuidString }
                    running.removeAll()
                    recording.removeAll()
                    requeueing.removeAll()
                    mode = .finished
                    actions.append(.giveUp(unsettled))
                    actions.append(.finish)
                }
            }
            claimIfPossible(&actions)

        case .shutdown(let now, let grace):
            guard mode == .running else { break }
            mode = .draining(deadline: now + grace)
            finishIfSettled(&actions)

        case .requeued(let ids):
            for id in ids { requeueing.remove(id) }
            finishIfSettled(&actions)

        case .orphansReleased(let ok):
            releaseInFlight = false
            // Tried again at the next wake or tick while running; when shutting down the
            // leases of whatever is left expire and the rescuer hands the jobs back.
            if !ok, mode == .running {
                orphansPossible = true
                releaseWaitsForTick = true
            }
            claimIfPossible(&actions)
            finishIfSettled(&actions)
        }
        return actions
    }

    /// The jobs this worker holds in the database: running handlers, results not yet written,
    /// and jobs being handed back. Their leases are renewed; nothing else locked by it is.
    public var held: Set<UUID> {
        var ids = Set(running.keys)
        ids.formUnion(recording.lazy.map(\.id))
        ids.formUnion(requeueing)
        return ids
    }

    /// Hands back jobs a lost claim reply left locked by this worker, when no claim is in
    /// flight (a claim committing meanwhile would have its fresh jobs taken for orphans).
    private mutating func releaseOrphansIfNeeded(_ actions: inout [Action]) {
        guard orphansPossible, !releaseInFlight, !releaseWaitsForTick, !claimInFlight, mode != .finished else { return }
        orphansPossible = false
        releaseInFlight = true
        actions.append(.releaseOrphans(held: held))
    }

    private mutating func settle(_ r: Running, _ result: HandlerResult, _ actions: inout [Action]) {
        let job = r.job
        switch (result, r.stopReason) {
        case (.succeeded(let meta, let inline), .none), (.succeeded(let meta, let inline), .timeout),
             (.succeeded(let meta, let inline), .cancelRequested), (.succeeded(let meta, let inline), .shutdown):
            // Finished after all: the work is done, record it.
            recording.insert(job.ref)
            actions.append(.record(job, .complete(AttemptCompletion(id: job.id, attempt: job.attempt, output: meta, inlineContent: inline))))
        case (_, .leaseLost):
            actions.append(.drop(job, .leaseLost))
        case (_, .timeout):
            recordFailure(job, message: "timed out after \(job.timeoutSeconds)s", retryable: true, &actions)
        case (_, .cancelRequested):
            recording.insert(job.ref)
            actions.append(.record(job, .failure(AttemptFailure(id: job.id, attempt: job.attempt, message: "cancelled on request",
                                                                disposition: .cancel))))
        case (_, .shutdown):
            requeueing.insert(job.id)
            actions.append(.requeue([job.id]))
        case (.failed(let message, let retryable), .none):
            recordFailure(job, message: message, retryable: retryable, &actions)
        case (.cancelled, .none):
            // Cancelled without a reason from us (should not happen): treat as a retryable failure.
            recordFailure(job, message: "handler was cancelled", retryable: true, &actions)
        }
    }

    /// A failed attempt is retried with its type's backoff while attempts remain, else it fails.
    private mutating func recordFailure(_ job: ClaimedJob, message: String, retryable: Bool, _ actions: inout [Action]) {
        let disposition: AttemptFailure.Disposition = retryable && job.attempt < job.maxAttempts
            ? .retry(retryPolicies[job.type] ?? RetryPolicy()) : .fail
        recording.insert(job.ref)
        actions.append(.record(job, .failure(AttemptFailure(id: job.id, attempt: job.attempt, message: message, disposition: disposition))))
    }

    /// What the claim in flight may take when it is sent: every slot free by then. A claim is
    /// decided when the first slot frees, but the slots of a batch free in a burst (short jobs
    /// claimed together finish together), and a claim sent with the limit of that moment took
    /// one job, the next the other fifteen, halving a small pool's throughput. Slots only free
    /// while a claim is in flight (nothing else fills them), so the later count is safe to take.
    public var claimLimitNow: Int {
        max(0, min(limits.concurrency - running.count, limits.maxClaimBatch))
    }

    private mutating func claimIfPossible(_ actions: inout [Action]) {
        releaseOrphansIfNeeded(&actions)
        guard mode == .running, moreMayBeWaiting, !claimInFlight, !releaseInFlight, !orphansPossible,
              heartbeatFailures < limits.maxHeartbeatFailures else { return }
        let free = limits.concurrency - running.count
        guard free > 0, recording.count < limits.maxPendingResults else { return }
        claimInFlight = true
        actions.append(.claim(limit: min(free, limits.maxClaimBatch)))
    }

    private mutating func finishIfSettled(_ actions: inout [Action]) {
        guard case .draining = mode, running.isEmpty, recording.isEmpty, requeueing.isEmpty, !claimInFlight,
              !releaseInFlight, !orphansPossible else { return }
        mode = .finished
        actions.append(.finish)
    }
}
