import Foundation
import JobGateCore
import JobGateSystem

/// One command job type, as declared in the `--job-types` file (DESIGN §5).
///
/// The job's payload goes to the process on stdin, its stdout is the output.
public struct CommandSpec: Sendable, Equatable {
    /// The program and its arguments; `argv[0]` without a `/` is looked up in the child's `PATH`.
    public var argv: [String]
    /// The type's queue, attempts, time limit and backoff: the one job-type definition every
    /// type has, command or built-in.
    public var settings: JobTypeSettings
    /// Variables set for the process, over the few inherited ones (`PATH`, `HOME`, `LANG`).
    public var environment: [String: String]
    /// The content type of the output (the process's stdout).
    public var contentType: String
    /// The largest output kept; a process writing more is killed and its attempt fails.
    public var outputCapBytes: Int

    /// What a config entry gets for the settings it leaves out: 300 s per attempt, three
    /// attempts (as River and Oban users expect a small number), backoff from 1 s to 5 min.
    public static let defaultSettings = JobTypeSettings(timeoutSeconds: 300, maxAttempts: 3,
                                                        retry: RetryPolicy(baseSeconds: 1, capSeconds: 300))
    /// Opaque bytes unless the operator says otherwise.
    public static let defaultContentType = "application/octet-stream"
    /// 16 MiB.
    public static let defaultOutputCapBytes = 16 << 20

    /// A spec running `argv`, with the documented defaults for everything else.
    public init(
        argv: [String],
        settings: JobTypeSettings = CommandSpec.defaultSettings,
        environment: [String: String] = [:],
        contentType: String = CommandSpec.defaultContentType,
        outputCapBytes: Int = CommandSpec.defaultOutputCapBytes
    ) {
        self.argv = argv
        self.settings = settings
        self.environment = environment
        self.contentType = contentType
        self.outputCapBytes = outputCapBytes
    }

    /// Each attempt's deadline, in seconds.
    public var timeoutSeconds: Int { settings.timeoutSeconds }

    /// `timeoutSeconds` as a `Duration`.
    public var timeout: Duration { .seconds(timeoutSeconds) }
}

/// Why a job types file was refused. The message names the type and the field.
public struct JobTypesConfigError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, e.g. `job type "resize": "argv" must be a non-empty array of strings`.
    public var message: String
    /// The file it came from, when loaded from one.
    public var path: String?

    /// An error saying `message`.
    public init(_ message: String, path: String? = nil) {
        self.message = message
        self.path = path
    }

    /// The message, with the file's path when known.
    public var description: String {
        path.map { "job types file \($0): \(message)" } ?? message
    }
}

/// Reads the `--job-types` file: a JSON object mapping type name to command definition.
///
/// ```json
/// { "resize": { "argv": ["/usr/local/bin/resize", "--fast"], "timeoutSeconds": 60,
///               "maxAttempts": 5, "backoff": { "baseSeconds": 2, "maxSeconds": 120 },
///               "environment": { "QUALITY": "80" }, "contentType": "image/png",
///               "outputCapBytes": 1048576, "queue": "images" } }
/// ```
/// Unknown fields are refused, so a typo does not silently fall back to a default.
public enum JobTypesConfig {
    /// Types JobGate handles itself; a command type may not take their names.
    public static let builtInTypes = Set(JobTypeSettings.builtIns.keys)
    /// The largest `outputCapBytes` accepted: outputs are held in memory and PostgreSQL's `bytea` stops at 1 GiB.
    public static let maxOutputCapBytes = 1 << 30

