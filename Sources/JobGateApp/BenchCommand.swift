import Foundation
import JobGateCore
import JobGatePostgres
import JobGateWorker
import Synchronization

/// `jobgate bench`: a load generator built from the project's own code (DESIGN.md §10).
extension JobGateCLI {
    static let benchCommand = Command(
        name: "bench",
        summary: "measure a running JobGate: submit, batch, status, e2e, healthz (HTTP), drain (database); pgbench-script",
        usage: "jobgate bench submit|batch|status|e2e|healthz|drain [--url URL] [--token T] [--connections N] [--duration 10s] [--json]\n       jobgate bench pgbench-script submit|claim-complete",
        options: [
            OptionSpec("url", value: "URL", env: "JOBGATE_URL", default: "http://127.0.0.1:8080", help: "the API to drive"),
            OptionSpec("token", value: "TOKEN", env: "JOBGATE_TOKEN", help: "API token with jobs:submit and jobs:read"),
            OptionSpec("connections", value: "N", default: "64", help: "concurrent keep-alive connections"),
            OptionSpec("duration", value: "DURATION", default: "10s", help: "how long to drive load"),
            OptionSpec("type", value: "TYPE", default: "noop", help: "job type to submit"),
            OptionSpec("payload", value: "JSON", default: "{}", help: "job payload"),
            OptionSpec("batch-size", value: "N", default: "100", help: "jobs per batch request (batch mode)"),
            OptionSpec("rate", value: "JOBS/S", default: "1000", help: "offered submit rate (e2e mode)"),
            OptionSpec("prefill", value: "N", default: "1000", help: "jobs created first and then read (status mode)"),
            OptionSpec("jobs", value: "N", default: "100000", help: "jobs to pre-fill and drain (drain mode)"),
            OptionSpec("concurrency", value: "N", default: "1000", help: "worker concurrency (drain mode)"),
            OptionSpec("json", help: "print the result as one JSON object"),
        ]
    ) { args in
        guard let mode = args.positionals.first else { throw UsageError("name a mode: submit, batch, status, e2e, healthz, drain or pgbench-script") }
        let json = args.flag("json")
        if mode == "pgbench-script" {
            let names = PgbenchScripts.names.joined(separator: ", ")
            guard args.positionals.count == 2, let script = PgbenchScripts.named(args.positionals[1]) else {
                throw UsageError("name one pgbench script: \(names)")
            }
            print(script, terminator: "")
            return 0
        }
        if mode == "drain" {
            let result = try await drainBench(args)
            print(json ? result.json : result.table)
            return 0
        }
        let target = try BenchTarget(args)
        let result: BenchResult
        switch mode {
        case "submit": result = try await target.submit()
        case "batch": result = try await target.batch()
        case "status": result = try await target.status()
        case "e2e": result = try await target.endToEnd()
        case "healthz": result = try await target.healthz()
        default: throw UsageError("unknown mode \"\(mode)\": use submit, batch, status, e2e, healthz, drain or pgbench-script")
        }
        print(json ? result.json : result.table)
        return result.ok > 0 ? 0 : 1
    }

    static func drainBench(_ args: Arguments) async throws -> BenchResult {
        let jobs = try args.int("jobs", default: 100_000, range: 1...10_000_000)
        let concurrency = try args.int("concurrency", default: 1000, range: 1...100_000)
        let url = try DatabaseLocation.required(args)
        let pool = PostgresPool(configuration: Database.configuration(url: url, maxConnections: 8))
        defer { pool.shutdown() }
        try await Migrator(pool: pool).migrate()
        let queue = "bench-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let r = try await DrainBenchmark.run(pool: pool, jobs: jobs, concurrency: concurrency, queue: queue)
        let events = try await pool.query(
            "SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id WHERE j.queue = $1", [queue]).first?.decode(0, as: Int.self) ?? 0
        var result = BenchResult(mode: "drain", connections: concurrency, seconds: r.drainSeconds)
        result.ok = r.jobs
        result.jobs = r.jobs
        result.notes = ["submitted \(r.jobs) jobs at \(Int(r.submittedPerSecond))/s first; \(events) history rows (3 per job)"]
        return result
    }
}

/// What one bench run measured.
struct BenchResult: Sendable {
    var mode: String
    var connections: Int
    var seconds: Double
    var ok = 0
    var jobs = 0
    var errors: [Int: Int] = [:]
    var transportErrors = 0
    var latency = LatencySummary([])
    var startLatency: LatencySummary?
    var completeLatency: LatencySummary?
    var notes: [String] = []
    /// The jobs e2e mode submitted and when it sent each (it reads their timestamps afterwards).
    var sent: [BenchTarget.SentJob] = []

    init(mode: String, connections: Int, seconds: Double) {
        self.mode = mode
        self.connections = connections
        self.seconds = seconds
    }

    var perSecond: Double { Double(ok) / max(seconds, 1e-9) }
    var jobsPerSecond: Double { Double(jobs) / max(seconds, 1e-9) }

    var table: String {
        func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
        var out = "mode \(mode), \(connections) connections, \(String(format: "%.1f", seconds)) s\n"
        out += "  ok            \(ok) (\(String(format: "%.0f", perSecond))/s)\n"
        if jobs != ok { out += "  jobs          \(jobs) (\(String(format: "%.0f", jobsPerSecond))/s)\n" }
        let errs = errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } + (transportErrors > 0 ? ["transport: \(transportErrors)"] : [])
        out += "  errors        \(errs.isEmpty ? "none" : errs.joined(separator: ", "))\n"
        func row(_ name: String, _ l: LatencySummary) -> String {
            "  \(name.padding(toLength: 14, withPad: " ", startingAt: 0))p50 \(ms(l.p50)) ms  p95 \(ms(l.p95)) ms  p99 \(ms(l.p99)) ms  max \(ms(l.max)) ms  (n=\(l.count))\n"
        }
        if latency.count > 0 { out += row("latency", latency) }
        if let s = startLatency { out += row("submit→start", s) }
        if let c = completeLatency { out += row("submit→done", c) }
        for n in notes { out += "  note: \(n)\n" }
        return out
    }

    var json: String {
        func l(_ s: LatencySummary?) -> String {
            guard let s else { return "null" }
            return "{\"count\":\(s.count),\"p50\":\(s.p50),\"p95\":\(s.p95),\"p99\":\(s.p99),\"max\":\(s.max)}"
        }
        let errs = errors.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        return "{\"mode\":\(JSONText.quote(mode)),\"connections\":\(connections),\"seconds\":\(seconds),\"ok\":\(ok),"
            + "\"perSecond\":\(perSecond),\"jobs\":\(jobs),\"jobsPerSecond\":\(jobsPerSecond),\"errors\":{\(errs)},"
            + "\"transportErrors\":\(transportErrors),\"latency\":\(l(latency.count > 0 ? latency : nil)),"
            + "\"submitToStart\":\(l(startLatency)),\"submitToComplete\":\(l(completeLatency)),"
            + "\"notes\":[\(notes.map(JSONText.quote).joined(separator: ","))]}"
    }
}
