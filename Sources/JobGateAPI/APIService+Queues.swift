import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGateSystem

/// Queue controls (DESIGN.md §14), for operators: pause/resume and the concurrency cap.
extension APIService {
    func listQueues() async throws -> HTTPResponse {
        let controls = try await store.queueControls()
        return json("{\"queues\":[" + controls.map(Self.queueJSON).joined(separator: ",") + "]}")
    }

    /// `PATCH /v1/queues/{name}` with `paused` (bool) and/or `concurrencyCap` (integer, or null for
    /// none). A queue needs no row to exist first: its jobs may not have arrived yet.
    func updateQueue(_ name: String, _ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        guard QueueName.isValid(name) else { throw APIError.invalidField("name", "A queue name is \(QueueName.rule).") }
        let body = try JSONBody.object(request)
        try body.rejectUnknown(["paused", "concurrencyCap"])
        var paused: Bool?
        switch body.value("paused") {
        case nil: break
        case .bool(let b)?: paused = b
        default: throw APIError.invalidField("paused", "paused must be true or false.")
        }
        var cap: Int??
        // null removes the cap; absent leaves it.
        switch body.rawText("concurrencyCap") {
        case nil: break
        case "null"?: cap = .some(nil)
        default: cap = .some(try body.int("concurrencyCap", in: 0...1_000_000))
        }
        guard paused != nil || cap != nil else {
            throw APIError(status: 400, code: "missing_field", message: "Send paused, concurrencyCap or both.")
        }
        let by: String
        switch principal.kind {
        case .apiToken(let id): by = "api token \(id)"
        case .jwt(let subject): by = "jwt \(subject ?? "(no subject)")"
        }
        let control = try await store.setQueueControl(name, paused: paused, cap: cap, by: by)
        return json(Self.queueJSON(control))
    }

    static func queueJSON(_ q: QueueControl) -> String {
        "{\"name\":\(JSONText.quote(q.name)),\"paused\":\(q.paused),\"concurrencyCap\":\(q.concurrencyCap.map(String.init) ?? "null"),\"running\":\(q.running),"
            + "\"updatedBy\":\(JSONText.quote(q.updatedBy)),\"updatedAt\":\(JobJSON.date(q.updatedAt))}"
    }
}
