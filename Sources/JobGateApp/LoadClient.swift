import Foundation

/// A blocking HTTP/1.1 keep-alive client over one TCP socket, for `jobgate bench`.
/// One per load thread: no locks, no allocation beyond the response buffer.
final class LoadClient {
    struct Response {
        var status: Int
        var body: [UInt8]
        var headers: [(String, String)]
        func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let host: String
    private let port: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var start = 0

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer.removeAll(keepingCapacity: true)
        start = 0
    }

    private func connect() throws {
        close()
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw Failure(description: "bad IPv4 address \(host)") }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close()
            throw Failure(description: "connect to \(host):\(port): \(String(cString: strerror(e)))")
        }
    }

    /// Sends one request and reads its response; reconnects once if the kept-alive connection was closed.
    func send(_ request: [UInt8]) throws -> Response {
        if fd < 0 { try connect() }
        do {
            try write(request)
            return try readResponse()
        } catch {
            try connect()
            try write(request)
            return try readResponse()
        }
    }

    /// Builds a request's bytes.
    static func request(_ method: String, _ path: String, host: String, token: String?, body: [UInt8]? = nil,
                        contentType: String = "application/json", extraHeaders: [(String, String)] = []) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (k, v) in extraHeaders { head += "\(k): \(v)\r\n" }
        if let body {
            head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send: errno \(errno)")
            }
            offset += n
        }
    }

    private func fill() throws {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return }
            if n < 0 && errno == EINTR { continue }
            throw Failure(description: n == 0 ? "connection closed" : "recv: errno \(errno)")
        }
    }

    private func readResponse() throws -> Response {
        // Headers.
        var headerEnd: Int?
        while headerEnd == nil {
            if buffer.count - start >= 4 {
                var i = start
                while i + 3 < buffer.count {
                    if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { headerEnd = i; break }
                    i += 1
                }
            }
            if headerEnd == nil { try fill() }
        }
        let head = String(decoding: buffer[start..<headerEnd!], as: UTF8.self)
        start = headerEnd! + 4
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line") }
        var headers: [(String, String)] = []
        var length = 0
        var chunked = false
        var close = false
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
            switch name.lowercased() {
            case "content-length": length = Int(value) ?? 0
            case "transfer-encoding": chunked = value.lowercased().contains("chunked")
            case "connection": close = value.lowercased() == "close"
            default: break
            }
        }
        var body: [UInt8] = []
        if chunked {
            while true {
                let size = try readChunkSize()
                try need(size + 2)
                body.append(contentsOf: buffer[start..<start + size])
                start += size + 2
                if size == 0 { break }
            }
        } else {
            try need(length)
            body = Array(buffer[start..<start + length])
            start += length
        }
        if close { self.close() }
        return Response(status: status, body: body, headers: headers)
    }

    private func need(_ n: Int) throws {
        while buffer.count - start < n { try fill() }
    }

    private func readChunkSize() throws -> Int {
        while true {
            if let i = buffer[start...].firstIndex(of: 10) {
                let line = String(decoding: buffer[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                start = i + 1
                let hex = line.split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(hex, radix: 16) else { throw Failure(description: "bad chunk size") }
                return size
            }
            try fill()
        }
    }
}

/// Latency samples and their percentiles.
struct LatencySummary: Sendable {
    var count: Int
    var p50: Double
    var p95: Double
    var p99: Double
    var max: Double

    /// Summarises `samples` (seconds).
    init(_ samples: [Double]) {
        let s = samples.sorted()
        count = s.count
        func pct(_ p: Double) -> Double {
            guard !s.isEmpty else { return 0 }
            return s[min(s.count - 1, Int((p * Double(s.count)).rounded(.up)) - 1 < 0 ? 0 : Int((p * Double(s.count)).rounded(.up)) - 1)]
        }
        p50 = pct(0.50)
        p95 = pct(0.95)
        p99 = pct(0.99)
        self.max = s.last ?? 0
    }
}
