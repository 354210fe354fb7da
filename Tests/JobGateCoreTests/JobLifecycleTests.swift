import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

@Suite struct JobLifecycleTests {
    @Test func claimHonoursPriorityThenRunAtAndNeverClaimsTheFutureEarly() async throws {
        let f = try await EngineFixture.make("order")
        defer { f.pool.shutdown() }
        let now = Date()
        let out = try await f.store.submit([
            NewJob(tenant: "t", type: "noop", priority: 5, runAt: now.addingTimeInterval(-30)),   // 0
            NewJob(tenant: "t", type: "noop", priority: 1, runAt: now.addingTimeInterval(-10)),   // 1
            NewJob(tenant: "t", type: "noop", priority: 1, runAt: now.addingTimeInterval(-20)),   // 2
            NewJob(tenant: "t", type: "noop", priority: -3, runAt: now.addingTimeInterval(3600)), // 3: future
            NewJob(tenant: "t", type: "noop", queue: "elsewhere", priority: 1),                   // 4: other queue
        ])
        let ids = out.map(\.jobID)
        var order: [UUID] = []
        for _ in 0..<4 {
            order += try await f.store.claim(queues: ["default"], limit: 1, worker: "w", leaseSeconds: 30).map(\.id)
        }
        #expect(order == [ids[2], ids[1], ids[0]])
        // The future job is queued but not claimable until its time comes.
        #expect(try await f.store.job(id: ids[3], tenant: nil)?.status == .queued)
        try await f.pool.query("UPDATE jobgate.jobs SET run_at = now() - interval '1 second' WHERE id = $1", [ids[3]])
        #expect(try await f.store.claim(queues: ["default", "elsewhere"], limit: 10, worker: "w", leaseSeconds: 30).map(\.id) == [ids[3], ids[4]])
    }

    @Test func retriesWithGrowingDelaysThenFailsAndNonRetryableFailsAtOnce() async throws {
        let f = try await EngineFixture.make("retry")
        defer { f.pool.shutdown() }
        // Delays of minutes, so "not claimable yet" cannot turn true on a starved machine between
        // the failure and the check (a 10 s base allowed 5 s, and CI once took longer).
        let policy = RetryPolicy(baseSeconds: 100, capSeconds: 10_000)
        // A type missing from job_types, so the disposition's policy applies (a listed type's
        // backoff comes from the table: JobTypeStoreTests).
        let id = try await f.store.submit([NewJob(tenant: "t", type: "unlisted", maxAttempts: 4)])[0].jobID
        var delays: [Double] = []
        for attempt in 1...4 {
            let c = try await f.store.claim(queues: ["default"], limit: 10, worker: "w", leaseSeconds: 30)
            #expect(c.map(\.id) == [id] && c[0].attempt == attempt)
            // The worker's state machine retries while attempts remain and fails the last one.
            let r = try await f.store.fail([AttemptFailure(id: id, attempt: attempt, message: "boom \(attempt)",
                                                           disposition: attempt < 4 ? .retry(policy) : .fail)], worker: "w")
            #expect(r.applied == [id])
            let job = try #require(try await f.store.job(id: id, tenant: nil))
            #expect(job.lastError == "boom \(attempt)")
            if attempt < 4 {
                #expect(job.status == .retrying && job.finishedAt == nil)
                // The delay the statement chose, from its event (not from now: a starved CI disk
                // let seconds pass between the write and this read).
                let data = try await f.pool.query("""
                    SELECT (data->>'delaySeconds')::float8 FROM jobgate.job_events WHERE job_id = $1 AND event = 'retry_scheduled' AND attempt = $2
                    """, [id, attempt])
                delays.append(try #require(data.first).decode(0, as: Double.self))
                // Not claimable before its delay…
                #expect(try await f.store.claim(queues: ["default"], limit: 10, worker: "w", leaseSeconds: 30).isEmpty)
                try await f.shiftTime(10_000)  // …then it is.
            } else {
                #expect(job.status == .failed && job.finishedAt != nil)
            }
        }
        #expect(delays.count == 3)
        #expect(delays[0] < delays[1] && delays[1] < delays[2], "delays grow: \(delays)")
        // The database's backoff (JobQueries.backoffSeconds): d/2...d with d = base·2^(n-1).
        for (n, d) in [100.0, 200, 400].enumerated() {
            #expect(delays[n] >= d / 2 - 1 && delays[n] <= d + 0.5, "attempt \(n + 1): \(delays[n]) s, nominal \(d) s")
        }
        #expect(try await f.events(id) == ["submitted", "started", "retry_scheduled", "started", "retry_scheduled",
                                           "started", "retry_scheduled", "started", "failed"])

