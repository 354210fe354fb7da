import Foundation
import JobGateSystem
import Synchronization
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

    /// Sends a signal, unless it has already been reaped (its pid may belong to another process by then).
    public func signal(_ sig: Int32) {
        lock.withLock {
            if exitStatus == nil { kill(pid, sig) }
        }
    }

    /// Waits for exit off the cooperative pool; returns the exit code (128+signal if killed).
    /// A process still running after `timeout` is killed (so the caller sees 128+9 and fails)
    /// rather than hanging the test run.
    public func wait(timeout: Duration = .seconds(120)) async -> Int32 {
        if let s = lock.withLock({ exitStatus }) { return s }
        let watchdog = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.signal(SIGKILL)
        }
        defer { watchdog.cancel() }
        let status = (try? await onOwnThread { [pid] in Spawn.wait(pid) }) ?? -1
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

/// TCP ports for test servers: outside the kernel's ephemeral range (32768-60999 here), where
/// outgoing sockets and port-0 listeners take theirs, and outside the throwaway PostgreSQL's
/// 20000-39999; each checked free by binding it, and never handed out twice in one process.
public enum TestPorts {
    private static let next = Mutex(Int.random(in: 0..<5000))

    /// A port in 10000-19999 that nothing listens on right now.
    public static func unused() -> Int {
        for _ in 0..<200 {
            let port = next.withLock { n -> Int in
                n = (n + 1 + Int.random(in: 0..<7)) % 10_000
                return 10_000 + n
            }
            if bindable(port) { return port }
        }
        return 10_000 + Int.random(in: 0..<10_000)
    }

    private static func bindable(_ port: Int) -> Bool { loopback(port, bind) }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool { loopback(port, connect) }

    /// Calls `bind` or `connect` with a fresh TCP socket and 127.0.0.1:`port`; true on success.
    private static func loopback(_ port: Int, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
