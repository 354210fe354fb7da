import Foundation
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateWorker

/// Options shared by `worker` and `up`, resolved flag > environment > default.
enum WorkerSettings {
    static let options: [OptionSpec] = [
        OptionSpec("concurrency", value: "N", env: "JOBGATE_CONCURRENCY", default: "16", help: "jobs run at once"),
        OptionSpec("queues", value: "a,b", env: "JOBGATE_QUEUES", default: "all queues", help: "queues to take jobs from"),
        OptionSpec("lease-seconds", value: "N", env: "JOBGATE_LEASE_SECONDS", default: "30",
                   help: "how long a claimed job stays this worker's without a heartbeat"),
        OptionSpec("grace-seconds", value: "N", env: "JOBGATE_GRACE_SECONDS", default: "25",
                   help: "on SIGTERM, how long running jobs may finish before they are handed back"),
        OptionSpec("job-types", value: "FILE", env: "JOBGATE_JOB_TYPES", help: "JSON file of command job types"),
        OptionSpec("output-dir", value: "DIR", env: "JOBGATE_OUTPUT_DIR", default: ".jobgate/outputs",
                   help: "where outputs over the inline limit are written"),
        OptionSpec("output-inline-max", value: "BYTES", env: "JOBGATE_OUTPUT_INLINE_MAX", default: "1048576",
                   help: "outputs up to this size are stored in the database"),
        OptionSpec("job-retention", value: "DURATION", env: "JOBGATE_JOB_RETENTION", default: "7d",
                   help: "finished jobs and their outputs are deleted after this"),
        OptionSpec("history-retention", value: "DURATION", env: "JOBGATE_HISTORY_RETENTION", default: "90d",
                   help: "job_events rows are deleted after this (reports read them)"),
    ]

    static func configuration(_ args: Arguments) throws -> WorkerPool.Configuration {
        var c = WorkerPool.Configuration()
        c.concurrency = try args.int("concurrency", default: 16, range: 1...10_000)
        c.queues = args.list("queues") ?? []
        if let bad = c.queues.first(where: { !QueueName.isValid($0) }) {
            throw UsageError("--queues: \"\(bad)\" is not a queue name (\(QueueName.rule))")
        }
        c.leaseSeconds = Double(try args.int("lease-seconds", default: 30, range: 2...86_400))
        // A dead worker's jobs wait for their lease to end and then for the next rescue pass:
        // with short leases, look more often than every 5 s, so that wait stays under a lease.
        c.rescueInterval = .milliseconds(Int(min(5, c.leaseSeconds / 2) * 1000))
        c.gracePeriod = .seconds(try args.int("grace-seconds", default: 25, range: 0...86_400))
        c.outputDirectory = args.string("output-dir", default: ".jobgate/outputs")
        c.inlineOutputMax = try args.int("output-inline-max", default: 1 << 20, range: 0...(1 << 30))
        c.jobRetentionSeconds = try args.duration("job-retention", default: .seconds(7 * 86_400)).seconds
        c.historyRetentionSeconds = try args.duration("history-retention", default: .seconds(90 * 86_400)).seconds
        c.version = JobGateCLI.version
        return c
    }

    static func registry(_ args: Arguments) throws -> HandlerRegistry {
        do {
            return try HandlerRegistry.builtIn(jobTypesFile: args.string("job-types"))
        } catch {
            throw UsageError("--job-types: \(error)")
        }
    }
}

extension JobGateCLI {
    static let workerCommand = Command(
        name: "worker", summary: "run a worker pool: claim jobs, run them, record results",
        usage: "jobgate worker [--concurrency N] [--queues a,b] [--lease-seconds N] [--job-types FILE] [--database-url URL]",
        options: WorkerSettings.options + [
            OptionSpec("metrics-addr", value: "HOST:PORT", env: "JOBGATE_METRICS_ADDR", default: "off",
                       help: "serve Prometheus metrics at http://HOST:PORT/metrics"),
        ]
    ) { args in
        let configuration = try WorkerSettings.configuration(args)
        let registry = try WorkerSettings.registry(args)
        let url = try DatabaseLocation.required(args)
        let signals = Signals.termination()
        let pool = PostgresPool(configuration: DatabaseLocation.configuration(args, url: url, maxConnections: 8, applicationName: "jobgate-worker"))
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        var endpoint: MetricsEndpoint?
        if let address = args.string("metrics-addr") {
            let metrics = JobGateMetrics.shared
            metrics.setBuildInfo(version: version)
            metrics.observe(pool: pool)
            metrics.observeQueues(store: store)
            metrics.observeDatabase(store: store, liveWithin: 2 * configuration.leaseSeconds)
            do {
                endpoint = try MetricsEndpoint.start(address: address)
            } catch {
                throw UsageError("--metrics-addr \(address): \(error)")
            }
            Log.info("worker metrics listening", ["address": address])
        }
        let worker = WorkerPool(store: store, configuration: configuration, registry: registry)
        let stopper = Task {
            for await sig in signals {
                Log.info("stopping worker: no new claims, running jobs get the grace period", ["signal": Int(sig), "worker.id": worker.workerID])
                worker.shutdown()
                break
            }
        }
        defer { stopper.cancel() }
        try await worker.run()
        await endpoint?.stop()
        return 0
    }

    static let pruneCommand = Command(
        name: "prune", summary: "delete finished jobs, their outputs and old history now (workers also do this)",
        usage: "jobgate prune [--job-retention 7d] [--history-retention 90d] [--database-url URL]",
        options: WorkerSettings.options.filter { $0.name.hasSuffix("retention") }
    ) { args in
        let c = try WorkerSettings.configuration(args)
        let pool = try DatabaseLocation.commandPool(args)
        defer { pool.shutdown() }
        guard let r = try await JobStore(pool: pool).prune(jobRetention: c.jobRetentionSeconds, historyRetention: c.historyRetentionSeconds) else {
            printError("jobgate prune: another process is pruning; nothing done")
            return 0
        }
        await OutputWriter.remove(r.outputFiles)
        printError("jobgate prune: deleted \(r.jobsDeleted) jobs and \(r.eventsDeleted) events; "
                   + "job_events day partitions: \(r.partitionsCreated) made, \(r.partitionsDropped) dropped")
        if let problem = r.partitionProblem { printError("jobgate prune: job_events partitions not maintained: \(problem)") }
        return 0
    }
}
