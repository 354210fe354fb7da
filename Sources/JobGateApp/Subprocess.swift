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

    /// Runs `argv` (absolute path first) with stdin from /dev/null; blocks until it exits.
    static func run(_ argv: [String]) throws -> Result {
        let outPath = NSTemporaryDirectory() + "jobgate-sub-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // A server started through pg_ctl must not keep any descriptor of ours open.
        Spawn.closeDescriptors(from: 3, in: &actions)
        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        defer { posix_spawnattr_destroy(&attrs) }
        // The child starts with default signal handling even if we ignore SIGPIPE/SIGINT.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attrs, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attrs, &noMask)
        posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attrs, &cargs, environ)
        guard rc == 0 else {
            throw RuntimeFailure("cannot run \(argv[0]): \(String(cString: strerror(rc)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw RuntimeFailure("waitpid failed for \(argv[0]): \(String(cString: strerror(errno)))") }
        }
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        // WIFEXITED/WEXITSTATUS are macros: decode the status word by hand.
        let exited = status & 0x7f == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }
}
