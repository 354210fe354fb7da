import Foundation
@testable import JobGateApp
import Testing

/// The command line's stable surface (DESIGN.md §2): a flag beats its `JOBGATE_*` variable,
/// which beats the default; mistakes are usage errors (exit 2), not guesses.
@Suite struct ArgumentsTests {
    private let options = [
        OptionSpec("concurrency", value: "N", env: "JOBGATE_CONCURRENCY", default: "16", help: "slots"),
        OptionSpec("queues", value: "a,b", env: "JOBGATE_QUEUES", help: "queues"),
        OptionSpec("lease", value: "DURATION", env: "JOBGATE_LEASE", help: "lease"),
        OptionSpec("json", help: "a flag"),
    ]

    @Test func aFlagBeatsItsVariableWhichBeatsTheDefault() throws {
        let env = ["JOBGATE_CONCURRENCY": "8", "JOBGATE_QUEUES": "a,b", "JOBGATE_LEASE": ""]
        let flagged = try Arguments(["--concurrency", "4", "--queues=c", "pos"], options: options, environment: env)
        #expect(try flagged.int("concurrency", default: 16) == 4)
        #expect(flagged.string("queues") == "c")
        #expect(flagged.positionals == ["pos"])
        let fromEnv = try Arguments([], options: options, environment: env)
        #expect(try fromEnv.int("concurrency", default: 16) == 8)
        #expect(fromEnv.string("queues") == "a,b")
        // An empty variable counts as unset: the default applies.
        #expect(try fromEnv.duration("lease", default: .seconds(30)) == .seconds(30))
        let defaults = try Arguments([], options: options, environment: [:])
        #expect(try defaults.int("concurrency", default: 16) == 16)
        #expect(defaults.string("queues") == nil && !defaults.flag("json"))
        #expect(try Arguments(["--json"], options: options, environment: [:]).flag("json"))
        #expect(try Arguments(["--lease", "15m"], options: options, environment: [:]).duration("lease", default: .zero) == .seconds(900))
    }

    @Test func mistakesAreUsageErrors() throws {
        for bad in [["--nope"], ["-x"], ["--concurrency"], ["--json=yes"]] {
            #expect(throws: UsageError.self, "\(bad)") { try Arguments(bad, options: options, environment: [:]) }
        }
        let env = ["JOBGATE_CONCURRENCY": "many"]
        #expect(throws: UsageError.self) { try Arguments([], options: options, environment: env).int("concurrency", default: 16) }
        #expect(throws: UsageError.self) { try Arguments(["--concurrency", "0"], options: options, environment: [:]).int("concurrency", default: 16, range: 1...100) }
        #expect(throws: UsageError.self) { try Arguments(["--lease", "soon"], options: options, environment: [:]).duration("lease", default: .zero) }
        // After --, everything is positional.
        #expect(try Arguments(["--", "--json"], options: options, environment: [:]).positionals == ["--json"])
    }
}
