import JobGateAuth
import JobGateCore
import JobGateHTTP

/// Everything an API node needs to know, as one `Sendable` value with working defaults.
public struct APIConfiguration: Sendable {
    /// The HTTP listener: address, port (0 picks a free one), connection limits, timeouts, body cap.
    public var http = HTTPServer.Configuration()
    /// How often the node reloads `job_types` besides on its NOTIFY (the types that may be
    /// submitted, with their defaults, come from that table).
    public var jobTypesReloadInterval: Duration = .seconds(10)
    /// The type `POST /submit-job-request` creates.
    public var referenceJobType = "weather"
    /// Which variant of the reference sample the reference routes answer like (the submit's
    /// shape; both answer an undefined method without a token as API Gateway does).
    public var referenceFormat: ReferenceFormat = .cdk
    /// Cross-origin browser access to the API's routes (not the dashboard); nil: none, and
    /// `OPTIONS` is an undefined method like any other.
    public var cors: CORSPolicy?
    /// Largest job payload, as JSON text (413 above).
    public var maxPayloadBytes = 256 * 1024
    /// Most jobs in one `POST /v1/jobs/batch`.
    public var maxBatchJobs = 1000
    /// Seconds a signed output URL stays valid.
    public var outputURLLifetimeSeconds = 3600
    /// Scheme, host and port clients reach this API at (e.g. `https://jobs.example.com`), for
    /// absolute links such as `jobProcessedPayloadLink`; nil uses the request's `Host`.
    public var publicBaseURL: String?
    /// JWT acceptance; nil accepts API tokens only.
    public var jwt: JWTAuthSettings?
    /// How long a looked-up API token is trusted before it is read again (bounds revocation delay).
    public var tokenCacheTTL: Duration = .seconds(2)
    /// Group-commit batching and the backlog cap behind 429.
    public var submit = SubmitCommitter.Configuration()
    /// `Retry-After` seconds on 503 when the database is unreachable.
    public var databaseRetryAfterSeconds = 2
    /// `Retry-After` seconds on 429.
    public var overloadRetryAfterSeconds = 1
    /// Whether every request gets an access log line.
    public var accessLog = true
    /// Marks the dashboard's session cookie `Secure` (set when the API is served over HTTPS,
    /// e.g. behind a TLS proxy: `--public-url https://…`).
    public var secureCookies = false
    /// Where request and submission metrics go (`/metrics` renders its registry).
    public var metrics: JobGateMetrics = .shared
    /// Whether `/metrics` also reports this API's database pool and the queue depths. Those
    /// gauges can be registered once per registry: leave it off when something else in the
    /// process (a worker pool in `jobgate up`) already registers them, or when several servers
    /// share one registry (tests).
    public var observeDatabase = false
    /// The version reported by `/healthz` and the metrics.
    public var version = "dev"

    /// The defaults: 127.0.0.1:8080, API tokens only.
    public init() {}
}

/// The variant of the reference sample ("API Gateway SQS queue based ingestion") whose
/// clients `POST /submit-job-request` and `GET /job-status/{job-id}` serve unchanged.
public enum ReferenceFormat: String, Sendable, CaseIterable {
    /// The SAM stack: API Gateway passes SQS's own reply through, the `SendMessageResponse`
    /// XML (`text/xml`) with `MessageId`, `MD5OfMessageBody` and `RequestId`.
    case sam
    /// The CDK stack: the same reply as JSON,
    /// `{"jobId", "SendMessageResponse":{"SendMessageResult":{"MessageId"}}}`.
    case cdk
}
