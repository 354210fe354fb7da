import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
@testable import JobGateCrypto
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Testing

/// The hostile-client findings of issue 12 and the attack classes that already failed, each
/// against a real server and database (`docs/security.md` is the map). The HTTP-layer items
/// (NUL/CR/LF in header values, the request-head deadline, per-IP limits) are tested in
/// JobGateHTTPTests.
@Suite struct SecurityTests {
    static let form = "application/x-www-form-urlencoded"

    // MARK: tenants (DESIGN.md §13)

    @Test func tenantNamesAreOneSmallSetComparedAsBytes() {
        for good in ["a", "acme", "0", "team-7.eu_west", String(repeating: "x", count: 63)] {
            #expect(TenantName(good)?.rawValue == good, "\(good)")
        }
        for bad in ["", "Acme", "-acme", ".acme", "_acme", "a b", "acme/x", "caf\u{e9}", "cafe\u{301}", "acme\u{0}evil",
                    "acme\n", String(repeating: "x", count: 64), "ａｃｍｅ"] {
            #expect(TenantName(bad) == nil, "\(bad.debugDescription)")
            #expect(TenantName.problem(bad) != nil)
        }
        // Swift's String == calls these equal (canonical equivalence); tenants never are.
        #expect("cafe\u{301}" == "caf\u{e9}")
        #expect(!TenantName.same("cafe\u{301}", "caf\u{e9}"))
        let a = TenantName("acme")!
        #expect(a.matches("acme") && !a.matches("acme ") && !a.matches("ACME"))
        #expect(Set([a, TenantName("acme")!]).count == 1)
    }

    @Test func tokenCreateRefusesAnInvalidTenant() async throws {
        let f = try await APIFixture.make("sectokcli")
        defer { Task { await f.stop() } }
        let env = ["JOBGATE_DATABASE_URL": f.db.processURL]
        for bad in ["Acme", "cafe\u{301}", "-x", String(repeating: "a", count: 64)] {
            let (code, output) = try await ClientCommandTests().jobgate(["token", "create", "--tenant", bad, "--scopes", "jobs:read"], env: env)
            #expect(code == 2, "\(bad): \(output)")
            #expect(output.contains("not a valid tenant name"), "\(output)")
        }
        #expect(try await f.count("SELECT count(*) FROM jobgate.api_tokens") == 0)
        // The library refuses too.
        await #expect(throws: APIError.self) { _ = try await f.tokens.create(tenant: "Acme", scopes: [.read]) }
        #expect(try await ClientCommandTests().jobgate(["token", "create", "--tenant", "acme.eu-1", "--scopes", "jobs:read"], env: env).0 == 0)
    }

    /// A token row written before names were checked (or by hand) acts for no tenant: its
    /// "cafe\u{301}" was canonically equal to "caf\u{e9}" in the coalesced status read.
    @Test func aTokenRowWithAnInvalidTenantIsRefusedAndNoLookAlikeReadsAnotherTenant() async throws {
        let f = try await APIFixture.make("secrow")
        defer { Task { await f.stop() } }
        let owner = try #require(try await JobStore(pool: f.pool).submit([NewJob(tenant: "caf\u{e9}", type: "noop", runAt: Date() + 3600)]).first)
        guard case .created(let job) = owner else { Issue.record("not created"); return }
        let id = job.id.lowercasedString
        let secret = "jg_" + SecureRandom.token(bytes: 32)
        try await f.pool.query("""
            INSERT INTO jobgate.api_tokens (id, tenant, name, scopes, token_hash) VALUES ($1, $2, 'legacy', '{admin,jobs:read}', $3)
            """, [UUIDv7.make(), "cafe\u{301}", TokenStore.hash(secret)])
        let lookAlike = try f.client(secret)
        for path in ["/v1/jobs/\(id)", "/job-status/\(id)", "/v1/jobs", "/v1/jobs/\(id)/events"] {
            let r = try await lookAlike.send("GET", path)
            #expect(r.status == 401, "\(path): \(r.status) \(r.text)")
            #expect(!r.text.contains(id) || path != "/v1/jobs")
        }
    }

