import Foundation

/// A command-line option: `--name VALUE` or `--name=VALUE`, or a boolean `--name`.
struct OptionSpec: Sendable {
    /// The name without dashes.
    let name: String
    /// The placeholder for its value, or nil for a boolean flag.
    let valueName: String?
    /// The environment variable that supplies it when the flag is absent.
    let environment: String?
    /// Shown in `--help`.
    let help: String
    /// Shown in `--help`; applied by the command.
    let defaultText: String?

    init(_ name: String, value: String? = nil, env: String? = nil, default defaultText: String? = nil, help: String) {
        self.name = name
        self.valueName = value
        self.environment = env
        self.help = help
        self.defaultText = defaultText
    }
}

/// Wrong usage: printed with the command's usage, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A failure at run time with a one-line message for the operator, exit code 1.
struct RuntimeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Parsed arguments of one subcommand, with flag > environment > default resolution.
struct Arguments: Sendable {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    /// Positional arguments, in order.
    private(set) var positionals: [String] = []
    private let specs: [String: OptionSpec]
    private let environment: [String: String]

    /// Parses `args` (after the subcommand) against `options`.
    init(_ args: [String], options: [OptionSpec], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.specs = Dictionary(uniqueKeysWithValues: options.map { ($0.name, $0) })
        self.environment = environment
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let a = args[i]
            i += 1
            if onlyPositionals || !a.hasPrefix("--") || a == "-" {
                if !onlyPositionals, a.hasPrefix("-"), a != "-" { throw UsageError("unknown option \(a)") }
                positionals.append(a)
                continue
            }
            if a == "--" { onlyPositionals = true; continue }
            var name = String(a.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = specs[name] else { throw UsageError("unknown option --\(name)") }
            if spec.valueName == nil {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                flags.insert(name)
            } else if let inline {
                values[name] = inline
            } else {
                guard i < args.count else { throw UsageError("--\(name) needs a value (\(spec.valueName!))") }
                values[name] = args[i]
                i += 1
            }
        }
        // A flag with an environment variable is also set by 1/true/yes/on there; anything but
        // those and 0/false/no/off/empty is a mistake worth stopping for.
        for spec in options where spec.valueName == nil {
            guard let env = spec.environment, let text = environment[env]?.lowercased() else { continue }
            if ["1", "true", "yes", "on"].contains(text) {
                flags.insert(spec.name)
            } else if !["0", "false", "no", "off", ""].contains(text) {
                throw UsageError("\(env)=\"\(text)\": use 1 or 0 (or true/false)")
            }
        }
    }

    /// True when the boolean flag was given (on the command line or in its environment variable).
    func flag(_ name: String) -> Bool { flags.contains(name) }

    /// The option's value from the flag, else its environment variable, else nil.
    func string(_ name: String) -> String? {
        if let v = values[name] { return v }
        if let env = specs[name]?.environment, let v = environment[env], !v.isEmpty { return v }
        return nil
    }

    /// The option's value, or `fallback`.
    func string(_ name: String, default fallback: String) -> String { string(name) ?? fallback }

    /// An integer option within `range`, or `fallback` when absent.
    func int(_ name: String, default fallback: Int, range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        guard let s = string(name) else { return fallback }
        guard let v = Int(s), range.contains(v) else {
            throw UsageError("--\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(s)\"")
        }
        return v
    }

    /// A duration option such as `90s`, `15m`, `24h`, `7d` (plain numbers are seconds).
    func duration(_ name: String, default fallback: Duration) throws -> Duration {
        guard let s = string(name) else { return fallback }
        guard let d = parseDuration(s) else {
            throw UsageError("--\(name) must be a duration like 30s, 15m, 24h or 7d, got \"\(s)\"")
        }
        return d
    }

    /// A comma-separated list; empty elements dropped.
    func list(_ name: String) -> [String]? {
        string(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }
}

/// Parses `30s`, `15m`, `24h`, `7d` or a plain number of seconds.
func parseDuration(_ s: String) -> Duration? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    var number = Substring(s)
    var scale = 1.0
    if let last = s.last, let u = units[last] {
        scale = u
        number = s.dropLast()
    }
    guard let v = Double(number), v >= 0, v.isFinite else { return nil }
    return .milliseconds(Int64(v * scale * 1000))
}

extension Arguments {
    /// The action word of a command with actions (`queue pause Q`, `tenant set NAME`) and its
    /// positionals, checked against `arity` (positionals each action takes, the word included);
    /// `say` lists the actions for the usage error.
    func action(_ arity: [String: Int], say: String) throws -> (name: String, positionals: [String]) {
        guard let action = positionals.first else { throw UsageError("say \(say)") }
        guard let n = arity[action] else { throw UsageError("unknown action \"\(action)\": say \(say)") }
        guard positionals.count == n else { throw UsageError("\(action) takes \(n - 1) argument(s), got \(positionals.count - 1)") }
        return (action, positionals)
    }
}
