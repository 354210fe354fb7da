import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import Synchronization

/// The API's request handler: routing, authentication, scopes, error mapping, the access
/// log and request metrics. The operations themselves are in the `APIService+…` files.
public final class APIService: Sendable {
    /// The configuration it was made with.
    public let configuration: APIConfiguration
    /// The router (its routes are what `/openapi.json` documents).
    public let router = Router()
    let pool: PostgresPool
    let store: JobStore
    /// The read replica's store (`--read-database-url`), when there is one: status, listings
    /// and events are read there. What it does not have yet (a job submitted a moment ago) is
    /// read from the primary, so a client never gets a 404 for a job it was just given.
    let replicaStore: JobStore?
    /// The replica's store if there is one, else the primary's.
    var readStore: JobStore { replicaStore ?? store }
    /// Who is calling (shared with what is mounted beside the API).
    public let authenticator: Authenticator
    let committer: SubmitCommitter
    /// Status reads of all connections coalesced into one `id = ANY(…)` query per batch, one
    /// batch at a time: a query's fixed cost (a round trip, executor start-up) dwarfs its
    /// per-row cost, so while one runs the next should grow rather than start beside it. The
    /// price: a batch stuck behind a lock holds up every read until it ends.
    let reader: Coalescer<UUID, Job?>
    let signer: OutputSigner
    let validator: JobRequestValidator
    let metrics: APIMetrics
    /// The job types that may be submitted, with their defaults: `job_types`, kept current.
    public let jobTypes: JobTypeCatalog
    let unavailableLog = RateLimitedLog(interval: .seconds(5))
    /// Routes mounted beside the API's own (the dashboard), asked first.
    let mounts = Mutex<[any HTTPMount]>([])

    /// A service over `pool` (which should have short acquire and connect timeouts; see
    /// `APIServer.databaseConfiguration`), reading from `readPool` when given.
    public init(configuration: APIConfiguration, pool: PostgresPool, readPool: PostgresPool? = nil) {
        self.configuration = configuration
        self.pool = pool
        self.store = JobStore(pool: pool)
        self.replicaStore = readPool.map { JobStore(pool: $0) }
        self.authenticator = Authenticator(tokens: TokenStore(pool: pool), jwt: configuration.jwt, cacheTTL: configuration.tokenCacheTTL)
        self.committer = SubmitCommitter(store: store, configuration: configuration.submit)
        self.reader = Coalescer(pool: readPool ?? pool, maxBatch: 500, maxInFlight: 1) { conn, ids in
            let found = try JobStore.jobs(ids: Array(Set(ids)), on: conn)
            let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            return ids.map { byID[$0] }
        }
        self.signer = OutputSigner(pool: pool, lifetimeSeconds: configuration.outputURLLifetimeSeconds)
        let catalog = JobTypeCatalog(store: JobTypeStore(pool: pool))
        self.jobTypes = catalog
        self.validator = JobRequestValidator(types: { catalog.current }, maxPayloadBytes: configuration.maxPayloadBytes)
        self.metrics = APIMetrics(configuration.metrics)
    }

