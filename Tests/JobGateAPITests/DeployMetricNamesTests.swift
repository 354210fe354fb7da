import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// `deploy/` (alert rules, Grafana dashboard) may only use metric names the code exports.
@Suite(.serialized) struct DeployMetricNamesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `jobgate_…` name in the files under `deploy/`, with histogram suffixes stripped.
    static func namesUsedInDeploy() throws -> [String: Set<String>] {
        let deploy = root.appendingPathComponent("deploy")
        let files = try #require(FileManager.default.enumerator(at: deploy, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { ["yml", "yaml", "json"].contains($0.pathExtension) }
        var used: [String: Set<String>] = [:]
        let pattern = try Regex("jobgate_[a-z][a-z0-9_]*")
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: pattern) {
                var name = String(text[match.range])
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                    name = String(name.dropLast(suffix.count))
                }
                used[name, default: []].insert(file.lastPathComponent)
            }
        }
        return used
    }

    /// Names in a rendered registry (`# TYPE name kind` lines).
    static func exported(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: " ")
            return parts.count == 4 && parts[0] == "#" && parts[1] == "TYPE" ? String(parts[2]) : nil
        })
    }

    @Test func everyMetricNameInDeployIsExported() async throws {
        let used = try Self.namesUsedInDeploy()
        #expect(used.count >= 15, "deploy/ should use most of JobGate's metrics, found \(used.keys.sorted())")

        // Everything JobGateMetrics declares, plus the database-backed gauges, as a process
        // that serves /metrics registers them (`JobGateMetrics.shared` is this on `Metrics.default`).
        let db = try await TestDatabase.create("deploynames")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 2))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        let metrics = JobGateMetrics(registry: MetricsRegistry())
        metrics.setBuildInfo(version: "test")
        metrics.observe(pool: pool)
        metrics.observeQueues(store: JobStore(pool: pool))
        metrics.observeDatabase(store: JobStore(pool: pool))
        let exported = Self.exported(await metrics.registry.scrape())
        #expect(exported.count >= 19)

        for (name, files) in used.sorted(by: { $0.key < $1.key }) {
            #expect(exported.contains(name), "\(name) is used in \(files.sorted()) but not exported")
        }
        // And the alerts the issue asks for are there.
        let alerts = try String(contentsOf: Self.root.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
        for rule in ["JobGateJobFailureRateHigh", "JobGateLeasesExpired", "JobGateQueueOldestJobOld", "JobGateHTTP5xxRatioHigh",
                     "JobGateDatabaseUnreachable", "JobGateNoLiveWorkers"] {
            #expect(alerts.contains("- alert: \(rule)"))
        }
        let dashboard = try Data(contentsOf: Self.root.appendingPathComponent("deploy/grafana/jobgate-dashboard.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: dashboard) as? [String: Any])
        #expect((json["panels"] as? [Any])?.count ?? 0 >= 20)
    }

    @Test func theCheckCatchesAnUnknownName() {
        let text = "# HELP jobgate_a A.\n# TYPE jobgate_a counter\njobgate_a 1\n"
        #expect(Self.exported(text) == ["jobgate_a"])
        #expect(!Self.exported(text).contains("jobgate_b"))
    }
}
