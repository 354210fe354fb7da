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

    /// Starts `argv` (an absolute path first) with stdin from /dev/null and stdout and stderr
    /// appended to `outputPath`; no other descriptor is inherited and signals start at their
    /// defaults. `environment` nil means this process's environment. Returns the child's pid.
    public static func start(_ argv: [String], environment: [String: String]? = nil, outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeDescriptors(from: 3, in: &actions)
        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        defer { posix_spawnattr_destroy(&attrs) }
        // The child starts with default signal handling even if we ignore SIGPIPE/SIGINT/SIGTERM.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attrs, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attrs, &noMask)
        posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let env = environment ?? ProcessInfo.processInfo.environment
        let cenv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cargs.forEach { free($0) }; cenv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attrs, cargs, cenv)
        guard rc == 0 else { throw Failure(description: "cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Waits for `pid` to exit (blocking; call from a thread that may block). Returns its exit
    /// code, or 128 + the signal that killed it.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        // WIFEXITED/WEXITSTATUS are macros: decode the status word by hand.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
