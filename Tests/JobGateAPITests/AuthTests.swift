import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
import JobGateCrypto
import JobGateHTTP
import JobGateSystem
import JobGateTestSupport
import Synchronization
import Testing

@Suite struct AuthTests {
    @Test func missingInvalidAndUnderScopedTokens() async throws {
        let f = try await APIFixture.make("auth")
        defer { Task { await f.stop() } }
        let none = try await f.client().send("GET", "/v1/jobs")
        #expect(none.status == 401)
        #expect(none.errorCode == "unauthorized")
        #expect(none.header("WWW-Authenticate") == "Bearer")
        #expect(try await f.client("jg_not-a-real-token-at-all").send("GET", "/v1/jobs").status == 401)
        let reader = try f.client(try await f.token(scopes: [.read]))
        let denied = try await reader.send("POST", "/v1/jobs", json: ["type": "noop"])
        #expect(denied.status == 403)
        #expect(denied.errorCode == "forbidden")
        #expect(try await reader.send("GET", "/v1/jobs").status == 200)
        let submitter = try f.client(try await f.token(scopes: [.submit]))
        let id = try #require(try await submitter.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 60]).string("jobId"))
        #expect(try await submitter.send("POST", "/v1/jobs/\(id)/cancel").status == 403)
        #expect(try await submitter.send("GET", "/v1/jobs/\(id)").status == 403)
        #expect(try await f.client(try await f.token(scopes: [.cancel])).send("POST", "/v1/jobs/\(id)/cancel").status == 200)
        // Nothing was stored by the refused submit.
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 1)
    }

    @Test func rawTokenWithoutBearerIsAccepted() async throws {
        let f = try await APIFixture.make("raw")
        defer { Task { await f.stop() } }
        let secret = try await f.token()
        let r = try await f.client().send("GET", "/v1/jobs", headers: [("Authorization", secret)])
        #expect(r.status == 200)
        let lower = try await f.client().send("GET", "/v1/jobs", headers: [("Authorization", "bearer " + secret)])
        #expect(lower.status == 200)
    }

    @Test func anotherTenantsJobIsNotFoundEverywhere() async throws {
        let f = try await APIFixture.make("tenants")
        defer { Task { await f.stop() } }
        let a = try f.client(try await f.token(tenant: "a"))
        let b = try f.client(try await f.token(tenant: "b"))
        let id = try #require(try await a.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 60, "idempotencyKey": "same"]).string("jobId"))
        #expect(try await b.send("GET", "/v1/jobs/\(id)").status == 404)
        #expect(try await b.send("GET", "/v1/jobs/\(id)/events").status == 404)
        #expect(try await b.send("POST", "/v1/jobs/\(id)/cancel").status == 404)
        #expect(try await b.send("POST", "/v1/jobs/\(id)/retry").status == 404)
        let status = try await b.send("GET", "/job-status/\(id)")
        #expect(status.status == 404)
        #expect(status.string("Error Message") == "No Job data found for Job Id : \(id)")
        let list = try await b.send("GET", "/v1/jobs")
        #expect((list.object?["jobs"] as? [Any])?.isEmpty == true)
        // The same idempotency key in another tenant is another job.
        let other = try await b.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 60, "idempotencyKey": "same"])
        #expect(other.status == 202)
        #expect(other.string("jobId") != id)
        // Still intact for its owner.
        #expect(try await a.send("GET", "/v1/jobs/\(id)").string("status") == "queued")
        #expect((try await a.send("GET", "/v1/jobs").object?["jobs"] as? [Any])?.count == 1)
    }

    @Test func tokenListRevokeAndExpiry() async throws {
        let f = try await APIFixture.make("revoke")
        defer { Task { await f.stop() } }
        let (token, secret) = try await f.tokens.create(tenant: "acme", scopes: [.read], name: "ci")
        let c = try f.client(secret)
        #expect(try await c.send("GET", "/v1/jobs").status == 200)
        let listed = try await f.tokens.list()
        #expect(listed.map(\.id) == [token.id])
        #expect(listed[0].scopes == ["jobs:read"] && listed[0].name == "ci" && listed[0].revokedAt == nil)
        // last_used_at is written in the background.
        #expect(try await eventually(timeout: .seconds(5)) { try await f.tokens.list()[0].lastUsedAt != nil })
        // Only the hash is stored.
        #expect(try await f.count("SELECT count(*) FROM jobgate.api_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))", [secret]) == 1)
        #expect(try await f.tokens.revoke(id: token.id))
        #expect(try await eventually(timeout: .seconds(5)) { try await c.send("GET", "/v1/jobs").status == 401 })
        #expect(try await f.tokens.revoke(id: UUID()) == false)
        let expired = try await f.tokens.create(tenant: "acme", scopes: [.read], expiresAt: Date().addingTimeInterval(-1)).secret
        #expect(try await f.client(expired).send("GET", "/v1/jobs").status == 401)
    }

    @Test(arguments: [JWTAlgorithm.rs256, .es256])
    func jwtFromTheConfiguredJWKS(_ algorithm: JWTAlgorithm) async throws {
        let signer = try JWTSigner(generating: algorithm)
        let f = try await APIFixture.make("jwt", trusting: signer) { jwt in
            jwt.issuer = "https://issuer.example"
            jwt.audience = "jobgate"
            jwt.tenantClaim = "org"
        }
        defer { Task { await f.stop() } }
        let now = Date().timeIntervalSince1970
        func token(_ overrides: [String: JWTClaimValue] = [:]) throws -> String {
            var claims: [String: JWTClaimValue] = ["iss": "https://issuer.example", "aud": "jobgate", "sub": "user-1", "org": "acme",
                                                   "scope": "jobs:submit jobs:read", "exp": .number(now + 300), "nbf": .number(now - 10)]
            for (k, v) in overrides { claims[k] = v }
            return try signer.sign(claims)
        }
        let c = try f.client(try token())
        let r = try await c.send("POST", "/v1/jobs", json: ["type": "noop", "delaySeconds": 60])
        #expect(r.status == 202)
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE tenant = 'acme'") == 1)
        #expect(try await c.send("POST", "/v1/jobs/\(r.string("jobId")!)/cancel").status == 403)
        for bad in [["aud": JWTClaimValue.string("other")], ["exp": .number(now - 3600)], ["iss": "https://evil.example"],
                    ["nbf": .number(now + 3600)], ["org": .null]] {
            let refused = try await f.client(try token(bad)).send("GET", "/v1/jobs")
            #expect(refused.status == 401, "\(bad)")
        }
        // A token signed by another key.
        let stranger = try JWTSigner(generating: algorithm)
        let forged = try stranger.sign(["iss": "https://issuer.example", "aud": "jobgate", "org": "acme", "exp": .number(now + 300)])
        #expect(try await f.client(forged).send("GET", "/v1/jobs").status == 401)
        // API tokens still work alongside.
        #expect(try await f.client(try await f.token()).send("GET", "/v1/jobs").status == 200)
    }

    @Test func jwtKeysFromAJWKSURLFollowARotationAndScopesComeFromAnArrayClaim() async throws {
        let first = try JWTSigner(generating: .es256)
        let rotated = try JWTSigner(generating: .rs256)
        // The identity provider: serves its JWKS, which gains a key later.
        let served = Mutex<[UInt8]>(first.jwksJSON)
        let fetches = Atomic<Int>(0)
        let idp = HTTPServer(configuration: HTTPServer.Configuration(host: "127.0.0.1", port: 0)) { _ in
            fetches.add(1, ordering: .relaxed)
            try? await Task.sleep(for: .milliseconds(300))  // a slow provider: requests arrive while it answers
            return HTTPResponse(status: 200, contentType: "application/json", bytes: served.withLock { $0 })
        }
        try idp.start()
        let f = try await APIFixture.make("jwksurl") { c in
            var jwt = JWTAuthSettings()
            jwt.jwksURL = "http://127.0.0.1:\(idp.port)/.well-known/jwks.json"
            jwt.scopesClaim = "permissions"
            jwt.unknownKeyRefetchInterval = .seconds(1)
            c.jwt = jwt
        }
        defer { Task { await f.stop(); await idp.shutdown() } }
        #expect(fetches.load(ordering: .relaxed) == 1, "fetched once at start")
        let now = Date().timeIntervalSince1970
        func claims(_ permissions: [JWTClaimValue]) -> [String: JWTClaimValue] {
            ["tenant": "acme", "exp": .number(now + 300), "permissions": .array(permissions)]
        }
        let reader = try f.client(try first.sign(claims(["jobs:read"])))
        #expect(try await reader.send("GET", "/v1/jobs").status == 200)
        #expect(try await reader.send("POST", "/v1/jobs", json: ["type": "noop"]).status == 403, "jobs:submit is not in permissions")

        // The provider rotates: tokens from the new key are accepted after one refetch, those
        // arriving while it runs too (they wait for it).
        let both = try JSONSerialization.jsonObject(with: Data(first.jwksJSON)) as! [String: [Any]]
        let added = try JSONSerialization.jsonObject(with: Data(rotated.jwksJSON)) as! [String: [Any]]
        served.withLock { $0 = Array(try! JSONSerialization.data(withJSONObject: ["keys": both["keys"]! + added["keys"]!])) }
        try await Task.sleep(for: .milliseconds(1100))
        let submitters = try (0..<8).map { _ in try f.client(try rotated.sign(claims(["jobs:submit", "jobs:read"]))) }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for submitter in submitters {
                group.addTask { try await submitter.send("POST", "/v1/jobs", json: ["type": "noop"]).status }
            }
            for try await status in group { #expect(status == 202) }
        }
        #expect(fetches.load(ordering: .relaxed) == 2)
        #expect(try await reader.send("GET", "/v1/jobs").status == 200, "the first key still works")
        // Unknown keys do not make it fetch on every request: at most once per second here.
        let stranger = try JWTSigner(generating: .es256)
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<8 {
            #expect(try await f.client(try stranger.sign(claims(["jobs:read"]))).send("GET", "/v1/jobs").status == 401)
        }
        let seconds = Int((clock.now - started).components.seconds)
        #expect(fetches.load(ordering: .relaxed) - 2 <= seconds + 1, "\(fetches.load(ordering: .relaxed) - 2) refetches in \(seconds + 1) s")
        // Nor when many arrive at once: of concurrent callers, one fetches per interval.
        try await Task.sleep(for: .milliseconds(1100))
        let before = fetches.load(ordering: .relaxed)
        let burstStart = clock.now
        let burst = try (0..<16).map { _ in try f.client(try stranger.sign(claims(["jobs:read"]))) }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for client in burst {
                group.addTask { try await client.send("GET", "/v1/jobs").status }
            }
            for try await status in group { #expect(status == 401) }
        }
        let burstSeconds = Int((clock.now - burstStart).components.seconds)
        #expect(fetches.load(ordering: .relaxed) - before <= burstSeconds + 1, "\(fetches.load(ordering: .relaxed) - before) fetches for 16 concurrent requests")
    }
}
