import Foundation
import JobGateCore
import JobGatePostgres
import JobGateAPI
import JobGateSystem
import JobGateWorker

extension JobGateCLI {
    static let upCommand = Command(
        name: "up", summary: "run JobGate (API and workers) in one process; embeds PostgreSQL when none is configured",
        usage: "jobgate up [--database-url URL] [--data-dir DIR] [--pg-port N] [--listen HOST:PORT] [worker and API options]",
        options: [
            OptionSpec("data-dir", value: "DIR", env: "JOBGATE_DATA_DIR", default: ".jobgate/pg",
                       help: "where the embedded PostgreSQL cluster lives"),
            OptionSpec("pg-port", value: "N", env: "JOBGATE_PG_PORT",
                       help: "also listen on 127.0.0.1:N (trust auth for local users; off by default)"),
        ] + WorkerSettings.options + APISettings.options
    ) { args in
        let workerConfiguration = try WorkerSettings.configuration(args)
        let registry = try WorkerSettings.registry(args)
        let signals = Signals.termination()
        var embedded: EmbeddedPostgres?
        let url: String
        if let configured = DatabaseLocation.configured(args) {
            url = configured
        } else {
            let dir = URL(fileURLWithPath: args.string("data-dir", default: ".jobgate/pg"))
            let port = try args.int("pg-port", default: 0, range: 0...65535)
            let e = try await EmbeddedPostgres.started(directory: dir, port: port == 0 ? 5432 : port, tcp: port != 0)
            embedded = e
            url = e.url
        }
        do {
            try await run(args, url: url, embedded: embedded, workerConfiguration: workerConfiguration, registry: registry, signals: signals)
        } catch {
            await embedded?.stopOffPool()
            throw error
        }
        await embedded?.stopOffPool()
        return 0
    }

    /// Everything `up` runs on the database, which the caller stops afterwards.
    private static func run(_ args: Arguments, url: String, embedded: EmbeddedPostgres?, workerConfiguration: WorkerPool.Configuration,
                            registry: HandlerRegistry, signals: AsyncStream<Int32>) async throws {
        let pool = PostgresPool(configuration: DatabaseLocation.configuration(args, url: url))
        defer { pool.shutdown() }
        let applied = try await Migrator(pool: pool).migrate()
        Log.info("database ready", ["migrations_applied": applied.count, "embedded": embedded != nil])
        if let embedded { say("database: \(embedded.url)") }
        let worker = WorkerPool(store: JobStore(pool: pool), configuration: workerConfiguration, registry: registry)
        let workerTask = Task { try await worker.run() }
        let (api, token) = try await APISettings.startForUp(args, url: url)
        say("API:   \(api.url)")
        say("token: \(token)")
        say("try:   curl -s -H 'Authorization: Bearer \(token)' -H 'Content-Type: application/json' -d '{\"type\":\"weather\",\"payload\":{\"records\":3}}' \(api.url)/v1/jobs")
        say("jobgate is up; press Ctrl-C to stop")
        let apiTask = Task { try await api.run(gracePeriod: .seconds(10)) }
        let stopper = Task {
            for await sig in signals {
                Log.info("shutting down", ["signal": Int(sig)])
                // Stop taking requests first, then let the workers finish or hand back their jobs.
                api.shutdown()
                _ = try? await apiTask.value
                worker.shutdown()
                break
            }
        }
        defer { stopper.cancel() }
        try await workerTask.value
    }
}
