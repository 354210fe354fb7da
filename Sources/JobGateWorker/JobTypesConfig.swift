import Foundation

/// One command job type, as declared in the `--job-types` file (DESIGN §5).
///
/// The job's payload goes to the process on stdin, its stdout is the output.
public struct CommandSpec: Sendable, Equatable {
    /// How long to wait before retrying a failed attempt: exponential from `baseSeconds`, capped at `maxSeconds`.
    public struct Backoff: Sendable, Equatable {
        /// The first retry's delay, in seconds.
        public var baseSeconds: Double
        /// The longest delay, in seconds.
        public var maxSeconds: Double

        /// A backoff from `baseSeconds` up to `maxSeconds`.
        public init(baseSeconds: Double = 1, maxSeconds: Double = 300) {
            self.baseSeconds = baseSeconds
            self.maxSeconds = maxSeconds
        }
    }

    /// The program and its arguments; `argv[0]` without a `/` is looked up in the child's `PATH`.
    public var argv: [String]
    /// Each attempt's deadline, in seconds.
    public var timeoutSeconds: Int
    /// How many attempts a job of this type gets by default.
    public var maxAttempts: Int
    /// The delay between attempts.
    public var backoff: Backoff
    /// Variables set for the process, over the few inherited ones (`PATH`, `HOME`, `LANG`).
    public var environment: [String: String]
    /// The content type of the output (the process's stdout).
    public var contentType: String
    /// The largest output kept; a process writing more is killed and its attempt fails.
    public var outputCapBytes: Int
    /// The queue jobs of this type go to when the submitter names none.
    public var queue: String?

    /// The defaults a config entry gets for each field it leaves out.
    public static let defaultTimeoutSeconds = 300
    /// Three attempts, as River and Oban users expect a small number.
    public static let defaultMaxAttempts = 3
    /// Opaque bytes unless the operator says otherwise.
    public static let defaultContentType = "application/octet-stream"
    /// 16 MiB.
    public static let defaultOutputCapBytes = 16 << 20

    /// A spec running `argv`, with the documented defaults for everything else.
    public init(
        argv: [String],
        timeoutSeconds: Int = CommandSpec.defaultTimeoutSeconds,
        maxAttempts: Int = CommandSpec.defaultMaxAttempts,
        backoff: Backoff = Backoff(),
        environment: [String: String] = [:],
        contentType: String = CommandSpec.defaultContentType,
        outputCapBytes: Int = CommandSpec.defaultOutputCapBytes,
        queue: String? = nil
    ) {
        self.argv = argv
        self.timeoutSeconds = timeoutSeconds
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.environment = environment
        self.contentType = contentType
        self.outputCapBytes = outputCapBytes
        self.queue = queue
    }

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
    public static let builtInTypes: Set<String> = ["weather", "noop"]
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
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw JobTypesConfigError("not valid JSON: \(error)")
        }
        guard case .object(let types) = root else {
            throw JobTypesConfigError("the top level must be an object mapping job type names to definitions")
        }
        var specs: [String: CommandSpec] = [:]
        for name in types.keys.sorted() {
            specs[name] = try parseType(name: name, value: types[name]!)
        }
        return specs
    }

    /// Whether `name` matches `[a-z0-9][a-z0-9._-]{0,63}`. Also used for queue names.
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
        guard case .object(let fields) = value else {
            throw fail("the definition must be an object")
        }
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
            spec.timeoutSeconds = n
        }
        if let v = fields["maxAttempts"] {
            guard let n = v.positiveInt else { throw fail("\"maxAttempts\" must be a positive integer") }
            spec.maxAttempts = n
        }
        if let v = fields["backoff"] {
            guard case .object(let backoff) = v else {
                throw fail("\"backoff\" must be an object with \"baseSeconds\" and \"maxSeconds\"")
            }
            if let unknown = backoff.keys.sorted().first(where: { $0 != "baseSeconds" && $0 != "maxSeconds" }) {
                throw fail("unknown field \"backoff.\(unknown)\"")
            }
            if let b = backoff["baseSeconds"] {
                guard let x = b.positiveNumber else { throw fail("\"backoff.baseSeconds\" must be a positive number") }
                spec.backoff.baseSeconds = x
            }
            if let m = backoff["maxSeconds"] {
                guard let x = m.positiveNumber else { throw fail("\"backoff.maxSeconds\" must be a positive number") }
                spec.backoff.maxSeconds = x
            }
            guard spec.backoff.maxSeconds >= spec.backoff.baseSeconds else {
                throw fail("\"backoff.maxSeconds\" must not be less than \"backoff.baseSeconds\"")
            }
        }
        if let v = fields["environment"] {
            guard case .object(let env) = v else {
                throw fail("\"environment\" must be an object of string values")
            }
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
            guard case .string(let s) = v, isValidName(s) else {
                throw fail("\"queue\" must be a queue name matching [a-z0-9][a-z0-9._-]{0,63}")
            }
            spec.queue = s
        }
        return spec
    }
}

/// Any JSON value, keeping booleans, integers and other numbers apart (JSONSerialization's
/// NSNumber would let `true` pass for 1).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// An integer above zero; an integral double such as `1e3` counts.
    var positiveInt: Int? {
        switch self {
        case .int(let i) where i > 0: return i
        case .double(let d) where d >= 1 && d < 9.0e18 && d.rounded() == d: return Int(d)
        default: return nil
        }
    }

    /// A finite number above zero.
    var positiveNumber: Double? {
        switch self {
        case .int(let i) where i > 0: return Double(i)
        case .double(let d) where d > 0 && d.isFinite: return d
        default: return nil
        }
    }
}
