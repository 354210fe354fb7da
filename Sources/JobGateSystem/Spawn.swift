import Foundation

/// Helpers for `posix_spawn` shared by everything that starts processes
/// (command jobs, initdb/pg_ctl, test children).
public enum Spawn {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), Linux's stand-in for
    /// `POSIX_SPAWN_CLOEXEC_DEFAULT`. Looked up at run time because Swift's Glibc module
    /// does not import GNU extensions.
    private static let addCloseFromFunction: CloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Whether `closeDescriptors(from:in:)` can do its work on this system.
    public static var canCloseDescriptors: Bool { addCloseFromFunction != nil }

    /// Makes the child close every descriptor from `fd` up, so it inherits nothing by
    /// accident (a pipe another part of the process holds, a server socket). Without it, a
    /// long-lived child such as a PostgreSQL server could keep a parent's pipe open for ever.
    @discardableResult
    public static func closeDescriptors(from fd: Int32, in actions: UnsafeMutablePointer<posix_spawn_file_actions_t>) -> Bool {
        guard let f = addCloseFromFunction else { return false }
        return f(actions, fd) == 0
    }

    /// Why a process could not be started.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Signals a child starts with at their default handling, whatever this process does with
    /// them (ignores SIGPIPE, catches SIGTERM through libdispatch, …).
    public static let signalsReset: [Int32] = [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ]

    /// Where one of a child's standard streams comes from or goes to.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A descriptor of this process, duplicated onto the stream.
        case descriptor(Int32)
        /// A file opened for appending (created with mode 0600).
        case appending(String)
    }

    /// Starts `path` with `argv` (argv[0] included), exactly `environment`, and the three
    /// standard streams as given; no other descriptor is inherited but those of `extra`, each
    /// `source` of this process duplicated onto `target` in the child (targets from 3 up; every
    /// source above every target, so no duplication clobbers a source), the signal mask is empty
    /// and `signalsReset` are at their defaults. `newProcessGroup` puts the child at the head of
    /// a group of its own (so a timeout can kill the whole group). The one `posix_spawn` of the
    /// code base. Returns the pid, or the `errno` posix_spawn gave.
    public static func spawn(path: String, argv: [String], environment: [String: String],
                             stdin: Stream, stdout: Stream, stderr: Stream, newProcessGroup: Bool = false,
                             extra: [(source: Int32, target: Int32)] = []) -> Result<pid_t, Errno> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var opened: [String: Int32] = [:]
        for (fd, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch stream {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let from): posix_spawn_file_actions_adddup2(&actions, from, fd)
            case .appending(let file):
                // The same file for stdout and stderr shares one open (one offset, no overwriting).
                if let first = opened[file] {
                    posix_spawn_file_actions_adddup2(&actions, first, fd)
                } else {
                    posix_spawn_file_actions_addopen(&actions, fd, file, O_WRONLY | O_CREAT | O_APPEND, 0o600)
                    opened[file] = fd
                }
            }
        }
        for (source, target) in extra {
            precondition(target > 2 && extra.allSatisfy { $0.target < source }, "extra descriptors must sit above their targets")
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        // Other threads may open fds without O_CLOEXEC (libraries do); none of them reach the child.
        closeDescriptors(from: (extra.map(\.target).max() ?? 2) + 1, in: &actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in signalsReset { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in cArgv + cEnv { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnv)
        return rc == 0 ? .success(pid) : .failure(Errno(rc))
    }

    /// Starts `argv` (an absolute path first) with stdin from /dev/null and stdout and stderr
    /// appended to `outputPath` (see `spawn`). `environment` nil means this process's
    /// environment. Returns the child's pid.
    public static func start(_ argv: [String], environment: [String: String]? = nil, outputPath: String) throws -> pid_t {
        let result = spawn(path: argv[0], argv: argv, environment: environment ?? ProcessInfo.processInfo.environment,
                           stdin: .null, stdout: .appending(outputPath), stderr: .appending(outputPath))
        switch result {
        case .success(let pid): return pid
        case .failure(let e): throw Failure(description: "cannot run \(argv[0]): \(e)")
        }
    }

    /// Waits for `pid` to exit (blocking; call from a thread that may block). Returns its exit
    /// code, or 128 + the signal that killed it.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        guard retryingEINTR({ waitpid(pid, &status, 0) }) >= 0 else { return -1 }
        // WIFEXITED/WEXITSTATUS are macros: decode the status word by hand.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// What `run` saw: the exit code (128 + signal when killed) and stdout and stderr together.
    public struct Finished: Sendable {
        public var status: Int32
        public var output: String
    }

    /// Runs a short helper program (initdb, pg_ctl, psql, pgbench) to the end: `argv` with an
    /// absolute path first; blocks until it exits (call from a thread that may block).
    ///
    /// Not Foundation's `Process`: its exit notification depends on a SIGCHLD monitor that was
    /// seen to miss exits here, leaving `waitUntilExit` hanging on a zombie. Output goes to a
    /// file, not a pipe, because `pg_ctl start` leaves a server running that would inherit a
    /// pipe's write end.
    public static func run(_ argv: [String]) throws -> Finished {
        let outPath = NSTemporaryDirectory() + "jobgate-sub-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(outPath) }
        let pid = try start(argv, outputPath: outPath)
        let status = wait(pid)
        return Finished(status: status, output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }
}
