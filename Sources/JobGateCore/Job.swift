import Foundation
import JobGatePostgres

/// Where a job is in its lifecycle (DESIGN.md §4).
public enum JobStatus: String, Sendable, CaseIterable, Codable {
    /// Waiting to be claimed (possibly not before `runAt`).
    case queued
    /// Claimed by a worker that holds a lease on it.
    case running
    /// Finished successfully; may have an output.
    case completed
    /// An attempt failed; waiting for `runAt` to be claimed again.
    case retrying
    /// Finished unsuccessfully: attempts used up, or a non-retryable error.
    case failed
    /// Cancelled before or while running.
    case cancelled

    /// True for the states a job never leaves by itself (completed, failed, cancelled).
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// One job as stored in `jobs`.
public struct Job: Sendable, Equatable {
    /// A UUIDv7, so ids sort by submission time (listings page on it).
    public var id: UUID
    /// The tenant that owns it (a `TenantName`'s text); reads, cancels and redrives are scoped to it.
    public var tenant: String
    /// The queue it waits in to be claimed (`QueueName` rule).
    public var queue: String
    /// Its job type: picks the worker's handler and the type's settings in `job_types`.
    public var type: String
    /// The payload as JSON text (as PostgreSQL renders the `jsonb`).
    public var payload: String
    /// Lower runs first.
    public var priority: Int
    /// Where it is in its lifecycle.
    public var status: JobStatus
    /// Attempts started so far (the running attempt included).
    public var attempt: Int
    /// Attempts allowed in all (at least 1); a failure of the last one is final.
    public var maxAttempts: Int
    /// Not claimed before this time.
    public var runAt: Date
    /// When it was submitted (database clock).
    public var createdAt: Date
    /// When the latest attempt started.
    public var startedAt: Date?
    /// When it became completed, failed or cancelled; nil until then (a redrive clears it).
    public var finishedAt: Date?
    /// Each attempt's time limit.
    public var timeoutSeconds: Int
    /// While running, when the lease lapses unless a heartbeat renews it (then a rescue pass takes
    /// the job back); nil otherwise.
    public var leaseExpiresAt: Date?
    /// The worker holding the lease while running.
    public var lockedBy: String?
    /// When a cancel was requested; nil if none was (a redrive clears it).
    public var cancelRequestedAt: Date?
    /// The submitter's idempotency key, unique per tenant; nil: none.
    public var idempotencyKey: String?
    /// The latest failed attempt's message (or why its lease expired); nil when none failed,
    /// cleared on completion and redrive.
    public var lastError: String?
    /// The trace id of the submit request's W3C `traceparent`; nil when it had none.
    public var traceId: String?
    /// Output metadata once completed with an output.
    public var output: JobOutputMetadata?
    /// The last progress its current attempt reported (kept once it finishes); nil when that
    /// attempt reported none, e.g. right after a retry started.
    public var progress: JobProgress?

