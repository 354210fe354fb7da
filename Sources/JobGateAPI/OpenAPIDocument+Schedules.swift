/// The document's part for cron schedules (`/v1/schedules…`, DESIGN.md §14).
extension OpenAPIDocument {
    static let nameParameter = #"{"name":"name","in":"path","required":true,"description":"A schedule's name (another tenant's, or one that cannot exist, is not found)","schema":{"type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}}"#

    static let schedulePaths = #"""
    "/v1/schedules":{
      "post":{"operationId":"createSchedule","summary":"Create a cron schedule: a job of its type at each slot of its expression (needs jobs:submit)","tags":["schedules"],
        "requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/ScheduleRequest"}}}},
        "responses":{
          "201":{"description":"Created","headers":{"Location":{"schema":{"type":"string"}}},"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Schedule"}}}},
          \#(errors([400, 401, 403, 409, 413, 415, 503]))}},
      "get":{"operationId":"listSchedules","summary":"The tenant's schedules by name","tags":["schedules"],
        "responses":{"200":{"description":"Every schedule of the tenant (at most 1000)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ScheduleList"}}}},
          \#(errors([401, 403, 503]))}}},
    "/v1/schedules/{name}":{
      "get":{"operationId":"getSchedule","summary":"A schedule, with its next and last slot and its last job","tags":["schedules"],"parameters":[\#(nameParameter)],
        "responses":{"200":{"description":"The schedule","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Schedule"}}}},
          \#(errors([401, 403, 404, 503]))}},
      "put":{"operationId":"updateSchedule","summary":"Change a schedule (fields left out keep their value; a changed expression, zone or enabled state starts from the next slot after now)","tags":["schedules"],
        "parameters":[\#(nameParameter)],
        "requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/ScheduleChange"}}}},
        "responses":{"200":{"description":"The schedule after the change","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Schedule"}}}},
          \#(errors([400, 401, 403, 404, 413, 415, 503]))}},
      "delete":{"operationId":"deleteSchedule","summary":"Delete a schedule (the jobs it made stay)","tags":["schedules"],"parameters":[\#(nameParameter)],
        "responses":{"204":{"description":"Deleted"},
          \#(errors([401, 403, 404, 503]))}}},
    """#

    /// The request fields a schedule shares with its change; `type` is written exactly as in
    /// `JobRequest`, so `json(jobTypes:)` limits it to the server's job types there too.
    private static let scheduleProperties = #"""
      "cron":{"type":"string","minLength":1,"maxLength":256,"description":"Five fields (minute hour day-of-month month day-of-week: *, lists, ranges, steps, names such as mon or jan) or @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually"},
      "timezone":{"type":["string","null"],"minLength":1,"maxLength":64,"default":"UTC","description":"An IANA time zone such as Europe/Berlin. A local time skipped by a DST change fires shifted forward by the gap; a repeated one fires once, at its first occurrence"},
      "type":{"type":"string","minLength":1,"maxLength":128,"description":"The job type of the jobs it makes"},
      "payload":{"description":"Each job's payload: any JSON value, at most 256 KiB as text (default {})"},
      "queue":{"type":["string","null"],"pattern":"^[A-Za-z0-9._:-]{1,128}$","description":"Default (null): the type's queue"},
      "priority":{"type":["integer","null"],"minimum":-32768,"maximum":32767,"default":0},
      "enabled":{"type":["boolean","null"],"default":true}
    """#

    static let scheduleSchemas = #"""
    "ScheduleRequest":{"type":"object","required":["name","cron","type"],"additionalProperties":false,"properties":{
      "name":{"type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$","description":"Unique within the tenant"},
    \#(scheduleProperties)}},
    "ScheduleChange":{"type":"object","additionalProperties":false,"properties":{
    \#(scheduleProperties)}},
    "Schedule":{"type":"object","required":["name","cron","timezone","type","queue","payload","priority","enabled","nextRunAt","lastRunAt","lastSlot","lastJobId","lastError","createdAt","updatedAt"],
      "properties":{"name":{"type":"string"},"cron":{"type":"string"},"timezone":{"type":"string"},"type":{"type":"string"},
      "queue":{"type":["string","null"]},"payload":{},"priority":{"type":"integer"},"enabled":{"type":"boolean"},
      "nextRunAt":{"type":["string","null"],"format":"date-time","description":"The next slot; null while disabled"},
      "lastRunAt":{"type":["string","null"],"format":"date-time","description":"When it last fired"},
      "lastSlot":{"type":["string","null"],"format":"date-time","description":"The slot it last fired (after downtime, the latest missed one: missed slots are caught up once)"},
      "lastJobId":{"type":["string","null"],"format":"uuid"},
      "lastError":{"type":["string","null"],"description":"Why its last firing made no job"},
      "createdAt":{"type":"string","format":"date-time"},"updatedAt":{"type":"string","format":"date-time"}}},
    "ScheduleList":{"type":"object","required":["schedules"],"properties":{"schedules":{"type":"array","items":{"$ref":"#/components/schemas/Schedule"}}}}
    """#
}
