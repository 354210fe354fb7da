import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateWorker

/// Options of the HTTP API, shared by `serve` and `up`, resolved flag > environment > default.
enum APISettings {
    static let options: [OptionSpec] = [
        OptionSpec("listen", value: "HOST:PORT", env: "JOBGATE_LISTEN", default: "127.0.0.1:8080",
                   help: "address the API listens on (numeric IP; :PORT means all interfaces)"),
        OptionSpec("public-url", value: "URL", env: "JOBGATE_PUBLIC_URL",
                   help: "base URL clients reach the API at, for absolute output links (default: from the request's Host)"),
        OptionSpec("api-db-connections", value: "N", env: "JOBGATE_API_DB_CONNECTIONS", default: "16",
                   help: "database connections the API may open"),
        OptionSpec("api-db-timeout", value: "SECONDS", env: "JOBGATE_API_DB_TIMEOUT", default: "15",
                   help: "longest an API statement may run before the request gets 503 (0: no limit)"),
        OptionSpec("max-backlog", value: "N", env: "JOBGATE_MAX_BACKLOG", default: "50000",
                   help: "submitted jobs waiting for their group commit before new submits get 429"),
        OptionSpec("http-connections", value: "N", env: "JOBGATE_HTTP_CONNECTIONS", default: "1024", help: "open HTTP connections at most"),
        OptionSpec("http-per-ip", value: "N", env: "JOBGATE_HTTP_PER_IP", default: "a quarter of --http-connections",
                   help: "most HTTP connections one client IP may hold, at most a quarter of --http-connections so one address cannot lock others out (0: no per-IP limit, e.g. behind a proxy)"),
        OptionSpec("http-timeout", value: "SECONDS", env: "JOBGATE_HTTP_TIMEOUT", default: "30",
                   help: "a connection that receives nothing for this long (idle between requests, or stalled mid-request) is closed"),
        OptionSpec("http-header-timeout", value: "SECONDS", env: "JOBGATE_HTTP_HEADER_TIMEOUT", default: "10",
                   help: "a request head (request line and headers) must arrive completely within this, however it trickles (0: no deadline)"),
        OptionSpec("max-body", value: "BYTES", env: "JOBGATE_MAX_BODY", default: "1048576", help: "largest request body (413 above)"),
        OptionSpec("output-url-ttl", value: "DURATION", env: "JOBGATE_OUTPUT_URL_TTL", default: "1h",
                   help: "how long signed output URLs stay valid"),
        OptionSpec("jwks", value: "FILE|URL", env: "JOBGATE_JWKS",
                   help: "accept JWTs (RS256/ES256) signed by keys of this JWKS file or http(s) URL"),
        OptionSpec("jwt-issuer", value: "ISS", env: "JOBGATE_JWT_ISSUER", help: "required iss of JWTs"),
        OptionSpec("jwt-audience", value: "AUD", env: "JOBGATE_JWT_AUDIENCE", help: "required aud of JWTs"),
        OptionSpec("jwt-tenant-claim", value: "NAME", env: "JOBGATE_JWT_TENANT_CLAIM", default: "tenant",
                   help: "JWT claim naming the tenant (e.g. custom:tenant, org_id)"),
        OptionSpec("jwt-default-tenant", value: "T", env: "JOBGATE_JWT_DEFAULT_TENANT",
                   help: "tenant of JWTs without the tenant claim (default: such tokens get 401)"),
        OptionSpec("jwt-scopes-claim", value: "NAME", env: "JOBGATE_JWT_SCOPES_CLAIM", default: "scope",
                   help: "JWT claim holding scopes, space-separated or an array (e.g. scp, permissions)"),
        OptionSpec("jwt-default-scopes", value: "a,b", env: "JOBGATE_JWT_DEFAULT_SCOPES",
                   help: "scopes of JWTs that carry no scopes claim at all, e.g. an identity provider's ID tokens of ordinary users (jobs:submit,jobs:read lets every signed-in user submit and read, as the reference sample did; default: none)"),
        OptionSpec("cors-origins", value: "LIST|*", env: "JOBGATE_CORS_ORIGINS",
                   help: "browser origins allowed to call the API from their pages (https://app.example.com,http://localhost:3000), or * for any; preflights are answered (default: no CORS)"),
        OptionSpec("reference-format", value: "sam|cdk", env: "JOBGATE_REFERENCE_FORMAT", default: "cdk",
                   help: "what POST /submit-job-request answers: sam, the SQS SendMessageResponse XML of the SAM stack; cdk, its JSON form of the CDK stack"),
        OptionSpec("no-access-log", help: "do not log a line per request"),
    ]

