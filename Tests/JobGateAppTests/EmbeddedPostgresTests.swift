import Foundation
@testable import JobGateApp
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// The embedded cluster of `jobgate up`: created, reused, stopped, and started again after a crash.
@Suite(.serialized) struct EmbeddedPostgresTests {
    private func scratch() throws -> URL {
        let dir = URL(fileURLWithPath: "/tmp/jg-embedded-\(UUID().uuidString.prefix(8))/pg")
        try FileManager.default.createDirectory(at: dir.deletingLastPathComponent(), withIntermediateDirectories: true)
        chmod(dir.deletingLastPathComponent().path, 0o755)
        return dir
    }

    private func value(_ url: String) async throws -> Int? {
        let pool = PostgresPool(configuration: Database.configuration(url: url, maxConnections: 1))
        defer { pool.shutdown() }
        return try await pool.query("SELECT 40 + 2").first?.decode(0, as: Int.self)
    }

    @Test func createsReusesAndStopsItsCluster() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let first = try EmbeddedPostgres(directory: dir)
        try await onOwnThread { try first.start() }
        #expect(first.startedByUs)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data/PG_VERSION").path))
        #expect(try await value(first.url) == 42)

        // A second `up` on the same folder reuses the running server and does not own it.
        let second = try EmbeddedPostgres(directory: dir)
        try await onOwnThread { try second.start() }
        #expect(!second.startedByUs)
        second.stop()
        #expect(first.isRunning())

        first.stop()
        #expect(!first.isRunning())
        await #expect(throws: (any Error).self) { try await value(first.url) }

        // Started again, the data is still there (reuse of the cluster, not a new initdb).
        let pool0 = PostgresPool(configuration: Database.configuration(url: first.url))
        let third = try EmbeddedPostgres(directory: dir)
        try await onOwnThread { try third.start() }
        try await pool0.query("CREATE TABLE kept (x int)")
        pool0.shutdown()
        third.stop()
        let fourth = try EmbeddedPostgres(directory: dir)
        try await onOwnThread { try fourth.start() }
        let pool = PostgresPool(configuration: Database.configuration(url: fourth.url))
        let kept = try await pool.query("SELECT to_regclass('kept') IS NOT NULL").first?.decode(0, as: Bool.self)
        pool.shutdown()
        #expect(kept == true)
        fourth.stop()
    }

    @Test func aStalePidFileAfterACrashDoesNotPreventTheNextStart() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let e = try EmbeddedPostgres(directory: dir)
        try await onOwnThread { try e.start() }
        e.stop()
        // As after a crash and a reboot: postmaster.pid names a live process that is not PostgreSQL.
        let sleeper = try TestProcess(["/bin/sleep", "30"])
        defer { sleeper.signal(SIGKILL) }
        let pidFile = dir.appendingPathComponent("data/postmaster.pid")
        try "\(sleeper.pid)\n\(dir.path)/data\n0\n5432\n".write(to: pidFile, atomically: true, encoding: .utf8)
        if getuid() == 0 { _ = chown(pidFile.path, getpwnam("postgres").pointee.pw_uid, getpwnam("postgres").pointee.pw_gid) }
        let again = try EmbeddedPostgres(directory: dir)
        try await onOwnThread { try again.start() }
        #expect(again.startedByUs)
        #expect(try await value(again.url) == 42)
        again.stop()
    }

    @Test func findsTheServerBinariesOrSaysWhichPackageToInstall() async throws {
        let root = try scratch().deletingLastPathComponent().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Nothing installed: no bindir, and the error is one line naming the package.
        #expect(EmbeddedPostgres.findBinDir(environment: [:], pgConfigs: [], versions: root + "/none") == nil)
        let message = EmbeddedPostgres.notInstalled.description
        #expect(!message.contains("\n") && message.contains("apt-get install postgresql"))
        // A Debian layout: the newest version with an initdb wins.
        for v in ["13", "16", "17"] {
            try FileManager.default.createDirectory(atPath: "\(root)/lib/\(v)/bin", withIntermediateDirectories: true)
            if v != "17" { FileManager.default.createFile(atPath: "\(root)/lib/\(v)/bin/initdb", contents: Data(), attributes: [.posixPermissions: 0o755]) }
        }
        #expect(EmbeddedPostgres.findBinDir(environment: [:], pgConfigs: [], versions: root + "/lib") == root + "/lib/16/bin")
        #expect(EmbeddedPostgres.findBinDir(environment: ["JOBGATE_PG_BINDIR": root + "/lib/13/bin"], pgConfigs: [], versions: root + "/lib") == root + "/lib/13/bin")
        // And this machine's real installation is found (through pg_config: a process, so off the pool).
        #expect(try await onOwnThread { EmbeddedPostgres.findBinDir() } != nil)
    }
}
