import Foundation
import JobGateCore
import JobGatePostgres

extension JobGateCLI {
    static let queueCommand = Command(
        name: "queue", summary: "list queues, pause or resume one, or cap how many of its jobs run at once across all workers",
        usage: "jobgate queue list | queue pause Q | queue resume Q | queue set Q --concurrency N|none [--database-url URL]",
        options: [OptionSpec("concurrency", value: "N|none", help: "set: at most N of the queue's jobs run at once on all workers; none: no cap")]
    ) { args in
        let (action, p) = try args.action(["list": 1, "pause": 2, "resume": 2, "set": 2],
                                          say: "list, pause Q, resume Q or set Q --concurrency N|none")
        if p.count >= 2, !QueueName.isValid(p[1]) { throw UsageError("\"\(p[1])\" is not a queue name (\(QueueName.rule))") }
        let concurrency = args.string("concurrency")
        guard (action == "set") == (concurrency != nil) else {
            throw UsageError(action == "set" ? "set needs --concurrency N or --concurrency none" : "--concurrency goes with set")
        }
        var cap: Int?
        if let c = concurrency, c != "none" {
            guard let v = Int(c), (0...1_000_000).contains(v) else {
                throw UsageError("--concurrency must be a whole number from 0 to 1000000, or none, got \"\(c)\"")
            }
            cap = v
        }
        let pool = try DatabaseLocation.commandPool(args)
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        let by = "jobgate queue \(action)"
        let control: QueueControl
        switch action {
        case "pause": control = try await store.setQueueControl(p[1], paused: true, by: by)
        case "resume": control = try await store.setQueueControl(p[1], paused: false, by: by)
        case "set": control = try await store.setQueueControl(p[1], cap: .some(cap), by: by)
        default:
            print(["QUEUE", "PAUSED", "CONCURRENCY", "READY", "RUNNING", "OLDEST READY", "UPDATED BY"].joined(separator: "\t"))
            for q in try await store.queues() {
                let c = q.control
                print([c.name, c.paused ? "yes" : "no", c.concurrencyCap.map(String.init) ?? "-", String(q.ready), String(c.running),
                       String(format: "%.1fs", q.oldestReadySeconds), q.hasRow ? c.updatedBy : "-"].joined(separator: "\t"))
            }
            return 0
        }
        printError("queue \(control.name): \(control.paused ? "paused" : "running"), "
                   + (control.concurrencyCap.map { "at most \($0) of its jobs at once" } ?? "no cap"))
        return 0
    }
}
