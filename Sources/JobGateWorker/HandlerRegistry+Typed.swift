import Foundation
import JobGateCore

// Conveniences for Swift handlers registered in a host service (docs/swift.md): a closure
// per type, payloads decoded to `Decodable` values, results encoded as JSON outputs.

extension HandlerRegistry {
    /// Adds or replaces the handler of `type` as a closure returning the output (nil for none).
    /// `settings` are the type's defaults (queue, attempts, time limit, backoff), written to
    /// `job_types` when the worker starts.
    public mutating func register(_ type: String, settings: JobTypeSettings = JobTypeSettings(),
                                  _ body: @escaping @Sendable (JobContext) async throws -> JobOutput?) {
        register(type, settings: settings, handler: ClosureHandler(body))
    }

    /// Adds or replaces the handler of `type` as a closure taking the payload decoded from JSON
    /// as `Payload` and returning a value stored as the job's JSON output
    /// (`application/json`). A payload that does not decode fails the job at once (retrying
    /// would not help); anything else the closure throws is as for any handler (`JobFailure`).
    public mutating func register<Payload: Decodable & Sendable, Result: Encodable & Sendable>(
        _ type: String, settings: JobTypeSettings = JobTypeSettings(), payload: Payload.Type = Payload.self,
        _ body: @escaping @Sendable (Payload, JobContext) async throws -> Result
    ) {
        register(type, settings: settings) { job in
            try JobOutput.json(try await body(try job.payload(as: Payload.self), job))
        }
    }
}

extension JobContext {
    /// The payload decoded from its JSON text. A payload that does not decode throws a
    /// non-retryable `JobFailure` naming `type`, so the job fails at once with that message.
    public func payload<T: Decodable>(as type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        do {
            return try decoder.decode(type, from: Data(payload.utf8))
        } catch {
            throw JobFailure("the payload is not a \(T.self): \(error)", retryable: false)
        }
    }
}

extension JobOutput {
    /// `value` encoded as JSON, with content type `application/json`.
    public static func json<T: Encodable>(_ value: T, encoder: JSONEncoder = JSONEncoder()) throws -> JobOutput {
        JobOutput(bytes: Array(try encoder.encode(value)), contentType: "application/json")
    }

    /// `text` as UTF-8, with content type `text/plain; charset=utf-8` unless given.
    public static func text(_ text: String, contentType: String = "text/plain; charset=utf-8") -> JobOutput {
        JobOutput(bytes: Array(text.utf8), contentType: contentType)
    }
}
