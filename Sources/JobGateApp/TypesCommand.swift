import Foundation
import JobGateCore
import JobGatePostgres
import JobGateWorker

extension JobGateCLI {
    static let typesCommand = Command(
        name: "types", summary: "list job types, or write a job-types file's to the database",
        usage: "jobgate types list | types apply FILE [--dry-run] [--database-url URL]",
        options: [OptionSpec("dry-run", help: "apply: say what would change, change nothing")]
    ) { args in
        let pool = try DatabaseLocation.commandPool(args)
        defer { pool.shutdown() }
        guard let action = args.positionals.first else { throw UsageError("say list or apply FILE") }
        let store = JobTypeStore(pool: pool)
        switch action {
        case "list":
            guard args.positionals.count == 1 else { throw UsageError("unexpected argument \(args.positionals[1])") }
            print(["TYPE", "QUEUE", "ATTEMPTS", "TIMEOUT", "BACKOFF"].joined(separator: "\t"))
            for (name, s) in try await store.all().sorted(by: { $0.key < $1.key }) {
                print(([name] + describe(s).map(\.1)).joined(separator: "\t"))
            }
        case "apply":
            guard args.positionals.count == 2 else { throw UsageError("apply takes one FILE") }
            let path = args.positionals[1]
            let specs: [String: CommandSpec]
            do {
                specs = try JobTypesConfig.load(path: path)
            } catch {
                throw UsageError("\(error)")
            }
            // As the table holds them: a type that names no queue goes to `default`.
            let wanted = specs.mapValues { spec in
                var s = spec.settings
                s.queue = s.queue ?? "default"
                return s
            }
            if args.flag("dry-run") {
                let now = try await store.all()
                let changes = wanted.filter { now[$0.key] != $0.value }.sorted { $0.key < $1.key }
                for (name, s) in changes { printChange(name, before: now[name], after: s) }
                printError("jobgate types apply: \(changes.count) type(s) would change (dry run)")
                return 0
            }
            let changes = try await store.apply(wanted, by: "jobgate types apply")
            for c in changes { printChange(c.name, before: c.before, after: c.after) }
            printError("jobgate types apply: \(changes.count) type(s) changed, \(wanted.count - changes.count) already as in \(path)")
        default:
            throw UsageError("unknown action \"\(action)\": say list or apply FILE")
        }
        return 0
    }

    /// A type's settings as (field, value) pairs, in the order `types list` prints them.
    private static func describe(_ s: JobTypeSettings) -> [(String, String)] {
        [("queue", s.queue ?? "default"), ("maxAttempts", String(s.maxAttempts)), ("timeoutSeconds", "\(s.timeoutSeconds)s"),
         ("backoff", "\(formatSeconds(s.retry.baseSeconds))..\(formatSeconds(s.retry.capSeconds))")]
    }

    private static func formatSeconds(_ x: Double) -> String {
        x == x.rounded() ? "\(Int(x))s" : "\(x)s"
    }

    /// `+ name queue=…` for an added type, `~ name field: old -> new` for each changed field.
    private static func printChange(_ name: String, before: JobTypeSettings?, after: JobTypeSettings) {
        guard let before else {
            print("+ \(name) " + describe(after).map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            return
        }
        let changed = zip(describe(before), describe(after)).filter { $0.0.1 != $0.1.1 }
        print("~ \(name) " + changed.map { "\($0.0.0): \($0.0.1) -> \($0.1.1)" }.joined(separator: ", "))
    }
}
