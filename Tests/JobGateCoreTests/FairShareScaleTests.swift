import Foundation
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// Fair share at scale (DESIGN.md §14): real worker processes measured over 10-second windows,
/// and a million-job backlog of one tenant in front of another.
@Suite struct FairShareScaleTests {
    private func count(_ pool: PostgresPool, _ sql: String) async throws -> Int {
        try await pool.query(sql).first?.decode(0, as: Int.self) ?? -1
    }

    @Test func threeWorkerProcessesCompleteJobsOfWeightsOneAndThreeAtAQuarterAndThreeQuarters() async throws {
        let f = try await EngineFixture.make("fairproc", maxConnections: 4)
        defer { f.pool.shutdown() }
        _ = try await f.store.setTenantWeight(TenantName("light")!, weight: 1, by: "test")
        _ = try await f.store.setTenantWeight(TenantName("heavy")!, weight: 3, by: "test")
        // Jobs of 50 ms on 3 x 8 slots: at most 480 completions a second, so both backlogs
        // last the whole run (light needs under 3,000 at its quarter); light's are older.
        let payload = "{\"records\":1,\"durationSeconds\":0.05}"
        for (tenant, n) in [("light", 5000), ("heavy", 12000)] {
            for _ in 0..<(n / 1000) {
                _ = try await f.store.submit((0..<1000).map { _ in NewJob(tenant: tenant, type: "weather", payload: payload) })
            }
        }
        let bin = try JobGateBinary.path()
        let workers = try (0..<3).map { _ in
            try TestProcess([bin, "worker", "--concurrency", "8", "--grace-seconds", "5"],
                            environment: ["JOBGATE_DATABASE_URL": f.db.processURL, "JOBGATE_LOG_LEVEL": "warn"])
        }
        let started = try await eventually(timeout: .seconds(60)) {
            try await count(f.pool, "SELECT count(*) FROM jobgate.job_events WHERE event = 'completed'") > 0
        }
        #expect(started)
        try await Task.sleep(for: .seconds(24))
        for w in workers { w.signal(SIGTERM) }
        for w in workers {
            let code = await w.wait()
            #expect(code == 0, "worker exited \(code): \(w.output.suffix(2000))")
        }
        // Both tenants were backlogged until the end, and every process claimed.
        #expect(try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE tenant = 'light' AND status = 'queued'") > 0)
        #expect(try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE tenant = 'heavy' AND status = 'queued'") > 0)
        #expect(try await count(f.pool, "SELECT count(DISTINCT worker) FROM jobgate.job_events WHERE event = 'started'") == 3)
        // Every 10-second window starting each second, from 2 s after the first completion
        // (processes starting up) to the last that fits before the workers stopped.
        let windows = try await f.pool.query("""
            WITH c AS (SELECT at, tenant FROM jobgate.job_events WHERE event = 'completed'),
            b AS (SELECT min(at) AS t0, max(at) AS t1 FROM c),
            w AS (SELECT t0 + make_interval(secs => 2 + s) AS ws FROM b, generate_series(0, 60) s
                  WHERE t0 + make_interval(secs => 12 + s) <= t1)
            SELECT count(*) FILTER (WHERE c.tenant = 'light')::int, count(*)::int
            FROM w JOIN c ON c.at >= w.ws AND c.at < w.ws + interval '10 seconds' GROUP BY w.ws ORDER BY w.ws
            """).map { (try $0.decode(0, as: Int.self), try $0.decode(1, as: Int.self)) }
        #expect(windows.count >= 5, "only \(windows.count) full windows")
        for (light, total) in windows {
            let share = Double(light) / Double(max(total, 1))
            #expect(total >= 100 && (0.20...0.30).contains(share), "light completed \(light) of \(total) (\(share)) in a window")
        }
        print("fair share windows (light, total): \(windows)")
    }

    @Test func aSecondTenantIsClaimedInTheFirstBatchBehindAMillionJobBacklog() async throws {
        let f = try await EngineFixture.make("fairmillion")
        defer { f.pool.shutdown() }
        try await f.pool.query("""
            INSERT INTO jobgate.jobs (id, tenant, queue, type)
            SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'big', 'default', 'noop'
            FROM generate_series(1, 1000000) g
            """)
        _ = try await f.store.submit((0..<1000).map { _ in NewJob(tenant: "t", type: "noop", queue: "small") })
        for t in ["t", "u"] { _ = try await f.store.submit((0..<500).map { _ in NewJob(tenant: t, type: "noop", queue: "smallshared") }) }
        try await f.pool.query("ANALYZE jobgate.jobs")
        #expect(try await count(f.pool, "SELECT count(*) FROM jobgate.jobs WHERE tenant = 'big' AND status = 'queued'") == 1_000_000)

        // The newcomer's one job goes in the first claim of ten, however long the backlog ahead.
        let late = try await f.store.submit([NewJob(tenant: "late", type: "noop")])[0].jobID
        let first = try await f.store.claim(queues: ["default"], limit: 10, worker: "w", leaseSeconds: 60)
        #expect(first.count == 10)
        #expect(first.contains { $0.id == late }, "the second tenant's job was not in the first claim")

        // Claim latency, medians of 15 claims of 10: an empty queue, a nearly empty one (one
        // tenant, 1,000 jobs), the million alone (one tenant), and the million shared with a
        // second tenant.
        var tenants: [String: Int] = [:]
        func median(_ queue: String, expecting: Int = 10) async throws -> Double {
            var times: [Double] = []
            tenants = [:]
            for _ in 0..<15 {
                let start = ContinuousClock.now
                let got = try await f.store.claim(queues: [queue], limit: 10, worker: "w", leaseSeconds: 60)
                times.append((ContinuousClock.now - start).seconds)
                #expect(got.count == expecting)
                for j in got { tenants[j.tenant, default: 0] += 1 }
            }
            return times.sorted()[times.count / 2]
        }
        let empty = try await median("nothing", expecting: 0)
        let small = try await median("small")
        let smallShared = try await median("smallshared")
        let alone = try await median("default")
        _ = try await f.store.submit((0..<1000).map { _ in NewJob(tenant: "other", type: "noop") })
        let shared = try await median("default")
        // Equal weights: the newcomer gets half from its first claim, not all nor none.
        #expect((65...85).contains(tenants["other", default: 0]), "\(tenants)")
        print(String(format: "claim of 10, median: empty queue %.2f ms, small queue %.2f ms, 1M backlog alone %.2f ms (%.2fx small), "
                     + "small queue of two tenants %.2f ms, 1M shared with a second tenant %.2f ms (%.2fx small of two)",
                     empty * 1000, small * 1000, alone * 1000, alone / small, smallShared * 1000, shared * 1000, shared / smallShared))
        // Generous: the machine is shared; the benchmark measures speed, this only catches a
        // claim that reads the backlog.
        #expect(alone < small * 10 + 0.005 && shared < smallShared * 10 + 0.005)
        // Both statements read indexes only: the first probes for a second tenant, the second
        // (the queue is shared now) walks the tenants and their first rows.
        // (The first runs with its generic plan, made once per session; the second is planned
        // for its values on every call.)
        for plan in [try await QueryPlans.claim(f.pool, limit: 10),
                     try await QueryPlans.custom(f.pool, JobStore.claimSharedSQL, [["default"], 10, "w", 30.0, PostgresParameter.text("{}")])] {
            #expect(plan.contains("jobs_claimable_tenant_idx"), "\(plan)")
            #expect(!plan.contains("Seq Scan on jobs"), "\(plan)")
        }
    }
}
