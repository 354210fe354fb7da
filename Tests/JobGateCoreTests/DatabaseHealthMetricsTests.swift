import Foundation
import JobGateCore
import JobGatePostgres
import JobGatePrometheus
import JobGateTestSupport
import Testing

/// `jobgate_db_up` and `jobgate_workers_live` from `JobGateMetrics.observeDatabase`.
@Suite(.serialized) struct DatabaseHealthMetricsTests {
    @Test func countsLiveWorkersAndReportsTheDatabaseUp() async throws {
        let f = try await EngineFixture.make("dbhealth", maxConnections: 2)
        let (pool, store) = (f.pool, f.store)
        defer { pool.shutdown() }
        let metrics = JobGateMetrics(registry: MetricsRegistry())
        let collector = metrics.observeDatabase(store: store, liveWithin: 60, maxAge: .milliseconds(0))
        #expect(!collector.hasChecked)
        #expect(await metrics.registry.scrape().contains("jobgate_workers_live 0\n"))

        for id in ["a", "b", "c", "d"] {
            try await store.registerWorker(WorkerInfo(id: id, host: "h", pid: 1, version: "v", queues: [], concurrency: 1))
        }
        try await store.stopWorker("c")
        try await pool.query("UPDATE jobgate.workers SET last_heartbeat = now() - interval '2 minutes' WHERE id = 'd'")
        let text = await metrics.registry.scrape()
        #expect(text.contains("# TYPE jobgate_db_up gauge\njobgate_db_up 1\n"))
        #expect(text.contains("# TYPE jobgate_workers_live gauge\njobgate_workers_live 2\n"))
        #expect(collector.snapshot.up && collector.snapshot.liveWorkers == 2)
    }

    @Test func anUnreachableDatabaseReadsZeroWithinTheTimeout() async throws {
        // A port nothing listens on: the connection is refused at once.
        var config = Database.configuration(url: "host=127.0.0.1 port=1 dbname=none connect_timeout=2", maxConnections: 1)
        config.acquireTimeout = .seconds(1)
        let pool = PostgresPool(configuration: config)
        defer { pool.shutdown() }
        let metrics = JobGateMetrics(registry: MetricsRegistry())
        metrics.observeDatabase(store: JobStore(pool: pool), maxAge: .milliseconds(0), timeout: .milliseconds(1500))
        let started = ContinuousClock.now
        let text = await metrics.registry.scrape()
        #expect(ContinuousClock.now - started < .seconds(20))  // bounded (1.5 s), with room for a starved CI
        #expect(text.contains("jobgate_db_up 0\n"))
        #expect(!text.contains("jobgate_workers_live 0") && !text.contains("jobgate_workers_live 1"))
    }
}