    /// A job value (normally decoded from a row by the store).
    public init(id: UUID, tenant: String, queue: String, type: String, payload: String, priority: Int, status: JobStatus,
                attempt: Int, maxAttempts: Int, runAt: Date, createdAt: Date, startedAt: Date?, finishedAt: Date?,
                timeoutSeconds: Int, leaseExpiresAt: Date?, lockedBy: String?, cancelRequestedAt: Date?,
                idempotencyKey: String?, lastError: String?, traceId: String?, output: JobOutputMetadata?,
                progress: JobProgress? = nil) {
        self.id = id; self.tenant = tenant; self.queue = queue; self.type = type; self.payload = payload
        self.priority = priority; self.status = status; self.attempt = attempt; self.maxAttempts = maxAttempts
        self.runAt = runAt; self.createdAt = createdAt; self.startedAt = startedAt; self.finishedAt = finishedAt
        self.timeoutSeconds = timeoutSeconds; self.leaseExpiresAt = leaseExpiresAt; self.lockedBy = lockedBy
        self.cancelRequestedAt = cancelRequestedAt; self.idempotencyKey = idempotencyKey; self.lastError = lastError
        self.traceId = traceId; self.output = output; self.progress = progress
    }
}

extension Job {
    /// The job just inserted for `new`: the server supplies only `createdAt` and `runAt`, so the
    /// submit statement returns three columns instead of whole rows (a hot path). The payload
    /// is the submitted text (the server stores it as jsonb, which may normalise spacing).
    public init(submitted new: NewJob, id: UUID, createdAt: Date, runAt: Date) {
        self.init(id: id, tenant: new.tenant, queue: new.queue, type: new.type, payload: new.payload, priority: new.priority,
                  status: .queued, attempt: 0, maxAttempts: new.maxAttempts, runAt: runAt, createdAt: createdAt,
                  startedAt: nil, finishedAt: nil, timeoutSeconds: new.timeoutSeconds, leaseExpiresAt: nil, lockedBy: nil,
                  cancelRequestedAt: nil, idempotencyKey: new.idempotencyKey, lastError: nil, traceId: new.traceId, output: nil)
    }
}

/// Where a completed job's output is kept.
public enum OutputLocation: String, Sendable, Equatable {
    /// `bytea` in `job_outputs`.
    case inline
    /// A file in the output directory; `JobOutputMetadata.path` says which.
    case file
}

/// What is recorded about an output: size, content type, SHA-256 and where it lives.
public struct JobOutputMetadata: Sendable, Equatable {
    /// In bytes.
    public var size: Int
    /// The MIME type it is served with.
    public var contentType: String
    /// 32 bytes.
    public var sha256: [UInt8]
    /// Inline in the database or a file.
    public var location: OutputLocation
    /// The file's path for `.file` outputs.
    public var path: String?

    /// Metadata of an output; `path` is set for `.file` outputs only.
    public init(size: Int, contentType: String, sha256: [UInt8], location: OutputLocation, path: String?) {
        self.size = size; self.contentType = contentType; self.sha256 = sha256; self.location = location; self.path = path
    }

    /// The SHA-256 as lowercase hex (an ETag).
    public var sha256Hex: String { sha256.map { String(format: "%02x", $0) }.joined() }
}

/// A job's output as fetched for download.
public struct StoredOutput: Sendable, Equatable {
    /// Its metadata.
    public var metadata: JobOutputMetadata
    /// The bytes of an inline output; nil for a file output (read `metadata.path`).
    public var content: [UInt8]?
}

/// One row of `job_events`: a transition.
public struct JobEvent: Sendable, Equatable {
    /// From a sequence: a job's events in transition order sort by it.
    public var id: Int64
    /// The job it happened to.
    public var jobID: UUID
    /// The job's tenant, kept here because history outlives the job row.
    public var tenant: String
    /// `clock_timestamp()` of the transition.
    public var at: Date
    /// `submitted`, `started`, `completed`, `retry_scheduled`, `failed`, `lease_expired`,
    /// `cancel_requested`, `cancelled`, `requeued`, `redriven` (`attempt_failed` is reserved).
    public var event: String
    /// The status before the transition; nil for `submitted`.
    public var fromStatus: JobStatus?
    /// The status after the transition; nil only if the row records none.
    public var toStatus: JobStatus?
    /// The attempt it concerns (0 for `submitted` and `redriven`).
    public var attempt: Int
    /// The worker involved (`WorkerInfo.id`): the one that claimed, finished or requeued the
    /// attempt, or whose lease expired; nil for submit, cancel and redrive.
    public var worker: String?
    /// A note for people: a failure's message, a cancel's reason, why a lease expired or a job was
    /// requeued; nil when there is none.
    public var message: String?
    /// Extra detail as JSON text (e.g. `{"delaySeconds": 2.1}`).
    public var data: String?
}

/// A job to submit. Defaults match the schema's.
public struct NewJob: Sendable, Equatable {
    /// The submitting tenant (a `TenantName`'s text).
    public var tenant: String
    /// The job type, which picks the worker's handler.
    public var type: String
    /// The queue it waits in (`QueueName` rule).
    public var queue: String
    /// Any JSON value as text; the database validates it (`jsonb`).
    public var payload: String
    /// Lower runs first (smallint range).
    public var priority: Int
    /// Not before this time; nil is now.
    public var runAt: Date?
    /// Attempts allowed in all (at least 1).
    public var maxAttempts: Int
    /// Each attempt's time limit, in seconds (above 0).
    public var timeoutSeconds: Int
    /// With the tenant, makes a replayed submit return the same job.
    public var idempotencyKey: String?
    /// A W3C trace id to hand on to the handler; nil: none.
    public var traceId: String?

