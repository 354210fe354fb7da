import Foundation
import JobGateCore
import JobGatePostgres
import JobGatePrometheus
import Synchronization

/// A pool of job handlers fed from PostgreSQL: the producer (claims up to free slots, woken by
/// NOTIFY with a polling fallback), the executor (one task per job, deadline enforced), the
/// completer (batched, fenced results), the heartbeater (all leases every lease/3), the rescuer
/// (expired leases of dead workers), the pruner (retention, one worker at a time) and the
/// scheduler (due cron schedules, exactly one job per slot across all workers).
///
/// `run()` works until its task is cancelled (or `shutdown()` is called), then shuts down
/// gracefully: it stops claiming, lets running jobs finish within the grace period, hands the
/// unfinished ones back as `queued` (attempt not counted) and returns.
public final class WorkerPool: Sendable {
    /// How a worker pool behaves. Defaults follow DESIGN.md §2.
    public struct Configuration: Sendable {
        /// Handlers running at once.
        public var concurrency: Int = 16
        /// Queues to serve; empty serves every queue (discovered from the claimable jobs and NOTIFY).
        public var queues: [String] = []
        /// How long a claimed job belongs to this worker without a heartbeat.
        public var leaseSeconds: Double = 30
        /// The polling fallback when no NOTIFY arrives.
        public var pollInterval: Duration = .seconds(1)
        /// How long running jobs may take to finish after shutdown begins.
        public var gracePeriod: Duration = .seconds(25)
        /// Where outputs larger than `inlineOutputMax` are written.
        public var outputDirectory: String = ".jobgate/outputs"
        /// Outputs up to this many bytes are stored in the database.
        public var inlineOutputMax: Int = 1 << 20
        /// Finished jobs (and their outputs) are deleted after this many seconds.
        public var jobRetentionSeconds: Double = 7 * 86_400
        /// `job_events` rows are deleted after this many seconds.
        public var historyRetentionSeconds: Double = 90 * 86_400
        /// How often expired leases are looked for.
        public var rescueInterval: Duration = .seconds(5)
        /// How often retention runs (by whichever worker gets the lock).
        public var pruneInterval: Duration = .seconds(300)
        /// The longest one retention pass may take before it is cancelled (it resumes next time).
        public var pruneTimeout: Duration = .seconds(120)
        /// How often due cron schedules are looked for and fired (every worker does; each slot
        /// still makes one job). Zero turns this worker's scheduler off.
        public var scheduleInterval: Duration = .seconds(1)
        /// The scheduler's clock: which slots are due. Tests drive it; leave it for real use.
        public var scheduleClock: @Sendable () -> Date = { Date() }
        /// Most jobs per claim statement. The statements' cost grows faster than their batch
        /// (bench/README.md, "Batch caps"): with 250 here and below, one worker at
        /// `--concurrency 1000` drained noop jobs at 18,600–21,200/s, against 1,400–4,700/s with
        /// the earlier 1000 and 5000, in the same session.
        public var maxClaimBatch: Int = 250
        /// Most results per complete/fail statement; a bigger backlog of results goes in several.
        public var maxCompletionBatch: Int = 250
        /// How often timeouts and the grace deadline are checked.
        public var tickInterval: Duration = .milliseconds(200)
        /// Backoff for jobs whose lease expired, for types this worker has no handler (and so no policy) for.
        /// Any worker rescues any expired job, so in a fleet whose workers load different job-type
        /// files a rescued job gets its own type's backoff only when a worker that knows the type
        /// rescues it; otherwise this one. (Storing each type's backoff on the job row at submit,
        /// as max_attempts is, would remove that dependence.)
        public var rescueRetry: RetryPolicy = RetryPolicy()
        /// LISTEN for new jobs (polling still runs).
        public var listen: Bool = true
        /// Reported in the `workers` registry.
        public var version: String = "dev"
        /// Log lines (JSON on stderr by default).
        public var log: WorkerLog = WorkerLog()
        /// Where job counters, histograms and slot gauges are recorded (`Metrics.default` by default).
        public var metrics: JobGateMetrics = .shared

        /// The defaults.
        public init() {}
    }

