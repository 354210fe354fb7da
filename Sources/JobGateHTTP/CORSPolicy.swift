/// Which web origins may call the API from a browser page served elsewhere (CORS), and the
/// headers that tell the browser so. A value: the API answers preflights and decorates its
/// responses with it; it does no IO.
///
/// Credentials mode is never allowed (`Access-Control-Allow-Credentials` is not sent): clients
/// authenticate with a bearer token they add themselves, not with cookies, so `*` is safe.
public struct CORSPolicy: Sendable, Equatable {
    /// The origins allowed.
    public enum Origins: Sendable, Equatable {
        /// Every origin (`Access-Control-Allow-Origin: *`).
        case any
        /// These serialized origins (`scheme://host[:port]`, lowercase), echoed back one at a time.
        case list([String])
    }

    /// A `--cors-origins` value that is not `*` or a list of origins.
    public struct InvalidOrigins: Error, CustomStringConvertible, Sendable {
        /// What is wrong, for the operator.
        public var description: String
    }

    /// The origins allowed.
    public var origins: Origins
    /// Request headers a page may send (answered to preflights): what the API reads.
    public var allowedHeaders = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "traceparent"]
    /// Response headers a page's script may read beyond the CORS-safelisted ones.
    public var exposedHeaders = ["Location", "Retry-After", "X-Request-Id", "ETag", "WWW-Authenticate", "Allow"]
    /// How long a browser may cache a preflight answer (browsers cap it: Chromium at 2 h).
    public var maxAgeSeconds = 600

    /// A policy allowing `origins`.
    public init(origins: Origins) {
        self.origins = origins
    }

    /// Parses `*` or a comma-separated list of origins such as
    /// `https://app.example.com,http://localhost:3000`: scheme `http` or `https`, a host, an
    /// optional port, nothing else (no path, no trailing slash, no `null`).
    public static func parse(_ text: String) throws(InvalidOrigins) -> CORSPolicy {
        let items = text.split(separator: ",").map { ASCII.trimmed($0) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw InvalidOrigins(description: "needs * or at least one origin such as https://app.example.com") }
        if items == ["*"] { return CORSPolicy(origins: .any) }
        var list: [String] = []
        for item in items {
            let origin = String(item).lowercased()
            guard origin != "*" else { throw InvalidOrigins(description: "* stands alone: it already allows every origin") }
            guard let problem = problem(origin) else {
                if !list.contains(origin) { list.append(origin) }
                continue
            }
            throw InvalidOrigins(description: "\"\(item)\" is not an origin: \(problem)")
        }
        return CORSPolicy(origins: .list(list))
    }

    /// Why `origin` (lowercased) is not `scheme://host[:port]`, or nil.
    private static func problem(_ origin: String) -> String? {
        let rest: Substring
        if origin.hasPrefix("https://") { rest = origin.dropFirst(8) } else if origin.hasPrefix("http://") { rest = origin.dropFirst(7) } else {
            return "it must start with http:// or https:// (as a browser's Origin header does)"
        }
        guard !rest.isEmpty else { return "it has no host" }
        guard !rest.contains("/") else { return "an origin has no path, not even a trailing /" }
        let allowed = rest.unicodeScalars.allSatisfy { s in
            s.isASCII && (("a"..."z").contains(s) || ("0"..."9").contains(s) || ".-:[]".unicodeScalars.contains(s))
        }
        guard allowed else { return "only a host name or address and a port may follow the scheme" }
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            let port = rest[rest.index(after: colon)...]
            guard let n = Int(port), (1...65535).contains(n) else { return "its port must be 1 to 65535" }
        }
        return nil
    }

    /// Whether a request with this `Origin` header may read the answer.
    public func allows(origin: String) -> Bool {
        switch origins {
        case .any: return true
        case .list(let list):
            // Browsers send scheme and host in lowercase; compare ASCII case-insensitively all the same.
            return list.contains { ASCII.equalsIgnoringCase($0, origin) }
        }
    }

    /// Adds the headers of an actual (non-preflight) response to a request whose `Origin`
    /// header is `origin`: the allowed origin and the readable headers when it is allowed, and
    /// `Vary: Origin` whenever the answer depends on it (a list), so caches keep them apart.
    public func decorate(_ response: inout HTTPResponse, origin: String?) {
        switch origins {
        case .any:
            response.headers.set("Access-Control-Allow-Origin", "*")
        case .list:
            let vary = response.headers["Vary"].map { $0 + ", Origin" } ?? "Origin"
            response.headers.set("Vary", vary)
            guard let origin, allows(origin: origin) else { return }
            response.headers.set("Access-Control-Allow-Origin", origin)
        }
        response.headers.set("Access-Control-Expose-Headers", exposedHeaders.joined(separator: ", "))
    }

    /// The answer to a preflight (`OPTIONS` with `Origin`) from an allowed origin, for a
    /// resource that allows `methods`: 204 with the methods, the request headers and how
    /// long to cache it. `decorate` adds the origin.
    public func preflight(methods: [String]) -> HTTPResponse {
        var headers = HTTPHeaders()
        let all = methods.contains("OPTIONS") ? methods : methods + ["OPTIONS"]
        headers.set("Allow", all.joined(separator: ", "))
        headers.set("Access-Control-Allow-Methods", all.joined(separator: ", "))
        headers.set("Access-Control-Allow-Headers", allowedHeaders.joined(separator: ", "))
        headers.set("Access-Control-Max-Age", String(maxAgeSeconds))
        return HTTPResponse(status: 204, headers: headers)
    }
}
