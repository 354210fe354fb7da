// Drains N pre-filled no-op jobs with one in-process WorkerPool and prints jobs/s.
// Usage: jobgate-bench-drain [jobs] [concurrency]   (database from JOBGATE_DATABASE_URL or PG*)
// A stand-in until `jobgate bench` exists; it calls the same DrainBenchmark.run.
import Foundation
import JobGateCore
import JobGatePostgres
import JobGateWorker

let args = CommandLine.arguments
let jobs = args.count > 1 ? Int(args[1]) ?? 100_000 : 100_000
let concurrency = args.count > 2 ? Int(args[2]) ?? 1000 : 1000
let url = ProcessInfo.processInfo.environment["JOBGATE_DATABASE_URL"] ?? ""
let pool = PostgresPool(configuration: Database.configuration(url: url, maxConnections: 8))
do {
    try await Migrator(pool: pool).migrate()
    let sc = try await pool.query("SHOW synchronous_commit").first!.decode(0, as: String.self)
    let queue = "bench-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    let r = try await DrainBenchmark.run(pool: pool, jobs: jobs, concurrency: concurrency, queue: queue)
    let events = try await pool.query("SELECT count(*) FROM jobgate.job_events e JOIN jobgate.jobs j ON j.id = e.job_id WHERE j.queue = $1", [queue]).first!.decode(0, as: Int.self)
    print("""
        drain: \(r.jobs) noop jobs, concurrency \(concurrency), synchronous_commit=\(sc)
          submit  \(String(format: "%8.0f", r.submittedPerSecond)) jobs/s  (\(String(format: "%.2f", r.submitSeconds)) s, batches of 5000)
          drain   \(String(format: "%8.0f", r.jobsPerSecond)) jobs/s  (\(String(format: "%.2f", r.drainSeconds)) s)
          history rows for these jobs: \(events) (3 per job expected)
        """)
    pool.shutdown()
} catch {
    print("bench failed: \(String(reflecting: error))")
    exit(1)
}
