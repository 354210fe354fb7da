import Foundation
import JobGateCore

/// The `jobgate` executable built by `swift build` (scripts/test builds it before testing).
public enum JobGateBinary {
    /// Its path; tests fail loudly if it was not built.
    public static func path() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for candidate in [".build/debug/jobgate", ".build/release/jobgate"] {
            let p = root.appendingPathComponent(candidate).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw TestSetupError("the jobgate executable is not built: run the tests through scripts/test (it runs swift build first)")
    }
}

/// A child process for tests, spawned with posix_spawn; output goes to a log file.
public final class TestProcess: @unchecked Sendable {
    /// Its process id.
    public let pid: pid_t
    /// Where its stdout and stderr go.
    public let logPath: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `argv` with `environment` added to this process's environment.
    public init(_ argv: [String], environment: [String: String] = [:]) throws {
        logPath = NSTemporaryDirectory() + "jobgate-test-\(UUID().uuidString.prefix(8)).log"
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        Spawn.closeDescriptors(from: 3, in: &actions)
        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        defer { posix_spawnattr_destroy(&attrs) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attrs, &defaults)
        posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGDEF))
        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cenv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cargs.forEach { free($0) }; cenv.forEach { free($0) } }
        var p: pid_t = 0
        let rc = posix_spawn(&p, argv[0], &actions, &attrs, cargs, cenv)
        guard rc == 0 else { throw TestSetupError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        pid = p
    }

    /// Sends a signal.
    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits for exit off the cooperative pool; returns the exit code (128+signal if killed).
    public func wait() async -> Int32 {
        if let s = lock.withLock({ exitStatus }) { return s }
        let status: Int32 = await withCheckedContinuation { c in
            Thread { [pid] in
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                c.resume(returning: code)
            }.start()
        }
        lock.withLock { exitStatus = status }
        return status
    }

    /// Everything it printed so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if lock.withLock({ exitStatus }) == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        unlink(logPath)
    }
}