    /// A job to submit; the defaults are the schema's (queue `default`, payload `{}`, 3 attempts,
    /// 300 s per attempt, runnable now).
    public init(tenant: String, type: String, queue: String = "default", payload: String = "{}", priority: Int = 0,
                runAt: Date? = nil, maxAttempts: Int = 3, timeoutSeconds: Int = 300,
                idempotencyKey: String? = nil, traceId: String? = nil) {
        self.tenant = tenant; self.type = type; self.queue = queue; self.payload = payload; self.priority = priority
        self.runAt = runAt; self.maxAttempts = maxAttempts; self.timeoutSeconds = timeoutSeconds
        self.idempotencyKey = idempotencyKey; self.traceId = traceId
    }
}

/// What happened to one submitted job.
public enum SubmitOutcome: Sendable, Equatable {
    /// A new job was inserted.
    case created(Job)
    /// The idempotency key was used before with the same request: that job.
    case existing(Job)
    /// The idempotency key was used before with a different request (HTTP 409).
    case conflict(existingID: UUID)

    /// The job's id in every case.
    public var jobID: UUID {
        switch self {
        case .created(let j), .existing(let j): return j.id
        case .conflict(let id): return id
        }
    }
}

/// What happened to one unit of `JobStore.submit(units:)`: a unit (one client's single job or
/// whole batch) is stored all or nothing.
public enum UnitOutcome: Sendable, Equatable {
    /// Every job of the unit is stored or matched its existing job: one outcome per job, in
    /// order, none of them `.conflict`.
    case committed([SubmitOutcome])
    /// The job at `index` (within the unit) reused an idempotency key for a different request,
    /// that of job `existingID`: nothing of the unit was stored.
    case conflict(index: Int, existingID: UUID)

    /// A unit of one job as that job's outcome (a rejected one as `.conflict`).
    public var single: SubmitOutcome {
        switch self {
        case .committed(let outcomes): return outcomes[0]
        case .conflict(_, let existingID): return .conflict(existingID: existingID)
        }
    }
}

/// What a cancel did.
public enum CancelOutcome: Sendable, Equatable {
    /// A queued or retrying job is now cancelled.
    case cancelled(Job)
    /// A running job has `cancel_requested_at` set; its worker stops it on its next heartbeat.
    case cancelRequested(Job)
    /// Already completed, failed or cancelled: nothing changed (HTTP 409).
    case alreadyFinished(Job)
    /// No such job (for this tenant).
    case notFound
}

/// What a redrive did.
public enum RedriveOutcome: Sendable, Equatable {
    /// The failed or cancelled job is queued again with its attempts reset.
    case redriven(Job)
    /// The job is not failed or cancelled: nothing changed (HTTP 409).
    case notRedrivable(Job)
    /// No such job (for this tenant).
    case notFound
}

/// One attempt of one job. A job's id alone does not name what a worker holds: a retried job
/// can come back to the same worker while its previous attempt's result is still being
/// written, and a handler abandoned past its deadline can return after its job's next attempt
/// started; bookkeeping keyed by the id alone would let the old attempt settle the new one.
public struct AttemptRef: Sendable, Hashable {
    /// The job.
    public var id: UUID
    /// The attempt's number (1 for the first).
    public var attempt: Int
    /// Attempt `attempt` of job `id`.
    public init(id: UUID, attempt: Int) { self.id = id; self.attempt = attempt }
}

/// A job as handed to a worker by `claim`: what running it needs.
public struct ClaimedJob: Sendable, Equatable {
    /// Identifies the job; with `attempt`, fences what the worker writes back.
    public var id: UUID
    /// The tenant that submitted it.
    public var tenant: String
    /// The queue it was claimed from.
    public var queue: String
    /// Its job type, which picks the handler.
    public var type: String
    /// The payload as JSON text.
    public var payload: String
    /// This attempt's number (1 for the first); fences the result.
    public var attempt: Int
    /// Attempts allowed in all: a failure of attempt `maxAttempts` is final.
    public var maxAttempts: Int
    /// This attempt's time limit, in seconds.
    public var timeoutSeconds: Int
    /// The trace id of the submit request's W3C `traceparent`; nil when it had none.
    public var traceId: String?
    /// Seconds from the job becoming runnable (`run_at`) to this claim, for the queue-wait histogram.
    public var queueWaitSeconds: Double

