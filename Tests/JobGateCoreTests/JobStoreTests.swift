import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

extension SubmitOutcome {
    var createdJob: Job? { if case .created(let j) = self { return j } else { return nil } }
}

@Suite struct JobStoreTests {
    @Test func submitClaimCompleteWritesOneEventPerTransition() async throws {
        let f = try await EngineFixture.make("store_basic")
        defer { f.pool.shutdown() }
        let out = try await f.store.submit([
            NewJob(tenant: "acme", type: "noop", payload: #"{"b": 1,  "a": [1,2]}"#, traceId: "tr-1"),
            NewJob(tenant: "acme", type: "weather", queue: "other"),
        ])
        #expect(out.count == 2)
        let job = try #require(out[0].createdJob)
        #expect(job.status == .queued && job.attempt == 0 && job.tenant == "acme" && job.traceId == "tr-1")
        // The outcome carries the submitted text; the database keeps it as jsonb (normalised).
        #expect(job.payload == #"{"b": 1,  "a": [1,2]}"#)
        #expect(try await f.store.job(id: job.id, tenant: "acme")?.payload == #"{"a": [1, 2], "b": 1}"#)
        let claimed = try await f.store.claim(queues: ["default"], limit: 10, worker: "w1", leaseSeconds: 30)
        #expect(claimed.map(\.id) == [job.id])
        #expect(claimed[0].attempt == 1)
        let running = try #require(try await f.store.job(id: job.id, tenant: "acme"))
        #expect(running.status == .running && running.lockedBy == "w1" && running.leaseExpiresAt != nil)
        // Another tenant does not see it.
        #expect(try await f.store.job(id: job.id, tenant: "other") == nil)
        let content = Array("hello".utf8)
        let meta = JobOutputMetadata(size: 5, contentType: "text/plain", sha256: [UInt8](repeating: 7, count: 32), location: .inline, path: nil)
        // Wrong attempt and wrong worker are fenced out.
        let fenced = try await f.store.complete([AttemptCompletion(id: job.id, attempt: 2)], worker: "w1")
        #expect(fenced.fencedOut == [job.id])
        #expect(try await f.store.complete([AttemptCompletion(id: job.id, attempt: 1)], worker: "w2").fencedOut == [job.id])
        let done = try await f.store.complete([AttemptCompletion(id: job.id, attempt: 1, output: meta, inlineContent: content)], worker: "w1")
        #expect(done.applied == [job.id])
        let completed = try #require(try await f.store.job(id: job.id, tenant: nil))
        #expect(completed.status == .completed && completed.finishedAt != nil && completed.output == meta)
        let stored = try #require(try await f.store.output(id: job.id))
        #expect(stored.content == content && stored.metadata == meta)
        let events = try await f.store.events(jobID: job.id, tenant: "acme")
        #expect(events.map(\.event) == ["submitted", "started", "completed"])
        #expect(events.map(\.toStatus) == [.queued, .running, .completed])
        #expect(events[1].worker == "w1" && events[1].attempt == 1)
        let list = try await f.store.list(tenant: "acme")
        #expect(list.map(\.id) == out.map(\.jobID).reversed())
        let page = try await f.store.list(tenant: "acme", limit: 1, after: out[1].jobID)
        #expect(page.map(\.id) == [job.id])
        #expect(try await f.store.list(tenant: "acme", status: .completed).map(\.id) == [job.id])
        #expect(try await f.store.claimableQueues() == ["other"])
    }
}
