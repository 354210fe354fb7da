import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGateTestSupport
import Testing

/// `GET /v1/tenants`, `PUT /v1/tenants/{name}` (operators), and `jobgate tenant`.
@Suite struct TenantRouteTests {
    @Test func operatorsSetAndListWeightsAndOthersCannot() async throws {
        let f = try await APIFixture.make("tenantroutes")
        defer { Task { await f.stop() } }
        let ops = try f.client(try await f.token(tenant: "ops", scopes: [.operator]))
        let admin = try f.client(try await f.token())

        let empty = try await ops.send("GET", "/v1/tenants")
        #expect(empty.status == 200 && empty.text == #"{"tenants":[],"defaultWeight":1}"#, "\(empty.text)")
        // A tenant needs no jobs to get a weight.
        let set = try await ops.send("PUT", "/v1/tenants/acme", json: ["weight": 3])
        #expect(set.status == 200, "\(set.text)")
        #expect(set.string("name") == "acme" && set.object?["weight"] as? Int == 3
                && set.string("updatedBy")?.hasPrefix("api token ") == true && set.string("updatedAt") != nil, "\(set.text)")
        #expect(try await ops.send("PUT", "/v1/tenants/zeta.2", json: ["weight": 1000]).status == 200)
        #expect(try await ops.send("PUT", "/v1/tenants/acme", json: ["weight": 5]).object?["weight"] as? Int == 5)
        let listed = try #require(try await ops.send("GET", "/v1/tenants").object?["tenants"] as? [[String: Any]])
        #expect(listed.map { "\($0["name"] as? String ?? "?")=\($0["weight"] as? Int ?? -1)" } == ["acme=5", "zeta.2=1000"], "\(listed)")

        // A tenant's admin is not an operator: weights share queues between tenants.
        #expect(try await admin.send("PUT", "/v1/tenants/acme", json: ["weight": 100]).status == 403)
        #expect(try await admin.send("GET", "/v1/tenants").status == 403)
        // Bad input is a 400 naming the field, and changes nothing.
        for (body, field) in [(["weight": 0], "weight"), (["weight": -2], "weight"), (["weight": 1001], "weight"),
                              (["weight": 1e30], "weight"), (["weight": 2.5], "weight"), (["weight": "3"], "weight"),
                              (["weight": true], "weight"), (["weight": 3, "share": 1], "share"), ([String: Any](), "weight")]
            as [([String: Any], String)] {
            let r = try await ops.send("PUT", "/v1/tenants/acme", json: body)
            #expect(r.status == 400 && r.errorField == field, "\(body): \(r.status) \(r.text)")
        }
        #expect(try await ops.send("PUT", "/v1/tenants/acme", body: Array("{\"weight\":".utf8)).status == 400)
        for name in ["Acme", "-acme", "a%20b", String(repeating: "a", count: 64), "caf%C3%A9"] {
            let r = try await ops.send("PUT", "/v1/tenants/\(name)", json: ["weight": 2])
            #expect(r.status == 400 && r.errorField == "name", "\(name): \(r.status) \(r.text)")
        }
        let after = try await JobStore(pool: f.pool).tenantWeights()
        #expect(after.map { "\($0.name)=\($0.weight)" } == ["acme=5", "zeta.2=1000"])
    }

    @Test func theTenantCommandSetsAndLists() async throws {
        let f = try await APIFixture.make("tenantcli")
        defer { Task { await f.stop() } }
        let env = ["JOBGATE_DATABASE_URL": f.db.processURL]
        func run(_ args: [String]) async throws -> (Int32, String) {
            let p = try TestProcess([try JobGateBinary.path(), "tenant"] + args, environment: env)
            return (await p.wait(), p.output)
        }
        #expect(try await run(["set", "acme", "--weight", "3"]).0 == 0)
        let (code, listed) = try await run(["list"])
        #expect(code == 0 && listed.contains("acme\t3\tjobgate tenant set\t"), "\(listed)")
        // Usage errors exit 2 and change nothing.
        for bad in [["set", "acme", "--weight", "0"], ["set", "acme", "--weight", "1001"], ["set", "acme", "--weight", "many"],
                    ["set", "acme"], ["set", "Acme", "--weight", "2"], ["list", "--weight", "2"], ["weigh", "acme"]] {
            #expect(try await run(bad).0 == 2, "\(bad)")
        }
        #expect(try await JobStore(pool: f.pool).tenantWeights().map { "\($0.name)=\($0.weight)" } == ["acme=3"])
    }
}
