extension OpenAPIDocument {
    static func errorResponse(_ code: Int, _ description: String, headers: String = "") -> String {
        let h = headers.isEmpty ? "" : ",\"headers\":{\(headers)}"
        return "\"E\(code)\":{\"description\":\"\(description)\"\(h),\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}}"
    }

    static let retryAfter = #""Retry-After":{"schema":{"type":"integer"}}"#

    static let components = "\"components\":{"
        + #""securitySchemes":{"bearer":{"type":"http","scheme":"bearer","description":"An API token (jobgate token create) or a JWT from the configured OIDC provider. A raw token without the Bearer prefix is accepted too. Scopes: jobs:submit, jobs:read, jobs:cancel, admin (all job scopes, within the token's tenant) and operator (global operations across tenants, e.g. the dashboard of every tenant; implied by no other scope). A tenant name is 1-63 bytes of a-z 0-9 . _ -, starting with a letter or digit."}},"#
        + #""parameters":{"IdempotencyKey":{"name":"Idempotency-Key","in":"header","description":"Same as the idempotencyKey field; when both are given they must be equal (400 otherwise)","schema":{"type":"string","minLength":1,"maxLength":255}},"QueueName":{"name":"name","in":"path","required":true,"schema":{"type":"string","pattern":"^[A-Za-z0-9._:-]{1,128}$"}}},"#
        + "\"responses\":{" + [
            errorResponse(400, "Malformed JSON, a wrong field type or value, or text holding a NUL byte (invalid_text); field names it"),
            errorResponse(401, "Missing or invalid token", headers: #""WWW-Authenticate":{"schema":{"type":"string"}}"#),
            errorResponse(403, "The token lacks the scope, or the signed URL is invalid or expired"),
            errorResponse(404, "No such job (or schedule) for this tenant"),
            errorResponse(409, "Idempotency conflict, a state that does not allow the operation, or a schedule name already taken"),
            errorResponse(413, "Body or payload over the limit"),
            errorResponse(415, "The body is not JSON"),
            errorResponse(429, "Submission backlog over its cap", headers: retryAfter),
            errorResponse(503, "The database is unavailable (database_unavailable; on a submit, nothing was stored), did not answer within the statement timeout (database_timeout; nothing was changed), or a submit's commit reply was lost and could not be checked (outcome_unknown; retry with the same Idempotency-Key)", headers: retryAfter),
            missingTokenResponse,
        ].joined(separator: ",") + "},"
        + "\"schemas\":{" + schemas + "," + scheduleSchemas + "," + compatibilitySchemas + "}}"

    static let schemas = #"""
    "Error":{"type":"object","required":["error"],"properties":{"error":{"type":"object","required":["code","message"],
      "properties":{"code":{"type":"string"},"message":{"type":"string"},"field":{"type":"string"}}}}},
    "JobStatus":{"type":"string","enum":["queued","running","completed","retrying","failed","cancelled"]},
    "JobRequest":{"type":"object","required":["type"],"additionalProperties":false,
      "not":{"required":["runAt","delaySeconds"],"properties":{"runAt":{"type":"string"},"delaySeconds":{"type":"number"}},"description":"runAt and delaySeconds exclude each other (null counts as absent)"},"properties":{
      "type":{"type":"string","minLength":1,"maxLength":128,"description":"A job type known to the server (weather, noop, configured command types)"},
      "payload":{"description":"Any JSON value, at most 256 KiB as text (default {}); what PostgreSQL's jsonb cannot store is a 400: the character U+0000, unpaired surrogates, numbers beyond numeric's range"},
      "queue":{"type":["string","null"],"pattern":"^[A-Za-z0-9._:-]{1,128}$","default":"default"},
      "priority":{"type":["integer","null"],"minimum":-32768,"maximum":32767,"default":0,"description":"Lower runs first"},
      "runAt":{"type":["string","null"],"format":"date-time","description":"Not before this time (exclusive with delaySeconds): an RFC 3339 date-time, year 1 to 9999, no leap second"},
      "delaySeconds":{"type":["number","null"],"minimum":0,"maximum":31536000},
      "maxAttempts":{"type":["integer","null"],"minimum":1,"maximum":1000},
      "timeoutSeconds":{"type":["integer","null"],"minimum":1,"maximum":86400},
      "idempotencyKey":{"type":["string","null"],"minLength":1,"maxLength":255,"description":"Same as the Idempotency-Key header; when both are given they must be equal"}}},
    "SubmitResponse":{"type":"object","required":["jobId","status","statusUrl"],"properties":{
      "jobId":{"type":"string","format":"uuid"},"status":{"$ref":"#/components/schemas/JobStatus"},"statusUrl":{"type":"string"}}},
    "BatchRequest":{"type":"object","required":["jobs"],"additionalProperties":false,"properties":{
      "jobs":{"type":"array","minItems":1,"maxItems":1000,"items":{"$ref":"#/components/schemas/JobRequest"}}}},
    "BatchResponse":{"type":"object","required":["jobs"],"properties":{"jobs":{"type":"array","items":{"type":"object",
      "required":["jobId","status"],"properties":{"jobId":{"type":"string","format":"uuid"},"status":{"$ref":"#/components/schemas/JobStatus"}}}}}},
    "Output":{"type":"object","required":["url","expiresAt","size","contentType","sha256"],"properties":{
      "url":{"type":"string","description":"Signed path, valid until expiresAt; needs no bearer token"},
      "expiresAt":{"type":"string","format":"date-time"},"size":{"type":"integer","minimum":0},
      "contentType":{"type":"string"},"sha256":{"type":"string","pattern":"^[0-9a-f]{64}$"}}},
    "Job":{"type":"object","required":["jobId","type","queue","status","priority","attempt","maxAttempts","createdAt","runAt","startedAt","finishedAt","lastError"],
      "properties":{"jobId":{"type":"string","format":"uuid"},"type":{"type":"string"},"queue":{"type":"string"},
      "status":{"$ref":"#/components/schemas/JobStatus"},"priority":{"type":"integer"},"attempt":{"type":"integer","minimum":0},
      "maxAttempts":{"type":"integer","minimum":1},"createdAt":{"type":"string","format":"date-time"},"runAt":{"type":"string","format":"date-time"},
      "startedAt":{"type":["string","null"],"format":"date-time"},"finishedAt":{"type":["string","null"],"format":"date-time"},
      "lastError":{"type":["string","null"]},"output":{"$ref":"#/components/schemas/Output"},
      "progress":{"$ref":"#/components/schemas/Progress"}}},
    "Progress":{"type":"object","required":["done","total","message","at"],
      "description":"What the job's current (or last) attempt last reported; absent when it reported nothing. Stored at most once a second per job; a new attempt starts without one",
      "properties":{"done":{"type":"integer","format":"int64","minimum":0},"total":{"type":["integer","null"],"format":"int64","minimum":0},
      "message":{"type":["string","null"],"maxLength":200},"at":{"type":"string","format":"date-time"}}},
    "JobList":{"type":"object","required":["jobs","next"],"properties":{"jobs":{"type":"array","items":{"$ref":"#/components/schemas/Job"}},
      "next":{"type":["string","null"],"description":"Pass as after= for the next page; null on the last page"}}},
    "Event":{"type":"object","required":["event","at","fromStatus","toStatus","attempt","worker","message"],"properties":{
      "event":{"type":"string","enum":["submitted","started","completed","attempt_failed","retry_scheduled","failed","lease_expired","cancel_requested","cancelled","requeued","redriven"]},
      "at":{"type":"string","format":"date-time"},"fromStatus":{"oneOf":[{"$ref":"#/components/schemas/JobStatus"},{"type":"null"}]},
      "toStatus":{"oneOf":[{"$ref":"#/components/schemas/JobStatus"},{"type":"null"}]},"attempt":{"type":"integer","minimum":0},
      "worker":{"type":["string","null"]},"message":{"type":["string","null"]}}},
    "EventList":{"type":"object","required":["events"],"properties":{"events":{"type":"array","items":{"$ref":"#/components/schemas/Event"}}}},
    "ReferenceSubmitResponse":{"type":"object","required":["jobId","SendMessageResponse"],"properties":{"jobId":{"type":"string","format":"uuid"},
      "SendMessageResponse":{"type":"object","required":["SendMessageResult"],"properties":{"SendMessageResult":{"type":"object",
      "required":["MessageId"],"properties":{"MessageId":{"type":"string","format":"uuid"}}}}}}},
    "ReferenceStatus":{"type":"object","required":["jobId","jobRequestId","jobStatus"],"properties":{"jobId":{"type":"string","format":"uuid"},
      "jobRequestId":{"type":"string"},"jobStatus":{"type":"string","description":"complete, Submitted (queued, running or retrying), failed or cancelled"},
      "jobProcessedPayloadLink":{"type":"string","description":"Signed URL of the output, when complete"}}},
    "ReferenceNotFound":{"type":"object","required":["Error Message"],"properties":{"Error Message":{"type":"string"}}},
    "Queue":{"type":"object","required":["name","paused","concurrency","ready","running","oldestReadySeconds","updatedBy","updatedAt"],"properties":{
      "name":{"type":"string"},"paused":{"type":"boolean"},
      "concurrency":{"type":["integer","null"],"description":"At most this many of its jobs run at once across every worker; null: no cap"},
      "ready":{"type":"integer","minimum":0,"description":"Jobs ready to run now, counted up to 10,000"},
      "running":{"type":"integer","minimum":0,"description":"Its jobs running now on every worker"},
      "oldestReadySeconds":{"type":"number","minimum":0,"description":"How long the oldest ready job has waited; 0 when none is ready"},
      "updatedBy":{"type":["string","null"],"description":"Who last paused, resumed or capped it; null if nobody did"},
      "updatedAt":{"type":["string","null"],"format":"date-time"}}},
    "Tenant":{"type":"object","required":["name","weight","updatedBy","updatedAt"],"properties":{
      "name":{"type":"string"},"weight":{"type":"integer","minimum":1,"maximum":1000,"description":"Its share of a queue against other tenants with ready jobs there"},
      "updatedBy":{"type":"string","description":"Who last set it"},"updatedAt":{"type":"string","format":"date-time"}}},
    "Health":{"type":"object","required":["status"],"properties":{"status":{"const":"ok"},"version":{"type":"string"}}},
    "Ready":{"type":"object","required":["status"],"properties":{"status":{"const":"ready"}}}
    """#
}