    /// The API configuration from `args` (the job types come from the database's `job_types`).
    static func configuration(_ args: Arguments) throws -> APIConfiguration {
        var c = APIConfiguration()
        let (host, port) = try listen(args.string("listen", default: "127.0.0.1:8080"))
        c.http.host = host
        c.http.port = port
        c.http.connectionLimit = try args.int("http-connections", default: 1024, range: 1...1_000_000)
        c.http.perIPConnectionLimit = try perIPLimit(args, connectionLimit: c.http.connectionLimit)
        c.http.connectionTimeoutSeconds = try args.int("http-timeout", default: 30, range: 1...3600)
        c.http.headerTimeoutSeconds = try args.int("http-header-timeout", default: 10, range: 0...3600)
        c.http.maxBodyBytes = try args.int("max-body", default: 1 << 20, range: 1024...(1 << 30))
        c.publicBaseURL = args.string("public-url")
        c.secureCookies = c.publicBaseURL?.hasPrefix("https://") ?? false
        c.submit.maxBacklogJobs = try args.int("max-backlog", default: 50_000, range: 1...10_000_000)
        c.outputURLLifetimeSeconds = Int(try args.duration("output-url-ttl", default: .seconds(3600)).seconds)
        guard c.outputURLLifetimeSeconds >= 1 else { throw UsageError("--output-url-ttl must be at least 1s") }
        c.accessLog = !args.flag("no-access-log")
        c.version = JobGateCLI.version
        if let jwks = args.string("jwks") {
            var jwt = JWTAuthSettings()
            if jwks.hasPrefix("http://") || jwks.hasPrefix("https://") { jwt.jwksURL = jwks } else { jwt.jwksFile = jwks }
            jwt.issuer = args.string("jwt-issuer")
            jwt.audience = args.string("jwt-audience")
            jwt.tenantClaim = args.string("jwt-tenant-claim", default: "tenant")
            jwt.scopesClaim = args.string("jwt-scopes-claim", default: "scope")
            jwt.defaultTenant = args.string("jwt-default-tenant")
            if let t = jwt.defaultTenant, let problem = TenantName.problem(t) {
                throw UsageError("--jwt-default-tenant \"\(t)\" is not a valid tenant name: \(problem)")
            }
            jwt.defaultScopes = try defaultScopes(args)
            c.jwt = jwt
        } else if args.string("jwt-issuer") != nil || args.string("jwt-audience") != nil || args.string("jwt-default-scopes") != nil {
            throw UsageError("--jwt-issuer, --jwt-audience and --jwt-default-scopes need --jwks")
        }
        if let origins = args.string("cors-origins") {
            do {
                c.cors = try CORSPolicy.parse(origins)
            } catch {
                throw UsageError("--cors-origins: \(error.description)")
            }
        }
        let format = args.string("reference-format", default: ReferenceFormat.cdk.rawValue)
        guard let referenceFormat = ReferenceFormat(rawValue: format) else {
            throw UsageError("--reference-format must be sam or cdk, got \"\(format)\"")
        }
        c.referenceFormat = referenceFormat
        return c
    }

    /// `--jwt-default-scopes`: known scope names, never `operator`, which would hand every
    /// signed-in user of the identity provider the operations across all tenants.
    static func defaultScopes(_ args: Arguments) throws -> Set<Scope> {
        guard let text = args.string("jwt-default-scopes") else { return [] }
        let scopes: [Scope]
        switch Scope.parseList(text) {
        case .success(let s): scopes = s
        case .failure(let e): throw UsageError("--jwt-default-scopes: \(e.message)")
        }
        guard !scopes.isEmpty else { throw UsageError("--jwt-default-scopes needs at least one scope, e.g. jobs:submit,jobs:read") }
        guard !scopes.contains(.operator) else {
            throw UsageError("--jwt-default-scopes may not grant operator: every signed-in user would reach every tenant; give it to chosen users through the scopes claim")
        }
        return Set(scopes)
    }

    /// `--http-per-ip`: by default a quarter of the connection limit; more is refused,
    /// since one address could then lock every other client out.
    static func perIPLimit(_ args: Arguments, connectionLimit: Int) throws -> Int {
        let largest = HTTPServer.Configuration.largestPerIPConnectionLimit(connectionLimit: connectionLimit)
        let limit = try args.int("http-per-ip", default: largest, range: 0...1_000_000)
        guard limit <= largest else {
            throw UsageError("--http-per-ip \(limit) is more than a quarter of --http-connections \(connectionLimit): one address could hold more than a quarter of all connections; use at most \(largest), or 0 for no per-IP limit behind a proxy")
        }
        return limit
    }

