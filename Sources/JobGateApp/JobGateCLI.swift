import Foundation
import JobGateCore

/// The `jobgate` command line: subcommands, each with `--help`.
/// Exit codes: 0 ok, 1 runtime failure, 2 usage error (DESIGN.md §2).
public enum JobGateCLI {
    /// The version printed by `jobgate version` and recorded in `workers`.
    public static let version = "0.1.0"

    struct Command: Sendable {
        let name: String
        let summary: String
        let usage: String
        let options: [OptionSpec]
        let run: @Sendable (Arguments) async throws -> Int32
    }

    /// Where the database is and how it is reached; every command takes them.
    static let databaseOptions = [
        OptionSpec("database-url", value: "URL", env: "JOBGATE_DATABASE_URL",
                   help: "libpq URI or conninfo; when unset, PGHOST/PGDATABASE apply if set"),
        OptionSpec("pgbouncer", env: "JOBGATE_PGBOUNCER",
                   help: "--database-url is a PgBouncer in transaction pooling mode: no named prepared statements, and no LISTEN on it (workers and API nodes poll, unless --listen-database-url is set)"),
        OptionSpec("listen-database-url", value: "URL", env: "JOBGATE_LISTEN_DATABASE_URL",
                   help: "a direct connection for LISTEN (instant wake-ups behind --pgbouncer; default: --database-url)"),
        OptionSpec("read-database-url", value: "URL", env: "JOBGATE_READ_DATABASE_URL",
                   help: "a read replica (standby) for the API's status, listings and events, the dashboard and reports; submits, claims and completions stay on --database-url (default: none)"),
    ]

    static var commands: [Command] {
        [upCommand, serveCommand, workerCommand, migrateCommand, typesCommand, queueCommand, tenantCommand, tokenCommand, submitCommand, statusCommand,
         cancelCommand, retryCommand, scheduleCommand, reportCommand, pruneCommand, benchCommand, versionCommand]
    }

    /// Runs the command line `args` (including the program name) and returns the exit code.
    public static func main(_ args: [String]) async -> Int32 {
        let rest = Array(args.dropFirst())
        guard let name = rest.first, name != "--help", name != "-h", name != "help" else {
            if rest.count >= 2, let c = commands.first(where: { $0.name == rest[1] }) {
                print(help(for: c))
                return 0
            }
            print(overview())
            return rest.isEmpty ? 2 : 0
        }
        guard let command = commands.first(where: { $0.name == name }) else {
            printError("jobgate: unknown command \"\(name)\"\n\n" + overview())
            return 2
        }
        let commandArgs = Array(rest.dropFirst())
        if commandArgs.contains("--help") || commandArgs.contains("-h") {
            print(help(for: command))
            return 0
        }
        do {
            let parsed = try Arguments(commandArgs, options: command.options + databaseOptions)
            return try await command.run(parsed)
        } catch let e as UsageError {
            printError("jobgate \(command.name): \(e.description)\nusage: \(command.usage)\nsee: jobgate \(command.name) --help")
            return 2
        } catch let e as RuntimeFailure {
            printError("jobgate \(command.name): \(e.description)")
            return 1
        } catch {
            printError("jobgate \(command.name): \(describe(error))")
            return 1
        }
    }

    static func overview() -> String {
        var s = "jobgate \(version): a PostgreSQL-backed durable job platform\n\nusage: jobgate <command> [options]\n\ncommands:\n"
        for c in commands { s += "  " + c.name.padding(toLength: 10, withPad: " ", startingAt: 0) + c.summary + "\n" }
        s += "\nRun `jobgate <command> --help` for a command's options."
        return s
    }

    static func help(for c: Command) -> String {
        var s = "\(c.summary)\n\nusage: \(c.usage)\n\noptions:\n"
        for o in c.options + databaseOptions {
            var left = "  --\(o.name)"
            if let v = o.valueName { left += " \(v)" }
            var line = left.padding(toLength: max(28, left.count + 2), withPad: " ", startingAt: 0) + o.help
            if let env = o.environment { line += " [env \(env)]" }
            if let d = o.defaultText { line += " (default \(d))" }
            s += line + "\n"
        }
        return s
    }

    /// Writes a line to stdout at once (print is block-buffered when stdout is a file or pipe,
    /// and `up` prints its URL and token for whoever reads its output while it runs).
    static func say(_ s: String) {
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }

    static func printError(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    /// A one-line description of an error for the operator, with server detail where it helps.
    static func describe(_ error: any Error) -> String {
        if let pg = error as? JobGatePostgresErrorDescribing { return pg.operatorDescription }
        return String(describing: error)
    }

    static let versionCommand = Command(
        name: "version", summary: "print the version", usage: "jobgate version", options: []
    ) { _ in
        print("jobgate \(version)")
        return 0
    }
}
