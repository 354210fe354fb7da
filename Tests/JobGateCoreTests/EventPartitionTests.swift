import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// `job_events` range-partitioned by UTC day (migration 0005): the conversion of an existing
/// table, partitions made ahead, rows without a partition caught and moved, retention by
/// dropping whole days.
@Suite struct EventPartitionTests {
    private func ints(_ pool: PostgresPool, _ sql: String, _ params: [any PostgresBindable] = []) async throws -> [Int] {
        try await pool.query(sql, params).map { try $0.decode(0, as: Int.self) }
    }

    private func partitions(_ pool: PostgresPool) async throws -> [String] {
        try await pool.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'jobgate.job_events'::regclass ORDER BY 1
            """).map { try $0.decode(0, as: String.self) }
    }

    /// `job_events_pYYYYMMDD` of the UTC day `days` from today.
    private func dayPartition(_ days: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let d = calendar.dateComponents([.year, .month, .day], from: Date().addingTimeInterval(Double(days) * 86_400))
        return String(format: "job_events_p%04d%02d%02d", d.year!, d.month!, d.day!)
    }

    @Test func convertsAnExistingHistoryWithoutCopyingAndIdsContinue() async throws {
        await awayFromUTCMidnight()
        let db = try await TestDatabase.create("partconv")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 2))
        defer { pool.shutdown() }
        // The schema before 0005, with history in it.
        try await Migrator(pool: pool, files: Migrations.all.filter { $0.version < 5 }).migrate()
        let store = JobStore(pool: pool)
        let before = try await store.submit((0..<50).map { i in NewJob(tenant: "t", type: "noop", payload: "{\"i\":\(i)}") })
        let oldMax = try await ints(pool, "SELECT max(id)::int FROM jobgate.job_events")[0]

        try await Migrator(pool: pool).migrate()
        #expect(try await ints(pool, "SELECT count(*)::int FROM pg_partitioned_table WHERE partrelid = 'jobgate.job_events'::regclass") == [1])
        let parts = try await partitions(pool)
        #expect(parts.contains("job_events_legacy") && parts.contains("job_events_default"))
        // Tomorrow and the six days after it are made ahead (today is the legacy partition's).
        for day in 1...7 { #expect(parts.contains(dayPartition(day)), "\(dayPartition(day)) in \(parts)") }
        #expect(!parts.contains(dayPartition(0)))
        // The old rows are there, read through the parent, and new ids continue after them.
        #expect(try await ints(pool, "SELECT count(*)::int FROM jobgate.job_events") == [50])
        #expect(try await ints(pool, "SELECT count(*)::int FROM jobgate.job_events_legacy") == [50])
        let events = try await store.events(jobID: before[0].jobID, tenant: "t")
        #expect(events.map { $0.event } == ["submitted"])
        _ = try await store.submit([NewJob(tenant: "t", type: "noop")])
        #expect(try await ints(pool, "SELECT max(id)::int FROM jobgate.job_events")[0] > oldMax)
        // The whole lifecycle still writes its history.
        let claimed = try await store.claim(queues: ["default"], limit: 100, worker: "w", leaseSeconds: 30)
        #expect(claimed.count == 51)
        #expect(try await ints(pool, "SELECT count(*)::int FROM jobgate.job_events WHERE event = 'started'") == [51])
    }

    @Test func aRowWithoutItsDayPartitionIsKeptAndMovedWhenTheDayIsMade() async throws {
        await awayFromUTCMidnight()
        let f = try await EngineFixture.make("partdefault")
        defer { f.pool.shutdown() }
        // 20 days ahead has no partition yet (7 are made ahead): the row lands in the default one.
        try await f.pool.query("""
            INSERT INTO jobgate.job_events (job_id, tenant, event, at) VALUES (gen_random_uuid(), 't', 'submitted', now() + interval '20 days')
            """)
        #expect(try await ints(f.pool, "SELECT count(*)::int FROM jobgate.job_events_default") == [1])
        let made = try await f.pool.query("SELECT created, dropped FROM jobgate.maintain_event_partitions(25, 1e9)").first!
        #expect(try made.decode(0, as: Int.self) == 18 && made.decode(1, as: Int.self) == 0)
        #expect(try await ints(f.pool, "SELECT count(*)::int FROM jobgate.job_events_default") == [0])
        #expect(try await ints(f.pool, "SELECT count(*)::int FROM jobgate.\(dayPartition(20))") == [1])
        // Made already: a second run makes nothing.
        let again = try await f.pool.query("SELECT created FROM jobgate.maintain_event_partitions(25, 1e9)").first!
        #expect(try again.decode(0, as: Int.self) == 0)
    }

    @Test func retentionDropsWholeDaysAndDeletesTheRestInBatches() async throws {
        await awayFromUTCMidnight()
        let f = try await EngineFixture.make("partretain")
        defer { f.pool.shutdown() }
        let store = f.store
        _ = try await store.submit((0..<5).map { _ in NewJob(tenant: "t", type: "noop") })
        // History in three day partitions ahead (as if the clock had moved on past them).
        for day in [2, 3, 6] {
            try await f.pool.query("""
                INSERT INTO jobgate.job_events (job_id, tenant, event, at)
                SELECT gen_random_uuid(), 't', 'submitted', now() + make_interval(days => $1::int) FROM generate_series(1, 10)
                """, [day])
        }
        // A retention that ends 4.5 days ahead: the partitions of days 1 to 3 (and 4, late in
        // the UTC day) lie wholly before it and are dropped; day 6 stays; the legacy partition's
        // 5 rows (today) go row by row.
        let cutoff = Date().addingTimeInterval(4.5 * 86_400)
        let r = try #require(try await store.prune(jobRetention: 7 * 86_400, historyRetention: -4.5 * 86_400, batch: 2))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let tomorrow = calendar.startOfDay(for: Date()).addingTimeInterval(86_400)
        // Day k's partition ends at midnight after it: tomorrow + k days.
        let wholly = (1...7).filter { tomorrow.addingTimeInterval(Double($0) * 86_400) <= cutoff }
        #expect(r.partitionProblem == nil)
        #expect(wholly.starts(with: [1, 2, 3]) && r.partitionsDropped == wholly.count, "\(r), expected days \(wholly)")
        #expect(r.eventsDeleted == 5, "\(r)")
        let parts = try await partitions(f.pool)
        #expect(!parts.contains(dayPartition(2)) && !parts.contains(dayPartition(3)) && parts.contains(dayPartition(6)), "\(parts)")
        #expect(try await ints(f.pool, "SELECT count(*)::int FROM jobgate.job_events") == [10])
    }

    @Test func aReaderHoldingTheTableDelaysNoDropPastTwoSeconds() async throws {
        await awayFromUTCMidnight()
        let f = try await EngineFixture.make("partlock")
        defer { f.pool.shutdown() }
        let reader = f.newPool(maxConnections: 1)
        defer { reader.shutdown() }
        // A long report: a transaction that has read job_events and stays open.
        let holding = Task {
            try await reader.withConnection { conn in
                try conn.transaction { t in
                    try t.query("SELECT count(*) FROM jobgate.job_events")
                    try t.query("SELECT pg_sleep(20)")
                }
            }
        }
        defer { holding.cancel() }
        try await Task.sleep(for: .seconds(1))
        // Submits go on meanwhile; each may wait behind a drop's lock request, at most its 2 s timeout.
        let store = f.store
        let submitting = Task {
            var slowest = Duration.zero
            for _ in 0..<40 {
                let t = ContinuousClock.now
                _ = try await store.submit([NewJob(tenant: "t", type: "noop")])
                slowest = max(slowest, ContinuousClock.now - t)
                try await Task.sleep(for: .milliseconds(100))
            }
            return slowest
        }
        let start = ContinuousClock.now
        // Every made-ahead day is past this retention, but none can be dropped while the reader holds it.
        let r = try #require(try await store.prune(jobRetention: 7 * 86_400, historyRetention: -30 * 86_400))
        let took = ContinuousClock.now - start
        #expect(r.partitionsDropped == 0, "\(r)")
        // One 2 s lock timeout per partition, then it gives up on that one (7 of them).
        #expect(took < .seconds(60), "prune took \(took)")
        let slowest = try await submitting.value
        #expect(slowest < .seconds(10), "a submit waited \(slowest) behind the partition maintenance")
    }
}
