import JobGateSystem

/// One HTTP response. The server adds `X-Request-Id`; libmicrohttpd adds
/// `Content-Length`, `Date` and the connection headers.
public struct HTTPResponse: Sendable {
    /// What is sent after the headers.
    public enum Body: Sendable, Equatable {
        /// Bytes held in memory.
        case bytes([UInt8])
        /// The first `size` bytes of the file at `path`, streamed from its
        /// descriptor (never read whole into memory). The file is opened when
        /// the response is sent; if it cannot be opened or is shorter than
        /// `size`, a 500 is sent instead.
        case file(path: String, size: UInt64)
    }

    /// The status code, e.g. 200.
    public var status: Int
    /// Header fields in the order they are sent.
    public var headers: HTTPHeaders
    /// The body.
    public var body: Body

    /// Creates a response from raw parts.
    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a byte body and the given content type.
    public init(status: Int = 200, contentType: String, bytes: [UInt8], headers: HTTPHeaders = HTTPHeaders()) {
        var headers = headers
        headers.set("Content-Type", contentType)
        self.init(status: status, headers: headers, body: .bytes(bytes))
    }

    /// A JSON response from already-encoded bytes (`application/json`).
    public static func json(_ bytes: [UInt8], status: Int = 200, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", bytes: bytes, headers: headers)
    }

    /// A JSON response from already-encoded text (`application/json`).
    public static func json(_ text: String, status: Int = 200, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        json(Array(text.utf8), status: status, headers: headers)
    }

    /// A plain text response (`text/plain; charset=utf-8`).
    public static func text(_ text: String, status: Int = 200, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", bytes: Array(text.utf8), headers: headers)
    }

    /// A file streamed from disk with the given content type.
    public static func file(path: String, size: UInt64, contentType: String = "application/octet-stream",
                            status: Int = 200, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", contentType)
        return HTTPResponse(status: status, headers: headers, body: .file(path: path, size: size))
    }

    /// The house error shape: `{"error":{"code":"...","message":"..."}}`
    /// (plus `"field"` when given).
    public static func error(status: Int, code: String, message: String, field: String? = nil,
                             headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var text = #"{"error":{"code":"# + JSONText.quote(code) + #","message":"# + JSONText.quote(message)
        if let field { text += #","field":"# + JSONText.quote(field) }
        text += "}}"
        return json(text, status: status, headers: headers)
    }
}
