import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 client for `jobgate submit/status/cancel/retry` and tests: one request
/// per connection (`Connection: close`), plain `http://` only, blocking IO on its own thread.
public struct APIClient: Sendable {
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
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.count)\r\n"
        }
        let raw = Array((head + "\r\n").utf8) + (body ?? [])
        let (host, port, timeout) = (self.host, self.port, timeoutSeconds)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try Self.exchange(host: host, port: port, raw: raw, timeout: timeout) })
            }
            thread.start()
        }
    }

    /// Sends a JSON value.
    public func send(_ method: String, _ target: String, json: Any, headers: [(String, String)] = []) async throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])
        return try await send(method, target, body: Array(data), headers: headers)
    }

    static func exchange(host: String, port: Int, raw: [UInt8], timeout: Double) throws -> Response {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var fd: Int32 = -1
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { break }
                close(fd)
                fd = -1
            }
            ai = a.pointee.ai_next
        }
        guard fd >= 0 else { throw Failure(description: "cannot connect to \(host):\(port) (errno \(errno))") }
        defer { close(fd) }
        var offset = 0
        while offset < raw.count {
            let n = raw[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send failed (errno \(errno))") }
            offset += n
        }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { data += chunk[..<n]; continue }
            if n == 0 || errno == ECONNRESET { break }
            if errno == EINTR { continue }
            throw Failure(description: "no answer from \(host):\(port) (errno \(errno))")
        }
        return try parse(data)
    }

    static func parse(_ data: [UInt8]) throws -> Response {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, data.count - 3)).first(where: { Array(data[$0..<$0 + 4]) == crlf2 }) else {
            throw Failure(description: "incomplete HTTP response")
        }
        let lines = String(decoding: data[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let c = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)))
        }
        var body = Array(data[(end + 4)...])
        let response = Response(status: status, headers: headers, body: [])
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var out: [UInt8] = []
            var i = 0
            while let lineEnd = (i..<max(i, body.count - 1)).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }),
                  let size = Int(String(decoding: body[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16),
                  size > 0, lineEnd + 2 + size <= body.count {
                out += body[(lineEnd + 2)..<(lineEnd + 2 + size)]
                i = lineEnd + 4 + size
            }
            body = out
        } else if let length = response.header("Content-Length").flatMap(Int.init), length < body.count {
            body = Array(body[..<length])
        }
        return Response(status: status, headers: headers, body: body)
    }
}
