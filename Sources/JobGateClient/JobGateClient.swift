import Foundation
import JobGateHTTP
import JobGateSystem

/// A typed async client of JobGate's HTTP API (`/v1/jobs…`, DESIGN.md §7).
///
/// ```swift
/// let client = try JobGateClient(baseURL: "http://127.0.0.1:8080", token: token)
/// let job = try await client.submit(type: "resize", payload: Resize(image: "a.png", width: 640))
/// let done = try await client.waitForCompletion(job.id, timeout: .seconds(60))
/// ```
///
/// Every call is one HTTP/1.1 request on a connection of its own (plain `http://`; put a TLS
/// proxy in front of the API for anything else), made on a thread of its own, never on Swift's
/// cooperative pool. A failure is a `JobGateClientError` carrying the API's status, error code
/// and message. A value of this type holds no connection: copy it freely, share it across tasks.
public struct JobGateClient: Sendable {
    /// The API's base URL, as given.
    public let baseURL: String
    private var http: HTTPClient

    /// Seconds to wait for a connection, for sending, and for each read of an answer (30 by default).
    public var requestTimeoutSeconds: Double {
        get { http.timeoutSeconds }
        set { http.timeoutSeconds = newValue }
    }

    /// A client of the API at `baseURL` (`http://host:port`) sending `token` (an API token or a
    /// JWT) as `Authorization: Bearer …`. Throws `.invalidRequest` for a URL it cannot use.
    public init(baseURL: String, token: String?) throws(JobGateClientError) {
        do {
            http = try HTTPClient(baseURL: baseURL, token: token)
        } catch {
            throw JobGateClientError(kind: .invalidRequest, message: "\(error)")
        }
        self.baseURL = baseURL
    }

    // MARK: submit

    /// Submits one job (`POST /v1/jobs`). Answers once the job is durable. With an idempotency
    /// key, a repeat answers the job the key first made; the same key with a different request
    /// is a `.api` error with code `idempotency_conflict` (409).
    public func submit(_ job: JobSubmission) async throws -> SubmittedJob {
        var body: [UInt8] = []
        job.appendJSON(to: &body)
        return try await request("POST", "/v1/jobs", body: body, expecting: [200, 202], as: SubmittedJob.self)
    }

    /// Submits a job of `type` whose payload is `payload` encoded as JSON. Nil fields take the
    /// type's defaults; see `JobSubmission` for each.
    public func submit<Payload: Encodable>(type: String, payload: Payload, queue: String? = nil, priority: Int? = nil,
                                           runAt: Date? = nil, idempotencyKey: String? = nil) async throws -> SubmittedJob {
        try await submit(JobSubmission(type: type, payload: payload, queue: queue, priority: priority, runAt: runAt,
                                       idempotencyKey: idempotencyKey))
    }

    /// Submits a job of `type` whose payload is JSON text (`{}` by default), sent as it is.
    public func submit(type: String, payloadJSON: String = "{}", queue: String? = nil, priority: Int? = nil,
                       runAt: Date? = nil, idempotencyKey: String? = nil) async throws -> SubmittedJob {
        try await submit(JobSubmission(type: type, payloadJSON: payloadJSON, queue: queue, priority: priority, runAt: runAt,
                                       idempotencyKey: idempotencyKey))
    }

