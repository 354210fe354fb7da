import Foundation
import JobGateAuth
import JobGateCore
import JobGateCrypto
import JobGateHTTP
import JobGatePostgres
import JobGateSystem

/// The reference-compatible routes (`/submit-job-request`, `/job-status/{job-id}`) and
/// signed output downloads.
extension APIService {
    func referenceSubmit(_ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        try JSONBody.checkContentType(request)
        // The whole body is the payload, stored as sent (jsonb normalises it).
        var payload = "{}"
        if !request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            _ = try JSONBody.parse(request.body)
            payload = request.bodyText
        }
        try validator.checkPayloadSize(payload.utf8.count, field: "payload")
        let type = configuration.referenceJobType
        let settings = jobTypes.current[type] ?? JobTypeSettings()
        var job = settings.newJob(tenant: principal.tenant, type: type, payload: payload)
        job.idempotencyKey = try JobRequestValidator.headerKey(request)
        job.traceId = JobRequestValidator.traceID(request)
        let outcome = try await committer.submit(job)
        switch outcome {
        case .created(let j): metrics.jobsSubmitted(type: type, queue: j.queue, count: 1)
        case .existing: break
        case .conflict(let existing): throw idempotencyConflict(existing, field: "Idempotency-Key")
        }
        let id = outcome.jobID.lowercasedString
        switch configuration.referenceFormat {
        case .cdk:
            return json("{\"jobId\":\"\(id)\",\"SendMessageResponse\":{\"SendMessageResult\":{\"MessageId\":\"\(id)\"}}}")
        case .sam:
            return Self.sendMessageResponse(messageID: id, body: request.body, requestID: request.requestID)
        }
    }

    /// Amazon SQS's reply to `SendMessage`, which the SAM stack's API Gateway passed through and
    /// its clients read with a regular expression: each element on one line, the id right after
    /// `<MessageId>`. Nothing needs escaping: a UUID, lowercase hex, and a request id of
    /// `A-Za-z0-9._-` (`HTTPRequest.requestID`).
    static func sendMessageResponse(messageID: String, body: [UInt8], requestID: String) -> HTTPResponse {
        let xml = """
            <?xml version="1.0"?>
            <SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">
                <SendMessageResult>
                    <MessageId>\(messageID)</MessageId>
                    <MD5OfMessageBody>\(Hex.encode(MD5.hash(body)))</MD5OfMessageBody>
                </SendMessageResult>
                <ResponseMetadata>
                    <RequestId>\(requestID)</RequestId>
                </ResponseMetadata>
            </SendMessageResponse>

            """
        return HTTPResponse(status: 200, contentType: "text/xml", bytes: Array(xml.utf8))
    }

    /// API Gateway's answer to a method the resource does not define, sent without a token:
    /// 403, although nothing is wrong with authentication (the reference's clients test for it).
    static let missingAuthenticationToken = HTTPResponse.json(
        #"{"message":"Missing Authentication Token"}"#, status: 403,
        headers: HTTPHeaders([("x-amzn-ErrorType", "MissingAuthenticationTokenException")]))

    /// Whether the request carries something in `Authorization` (valid or not).
    static func carriesCredential(_ request: HTTPRequest) -> Bool {
        guard let value = request.headers["Authorization"] else { return false }
        return !ASCII.trimmed(Substring(value)).isEmpty
    }

    func referenceStatus(_ request: HTTPRequest, id idText: String, _ principal: Principal) async throws -> HTTPResponse {
        guard let id = UUIDText.parse(idText), let job = try await readJob(id, tenant: principal.tenantName) else {
            return json("{\"Error Message\":\(JSONText.quote("No Job data found for Job Id : \(idText)"))}", status: 404)
        }
        let jobID = job.id.lowercasedString
        let status: String
        switch job.status {
        case .completed: status = "complete"
        case .queued, .running, .retrying: status = "Submitted"
        case .failed, .cancelled: status = job.status.rawValue
        }
        var body = "{\"jobId\":\"\(jobID)\",\"jobRequestId\":\"\(jobID)\",\"jobStatus\":\"\(status)\""
        if let signed = try await signedOutput(job) {
            body += ",\"jobProcessedPayloadLink\":\(JSONText.quote(baseURL(request) + signed.path))"
        }
        return json(body + "}")
    }

    /// Where clients reach us: the configured public URL, else from the request's `Host`.
    func baseURL(_ request: HTTPRequest) -> String {
        if let base = configuration.publicBaseURL { return base.hasSuffix("/") ? String(base.dropLast()) : base }
        if let host = request.headers["Host"], !host.isEmpty,
           host.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0 != "/" && $0 != "\\" && $0 != "@" }) {
            return "http://" + host
        }
        return "http://\(configuration.http.host):\(configuration.http.port)"
    }

    func output(_ request: HTTPRequest, id idText: String) async throws -> HTTPResponse {
        try await signer.verify(path: request.path, expires: request.query("expires"), kid: request.query("kid"), sig: request.query("sig"))
        guard let id = UUIDText.parse(idText), let stored = try await store.output(id: id) else {
            throw APIError(status: 404, code: "not_found", message: "This job has no output.")
        }
        let meta = stored.metadata
        let etag = "\"\(meta.sha256Hex)\""
        var headers = HTTPHeaders()
        headers.set("ETag", etag)
        headers.set("Cache-Control", "private, max-age=\(configuration.outputURLLifetimeSeconds)")
        if let inm = request.headers["If-None-Match"], inm.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return HTTPResponse(status: 304, headers: headers)
        }
        if let bytes = stored.content {
            return HTTPResponse(status: 200, contentType: meta.contentType, bytes: bytes, headers: headers)
        }
        guard let path = meta.path,
              let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
              size.intValue >= meta.size else {
            Log.warn("output file missing", ["job.id": id])
            throw APIError(status: 404, code: "output_missing", message: "The output file of this job is no longer available.")
        }
        return HTTPResponse.file(path: path, size: UInt64(meta.size), contentType: meta.contentType, headers: headers)
    }

    func readyz(requestID: String) async throws -> HTTPResponse {
        do {
            guard try await Migrator(pool: pool).isCurrent() else {
                throw APIError(status: 503, code: "schema_outdated", message: "The database schema is not current; run jobgate migrate.",
                               headers: ["Retry-After": String(configuration.databaseRetryAfterSeconds)])
            }
        } catch let e as APIError {
            throw e
        } catch {
            // Includes a missing schema_migrations table (never migrated).
            if let pg = error as? JobGatePostgres.PostgresError, pg.sqlState == "42P01" {
                throw APIError(status: 503, code: "schema_outdated", message: "The database has not been migrated; run jobgate migrate.",
                               headers: ["Retry-After": String(configuration.databaseRetryAfterSeconds)])
            }
            throw databaseError(error, requestID: requestID) ?? APIError.databaseUnavailable(retryAfter: configuration.databaseRetryAfterSeconds)
        }
        return json("{\"status\":\"ready\"}")
    }
}
