import Foundation
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateBench
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
        let target: BenchTarget
        do {
            target = try BenchTarget(
                url: args.string("url", default: "http://127.0.0.1:8080"), token: args.string("token"),
                connections: try args.int("connections", default: 64, range: 1...10_000),
                duration: try args.duration("duration", default: .seconds(10)),
                type: args.string("type", default: "noop"), payload: args.string("payload", default: "{}"),
                batchSize: try args.int("batch-size", default: 100, range: 1...1000),
                rate: try args.int("rate", default: 1000, range: 1...1_000_000),
                prefill: try args.int("prefill", default: 1000, range: 1...1_000_000))
        } catch let e as BenchTarget.InvalidTarget {
            throw UsageError(e.description)
        }
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
        let database = DatabaseLocation.configuration(args, url: try DatabaseLocation.required(args), maxConnections: 8)
        return try await DrainBenchmark.measure(database: database, jobs: jobs, concurrency: concurrency)
    }
}