    /// The API's own pool (short timeouts: an unreachable database is a quick 503).
    static func pool(_ args: Arguments, url: String, applicationName: String = "jobgate-api") throws -> PostgresPool {
        let n = try args.int("api-db-connections", default: 16, range: 1...1000)
        let timeout = try args.int("api-db-timeout", default: 15, range: 0...86_400)
        var c = APIServer.databaseConfiguration(url: url, maxConnections: n, statementTimeoutSeconds: timeout)
        c.applicationName = applicationName
        DatabaseLocation.applyTopology(args, to: &c)
        return PostgresPool(configuration: c)
    }

    /// The API's pool on the read replica (`--read-database-url`), tuned as its own; nil without one.
    /// Nothing LISTENs on it, so `--listen-database-url` does not matter here.
    static func readPool(_ args: Arguments) throws -> PostgresPool? {
        guard let url = args.string("read-database-url") else { return nil }
        return try pool(args, url: url, applicationName: "jobgate-api-read")
    }

    /// Parses `HOST:PORT`, `[V6]:PORT` or `:PORT`.
    static func listen(_ s: String) throws -> (String, Int) {
        var host = "0.0.0.0"
        var portText = s
        if s.hasPrefix("[") , let close = s.firstIndex(of: "]") {
            host = String(s[s.index(after: s.startIndex)..<close])
            portText = String(s[s.index(after: close)...].dropFirst())
        } else if let colon = s.lastIndex(of: ":") {
            if colon != s.startIndex { host = String(s[..<colon]) }
            portText = String(s[s.index(after: colon)...])
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else {
            throw UsageError("--listen must be HOST:PORT with a numeric IP, got \"\(s)\"")
        }
        return (host, port)
    }

    /// For `up`: starts the API on `url`'s database and makes a fresh admin token for the
    /// `default` tenant, with `operator` too so its dashboard shows every tenant (revoking the
    /// one the previous `up` printed). Returns the server and the secret.
    static func startForUp(_ args: Arguments, url: String) async throws -> (APIServer, String) {
        var configuration = try configuration(args)
        // `up`'s worker registers no database gauges, so the API does it (once per process).
        configuration.observeDatabase = true
        let pool = try pool(args, url: url)
        let tokens = TokenStore(pool: pool)
        for old in try await tokens.list(tenant: "default") where old.name == "jobgate up" && old.revokedAt == nil {
            try await tokens.revoke(id: old.id)
        }
        let secret = try await tokens.create(tenant: "default", scopes: [.admin, .operator], name: "jobgate up").secret
        let server = Node.apiServer(configuration: configuration, pool: pool, readPool: try readPool(args))
        try await server.start()
        return (server, secret)
    }
}

extension JobGateCLI {
    static let serveCommand = Command(
        name: "serve", summary: "run the HTTP API only",
        usage: "jobgate serve [--listen HOST:PORT] [--job-types FILE] [--jwks FILE|URL ...] [--database-url URL]",
        options: APISettings.options + [
            OptionSpec("job-types", value: "FILE", env: "JOBGATE_JOB_TYPES",
                       help: "JSON file of command job types to write to the database's job_types at start (not needed: the API reads that table)"),
            OptionSpec("grace-seconds", value: "N", env: "JOBGATE_GRACE_SECONDS", default: "10",
                       help: "on SIGTERM, how long in-flight requests may finish"),
        ]
    ) { args in
        let url = try DatabaseLocation.required(args)
        let registry = try WorkerSettings.registry(args)
        var configuration = try APISettings.configuration(args)
        configuration.observeDatabase = true
        let grace = try args.int("grace-seconds", default: 10, range: 0...3600)
        let signals = Signals.termination()
        let pool = try APISettings.pool(args, url: url)
        defer { pool.shutdown() }
        // Types declared in a file here are written to job_types, as a worker would (an API
        // node needs no file: it reads the table).
        let declared = registry.declaredSettings
        if !declared.isEmpty {
            for change in try await JobTypeStore(pool: pool).apply(declared, by: "jobgate serve --job-types") {
                Log.info("job type written", ["type": change.name, "added": change.before == nil])
            }
        }
        let readPool = try APISettings.readPool(args)
        defer { readPool?.shutdown() }
        let server = Node.apiServer(configuration: configuration, pool: pool, readPool: readPool)
        do {
            try await server.start()
        } catch let e as APIConfigurationError {
            throw RuntimeFailure(e.description)
        }
        print("jobgate API listening on \(server.url)")
        let stopper = Task {
            for await sig in signals {
                Log.info("shutting down", ["signal": Int(sig)])
                server.shutdown()
                break
            }
        }
        defer { stopper.cancel() }
        try await server.run(gracePeriod: .seconds(grace))
        return 0
    }
}
