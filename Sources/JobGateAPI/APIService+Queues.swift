import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGateSystem

/// Queue controls (DESIGN.md §14), for operators: pause/resume and the concurrency cap.
extension APIService {
    /// `GET /v1/queues`: every queue with a control row, ready jobs or running jobs.
    func listQueues() async throws -> HTTPResponse {
        let queues = try await store.queues()
        return json("{\"queues\":[" + queues.map(Self.queueJSON).joined(separator: ",") + "]}")
    }

    /// `PUT /v1/queues/{name}` with `paused` (bool) and/or `concurrency` (integer, or null for no
    /// cap); a field left out keeps its value. A queue needs no row to exist first: its jobs may
    /// not have arrived yet.
    func updateQueue(_ name: String, _ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        try Self.checkQueueName(name)
        let body = try JSONBody.object(request)
        try body.rejectUnknown(["paused", "concurrency"])
        var paused: Bool?
        switch body.value("paused") {
        case nil: break
        case .bool(let b)?: paused = b
        default: throw APIError.invalidField("paused", "paused must be true or false.")
        }
        var cap: Int??
        // null removes the cap; absent leaves it.
        switch body.rawText("concurrency") {
        case nil: break
        case "null"?: cap = .some(nil)
        default: cap = .some(try body.int("concurrency", in: 0...1_000_000))
        }
        guard paused != nil || cap != nil else {
            throw APIError(status: 400, code: "missing_field", message: "Send paused, concurrency or both.")
        }
        return try await setQueue(name, paused: paused, cap: cap, principal)
    }

    /// `POST /v1/queues/{name}/pause` and `…/resume`: no body needed.
    func pauseQueue(_ name: String, paused: Bool, _ principal: Principal) async throws -> HTTPResponse {
        try Self.checkQueueName(name)
        return try await setQueue(name, paused: paused, cap: nil, principal)
    }

    private func setQueue(_ name: String, paused: Bool?, cap: Int??, _ principal: Principal) async throws -> HTTPResponse {
        let control = try await store.setQueueControl(name, paused: paused, cap: cap, by: Self.changedBy(principal))
        // The answer is the queue as the list shows it (with its depth), read after the change.
        let view = try await store.queues().first { $0.control.name == name }
            ?? QueueView(control: control, hasRow: true, ready: 0, oldestReadySeconds: 0)
        return json(Self.queueJSON(view))
    }

    /// Who made an operator's change, as the row's `updated_by` records it.
    static func changedBy(_ principal: Principal) -> String {
        switch principal.kind {
        case .apiToken(let id): return "api token \(id)"
        case .jwt(let subject): return "jwt \(subject ?? "(no subject)")"
        }
    }

    private static func checkQueueName(_ name: String) throws {
        guard QueueName.isValid(name) else { throw APIError.invalidField("name", "A queue name is \(QueueName.rule).") }
    }

    static func queueJSON(_ q: QueueView) -> String {
        let c = q.control
        return "{\"name\":\(JSONText.quote(c.name)),\"paused\":\(c.paused),\"concurrency\":\(c.concurrencyCap.map(String.init) ?? "null"),"
            + "\"ready\":\(q.ready),\"running\":\(c.running),\"oldestReadySeconds\":\((q.oldestReadySeconds * 1000).rounded() / 1000),"
            + "\"updatedBy\":\(q.hasRow ? JSONText.quote(c.updatedBy) : "null"),\"updatedAt\":\(q.hasRow ? JobJSON.date(c.updatedAt) : "null")}"
    }
}
