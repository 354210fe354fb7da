import Foundation
import Glibc
import JobGateCore

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
    public static func run(
        _ spec: CommandSpec,
        stdin: [UInt8],
        extraEnvironment: [String: String] = [:],
        timeout: Duration,
        outputCap: Int,
        stderrTailBytes: Int = 4096,
        killGrace: Duration = defaultKillGrace,
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) async -> CommandOutcome {
        let job = Supervisor.Job(
            argv: spec.argv,
            environment: environment(spec: spec.environment, extra: extraEnvironment),
            contentType: spec.contentType,
            stdin: stdin,
            timeout: timeout,
            outputCap: max(0, outputCap),
            stderrTailBytes: max(0, stderrTailBytes),
            killGrace: killGrace
        )
        let taskCancelled = CancelFlag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<CommandOutcome, Never>) in
                let thread = Thread {
                    let outcome = Supervisor.run(job, isCancelled: { taskCancelled.isSet || isCancelled() })
                    continuation.resume(returning: outcome)
                }
                thread.name = "jobgate-command"
                thread.start()
            }
        } onCancel: {
            taskCancelled.set()
        }
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

/// Set once by the task-cancellation handler, read by the supervising thread.
private final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
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
    }

    /// How long to keep reading pipes after the child exited and its group was killed; only a
    /// process that left the group (setsid) can hold them open longer, and we do not wait for it.
    static let drainGrace: Duration = .seconds(1)

    /// Ignored process-wide so that writing to a child that closed its stdin is an EPIPE, not a crash.
    static let ignoreSIGPIPE: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// Signals a command gets back at their default action: ignored ones would otherwise survive exec.
    static let signalsReset: [Int32] = [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ]

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
        defer { for fd in opened where fd >= 0 { closeFD(fd) } }
        let pipes: (stdin: (read: Int32, write: Int32), stdout: (read: Int32, write: Int32), stderr: (read: Int32, write: Int32))
        do {
            let i = try makePipe(); opened += [i.read, i.write]
            let o = try makePipe(); opened += [o.read, o.write]
            let e = try makePipe(); opened += [e.read, e.write]
            pipes = (i, o, e)
        } catch {
            return failure(.spawnFailed(errno: error.code), retryable: true,
                           head: "cannot start command \"\(name)\": pipe: \(errorText(error.code))", tail: "")
        }
        let spawned = spawn(path: path, argv: job.argv, environment: job.environment,
                            stdin: pipes.stdin.read, stdout: pipes.stdout.write, stderr: pipes.stderr.write)
        // The child has its copies; ours of its ends must go, or we would never see EOF.
        opened = [pipes.stdin.write, pipes.stdout.read, pipes.stderr.read]
        closeFD(pipes.stdin.read); closeFD(pipes.stdout.write); closeFD(pipes.stderr.write)
        let pid: pid_t
        switch spawned {
        case .success(let p): pid = p
        case .failure(let error):
            return failure(.spawnFailed(errno: error.code), retryable: true,
                           head: "cannot start command \"\(name)\": \(errorText(error.code))", tail: "")
        }
        for fd in opened { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let supervision = Supervision(job: job, pid: pid,
                                      stdin: pipes.stdin.write, stdout: pipes.stdout.read, stderr: pipes.stderr.read)
        opened = []  // the supervision owns and closes them now
        let status = supervision.supervise(isCancelled: isCancelled)
        return supervision.outcome(name: name, status: status)
    }

    struct SysError: Error { var code: Int32 }

    /// A close-on-exec pipe whose ends are not 0, 1 or 2, so the child's dup2s cannot clobber each other.
    static func makePipe() throws(SysError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        if let pipe2 {
            guard pipe2(&fds, O_CLOEXEC) == 0 else { throw SysError(code: errno) }
        } else {
            guard pipe(&fds) == 0 else { throw SysError(code: errno) }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        for i in 0..<2 where fds[i] < 3 {
            let moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)
            let code = errno
            closeFD(fds[i])
            fds[i] = moved
            guard moved >= 0 else {
                if fds[1 - i] >= 0 { closeFD(fds[1 - i]) }
                throw SysError(code: code)
            }
        }
        return (fds[0], fds[1])
    }

    /// Starts `path` in a new process group with the pipes as its standard streams.
    static func spawn(path: String, argv: [String], environment: [String: String],
                      stdin: Int32, stdout: Int32, stderr: Int32) -> Result<pid_t, SysError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Other threads may open fds without O_CLOEXEC (libraries do); none of them reach the child.
        Spawn.closeDescriptors(from: 3, in: &actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
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
        return rc == 0 ? .success(pid) : .failure(SysError(code: rc))
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

/// Retries a syscall interrupted by a signal.
@inline(__always)
func retryingEINTR<T: FixedWidthInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// Closes `fd`. Deliberately not retried on EINTR: on Linux the fd is gone even then, and a
/// retry could close a descriptor another thread just opened under the same number.
func closeFD(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// One running child: feeds its stdin, collects stdout and the tail of stderr, enforces the
/// deadline, the cancellation and the output cap, and reaps it. Lives on one thread only.
final class Supervision {
    let job: Supervisor.Job
    let pid: pid_t
    var stdinFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32
    var stdinOffset = 0
    var output: [UInt8] = []
    var outputOverflowed = false
    var stderrTail: [UInt8] = []
    var stderrTruncated = false
    /// Why we are stopping the child, once we are.
    var stopReason: CommandFailure.Reason?
    var termSentAt: ContinuousClock.Instant?
    var killSent = false
    var exitedAt: ContinuousClock.Instant?
    let clock = ContinuousClock()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    init(job: Supervisor.Job, pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32) {
        self.job = job
        self.pid = pid
        self.stdinFD = stdin
        self.stdoutFD = stdout
        self.stderrFD = stderr
        if job.stdin.isEmpty { closeStdin() }
    }

    deinit {
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { closeFD(fd) }
        buffer.deallocate()
    }

    /// Runs until the child has exited and its pipes are drained; returns its wait status, or nil
    /// if someone else reaped it (SIGCHLD ignored process-wide).
    func supervise(isCancelled: () -> Bool) -> Int32? {
        let start = clock.now
        let deadline = start + job.timeout
        var nextCancelCheck = start
        var idleWait: Duration = .milliseconds(1)
        while true {
            let now = clock.now
            if exitedAt == nil, leaderHasExited() {
                exitedAt = now
                // Whatever it left behind in its group goes too. The unreaped leader keeps the
                // group id from being reused, so this cannot hit a stranger.
                signalGroup(SIGKILL)
                closeStdin()
            }
            var wakeAt = now + .milliseconds(100)
            if let exitedAt {
                if stdoutFD < 0 && stderrFD < 0 { break }
                if now - exitedAt >= Supervisor.drainGrace { break }
                wakeAt = min(wakeAt, exitedAt + Supervisor.drainGrace)
            } else {
                if stopReason == nil {
                    if now >= deadline {
                        stopReason = .timedOut
                    } else if now >= nextCancelCheck {
                        if isCancelled() { stopReason = .cancelled }
                        nextCancelCheck = now + .milliseconds(100)
                    }
                }
                if stopReason != nil, termSentAt == nil {
                    signalGroup(SIGTERM)
                    termSentAt = now
                }
                if let termSentAt, !killSent {
                    if now - termSentAt >= job.killGrace {
                        signalGroup(SIGKILL)
                        killSent = true
                    } else {
                        wakeAt = min(wakeAt, termSentAt + job.killGrace)
                    }
                }
                if stopReason == nil { wakeAt = min(wakeAt, deadline, nextCancelCheck) }
            }
            if stdoutFD < 0 && stderrFD < 0 && stdinFD < 0 {
                // Nothing to poll: the child closed its streams but runs on. Check back soon, then less often.
                wakeAt = min(wakeAt, now + idleWait)
                idleWait = min(idleWait * 2, .milliseconds(100))
            }
            pollOnce(until: wakeAt, now: now)
        }
        closeStdin()
        closeOutput(&stdoutFD)
        closeOutput(&stderrFD)
        var status: Int32 = 0
        let reaped = retryingEINTR { waitpid(pid, &status, 0) }
        return reaped == pid ? status : nil
    }

    func pollOnce(until wakeAt: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        var fds: [pollfd] = []
        if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
        if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
        if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
        let remaining = max(.zero, wakeAt - now)
        let (seconds, attoseconds) = remaining.components
        // Round up so we do not spin on a sub-millisecond remainder.
        let milliseconds = Int32(min(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000, 1000))
        let ready = retryingEINTR { poll(&fds, nfds_t(fds.count), milliseconds) }
        guard ready > 0 else { return }
        for entry in fds where entry.revents != 0 {
            if entry.fd == stdinFD {
                if entry.revents & Int16(POLLOUT) != 0 { writeStdin() } else { closeStdin() }
            } else if entry.fd == stdoutFD {
                if drain(stdoutFD, into: { consumeStdout($0) }) { closeOutput(&stdoutFD) }
            } else if entry.fd == stderrFD {
                if drain(stderrFD, into: { consumeStderr($0) }) { closeOutput(&stderrFD) }
            }
        }
    }

    /// Writes as much of the payload as the pipe takes; closes stdin when done or when the child closed it.
    func writeStdin() {
        while stdinFD >= 0 && stdinOffset < job.stdin.count {
            let chunk = min(job.stdin.count - stdinOffset, 64 * 1024)
            let offset = stdinOffset
            let written = job.stdin.withUnsafeBytes { bytes in
                retryingEINTR { Glibc.write(stdinFD, bytes.baseAddress! + offset, chunk) }
            }
            if written > 0 {
                stdinOffset += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                break  // EPIPE: the child does not want the rest, which is its business.
            }
        }
        closeStdin()
    }

    /// Reads what `fd` has (a bounded amount, so a flood cannot starve the deadline check).
    /// Returns true at end of file or on an error.
    func drain(_ fd: Int32, into consume: (UnsafeRawBufferPointer) -> Void) -> Bool {
        for _ in 0..<16 {
            let count = retryingEINTR { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            if count > 0 {
                consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return false
            } else {
                return true
            }
        }
        return false
    }

    func consumeStdout(_ bytes: UnsafeRawBufferPointer) {
        guard !outputOverflowed else { return }
        if output.count + bytes.count > job.outputCap {
            outputOverflowed = true
            output = []
            if stopReason == nil { stopReason = .outputTooLarge(limit: job.outputCap) }
        } else {
            output.append(contentsOf: bytes)
        }
    }

    func consumeStderr(_ bytes: UnsafeRawBufferPointer) {
        let keep = job.stderrTailBytes
        stderrTail.append(contentsOf: bytes)
        // Trim in batches so a chatty stderr costs amortised O(1) per byte.
        if stderrTail.count > 2 * keep + 64 * 1024 {
            stderrTail.removeFirst(stderrTail.count - keep)
            stderrTruncated = true
        }
    }

    /// True once the leader is a zombie (or already gone). WNOWAIT leaves it unreaped, so its pid,
    /// which is also the group id, stays ours until `waitpid`.
    func leaderHasExited() -> Bool {
        var info = siginfo_t()
        let rc = retryingEINTR { waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) }
        if rc == -1 { return errno == ECHILD }
        return info._sifields._sigchld.si_pid == pid
    }

    func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)  // ESRCH: the group is already empty.
    }

    func closeStdin() {
        if stdinFD >= 0 { closeFD(stdinFD); stdinFD = -1 }
    }

    func closeOutput(_ fd: inout Int32) {
        if fd >= 0 { closeFD(fd); fd = -1 }
    }

    /// The stderr tail as text: the last `stderrTailBytes`, cut at a character boundary, trimmed.
    func stderrText() -> String {
        var bytes = stderrTail.suffix(job.stderrTailBytes)
        let truncated = stderrTruncated || bytes.count < stderrTail.count
        if truncated { while let first = bytes.first, first & 0xC0 == 0x80 { bytes = bytes.dropFirst() } }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return truncated && !text.isEmpty ? "…" + text : text
    }

    func outcome(name: String, status: Int32?) -> CommandOutcome {
        let tail = stderrText()
        let command = "command \"\(name)\""
        if let stopReason {
            switch stopReason {
            case .timedOut:
                return Supervisor.failure(.timedOut, retryable: true,
                                          head: "\(command) timed out after \(describe(job.timeout)) and was killed", tail: tail)
            case .cancelled:
                return Supervisor.failure(.cancelled, retryable: false, head: "\(command) was cancelled and killed", tail: tail)
            case .outputTooLarge(let limit):
                return Supervisor.failure(stopReason, retryable: false,
                                          head: "\(command) output exceeded \(limit) bytes and was killed", tail: tail)
            default:
                break
            }
        }
        guard let status else {
            return Supervisor.failure(.exited(code: -1), retryable: true,
                                      head: "\(command) ended with an unknown status (was SIGCHLD ignored?)", tail: tail)
        }
        let signal = status & 0x7F
        if signal == 0 {
            let code = (status >> 8) & 0xFF
            if code == 0 { return .success(output: output, contentType: job.contentType) }
            if code == CommandRunner.exitDataError {
                return Supervisor.failure(.exited(code: code), retryable: false,
                                          head: "\(command) exited with status 65 (EX_DATAERR, not retried)", tail: tail)
            }
            return Supervisor.failure(.exited(code: code), retryable: true, head: "\(command) exited with status \(code)", tail: tail)
        }
        return Supervisor.failure(.signaled(signal: signal), retryable: true,
                                  head: "\(command) was killed by signal \(signal)\(signalName(signal).map { " (\($0))" } ?? "")", tail: tail)
    }
}

func describe(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    if attoseconds == 0 { return "\(seconds)s" }
    let value = Double(seconds) + Double(attoseconds) / 1e18
    return "\((value * 1000).rounded() / 1000)s"
}

func signalName(_ signal: Int32) -> String? {
    switch signal {
    case SIGHUP: "SIGHUP"
    case SIGINT: "SIGINT"
    case SIGQUIT: "SIGQUIT"
    case SIGILL: "SIGILL"
    case SIGABRT: "SIGABRT"
    case SIGBUS: "SIGBUS"
    case SIGFPE: "SIGFPE"
    case SIGKILL: "SIGKILL"
    case SIGSEGV: "SIGSEGV"
    case SIGPIPE: "SIGPIPE"
    case SIGALRM: "SIGALRM"
    case SIGTERM: "SIGTERM"
    case SIGXCPU: "SIGXCPU"
    case SIGXFSZ: "SIGXFSZ"
    default: nil
    }
}
