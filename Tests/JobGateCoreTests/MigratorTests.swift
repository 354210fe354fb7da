import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import JobGateWorker
import Testing

@Suite struct MigratorTests {
    @Test func bundledMigrationsMatchTheFilesInTheRepository() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../migrations").standardized
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(names == Migrations.all.map(\.name))
        for file in Migrations.all {
            let onDisk = try String(contentsOf: dir.appendingPathComponent(file.name), encoding: .utf8)
            #expect(onDisk == file.sql, "bundled \(file.name) differs from the file")
        }
        #expect(Migrations.all.map(\.version) == Migrations.all.map(\.version).sorted())
        #expect(Set(Migrations.all.map(\.version)).count == Migrations.all.count)
    }

    @Test func concurrentMigratorsApplyEachFileExactlyOnce() async throws {
        let db = try await TestDatabase.create("migrate")
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 1))
                    defer { pool.shutdown() }
                    return try await Migrator(pool: pool).migrate()
                }
            }
            var all: [Int] = []
            for try await versions in group { all += versions }
            return all
        }
        #expect(applied.sorted() == Migrations.all.map(\.version))
        let pool = PostgresPool(configuration: Database.configuration(url: db.url))
        defer { pool.shutdown() }
        let rows = try await pool.query("SELECT count(*), count(DISTINCT version) FROM jobgate.schema_migrations")
        #expect(try rows.first?.decode(0, as: Int.self) == Migrations.all.count)
        // The first migrate made exactly one signing key of 32 bytes.
        let keys = try await pool.query("SELECT length(secret) FROM jobgate.signing_keys")
        #expect(keys.count == 1)
        #expect(try keys.first?.decode(0, as: Int.self) == 32)
        let status = try await Migrator(pool: pool).status()
        #expect(status.allSatisfy { $0.appliedAt != nil })
        #expect(try await Migrator(pool: pool).isCurrent())
        // Running again applies nothing.
        #expect(try await Migrator(pool: pool).migrate().isEmpty)
    }

    @Test func editedAppliedMigrationIsRefused() async throws {
        let db = try await TestDatabase.create("edited")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url))
        defer { pool.shutdown() }
        let original = Migrations.File(version: 1, name: "0001_a.sql", sql: "CREATE TABLE jobgate.a (x int);")
        try await Migrator(pool: pool, files: [original]).migrate()
        let edited = Migrations.File(version: 1, name: "0001_a.sql", sql: "CREATE TABLE jobgate.a (x int, y int);")
        let next = Migrations.File(version: 2, name: "0002_b.sql", sql: "CREATE TABLE jobgate.b (x int);")
        do {
            try await Migrator(pool: pool, files: [edited, next]).migrate()
            Issue.record("an edited migration was accepted")
        } catch let e as Migrator.Failure {
            #expect(e.description.contains("0001_a.sql"))
        }
        // Nothing after the refusal was applied.
        let b = try await pool.query("SELECT to_regclass('jobgate.b') IS NULL")
        #expect(try b.first?.decode(0, as: Bool.self) == true)
        // A failing migration rolls back entirely and is not recorded.
        let broken = Migrations.File(version: 2, name: "0002_broken.sql", sql: "CREATE TABLE jobgate.c (x int); SELECT 1/0;")
        await #expect(throws: PostgresError.self) { try await Migrator(pool: pool, files: [original, broken]).migrate() }
        let c = try await pool.query("SELECT to_regclass('jobgate.c') IS NULL, (SELECT count(*) FROM jobgate.schema_migrations)")
        #expect(try c.first?.decode(0, as: Bool.self) == true)
        #expect(try c.first?.decode(1, as: Int.self) == 1)
    }

    @Test func aWorkerRefusesAnOlderSchemaAndRunsOnceItIsMigrated() async throws {
        let db = try await TestDatabase.create("oldschema")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let latest = try #require(Migrations.all.last?.version)
        try await Migrator(pool: pool, files: Migrations.all.filter { $0.version < latest }).migrate()
        var c = WorkerPool.Configuration()
        c.log = WorkerLog(minimum: .error)
        c.outputDirectory = NSTemporaryDirectory() + "jobgate-test-outputs-" + db.name
        // Refused before it registers or claims anything, with what to do.
        do {
            try await WorkerPool(store: JobStore(pool: pool), configuration: c).run()
            Issue.record("a worker ran on an older schema")
        } catch let e as SchemaOutdated {
            #expect(e.applied == latest - 1 && e.required == latest)
            #expect(e.description.contains("jobgate migrate"))
        }
        #expect(try await pool.query("SELECT count(*) FROM jobgate.workers").first?.decode(0, as: Int.self) == 0)
        // Migrated, the same worker starts (and stops when asked).
        try await Migrator(pool: pool).migrate()
        let worker = WorkerPool(store: JobStore(pool: pool), configuration: c)
        let run = Task { try await worker.run() }
        #expect(try await eventually(timeout: .seconds(30)) {
            try await pool.query("SELECT count(*) FROM jobgate.workers").first?.decode(0, as: Int.self) == 1
        })
        worker.shutdown()
        try await run.value
    }
}
