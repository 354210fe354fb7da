import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Synchronization
import Testing

@Suite struct CoalescerTests {
    @Test func concurrentRequestsShareBatchesAndGetTheirOwnResults() async throws {
        let db = try await TestDatabase.create("coalesce")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let batches = Mutex<[Int]>([])
        let coalescer = Coalescer<Int, Int>(pool: pool, maxBatch: 100, maxInFlight: 1) { conn, inputs in
            batches.withLock { $0.append(inputs.count) }
            // A statement that takes a while, so requests pile up behind it.
            let rows = try conn.query("SELECT x * 2 FROM unnest($1::int8[]) WITH ORDINALITY AS u(x, n), pg_sleep(0.02) ORDER BY n", [inputs])
            return try rows.map { try $0.decode(0, as: Int.self) }
        }
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<200 { group.addTask { (i, try await coalescer.submit(i)) } }
            var out: [(Int, Int)] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.1 == $0.0 * 2 })
        let sizes = batches.withLock { $0 }
        #expect(sizes.reduce(0, +) == 200)
        #expect(sizes.count < 200, "nothing was coalesced: \(sizes)")
        #expect(sizes.allSatisfy { $0 <= 100 })
    }

    @Test func aFailingBatchFailsItsRequestsOnlyAndABrokenConnectionIsReplaced() async throws {
        let db = try await TestDatabase.create("coalescefail")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let coalescer = Coalescer<Int, Int>(pool: pool, maxBatch: 1) { conn, inputs in
            if inputs == [13] { _ = try conn.query("SELECT 1 / 0") }
            if inputs == [66] { _ = try conn.query("SELECT pg_terminate_backend(pg_backend_pid())") }
            return try conn.query("SELECT $1::int8", [inputs[0]]).map { try $0.decode(0, as: Int.self) }
        }
        await #expect(throws: PostgresError.self) { try await coalescer.submit(13) }
        #expect(try await coalescer.submit(7) == 7)
        await #expect(throws: PostgresError.self) { try await coalescer.submit(66) }
        #expect(try await coalescer.submit(8) == 8)
    }

    @Test func withoutADatabaseEveryRequestGetsTheError() async throws {
        var configuration = PostgresConfiguration(url: "host=127.0.0.1 port=1 connect_timeout=2")
        configuration.acquireTimeout = .seconds(2)
        let pool = PostgresPool(configuration: configuration)
        defer { pool.shutdown() }
        let coalescer = Coalescer<Int, Int>(pool: pool) { _, inputs in inputs }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<5 {
                group.addTask { await #expect(throws: PostgresError.self) { try await coalescer.submit(i) } }
            }
            try await group.waitForAll()
        }
    }
}