    /// Counters for metrics and benchmarks.
    public struct Statistics: Sendable, Equatable {
        /// Jobs claimed.
        public var claimed = 0
        /// Attempts whose handler succeeded.
        public var completed = 0
        /// Attempts whose handler failed (retryable or not).
        public var failed = 0
        /// Results the database refused because the job was no longer this worker's (lease lost, cancelled).
        public var fencedOut = 0
        /// Jobs handed back to the queue unfinished (shutdown), attempt not counted.
        public var requeued = 0
        /// Jobs whose lease had expired (any worker's) that this worker's rescuer took back.
        public var rescued = 0
        /// Results not written because the job was no longer held by this worker (lease lost or given up).
        public var dropped = 0
        /// Schedule slots this worker fired (a job made, or the submit's error recorded).
        public var scheduled = 0
        /// Results written by the completer (applied or fenced out).
        public var recorded = 0
        /// Progress reports accepted from handlers and commands (DESIGN.md §14).
        public var progressReports = 0
        /// Progress statements written (each carries every job's pending report; at most one a second, plus one
        /// for each attempt that ends with a report pending).
        public var progressWrites = 0
        /// Job rows those statements updated.
        public var progressRowsWritten = 0
        /// Progress reports the database refused because the worker no longer ran that attempt.
        public var progressFencedOut = 0
    }

