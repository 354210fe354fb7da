import Foundation
import JobGateCore
import JobGateHTTP

/// `jobgate schedule add|list|rm|enable|disable`: the token's tenant's cron schedules, through
/// the API (`/v1/schedules`, DESIGN.md §14), as `submit` and `status` are.
extension JobGateCLI {
    static let scheduleCommand = Command(
        name: "schedule", summary: "add, list, remove, enable or disable cron schedules through the API",
        usage: "jobgate schedule add NAME CRON TYPE [--timezone ZONE] [--payload JSON|@FILE|-] [--queue Q] [--priority N] [--disabled]"
            + " | schedule list [--json] | schedule rm NAME | schedule enable NAME | schedule disable NAME",
        options: ClientSettings.options + [
            OptionSpec("timezone", value: "ZONE", default: "UTC", help: "add: the IANA time zone the expression is read in, e.g. Europe/Berlin"),
            OptionSpec("payload", value: "JSON", help: "add: each job's payload: JSON text, @file, or - for stdin (default {})"),
            OptionSpec("queue", value: "Q", help: "add: the jobs' queue (default: the type's)"),
            OptionSpec("priority", value: "N", help: "add: the jobs' priority, lower runs first (default 0)"),
            OptionSpec("disabled", help: "add: create it disabled"),
            OptionSpec("json", help: "list: print the API's JSON instead of a table"),
        ]
    ) { args in
        guard let action = args.positionals.first else { throw UsageError("say add, list, rm, enable or disable") }
        let operands = Array(args.positionals.dropFirst())
        func one() throws -> String {
            guard operands.count == 1 else { throw UsageError("\(action) takes one schedule NAME") }
            return try path(operands[0])
        }
        switch action {
        case "add":
            guard operands.count == 3 else {
                throw UsageError("add takes NAME CRON TYPE (quote the expression: '0 3 * * *')")
            }
            var body: [String: Any] = ["name": operands[0], "cron": operands[1], "type": operands[2]]
            if let z = args.string("timezone") { body["timezone"] = z }
            if let p = try ClientSettings.payload(args) { body["payload"] = p }
            if let q = args.string("queue") { body["queue"] = q }
            if args.string("priority") != nil { body["priority"] = try args.int("priority", default: 0, range: -32768...32767) }
            if args.flag("disabled") { body["enabled"] = false }
            return ClientSettings.report(try await ClientSettings.send(args, "POST", "/v1/schedules",
                                                                      body: Array(try JSONSerialization.data(withJSONObject: body))))
        case "list":
            guard operands.isEmpty else { throw UsageError("list takes no arguments") }
            let r = try await ClientSettings.send(args, "GET", "/v1/schedules")
            guard r.status == 200, !args.flag("json"), let list = r.object?["schedules"] as? [[String: Any]] else {
                return ClientSettings.report(r)
            }
            print(["NAME", "CRON", "TIMEZONE", "TYPE", "ENABLED", "NEXT RUN", "LAST RUN", "LAST JOB"].joined(separator: "\t"))
            for s in list {
                let cells = ["name", "cron", "timezone", "type", "enabled", "nextRunAt", "lastRunAt", "lastJobId"].map { key in
                    switch s[key] {
                    case let text as String: text
                    case let flag as Bool: flag ? "yes" : "no"
                    default: "-"
                    }
                }
                print(cells.joined(separator: "\t"))
            }
            return 0
        case "rm":
            let r = try await ClientSettings.send(args, "DELETE", try one())
            if r.status == 204 { JobGateCLI.printError("schedule \(operands[0]) removed") }
            return ClientSettings.report(r)
        case "enable", "disable":
            let body = Array("{\"enabled\":\(action == "enable")}".utf8)
            return ClientSettings.report(try await ClientSettings.send(args, "PUT", try one(), body: body))
        default:
            throw UsageError("unknown action \"\(action)\"; say add, list, rm, enable or disable")
        }
    }

    /// The API path of schedule `name` (a name outside the rule cannot exist: refused here).
    private static func path(_ name: String) throws -> String {
        guard ScheduleName.isValid(name) else { throw UsageError("\"\(name)\" is not a schedule name (\(ScheduleName.rule))") }
        return "/v1/schedules/" + name
    }
}
