import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One blocking HTTP/1.1 client connection (plain `http://`), kept alive between requests.
/// It serves `HTTPClient` (one request per connection) and `jobgate bench` (one per load
/// thread, many requests each). Not thread-safe: use it from one thread at a time.
public final class HTTPClientConnection {
    /// A failure to talk to the server at all.
    public typealias Failure = HTTPClient.Failure

    private let host: String
    private let port: Int
    private let timeoutSeconds: Double
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    /// Receive buffer, allocated once (a fresh 64 KiB array per read cost the bench client a memset each).
    private var chunk = [UInt8](repeating: 0, count: 65536)
    private var start = 0
    private var served = 0
    /// Whether the last read ended (end of stream or reset) before any byte of its response.
    private var closedBeforeAnswer = false
    /// How many times a socket was opened: once for any number of requests on a kept-alive connection.
    public private(set) var connects = 0

    /// A connection to `host:port`, opened on first use.
    public init(host: String, port: Int, timeoutSeconds: Double = 30) {
        self.host = host
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { close() }

    /// Closes the socket (the next request reconnects).
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer.removeAll(keepingCapacity: true)
        start = 0
        served = 0
    }

    /// A request's bytes: `Host`, the bearer token, extra headers, and the body with its type and length.
    public static func request(_ method: String, _ target: String, host: String, port: Int, token: String?, body: [UInt8]? = nil,
                               contentType: String? = "application/json", headers: [(String, String)] = []) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.count)\r\n"
        }
        return Array((head + "\r\n").utf8) + (body ?? [])
    }

    /// Sends `request` and reads its response. On a kept-alive connection the server closed
    /// meanwhile, the request is sent again on a new one when it could not be written, or when
    /// the stream ended before any byte of the answer and sending it twice is harmless (see
    /// `isReplayable`): a server may also act on a request and then close without answering.
    /// A fresh connection is never retried, nor one that timed out or whose answer was cut off
    /// part-way: the server may have acted on it already, and a second POST would make a second job.
    public func send(_ request: [UInt8], head: Bool = false) throws -> HTTPClient.Response {
        let reused = fd >= 0 && served > 0
        if fd < 0 { try connect() }
        var written = false
        do {
            do {
                try write(request)
            } catch {
                // A server may answer before it has read the whole request and close (413 for a
                // body over its limit, from the Content-Length alone): the rest of the write then
                // fails, and the answer is already waiting on the socket, as curl reads it.
                if let early = try? readResponse(head: head) { return early }
                throw error
            }
            written = true
            return try readResponse(head: head)
        } catch where reused && (!written || (closedBeforeAnswer && Self.isReplayable(request))) {
            try connect()
            try write(request)
            return try readResponse(head: head)
        }
    }

    /// Whether `request` may be sent twice: an idempotent method (GET, HEAD, PUT, DELETE,
    /// OPTIONS), or one carrying an `Idempotency-Key` header (a replay returns the same job).
    static func isReplayable(_ request: [UInt8]) -> Bool {
        let headEnd = request.firstRange(of: Array("\r\n\r\n".utf8))?.lowerBound ?? request.count
        let lines = String(decoding: request[..<headEnd], as: UTF8.self).split(separator: "\r\n")
        let method = lines.first?.split(separator: " ").first ?? ""
        if ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method) { return true }
        return lines.dropFirst().contains { $0.lowercased().hasPrefix("idempotency-key:") }
    }

    private func connect() throws {
        close()
        connects += 1
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                var tv = timeval(tv_sec: Int(timeoutSeconds), tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return }
                Glibc.close(fd)
                fd = -1
            }
            ai = a.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port) (errno \(errno))")
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send failed (errno \(errno))") }
            offset += n
        }
    }

    /// Reads more bytes; false at end of stream.
    private func fill() throws -> Bool {
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
            if n == 0 || errno == ECONNRESET { return false }
            if errno == EINTR { continue }
            throw Failure(description: "no answer from \(host):\(port) (errno \(errno))")
        }
    }

    private func need(_ n: Int) throws {
        while buffer.count - start < n {
            guard try fill() else { throw Failure(description: "incomplete HTTP response") }
        }
    }

    private func readResponse(head: Bool) throws -> HTTPClient.Response {
        closedBeforeAnswer = false
        // Drop what earlier responses consumed (only here, so offsets below stay valid).
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        var headerEnd: Int?
        var scanFrom = start
        while headerEnd == nil {
            var i = scanFrom
            while i + 3 < buffer.count {
                if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { headerEnd = i; break }
                i += 1
            }
            if headerEnd == nil {
                scanFrom = max(start, buffer.count - 3)
                guard try fill() else {
                    closedBeforeAnswer = buffer.isEmpty
                    throw Failure(description: "incomplete HTTP response")
                }
            }
        }
        let lines = String(decoding: buffer[start..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        start = headerEnd! + 4
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line") }
        var headers: [(name: String, value: String)] = []
        var length: Int?
        var chunked = false
        var closes = false
        for line in lines.dropFirst() {
            guard let c = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<c])
            let value = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
            switch name.lowercased() {
            case "content-length": length = Int(value)
            case "transfer-encoding": chunked = value.lowercased().contains("chunked")
            case "connection": closes = value.lowercased() == "close"
            default: break
            }
        }
        var body: [UInt8] = []
        if head || status == 204 || status == 304 || (100..<200).contains(status) {
            // No body, whatever Content-Length says.
        } else if chunked {
            while true {
                let size = try readChunkSize()
                try need(size + 2)
                body.append(contentsOf: buffer[start..<start + size])
                start += size + 2
                if size == 0 { break }
            }
        } else if let length {
            try need(length)
            body = Array(buffer[start..<start + length])
            start += length
        } else {
            // Neither length nor chunks: the body runs to the end of the stream.
            while try fill() {}
            body = Array(buffer[start...])
            start = buffer.count
            closes = true
        }
        served += 1
        if closes { close() }
        return HTTPClient.Response(status: status, headers: headers, body: body)
    }

    private func readChunkSize() throws -> Int {
        while true {
            if let i = buffer[start...].firstIndex(of: 10) {
                let line = String(decoding: buffer[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                start = i + 1
                guard let size = Int(line.split(separator: ";").first.map(String.init) ?? "", radix: 16) else {
                    throw Failure(description: "bad chunk size")
                }
                return size
            }
            guard try fill() else { throw Failure(description: "incomplete HTTP response") }
        }
    }
}