    /// Answers one request; never throws, never answers 500 for a client's mistake.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let start = ContinuousClock.now
        var exchange = RequestNote()
        let mount = mounts.withLock { $0.first { $0.serves(path: request.path) } }
        var response: HTTPResponse
        do {
            if let mount {
                response = try await mount.respond(to: request, note: &exchange)
            } else {
                response = try await dispatch(request, &exchange)
            }
        } catch let e as APIError {
            response = e.response
        } catch let e as PostgresError where e.code == .nulInText {
            // The PostgreSQL layer refused a text parameter with a NUL before sending it.
            response = APIError.invalidText(field: nil).response
        } catch is SubmitCommitter.Overloaded {
            response = APIError.overloaded(retryAfter: configuration.overloadRetryAfterSeconds).response
        } catch let e as SubmitCommitter.NotStored {
            response = (databaseError(e.underlying, requestID: request.requestID, stored: false)
                ?? .databaseUnavailable(retryAfter: configuration.databaseRetryAfterSeconds, stored: false)).response
        } catch let e as SubmitCommitter.OutcomeUnknown {
            Log.warn("submit outcome unknown; answering 503 outcome_unknown", ["request.id": request.requestID, "error": String(describing: e.underlying)])
            response = APIError.outcomeUnknown(retryAfter: configuration.databaseRetryAfterSeconds).response
        } catch {
            if let answer = databaseError(error, requestID: request.requestID) {
                response = answer.response
            } else {
                Log.error("request failed", ["request.id": request.requestID, "http.route": exchange.route,
                                             "error": String(reflecting: error)])
                response = APIError.internalError.response
            }
        }
        for (name, value) in mount?.responseHeaders ?? [] { response.headers.set(name, value) }
        let seconds = (ContinuousClock.now - start).seconds
        metrics.observeRequest(method: request.method, route: exchange.route, status: response.status, seconds: seconds)
        if configuration.accessLog {
            let bytes: Int
            switch response.body {
            case .bytes(let b): bytes = b.count
            case .file(_, let size): bytes = Int(size)
            }
            Log.info("request", [
                "http.method": request.method, "http.route": exchange.route, "http.status": response.status,
                "http.bytes": bytes, "duration_ms": (seconds * 1e6).rounded() / 1e3, "request.id": request.requestID,
                "tenant": exchange.tenant ?? "",
            ])
        }
        return response
    }

    private func dispatch(_ request: HTTPRequest, _ exchange: inout RequestNote) async throws -> HTTPResponse {
        let (route, params): (Route, [String])
        switch router.match(method: request.method, path: request.path) {
        case .notFound: throw APIError.routeNotFound
        case .methodNotAllowed(let allowed, let routes):
            if request.method == "OPTIONS", let cors = configuration.cors { return try preflight(request, allowed: allowed, cors) }
            if routes.contains(where: \.isReference), !Self.carriesCredential(request) { return Self.missingAuthenticationToken }
            throw APIError.methodNotAllowed(configuration.cors == nil ? allowed : allowed + ["OPTIONS"])
        case .found(let r, let p): (route, params) = (r, p)
        }
        exchange.route = route.template
        var principal: Principal?
        if let scope = route.scope {
            let p = try await authenticator.authenticate(request.headers["Authorization"])
            exchange.tenant = p.tenant
            guard p.has(scope) else { throw APIError.forbidden(scope: scope.rawValue) }
            principal = p
        }
        let param = params.first ?? ""
        switch route.id {
        case .submitJob: return try await submitJob(request, principal!)
        case .submitBatch: return try await submitBatch(request, principal!)
        case .listJobs: return try await listJobs(request, principal!)
        case .getJob: return try await getJob(param, principal!)
        case .jobEvents: return try await jobEvents(param, principal!)
        case .cancelJob: return try await cancelJob(param, principal!)
        case .retryJob: return try await retryJob(param, principal!)
        case .listQueues: return try await listQueues()
        case .updateQueue: return try await updateQueue(param, request, principal!)
        case .pauseQueue: return try await pauseQueue(param, paused: true, principal!)
        case .resumeQueue: return try await pauseQueue(param, paused: false, principal!)
        case .listTenants: return try await listTenants()
        case .updateTenant: return try await updateTenant(param, request, principal!)
        case .createSchedule: return try await createSchedule(request, principal!)
        case .listSchedules: return try await listSchedules(principal!)
        case .getSchedule: return try await getSchedule(param, principal!)
        case .updateSchedule: return try await updateSchedule(request, param, principal!)
        case .deleteSchedule: return try await deleteSchedule(param, principal!)
        case .output: return try await output(request, id: param)
        case .referenceSubmit: return try await referenceSubmit(request, principal!)
        case .referenceStatus: return try await referenceStatus(request, id: param, principal!)
        case .healthz: return json("{\"status\":\"ok\",\"version\":\(JSONText.quote(configuration.version))}")
        case .readyz: return try await readyz(requestID: request.requestID)
        case .metrics: return await metricsResponse()
        case .openapi:
            return HTTPResponse.json(OpenAPIDocument.json(jobTypes: Array(jobTypes.current.keys), referenceFormat: configuration.referenceFormat,
                                                          cors: configuration.cors))
        }
    }

    /// A JSON response.
    func json(_ text: String, status: Int = 200, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        HTTPResponse.json(text, status: status, headers: headers)
    }

    /// The 503 for a database that cannot be reached (`database_unavailable`) or that did not
    /// answer within the statement timeout (`database_timeout`: the statement was cancelled and
    /// its transaction rolled back), logged at most once per interval (an outage answers every
    /// request so); nil for any other error.
    func databaseError(_ error: any Error, requestID: String, stored: Bool? = nil) -> APIError? {
        guard let e = error as? PostgresError else { return nil }
        let answer: APIError
        if e.code == .cancelled {
            answer = .databaseTimeout(retryAfter: configuration.databaseRetryAfterSeconds)
        } else if e.isUnavailable {
            answer = .databaseUnavailable(retryAfter: configuration.databaseRetryAfterSeconds, stored: stored)
        } else {
            return nil
        }
        if unavailableLog.shouldLog() {
            Log.warn("database unavailable or too slow; answering 503", ["request.id": requestID, "error": e.description])
        }
        return answer
    }

    /// The job id in a path, or 404 (an id that cannot exist is simply not found).
    func jobID(_ text: String) throws(APIError) -> UUID {
        guard let id = UUIDText.parse(text) else { throw APIError.jobNotFound(text) }
        return id
    }

    /// The job `id` if it exists and belongs to `tenant` (another tenant's job is not found),
    /// read through the coalescer, which fetches by id alone: the tenant is compared here, byte
    /// for byte as SQL's `text =` does on the other routes (never `String ==`, for which
    /// `cafe\u{301}` is `caf\u{e9}`).
    func readJob(_ id: UUID, tenant: TenantName) async throws -> Job? {
        var job = try await reader.submit(id)
        if job == nil, replicaStore != nil { job = try await store.job(id: id, tenant: nil) }
        guard let job, tenant.matches(job.tenant) else { return nil }
        return job
    }

    /// The current output signing key's secret (the dashboard derives its session key from it).
    public func signingSecret() async throws -> [UInt8] {
        try await signer.currentSecret()
    }

    /// Mounts `mount`'s routes beside the API's (before the server starts).
    public func mount(_ mount: any HTTPMount) {
        mounts.withLock { $0.append(mount) }
    }

    /// A signed output link for a completed job with an output.
    func signedOutput(_ job: Job) async throws -> OutputSigner.SignedURL? {
        guard job.status == .completed, job.output != nil else { return nil }
        return try await signer.sign(job.id)
    }
}
