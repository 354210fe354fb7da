import Foundation
import JobGateCore
import JobGatePostgres

extension JobGateCLI {
    static let queueCommand = Command(
        name: "queue", summary: "pause or resume a queue, or cap how many of its jobs run at once across all workers",
        usage: "jobgate queue list | queue pause Q | queue resume Q | queue cap Q N | queue uncap Q [--database-url URL]",
        options: []
    ) { args in
        let p = args.positionals
        guard let action = p.first else { throw UsageError("say list, pause Q, resume Q, cap Q N or uncap Q") }
        let want = ["list": 1, "pause": 2, "resume": 2, "cap": 3, "uncap": 2]
        guard let n = want[action] else { throw UsageError("unknown action \"\(action)\": say list, pause, resume, cap or uncap") }
        guard p.count == n else { throw UsageError("\(action) takes \(n - 1) argument(s), got \(p.count - 1)") }
        if n >= 2, !QueueName.isValid(p[1]) { throw UsageError("\"\(p[1])\" is not a queue name (\(QueueName.rule))") }
        var cap: Int?
        if action == "cap" {
            guard let c = Int(p[2]), (0...1_000_000).contains(c) else { throw UsageError("the cap must be a whole number from 0 to 1000000, got \"\(p[2])\"") }
            cap = c
        }
        let pool = try DatabaseLocation.commandPool(args)
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        let by = "jobgate queue \(action)"
        let control: QueueControl
        switch action {
        case "pause": control = try await store.setQueueControl(p[1], paused: true, by: by)
        case "resume": control = try await store.setQueueControl(p[1], paused: false, by: by)
        case "cap": control = try await store.setQueueControl(p[1], cap: .some(cap), by: by)
        case "uncap": control = try await store.setQueueControl(p[1], cap: .some(nil), by: by)
        default:
            print(["QUEUE", "PAUSED", "CAP", "RUNNING", "UPDATED BY"].joined(separator: "\t"))
            for q in try await store.queueControls() {
                print([q.name, q.paused ? "yes" : "no", q.concurrencyCap.map(String.init) ?? "-", String(q.running), q.updatedBy]
                    .joined(separator: "\t"))
            }
            return 0
        }
        printError("queue \(control.name): \(control.paused ? "paused" : "running"), "
                   + (control.concurrencyCap.map { "at most \($0) of its jobs at once" } ?? "no cap"))
        return 0
    }
}
