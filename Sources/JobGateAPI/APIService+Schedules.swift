import Foundation
import JobGateAuth
import JobGateCore
import JobGateHTTP
import JobGatePostgres
import JobGateSystem

/// `/v1/schedules…` (DESIGN.md §14): a tenant's cron schedules. Managing needs `jobs:submit`
/// (a schedule submits jobs), reading `jobs:read`; another tenant's schedule is not found.
extension APIService {
    /// Fields of `POST /v1/schedules`; `PUT` takes the same but `name`, each optional.
    static let scheduleFields: Set<String> = ["name", "cron", "timezone", "type", "payload", "queue", "priority", "enabled"]

    func createSchedule(_ request: HTTPRequest, _ principal: Principal) async throws -> HTTPResponse {
        let f = try JSONBody.object(request)
        try f.rejectUnknown(Self.scheduleFields)
        guard let name = try f.string("name", maxLength: ScheduleName.maxLength) else { throw APIError.missingField("name") }
        guard ScheduleName.isValid(name) else { throw APIError.invalidField("name", "name must be \(ScheduleName.rule).") }
        let definition = try scheduleDefinition(f, base: nil)
        switch try await refusingBadValues({ try await schedules.create(tenant: principal.tenant, name: name, definition) }) {
        case .created(let s):
            var headers = HTTPHeaders()
            headers.set("Location", "/v1/schedules/" + name)
            return json(ScheduleJSON.schedule(s), status: 201, headers: headers)
        case .nameTaken:
            throw APIError(status: 409, code: "schedule_exists", message: "A schedule named \(name) already exists; change it with PUT.",
                           field: "name")
        case .limitReached:
            throw APIError(status: 409, code: "too_many_schedules",
                           message: "This tenant already has \(ScheduleStore.maxPerTenant) schedules, the most it may have.")
        }
    }

    func listSchedules(_ principal: Principal) async throws -> HTTPResponse {
        let all = try await schedules.list(tenant: principal.tenant)
        return json("{\"schedules\":[" + all.map(ScheduleJSON.schedule).joined(separator: ",") + "]}")
    }

    func getSchedule(_ name: String, _ principal: Principal) async throws -> HTTPResponse {
        json(ScheduleJSON.schedule(try await existingSchedule(name, principal)))
    }

    func updateSchedule(_ request: HTTPRequest, _ name: String, _ principal: Principal) async throws -> HTTPResponse {
        let f = try JSONBody.object(request)
        try f.rejectUnknown(Self.scheduleFields.subtracting(["name"]))
        let previous = try await existingSchedule(name, principal)
        let definition = try scheduleDefinition(f, base: previous)
        guard let updated = try await refusingBadValues({ try await schedules.update(previous, to: definition) }) else { throw APIError.scheduleNotFound(name) }
        return json(ScheduleJSON.schedule(updated))
    }

    func deleteSchedule(_ name: String, _ principal: Principal) async throws -> HTTPResponse {
        guard ScheduleName.isValid(name), try await schedules.delete(tenant: principal.tenant, name: name) else {
            throw APIError.scheduleNotFound(name)
        }
        return HTTPResponse(status: 204)
    }

    var schedules: ScheduleStore { ScheduleStore(pool: pool) }

    /// A payload the validation let through but jsonb refuses (U+0000 in a string, say) is a 400,
    /// as on a submit; nothing was stored.
    private func refusingBadValues<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let e as PostgresError where e.isDataException {
            throw APIError.invalidValue(sqlState: e.sqlState ?? "22000")
        }
    }

    /// The tenant's schedule `name` (read from the primary: it is about to be shown or changed), or 404.
    private func existingSchedule(_ name: String, _ principal: Principal) async throws -> Schedule {
        guard ScheduleName.isValid(name), let s = try await schedules.schedule(tenant: principal.tenant, name: name) else {
            throw APIError.scheduleNotFound(name)
        }
        return s
    }

    /// The definition `f` gives, over `base`'s for a change (fields absent keep their value;
    /// `queue: null` goes back to the type's queue). Type, payload and queue are checked as a
    /// submit checks them (`JobRequestValidator`); the expression and zone by `CronSchedule`.
    private func scheduleDefinition(_ f: JSONFields, base: Schedule?) throws(APIError) -> ScheduleDefinition {
        guard let cronText = try f.string("cron", maxLength: CronSchedule.maxLength) ?? base?.cron else { throw APIError.missingField("cron") }
        let zone = try f.string("timezone", maxLength: CronSchedule.maxTimeZoneLength) ?? base?.timeZone ?? "UTC"
        let cron: CronSchedule
        do { cron = try CronSchedule(cronText, timeZone: zone) } catch { throw APIError.invalidField(error.field, error.message + ".") }
        guard let type = try validator.jobType(f)?.0 ?? base?.type else { throw APIError.missingField("type") }
        let queue = f.object["queue"] != nil ? try JobRequestValidator.queue(f) : base?.queue
        return ScheduleDefinition(cron: cron, type: type, queue: queue, payload: try validator.payload(f) ?? base?.payload ?? "{}",
                                  priority: try f.int("priority", in: JobRequestValidator.priorityRange) ?? base?.priority ?? 0,
                                  enabled: try f.bool("enabled") ?? base?.enabled ?? true)
    }
}

extension APIError {
    /// 404 for a schedule the tenant does not have.
    static func scheduleNotFound(_ name: String) -> APIError {
        APIError(status: 404, code: "not_found", message: "No schedule \(name.prefix(ScheduleName.maxLength)) was found.")
    }
}

/// The JSON of a schedule (`GET /v1/schedules/{name}` and the others), by hand as `JobJSON`.
enum ScheduleJSON {
    static func schedule(_ s: Schedule) -> String {
        var o = "{\"name\":\(JSONText.quote(s.name)),\"cron\":\(JSONText.quote(s.cron)),\"timezone\":\(JSONText.quote(s.timeZone))"
        o += ",\"type\":\(JSONText.quote(s.type)),\"queue\":\(JobJSON.string(s.queue)),\"payload\":\(s.payload),\"priority\":\(s.priority)"
        o += ",\"enabled\":\(s.enabled),\"nextRunAt\":\(JobJSON.date(s.nextRunAt)),\"lastRunAt\":\(JobJSON.date(s.lastRunAt))"
        o += ",\"lastSlot\":\(JobJSON.date(s.lastSlot)),\"lastJobId\":\(JobJSON.string(s.lastJobID?.lowercasedString))"
        o += ",\"lastError\":\(JobJSON.string(s.lastError)),\"createdAt\":\(JobJSON.date(s.createdAt)),\"updatedAt\":\(JobJSON.date(s.updatedAt))}"
        return o
    }
}
