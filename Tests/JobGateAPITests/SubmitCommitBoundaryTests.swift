import Foundation
@testable import JobGateAPI
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// DESIGN.md §12 for the API's write paths, against a real server whose database connections
/// go through a fault proxy: a 503 never says nothing was stored unless that was checked.
@Suite(.serialized) struct SubmitCommitBoundaryTests {
    static func make(_ prefix: String, configure: (inout APIConfiguration) -> Void = { _ in }) async throws -> (APIFixture, FaultProxy) {
        let proxy = try FaultProxy.forTestServer()
        let f = try await APIFixture.make(prefix, proxy: proxy, configure: configure)
        return (f, proxy)
    }

    /// Bug 3 of the issue: the submit committed, its reply was lost, and the client was told
    /// 503 "nothing was changed". Now the committer looks its ids up and answers 202.
    @Test func aSubmitWhoseCommitReplyIsLostIsAnsweredWithItsStoredJob() async throws {
        let (f, proxy) = try await Self.make("submitlost")
        defer { Task { await f.stop(); proxy.stop() } }
        let c = try f.client(try await f.token())
        proxy.arm(.init(sql: "INSERT INTO jobgate.jobs", action: .dropReply))
        let r = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600])
        #expect(proxy.fired == 1)
        #expect(r.status == 202, "\(r.status) \(r.object ?? [:])")
        let id = try #require(r.string("jobId"))
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE id = $1::uuid", [id]) == 1)
    }

    /// The same through the transactional path (an idempotency key): the COMMIT's reply is lost.
    @Test func aKeyedSubmitWhoseCommitReplyIsLostIsAnsweredWithItsStoredJob() async throws {
        let (f, proxy) = try await Self.make("keyedlost")
        defer { Task { await f.stop(); proxy.stop() } }
        let c = try f.client(try await f.token())
        proxy.arm(.init(sql: "COMMIT", action: .dropReply))
        let r = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "idempotencyKey": "k-1", "delaySeconds": 600])
        #expect(proxy.fired == 1)
        #expect(r.status == 202, "\(r.status) \(r.object ?? [:])")
        let again = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "idempotencyKey": "k-1", "delaySeconds": 600])
        #expect(again.status == 200 && again.string("jobId") == r.string("jobId"), "the replay finds the same job")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1)
    }

    /// A connection cut before the statement reached the server: checked, nothing stored, said so.
    @Test func aSubmitCutBeforeItsStatementArrivesSaysNothingWasStored() async throws {
        let (f, proxy) = try await Self.make("submitcut")
        defer { Task { await f.stop(); proxy.stop() } }
        let c = try f.client(try await f.token())
        proxy.arm(.init(sql: "INSERT INTO jobgate.jobs", action: .cut))
        let r = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600])
        #expect(proxy.fired == 1)
        #expect(r.status == 503 && r.errorCode == "database_unavailable")
        let message = ((r.object?["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("nothing was stored"), "\(message)")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 0)
    }

    /// When the lookup itself cannot be made, the answer is `outcome_unknown`, never a claim
    /// that nothing was stored (the job was in fact stored here).
    @Test func aSubmitWhoseOutcomeCannotBeCheckedIsOutcomeUnknown() async throws {
        let (f, proxy) = try await Self.make("unknown") { $0.submit.resolveTimeout = .seconds(1) }
        defer { Task { await f.stop(); proxy.stop() } }
        let c = try f.client(try await f.token())
        proxy.arm(.init(sql: "pg_stat_activity", action: .cut, times: 1_000))
        proxy.arm(.init(sql: "INSERT INTO jobgate.jobs", action: .dropReply))
        let r = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600])
        #expect(r.status == 503 && r.errorCode == "outcome_unknown", "\(r.status) \(r.object ?? [:])")
        #expect(r.header("Retry-After") != nil)
        proxy.disarm()
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1, "it was stored, so 'nothing was stored' would have lied")
    }

    /// A cancel whose reply is lost is asked again (cancelling converges) and answers what is
    /// true: the job is cancelled, with one `cancelled` event, not a 503.
    @Test func aCancelWhoseReplyIsLostAnswersTheCancelledJob() async throws {
        let (f, proxy) = try await Self.make("cancellost")
        defer { Task { await f.stop(); proxy.stop() } }
        let c = try f.client(try await f.token())
        let id = try #require(try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]).string("jobId"))
        proxy.arm(.init(sql: "cancel_requested_at = coalesce", action: .dropReply))
        let r = try await c.send("POST", "/v1/jobs/\(id)/cancel")
        #expect(proxy.fired == 1)
        #expect(r.status == 200 && r.string("status") == "cancelled", "\(r.status) \(r.object ?? [:])")
        #expect(try await f.count("SELECT count(*) FROM jobgate.job_events WHERE job_id = $1::uuid AND event = 'cancelled'", [id]) == 1)
    }
}