    @Test func aJWTWhoseTenantIsOutsideTheSetIs401() async throws {
        let signer = try JWTSigner(generating: .es256)
        let f = try await APIFixture.make("secjwt", trusting: signer)
        defer { Task { await f.stop() } }
        let acme = try f.client(try await f.token(tenant: "acme"))
        let id = try #require(try await acme.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]).string("jobId"))
        func jwt(_ tenant: String) throws -> String {
            try signer.sign(["tenant": .string(tenant), "scope": "jobs:submit jobs:read jobs:cancel admin",
                             "exp": .number(Date().timeIntervalSince1970 + 300)])
        }
        // libpq cut "acme\0evil" to "acme": it listed, read and cancelled acme's jobs.
        for tenant in ["acme\u{0}evil", "cafe\u{301}", "ACME", "acme ", String(repeating: "a", count: 64)] {
            let c = try f.client(try jwt(tenant))
            for (method, path) in [("GET", "/v1/jobs"), ("GET", "/v1/jobs/\(id)"), ("GET", "/v1/jobs/\(id)/events"),
                                   ("POST", "/v1/jobs/\(id)/cancel"), ("GET", "/job-status/\(id)")] {
                let r = try await c.send(method, path)
                #expect(r.status == 401, "\(tenant.debugDescription) \(method) \(path): \(r.status) \(r.text)")
            }
            // A submit in that state answered 400 "(SQLSTATE 22P02)": now the token is refused first.
            let submit = try await c.send("POST", "/v1/jobs", json: ["type": "noop"])
            #expect(submit.status == 401 && !submit.text.contains("SQLSTATE"), "\(submit.text)")
        }
        #expect(try await acme.send("GET", "/v1/jobs/\(id)").string("status") == "queued")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1)
        #expect(try await f.client(try jwt("acme")).send("GET", "/v1/jobs/\(id)").status == 200)
    }

    // MARK: NUL bytes (DESIGN.md §13)

    @Test func thePostgresLayerRefusesTextWithANULBeforeSendingIt() async throws {
        let db = try await TestDatabase.create("secnul")
        let pool = PostgresPool(configuration: db.configuration(maxConnections: 1))
        defer { pool.shutdown() }
        for parameter in ["acme\u{0}evil" as any PostgresBindable, ["a", "b\u{0}c"] as any PostgresBindable, "\u{0}" as any PostgresBindable] {
            do {
                let rows = try await pool.query("SELECT $1::text", [parameter])
                Issue.record("accepted as \(String(describing: try rows.first?.decode(0, as: String.self)))")
            } catch let e as PostgresError {
                #expect(e.code == .nulInText, "\(String(reflecting: e))")
                #expect(e.message.contains("$1"))
            }
        }
        // The connection is fine afterwards, inside a transaction too, and bytes may hold zeros.
        #expect(try await pool.query("SELECT length($1::bytea)", [[UInt8]([0, 1, 0])]).first?.decode(0, as: Int.self) == 3)
        #expect(try await pool.query("SELECT $1::text", ["acme"]).first?.decode(0, as: String.self) == "acme")
    }

