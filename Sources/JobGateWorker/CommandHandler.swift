import Foundation
import JobGateCore
import JobGateSystem
import Synchronization

/// Runs a command job type (DESIGN.md §5): the payload on stdin, the job's identity in the
/// environment, stdout as the output, the tail of stderr as `last_error`, and progress lines
/// from the descriptor in `JOBGATE_PROGRESS_FD` as the job's progress (DESIGN.md §14).
public struct CommandHandler: JobHandler {
    /// The type's command and limits.
    public let spec: CommandSpec

    /// A handler for `spec`.
    public init(spec: CommandSpec) { self.spec = spec }

    /// Runs the command for one attempt (payload on stdin, stdout as the output).
    public func run(_ job: JobContext) async throws -> JobOutput? {
        let remaining = job.deadline - ContinuousClock.now
        guard remaining > .zero else { throw JobFailure("the attempt's deadline passed before the command started") }
        let cancelled = CancellationFlag()
        let outcome = await withTaskCancellationHandler {
            await CommandRunner.run(
                spec, stdin: Array(job.payload.utf8),
                extraEnvironment: [
                    "JOBGATE_JOB_ID": job.id.lowercasedString,
                    "JOBGATE_JOB_TYPE": job.type,
                    "JOBGATE_ATTEMPT": String(job.attempt),
                    "JOBGATE_QUEUE": job.queue,
                ],
                timeout: remaining, outputCap: spec.outputCapBytes,
                isCancelled: { cancelled.isSet },
                onProgress: { job.reportProgress($0) },
                onMalformedProgress: { lines, first in
                    Log.write(.debug, "command wrote malformed progress lines; ignored",
                              fields: [("job.id", job.id.lowercasedString), ("job.type", job.type), ("lines", lines), ("first", first)])
                })
        } onCancel: {
            cancelled.set()
        }
        switch outcome {
        case .success(let output, let contentType):
            return JobOutput(bytes: output, contentType: contentType)
        case .failure(let failure):
            // Stopped because the pool cancelled the attempt (timeout, cancel, shutdown): say so.
            if failure.cancelled || Task.isCancelled { throw CancellationError() }
            throw JobFailure(failure.message, retryable: failure.retryable)
        }
    }
}

extension HandlerRegistry {
    /// The built-ins plus the command types of the JSON file at `path` (`--job-types`).
    public static func builtIn(jobTypesFile path: String?) throws -> HandlerRegistry {
        var registry = HandlerRegistry.builtIn()
        guard let path else { return registry }
        for (type, spec) in try JobTypesConfig.load(path: path) {
            registry.register(type, settings: spec.settings, handler: CommandHandler(spec: spec))
        }
        return registry
    }
}
