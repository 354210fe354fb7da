import Foundation
import Glibc
import JobGateCore
import JobGateSystem

/// One running child: feeds its stdin, collects stdout and the tail of stderr, enforces the
/// deadline, the cancellation and the output cap, and reaps it. Lives on one thread only.
final class Supervision {
    let job: Supervisor.Job
    let pid: pid_t
    var stdinFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32
    /// The progress pipe's read end; -1 when the child has none or closed it.
    var progressFD: Int32
    var progressLines = ProgressLineReader()
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

    init(job: Supervisor.Job, pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32, progress: Int32 = -1) {
        self.job = job
        self.pid = pid
        self.stdinFD = stdin
        self.stdoutFD = stdout
        self.stderrFD = stderr
        self.progressFD = progress
        if job.stdin.isEmpty { closeStdin() }
    }

    deinit {
        for fd in [stdinFD, stdoutFD, stderrFD, progressFD] where fd >= 0 { closeDescriptor(fd) }
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
                if stdoutFD < 0 && stderrFD < 0 && progressFD < 0 { break }
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
            if stdoutFD < 0 && stderrFD < 0 && stdinFD < 0 && progressFD < 0 {
                // Nothing to poll: the child closed its streams but runs on. Check back soon, then less often.
                wakeAt = min(wakeAt, now + idleWait)
                idleWait = min(idleWait * 2, .milliseconds(100))
            }
            pollOnce(until: wakeAt, now: now)
        }
        closeStdin()
        closeOutput(&stdoutFD)
        closeOutput(&stderrFD)
        closeProgress()
        var status: Int32 = 0
        let reaped = retryingEINTR { waitpid(pid, &status, 0) }
        return reaped == pid ? status : nil
    }

    func pollOnce(until wakeAt: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        var fds: [pollfd] = []
        if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
        if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
        if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
        if progressFD >= 0 { fds.append(pollfd(fd: progressFD, events: Int16(POLLIN), revents: 0)) }
        let remaining = max(.zero, wakeAt - now)
        // Rounded up so we do not spin on a sub-millisecond remainder.
        let milliseconds = Int32(min(remaining.inMillisecondsRoundedUp, 1000))
        let ready = retryingEINTR { poll(&fds, nfds_t(fds.count), milliseconds) }
        guard ready > 0 else { return }
        for entry in fds where entry.revents != 0 {
            if entry.fd == stdinFD {
                if entry.revents & Int16(POLLOUT) != 0 { writeStdin() } else { closeStdin() }
            } else if entry.fd == stdoutFD {
                if drain(stdoutFD, into: { consumeStdout($0) }) { closeOutput(&stdoutFD) }
            } else if entry.fd == stderrFD {
                if drain(stderrFD, into: { consumeStderr($0) }) { closeOutput(&stderrFD) }
            } else if entry.fd == progressFD {
                if drain(progressFD, into: { progressLines.consume($0) }) { closeProgress() }
                deliverProgress()
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
        if stdinFD >= 0 { closeDescriptor(stdinFD); stdinFD = -1 }
    }

    /// Hands the newest valid report read to the pool: one per read however many lines came.
    func deliverProgress() {
        if let report = progressLines.take() { job.onProgress?(report) }
    }

    /// Closes the progress pipe, taking a last line that had no newline, and reports malformed lines once.
    func closeProgress() {
        guard progressFD >= 0 else { return }
        closeDescriptor(progressFD)
        progressFD = -1
        progressLines.finish()
        deliverProgress()
        if progressLines.malformed > 0 {
            job.onMalformedProgress?(progressLines.malformed, progressLines.firstMalformed ?? "")
        }
    }

    func closeOutput(_ fd: inout Int32) {
        if fd >= 0 { closeDescriptor(fd); fd = -1 }
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
    if duration.components.attoseconds == 0 { return "\(duration.components.seconds)s" }
    return "\((duration.seconds * 1000).rounded() / 1000)s"
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
