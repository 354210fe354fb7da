import Foundation
import Glibc
import JobGateCore
import JobGateSystem

/// What one run of a command produced.
public enum CommandOutcome: Sendable, Equatable {
    /// The process exited 0; `output` is everything it wrote to stdout.
    case success(output: [UInt8], contentType: String)
    /// The attempt failed; see `CommandFailure.retryable`.
    case failure(CommandFailure)
}

/// Why a command's attempt failed. `message` is meant for the job's `last_error`.
public struct CommandFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What happened to the process.
    public enum Reason: Sendable, Equatable {
        /// It exited with a non-zero status.
        case exited(code: Int32)
        /// It was killed by a signal we did not send.
        case signaled(signal: Int32)
        /// It ran past its timeout; its process group was killed.
        case timedOut
        /// The job was cancelled; its process group was killed.
        case cancelled
        /// It wrote more than the output cap to stdout; its process group was killed.
        case outputTooLarge(limit: Int)
        /// It could not be started (e.g. the program does not exist).
        case spawnFailed(errno: Int32)
    }

    /// What happened.
    public var reason: Reason
    /// Whether another attempt may succeed. False for exit 65 (EX_DATAERR), cancellation and an output over the cap.
    public var retryable: Bool
    /// A one-paragraph account including the exit code or signal and the tail of stderr.
    public var message: String
    /// The last bytes the process wrote to stderr, decoded as UTF-8.
    public var stderrTail: String

    /// The exit status, if the process exited on its own.
    public var exitCode: Int32? { if case .exited(let c) = reason { c } else { nil } }
    /// The signal that killed it, if one it was not sent by us.
    public var signal: Int32? { if case .signaled(let s) = reason { s } else { nil } }
    /// Whether the attempt ran out of time.
    public var timedOut: Bool { reason == .timedOut }
    /// Whether the attempt was cancelled.
    public var cancelled: Bool { reason == .cancelled }

    /// The message.
    public var description: String { message }
}

/// Runs one external process for a job attempt (DESIGN §5, command types).
///
/// The child is a process-group leader (`posix_spawn` with `POSIX_SPAWN_SETPGROUP`), so a timeout,
/// a cancellation or an oversized output kills everything it started: SIGTERM to the group, then
/// SIGKILL after a grace period. When the child itself exits, whatever it left running in its group
/// is killed too, so no job leaves orphans behind. All waiting happens on a thread of its own,
/// never on Swift's cooperative pool.
public enum CommandRunner {
    /// Exit status meaning "the input is bad": retrying cannot help.
    public static let exitDataError: Int32 = 65
    /// How long after SIGTERM the group gets SIGKILL, unless told otherwise.
    public static let defaultKillGrace: Duration = .seconds(2)

