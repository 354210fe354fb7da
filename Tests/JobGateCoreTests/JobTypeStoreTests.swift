import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
@testable import JobGateWorker
import Testing

/// `job_types`: the one place every node learns a type's queue, attempts, time limit and
/// backoff (DESIGN.md §15).
@Suite struct JobTypeStoreTests {
    @Test func migrateSeedsTheBuiltInsAndKeepsAnOperatorsChange() async throws {
        let f = try await EngineFixture.make("typesseed")
        defer { f.pool.shutdown() }
        let store = JobTypeStore(pool: f.pool)
        var builtIns = JobTypeSettings.builtIns
        for k in builtIns.keys { builtIns[k]!.queue = "default" }
        #expect(try await store.all() == builtIns)
        var weather = builtIns["weather"]!
        weather.maxAttempts = 7
        #expect(try await store.apply(["weather": weather], by: "operator").map(\.name) == ["weather"])
        try await Migrator(pool: f.pool).migrate()
        #expect(try await store.all()["weather"]?.maxAttempts == 7, "migrate only adds missing built-ins")
    }

    @Test func applyAddsMissingTypesUpdatesChangedOnesAndSaysWhat() async throws {
        let f = try await EngineFixture.make("typesapply")
        defer { f.pool.shutdown() }
        let store = JobTypeStore(pool: f.pool)
        let resize = JobTypeSettings(timeoutSeconds: 60, maxAttempts: 5, retry: RetryPolicy(baseSeconds: 2, capSeconds: 30), queue: "images")
        let added = try await store.apply(["resize": resize], by: "w1")
        #expect(added == [JobTypeChange(name: "resize", before: nil, after: resize)])
        #expect(try await store.apply(["resize": resize], by: "w2").isEmpty, "nothing changed, nothing written")
        var longer = resize
        longer.timeoutSeconds = 600
        #expect(try await store.apply(["resize": longer], by: "w3", overwrite: false).isEmpty, "kept without overwrite")
        let changed = try await store.apply(["resize": longer], by: "w3")
        #expect(changed == [JobTypeChange(name: "resize", before: resize, after: longer)])
        #expect(try await store.all()["resize"] == longer)
        #expect(try await f.count("SELECT count(*) FROM jobgate.job_types WHERE name = 'resize' AND updated_by = 'w3'") == 1)
        // Refused by the table's rules, and nothing written.
        var bad = longer
        bad.queue = "no spaces"
        await #expect(throws: PostgresError.self) { try await store.apply(["resize": bad, "other": resize], by: "w4") }
        #expect(try await store.all()["other"] == nil)
    }

    @Test func aChangeReachesACatalogByItsNotification() async throws {
        let f = try await EngineFixture.make("typesnotify")
        defer { f.pool.shutdown() }
        let catalog = JobTypeCatalog(store: JobTypeStore(pool: f.pool))
        try await catalog.refresh()
        #expect(catalog.current["resize"] == nil)
        // A reload interval far beyond the test: only the NOTIFY can bring the change.
        let follow = Task { await catalog.run(listen: f.pool.configuration, interval: .seconds(3600)) { _, _ in } }
        defer { follow.cancel() }
        try await Task.sleep(for: .milliseconds(300))  // the listener connects
        try await JobTypeStore(pool: f.pool).apply(["resize": JobTypeSettings(queue: "images")], by: "test")
        #expect(try await eventually(timeout: .seconds(5)) { catalog.current["resize"]?.queue == "images" })
    }

    /// A failed attempt's retry waits its type's backoff from job_types, not the failing
    /// worker's own policy.
    @Test func aRetryWaitsTheTypesBackoffFromTheTable() async throws {
        let f = try await EngineFixture.make("typesfail")
        defer { f.pool.shutdown() }
        try await JobTypeStore(pool: f.pool).apply(["slow": JobTypeSettings(retry: RetryPolicy(baseSeconds: 1000, capSeconds: 1000))], by: "test")
        let ids = try await f.store.submit([NewJob(tenant: "t", type: "slow"), NewJob(tenant: "t", type: "unlisted")]).map(\.jobID)
        let claimed = try await f.store.claim(queues: ["default"], limit: 2, worker: "w", leaseSeconds: 30)
        #expect(claimed.count == 2)
        let quick = RetryPolicy(baseSeconds: 1, capSeconds: 1)
        _ = try await f.store.fail(claimed.map { AttemptFailure(id: $0.id, attempt: 1, message: "x", disposition: .retry(quick)) }, worker: "w")
        let delays = try await f.pool.query("""
            SELECT type, (data->>'delaySeconds')::float8 FROM jobgate.jobs j JOIN jobgate.job_events e ON e.job_id = j.id AND e.event = 'retry_scheduled'
            WHERE j.id = ANY($1::uuid[])
            """, [ids]).reduce(into: [String: Double]()) { $0[try $1.decode(0)] = try $1.decode(1, as: Double.self) }
        #expect((500...1000).contains(delays["slow"] ?? 0), "\(delays)")
        #expect((0.5...1).contains(delays["unlisted"] ?? 0), "a type missing from the table gets the worker's policy: \(delays)")
    }

    /// A worker writes the types it declares (its --job-types file, Swift handlers) when it starts.
    @Test func aWorkerWritesTheTypesItServes() async throws {
        let f = try await EngineFixture.make("typesworker")
        defer { f.pool.shutdown() }
        var registry = HandlerRegistry.builtIn()
        registry.register("thumbnail", settings: JobTypeSettings(timeoutSeconds: 42, maxAttempts: 2, queue: "images"), handler: NoopHandler())
        let w = f.worker({ $0.queues = ["images"] }, registry: registry)
        let run = Task { try await w.run() }
        #expect(try await eventually { try await JobTypeStore(pool: f.pool).all()["thumbnail"]?.timeoutSeconds == 42 })
        w.shutdown()
        try await run.value
        #expect(try await f.count("SELECT count(*) FROM jobgate.job_types WHERE name = 'thumbnail' AND updated_by = $1", [w.workerID]) == 1)
    }
}
