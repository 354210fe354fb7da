import Foundation
import JobGateAPI
import Testing

@Suite struct OpenAPITests {
    @Test func documentIsOpenAPI31AndCoversEveryRoute() async throws {
        let f = try await APIFixture.make("openapi")
        defer { Task { await f.stop() } }
        let r = try await f.client().send("GET", "/openapi.json")
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "application/json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        for route in Router.api {
            let op = paths[route.template]?[route.method.lowercased()] as? [String: Any]
            #expect(op != nil, "\(route.method) \(route.template) is not documented")
            #expect(op?["responses"] is [String: Any])
        }
        // Nothing documented that the router does not serve.
        let served = Set(Router.api.map { "\($0.method.lowercased()) \($0.template)" })
        for (path, ops) in paths { for method in ops.keys { #expect(served.contains("\(method) \(path)"), "\(method) \(path)") } }
        // Every $ref resolves.
        let components = try #require(doc["components"] as? [String: [String: Any]])
        for ref in Self.refs(in: doc) {
            let parts = ref.split(separator: "/")
            #expect(parts.count == 4 && components[String(parts[2])]?[String(parts[3])] != nil, "\(ref)")
        }
    }

    static func refs(in value: Any) -> [String] {
        if let d = value as? [String: Any] {
            return (d["$ref"] as? String).map { [$0] } ?? [] + d.values.flatMap(refs(in:))
        }
        if let a = value as? [Any] { return a.flatMap(refs(in:)) }
        return []
    }
}