    /// A claimed job (normally from `JobStore.claim`); the defaults suit tests.
    public init(id: UUID, tenant: String = "t", queue: String = "default", type: String = "noop", payload: String = "{}",
                attempt: Int = 1, maxAttempts: Int = 3, timeoutSeconds: Int = 300, traceId: String? = nil,
                queueWaitSeconds: Double = 0) {
        self.id = id; self.tenant = tenant; self.queue = queue; self.type = type; self.payload = payload
        self.attempt = attempt; self.maxAttempts = maxAttempts; self.timeoutSeconds = timeoutSeconds; self.traceId = traceId
        self.queueWaitSeconds = queueWaitSeconds
    }

    /// This attempt of this job.
    public var ref: AttemptRef { AttemptRef(id: id, attempt: attempt) }
}

/// A successful attempt to record (`JobStore.complete`).
public struct AttemptCompletion: Sendable, Equatable {
    /// The job the attempt belongs to.
    public var id: UUID
    /// The attempt that succeeded; the write applies only while the worker still holds it.
    public var attempt: Int
    /// The output's metadata, nil for none.
    public var output: JobOutputMetadata?
    /// The bytes of an inline output (`output.location == .inline`).
    public var inlineContent: [UInt8]?

    /// A success of attempt `attempt` of job `id`, with its output if it made one.
    public init(id: UUID, attempt: Int, output: JobOutputMetadata? = nil, inlineContent: [UInt8]? = nil) {
        self.id = id; self.attempt = attempt; self.output = output; self.inlineContent = inlineContent
    }

    /// The attempt it records.
    public var ref: AttemptRef { AttemptRef(id: id, attempt: attempt) }
}

/// An unsuccessful attempt to record (`JobStore.fail`).
public struct AttemptFailure: Sendable, Equatable {
    /// What to do with the job.
    public enum Disposition: Sendable, Equatable {
        /// `retrying`, claimable again after the policy's backoff for this attempt (computed by
        /// the database, `JobQueries.backoffSeconds`). The caller decided that attempts remain.
        case retry(RetryPolicy)
        /// `failed` at once (a non-retryable error).
        case fail
        /// `cancelled` (the cancellation requested was honoured).
        case cancel
    }
    /// The job the attempt belongs to.
    public var id: UUID
    /// The attempt that failed; the write applies only while the worker still holds it.
    public var attempt: Int
    /// Becomes `last_error` and the event's message.
    public var message: String
    /// What becomes of the job: retried after a backoff, failed, or cancelled.
    public var disposition: Disposition

    /// A failure of attempt `attempt` of job `id`.
    public init(id: UUID, attempt: Int, message: String, disposition: Disposition) {
        self.id = id; self.attempt = attempt; self.message = message; self.disposition = disposition
    }

