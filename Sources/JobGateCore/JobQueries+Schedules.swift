/// The SQL of cron schedules (`jobgate.schedules`, migration 0006), beside the job engine's.
extension JobQueries {
    /// The columns `ScheduleStore.schedule(_:)` reads, in order.
    static let scheduleColumns = """
        s.id, s.tenant, s.name, s.cron, s.time_zone, s.type, s.queue, s.payload::text, s.priority, s.enabled, s.next_run_at, \
        s.last_slot, s.last_run_at, s.last_job_id, s.last_error, s.created_at, s.updated_at
        """

    /// $1 id, $2 tenant, $3 name, $4 cron, $5 zone, $6 type, $7 queue, $8 payload, $9 priority, $10 enabled,
    /// $11 next run, $12 the most schedules a tenant may have. Nothing when the name is taken
    /// (ON CONFLICT) or the tenant is at the limit; the caller tells the two apart.
    static let createSchedule = """
        INSERT INTO jobgate.schedules AS s (id, tenant, name, cron, time_zone, type, queue, payload, priority, enabled, next_run_at)
        SELECT $1::uuid, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::jsonb, $9::int, $10::bool, $11::timestamptz
        WHERE (SELECT count(*) FROM jobgate.schedules c WHERE c.tenant = $2::text) < $12::int
        ON CONFLICT (tenant, name) DO NOTHING
        RETURNING \(scheduleColumns)
        """

    /// $1 tenant, $2 name.
    static let schedule = "SELECT \(scheduleColumns) FROM jobgate.schedules s WHERE s.tenant = $1 AND s.name = $2"

    /// $1 tenant (NULL: every tenant), $2 limit. By tenant and name.
    static let schedules = """
        SELECT \(scheduleColumns) FROM jobgate.schedules s WHERE ($1::text IS NULL OR s.tenant = $1)
        ORDER BY s.tenant, s.name LIMIT $2
        """

    /// $1 tenant, $2 name, then the new definition: $3 cron, $4 zone, $5 type, $6 queue, $7 payload,
    /// $8 priority, $9 enabled, $10 whether the timing changed, $11 its next run when it did.
    /// A schedule whose expression, zone or enabled state is unchanged keeps its `next_run_at`
    /// (re-enabling starts from now: the disabled time is not caught up).
    static let updateSchedule = """
        UPDATE jobgate.schedules s SET cron = $3, time_zone = $4, type = $5, queue = $6, payload = $7::jsonb, priority = $8,
            enabled = $9, next_run_at = CASE WHEN $10::bool THEN $11::timestamptz ELSE s.next_run_at END, updated_at = now()
        WHERE s.tenant = $1 AND s.name = $2
        RETURNING \(scheduleColumns)
        """

    /// $1 tenant, $2 name.
    static let deleteSchedule = "DELETE FROM jobgate.schedules WHERE tenant = $1 AND name = $2 RETURNING id"

    /// $1 now, $2 limit: enabled schedules whose next slot has come, oldest first.
    static let dueSchedules = """
        SELECT id, tenant, name, cron, time_zone, next_run_at FROM jobgate.schedules
        WHERE enabled AND next_run_at IS NOT NULL AND next_run_at <= $1
        ORDER BY next_run_at LIMIT $2
        """

    /// $1 schedule id, $2 due (its `next_run_at` as read), $3 slot, $4 next run. One row when this
    /// call fired the slot (the job, or NULL and the error), none when another caller did.
    static let fireSchedule = "SELECT job_id, error FROM jobgate.fire_schedule($1, $2, $3, $4)"

    /// $1 schedule id, $2 due, $3 error: a schedule whose stored expression no longer parses stops
    /// (disabled, with the reason), if no one changed it meanwhile.
    static let stopSchedule = """
        UPDATE jobgate.schedules SET enabled = false, next_run_at = NULL, last_error = $3, updated_at = now()
        WHERE id = $1 AND next_run_at = $2
        """
}
