import CLibPQ

/// An error from the PostgreSQL layer.
///
/// Its `description` is deliberately generic (the kind and SQLSTATE only), so
/// SQL text and data never reach an end user or a log line by accident; the
/// server's message, detail and hint are in their own fields and in
/// `debugDescription`.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let raw: String
        /// A connection could not be established.
        public static let connectionFailed = Code(raw: "connectionFailed")
        /// An established connection broke (server restart, backend terminated, network).
        public static let connectionLost = Code(raw: "connectionLost")
        /// The server answered with an error; see `sqlState`.
        public static let server = Code(raw: "server")
        /// No pooled connection became free within the pool's acquire timeout.
        public static let poolTimeout = Code(raw: "poolTimeout")
        /// The pool was shut down.
        public static let poolClosed = Code(raw: "poolClosed")
        /// The query was cancelled (task cancellation or an explicit cancel).
        public static let cancelled = Code(raw: "cancelled")
        /// A value could not be decoded into the requested Swift type.
        public static let decoding = Code(raw: "decoding")
        /// libpq reported an unexpected state.
        public static let protocolViolation = Code(raw: "protocolViolation")
        /// A text parameter contained a NUL byte, which PostgreSQL text cannot hold and libpq
        /// would cut the value at; refused before anything was sent (so nothing took effect).
        public static let nulInText = Code(raw: "nulInText")
        public var description: String { raw }
    }

    /// The kind of failure.
    public var code: Code
    /// The five-character SQLSTATE, when the server sent one (e.g. `23505`).
    public var sqlState: String?
    /// The primary message (server or libpq). May contain data: do not show to end users.
    public var message: String
    /// The server's DETAIL field. May contain data.
    public var detail: String?
    /// The server's HINT field.
    public var hint: String?
    /// The name of the violated constraint, if any.
    public var constraint: String?

    /// Makes an error of the given kind.
    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil, constraint: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// True for a unique violation (SQLSTATE 23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// True when the failure means the database could not be reached or the
    /// connection broke, so the operation can be retried later.
    public var isUnavailable: Bool {
        switch code {
        case .connectionFailed, .connectionLost, .poolTimeout: return true
        default:
            // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection exceptions.
            guard let s = sqlState else { return false }
            return s.hasPrefix("08") || s == "57P01" || s == "57P02" || s == "57P03"
        }
    }

    /// True when the statement may have taken effect although the caller got an error: the
    /// connection broke after the statement was sent (its COMMIT may have succeeded and only the
    /// reply been lost), or the reply arrived and could not be read. False when it certainly did
    /// not: no connection, the server refused it, it was cancelled, or the pool gave none.
    public var mayHaveTakenEffect: Bool {
        switch code {
        case .connectionLost, .protocolViolation, .decoding: return true
        default: return false
        }
    }

    /// True for SQLSTATE class 22 (data exception): the server refused a value, so nothing of
    /// the statement took effect.
    public var isDataException: Bool {
        code == .server && sqlState?.hasPrefix("22") == true
    }

    /// The refusal of text parameter number `parameter` (1-based, as in `$1`) for holding a NUL byte.
    static func nulInText(parameter: Int) -> PostgresError {
        PostgresError(code: .nulInText, message: "text parameter $\(parameter) contains a NUL byte")
    }

    public var description: String {
        if let s = sqlState { return "PostgresError(code: \(code), sqlState: \(s))" }
        return "PostgresError(code: \(code))"
    }

    public var debugDescription: String {
        var parts = ["code: \(code)"]
        if let s = sqlState { parts.append("sqlState: \(s)") }
        parts.append("message: \(message)")
        if let d = detail { parts.append("detail: \(d)") }
        if let h = hint { parts.append("hint: \(h)") }
        if let c = constraint { parts.append("constraint: \(c)") }
        return "PostgresError(" + parts.joined(separator: ", ") + ")"
    }

    /// Builds an error from a failed result; `result` may be nil (out of memory or connection gone).
    static func from(result: OpaquePointer?, connection: OpaquePointer?) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let result, let p = PQresultErrorField(result, code) else { return nil }
            return String(cString: p)
        }
        let connectionBad = connection.map { PQstatus($0) == CONNECTION_BAD } ?? true
        let sqlState = field(CLIBPQ_DIAG_SQLSTATE)
        var message = field(CLIBPQ_DIAG_MESSAGE_PRIMARY)
        if message == nil, let connection, let p = PQerrorMessage(connection) {
            message = String(cString: p).trimmingTrailingNewlines()
        }
        let code: Code
        if sqlState == "57014" {
            code = .cancelled
        } else if connectionBad {
            code = .connectionLost
        } else if sqlState != nil {
            code = .server
        } else {
            code = .protocolViolation
        }
        return PostgresError(
            code: code, sqlState: sqlState, message: message ?? "unknown error",
            detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL), hint: field(CLIBPQ_DIAG_MESSAGE_HINT),
            constraint: field(CLIBPQ_DIAG_CONSTRAINT_NAME))
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
