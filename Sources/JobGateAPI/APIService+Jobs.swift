import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem

/// `/v1/jobs…`: submit (group-committed), batch, list, read, events, cancel, retry.
extension APIService {
    func submitJob(_ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        let fields = try JSONBody.object(request)
        let job = try validator.newJob(fields, tenant: principal.tenant, headerKey: try JobRequestValidator.headerKey(request),
                                       traceID: JobRequestValidator.traceID(request))
        let outcome = try await committer.submit(job)
        let status: Int
        switch outcome {
        case .created(let j):
            status = 202
            metrics.jobsSubmitted(type: j.type, queue: j.queue, count: 1)
        case .existing: status = 200
        case .conflict(let existing):
            throw idempotencyConflict(existing, field: "idempotencyKey")
        }
        let (id, jobStatus) = Self.idAndStatus(outcome)
        let statusURL = "/v1/jobs/" + id
        var headers = HTTPHeaders()
        headers.set("Location", statusURL)
        return json("{\"jobId\":\"\(id)\",\"status\":\"\(jobStatus)\",\"statusUrl\":\"\(statusURL)\"}", status: status, headers: headers)
    }

    func submitBatch(_ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        let fields = try JSONBody.object(request)
        try fields.rejectUnknown(["jobs"])
        guard request.headers["Idempotency-Key"] == nil else {
            throw APIError(status: 400, code: "invalid_header",
                           message: "A batch takes no Idempotency-Key header; give each job an idempotencyKey.", field: "Idempotency-Key")
        }
        guard case .array(let items) = fields.value("jobs") else {
            throw APIError.invalidField("jobs", "jobs must be an array of job requests.")
        }
        guard (1...configuration.maxBatchJobs).contains(items.count) else {
            throw APIError.invalidField("jobs", "jobs must hold 1 to \(configuration.maxBatchJobs) job requests.")
        }
        let trace = JobRequestValidator.traceID(request)
        let now = Date()
        var jobs: [NewJob] = []
        jobs.reserveCapacity(items.count)
        // Keyed by the key's bytes: two keys are one only when the database's unique index says so.
        var keys: [[UInt8]: (index: Int, job: NewJob, payload: [UInt8])] = [:]
        for (i, item) in items.enumerated() {
            guard let o = fields.fields(of: item, prefix: "jobs[\(i)].") else {
                throw APIError.invalidField("jobs[\(i)]", "jobs[\(i)] must be a JSON object.")
            }
            let job = try validator.newJob(o, tenant: principal.tenant, traceID: trace, now: now)
            if let key = job.idempotencyKey.map({ Array($0.utf8) }) {
                // The same key twice is fine for the same request (both get one job); for a
                // different request it is refused before anything is stored. Payloads are
                // compared in a canonical form (as the database's request hash compares them),
                // worked out once per job so the check stays linear in the body; none is {}.
                let payload = (o.object["payload"]?.value ?? .object(JSONObject(members: []))).canonical
                if let first = keys[key], !(Self.sameRequest(first.job, job) && first.payload == payload) {
                    throw APIError.invalidField("jobs[\(i)].idempotencyKey",
                                                "jobs[\(i)] reuses the idempotencyKey of jobs[\(first.index)] for a different request.")
                }
                if keys[key] == nil { keys[key] = (i, job, payload) }
            }
            jobs.append(job)
        }
        // All or nothing: a conflict anywhere means none of the batch was stored.
        let outcomes: [SubmitOutcome]
        switch try await committer.submit(jobs) {
        case .committed(let o): outcomes = o
        case .conflict(let i, let existing): throw idempotencyConflict(existing, field: "jobs[\(i)].idempotencyKey")
        }
        var created: [JobKind: Int] = [:]
        var body = "{\"jobs\":["
        body.reserveCapacity(64 * outcomes.count + 16)
        for (i, outcome) in outcomes.enumerated() {
            if case .created(let j) = outcome { created[JobKind(type: j.type, queue: j.queue), default: 0] += 1 }
            let (id, status) = Self.idAndStatus(outcome)
            body += (i == 0 ? "" : ",") + "{\"jobId\":\"\(id)\",\"status\":\"\(status)\"}"
        }
        for (kind, n) in created { metrics.jobsSubmitted(type: kind.type, queue: kind.queue, count: n) }
        return json(body + "]}", status: 202)
    }