    /// The attempt it records.
    public var ref: AttemptRef { AttemptRef(id: id, attempt: attempt) }
}

/// A fenced batch write's result.
public struct FencedResult: Sendable, Equatable {
    /// Ids whose write was applied.
    public var applied: [UUID]
    /// Ids refused because the worker no longer holds that attempt (lease lost, rescued, cancelled).
    public var fencedOut: [UUID]
    /// A result from the ids applied and those fenced out.
    public init(applied: [UUID], fencedOut: [UUID]) { self.applied = applied; self.fencedOut = fencedOut }
}

/// A worker's heartbeat result.
public struct HeartbeatResult: Sendable, Equatable {
    /// Jobs whose lease was renewed (still held by this worker).
    public var renewed: Set<UUID>
    /// Of those, the ones whose cancellation was requested.
    public var cancelRequested: Set<UUID>
    /// A result from the jobs renewed and those of them with a cancel requested.
    public init(renewed: Set<UUID>, cancelRequested: Set<UUID>) { self.renewed = renewed; self.cancelRequested = cancelRequested }
}

/// What one rescue pass did.
public struct RescueResult: Sendable, Equatable {
    /// Expired jobs put back to `retrying`.
    public var retried: [UUID]
    /// Expired jobs that had used their attempts (now `failed`) or had a cancel requested (now `cancelled`).
    public var finished: [UUID]
    /// How many rescued jobs of each type and queue ended in each status (for metrics).
    public var outcomes: [RescueOutcome: Int] = [:]
    /// Jobs rescued in all (retried and finished).
    public var count: Int { retried.count + finished.count }
}

/// A type, queue and resulting status of rescued jobs (`RescueResult.outcomes`).
public struct RescueOutcome: Sendable, Hashable {
    /// The rescued jobs' type.
    public var type: String
    /// Their queue.
    public var queue: String
    /// `retrying`, `failed` or `cancelled`.
    public var status: JobStatus
    /// A key of `RescueResult.outcomes`.
    public init(type: String, queue: String, status: JobStatus) { self.type = type; self.queue = queue; self.status = status }
}

/// What one prune pass did; nil from `prune` when another worker holds the prune lock.
public struct PruneResult: Sendable, Equatable {
    /// Finished jobs deleted for being older than the job retention (their inline outputs with them).
    public var jobsDeleted: Int
    /// `job_events` rows deleted in batches past the history retention (those in dropped
    /// partitions not counted).
    public var eventsDeleted: Int
    /// Output files of deleted jobs, for the caller to remove.
    public var outputFiles: [String]
    /// Day partitions of `job_events` made ahead.
    public var partitionsCreated = 0
    /// Day partitions of `job_events` dropped whole, being past the history retention.
    public var partitionsDropped = 0
    /// Why the partitions could not be maintained (e.g. the role does not own `job_events`);
    /// nil when they were. Row-by-row deletion of old history went on regardless.
    public var partitionProblem: String?
}

/// A queue's controls (a row of `jobgate.queues`): paused, and its concurrency cap.
public struct QueueControl: Sendable, Equatable {
    /// The queue it controls (`QueueName` rule).
    public var name: String
    /// No job of the queue is claimed while paused; submits are still accepted.
    public var paused: Bool
    /// At most this many of its jobs run at once, across every worker; nil: no cap.
    public var concurrencyCap: Int?
    /// Who changed it last, e.g. `jobgate queue pause`, `api token <id>` or `jwt <subject>`.
    public var updatedBy: String
    /// When it was last changed (database clock).
    public var updatedAt: Date
    /// Its jobs running when this was read, on every worker.
    public var running: Int

    /// A queue's controls; the defaults describe a queue with no row: not paused, no cap, nothing
    /// running.
    public init(name: String, paused: Bool = false, concurrencyCap: Int? = nil, updatedBy: String = "", updatedAt: Date = Date(),
                running: Int = 0) {
        self.name = name; self.paused = paused; self.concurrencyCap = concurrencyCap
        self.updatedBy = updatedBy; self.updatedAt = updatedAt; self.running = running
    }

    init(row r: PostgresRow) throws {
        self.init(name: try r.decode(0), paused: try r.decode(1), concurrencyCap: try r.decode(2, as: Int?.self),
                  updatedBy: try r.decode(3), updatedAt: try r.decode(4), running: try r.decode(5))
    }
}

/// A worker's row in `workers`.
public struct WorkerInfo: Sendable, Equatable {
    /// `host:pid:random`.
    public var id: String
    /// The host name of its machine.
    public var host: String
    /// Its process id on that host.
    public var pid: Int
    /// The JobGate version it runs (`WorkerPool.Configuration.version`).
    public var version: String
    /// The queues it serves; empty: every queue.
    public var queues: [String]
    /// How many handlers it runs at once.
    public var concurrency: Int

    /// A worker's identity as stored; `current` makes one for this process.
    public init(id: String, host: String, pid: Int, version: String, queues: [String], concurrency: Int) {
        self.id = id; self.host = host; self.pid = pid; self.version = version; self.queues = queues; self.concurrency = concurrency
    }

    /// A new identity for this process: `host:pid:random`.
    public static func current(version: String, queues: [String], concurrency: Int) -> WorkerInfo {
        let host = ProcessInfo.processInfo.hostName
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        let rnd = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return WorkerInfo(id: "\(host):\(pid):\(rnd)", host: host, pid: pid, version: version, queues: queues, concurrency: concurrency)
    }
}
