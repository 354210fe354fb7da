import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
import JobGateHTTP
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
        for file in files {
            for name in metricNames(in: try String(contentsOf: file, encoding: .utf8)) {
                used[name, default: []].insert(file.lastPathComponent)
            }
        }
        return used
    }

    /// Every `jobgate_…` name in a text, with histogram suffixes stripped.
    static func metricNames(in text: String) -> Set<String> {
        Set(text.matches(of: /jobgate_[a-z][a-z0-9_]*/).map { match in
            var name = String(text[match.range])
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                name = String(name.dropLast(suffix.count))
            }
            return name
        })
    }

    /// The names of `used` that are not in `exported`, sorted.
    static func unexported(_ used: some Sequence<String>, by exported: Set<String>) -> [String] {
        used.filter { !exported.contains($0) }.sorted()
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
        // With a read database (the same one: a primary reports 0 lag), so the replica gauges show.
        let serve = try await ServeProcess.start(databaseURL: db.processURL, arguments: ["--read-database-url", db.processURL])
        let workerPort = TestPorts.unused()
        let worker = try TestProcess([try JobGateBinary.path(), "worker", "--queues", "default", "--metrics-addr", "127.0.0.1:\(workerPort)"],
                                     environment: ["JOBGATE_DATABASE_URL": db.processURL, "JOBGATE_LOG_LEVEL": "warn"])
        defer { serve.process.signal(SIGKILL); worker.signal(SIGKILL) }
        let api = try HTTPClient(baseURL: serve.url, token: secret)
        let workerMetrics = try HTTPClient(baseURL: "http://127.0.0.1:\(workerPort)")
        let up = try await eventually(timeout: .seconds(20)) { (try? await workerMetrics.send("GET", "/metrics"))?.status == 200 }
        try #require(up, "worker: \(worker.output.suffix(1000))")
        let id = try #require(try await api.send("POST", "/v1/jobs", json: ["type": "noop"]).object?["jobId"] as? String)
        let done = try await eventually(timeout: .seconds(20)) {
            try await api.send("GET", "/v1/jobs/\(id)").object?["status"] as? String == "completed"
        }
        #expect(done)
        // A job waiting on a queue nobody serves, so the per-queue gauges have a series to show
        // (they are refreshed every few seconds).
        #expect(try await api.send("POST", "/v1/jobs", json: ["type": "noop", "queue": "parked"]).status == 202)
        var apiText = "", workerText = ""
        let parked = try await eventually(timeout: .seconds(20)) {
            apiText = try await api.send("GET", "/metrics").text
            workerText = try await workerMetrics.send("GET", "/metrics").text
            return apiText.contains("jobgate_queue_depth{queue=\"parked\"}") && workerText.contains("jobgate_queue_depth{queue=\"parked\"}")
        }
        #expect(parked, "the parked queue never showed in the queue gauges")
        let exported = Self.exported(apiText).union(Self.exported(workerText))
        #expect(exported.count >= 19)

        for name in Self.unexported(used.keys, by: exported) {
            Issue.record("\(name) is used in \(used[name, default: []].sorted()) but neither serve nor worker exports it")
        }
        // The labels too: a selector's labels exist on its metric, and a `by (…)` label on at
        // least one metric of its expression (`job` and `instance` come from Prometheus itself).
        let labels = Self.labelsBySeries(apiText + "\n" + workerText)
        let expressions = try Self.expressionsInDeploy()
        #expect(expressions.count >= 25, "found \(expressions.count) expressions")
        for expr in expressions {
            for (metric, names) in Self.selectorLabels(expr) {
                for label in names where !["job", "instance"].contains(label) {
                    #expect(labels[metric, default: []].contains(label), "\(metric) has no label \(label): \(expr)")
                }
            }
            let metrics = Set(expr.matches(of: /jobgate_[a-z][a-z0-9_]*/).map { String(expr[$0.range]) })
            for label in Self.byLabels(expr) where !["job", "instance"].contains(label) {
                #expect(metrics.contains { labels[$0, default: []].contains(label) }, "no metric of this expression has \(label): \(expr)")
            }
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

    /// Each PromQL expression of deploy/: the `expr` of every Grafana target and every alert rule.
    static func expressionsInDeploy() throws -> [String] {
        let dashboard = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/jobgate-dashboard.json"))
        var out: [String] = []
        func walk(_ v: Any) {
            if let d = v as? [String: Any] {
                if let e = d["expr"] as? String { out.append(e) }
                d.values.forEach(walk)
            } else if let a = v as? [Any] {
                a.forEach(walk)
            }
        }
        walk(try JSONSerialization.jsonObject(with: dashboard))
        // Alert rules: from each `expr:` to the rule's next key (`for:`, `labels:`, …).
        let alerts = try String(contentsOf: root.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
        for rule in alerts.components(separatedBy: "- alert:").dropFirst() {
            guard let start = rule.range(of: "expr:") else { continue }
            let rest = rule[start.upperBound...]
            let end = [rest.range(of: "\n        for:"), rest.range(of: "\n        labels:")].compactMap { $0?.lowerBound }.min() ?? rest.endIndex
            out.append(String(rest[..<end]))
        }
        return out
    }

    /// Label names per series name in a scrape (histogram series keep their `_bucket`/`_sum`/`_count` names).
    static func labelsBySeries(_ text: String) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let brace = line.firstIndex(of: "{") else { continue }
            let names = line[line.index(after: brace)...].matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)="/).map { String($0.output.1) }
            let series = String(line[..<brace])
            out[series, default: []].formUnion(names)
            // The base name of a histogram's series carries the same labels (bar `le`).
            for suffix in ["_bucket", "_sum", "_count"] where series.hasSuffix(suffix) {
                out[String(series.dropLast(suffix.count)), default: []].formUnion(names.filter { $0 != "le" })
            }
        }
        return out
    }

    /// `metric{a="x", b=~"y"}` selectors in an expression: metric and its label names.
    static func selectorLabels(_ expr: String) -> [(String, [String])] {
        expr.matches(of: /(jobgate_[a-z][a-z0-9_]*)\{([^}]*)\}/).map { m in
            (String(m.output.1), String(m.output.2).matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/).map { String($0.output.1) })
        }
    }

    /// The labels of every `by (…)` clause in an expression.
    static func byLabels(_ expr: String) -> [String] {
        expr.matches(of: /by\s*\(([^)]*)\)/).flatMap { m in
            m.output.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    @Test func theLabelChecksReadSelectorsAndGroupings() {
        let expr = #"sum by (le, route) (rate(jobgate_http_request_duration_seconds_bucket{code=~"5..", job="x"}[5m]))"#
        #expect(Self.selectorLabels(expr).map(\.0) == ["jobgate_http_request_duration_seconds_bucket"])
        #expect(Self.selectorLabels(expr).first?.1 == ["code", "job"])
        #expect(Self.byLabels(expr) == ["le", "route"])
        let scrape = "# TYPE a histogram\njobgate_a_bucket{route=\"/x\",le=\"+Inf\"} 1\njobgate_a_count{route=\"/x\"} 1\n"
        #expect(Self.labelsBySeries(scrape)["jobgate_a_bucket"] == ["route", "le"])
        #expect(Self.labelsBySeries(scrape)["jobgate_a"] == ["route"])
    }

    @Test func theCheckCatchesAnUnknownName() {
        let scrape = "# HELP jobgate_a A.\n# TYPE jobgate_a histogram\njobgate_a_count 1\n"
        #expect(Self.exported(scrape) == ["jobgate_a"])
        let expr = "sum(rate(jobgate_a_sum[5m])) / sum(rate(jobgate_a_count[5m])) > 0 or jobgate_b_total"
        let used = Self.metricNames(in: expr)
        #expect(used == ["jobgate_a", "jobgate_b_total"])
        #expect(Self.unexported(used, by: Self.exported(scrape)) == ["jobgate_b_total"])
    }
}