    /// The fields a definition may have.
    static let knownFields: Set<String> = [
        "argv", "timeoutSeconds", "maxAttempts", "backoff", "environment", "contentType", "outputCapBytes", "queue",
    ]

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws(JobTypesConfigError) -> [String: CommandSpec] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw JobTypesConfigError("cannot read it: \(error.localizedDescription)", path: path)
        }
        do {
            return try parse(data: data)
        } catch {
            throw JobTypesConfigError(error.message, path: path)
        }
    }

    /// Validates a job types document. Types are checked in name order, so the first error reported is stable.
    public static func parse(data: Data) throws(JobTypesConfigError) -> [String: CommandSpec] {
        let root: JSONValue
        do {
            root = try JSONValue.parse([UInt8](data))
        } catch {
            throw JobTypesConfigError("not valid JSON: \(error)")
        }
        guard case .object(let object) = root else {
            throw JobTypesConfigError("the top level must be an object mapping job type names to definitions")
        }
        let types = object.dictionary
        var specs: [String: CommandSpec] = [:]
        for name in types.keys.sorted() {
            specs[name] = try parseType(name: name, value: types[name]!)
        }
        return specs
    }

    /// Whether `name` matches `[a-z0-9][a-z0-9._-]{0,63}` (a job type's name).
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        return alnum(bytes[0]) && bytes.dropFirst().allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    static func parseType(name: String, value: JSONValue) throws(JobTypesConfigError) -> CommandSpec {
        func fail(_ what: String) -> JobTypesConfigError { JobTypesConfigError("job type \"\(name)\": \(what)") }

        guard isValidName(name) else {
            throw fail("invalid name; names match [a-z0-9][a-z0-9._-]{0,63}")
        }
        guard !builtInTypes.contains(name) else {
            throw fail("shadows the built-in type of the same name")
        }
        guard case .object(let fieldObject) = value else {
            throw fail("the definition must be an object")
        }
        let fields = fieldObject.dictionary
        if let unknown = fields.keys.sorted().first(where: { !knownFields.contains($0) }) {
            throw fail("unknown field \"\(unknown)\"")
        }

        guard case .array(let argvValues)? = fields["argv"], !argvValues.isEmpty else {
            throw fail("\"argv\" must be a non-empty array of strings")
        }
        var argv: [String] = []
        for item in argvValues {
            guard case .string(let s) = item, !s.isEmpty, !s.utf8.contains(0) else {
                throw fail("\"argv\" must be a non-empty array of strings")
            }
            argv.append(s)
        }
        var spec = CommandSpec(argv: argv)

        if let v = fields["timeoutSeconds"] {
            guard let n = v.positiveInt else { throw fail("\"timeoutSeconds\" must be a positive integer") }
            spec.settings.timeoutSeconds = n
        }
        if let v = fields["maxAttempts"] {
            guard let n = v.positiveInt else { throw fail("\"maxAttempts\" must be a positive integer") }
            spec.settings.maxAttempts = n
        }
        if let v = fields["backoff"] {
            guard case .object(let backoffObject) = v else {
                throw fail("\"backoff\" must be an object with \"baseSeconds\" and \"maxSeconds\"")
            }
            let backoff = backoffObject.dictionary
            if let unknown = backoff.keys.sorted().first(where: { $0 != "baseSeconds" && $0 != "maxSeconds" }) {
                throw fail("unknown field \"backoff.\(unknown)\"")
            }
            if let b = backoff["baseSeconds"] {
                guard let x = b.positiveNumber else { throw fail("\"backoff.baseSeconds\" must be a positive number") }
                spec.settings.retry.baseSeconds = x
            }
            if let m = backoff["maxSeconds"] {
                guard let x = m.positiveNumber else { throw fail("\"backoff.maxSeconds\" must be a positive number") }
                spec.settings.retry.capSeconds = x
            }
            guard spec.settings.retry.capSeconds >= spec.settings.retry.baseSeconds else {
                throw fail("\"backoff.maxSeconds\" must not be less than \"backoff.baseSeconds\"")
            }
        }
        if let v = fields["environment"] {
            guard case .object(let envObject) = v else {
                throw fail("\"environment\" must be an object of string values")
            }
            let env = envObject.dictionary
            for key in env.keys.sorted() {
                guard !key.isEmpty, !key.contains("="), !key.utf8.contains(0) else {
                    throw fail("\"environment\" has an invalid variable name \"\(key)\"")
                }
                guard case .string(let s) = env[key]!, !s.utf8.contains(0) else {
                    throw fail("\"environment.\(key)\" must be a string")
                }
                spec.environment[key] = s
            }
        }
        if let v = fields["contentType"] {
            guard case .string(let s) = v, !s.isEmpty, !s.contains(where: \.isNewline) else {
                throw fail("\"contentType\" must be a non-empty string")
            }
            spec.contentType = s
        }
        if let v = fields["outputCapBytes"] {
            guard let n = v.positiveInt, n <= maxOutputCapBytes else {
                throw fail("\"outputCapBytes\" must be a positive integer of at most \(maxOutputCapBytes)")
            }
            spec.outputCapBytes = n
        }
        if let v = fields["queue"] {
            guard case .string(let s) = v, QueueName.isValid(s) else {
                throw fail("\"queue\" must be a queue name: \(QueueName.rule)")
            }
            spec.settings.queue = s
        }
        return spec
    }
}

extension JSONValue {
    /// An integer above zero; an integral number such as `1e3` counts (`true` does not).
    fileprivate var positiveInt: Int? {
        guard case .number(let n) = self else { return nil }
        if let i = Int(n.text) { return i > 0 ? i : nil }
        let d = n.double
        return d >= 1 && d < 9.0e18 && d.rounded() == d ? Int(d) : nil
    }

    /// A finite number above zero.
    fileprivate var positiveNumber: Double? {
        guard case .number(let n) = self else { return nil }
        let d = n.double
        return d > 0 && d.isFinite ? d : nil
    }
}
