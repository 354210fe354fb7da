import Foundation
import JobGateSystem

/// A tiny HTTP/1.1 client for `jobgate submit/status/cancel/retry` and tests: one request
/// per connection (`Connection: close`) over an `HTTPClientConnection`, plain `http://` only,
/// blocking IO on its own thread.
public struct HTTPClient: Sendable {
    /// A response.
    public struct Response: Sendable {
        /// The status code.
        public var status: Int
        /// Header fields, names as sent.
        public var headers: [(name: String, value: String)]
        /// The body.
        public var body: [UInt8]
        /// The first value of a header (case-insensitive).
        public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as a JSON object, if it is one.
        public var object: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    }

    /// A failure to talk to the server at all.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What went wrong.
        public var description: String
    }

    /// Host and port from the base URL.
    public let host: String
    public let port: Int
    /// Sent as `Authorization: Bearer …` when set.
    public var token: String?
    /// Seconds to wait for connect, send and each receive.
    public var timeoutSeconds: Double = 30

    /// A client for `baseURL` such as `http://127.0.0.1:8080`.
    public init(baseURL: String, token: String? = nil) throws {
        guard let url = URL(string: baseURL), url.scheme == "http", let host = url.host else {
            throw Failure(description: "only http://host:port URLs are supported, got \(baseURL)")
        }
        self.host = host
        self.port = url.port ?? 80
        self.token = token
    }

    /// Sends one request and returns the response.
    public func send(_ method: String, _ target: String, body: [UInt8]? = nil, contentType: String? = "application/json",
                     headers: [(String, String)] = []) async throws -> Response {
        let raw = HTTPClientConnection.request(method, target, host: host, port: port, token: token, body: body,
                                               contentType: contentType, headers: [("Connection", "close")] + headers)
        let (host, port, timeout) = (self.host, self.port, timeoutSeconds)
        // Blocking socket IO on a thread of its own, never on the cooperative pool.
        return try await onOwnThread {
            try HTTPClientConnection(host: host, port: port, timeoutSeconds: timeout).send(raw, head: method == "HEAD")
        }
    }

    /// Sends a JSON value.
    public func send(_ method: String, _ target: String, json: Any, headers: [(String, String)] = []) async throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])
        return try await send(method, target, body: Array(data), headers: headers)
    }
}
