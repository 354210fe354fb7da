import Foundation
import JobGateAPI
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// `deploy/` (alert rules, Grafana dashboard) may only use metric names the code exports.
@Suite struct DeployMetricNamesTests {
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

    @Test func everyMetricNameInDeployIsExportedByARunningServeAndWorker() async throws {
        let used = try Self.namesUsedInDeploy()
        #expect(used.count >= 15, "deploy/ should use most of JobGate's metrics, found \(used.keys.sorted())")

        // Scraped from what operators run: a `jobgate serve` and a `jobgate worker --metrics-addr`,
        // after a job went through both, so a metric one of them forgot to register is caught.
        let db = try await TestDatabase.create("deploynames")
        let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 2))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        let secret = try await TokenStore(pool: pool).create(tenant: "t", scopes: [.admin]).secret
        let (apiPort, workerPort) = (Int.random(in: 40_000..<50_000), Int.random(in: 50_000..<60_000))
        let env = ["JOBGATE_DATABASE_URL": db.processURL, "JOBGATE_LOG_LEVEL": "warn"]
        let bin = try JobGateBinary.path()
        let serve = try TestProcess([bin, "serve", "--listen", "127.0.0.1:\(apiPort)"], environment: env)
        let worker = try TestProcess([bin, "worker", "--metrics-addr", "127.0.0.1:\(workerPort)"], environment: env)
        defer { serve.signal(SIGKILL); worker.signal(SIGKILL) }
        let api = try APIClient(baseURL: "http://127.0.0.1:\(apiPort)", token: secret)
        let workerMetrics = try APIClient(baseURL: "http://127.0.0.1:\(workerPort)")
        let up = try await eventually(timeout: .seconds(20)) {
            let apiUp = (try? await api.send("GET", "/healthz"))?.status == 200
            let workerUp = (try? await workerMetrics.send("GET", "/metrics"))?.status == 200
            return apiUp && workerUp
        }
        #expect(up, "serve: \(serve.output.suffix(1000))\nworker: \(worker.output.suffix(1000))")
        let id = try #require(try await api.send("POST", "/v1/jobs", json: ["type": "noop"]).object?["jobId"] as? String)
        let done = try await eventually(timeout: .seconds(20)) {
            try await api.send("GET", "/v1/jobs/\(id)").object?["status"] as? String == "completed"
        }
        #expect(done)
        let apiText = try await api.send("GET", "/metrics").text
        let workerText = try await workerMetrics.send("GET", "/metrics").text
        let exported = Self.exported(apiText).union(Self.exported(workerText))
        #expect(exported.count >= 19)

        for (name, files) in used.sorted(by: { $0.key < $1.key }) {
            #expect(exported.contains(name), "\(name) is used in \(files.sorted()) but neither serve nor worker exports it")
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
