import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
@testable import JobGateWorker
import Synchronization
import Testing

/// Job progress against a real PostgreSQL (DESIGN.md §14): Swift handlers report through their
/// context, the worker stores the newest report per job at most once a second with every job's
/// in one statement, fenced on the attempt; a new attempt starts without progress.
@Suite(.serialized) struct JobProgressTests {
    /// Lets a test hold handlers until it has looked.
    final class Gate: Sendable {
        private let open = Mutex(false)
        func release() { open.withLock { $0 = true } }
        var isReleased: Bool { open.withLock { $0 } }
        func wait() async throws {
            while !open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
        }
    }

    @Test func aSwiftHandlersProgressIsVisibleWhileItRunsAndItsLastReportStays() async throws {
        let f = try await EngineFixture.make("progswift")
        defer { f.pool.shutdown() }
        let gate = Gate()
        var registry = HandlerRegistry.builtIn()
        registry.register("steps", handler: ClosureHandler { job in
            #expect(job.reportProgress(done: 4, total: 10, message: "step\u{0} four"))
            #expect(!job.reportProgress(done: 11, total: 10))  // refused: nothing sent
            try await gate.wait()
            // Reported right before returning: stored before the completion, not lost to it.
            job.reportProgress(done: 10, total: 10, message: "done")
            return nil
        })
        let id = try await f.store.submit([NewJob(tenant: "t", type: "steps")])[0].jobID
        let w = f.worker({ $0.leaseSeconds = 120 }, registry: registry)  // no lease lost on a starved CI run
        let task = Task { try await w.run() }
        var seen: JobProgress?
        #expect(try await eventually(timeout: .seconds(15)) {
            seen = try await f.store.job(id: id, tenant: nil)?.progress
            return seen != nil
        })
        #expect(seen?.done == 4 && seen?.total == 10 && seen?.message == "step four")
        #expect(try await f.status(id) == .running)
        gate.release()
        #expect(try await eventually(timeout: .seconds(15)) { try await f.status(id) == .completed })
        let finished = try #require(try await f.store.job(id: id, tenant: nil))
        #expect(finished.progress?.done == 10 && finished.progress?.total == 10 && finished.progress?.message == "done")
        #expect(finished.progress.map { $0.at >= seen!.at } == true)
        // No history rows for progress: the events are the lifecycle's only.
        #expect(try await f.events(id) == ["submitted", "started", "completed"])
        task.cancel()
        try await task.value
        #expect(w.statistics.progressReports == 2)
        #expect(w.statistics.progressRowsWritten == 2)
    }

    @Test func reportsAreThrottledPerJobAndBatchedAcrossJobs() async throws {
        let f = try await EngineFixture.make("progthrottle")
        defer { f.pool.shutdown() }
        let gate = Gate()
        let burst = Gate()
        var registry = HandlerRegistry.builtIn()
        // One job: a thousand reports as fast as it can, then it waits.
        registry.register("burst", handler: ClosureHandler { job in
            for i in 1...1000 { job.reportProgress(done: i, total: 1000) }
            burst.release()
            try await gate.wait()
            return nil
        })
        // Twenty jobs reporting every 10 ms until released.
        registry.register("steady", handler: ClosureHandler { job in
            var i = 0
            while !gate.isReleased {
                i += 1
                job.reportProgress(done: i, message: "tick \(i)")
                try await Task.sleep(for: .milliseconds(10))
            }
            return nil
        })
        let burstID = try await f.store.submit([NewJob(tenant: "t", type: "burst")])[0].jobID
        let w = f.worker({ $0.concurrency = 32; $0.leaseSeconds = 120 }, registry: registry)
        let task = Task { try await w.run() }
        try await burst.wait()
        let afterBurst = w.statistics
        #expect(afterBurst.progressReports == 1000)
        // However the writes fall, a thousand reports make at most two writes in their second:
        // the first report at once, the newest one interval later.
        try await Task.sleep(for: .milliseconds(1500))
        let oneJob = w.statistics
        #expect(oneJob.progressRowsWritten >= 1 && oneJob.progressRowsWritten <= 3, "\(oneJob)")
        #expect(try await f.store.job(id: burstID, tenant: nil)?.progress?.done == 1000)

        let ids = try await f.store.submit((0..<20).map { _ in NewJob(tenant: "t", type: "steady") }).map(\.jobID)
        #expect(try await eventually(timeout: .seconds(20)) {
            try await f.count("SELECT count(*) FROM jobgate.jobs WHERE id = ANY($1) AND progress_done IS NOT NULL", [ids]) == 20
        })
        let start = (w.statistics, ContinuousClock.now)
        try await Task.sleep(for: .seconds(3))
        let end = (w.statistics, ContinuousClock.now)
        gate.release()
        let seconds = (end.1 - start.1).seconds
        let statements = end.0.progressWrites - start.0.progressWrites
        let rows = end.0.progressRowsWritten - start.0.progressRowsWritten
        let reports = end.0.progressReports - start.0.progressReports
        // Hundreds of reports a second; about one statement a second, each with every job's.
        #expect(reports > 20 * Int(seconds), "\(reports) reports in \(seconds) s")
        #expect(statements <= Int(seconds.rounded(.up)) + 1, "\(statements) statements in \(seconds) s")
        #expect(statements >= 1)
        #expect(rows >= statements * 10, "\(rows) rows in \(statements) statements")
        #expect(rows <= 21 * (Int(seconds.rounded(.up)) + 1))
        #expect(try await eventually(timeout: .seconds(20)) {
            try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status = 'completed'") == 21
        })
        task.cancel()
        try await task.value
        #expect(w.statistics.progressFencedOut == 0)
    }

    @Test func onlyTheWorkerRunningTheAttemptWritesItsProgressAndANewAttemptStartsWithout() async throws {
        let f = try await EngineFixture.make("progfence")
        defer { f.pool.shutdown() }
        let store = f.store
        let id = try await store.submit([NewJob(tenant: "t", type: "noop", maxAttempts: 3)])[0].jobID
        func update(_ attempt: Int, _ done: Int64) -> ProgressUpdate {
            ProgressUpdate(id: id, attempt: attempt, report: ProgressReport(done: done, total: 10, message: "at \(done)")!)
        }
        func progress() async throws -> JobProgress? { try await store.job(id: id, tenant: nil)?.progress }

        let first = try await store.claim(queues: ["default"], limit: 1, worker: "w-a", leaseSeconds: 30)
        #expect(first.map(\.attempt) == [1])
        #expect(try await store.recordProgress([update(1, 2)], worker: "w-a").applied == [id])
        #expect(try await progress()?.done == 2)
        #expect(try await store.recordProgress([update(1, 3)], worker: "w-b").fencedOut == [id])

        // w-a loses its lease: the job is rescued and w-b runs attempt 2.
        try await f.shiftTime(60)
        #expect(try await store.rescue().retried == [id])
        #expect(try await progress()?.done == 2, "a retrying job shows its failed attempt's last progress")
        try await f.shiftTime(3600)
        let second = try await store.claim(queues: ["default"], limit: 1, worker: "w-b", leaseSeconds: 30)
        #expect(second.map(\.attempt) == [2])
        #expect(try await progress() == nil, "a new attempt starts without progress")

        // The old worker's late reports change nothing, with its attempt or the new one.
        #expect(try await store.recordProgress([update(1, 9)], worker: "w-a").fencedOut == [id])
        #expect(try await store.recordProgress([update(2, 9)], worker: "w-a").fencedOut == [id])
        #expect(try await progress() == nil)
        #expect(try await store.recordProgress([update(2, 5)], worker: "w-b").applied == [id])
        #expect(try await store.recordProgress([update(1, 8)], worker: "w-b").fencedOut == [id])
        #expect(try await progress()?.done == 5)

        // Kept once the job finishes; a redrive (attempts from 0 again) clears it.
        let failed = try await store.fail([AttemptFailure(id: id, attempt: 2, message: "no", disposition: .fail)], worker: "w-b")
        #expect(failed.applied == [id])
        #expect(try await store.recordProgress([update(2, 6)], worker: "w-b").fencedOut == [id])
        #expect(try await progress()?.done == 5)
        _ = try await store.redrive(id: id, tenant: "t")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE id = $1 AND progress_attempt IS NULL AND progress_done IS NULL", [id]) == 1)
    }

    @Test func theDatabaseRefusesProgressOutsideItsLimits() async throws {
        let f = try await EngineFixture.make("progcheck")
        defer { f.pool.shutdown() }
        let id = try await f.store.submit([NewJob(tenant: "t", type: "noop")])[0].jobID
        for (done, total, message) in [(-1, nil, nil), (5, 4, nil), (1, 1, String(repeating: "x", count: 201))] as [(Int64, Int64?, String?)] {
            await #expect(throws: PostgresError.self) {
                try await f.pool.query("UPDATE jobgate.jobs SET progress_done = $2, progress_total = $3, progress_message = $4 WHERE id = $1",
                                       [id, done, total, message])
            }
        }
    }
}
