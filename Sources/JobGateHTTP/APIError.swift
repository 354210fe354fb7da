/// A client-facing failure: an HTTP status and the house error body
/// `{"error":{"code","message","field"}}` (DESIGN.md §7).
///
/// Handlers throw it; the dispatcher turns it into the response. Messages never
/// carry tokens, payloads or SQL.
public struct APIError: Error, Sendable, Equatable {
    /// The HTTP status.
    public var status: Int
    /// A stable machine-readable code, e.g. `invalid_field`.
    public var code: String
    /// A sentence for humans.
    public var message: String
    /// The request field at fault (`type`, `jobs[3].priority`), if any.
    public var field: String?
    /// Extra response headers (`Retry-After`, `Allow`, `WWW-Authenticate`).
    public var headers: [String: String]

    /// An error with the given parts.
    public init(status: Int, code: String, message: String, field: String? = nil, headers: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    /// The error as an HTTP response.
    public var response: HTTPResponse {
        var h = HTTPHeaders()
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { h.set(k, v) }
        return .error(status: status, code: code, message: message, field: field, headers: h)
    }

    // MARK: common errors

    /// 400 for a field with a wrong type or an out-of-range value.
    public static func invalidField(_ field: String, _ message: String) -> APIError {
        APIError(status: 400, code: "invalid_field", message: message, field: field)
    }

    /// 400 for a value the validation let through and the database refused (SQLSTATE class 22).
    /// The database's message is logged, not sent: it may quote data.
    public static func invalidValue(sqlState: String) -> APIError {
        APIError(status: 400, code: "invalid_value",
                 message: "The database refused a value of this request (SQLSTATE \(sqlState)); nothing was stored.")
    }

    /// 400 for a required field that is absent (or null).
    public static func missingField(_ field: String) -> APIError {
        APIError(status: 400, code: "missing_field", message: "\(field) is required.", field: field)
    }

    /// 400 for a body that is not valid JSON; `field` is the member where parsing failed, if any.
    public static func malformedJSON(_ detail: String, field: String? = nil) -> APIError {
        APIError(status: 400, code: "malformed_json", message: "The request body is not valid JSON: \(detail)", field: field)
    }

    /// 400 for text holding a NUL byte, which PostgreSQL cannot store (DESIGN.md §13); `field`
    /// names it when known. Nothing was stored.
    public static func invalidText(field: String?) -> APIError {
        APIError(status: 400, code: "invalid_text",
                 message: (field ?? "A text value of this request") + " contains a NUL byte, which cannot be stored; nothing was changed.",
                 field: field)
    }

    /// 401: no usable credentials.
    public static func unauthorized(_ message: String) -> APIError {
        APIError(status: 401, code: "unauthorized", message: message, headers: ["WWW-Authenticate": "Bearer"])
    }

    /// 403: authenticated, but the token lacks `scope`.
    public static func forbidden(scope: String) -> APIError {
        APIError(status: 403, code: "forbidden", message: "This token lacks the scope \"\(scope)\".")
    }

    /// 404 for a job that does not exist for this tenant.
    public static func jobNotFound(_ id: String) -> APIError {
        APIError(status: 404, code: "not_found", message: "No job \(id) was found.")
    }

    /// 404 for a path no route serves.
    public static let routeNotFound = APIError(status: 404, code: "route_not_found", message: "No such route.")

    /// 405 with the methods the path allows.
    public static func methodNotAllowed(_ allowed: [String]) -> APIError {
        APIError(status: 405, code: "method_not_allowed", message: "Method not allowed; use \(allowed.joined(separator: ", ")).",
                 headers: ["Allow": allowed.joined(separator: ", ")])
    }

    /// 415 for a body that is not JSON.
    public static let unsupportedMediaType = APIError(
        status: 415, code: "unsupported_media_type", message: "The request body must be JSON (Content-Type: application/json).")

    /// 429: the submission backlog is over its cap.
    public static func overloaded(retryAfter: Int) -> APIError {
        APIError(status: 429, code: "too_many_requests", message: "The server is busy with a submission backlog; retry shortly.",
                 headers: ["Retry-After": String(retryAfter)])
    }

    /// 503: PostgreSQL cannot be reached. Says "nothing was stored" only when that was checked
    /// (`stored: false`): a write whose connection broke after it was sent may have committed.
    public static func databaseUnavailable(retryAfter: Int = 2, stored: Bool? = nil) -> APIError {
        let message = stored == false
            ? "The database is unavailable; nothing was stored. Retry shortly."
            : "The database is unavailable. Retry shortly."
        return APIError(status: 503, code: "database_unavailable", message: message, headers: ["Retry-After": String(retryAfter)])
    }

    /// 503: a submit's commit reply was lost and whether it was stored could not be checked.
    public static func outcomeUnknown(retryAfter: Int = 2) -> APIError {
        APIError(status: 503, code: "outcome_unknown",
                 message: "The database connection failed while committing; the job may have been stored. Retry with the same Idempotency-Key.",
                 headers: ["Retry-After": String(retryAfter)])
    }

    /// 503: PostgreSQL is up but did not answer within the statement timeout (the statement
    /// was cancelled, so its transaction rolled back).
    public static func databaseTimeout(retryAfter: Int = 2) -> APIError {
        APIError(status: 503, code: "database_timeout", message: "The database did not answer in time; nothing was changed. Retry shortly.",
                 headers: ["Retry-After": String(retryAfter)])
    }

    /// 500 for a failure that is the server's fault (details go to the log, not the client).
    public static let internalError = APIError(status: 500, code: "internal_error", message: "Internal server error.")
}