    /// Runs `spec.argv` with `stdin` as its standard input.
    ///
    /// - Parameters:
    ///   - spec: the program, its environment and output content type (its timeout and cap are
    ///     not read here: pass them, so a job's own `timeout_seconds` can win).
    ///   - stdin: written to the process, then closed. A process that does not read it is fine.
    ///   - extraEnvironment: set over `spec.environment` (the worker's `JOBGATE_JOB_ID`,
    ///     `JOBGATE_JOB_TYPE`, `JOBGATE_ATTEMPT`).
    ///   - timeout: the attempt's deadline, from now.
    ///   - outputCap: the most stdout bytes accepted.
    ///   - stderrTailBytes: how much of the end of stderr to keep for the error message.
    ///   - killGrace: how long the group has between SIGTERM and SIGKILL.
    ///   - isCancelled: polled about every 100 ms; true kills the process group. Cancelling the
    ///     calling task does the same.
    ///   - onProgress: when set, the child gets a pipe on descriptor 3, named in
    ///     `JOBGATE_PROGRESS_FD`, for `progress DONE[/TOTAL] [message]` lines (DESIGN.md §14); called
    ///     on the supervising thread with the newest valid report of each read.
    ///   - onMalformedProgress: called once at the end with the number of lines on that pipe that
    ///     were not valid progress lines, and the first of them (cut), when there were any.
    public static func run(
        _ spec: CommandSpec,
        stdin: [UInt8],
        extraEnvironment: [String: String] = [:],
        timeout: Duration,
        outputCap: Int,
        stderrTailBytes: Int = 4096,
        killGrace: Duration = defaultKillGrace,
        isCancelled: @escaping @Sendable () -> Bool = { false },
        onProgress: (@Sendable (ProgressReport) -> Void)? = nil,
        onMalformedProgress: (@Sendable (_ lines: Int, _ first: String) -> Void)? = nil
    ) async -> CommandOutcome {
        var extra = extraEnvironment
        if onProgress != nil { extra[ProgressLine.environmentVariable] = String(ProgressLine.childDescriptor) }
        let job = Supervisor.Job(
            argv: spec.argv,
            environment: environment(spec: spec.environment, extra: extra),
            contentType: spec.contentType,
            stdin: stdin,
            timeout: timeout,
            outputCap: max(0, outputCap),
            stderrTailBytes: max(0, stderrTailBytes),
            killGrace: killGrace,
            onProgress: onProgress,
            onMalformedProgress: onMalformedProgress
        )
        return await onOwnThread(name: "jobgate-command", cancellable: { taskCancelled in
            Supervisor.run(job, isCancelled: { taskCancelled.isSet || isCancelled() })
        })
    }

    /// Variables the child inherits from the worker; everything else it gets is explicit.
    static let inheritedVariables = ["PATH", "HOME", "LANG"]

    /// The child's environment: a minimal inherited set, then the spec's, then the worker's.
    static func environment(spec: [String: String], extra: [String: String]) -> [String: String] {
        var env: [String: String] = [:]
        let current = ProcessInfo.processInfo.environment
        for name in inheritedVariables {
            if let value = current[name] { env[name] = value }
        }
        if env["PATH"] == nil { env["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        env.merge(spec) { _, new in new }
        env.merge(extra) { _, new in new }
        return env
    }
}

/// The blocking half of `CommandRunner`: spawns the process and supervises it on the calling thread.
enum Supervisor {
    /// Everything a run needs, resolved on the caller's side.
    struct Job: Sendable {
        var argv: [String]
        var environment: [String: String]
        var contentType: String
        var stdin: [UInt8]
        var timeout: Duration
        var outputCap: Int
        var stderrTailBytes: Int
        var killGrace: Duration
        /// Where a progress pipe's reports go; nil: the child gets no progress pipe.
        var onProgress: (@Sendable (ProgressReport) -> Void)?
        var onMalformedProgress: (@Sendable (Int, String) -> Void)?
    }

    /// How long to keep reading pipes after the child exited and its group was killed; only a
    /// process that left the group (setsid) can hold them open longer, and we do not wait for it.
    static let drainGrace: Duration = .seconds(1)

    /// Ignored process-wide so that writing to a child that closed its stdin is an EPIPE, not a crash.
    static let ignoreSIGPIPE: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// Linux's `pipe2`, hidden from Swift for the same reason. With it, a pipe is close-on-exec
    /// from birth, so a process another thread spawns at that moment cannot inherit it.
    static let pipe2: (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32).self)
    }()