        let once = try await f.store.submit([NewJob(tenant: "t", type: "noop", maxAttempts: 5)])[0].jobID
        let c = try await f.store.claim(queues: ["default"], limit: 10, worker: "w", leaseSeconds: 30)
        #expect(c.map(\.id) == [once])
        _ = try await f.store.fail([AttemptFailure(id: once, attempt: 1, message: "bad input", disposition: .fail)], worker: "w")
        let failed = try #require(try await f.store.job(id: once, tenant: nil))
        #expect(failed.status == .failed && failed.attempt == 1)
        // Redrive: back to queued, attempts reset, with a `redriven` event.
        guard case .redriven(let again) = try await f.store.redrive(id: once, tenant: "t") else { Issue.record("not redriven"); return }
        #expect(again.status == .queued && again.attempt == 0 && again.lastError == nil)
        guard case .notRedrivable = try await f.store.redrive(id: once, tenant: "t") else { Issue.record("redrove twice"); return }
        #expect(try await f.store.redrive(id: once, tenant: "other") == .notFound)
        #expect(try await f.events(once) == ["submitted", "started", "failed", "redriven"])
    }

    @Test func cancelQueuedAtOnceRunningByRequestFinishedRefused() async throws {
        let f = try await EngineFixture.make("cancel")
        defer { f.pool.shutdown() }
        let ids = try await f.store.submit([NewJob(tenant: "t", type: "noop"), NewJob(tenant: "t", type: "noop", priority: 9)]).map(\.jobID)
        #expect(try await f.store.cancel(id: ids[0], tenant: "nope") == .notFound)
        guard case .cancelled(let c) = try await f.store.cancel(id: ids[0], tenant: "t") else { Issue.record("not cancelled"); return }
        #expect(c.status == .cancelled && c.finishedAt != nil)
        guard case .alreadyFinished = try await f.store.cancel(id: ids[0], tenant: "t") else { Issue.record("cancelled twice"); return }
        let claimed = try await f.store.claim(queues: ["default"], limit: 10, worker: "w", leaseSeconds: 30)
        #expect(claimed.map(\.id) == [ids[1]], "a cancelled job is never claimed")
        guard case .cancelRequested(let r) = try await f.store.cancel(id: ids[1], tenant: "t") else { Issue.record("no request"); return }
        #expect(r.status == .running && r.cancelRequestedAt != nil)
        guard case .cancelRequested = try await f.store.cancel(id: ids[1], tenant: nil) else { Issue.record("second request"); return }
        let hb = try await f.store.heartbeat(worker: "w", leaseSeconds: 30, held: [ids[1]])
        #expect(hb.renewed == [ids[1]] && hb.cancelRequested == [ids[1]])
        _ = try await f.store.fail([AttemptFailure(id: ids[1], attempt: 1, message: "cancelled on request", disposition: .cancel)], worker: "w")
        #expect(try await f.store.job(id: ids[1], tenant: nil)?.status == .cancelled)
        #expect(try await f.events(ids[0]) == ["submitted", "cancelled"])
        #expect(try await f.events(ids[1]) == ["submitted", "started", "cancel_requested", "cancelled"])
    }

    @Test func idempotencyKeySameRequestSameJobDifferentRequestConflict() async throws {
        let f = try await EngineFixture.make("idem")
        defer { f.pool.shutdown() }
        let first = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"records": 5, "x": 1}"#, idempotencyKey: "k1")])
        let id = try #require(first[0].createdJob?.id)
        // Same request (key order and spacing differ, runAt differs): the same job.
        let replay = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"x":1,"records":5}"#,
                                                      runAt: Date().addingTimeInterval(60), idempotencyKey: "k1")])
        guard case .existing(let j) = replay[0] else { Issue.record("not existing: \(replay)"); return }
        #expect(j.id == id)
        // Different request with the same key: conflict; in the same batch as a good job, which is still created.
        let mixed = try await f.store.submit([
            NewJob(tenant: "t", type: "weather", payload: #"{"records": 6}"#, idempotencyKey: "k1"),
            NewJob(tenant: "t", type: "noop"),
            NewJob(tenant: "other", type: "weather", payload: #"{"records": 6}"#, idempotencyKey: "k1"),
            NewJob(tenant: "t", type: "noop", idempotencyKey: "k2"),
            NewJob(tenant: "t", type: "noop", idempotencyKey: "k2"),
        ])
        #expect(mixed[0] == .conflict(existingID: id))
        #expect(mixed[1].createdJob != nil && mixed[2].createdJob != nil && mixed[3].createdJob != nil)
        guard case .existing(let dup) = mixed[4] else { Issue.record("in-batch duplicate: \(mixed[4])"); return }
        #expect(dup.id == mixed[3].jobID)
        #expect(try await f.events(id) == ["submitted"])
    }

    /// One transaction of many units (as a group commit makes): a unit with a conflict stores
    /// nothing, the others commit; units sharing a key see each other's final rows.
    @Test func aUnitWithAConflictStoresNothingAndItsNeighboursCommit() async throws {
        let f = try await EngineFixture.make("units")
        defer { f.pool.shutdown() }
        let first = try await f.store.submit([NewJob(tenant: "t", type: "weather", payload: #"{"n": 1}"#, idempotencyKey: "k1")])
        let id1 = try #require(first[0].createdJob?.id)
        let out = try await f.store.submit(units: [
            // A batch of 3 whose 2nd reuses k1 for a different request.
            [NewJob(tenant: "t", type: "noop", payload: #"{"a": 0}"#),
             NewJob(tenant: "t", type: "weather", payload: #"{"n": 2}"#, idempotencyKey: "k1"),
             NewJob(tenant: "t", type: "noop", payload: #"{"a": 2}"#, idempotencyKey: "ka")],
            // A single without a key.
            [NewJob(tenant: "t", type: "noop", payload: #"{"s": 1}"#)],
            // A batch whose key matches the same request: the existing job for that entry.
            [NewJob(tenant: "t", type: "weather", payload: #"{"n":1}"#, idempotencyKey: "k1"),
             NewJob(tenant: "t", type: "noop", payload: #"{"c": 1}"#)],
            // Reuses the rejected batch's key "ka" for another request: that row was taken back, so it is new.
            [NewJob(tenant: "t", type: "noop", payload: #"{"d": 1}"#, idempotencyKey: "ka")],
            // A single conflicting with the stored job: 409 for it alone.
            [NewJob(tenant: "t", type: "noop", idempotencyKey: "k1")],
            // Units sharing a key "kf" within the commit: the first creates, the same request
            // matches it, a different one conflicts with it.
            [NewJob(tenant: "t", type: "noop", payload: #"{"f": 1}"#, idempotencyKey: "kf")],
            [NewJob(tenant: "t", type: "noop", payload: #"{"f": 1}"#, idempotencyKey: "kf")],
            [NewJob(tenant: "t", type: "noop", payload: #"{"f": 2}"#, idempotencyKey: "kf")],
        ])
        try #require(out.count == 8)
        #expect(out[0] == .conflict(index: 1, existingID: id1))
        guard case .committed(let b) = out[1], case .committed(let c) = out[2], case .committed(let d) = out[3],
              case .committed(let kf) = out[5], case .committed(let kfAgain) = out[6] else {
            Issue.record("not committed: \(out)"); return
        }
        #expect(b[0].createdJob != nil && c[1].createdJob != nil && d[0].createdJob != nil && kf[0].createdJob != nil)
        #expect(c[0] == .existing(first[0].createdJob!))
        #expect(out[4] == .conflict(index: 0, existingID: id1))
        #expect(kfAgain[0].jobID == kf[0].jobID && kfAgain[0].createdJob == nil)
        #expect(out[7] == .conflict(index: 0, existingID: kf[0].jobID))
        // Stored: the first job, the single, the 2nd batch's new job, "ka" and "kf" — nothing of the rejected batch.
        let n = try await f.pool.query("SELECT count(*), (SELECT count(*) FROM jobgate.job_events) FROM jobgate.jobs").first!
        #expect(try n.decode(0, as: Int.self) == 5 && n.decode(1, as: Int.self) == 5)
        #expect(try await f.pool.query("SELECT count(*) FROM jobgate.jobs WHERE payload ? 'a'").first!.decode(0, as: Int.self) == 0)
        let ka = try await f.pool.query("SELECT payload::text FROM jobgate.jobs WHERE idempotency_key = 'ka'").first!.decode(0, as: String.self)
        #expect(ka == #"{"d": 1}"#)
        // Every stored job has exactly its submitted event; none is left for a taken-back job.
        let orphans = try await f.pool.query("SELECT count(*) FROM jobgate.job_events e WHERE NOT EXISTS (SELECT 1 FROM jobgate.jobs j WHERE j.id = e.job_id)")
        #expect(try orphans.first!.decode(0, as: Int.self) == 0)
        // The per-job form keeps its semantics: each job on its own.
        let perJob = try await f.store.submit([NewJob(tenant: "t", type: "noop", idempotencyKey: "k1"), NewJob(tenant: "t", type: "noop")])
        #expect(perJob[0] == .conflict(existingID: id1) && perJob[1].createdJob != nil)
    }

    @Test func sixteenConcurrentSubmittersOneKeyMakeExactlyOneJob() async throws {
        let f = try await EngineFixture.make("idem16", maxConnections: 16)
        defer { f.pool.shutdown() }
        let outcomes = try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
            for _ in 0..<16 {
                group.addTask { try await f.store.submit([NewJob(tenant: "t", type: "noop", payload: #"{"a":1}"#, idempotencyKey: "same")])[0] }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(outcomes.map(\.jobID)).count == 1)
        #expect(outcomes.filter { $0.createdJob != nil }.count == 1)
        let n = try await f.pool.query("SELECT count(*), (SELECT count(*) FROM jobgate.job_events) FROM jobgate.jobs").first!
        #expect(try n.decode(0, as: Int.self) == 1 && n.decode(1, as: Int.self) == 1)
    }

    @Test func expiredLeasesAreRescuedOnceAndLateResultsAreFencedOut() async throws {
        let f = try await EngineFixture.make("rescue")
        defer { f.pool.shutdown() }
        let ids = try await f.store.submit((0..<3).map { _ in NewJob(tenant: "t", type: "noop", maxAttempts: 2) }).map(\.jobID)
        let claimed = try await f.store.claim(queues: ["default"], limit: 3, worker: "dead", leaseSeconds: 30)
        #expect(claimed.count == 3)
        #expect(try await f.store.rescue().count == 0, "leases still valid")
        try await f.pool.query("UPDATE jobgate.jobs SET lease_expires_at = now() - interval '1 second'")
        // Many rescuers at once: each job rescued exactly once.
        let results = try await withThrowingTaskGroup(of: RescueResult.self) { group in
            for _ in 0..<4 { group.addTask { try await f.store.rescue(limit: 10) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.map(\.count).reduce(0, +) == 3)
        let job = try #require(try await f.store.job(id: ids[0], tenant: nil))
        #expect(job.status == .retrying && job.lockedBy == nil && job.lastError?.contains("lease expired") == true)
        // The dead worker's late completion is refused.
        let late = try await f.store.complete(claimed.map { AttemptCompletion(id: $0.id, attempt: $0.attempt) }, worker: "dead")
        #expect(late.applied.isEmpty && Set(late.fencedOut) == Set(ids))
        // Another worker runs attempt 2; when that lease also expires the job is failed (attempts used up).
        try await f.shiftTime(10_000)
        let second = try await f.store.claim(queues: ["default"], limit: 3, worker: "w2", leaseSeconds: 30)
        #expect(second.allSatisfy { $0.attempt == 2 })
        try await f.pool.query("UPDATE jobgate.jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [ids[0]])
        #expect(try await f.store.rescue().finished == [ids[0]])
        #expect(try await f.store.job(id: ids[0], tenant: nil)?.status == .failed)
        let done = try await f.store.complete(second.filter { $0.id != ids[0] }.map { AttemptCompletion(id: $0.id, attempt: 2) }, worker: "w2")
        #expect(done.applied.count == 2)
        #expect(try await f.events(ids[0]) == ["submitted", "started", "lease_expired", "started", "lease_expired"])
        #expect(try await f.events(ids[1]) == ["submitted", "started", "lease_expired", "started", "completed"])
    }

    /// The type's backoff comes from job_types, whichever worker rescues: the rescuer here
    /// knows no handler of `slowretry` and still uses its 1000 s base.
    @Test func rescuedJobsWaitTheirTypesBackoffOrTheDefaultForUnknownTypes() async throws {
        let f = try await EngineFixture.make("rescuebackoff")
        defer { f.pool.shutdown() }
        try await JobTypeStore(pool: f.pool).apply([
            "slowretry": JobTypeSettings(retry: RetryPolicy(baseSeconds: 1000, capSeconds: 5000)),
            "other": JobTypeSettings(retry: RetryPolicy(baseSeconds: 1e6)),
        ], by: "test")
        let ids = try await f.store.submit([NewJob(tenant: "t", type: "slowretry"), NewJob(tenant: "t", type: "unknown")]).map(\.jobID)
        _ = try await f.store.claim(queues: ["default"], limit: 2, worker: "dead", leaseSeconds: 30)
        try await f.pool.query("UPDATE jobgate.jobs SET lease_expires_at = now() - interval '1 second'")
        let r = try await f.store.rescue(retry: RetryPolicy(baseSeconds: 1, capSeconds: 1))
        #expect(Set(r.retried) == Set(ids))
        // Equal jitter: between half and all of the nominal delay after attempt 1.
        // Measured from the rescue itself (its event), not from now: a loaded machine may take a while to get here.
        let delays = try await f.pool.query("""
            SELECT extract(epoch FROM j.run_at - e.at)::float8 FROM jobgate.jobs j JOIN jobgate.job_events e ON e.job_id = j.id AND e.event = 'lease_expired'
            WHERE j.id = ANY($1::uuid[]) ORDER BY j.type
            """, [ids]).map { try $0.decode(0, as: Double.self) }
        #expect(delays.count == 2)
        #expect((499...1000).contains(delays[0]), "slowretry waits its own 1000 s base: \(delays)")
        #expect((0.25...1).contains(delays[1]), "unknown types wait the default (0.5-1 s): \(delays)")
    }

    @Test func requeueHandsBackWithoutCountingTheAttempt() async throws {
        let f = try await EngineFixture.make("requeue")
        defer { f.pool.shutdown() }
        let id = try await f.store.submit([NewJob(tenant: "t", type: "noop")])[0].jobID
        _ = try await f.store.claim(queues: ["default"], limit: 1, worker: "w", leaseSeconds: 30)
        #expect(try await f.store.requeue(worker: "other", ids: [id]).isEmpty)
        #expect(try await f.store.requeue(worker: "w", ids: [id]) == [id])
        let job = try #require(try await f.store.job(id: id, tenant: nil))
        #expect(job.status == .queued && job.attempt == 0 && job.lockedBy == nil)
        #expect(try await f.store.claim(queues: ["default"], limit: 1, worker: "w", leaseSeconds: 30).first?.attempt == 1)
        #expect(try await f.events(id) == ["submitted", "started", "requeued", "started"])
    }

    @Test func pruneDeletesOldJobsAndOlderHistorySeparatelyOnePrunerAtATime() async throws {
        let f = try await EngineFixture.make("prune")
        defer { f.pool.shutdown() }
        let ids = try await f.store.submit((0..<5).map { _ in NewJob(tenant: "t", type: "noop") }).map(\.jobID)
        let c = try await f.store.claim(queues: ["default"], limit: 5, worker: "w", leaseSeconds: 30)
        let meta = JobOutputMetadata(size: 1, contentType: "text/plain", sha256: [UInt8](repeating: 1, count: 32), location: .inline, path: nil)
        _ = try await f.store.complete(c.map { AttemptCompletion(id: $0.id, attempt: 1, output: meta, inlineContent: [65]) }, worker: "w")
        try await f.pool.query("UPDATE jobgate.jobs SET finished_at = now() - interval '8 days' WHERE id = ANY($1::uuid[])", [Array(ids.prefix(3))])
        try await f.pool.query("UPDATE jobgate.job_events SET at = now() - interval '91 days' WHERE job_id = $1", [ids[0]])
        // Another session holds the prune lock: skipped.
        let holder = PostgresPool(configuration: Database.configuration(url: f.db.url, maxConnections: 1))
        try await holder.query("SELECT pg_advisory_lock($1)", [Int64(0x6A6F_6267_6174_6502)])
        #expect(try await f.store.prune(jobRetention: 7 * 86_400, historyRetention: 90 * 86_400) == nil)
        // Unlock explicitly: after a disconnect the server releases the lock only once the
        // backend has exited, which a busy machine may not have done yet.
        try await holder.query("SELECT pg_advisory_unlock($1)", [Int64(0x6A6F_6267_6174_6502)])
        holder.shutdown()
        let r = try #require(try await f.store.prune(jobRetention: 7 * 86_400, historyRetention: 90 * 86_400, batch: 2))
        #expect(r.jobsDeleted == 3 && r.eventsDeleted == 3)
        let counts = try await f.pool.query("SELECT (SELECT count(*) FROM jobgate.jobs), (SELECT count(*) FROM jobgate.job_outputs), (SELECT count(*) FROM jobgate.job_events)").first!
        #expect(try counts.decode(0, as: Int.self) == 2 && counts.decode(1, as: Int.self) == 2 && counts.decode(2, as: Int.self) == 12)
    }

    @Test func completionNeverScansTheRunningIndexEvenWhenStatisticsSayNothingRuns() async throws {
        let f = try await EngineFixture.make("completeplan")
        defer { f.pool.shutdown() }
        try await f.pool.query("""
            INSERT INTO jobgate.jobs (id, tenant, queue, type, status, attempt, finished_at, created_at)
            SELECT gen_random_uuid(), 't', 'default', 'noop', 'completed', 1, now(), now() FROM generate_series(1, 100000) g
            """)
        // Statistics taken while nothing runs, as autovacuum takes them between bursts.
        try await f.pool.query("ANALYZE jobgate.jobs")
        _ = try await f.store.submit((0..<1000).map { _ in NewJob(tenant: "t", type: "noop") })
        let claimed = try await f.store.claim(queues: ["default"], limit: 1000, worker: "w", leaseSeconds: 30)
        #expect(claimed.count == 1000)
        // The plan the completion runs with: generic, made once per session (migration 0011).
        let plan = try await QueryPlans.complete(f.pool)
        // Nested-looping the running-lease index against the batch cost 1000 x 1000 comparisons
        // (measured: 4.8k instead of 16-20k jobs/s drained).
        #expect(!plan.contains("jobs_running_lease_idx"), "\(plan)")
        #expect(!plan.contains("Seq Scan on jobs"), "\(plan)")
        #expect(plan.contains("jobs_pkey"), "\(plan)")
        // And it completes the whole batch.
        let done = try await f.store.complete(claimed.map { AttemptCompletion(id: $0.id, attempt: $0.attempt, output: nil) }, worker: "w")
        #expect(done.applied.count == 1000 && done.fencedOut.isEmpty)
    }

    @Test func claimUsesThePartialIndexWithManyFinishedJobs() async throws {
        let f = try await EngineFixture.make("explain")
        defer { f.pool.shutdown() }
        try await f.pool.query("""
            INSERT INTO jobgate.jobs (id, tenant, queue, type, status, attempt, finished_at, created_at)
            SELECT gen_random_uuid(), 't', 'default', 'noop', CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END, 1, now(), now()
            FROM generate_series(1, 100000) g
            """)
        _ = try await f.store.submit((0..<20).map { _ in NewJob(tenant: "t", type: "noop") })
        try await f.pool.query("ANALYZE jobgate.jobs")
        // The plan the claim runs with: generic, made once per session (migration 0010).
        let plan = try await QueryPlans.claim(f.pool)
        #expect(plan.contains("jobs_claimable_idx"), "\(plan)")
        #expect(!plan.contains("Seq Scan on jobs"), "\(plan)")
    }
}