    /// This worker's identity (`host:pid:random`), its `locked_by` value.
    public let info: WorkerInfo
    /// The worker id.
    public var workerID: String { info.id }
    /// The configuration it was made with.
    public let configuration: Configuration
    let store: JobStore
    let registry: HandlerRegistry
    let writer: OutputWriter
    let log: WorkerLog
    private let state: Mutex<WorkerStateMachine>
    /// Each job's running handler, with its attempt (an abandoned older attempt's task that
    /// returns late must not remove the entry of the attempt running now).
    private let tasks = Mutex<[UUID: (attempt: Int, task: Task<Void, Never>)]>([:])
    let stats = Mutex(Statistics())
    let knownQueues = Mutex<Set<String>>([])
    /// Queues with a concurrency cap, as last read (claims on them lock their rows first).
    let cappedQueues = Mutex<Set<String>>([])
    /// Outcomes handed to the completer, counted once the database applied them (not when fenced out).
    private let pendingOutcomes = Mutex<[AttemptRef: (JobKindMetrics, Outcome)]>([:])
    let metrics: JobGateMetrics
    private let slotsBusy: Gauge
    private let completer: Completer
    let progress: ProgressRecorder
    private let finished: AsyncStream<Void>
    private let finishedContinuation: AsyncStream<Void>.Continuation
    private let stopRequests: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    /// A pool over `store` running the handlers of `registry`.
    public init(store: JobStore, configuration: Configuration = Configuration(), registry: HandlerRegistry = .builtIn(),
                workerID: String? = nil) {
        var info = WorkerInfo.current(version: configuration.version, queues: configuration.queues, concurrency: configuration.concurrency)
        if let workerID { info.id = workerID }
        self.info = info
        self.configuration = configuration
        self.store = store
        self.registry = registry
        self.log = configuration.log
        self.metrics = configuration.metrics
        self.slotsBusy = configuration.metrics.workerSlotsBusy.labels()
        self.writer = OutputWriter(directory: configuration.outputDirectory, inlineMax: configuration.inlineOutputMax)
        self.state = Mutex(WorkerStateMachine(limits: .init(
            concurrency: configuration.concurrency, maxClaimBatch: configuration.maxClaimBatch), retryPolicies: registry.settings.mapValues(\.retry)))
        (finished, finishedContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (stopRequests, stopContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        let box = WeakBox()
        self.completer = Completer(
            store: store, worker: info.id, maxBatch: configuration.maxCompletionBatch, log: configuration.log
        ) { ids, fenced in box.pool?.flushed(ids, fencedOut: fenced) }
        self.progress = ProgressRecorder(store: store, worker: info.id, log: configuration.log,
                                         callLimit: .milliseconds(Int(max(1, configuration.leaseSeconds / 3) * 1000)))
        box.pool = self
    }

    /// Current counters.
    public var statistics: Statistics {
        var s = stats.withLock { $0 }
        let p = progress.counts
        s.progressReports = p.reports
        s.progressWrites = p.statements
        s.progressRowsWritten = p.rowsWritten
        s.progressFencedOut = p.fencedOut
        return s
    }

    /// Asks `run()` to shut down gracefully (as cancelling its task does).
    public func shutdown() { stopContinuation.yield() }

    /// Runs until cancelled or `shutdown()`, then drains gracefully and returns.
    public func run() async throws {
        // Before anything is claimed: this binary's statements may need the latest migration.
        try await Migrator(pool: store.pool).requireCurrent()
        try await store.registerWorker(info)
        // What this worker serves beyond the built-ins (which `migrate` adds) goes to job_types,
        // where API nodes validate submits and every worker's rescuer finds the type's backoff.
        for change in try await JobTypeStore(pool: store.pool).apply(registry.declaredSettings, by: info.id) {
            log.info("job type written", ["type": change.name, "added": change.before == nil ? "true" : "false", "worker.id": info.id])
        }
        log.info("worker started", ["worker.id": info.id, "concurrency": String(configuration.concurrency),
                                    "queues": configuration.queues.isEmpty ? "*" : configuration.queues.joined(separator: ",")])
        knownQueues.withLock { $0 = Set(configuration.queues) }
        metrics.workerSlots.labels().inc(by: Double(configuration.concurrency))
        defer { metrics.workerSlots.labels().dec(by: Double(configuration.concurrency)) }
        if configuration.queues.isEmpty { await refreshQueues() }
        await refreshQueueControls()
        let listener = configuration.listen
            ? store.pool.configuration.listenConfiguration.map { PostgresListener(configuration: $0, channels: [JobStore.notifyChannel]) } : nil
        // Background loops are unstructured so that cancelling `run()` does not stop the
        // heartbeats and timers the graceful shutdown still needs; they are cancelled at the end.
        var loops: [Task<Void, Never>] = []
        if let listener {
            loops.append(Task { [self] in
                for await event in listener.events {
                    switch event {
                    case .notification(_, let queue):
                        if configuration.queues.isEmpty { knownQueues.withLock { _ = $0.insert(queue) } }
                        if knownQueues.withLock({ $0.contains(queue) }) { handle(.wake) }
                    case .reconnected:
                        handle(.wake)
                    }
                }
            })
        }
        loops.append(repeating(every: configuration.pollInterval) { [self] in
            if configuration.queues.isEmpty { await refreshQueues() }
            await refreshQueueControls()
            handle(.wake)
        })
        loops.append(repeating(every: configuration.tickInterval) { [self] in handle(.tick(.now)) })
        loops.append(repeating(every: .milliseconds(Int(max(0.05, configuration.leaseSeconds / 3) * 1000))) { [self] in handle(.heartbeatDue) })
        loops.append(repeating(every: configuration.rescueInterval) { [self] in await rescueOnce() })
        loops.append(repeating(every: configuration.pruneInterval, immediately: false) { [self] in await pruneOnce() })
        if configuration.scheduleInterval > .zero {
            loops.append(repeating(every: configuration.scheduleInterval) { [self] in await fireSchedulesOnce() })
        }
        handle(.wake)

        // Wait for cancellation or shutdown().
        let stop = stopContinuation
        await withTaskCancellationHandler {
            for await _ in stopRequests { break }
        } onCancel: {
            stop.yield()
        }

        log.info("worker shutting down", ["worker.id": info.id, "running": String(state.withLock { $0.runningCount })])
        listener?.stop()
        // Shielded from this task's cancellation: the drain must run to its end.
        let finished = self.finished
        await Task { [self] in
            handle(.shutdown(now: .now, grace: configuration.gracePeriod))
            for await _ in finished { break }
            // Settled means every result is written (the machine waits for each `recorded`).
            for loop in loops { loop.cancel() }
            do { try await withDeadline(shortCall) { [self] in try await store.stopWorker(info.id) } } catch { log.warn("could not mark worker stopped", ["error": String(describing: error)]) }
        }.value
        log.info("worker stopped", ["worker.id": info.id])
    }

    // MARK: events and actions

    func handle(_ event: WorkerStateMachine.Event) {
        let actions = state.withLock { $0.handle(event) }
        for action in actions { perform(action) }
    }

    private func perform(_ action: WorkerStateMachine.Action) {
        switch action {
        case .claim(let decided):
            Task { [self] in
                // Slots that freed since the decision (the rest of a finishing batch) join this claim.
                let limit = max(decided, state.withLock { $0.claimLimitNow })
                let queues = knownQueues.withLock { Array($0) }.sorted()
                let capped = cappedQueues.withLock { $0 }
                do {
                    let jobs = try await withDeadline(shortCall) { [self] in
                        try await store.claim(queues: queues, limit: limit, worker: info.id, leaseSeconds: configuration.leaseSeconds,
                                              cappedQueues: capped)
                    }
                    if !jobs.isEmpty {
                        stats.withLock { $0.claimed += jobs.count }
                        for job in jobs {
                            let m = metrics.job(type: job.type, queue: job.queue)
                            m.started.inc()
                            m.queueWait.observe(job.queueWaitSeconds)
                        }
                    }
                    handle(.claimed(jobs, requested: limit, now: .now))
                } catch {
                    // A claim whose reply was lost may have committed: its jobs are locked by this
                    // worker, which does not hold them; the state machine has them handed back.
                    let unknown = (error as? PostgresError)?.mayHaveTakenEffect ?? true
                    log.error("claim failed", ["error": String(describing: error), "worker.id": info.id,
                                               "outcome": unknown ? "unknown" : "nothing claimed"])
                    handle(.claimFailed(outcomeUnknown: unknown))
                }
            }

        case .execute(let job, let deadline):
            tasks.withLock { tasks in
                tasks[job.id] = (job.attempt, Task { [self] in
                    let result = await execute(job, deadline: deadline)
                    self.tasks.withLock { if $0[job.id]?.attempt == job.attempt { $0.removeValue(forKey: job.id) } }
                    handle(.finished(job.ref, result))
                })
            }

        case .stopHandler(let id, let reason):
            log.info("stopping job", ["job.id": id.uuidString, "reason": "\(reason)", "worker.id": info.id])
            tasks.withLock { $0[id] }?.task.cancel()

        case .record(let job, let record):
            let m = metrics.job(type: job.type, queue: job.queue)
            switch record {
            case .complete(let c):
                pendingOutcomes.withLock { $0[c.ref] = (m, .completed) }
                completer.add(c)
            case .failure(let f):
                let outcome: Outcome = switch f.disposition {
                case .retry: .retried
                case .fail: .failed
                case .cancel: .cancelled
                }
                pendingOutcomes.withLock { $0[f.ref] = (m, outcome) }
                completer.add(f)
            }

        case .drop(let job, let reason):
            stats.withLock { $0.dropped += 1 }
            log.warn("dropping result: the job is no longer held by this worker",
                     ["job.id": job.id.uuidString, "job.type": job.type, "reason": "\(reason)", "worker.id": info.id])

        case .heartbeat(let sent):
            Task { [self] in
                do {
                    let result = try await withDeadline(shortCall) { [self] in
                        try await store.heartbeat(worker: info.id, leaseSeconds: configuration.leaseSeconds, held: sent)
                    }
                    handle(.heartbeatDone(result, sent: sent))
                } catch {
                    log.error("heartbeat failed", ["error": String(describing: error), "worker.id": info.id])
                    handle(.heartbeatFailed)
                }
            }

        case .releaseOrphans(let held):
            Task { [self] in
                do {
                    let back = try await withDeadline(shortCall) { [self] in try await store.releaseOrphans(worker: info.id, held: held) }
                    if !back.isEmpty {
                        stats.withLock { $0.requeued += back.count }
                        log.warn("handed back jobs a lost claim reply left locked by this worker",
                                 ["count": String(back.count), "job.ids": back.map(\.uuidString).joined(separator: ","), "worker.id": info.id])
                    }
                    handle(.orphansReleased(ok: true))
                } catch {
                    log.warn("handing back unreceived claims failed; retrying", ["error": String(describing: error), "worker.id": info.id])
                    handle(.orphansReleased(ok: false))
                }
            }

        case .requeue(let ids):
            Task { [self] in
                for attempt in 1...5 {
                    do {
                        let back = try await withDeadline(shortCall) { [self] in try await store.requeue(worker: info.id, ids: ids) }
                        stats.withLock { $0.requeued += back.count }
                        log.info("handed unfinished jobs back", ["count": String(back.count), "worker.id": info.id])
                        break
                    } catch {
                        log.error("requeue failed", ["error": String(describing: error), "attempt": String(attempt)])
                        try? await Task.sleep(for: .milliseconds(200 * attempt))
                    }
                }
                // If it never worked, the leases expire and the rescuer hands them out again.
                handle(.requeued(ids))
            }

        case .giveUp(let ids):
            completer.stop()
            log.error("shutdown deadline passed with results or hand-backs unwritten; their jobs run again once their leases expire",
                      ["count": String(ids.count), "job.ids": ids.map(\.uuidString).joined(separator: ","), "worker.id": info.id])

        case .finish:
            finishedContinuation.yield()
        }
    }

    fileprivate func flushed(_ attempts: [AttemptRef], fencedOut: [UUID]) {
        stats.withLock { s in
            s.fencedOut += fencedOut.count
            s.recorded += attempts.count
        }
        let fenced = Set(fencedOut)
        let outcomes = pendingOutcomes.withLock { p in
            attempts.compactMap { ref in p.removeValue(forKey: ref).map { (ref.id, $0) } }
        }
        for (id, (m, outcome)) in outcomes where !fenced.contains(id) {
            switch outcome {
            case .completed: m.completed.inc()
            case .retried: m.retried.inc()
            case .failed: m.failed.inc()
            case .cancelled: m.cancelled.inc()
            }
        }
        handle(.recorded(attempts))
    }

    // MARK: executor

    private func execute(_ job: ClaimedJob, deadline: ContinuousClock.Instant) async -> WorkerStateMachine.HandlerResult {
        let started = ContinuousClock.now
        slotsBusy.inc()
        defer {
            slotsBusy.dec()
            metrics.job(type: job.type, queue: job.queue).runDuration.observe(since: started)
        }
        guard let entry = registry.entry(for: job.type) else {
            // Another worker may know the type (mixed deployments): retryable.
            return .failed(message: "no handler for job type \(job.type) on worker \(info.id)", retryable: true)
        }
        let recorder = progress
        let context = JobContext(id: job.id, type: job.type, queue: job.queue, tenant: job.tenant, payload: job.payload,
                                 attempt: job.attempt, maxAttempts: job.maxAttempts, deadline: deadline, traceId: job.traceId,
                                 progressSink: { [id = job.id, attempt = job.attempt] in recorder.report($0, id: id, attempt: attempt) })
        // Whatever the outcome, the attempt's last pending progress is stored before its result.
        let result = await run(entry.handler, context, job)
        await recorder.finish(job.id)
        return result
    }

    private func run(_ handler: any JobHandler, _ context: JobContext, _ job: ClaimedJob) async -> WorkerStateMachine.HandlerResult {
        do {
            guard let output = try await handler.run(context) else {
                stats.withLock { $0.completed += 1 }
                return .succeeded(nil, inline: nil)
            }
            let prepared = try await writer.prepare(output, jobID: job.id, attempt: job.attempt)
            stats.withLock { $0.completed += 1 }
            return .succeeded(prepared.metadata, inline: prepared.inline)
        } catch is CancellationError {
            return .cancelled
        } catch let failure as JobFailure {
            stats.withLock { $0.failed += 1 }
            return .failed(message: failure.message, retryable: failure.retryable)
        } catch {
            if Task.isCancelled { return .cancelled }
            stats.withLock { $0.failed += 1 }
            return .failed(message: String(describing: error), retryable: true)
        }
    }
}

/// What a recorded attempt will count as once written.
private enum Outcome: Sendable {
    case completed, retried, failed, cancelled
}

/// Lets the completer call back into the pool without a retain cycle.
private final class WeakBox: @unchecked Sendable {
    weak var pool: WorkerPool?
}
