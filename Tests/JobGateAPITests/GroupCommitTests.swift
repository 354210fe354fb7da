import Foundation
@testable import JobGateAPI
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateTestSupport
import Testing

@Suite struct GroupCommitTests {
    /// Many connections at once share transactions, and each 202 is a stored row.
    @Test func concurrentSubmitsShareCommitsAndEveryAcceptedJobIsStored() async throws {
        let f = try await APIFixture.make("group") { $0.submit.maxConcurrentCommits = 2 }
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let r = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["i": i], "delaySeconds": 600])
                    return r.status == 202 ? r.string("jobId") : nil
                }
            }
            var out: [String] = []
            for try await id in group { if let id { out.append(id) } }
            return out
        }
        #expect(ids.count == 200)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 200)
        // Fewer transactions than jobs: xmin groups rows by the transaction that inserted them.
        let transactions = try await f.count("SELECT count(DISTINCT xmin::text) FROM jobgate.jobs")
        #expect(transactions < 200)
    }

    /// A batch with an idempotency conflict stores nothing, while single submits gathered into
    /// the same group commit still commit.
    @Test func aConflictingBatchStoresNothingAndDoesNotFailItsCommitNeighbours() async throws {
        let f = try await APIFixture.make("batchconflict", statementTimeoutSeconds: Self.heldLimit) { $0.submit.maxConcurrentCommits = 1 }
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let first = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["n": 1], "idempotencyKey": "k1", "delaySeconds": 600])
        #expect(first.status == 202)
        let k1 = try #require(first.string("jobId"))
        let committer = f.server.service.committer

        // Hold the only commit slot: everything after queues up behind it.
        let (blocker, held) = try await Self.holdCommit(f, c)
        defer { blocker.close() }

        let batch = Task {
            try await c.send("POST", "/v1/jobs/batch", json: ["jobs": [
                ["type": "noop", "payload": ["batch": 0], "delaySeconds": 600],
                ["type": "noop", "payload": ["n": 2], "idempotencyKey": "k1", "delaySeconds": 600],
                ["type": "noop", "payload": ["batch": 2], "idempotencyKey": "b2", "delaySeconds": 600],
            ]])
        }
        let singles = (0..<3).map { i in
            Task { try await c.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["single": i], "delaySeconds": 600]) }
        }
        // All of them wait for the next commit, which takes them together.
        try await Self.waitFor { committer.backlog == 1 + 3 + 3 }
        _ = try blocker.query("ROLLBACK")

        #expect(try await held.value.status == 202)
        let refused = try await batch.value
        #expect(refused.status == 409)
        #expect(refused.errorCode == "idempotency_conflict")
        #expect(refused.errorField == "jobs[1].idempotencyKey")
        for s in singles { #expect(try await s.value.status == 202) }

        // None of the batch exists; the singles are stored, in one transaction.
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE payload ? 'batch' OR idempotency_key = 'b2'") == 0)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE payload ? 'single'") == 3)
        #expect(try await f.count("SELECT count(DISTINCT xmin::text) FROM jobgate.jobs WHERE payload ? 'single'") == 1)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 5)
        #expect(try await f.count("SELECT count(*) FROM jobgate.job_events") == 5)
        #expect(try await f.count("SELECT count(*) FROM jobgate.job_events e WHERE NOT EXISTS (SELECT 1 FROM jobgate.jobs j WHERE j.id = e.job_id)") == 0)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE id = $1::uuid AND payload = '{\"n\": 1}'", [k1]) == 1)

        // The same batch again with k1 for the same request: 202, that entry is the existing job.
        let ok = try await c.send("POST", "/v1/jobs/batch", json: ["jobs": [
            ["type": "noop", "payload": ["batch": 0], "delaySeconds": 600],
            ["type": "noop", "payload": ["n": 1], "idempotencyKey": "k1", "delaySeconds": 600],
            ["type": "noop", "payload": ["batch": 2], "idempotencyKey": "b2", "delaySeconds": 600],
        ]])
        #expect(ok.status == 202)
        let entries = try #require(ok.object?["jobs"] as? [[String: Any]])
        #expect(entries.count == 3)
        #expect(entries[1]["jobId"] as? String == k1)
        #expect(Set(entries.compactMap { $0["jobId"] as? String }).count == 3)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 7)
        #expect(try await f.count("SELECT count(*) FROM jobgate.job_events") == 7)
    }

    /// A second commit starts only once enough jobs wait: a few singles wait for the one
    /// commit in flight, a batch that brings the waiting jobs over the threshold commits
    /// beside it (with the singles), while the first is still held.
    @Test func aSecondCommitStartsOnlyWhenEnoughJobsWait() async throws {
        let f = try await APIFixture.make("parallelcommit", statementTimeoutSeconds: Self.heldLimit) { c in
            c.submit.maxConcurrentCommits = 2
            c.submit.parallelCommitMinJobs = 6
        }
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let committer = f.server.service.committer
        let (blocker, held) = try await Self.holdCommit(f, c)
        defer { blocker.close() }

        let singles = (0..<3).map { i in
            Task { try await c.send("POST", "/v1/jobs", json: ["type": "noop", "payload": ["single": i], "delaySeconds": 600]) }
        }
        try await Self.waitFor { committer.backlog == 4 }
        // Three waiting jobs are under the threshold: they keep waiting for the held commit.
        try await Task.sleep(for: .milliseconds(300))
        #expect(committer.backlog == 4)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 0)

        let batch = try await c.send("POST", "/v1/jobs/batch", json: ["jobs": (0..<3).map { i in
            ["type": "noop", "payload": ["batch": i], "delaySeconds": 600] as [String: Any]
        }])
        #expect(batch.status == 202)
        for s in singles { #expect(try await s.value.status == 202) }
        #expect(committer.backlog == 1, "only the held submit still waits")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 6)
        #expect(try await f.count("SELECT count(DISTINCT xmin::text) FROM jobgate.jobs") == 1, "singles and batch in one commit")

        _ = try blocker.query("ROLLBACK")
        #expect(try await held.value.status == 202)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 7)
    }

    /// A value the database refuses (here a payload that is not JSON, which the API's validation
    /// never lets through) fails its own unit with a 400 that quotes no data, and the units
    /// sharing its commit are stored.
    @Test func aValueTheDatabaseRefusesIs400ForItsUnitAlone() async throws {
        let f = try await APIFixture.make("refusedvalue", statementTimeoutSeconds: Self.heldLimit)
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let committer = f.server.service.committer
        let (blocker, held) = try await Self.holdCommit(f, c)
        defer { blocker.close() }
        let bad = Task { try await committer.submit(NewJob(tenant: "acme", type: "noop", payload: "{not json")) }
        let good = Task { try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]) }
        try await Self.waitFor { committer.backlog == 3 }
        _ = try blocker.query("ROLLBACK")
        #expect(try await held.value.status == 202)
        #expect(try await good.value.status == 202)
        do {
            _ = try await bad.value
            Issue.record("the refused unit was accepted")
        } catch let e as APIError {
            #expect(e.status == 400 && e.code == "invalid_value" && e.message.contains("22P02"), "\(e)")
            #expect(!e.message.contains("not json"), "the database's message reached the client: \(e.message)")
        }
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 2)
    }

    /// Holds a commit: an open transaction owns key "blocker", so the commit of a submit with
    /// that key (`held`) waits for it until `blocker` rolls back.
    /// The API's statement limit in tests that hold a commit on a lock: far beyond the test, so
    /// a starved machine's slow steps cannot turn the held submit into a 503 (the limit is 15 s).
    static let heldLimit = 600

    static func holdCommit(_ f: APIFixture, _ c: HTTPClient) async throws -> (PostgresConnection, Task<HTTPClient.Response, any Error>) {
        let blocker = try PostgresConnection(configuration: APIServer.databaseConfiguration(url: f.db.url))
        _ = try blocker.query("BEGIN")
        _ = try blocker.query("INSERT INTO jobgate.jobs (id, tenant, type, idempotency_key) VALUES ($1, 'acme', 'noop', 'blocker')", [UUID()])
        let held = Task { try await c.send("POST", "/v1/jobs", json: ["type": "noop", "idempotencyKey": "blocker", "delaySeconds": 600]) }
        let committer = f.server.service.committer
        try await waitFor { committer.backlog == 1 }
        return (blocker, held)
    }

    /// Polls `condition` until it holds (or fails the test after 10 s).
    static func waitFor(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<1000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition never held")
        throw CancellationError()
    }

    @Test func backlogOverTheCapIs429WithRetryAfter() async throws {
        let f = try await APIFixture.make("backlog") { c in
            c.submit.maxBacklogJobs = 1
            c.submit.maxConcurrentCommits = 1
        }
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let responses = try await withThrowingTaskGroup(of: HTTPClient.Response.self) { group in
            for _ in 0..<60 { group.addTask { try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]) } }
            var out: [HTTPClient.Response] = []
            for try await r in group { out.append(r) }
            return out
        }
        let refused = responses.filter { $0.status == 429 }
        let accepted = responses.filter { $0.status == 202 }
        #expect(refused.count > 0)
        #expect(refused.allSatisfy { $0.header("Retry-After") != nil && $0.errorCode == "too_many_requests" })
        #expect(accepted.count + refused.count == 60)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == accepted.count)
    }
}