    func listJobs(_ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        var status: JobStatus?
        if let s = request.query("status") {
            guard let st = JobStatus(rawValue: s) else {
                throw APIError.invalidField("status", "status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            status = st
        }
        var limit = 50
        if let l = request.query("limit") {
            guard let n = Int(l), (1...1000).contains(n) else { throw APIError.invalidField("limit", "limit must be an integer from 1 to 1000.") }
            limit = n
        }
        var after: UUID?
        if let a = request.query("after") {
            guard let id = UUIDText.parse(a) else { throw APIError.invalidField("after", "after must be the next cursor of a previous page.") }
            after = id
        }
        let type = request.query("type").flatMap { $0.isEmpty ? nil : $0 }
        let queue = request.query("queue").flatMap { $0.isEmpty ? nil : $0 }
        let jobs = try await readStore.list(tenant: principal.tenant, status: status, type: type, queue: queue, limit: limit, after: after)
        var body = "{\"jobs\":["
        for (i, job) in jobs.enumerated() {
            body += (i == 0 ? "" : ",") + JobJSON.job(job, output: try await signedOutput(job))
        }
        let next = jobs.count == limit ? jobs.last.map { "\"\($0.id.lowercasedString)\"" } ?? "null" : "null"
        return json(body + "],\"next\":\(next)}")
    }

    func getJob(_ idText: String, _ principal: Principal) async throws -> HTTPResponse {
        let id = try jobID(idText)
        guard let job = try await readJob(id, tenant: principal.tenantName) else { throw APIError.jobNotFound(idText) }
        return json(JobJSON.job(job, output: try await signedOutput(job)))
    }

    func jobEvents(_ idText: String, _ principal: Principal) async throws -> HTTPResponse {
        let id = try jobID(idText)
        var events = try await readStore.events(jobID: id, tenant: principal.tenant)
        if events.isEmpty, replicaStore != nil { events = try await store.events(jobID: id, tenant: principal.tenant) }
        // Every job has its `submitted` event, so none means no such job for this tenant.
        guard !events.isEmpty else { throw APIError.jobNotFound(idText) }
        return json("{\"events\":[" + events.map(JobJSON.event).joined(separator: ",") + "]}")
    }

    func cancelJob(_ idText: String, _ principal: Principal) async throws -> HTTPResponse {
        let id = try jobID(idText)
        switch try await store.cancel(id: id, tenant: principal.tenant, message: "cancelled through the API") {
        case .cancelled(let job), .cancelRequested(let job):
            return json(JobJSON.job(job, output: nil))
        case .alreadyFinished(let job):
            throw APIError(status: 409, code: "job_finished", message: "The job is already \(job.status.rawValue); nothing to cancel.")
        case .notFound:
            throw APIError.jobNotFound(idText)
        }
    }

    func retryJob(_ idText: String, _ principal: Principal) async throws -> HTTPResponse {
        let id = try jobID(idText)
        switch try await store.redrive(id: id, tenant: principal.tenant) {
        case .redriven(let job):
            return json(JobJSON.job(job, output: nil))
        case .notRedrivable(let job):
            throw APIError(status: 409, code: "job_not_retryable",
                           message: "Only failed or cancelled jobs can be retried; this one is \(job.status.rawValue).")
        case .notFound:
            throw APIError.jobNotFound(idText)
        }
    }

    func idempotencyConflict(_ existing: UUID, field: String) -> APIError {
        APIError(status: 409, code: "idempotency_conflict",
                 message: "This idempotency key was already used for a different request (job \(existing.lowercasedString)).",
                 field: field)
    }

    /// Whether two submissions agree on everything idempotency compares except the payload,
    /// which callers compare as JSON (`runAt` aside, as in `JobStore`).
    static func sameRequest(_ a: NewJob, _ b: NewJob) -> Bool {
        a.type == b.type && a.queue == b.queue && a.priority == b.priority && a.maxAttempts == b.maxAttempts
            && a.timeoutSeconds == b.timeoutSeconds
    }

    static func idAndStatus(_ outcome: SubmitOutcome) -> (String, String) {
        switch outcome {
        case .created(let j), .existing(let j): return (j.id.lowercasedString, j.status.rawValue)
        case .conflict(let id): return (id.lowercasedString, "conflict")
        }
    }
}

/// A (type, queue) pair, for counting submissions per metric series.
struct JobKind: Hashable {
    var type: String
    var queue: String
}
