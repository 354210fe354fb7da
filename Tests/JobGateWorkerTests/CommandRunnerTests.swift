import Foundation
import Glibc
import JobGateCore
import Synchronization
import Testing
@testable import JobGateWorker

/// Runs real `/bin/sh` scripts; needs no database.
@Suite struct CommandRunnerTests {
    static func sh(_ script: String, environment: [String: String] = [:]) -> CommandSpec {
        CommandSpec(argv: ["/bin/sh", "-c", script], environment: environment, contentType: "text/plain")
    }

    static func run(
        _ spec: CommandSpec, stdin: [UInt8] = [], extraEnvironment: [String: String] = [:],
        timeout: Duration = .seconds(30), outputCap: Int = 1 << 20, killGrace: Duration = .seconds(2),
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) async -> CommandOutcome {
        await CommandRunner.run(spec, stdin: stdin, extraEnvironment: extraEnvironment, timeout: timeout,
                                outputCap: outputCap, killGrace: killGrace, isCancelled: isCancelled)
    }

    static func failure(_ outcome: CommandOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> CommandFailure? {
        guard case .failure(let failure) = outcome else {
            Issue.record("expected a failure, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return failure
    }

    static func output(_ outcome: CommandOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8]? {
        guard case .success(let output, _) = outcome else {
            Issue.record("expected success, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return output
    }

    /// A fresh directory for pid files.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "jobgate-command-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func readPid(_ path: String) -> pid_t? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Whether `pid` is gone: kill(pid, 0) fails with ESRCH. A zombie counts as gone too when its
    /// parent is not us: this machine's PID 1 does not reap orphans, so a killed grandchild can
    /// linger as a zombie although it is dead.
    static func isGone(_ pid: pid_t) -> Bool {
        if kill(pid, 0) == -1 && errno == ESRCH { return true }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && fields[0] == "Z" && pid_t(fields[1]) != getpid()
    }

    static func waitUntilGone(_ pids: [pid_t], within limit: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if pids.allSatisfy(isGone) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return pids.allSatisfy(isGone)
    }

    @Test func successCapturesStdoutOfThePayloadReadFromStdin() async {
        let payload = Array(#"{"records": 3}"#.utf8)
        let outcome = await Self.run(Self.sh("cat"), stdin: payload)
        #expect(outcome == .success(output: payload, contentType: "text/plain"))
    }

    @Test func aLargePayloadRoundTripsThroughCatWithoutDeadlock() async {
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let outcome = await Self.run(Self.sh("cat"), stdin: payload, outputCap: 2 << 20)
        #expect(Self.output(outcome) == payload)
    }

    @Test func workerVariablesAreVisibleAndWinOverTheSpec() async {
        let spec = Self.sh(#"printf '%s|%s|%s|%s' "$JOBGATE_JOB_ID" "$JOBGATE_JOB_TYPE" "$JOBGATE_ATTEMPT" "$FROM_SPEC""#,
                           environment: ["FROM_SPEC": "spec value", "JOBGATE_JOB_ID": "from the spec"])
        let outcome = await Self.run(spec, extraEnvironment: [
            "JOBGATE_JOB_ID": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "JOBGATE_JOB_TYPE": "resize", "JOBGATE_ATTEMPT": "2",
        ])
        #expect(Self.output(outcome).map { String(decoding: $0, as: UTF8.self) }
            == "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b|resize|2|spec value")
    }

    @Test func theChildInheritsOnlyAMinimalEnvironment() async {
        let spec = CommandSpec(argv: ["env"], environment: ["FROM_SPEC": "1"])
        let outcome = await Self.run(spec, extraEnvironment: ["JOBGATE_JOB_ID": "x"])
        let names = Set((Self.output(outcome) ?? []).split(separator: UInt8(ascii: "\n")).compactMap {
            $0.split(separator: UInt8(ascii: "="), maxSplits: 1).first.map { String(decoding: $0, as: UTF8.self) }
        })
        #expect(names.isSubset(of: ["PATH", "HOME", "LANG", "FROM_SPEC", "JOBGATE_JOB_ID"]))
        #expect(names.isSuperset(of: ["PATH", "FROM_SPEC", "JOBGATE_JOB_ID"]))
    }

    @Test func theChildGetsNoDescriptorsBeyondItsStandardStreams() async {
        // A descriptor someone in the worker opened without O_CLOEXEC must not leak either.
        let leaked = open("/dev/null", O_RDONLY)
        defer { close(leaked) }
        // `exec` so the listing is of this very process, not a subshell's.
        let outcome = await Self.run(CommandSpec(argv: ["/bin/sh", "-c", "exec ls /proc/self/fd"]))
        let fds = (Self.output(outcome) ?? []).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        // ls itself opens one descriptor to read the directory.
        #expect(fds.count <= 4, "child has descriptors \(fds)")
        #expect(Array(fds.prefix(3)) == ["0", "1", "2"])
        #expect(leaked < 4 || !fds.contains(String(leaked)), "fd \(leaked) leaked into the child: \(fds)")
    }

    /// With progress on (as every command job type has it), exactly one more descriptor: the
    /// progress pipe on 3, named in the environment, and still nothing leaked.
    @Test func withProgressTheChildGetsExactlyTheProgressDescriptorMore() async {
        let leaked = open("/dev/null", O_RDONLY)
        defer { close(leaked) }
        let outcome = await CommandRunner.run(
            CommandSpec(argv: ["/bin/sh", "-c", "echo \"fd=$JOBGATE_PROGRESS_FD\"; exec ls /proc/self/fd"]), stdin: [],
            timeout: .seconds(30), outputCap: 1 << 20, onProgress: { _ in })
        let lines = (Self.output(outcome) ?? []).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        #expect(lines.first == "fd=3")
        let fds = Array(lines.dropFirst())
        // 0, 1, 2, the progress pipe, and ls's own directory descriptor.
        #expect(fds.count <= 5, "child has descriptors \(fds)")
        #expect(Array(fds.prefix(4)) == ["0", "1", "2", "3"])
        #expect(leaked < 5 || !fds.contains(String(leaked)), "fd \(leaked) leaked into the child: \(fds)")
    }

    @Test func progressLinesReachTheCallbackAndMalformedOnesAreCountedOnce() async {
        let reports = Mutex<[ProgressReport]>([])
        let malformed = Mutex<[(Int, String)]>([])
        let script = """
            p=$JOBGATE_PROGRESS_FD
            echo 'progress 1/10 starting' >&$p; sleep 0.3
            echo 'progres 2/10' >&$p; echo 'progress -1' >&$p; echo 'progress 5/4' >&$p
            echo 'progress 99999999999999999999' >&$p; echo '' >&$p
            echo 'progress 7/10 nearly' >&$p; sleep 0.3
            printf 'progress 10/10' >&$p
            """
        let outcome = await CommandRunner.run(
            Self.sh(script), stdin: [], timeout: .seconds(30), outputCap: 1 << 20,
            onProgress: { r in reports.withLock { $0.append(r) } },
            onMalformedProgress: { n, first in malformed.withLock { $0.append((n, first)) } })
        #expect(Self.output(outcome) != nil)
        let seen = reports.withLock { $0 }
        #expect(seen.first == ProgressReport(done: 1, total: 10, message: "starting"))
        #expect(seen.contains(ProgressReport(done: 7, total: 10, message: "nearly")!))
        // The last line had no newline; it counts at the end of the pipe.
        #expect(seen.last == ProgressReport(done: 10, total: 10))
        let bad = malformed.withLock { $0 }
        #expect(bad.count == 1)
        #expect(bad.first?.0 == 4)
        #expect(bad.first?.1 == "progres 2/10")
    }

    @Test func exit65IsNotRetryable() async {
        let outcome = await Self.run(Self.sh("echo 'bad payload: no records' >&2; exit 65"))
        guard let failure = Self.failure(outcome) else { return }
        #expect(failure.exitCode == 65)
        #expect(!failure.retryable)
        #expect(failure.message.contains("65"))
        #expect(failure.message.contains("bad payload: no records"))
    }

    @Test func anOtherExitIsRetryableAndKeepsOnlyTheTailOfStderr() async {
        let script = "i=0; while [ $i -lt 1000 ]; do echo 'noise line' >&2; i=$((i+1)); done; echo 'the real reason' >&2; exit 3"
        let outcome = await Self.run(Self.sh(script))
        guard let failure = Self.failure(outcome) else { return }
        #expect(failure.exitCode == 3)
        #expect(failure.retryable)
        #expect(failure.message.contains("exited with status 3"))
        #expect(failure.message.hasSuffix("the real reason"))
        #expect(failure.stderrTail.hasSuffix("the real reason"))
        #expect(failure.stderrTail.utf8.count <= 4096 + "…".utf8.count)
        #expect(failure.stderrTail.utf8.count > 4000)
    }

    @Test func deathBySignalIsRetryable() async {
        let outcome = await Self.run(Self.sh("kill -SEGV $$"))
        guard let failure = Self.failure(outcome) else { return }
        #expect(failure.signal == SIGSEGV)
        #expect(failure.retryable)
        #expect(failure.message.contains("SIGSEGV"))
    }

    @Test func outputOverTheCapFailsAndKillsTheWriter() async {
        let exact = await Self.run(Self.sh("head -c 1000 /dev/zero"), outputCap: 1000)
        #expect(Self.output(exact)?.count == 1000)

        let start = ContinuousClock.now
        let outcome = await Self.run(Self.sh("yes"), outputCap: 1000)
        guard let failure = Self.failure(outcome) else { return }
        #expect(failure.reason == .outputTooLarge(limit: 1000))
        #expect(failure.message.contains("output exceeded 1000 bytes"))
        #expect(!failure.retryable)
        #expect(ContinuousClock.now - start < .seconds(60))  // `yes` would run forever
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = "echo $$ > \(dir)/leader; sleep 100 & echo $! > \(dir)/child; sleep 100"
        let start = ContinuousClock.now
        let outcome = await Self.run(Self.sh(script), timeout: .milliseconds(500))
        let elapsed = ContinuousClock.now - start
        guard let failure = Self.failure(outcome) else { return }
        #expect(failure.timedOut)
        #expect(failure.retryable)
        #expect(failure.message.contains("timed out after 0.5s"))
        #expect(elapsed < .seconds(60))  // below the 100 s sleeps
        let leader = try #require(Self.readPid("\(dir)/leader"))
        let child = try #require(Self.readPid("\(dir)/child"))
        #expect(await Self.waitUntilGone([leader, child]))
    }

    @Test func aChildIgnoringSIGTERMIsKilledAfterTheGrace() async {
        let start = ContinuousClock.now
        let outcome = await Self.run(Self.sh("trap '' TERM; sleep 100 & wait; sleep 100"),
                                     timeout: .milliseconds(200), killGrace: .milliseconds(300))
        #expect(Self.failure(outcome)?.timedOut == true)
        #expect(ContinuousClock.now - start < .seconds(60))  // far below the 100 s sleeps; loose for a starved CI disk (24.8 s seen)
    }

    @Test func leftoverProcessesAreKilledWhenTheCommandExits() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The background sleep keeps stdout open; we must neither wait for it nor leave it behind.
        let start = ContinuousClock.now
        let outcome = await Self.run(Self.sh("sleep 100 & echo $! > \(dir)/child; echo done"))
        #expect(Self.output(outcome) == Array("done\n".utf8))
        #expect(ContinuousClock.now - start < .seconds(60))  // far below the 100 s sleeps; loose for a starved CI disk (24.8 s seen)
        let child = try #require(Self.readPid("\(dir)/child"))
        #expect(await Self.waitUntilGone([child]))
    }

    @Test func cancellationKillsTheGroup() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cancelAt = ContinuousClock.now + .milliseconds(300)
        let script = "echo $$ > \(dir)/leader; sleep 100 & echo $! > \(dir)/child; sleep 100"
        let outcome = await Self.run(Self.sh(script), isCancelled: { ContinuousClock.now >= cancelAt })
        guard let failure = Self.failure(outcome) else { return }
        #expect(failure.cancelled)
        #expect(!failure.retryable)
        #expect(ContinuousClock.now - cancelAt < .seconds(60))  // below the 100 s sleeps
        let leader = try #require(Self.readPid("\(dir)/leader"))
        let child = try #require(Self.readPid("\(dir)/child"))
        #expect(await Self.waitUntilGone([leader, child]))
    }

    @Test func cancellingTheTaskKillsTheCommand() async {
        let start = ContinuousClock.now
        let task = Task { await Self.run(Self.sh("sleep 100")) }
        try? await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let outcome = await task.value
        #expect(Self.failure(outcome)?.cancelled == true)
        #expect(ContinuousClock.now - start < .seconds(60))  // far below the 100 s sleeps; loose for a starved CI disk (24.8 s seen)
    }

    @Test func aChildThatNeverReadsStdinDoesNotHangTheRunner() async {
        let payload = [UInt8](repeating: 0x7B, count: 1 << 20)
        let quick = await Self.run(Self.sh("echo ignored"), stdin: payload, timeout: .seconds(10))
        #expect(Self.output(quick) == Array("ignored\n".utf8))
        let slow = await Self.run(Self.sh("sleep 0.3; echo ignored"), stdin: payload, timeout: .seconds(10))
        #expect(Self.output(slow) == Array("ignored\n".utf8))
    }

    @Test func aMissingProgramFailsToStart() async {
        let outcome = await Self.run(CommandSpec(argv: ["jobgate-no-such-program"]))
        let failure = Self.failure(outcome)
        #expect(failure?.reason == .spawnFailed(errno: ENOENT))
        #expect(failure?.message.contains("jobgate-no-such-program") == true)
        let absolute = await Self.run(CommandSpec(argv: ["/nonexistent/program"]))
        #expect(Self.failure(absolute)?.reason == .spawnFailed(errno: ENOENT))
    }

    @Test func twentyConcurrentRunsAllSucceed() async {
        let results = await withTaskGroup(of: (Int, CommandOutcome).self) { group in
            for i in 0..<20 {
                group.addTask {
                    let payload = Array("payload \(i) ".utf8) + [UInt8](repeating: UInt8(i), count: 100_000)
                    return (i, await Self.run(Self.sh("sleep 0.2; cat"), stdin: payload))
                }
            }
            var all: [Int: CommandOutcome] = [:]
            for await (i, outcome) in group { all[i] = outcome }
            return all
        }
        #expect(results.count == 20)
        for (i, outcome) in results {
            let expected = Array("payload \(i) ".utf8) + [UInt8](repeating: UInt8(i), count: 100_000)
            #expect(Self.output(outcome) == expected, "run \(i)")
        }
    }
}
