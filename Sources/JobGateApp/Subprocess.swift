import Foundation
import JobGateCore

/// Runs a short helper program (initdb, pg_ctl, chown) synchronously with posix_spawn and waitpid.
///
/// Not Foundation's `Process`: its exit notification depends on a SIGCHLD monitor that was seen
/// to miss exits here, leaving `waitUntilExit` hanging on a zombie. Output goes to a file, not a
/// pipe, because `pg_ctl start` leaves a server running that would inherit a pipe's write end.
enum Subprocess {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `argv` (absolute path first); blocks until it exits.
    static func run(_ argv: [String]) throws -> Result {
        let outPath = NSTemporaryDirectory() + "jobgate-sub-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(outPath) }
        let pid: pid_t
        do {
            pid = try Spawn.start(argv, outputPath: outPath)
        } catch {
            throw RuntimeFailure(String(describing: error))
        }
        let status = Spawn.wait(pid)
        return Result(status: status, output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }
}
