import Foundation
import JobGateAPI
import JobGateHTTP
import JobGateSystem

/// `submit`, `status`, `cancel`, `retry`: the API's operations from the shell, over HTTP.
/// Each prints the API's JSON answer on stdout; an error answer goes to stderr with exit code 1.
enum ClientSettings {
    static let options: [OptionSpec] = [
        OptionSpec("url", value: "URL", env: "JOBGATE_URL", default: "http://127.0.0.1:8080", help: "the API's base URL"),
        OptionSpec("token", value: "TOKEN", env: "JOBGATE_TOKEN", help: "an API token or JWT"),
    ]

    static func client(_ args: Arguments) throws -> HTTPClient {
        guard let token = args.string("token") else { throw UsageError("--token or JOBGATE_TOKEN is required (see jobgate token create)") }
        do { return try HTTPClient(baseURL: args.string("url", default: "http://127.0.0.1:8080"), token: token) } catch {
            throw UsageError("--url: \(error)")
        }
    }

    /// The single positional job id.
    static func jobID(_ args: Arguments) throws -> String {
        guard args.positionals.count == 1, UUIDText.parse(args.positionals[0]) != nil else { throw UsageError("give one job id") }
        return args.positionals[0].lowercased()
    }

    /// Prints the answer; exit code 0 for 2xx, else 1 with the error message on stderr.
    static func report(_ r: HTTPClient.Response) -> Int32 {
        if (200..<300).contains(r.status) {
            print(r.text)
            return 0
        }
        let error = r.object?["error"] as? [String: Any]
        let message = (error?["message"] as? String) ?? r.text
        let field = (error?["field"] as? String).map { " (field \($0))" } ?? ""
        JobGateCLI.printError("HTTP \(r.status): \(message)\(field)")
        return 1
    }

    /// `--payload`: JSON text, `@FILE`, or `-` for stdin, parsed; nil when not given.
    static func payload(_ args: Arguments) throws -> Any? {
        guard let p = args.string("payload") else { return nil }
        let text: String
        if p == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else if p.hasPrefix("@") {
            guard let d = FileManager.default.contents(atPath: String(p.dropFirst())) else { throw UsageError("cannot read \(p.dropFirst())") }
            text = String(decoding: d, as: UTF8.self)
        } else {
            text = p
        }
        guard let v = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            throw UsageError("--payload is not valid JSON")
        }
        return v
    }

    static func send(_ args: Arguments, _ method: String, _ path: String, body: [UInt8]? = nil,
                     headers: [(String, String)] = []) async throws -> HTTPClient.Response {
        do { return try await client(args).send(method, path, body: body, headers: headers) } catch let e as HTTPClient.Failure {
            throw RuntimeFailure("\(e.description) (is the API running? see --url)")
        }
    }
}

extension JobGateCLI {
    static let submitCommand = Command(
        name: "submit", summary: "submit a job through the API",
        usage: "jobgate submit TYPE [--payload JSON|@FILE|-] [--queue Q] [--priority N] [--delay 30s] [--idempotency-key K] [--wait]",
        options: ClientSettings.options + [
            OptionSpec("payload", value: "JSON", help: "the payload: JSON text, @file, or - for stdin (default {})"),
            OptionSpec("queue", value: "Q", help: "queue name (default: default)"),
            OptionSpec("priority", value: "N", help: "lower runs first (default 0)"),
            OptionSpec("delay", value: "DURATION", help: "run no sooner than this from now"),
            OptionSpec("run-at", value: "TIME", help: "run no sooner than this RFC 3339 time"),
            OptionSpec("max-attempts", value: "N", help: "attempts before failed (default: the type's)"),
            OptionSpec("timeout-seconds", value: "N", help: "each attempt's time limit (default: the type's)"),
            OptionSpec("idempotency-key", value: "K", help: "replays with the same key return the same job"),
            OptionSpec("wait", help: "wait until the job finishes (a live status and progress line on stderr) and print it"),
        ]
    ) { args in
        guard args.positionals.count == 1 else { throw UsageError("give one job type") }
        var body: [String: Any] = ["type": args.positionals[0]]
        if let p = try ClientSettings.payload(args) { body["payload"] = p }
        if let q = args.string("queue") { body["queue"] = q }
        if args.string("priority") != nil { body["priority"] = try args.int("priority", default: 0, range: -32768...32767) }
        if args.string("delay") != nil { body["delaySeconds"] = try args.duration("delay", default: .zero).seconds }
        if let t = args.string("run-at") { body["runAt"] = t }
        if args.string("max-attempts") != nil { body["maxAttempts"] = try args.int("max-attempts", default: 1, range: 1...1000) }
        if args.string("timeout-seconds") != nil { body["timeoutSeconds"] = try args.int("timeout-seconds", default: 1, range: 1...86_400) }
        if let k = args.string("idempotency-key") { body["idempotencyKey"] = k }
        let data = Array(try JSONSerialization.data(withJSONObject: body))
        let r = try await ClientSettings.send(args, "POST", "/v1/jobs", body: data)
        guard args.flag("wait"), (200..<300).contains(r.status), let id = r.object?["jobId"] as? String else {
            return ClientSettings.report(r)
        }
        return try await ClientSettings.waitForJob(args, id: id)
    }

    static let statusCommand = Command(
        name: "status", summary: "show a job (and its history with --events)",
        usage: "jobgate status JOB_ID [--events | --wait]",
        options: ClientSettings.options + [
            OptionSpec("events", help: "print the job's events instead"),
            OptionSpec("wait", help: "wait until the job finishes, with a live status and progress line on stderr; exit 0 if it completed"),
        ]
    ) { args in
        let id = try ClientSettings.jobID(args)
        if args.flag("wait") {
            if args.flag("events") { throw UsageError("--wait and --events do not go together") }
            return try await ClientSettings.waitForJob(args, id: id)
        }
        return ClientSettings.report(try await ClientSettings.send(args, "GET", "/v1/jobs/\(id)" + (args.flag("events") ? "/events" : "")))
    }

    static let cancelCommand = Command(
        name: "cancel", summary: "cancel a job", usage: "jobgate cancel JOB_ID", options: ClientSettings.options
    ) { args in
        ClientSettings.report(try await ClientSettings.send(args, "POST", "/v1/jobs/\(try ClientSettings.jobID(args))/cancel"))
    }

    static let retryCommand = Command(
        name: "retry", summary: "put a failed or cancelled job back in its queue", usage: "jobgate retry JOB_ID",
        options: ClientSettings.options
    ) { args in
        ClientSettings.report(try await ClientSettings.send(args, "POST", "/v1/jobs/\(try ClientSettings.jobID(args))/retry"))
    }
}
