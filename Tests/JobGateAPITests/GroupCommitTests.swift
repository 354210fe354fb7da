import Foundation
import JobGateAPI
import JobGateCore
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
        #expect(try await f.count("SELECT count(*) FROM jobs") == 200)
        // Fewer transactions than jobs: xmin groups rows by the transaction that inserted them.
        let transactions = try await f.count("SELECT count(DISTINCT xmin::text) FROM jobs")
        #expect(transactions < 200)
    }

    @Test func backlogOverTheCapIs429WithRetryAfter() async throws {
        let f = try await APIFixture.make("backlog") { c in
            c.submit.maxBacklogJobs = 1
            c.submit.maxConcurrentCommits = 1
        }
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        let responses = try await withThrowingTaskGroup(of: APIClient.Response.self) { group in
            for _ in 0..<60 { group.addTask { try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]) } }
            var out: [APIClient.Response] = []
            for try await r in group { out.append(r) }
            return out
        }
        let refused = responses.filter { $0.status == 429 }
        let accepted = responses.filter { $0.status == 202 }
        #expect(refused.count > 0)
        #expect(refused.allSatisfy { $0.header("Retry-After") != nil && $0.errorCode == "too_many_requests" })
        #expect(accepted.count + refused.count == 60)
        #expect(try await f.count("SELECT count(*) FROM jobs") == accepted.count)
    }
}