    @Test func nulInARequestIs400AndNeverACutValue() async throws {
        let f = try await APIFixture.make("secnulapi")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        #expect(try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]).status == 202)
        // JSON members are named; nothing reaches the database.
        let cases = [(#"{"type":"noop","idempotencyKey":"k\u0000A"}"#, "idempotencyKey", "/v1/jobs"),
                     (#"{"type":"noop","payload":{"x":["ok","\u0000"]}}"#, "payload.x[1]", "/v1/jobs"),
                     (#"{"jobs":[{"type":"noop"},{"type":"noop","queue":"a\u0000"}]}"#, "jobs[1].queue", "/v1/jobs/batch"),
                     (#"{"records":"\u0000"}"#, "records", "/submit-job-request")]
        for (body, field, path) in cases {
            let r = try await c.send("POST", path, body: Array(body.utf8))
            #expect(r.status == 400 && r.errorCode == "invalid_text" && r.errorField == field, "\(body): \(r.text)")
            #expect(!r.text.contains("SQLSTATE"))
        }
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1)
        // A query value was cut at the NUL and listed noop jobs; now it is refused (by the
        // PostgreSQL layer if nothing earlier does), never answered with the cut value.
        let cut = try await c.send("GET", "/v1/jobs?type=noop%00zzz")
        #expect(cut.status == 400, "\(cut.text)")
        #expect(!cut.text.contains("jobId") && !cut.text.contains("SQLSTATE"))
        let queue = try await c.send("GET", "/v1/jobs?queue=default%00x")
        #expect(queue.status == 400, "\(queue.text)")
    }

    // MARK: dashboard (DESIGN.md §13)

    /// POSTs the login form with `token`; extra headers as a browser would send them.
    func login(_ f: APIFixture, _ token: String, _ headers: [(String, String)] = []) async throws -> HTTPClient.Response {
        try await f.client().send("POST", "/dashboard/login", body: Array("token=\(token)".utf8), contentType: Self.form, headers: headers)
    }

    /// The session cookie (`name=value`) a login answered with.
    func cookie(_ r: HTTPClient.Response) throws -> String {
        String(try #require(r.header("Set-Cookie"), "no cookie: \(r.status) \(r.text)").split(separator: ";")[0])
    }

    func page(_ f: APIFixture, _ cookie: String) async throws -> HTTPClient.Response {
        try await f.client().send("GET", "/dashboard", body: nil, contentType: nil, headers: [("Cookie", cookie)])
    }

    @Test func everyDashboardResponseCarriesTheSecurityHeaders() async throws {
        let f = try await APIFixture.make("secdashhdr")
        defer { Task { await f.stop() } }
        let anonymous = try f.client()
        let token = try await f.token(scopes: [.read])
        let ok = try await login(f, token)
        let responses = [
            try await anonymous.send("GET", "/dashboard", body: nil, contentType: nil),
            try await login(f, "jg_wrong_wrong_wrong_wrong"),
            ok,
            try await page(f, try cookie(ok)),
            try await login(f, token, [("Origin", "https://evil.example")]),
            try await anonymous.send("POST", "/dashboard/logout", body: nil, contentType: nil),
            try await anonymous.send("PUT", "/dashboard", body: nil, contentType: nil),
        ]
        for r in responses {
            let csp = r.header("Content-Security-Policy") ?? ""
            for directive in ["default-src 'none'", "style-src 'unsafe-inline'", "img-src data:", "form-action 'self'", "frame-ancestors 'none'"] {
                #expect(csp.contains(directive), "\(r.status): \(csp)")
            }
            #expect(!csp.contains("script-src"))
            #expect(r.header("X-Frame-Options") == "DENY", "\(r.status)")
            #expect(r.header("X-Content-Type-Options") == "nosniff", "\(r.status)")
            #expect(r.header("Referrer-Policy") == "no-referrer", "\(r.status)")
        }
        // The API's own routes are not the dashboard's business.
        #expect(try await anonymous.send("GET", "/healthz").header("Content-Security-Policy") == nil)
    }

    @Test func aLoginPostFromAnotherOriginIsRefused() async throws {
        let f = try await APIFixture.make("secdashcsrf")
        defer { Task { await f.stop() } }
        let token = try await f.token(scopes: [.read])
        let host = String(f.server.url.dropFirst("http://".count))
        for headers in [[("Origin", "https://evil.example")], [("Origin", "null")], [("Origin", "http://\(host).evil.example")],
                        [("Sec-Fetch-Site", "cross-site")], [("Sec-Fetch-Site", "same-site"), ("Origin", "http://\(host)")]] {
            let r = try await login(f, token, headers)
            #expect(r.status == 403, "\(headers): \(r.status)")
            #expect(r.header("Set-Cookie") == nil, "\(headers)")
        }
        // The server's own page (and a client that is no browser) still signs in.
        for headers in [[("Origin", "http://\(host)"), ("Sec-Fetch-Site", "same-origin")], [("Sec-Fetch-Site", "none")], []] {
            let r = try await login(f, token, headers)
            #expect(r.status == 303 && r.header("Set-Cookie") != nil, "\(headers): \(r.status)")
        }
        let logout = try await f.client().send("POST", "/dashboard/logout", body: nil, contentType: nil, headers: [("Origin", "https://evil.example")])
        #expect(logout.status == 403)
    }

    @Test func aSessionEndsWhenItsTokenIsRevokedOrExpires() async throws {
        let f = try await APIFixture.make("secdashsess")
        defer { Task { await f.stop() } }
        let (revocable, secret) = try await f.tokens.create(tenant: "acme", scopes: [.read], name: "browser")
        let session = try cookie(try await login(f, secret))
        #expect(try await page(f, session).text.contains("tenant <b>acme</b>"))
        try await f.tokens.revoke(id: revocable.id)
        #expect(try await eventually(timeout: .seconds(10)) { try await page(f, session).text.contains("/dashboard/login") },
                "a revoked token's session still opens the dashboard")

        // Long enough to sign in on a loaded machine, short enough to wait out.
        let shortLived = try await f.tokens.create(tenant: "acme", scopes: [.read], expiresAt: Date() + 20).secret
        let answer = try await login(f, shortLived)
        let maxAge = answer.header("Set-Cookie")?.split(separator: ";").first { $0.contains("Max-Age=") }
            .flatMap { Int($0.split(separator: "=")[1]) }
        #expect(maxAge.map { $0 <= 20 } == true, "the cookie outlives its token: \(answer.header("Set-Cookie") ?? "")")
        let expiring = try cookie(answer)
        #expect(try await page(f, expiring).text.contains("tenant <b>acme</b>"))
        #expect(try await eventually(timeout: .seconds(45)) { try await page(f, expiring).text.contains("/dashboard/login") })
    }

    @Test func aJWTSessionNeverOutlivesTheJWT() async throws {
        let signer = try JWTSigner(generating: .es256)
        let f = try await APIFixture.make("secdashjwt", trusting: signer)
        defer { Task { await f.stop() } }
        let jwt = try signer.sign(["tenant": "acme", "scope": "jobs:read", "exp": .number(Date().timeIntervalSince1970 + 120)])
        let r = try await login(f, jwt)
        let setCookie = try #require(r.header("Set-Cookie"))
        let maxAge = try #require(setCookie.split(separator: ";").first { $0.contains("Max-Age=") }.flatMap { Int($0.split(separator: "=")[1]) })
        #expect(maxAge <= 120 && maxAge > 60, "\(setCookie)")
        #expect(try await page(f, try cookie(r)).text.contains("tenant <b>acme</b>"))
    }

    // MARK: scopes (DESIGN.md §13)

    @Test func onlyOperatorCrossesTenantsAndAdminStaysInItsOwn() async throws {
        let f = try await APIFixture.make("secscope")
        defer { Task { await f.stop() } }
        for tenant in ["a", "b"] {
            let c = try f.client(try await f.token(tenant: tenant, scopes: [.submit]))
            #expect(try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 600]).status == 202)
        }
        let admin = try await page(f, try cookie(try await login(f, try await f.token(tenant: "a", scopes: [.admin]))))
        #expect(admin.text.contains("tenant <b>a</b>") && !admin.text.contains("all tenants"), "admin saw every tenant")
        let op = try await page(f, try cookie(try await login(f, try await f.token(tenant: "ops", scopes: [.operator]))))
        #expect(op.text.contains("all tenants"))
        // operator is about global operations, not another tenant's jobs; admin never implies it.
        let opAPI = try f.client(try await f.token(tenant: "ops", scopes: [.operator]))
        #expect(try await opAPI.send("GET", "/v1/jobs").status == 403)
        let p = Principal(tenant: TenantName("a")!, scopes: [.admin], kind: .apiToken("x"))
        #expect(p.has(.read) && p.has(.submit) && p.has(.cancel) && !p.has(.operator) && !p.isOperator)
        #expect(try Scope.parseList("operator,admin").get() == [.operator, .admin])
    }

    // MARK: attack classes that already failed (regressions)

    @Test func forgedJWTsAreRefused() async throws {
        let signer = try JWTSigner(generating: .rs256)
        let f = try await APIFixture.make("secforge", trusting: signer) { jwt in
            jwt.issuer = "https://issuer.example"
            jwt.audience = "jobgate"
        }
        defer { Task { await f.stop() } }
        let now = Date().timeIntervalSince1970
        let valid: [String: JWTClaimValue] = ["iss": "https://issuer.example", "aud": "jobgate", "tenant": "acme",
                                              "scope": "jobs:read", "exp": .number(now + 300), "nbf": .number(now - 10)]
        #expect(try await f.client(try signer.sign(valid)).send("GET", "/v1/jobs").status == 200)
        let payload = Base64URL.encode(JWTClaimValue.serialize(valid))
        func header(_ alg: String) -> String { Base64URL.encode(#"{"alg":"\#(alg)","typ":"JWT","kid":"\#(signer.keyID)"}"#) }
        var forged = [header("none") + "." + payload + ".", header("None") + "." + payload + "."]
        // HS256 keyed with the public key (the classic confusion), in the forms a verifier might hold it.
        for key in [signer.jwksJSON, Array(JWTClaimValue.serialize(signer.publicJWK.mapValues { .string($0) })),
                    Base64URL.decode(signer.publicJWK["n"]!)!] {
            let input = header("HS256") + "." + payload
            forged.append(input + "." + Base64URL.encode(HMACSHA256.authenticate(key: key, message: Array(input.utf8))))
        }
        for claims in [["exp": JWTClaimValue.number(now - 3600)], ["nbf": .number(now + 3600)], ["aud": "other"],
                       ["iss": "https://evil.example"], ["exp": .null]] {
            forged.append(try signer.sign(valid.merging(claims) { _, new in new }))
        }
        for token in forged {
            let r = try await f.client(token).send("GET", "/v1/jobs")
            #expect(r.status == 401, "\(token.prefix(60)): \(r.status)")
        }
    }

    @Test func signedOutputLinksCannotBeBentOrReused() async throws {
        let f = try await APIFixture.make("seclink")
        defer { Task { await f.stop() } }
        let w = f.worker()
        let run = Task { try await w.run() }
        defer { run.cancel() }
        let c = try f.client(try await f.token())
        var ids: [String] = []
        for _ in 0..<2 {
            ids.append(try #require(try await c.send("POST", "/v1/jobs", json: ["type": "weather", "payload": ["records": 1]]).string("jobId")))
        }
        var links: [String] = []
        for id in ids {
            var link = ""
            #expect(try await eventually(timeout: .seconds(20)) {
                link = ((try await c.send("GET", "/v1/jobs/\(id)").object?["output"] as? [String: Any])?["url"] as? String) ?? ""
                return !link.isEmpty
            })
            links.append(link)
        }
        let anon = try f.client()
        #expect(try await anon.send("GET", links[0]).status == 200)
        let query = String(links[0][links[0].firstIndex(of: "?")!...])
        let bent = [
            "/v1/outputs/\(ids[1])" + query,  // one job's signature on another job
            links[0].replacingOccurrences(of: "expires=", with: "expires=1"),
            links[0].replacingOccurrences(of: "sig=", with: "sig=A"),
            links[0].replacingOccurrences(of: "kid=", with: "kid=x"),
            "/v1/outputs/\(ids[0])",
            "/v1/outputs/\(ids[0])?expires=99999999999&kid=&sig=",
        ]
        for path in bent {
            let r = try await anon.send("GET", path)
            #expect(r.status == 403, "\(path): \(r.status)")
        }
    }

    @Test func pathTraversalAndOversizeBodiesGoNowhere() async throws {
        let f = try await APIFixture.make("sectrav")
        defer { Task { await f.stop() } }
        let c = try f.client(try await f.token())
        for path in ["/v1/jobs/..%2F..%2F..%2Fetc%2Fpasswd", "/v1/jobs/../../etc/passwd", "/v1/jobs/%2e%2e/events",
                     "/job-status/..%2F..%2Fetc%2Fpasswd", "/v1/outputs/..%2F..%2Fetc%2Fpasswd?expires=99999999999&kid=k&sig=x",
                     "/v1/outputs/../../../etc/passwd", "/dashboard/../v1/jobs"] {
            let r = try await c.send("GET", path)
            #expect([400, 403, 404].contains(r.status), "\(path): \(r.status)")
            #expect(!r.text.contains("root:"))
        }
        let overBody = "{\"type\":\"noop\",\"payload\":\"" + String(repeating: "x", count: 1_100_000) + "\"}"
        #expect(try await c.send("POST", "/v1/jobs", body: Array(overBody.utf8)).status == 413)
        let overPayload = "{\"type\":\"noop\",\"payload\":\"" + String(repeating: "x", count: 300 * 1024) + "\"}"
        #expect(try await c.send("POST", "/v1/jobs", body: Array(overPayload.utf8)).status == 413)
        #expect(try await c.send("POST", "/submit-job-request", body: Array(overPayload.utf8)).status == 413)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 0)
    }
}