    /// Submits up to 1000 jobs at once, all or nothing (`POST /v1/jobs/batch`); the answer is
    /// in the order of `jobs`. Any invalid job refuses the whole batch, naming it (`jobs[3].type`).
    public func submitBatch(_ jobs: [JobSubmission]) async throws -> [SubmittedJob] {
        var body = Array("{\"jobs\":[".utf8)
        for (i, job) in jobs.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            job.appendJSON(to: &body)
        }
        body += Array("]}".utf8)
        return try await request("POST", "/v1/jobs/batch", body: body, expecting: [202], as: BatchAnswer.self).jobs
    }

    // MARK: read

    /// The job now (`GET /v1/jobs/{id}`); a completed job with an output carries its signed link.
    /// Another tenant's job, or none, is a `.api` error with code `not_found` (404).
    public func status(_ id: UUID) async throws -> JobSnapshot {
        try await request("GET", Self.path(id), expecting: [200], as: JobSnapshot.self)
    }

    /// The job's history, oldest first (`GET /v1/jobs/{id}/events`).
    public func events(_ id: UUID) async throws -> [JobHistoryEvent] {
        try await request("GET", Self.path(id) + "/events", expecting: [200], as: EventsAnswer.self).events
    }

    /// The tenant's jobs, newest first, a page at a time (`GET /v1/jobs`): pass the previous
    /// page's `next` as `after` for the following one. `limit` is 1…1000 (50 by default).
    public func list(status: JobState? = nil, type: String? = nil, queue: String? = nil, limit: Int? = nil,
                     after: String? = nil) async throws -> JobPage {
        var query: [(String, String)] = []
        if let status { query.append(("status", status.rawValue)) }
        if let type { query.append(("type", type)) }
        if let queue { query.append(("queue", queue)) }
        if let limit { query.append(("limit", String(limit))) }
        if let after { query.append(("after", after)) }
        let target = "/v1/jobs" + (query.isEmpty ? "" : "?" + query.map { "\(Self.escape($0))=\(Self.escape($1))" }.joined(separator: "&"))
        return try await request("GET", target, expecting: [200], as: JobPage.self)
    }

    // MARK: change

    /// Cancels the job (`POST /v1/jobs/{id}/cancel`): a queued job at once, a running one as soon
    /// as its worker hears of it (the answer then still says `running`). A finished job is a
    /// `.api` error with code `job_finished` (409).
    public func cancel(_ id: UUID) async throws -> JobSnapshot {
        try await request("POST", Self.path(id) + "/cancel", expecting: [200], as: JobSnapshot.self)
    }

    /// Puts a failed or cancelled job back in its queue (`POST /v1/jobs/{id}/retry`). Any other
    /// state is a `.api` error with code `job_not_retryable` (409).
    public func retry(_ id: UUID) async throws -> JobSnapshot {
        try await request("POST", Self.path(id) + "/retry", expecting: [200], as: JobSnapshot.self)
    }

    // MARK: wait and fetch

    /// Polls the job until it is finished (completed, failed or cancelled) and returns it;
    /// check its `status`, a failed job is not an error here. The API has no long poll, so
    /// this reads the status with a growing pause (`initialInterval`, half as long again each
    /// time, at most `maxInterval`). Overload (429, with its `Retry-After`), a database outage
    /// (503) and unreachable servers are waited through until the deadline. After `timeout`
    /// it throws `.timedOut` with the last state seen. Cancelling the calling task stops it
    /// (a request already sent finishes first).
    public func waitForCompletion(_ id: UUID, timeout: Duration, initialInterval: Duration = .milliseconds(100),
                                  maxInterval: Duration = .seconds(2)) async throws -> JobSnapshot {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var interval = initialInterval
        var last: JobSnapshot?
        while true {
            var pause = interval
            // No single read may outlast the deadline by more than a second.
            var reader = self
            reader.requestTimeoutSeconds = min(requestTimeoutSeconds, max(1, (deadline - clock.now).seconds))
            do {
                let job = try await reader.status(id)
                if job.status.isFinished { return job }
                last = job
            } catch let error as JobGateClientError where error.isTransient {
                if let after = error.retryAfterSeconds { pause = max(pause, .seconds(after)) }
            }
            let remaining = deadline - clock.now
            guard remaining > .zero else {
                throw JobGateClientError(kind: .timedOut, message: "job \(UUIDText.lowercased(id)) did not finish within \(timeout)",
                                         job: last)
            }
            try await Task.sleep(for: min(pause, remaining))
            interval = min(maxInterval, interval * 1.5)
        }
    }

    /// Downloads a completed job's output through its signed link (which needs no token).
    /// Throws `.invalidRequest` for a job without one. An expired link is a `.api` 403: read
    /// the job again (`status`) for a fresh one.
    public func output(of job: JobSnapshot) async throws -> Data {
        guard let output = job.output else {
            throw JobGateClientError(kind: .invalidRequest,
                                     message: "job \(UUIDText.lowercased(job.id)) (\(job.status.rawValue)) has no output to fetch")
        }
        // The link is a path; behind `--public-url` it may be absolute: ask this client's server.
        var target = output.url
        if !target.hasPrefix("/"), let url = URLComponents(string: target) {
            target = url.percentEncodedPath + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
        return Data(try await send("GET", target, body: nil, expecting: [200]).body)
    }

    /// Downloads a completed job's output and decodes it from JSON as `type`.
    public func output<T: Decodable>(of job: JobSnapshot, as type: T.Type, decoder: JSONDecoder = JSONDecoder()) async throws -> T {
        let data = try await output(of: job)
        do { return try decoder.decode(type, from: data) } catch {
            throw JobGateClientError(kind: .invalidResponse, status: 200,
                                     message: "the output of job \(UUIDText.lowercased(job.id)) is not a \(T.self): \(error)")
        }
    }

    // MARK: the one request path

    private func request<T: Decodable>(_ method: String, _ target: String, body: [UInt8]? = nil, expecting: Set<Int>,
                                       as: T.Type) async throws -> T {
        let response = try await send(method, target, body: body, expecting: expecting)
        do {
            return try APITimestamp.decoder().decode(T.self, from: Data(response.body))
        } catch {
            throw JobGateClientError(kind: .invalidResponse, status: response.status,
                                     message: "\(method) \(Self.pathOnly(target)) answered JSON this client cannot read: \(error)",
                                     requestID: response.header("X-Request-Id"))
        }
    }

    /// Sends one request; an answer outside `expecting` becomes the error it describes.
    private func send(_ method: String, _ target: String, body: [UInt8]?, expecting: Set<Int>) async throws -> HTTPClient.Response {
        let response: HTTPClient.Response
        do {
            response = try await http.send(method, target, body: body)
        } catch let failure as HTTPClient.Failure {
            throw JobGateClientError(kind: .transport, message: "\(method) \(Self.pathOnly(target)) at \(baseURL): \(failure.description)")
        }
        guard !expecting.contains(response.status) else { return response }
        let requestID = response.header("X-Request-Id")
        let retryAfter = response.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if let answer = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body)) {
            return try Self.fail(JobGateClientError(kind: .api, status: response.status, code: answer.error.code,
                                                    message: answer.error.message, field: answer.error.field,
                                                    retryAfterSeconds: retryAfter, requestID: requestID))
        }
        return try Self.fail(JobGateClientError(kind: .invalidResponse, status: response.status,
                                                message: "\(method) \(Self.pathOnly(target)) answered HTTP \(response.status): "
                                                    + String(response.text.prefix(200)),
                                                retryAfterSeconds: retryAfter, requestID: requestID))
    }

    private static func fail(_ error: JobGateClientError) throws -> HTTPClient.Response { throw error }

    static func path(_ id: UUID) -> String { "/v1/jobs/" + UUIDText.lowercased(id) }

    /// The target without its query (an output link's signature stays out of error messages).
    static func pathOnly(_ target: String) -> Substring { target.prefix { $0 != "?" } }

    /// A query string component: everything but unreserved characters percent-encoded.
    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
