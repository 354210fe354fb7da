import Foundation
import JobGateCore
import JobGateDashboard
import JobGatePostgres
import JobGateTestSupport
import Testing

/// Writes the rendered page to files, for `scripts/dashboard-screenshot` (headless Chromium).
///
/// With `JOBGATE_DASHBOARD_HTML_DIR=DIR` and `JOBGATE_DASHBOARD_SNAPSHOTS="name=dbname ..."`, it
/// renders each named database to `DIR/name.html`. Without them it renders the fixture and an
/// empty database to a temporary directory, so the file path is exercised on every run.
@Suite(.serialized) struct DashboardSnapshotTests {
    @Test func renderPagesToFiles() async throws {
        let env = ProcessInfo.processInfo.environment
        var targets: [(name: String, url: String)] = []
        let dir: URL
        if let out = env["JOBGATE_DASHBOARD_HTML_DIR"], let list = env["JOBGATE_DASHBOARD_SNAPSHOTS"] {
            dir = URL(fileURLWithPath: out)
            for item in list.split(separator: " ") {
                let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
                try #require(kv.count == 2, "JOBGATE_DASHBOARD_SNAPSHOTS items are name=dbname, got \(item)")
                targets.append((kv[0], "dbname=\(kv[1])"))
            }
        } else {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("jobgate-dash-\(UUID().uuidString.prefix(8))")
            let (full, pool) = try await migratedPool("dashsnapfull")
            try await DashboardFixture.fill(pool)
            pool.shutdown()
            let (empty, emptyPool) = try await migratedPool("dashsnapempty")
            emptyPool.shutdown()
            targets = [("dashboard", full.url), ("dashboard-empty", empty.url)]
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for t in targets {
            let pool = PostgresPool(configuration: Database.configuration(url: t.url, maxConnections: 2))
            defer { pool.shutdown() }
            let data = try await DashboardData.load(pool: pool)
            let html = DashboardPage.render(data, now: data.now)
            let file = dir.appendingPathComponent("\(t.name).html")
            try html.write(to: file, atomically: true, encoding: .utf8)
            #expect(try String(contentsOf: file, encoding: .utf8).hasPrefix("<!doctype html>"))
            print("dashboard snapshot: \(file.path) (\(html.utf8.count) bytes, jobs: \(data.hasJobs))")
        }
        // The login page too, so it can be looked at.
        try DashboardPage.loginPage().write(to: dir.appendingPathComponent("login.html"), atomically: true, encoding: .utf8)
    }
}
