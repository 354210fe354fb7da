import JobGateHTTP

/// Cross-origin access (`--cors-origins`): preflights answered here, and the CORS headers added
/// to every answer of the API's paths by the HTTP server's `finishResponse`, errors included.
extension APIService {
    /// Adds the CORS headers to `response` when it answers one of the API's own paths (not the
    /// dashboard's, which is same-origin by design, nor an unknown path).
    func addCORSHeaders(path: String, requestHeaders: HTTPHeaders, to response: inout HTTPResponse) {
        guard let cors = configuration.cors, !mounts.withLock({ $0.contains { $0.serves(path: path) } }) else { return }
        if case .notFound = router.match(method: "OPTIONS", path: path) { return }
        cors.decorate(&response, origin: requestHeaders["Origin"])
    }

    /// `OPTIONS` on one of the API's paths: a preflight from an allowed origin (or a plain
    /// `OPTIONS` without `Origin`) gets 204 with what the path allows; no token is needed,
    /// as browsers send none with a preflight. Another origin is refused with 403, so the
    /// page's developer sees why rather than a bare network error.
    func preflight(_ request: HTTPRequest, allowed: [String], _ cors: CORSPolicy) throws(APIError) -> HTTPResponse {
        if let origin = request.headers["Origin"], !cors.allows(origin: origin) {
            throw APIError(status: 403, code: "cors_origin_not_allowed",
                           message: "This origin may not call the API from a browser; the server allows the origins of --cors-origins only.")
        }
        return cors.preflight(methods: allowed)
    }
}
