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

    /// Starts `argv` with `environment` added to this process's environment, and the variables
    /// named in `removing` taken out of it.
    public init(_ argv: [String], environment: [String: String] = [:], removing: [String] = []) throws {
        logPath = NSTemporaryDirectory() + "jobgate-test-\(UUID().uuidString.prefix(8)).log"
        var env = ProcessInfo.processInfo.environment
        for k in removing { env[k] = nil }
        for (k, v) in environment { env[k] = v }
        do {
            pid = try Spawn.start(argv, environment: env, outputPath: logPath)
        } catch {
            throw TestSetupError(String(describing: error))
        }
    }

    /// Sends a signal.
    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits for exit off the cooperative pool; returns the exit code (128+signal if killed).
    public func wait() async -> Int32 {
        if let s = lock.withLock({ exitStatus }) { return s }
        let status: Int32 = await withCheckedContinuation { c in
            Thread { [pid] in c.resume(returning: Spawn.wait(pid)) }.start()
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
