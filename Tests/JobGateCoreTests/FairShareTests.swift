import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// Weighted fair share across tenants (DESIGN.md §14, docs/scheduling.md), claim by claim.
@Suite struct FairShareTests {
    private func tenant(_ name: String) -> TenantName { TenantName(name)! }

    /// Claims `limit` at a time until `total` jobs are claimed; counts per tenant.
    private func claimCounting(_ f: EngineFixture, total: Int, limit: Int, queue: String = "default") async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        var claimed = 0
        while claimed < total {
            let jobs = try await f.store.claim(queues: [queue], limit: min(limit, total - claimed), worker: "w", leaseSeconds: 60)
            #expect(!jobs.isEmpty, "a claim came back empty with jobs left")
            if jobs.isEmpty { break }
            for j in jobs { counts[j.tenant, default: 0] += 1 }
            claimed += jobs.count
        }
        return counts
    }

    @Test(arguments: [1, 3, 8, 25])
    func backloggedTenantsAreClaimedInProportionToTheirWeights(limit: Int) async throws {
        let f = try await EngineFixture.make("fair\(limit)")
        defer { f.pool.shutdown() }
        _ = try await f.store.setTenantWeight(tenant("light"), weight: 1, by: "test")
        _ = try await f.store.setTenantWeight(tenant("heavy"), weight: 3, by: "test")
        // The light tenant's jobs all come first: first come first served would give it every claim.
        _ = try await f.store.submit((0..<300).map { i in NewJob(tenant: "light", type: "noop", payload: "{\"i\":\(i)}") })
        _ = try await f.store.submit((0..<300).map { i in NewJob(tenant: "heavy", type: "noop", payload: "{\"i\":\(i)}") })
        // Each window of 100 claimed jobs: 25 and 75, give or take a job of each batch's rounding.
        for window in 0..<4 {
            let counts = try await claimCounting(f, total: 100, limit: limit)
            let light = counts["light", default: 0]
            #expect((23...27).contains(light) && counts["heavy", default: 0] == 100 - light,
                    "window \(window), batches of \(limit): \(counts)")
        }
    }

    @Test func priorityAndRunAtOrderHoldWithinEachTenant() async throws {
        let f = try await EngineFixture.make("fairorder")
        defer { f.pool.shutdown() }
        let now = Date()
        var submitted: [NewJob] = []
        for (i, t) in ["a", "b"].enumerated() {
            submitted += [
                NewJob(tenant: t, type: "noop", payload: "{\"n\":\(i * 10 + 0)}", priority: 5, runAt: now.addingTimeInterval(-30)),
                NewJob(tenant: t, type: "noop", payload: "{\"n\":\(i * 10 + 1)}", priority: 1, runAt: now.addingTimeInterval(-10)),
                NewJob(tenant: t, type: "noop", payload: "{\"n\":\(i * 10 + 2)}", priority: 1, runAt: now.addingTimeInterval(-20)),
                NewJob(tenant: t, type: "noop", payload: "{\"n\":\(i * 10 + 3)}", priority: -3, runAt: now.addingTimeInterval(3600)),
            ]
        }
        let ids = try await f.store.submit(submitted).map(\.jobID)
        var order: [UUID] = []
        for _ in 0..<8 {
            order += try await f.store.claim(queues: ["default"], limit: 1, worker: "w", leaseSeconds: 30).map(\.id)
        }
        // Equal weights alternate; each tenant's own jobs in (priority, run_at) order; the future ones wait.
        #expect(order.filter { ids[0..<4].contains($0) } == [ids[2], ids[1], ids[0]])
        #expect(order.filter { ids[4..<8].contains($0) } == [ids[6], ids[5], ids[4]])
        #expect(order.count == 6)
        #expect(Set(order.prefix(2)) == [ids[2], ids[6]], "each tenant's first job in the first two claims")
    }

    @Test func aTenantShortOfReadyJobsLeavesItsShareToTheOthers() async throws {
        let f = try await EngineFixture.make("fairfill")
        defer { f.pool.shutdown() }
        _ = try await f.store.setTenantWeight(tenant("big"), weight: 1000, by: "test")
        _ = try await f.store.submit((0..<2).map { _ in NewJob(tenant: "big", type: "noop") })
        _ = try await f.store.submit((0..<100).map { _ in NewJob(tenant: "small", type: "noop") })
        // The heavy tenant has two jobs: the claim is still filled (a short claim idles a worker).
        let jobs = try await f.store.claim(queues: ["default"], limit: 50, worker: "w", leaseSeconds: 30)
        #expect(jobs.count == 50)
        #expect(jobs.filter { $0.tenant == "big" }.count == 2)
        #expect(Set(jobs.map(\.id)).count == 50, "a job claimed twice in one batch")
    }

    @Test func aTenantBackFromIdleGetsItsShareNotABurst() async throws {
        let f = try await EngineFixture.make("fairidle")
        defer { f.pool.shutdown() }
        _ = try await f.store.submit((0..<40).map { _ in NewJob(tenant: "a", type: "noop") })
        _ = try await f.store.submit((0..<600).map { _ in NewJob(tenant: "b", type: "noop") })
        _ = try await f.store.submit((0..<600).map { _ in NewJob(tenant: "c", type: "noop") })
        // a's 40 jobs go at its share; then b and c share alone for a long while.
        let first = try await claimCounting(f, total: 120, limit: 10)
        #expect(first["a"] == 40, "\(first)")
        let meanwhile = try await claimCounting(f, total: 600, limit: 10)
        #expect(abs(meanwhile["b", default: 0] - meanwhile["c", default: 0]) <= 2, "\(meanwhile)")
        // a comes back, its virtual time far behind b's and c's: a third of the next claims
        // plus at most about one claim's catch-up, not all of them until it has caught up.
        _ = try await f.store.submit((0..<300).map { _ in NewJob(tenant: "a", type: "noop") })
        let back = try await claimCounting(f, total: 300, limit: 30)
        #expect((95...125).contains(back["a", default: 0]), "\(back)")
    }

    @Test func pauseAndCapHoldForASharedQueue() async throws {
        let f = try await EngineFixture.make("fairctl")
        defer { f.pool.shutdown() }
        _ = try await f.store.setTenantWeight(tenant("b"), weight: 3, by: "test")
        for t in ["a", "b"] { _ = try await f.store.submit((0..<40).map { _ in NewJob(tenant: t, type: "noop", queue: "q") }) }
        try await f.store.setQueueControl("q", paused: true, by: "test")
        #expect(try await f.store.claim(queues: ["q"], limit: 10, worker: "w", leaseSeconds: 30).isEmpty)
        try await f.store.setQueueControl("q", paused: false, cap: .some(8), by: "test")
        // The cap: eight running at once however the claims come, split 2 and 6 by weight.
        let first = try await f.store.claim(queues: ["q"], limit: 5, worker: "w", leaseSeconds: 30, cappedQueues: ["q"])
        let second = try await f.store.claim(queues: ["q"], limit: 5, worker: "w", leaseSeconds: 30, cappedQueues: ["q"])
        #expect(first.count == 5 && second.count == 3)
        #expect(try await f.store.claim(queues: ["q"], limit: 5, worker: "w", leaseSeconds: 30, cappedQueues: ["q"]).isEmpty)
        #expect((first + second).filter { $0.tenant == "a" }.count == 2, "\((first + second).map(\.tenant))")
        // Paused again: nothing more, even with room under the cap.
        try await f.store.setQueueControl("q", paused: true, cap: .some(100), by: "test")
        #expect(try await f.store.claim(queues: ["q"], limit: 5, worker: "w", leaseSeconds: 30, cappedQueues: ["q"]).isEmpty)
    }

    @Test func aQueueOfOneTenantIsClaimedInClaimOrderAndWritesNoVirtualTime() async throws {
        let f = try await EngineFixture.make("fairsingle")
        defer { f.pool.shutdown() }
        let now = Date()
        let ids = try await f.store.submit((0..<30).map { i in
            NewJob(tenant: "only", type: "noop", payload: "{\"i\":\(i)}", priority: i % 3, runAt: now.addingTimeInterval(Double(-i)))
        }).map(\.jobID)
        // Another queue's tenants share theirs; this one stays as before fair share.
        _ = try await f.store.submit([NewJob(tenant: "x", type: "noop", queue: "other"), NewJob(tenant: "y", type: "noop", queue: "other")])
        var order: [UUID] = []
        for _ in 0..<6 {
            order += try await f.store.claim(queues: ["default"], limit: 7, worker: "w", leaseSeconds: 30).map(\.id)
        }
        // Priority, then run_at (older first).
        let expected = (0..<30).sorted { (a, b) in (a % 3, -a) < (b % 3, -b) }.map { ids[$0] }
        #expect(order == expected)
        #expect(try await f.pool.query("SELECT count(*)::int FROM jobgate.tenant_passes").first?.decode(0, as: Int.self) == 0)
        #expect(try await f.pool.query("SELECT count(*)::int FROM jobgate.fair_clocks").first?.decode(0, as: Int.self) == 0)
        #expect(try await f.store.claim(queues: ["other"], limit: 7, worker: "w", leaseSeconds: 30).count == 2)
        #expect(try await f.pool.query("SELECT count(*)::int FROM jobgate.tenant_passes").first?.decode(0, as: Int.self) == 2)
    }

    @Test func aQueueOfOneTenantDoesNotCrowdOutASharedQueueInOneClaim() async throws {
        let f = try await EngineFixture.make("fairqueues")
        defer { f.pool.shutdown() }
        // The lone tenant's jobs are older: by run_at alone they would fill every claim.
        _ = try await f.store.submit((0..<50).map { _ in NewJob(tenant: "solo", type: "noop", queue: "one") })
        for t in ["a", "b"] { _ = try await f.store.submit((0..<50).map { _ in NewJob(tenant: t, type: "noop", queue: "two") }) }
        let jobs = try await f.store.claim(queues: ["one", "two"], limit: 10, worker: "w", leaseSeconds: 30)
        #expect(jobs.count == 10)
        #expect(jobs.filter { $0.queue == "one" }.count == 5, "\(jobs.map(\.queue))")
        #expect(jobs.filter { $0.queue == "two" && $0.tenant == "a" }.count == 2 || jobs.filter { $0.queue == "two" && $0.tenant == "a" }.count == 3)
    }

    @Test func weightsAreSetListedAndBounded() async throws {
        let f = try await EngineFixture.make("fairweights")
        defer { f.pool.shutdown() }
        #expect(try await f.store.tenantWeights().isEmpty)
        let set = try await f.store.setTenantWeight(tenant("acme"), weight: 5, by: "test")
        #expect(set.name == "acme" && set.weight == 5 && set.updatedBy == "test")
        _ = try await f.store.setTenantWeight(tenant("acme"), weight: 7, by: "again")
        _ = try await f.store.setTenantWeight(tenant("zeta"), weight: TenantWeight.range.upperBound, by: "test")
        #expect(try await f.store.tenantWeights().map { "\($0.name)=\($0.weight) \($0.updatedBy)" } == ["acme=7 again", "zeta=1000 test"])
        // The table refuses what the API and CLI refuse before sending.
        for bad in [0, -1, TenantWeight.range.upperBound + 1] {
            await #expect(throws: PostgresError.self) { try await f.store.setTenantWeight(tenant("acme"), weight: bad, by: "test") }
        }
        #expect(try await f.store.tenantWeights().first?.weight == 7)
    }
}
