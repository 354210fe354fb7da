import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGateSystem

/// Tenant weights for the fair share of queues (DESIGN.md §14, docs/scheduling.md), for operators.
extension APIService {
    /// `GET /v1/tenants`: the tenants with a weight set, by name (any other weighs 1).
    func listTenants() async throws -> HTTPResponse {
        let tenants = try await store.tenantWeights()
        return json("{\"tenants\":[" + tenants.map(Self.tenantJSON).joined(separator: ",") + "],\"defaultWeight\":\(TenantWeight.defaultWeight)}")
    }

    /// `PUT /v1/tenants/{name}` with `{"weight": W}`, W an integer in `TenantWeight.range`. The
    /// tenant needs no jobs first. Anything refused is a 400 and nothing changes.
    func updateTenant(_ name: String, _ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        if let problem = TenantName.problem(name) { throw APIError.invalidField("name", "Not a tenant name: \(problem).") }
        guard let tenant = TenantName(name) else { throw APIError.invalidField("name", "Not a tenant name.") }
        let body = try JSONBody.object(request)
        try body.rejectUnknown(["weight"])
        guard let weight = try body.int("weight", in: TenantWeight.range) else {
            throw APIError(status: 400, code: "missing_field", message: "Send weight, an integer from \(TenantWeight.range.lowerBound) to \(TenantWeight.range.upperBound).", field: "weight")
        }
        let row = try await store.setTenantWeight(tenant, weight: weight, by: Self.changedBy(principal))
        return json(Self.tenantJSON(row))
    }

    static func tenantJSON(_ t: TenantWeight) -> String {
        "{\"name\":\(JSONText.quote(t.name)),\"weight\":\(t.weight),\"updatedBy\":\(JSONText.quote(t.updatedBy)),\"updatedAt\":\(JobJSON.date(t.updatedAt))}"
    }
}