    static func run(_ job: Job, isCancelled: () -> Bool) -> CommandOutcome {
        _ = ignoreSIGPIPE
        let name = job.argv.first ?? ""
        if isCancelled() {
            return failure(.cancelled, retryable: false, head: "command \"\(name)\" was cancelled before it started", tail: "")
        }
        guard let path = resolveExecutable(name, searchPath: job.environment["PATH"]) else {
            return failure(.spawnFailed(errno: ENOENT), retryable: true,
                           head: "cannot start command \"\(name)\": not found in PATH", tail: "")
        }
        var opened: [Int32] = []
        defer { for fd in opened where fd >= 0 { closeDescriptor(fd) } }
        let pipes: (stdin: (read: Int32, write: Int32), stdout: (read: Int32, write: Int32), stderr: (read: Int32, write: Int32))
        var progress: (read: Int32, write: Int32)?
        do {
            let i = try makePipe(); opened += [i.read, i.write]
            let o = try makePipe(); opened += [o.read, o.write]
            let e = try makePipe(); opened += [e.read, e.write]
            pipes = (i, o, e)
            if job.onProgress != nil {
                // Above the child's descriptor 3, which it is duplicated onto.
                let p = try makePipe(lowest: ProgressLine.childDescriptor + 1); opened += [p.read, p.write]
                progress = p
            }
        } catch {
            return failure(.spawnFailed(errno: error.code), retryable: true,
                           head: "cannot start command \"\(name)\": pipe: \(errorText(error.code))", tail: "")
        }
        // In a process group of its own, so a timeout or a cancel kills the command's children too.
        let spawned = Spawn.spawn(path: path, argv: job.argv, environment: job.environment,
                                  stdin: .descriptor(pipes.stdin.read), stdout: .descriptor(pipes.stdout.write),
                                  stderr: .descriptor(pipes.stderr.write), newProcessGroup: true,
                                  extra: progress.map { [(source: $0.write, target: ProgressLine.childDescriptor)] } ?? [])
        // The child has its copies; ours of its ends must go, or we would never see EOF.
        opened = [pipes.stdin.write, pipes.stdout.read, pipes.stderr.read] + (progress.map { [$0.read] } ?? [])
        closeDescriptor(pipes.stdin.read); closeDescriptor(pipes.stdout.write); closeDescriptor(pipes.stderr.write)
        if let progress { closeDescriptor(progress.write) }
        let pid: pid_t
        switch spawned {
        case .success(let p): pid = p
        case .failure(let error):
            return failure(.spawnFailed(errno: error.code), retryable: true,
                           head: "cannot start command \"\(name)\": \(errorText(error.code))", tail: "")
        }
        for fd in opened { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let supervision = Supervision(job: job, pid: pid,
                                      stdin: pipes.stdin.write, stdout: pipes.stdout.read, stderr: pipes.stderr.read,
                                      progress: progress?.read ?? -1)
        opened = []  // the supervision owns and closes them now
        let status = supervision.supervise(isCancelled: isCancelled)
        return supervision.outcome(name: name, status: status)
    }

    /// A close-on-exec pipe whose ends are `lowest` or above (by default not 0, 1 or 2), so the
    /// child's dup2s cannot clobber each other.
    static func makePipe(lowest: Int32 = 3) throws(Errno) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        if let pipe2 {
            guard pipe2(&fds, O_CLOEXEC) == 0 else { throw Errno.current }
        } else {
            guard pipe(&fds) == 0 else { throw Errno.current }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        for i in 0..<2 where fds[i] < lowest {
            let moved = fcntl(fds[i], F_DUPFD_CLOEXEC, lowest)
            let code = errno
            closeDescriptor(fds[i])
            fds[i] = moved
            guard moved >= 0 else {
                if fds[1 - i] >= 0 { closeDescriptor(fds[1 - i]) }
                throw Errno(code)
            }
        }
        return (fds[0], fds[1])
    }

    /// `name` itself if it has a slash, else the first executable file of that name on `searchPath`.
    static func resolveExecutable(_ name: String, searchPath: String?) -> String? {
        if name.isEmpty { return nil }
        if name.contains("/") { return name }
        for dir in (searchPath ?? "").split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    static func failure(_ reason: CommandFailure.Reason, retryable: Bool, head: String, tail: String) -> CommandOutcome {
        .failure(CommandFailure(reason: reason, retryable: retryable,
                                message: tail.isEmpty ? head : "\(head); stderr: \(tail)", stderrTail: tail))
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
