import JobGateCore
import JobGateHTTP
import JobGateSystem

/// The OpenAPI 3.1 description of every route (`GET /openapi.json`), written by hand to
/// match what the handlers return. `OpenAPITests` checks it covers every route of `Router.api`.
public enum OpenAPIDocument {
    /// The document as JSON text, with `type` limited to `jobTypes` (the server's registry), the
    /// reference submit's answer in `referenceFormat`, and the CORS preflights when `cors` is set.
    public static func json(jobTypes: [String], referenceFormat: ReferenceFormat = .cdk, cors: CORSPolicy? = nil) -> String {
        let enumeration = "\"enum\":[" + jobTypes.sorted().map { JSONText.quote($0) }.joined(separator: ",") + "],"
        let typed = components.replacingOccurrences(of: "\"type\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,",
                                                    with: "\"type\":{\"type\":\"string\"," + enumeration)
        var paths = paths(referenceFormat)
        if cors != nil { paths = withPreflights(paths) }
        return "{" + header + ",\"paths\":{" + paths + "}," + typed + "}"
    }

    static let header = #"""
    "openapi":"3.1.0",
    "info":{"title":"JobGate API","version":"1.0.0","description":"Submit durable jobs, follow their status and fetch their output through signed, expiring URLs. Errors are {\"error\":{\"code\",\"message\",\"field\"}}. Every response carries X-Request-Id."},
    "security":[{"bearer":[]}]
    """#

    static func errors(_ codes: [Int]) -> String {
        codes.map { "\"\($0)\":{\"$ref\":\"#/components/responses/E\($0)\"}" }.joined(separator: ",")
    }

    /// A dashboard button's form POST: no body, answered with a redirect to the page or HTML.
    static func dashboardQueueControl(_ action: String, _ summary: String) -> String {
        let html = ##"{"text/html":{"schema":{"type":"string"}}}"##
        let id = "dashboard" + action.prefix(1).uppercased() + action.dropFirst() + "Queue"
        return ##"{"post":{"operationId":"\##(id)","summary":"\##(summary)","tags":["operations"],"security":[],"##
            + ##""parameters":[{"$ref":"#/components/parameters/QueueName"}],"responses":{"303":{"description":"Done: Location /dashboard"},"##
            + ##""400":{"description":"Not a queue name","content":\##(html)},"##
            + ##""403":{"description":"No operator session, or posted from another origin: refused, nothing changed","content":\##(html)},"##
            + ##""503":{"description":"Database unavailable","content":\##(html)}}}}"##
    }

    static let idParameter = #"{"name":"id","in":"path","required":true,"schema":{"type":"string","format":"uuid"}}"#

    static func paths(_ referenceFormat: ReferenceFormat) -> String { #"""
    "/v1/jobs":{
      "post":{"operationId":"submitJob","summary":"Submit a job (answered after it is durably committed)","tags":["jobs"],
        "parameters":[{"$ref":"#/components/parameters/IdempotencyKey"}],
        "requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/JobRequest"}}}},
        "responses":{
          "202":{"description":"Created","headers":{"Location":{"schema":{"type":"string"}}},"content":{"application/json":{"schema":{"$ref":"#/components/schemas/SubmitResponse"}}}},
          "200":{"description":"Replay of an earlier request with the same idempotency key: the same job","headers":{"Location":{"schema":{"type":"string"}}},"content":{"application/json":{"schema":{"$ref":"#/components/schemas/SubmitResponse"}}}},
          \#(errors([400, 401, 403, 409, 413, 415, 429, 503]))}},
      "get":{"operationId":"listJobs","summary":"The tenant's jobs, newest first, keyset-paginated","tags":["jobs"],
        "parameters":[
          {"name":"status","in":"query","schema":{"$ref":"#/components/schemas/JobStatus"}},
          {"name":"type","in":"query","schema":{"type":"string"}},
          {"name":"queue","in":"query","schema":{"type":"string"}},
          {"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":1000,"default":50}},
          {"name":"after","in":"query","description":"The next cursor of the previous page","schema":{"type":"string","format":"uuid"}}],
        "responses":{"200":{"description":"A page of jobs","content":{"application/json":{"schema":{"$ref":"#/components/schemas/JobList"}}}},
          \#(errors([400, 401, 403, 503]))}}},
    "/v1/jobs/batch":{
      "post":{"operationId":"submitBatch","summary":"Submit up to 1000 jobs, all or nothing","tags":["jobs"],
        "requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/BatchRequest"}}}},
        "responses":{"202":{"description":"Created, in request order","content":{"application/json":{"schema":{"$ref":"#/components/schemas/BatchResponse"}}}},
          \#(errors([400, 401, 403, 409, 413, 415, 429, 503]))}}},
    "/v1/jobs/{id}":{
      "get":{"operationId":"getJob","summary":"A job","tags":["jobs"],"parameters":[\#(idParameter)],
        "responses":{"200":{"description":"The job","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Job"}}}},
          \#(errors([401, 403, 404, 503]))}}},
    "/v1/jobs/{id}/events":{
      "get":{"operationId":"getJobEvents","summary":"A job's history, oldest first","tags":["jobs"],"parameters":[\#(idParameter)],
        "responses":{"200":{"description":"Events","content":{"application/json":{"schema":{"$ref":"#/components/schemas/EventList"}}}},
          \#(errors([401, 403, 404, 503]))}}},
    "/v1/jobs/{id}/cancel":{
      "post":{"operationId":"cancelJob","summary":"Cancel a job (a running job stops at its worker's next heartbeat)","tags":["jobs"],"parameters":[\#(idParameter)],
        "responses":{"200":{"description":"The job after the cancel","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Job"}}}},
          \#(errors([401, 403, 404, 409, 503]))}}},
    "/v1/jobs/{id}/retry":{
      "post":{"operationId":"retryJob","summary":"Put a failed or cancelled job back in its queue (dead-letter redrive)","tags":["jobs"],"parameters":[\#(idParameter)],
        "responses":{"200":{"description":"The job, queued again","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Job"}}}},
          \#(errors([401, 403, 404, 409, 503]))}}},
    \#(schedulePaths)
    "/v1/outputs/{id}":{
      "get":{"operationId":"getOutput","summary":"A completed job's output through a signed URL (no bearer token)","tags":["outputs"],"security":[],
        "parameters":[\#(idParameter),
          {"name":"expires","in":"query","required":true,"schema":{"type":"integer"}},
          {"name":"kid","in":"query","required":true,"schema":{"type":"string"}},
          {"name":"sig","in":"query","required":true,"schema":{"type":"string"}},
          {"name":"If-None-Match","in":"header","schema":{"type":"string"}}],
        "responses":{
          "200":{"description":"The output bytes","headers":{"ETag":{"schema":{"type":"string"}},"Content-Length":{"schema":{"type":"integer"}}},"content":{"*/*":{"schema":{}}}},
          "304":{"description":"Not modified (If-None-Match matched the ETag)"},
          \#(errors([400, 403, 404, 503]))}}},
    "/v1/queues":{
      "get":{"operationId":"listQueues","summary":"Every queue with ready or running jobs or controls: paused, cap, depth (operator)","tags":["queues"],
        "responses":{"200":{"description":"The queues, by name","content":{"application/json":{"schema":{"type":"object","required":["queues"],
          "properties":{"queues":{"type":"array","items":{"$ref":"#/components/schemas/Queue"}}}}}}},
          \#(errors([401, 403, 503]))}}},
    "/v1/queues/{name}":{
      "put":{"operationId":"updateQueue","summary":"Pause or resume a queue, or set its concurrency cap across every worker (operator); a field left out keeps its value","tags":["queues"],
        "parameters":[{"$ref":"#/components/parameters/QueueName"}],
        "requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object","additionalProperties":false,"minProperties":1,
          "properties":{"paused":{"type":"boolean"},"concurrency":{"type":["integer","null"],"minimum":0,"maximum":1000000,"description":"null: no cap"}}}}}},
        "responses":{"200":{"description":"The queue now","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Queue"}}}},
          \#(errors([400, 401, 403, 415, 503]))}}},
    "/v1/queues/{name}/pause":{
      "post":{"operationId":"pauseQueue","summary":"Stop claims of the queue on every worker within a second; running jobs finish (operator)","tags":["queues"],
        "parameters":[{"$ref":"#/components/parameters/QueueName"}],
        "responses":{"200":{"description":"The queue now","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Queue"}}}},
          \#(errors([400, 401, 403, 503]))}}},
    "/v1/queues/{name}/resume":{
      "post":{"operationId":"resumeQueue","summary":"Claim the queue's jobs again (operator)","tags":["queues"],
        "parameters":[{"$ref":"#/components/parameters/QueueName"}],
        "responses":{"200":{"description":"The queue now","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Queue"}}}},
          \#(errors([400, 401, 403, 503]))}}},
    "/v1/tenants":{
      "get":{"operationId":"listTenants","summary":"The tenants with a fair-share weight set, by name; any other tenant weighs defaultWeight (operator)","tags":["tenants"],
        "responses":{"200":{"description":"The tenants, by name","content":{"application/json":{"schema":{"type":"object","required":["tenants","defaultWeight"],
          "properties":{"tenants":{"type":"array","items":{"$ref":"#/components/schemas/Tenant"}},"defaultWeight":{"type":"integer"}}}}}},
          \#(errors([401, 403, 503]))}}},
    "/v1/tenants/{name}":{
      "put":{"operationId":"updateTenant","summary":"Set a tenant's weight: tenants with ready jobs in one queue are claimed from in proportion to their weights (operator)","tags":["tenants"],
        "parameters":[{"name":"name","in":"path","required":true,"schema":{"type":"string","pattern":"^[a-z0-9][a-z0-9._-]{0,62}$"}}],
        "requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object","additionalProperties":false,"required":["weight"],
          "properties":{"weight":{"type":"integer","minimum":1,"maximum":1000}}}}}},
        "responses":{"200":{"description":"The tenant now","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Tenant"}}}},
          \#(errors([400, 401, 403, 415, 503]))}}},
    "/submit-job-request":{"description":\#(missingTokenNote),
      "post":{"operationId":"referenceSubmit","summary":"Reference-compatible submit: the whole body is the payload of a weather job","tags":["reference"],
        "parameters":[{"$ref":"#/components/parameters/IdempotencyKey"}],
        "requestBody":{"required":false,"content":{"application/json":{"schema":{}}}},
        "responses":{"200":\#(referenceSubmitted(referenceFormat)),
          \#(errors([400, 401, 403, 409, 413, 415, 429, 503]))}}},
    "/job-status/{job-id}":{"description":\#(missingTokenNote),
      "get":{"operationId":"referenceStatus","summary":"Reference-compatible status","tags":["reference"],
        "parameters":[{"name":"job-id","in":"path","required":true,"schema":{"type":"string"}}],
        "responses":{"200":{"description":"The job's status","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ReferenceStatus"}}}},
          "404":{"description":"Unknown job","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ReferenceNotFound"}}}},
          \#(errors([401, 403, 503]))}}},
    "/healthz":{"get":{"operationId":"healthz","summary":"The process is alive (no database check)","tags":["operations"],"security":[],
        "responses":{"200":{"description":"Alive","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Health"}}}}}}},
    "/readyz":{"get":{"operationId":"readyz","summary":"The database is reachable and its schema current","tags":["operations"],"security":[],
        "responses":{"200":{"description":"Ready","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Ready"}}}},
          \#(errors([503]))}}},
    "/metrics":{"get":{"operationId":"metrics","summary":"Prometheus metrics","tags":["operations"],"security":[],
        "responses":{"200":{"description":"Prometheus text format","content":{"text/plain":{"schema":{"type":"string"}}}}}}},
    "/openapi.json":{"get":{"operationId":"openapi","summary":"This document","tags":["operations"],"security":[],
        "responses":{"200":{"description":"OpenAPI 3.1","content":{"application/json":{"schema":{"type":"object"}}}}}}},
    "/dashboard":{"get":{"operationId":"dashboard","summary":"The operator's dashboard (HTML); without a valid session cookie, the login form","tags":["operations"],"security":[],
        "responses":{"200":{"description":"The dashboard or the login page","content":{"text/html":{"schema":{"type":"string"}}}},
          "503":{"description":"Database unavailable","content":{"text/html":{"schema":{"type":"string"}}}}}}},
    "/dashboard/login":{"post":{"operationId":"dashboardLogin","summary":"Exchange a token with jobs:read, admin or operator for a short-lived HttpOnly session cookie that ends when the token is revoked or expires (only operator sees every tenant)","tags":["operations"],"security":[],
        "requestBody":{"required":true,"content":{"application/x-www-form-urlencoded":{"schema":{"type":"object","properties":{"token":{"type":"string"}},"required":["token"]}}}},
        "responses":{"303":{"description":"Logged in: Set-Cookie and Location /dashboard"},
          "401":{"description":"Invalid token or missing scope: the login page again","content":{"text/html":{"schema":{"type":"string"}}}},
          "403":{"description":"The form was posted from another origin (Origin, Sec-Fetch-Site): refused, no cookie","content":{"text/html":{"schema":{"type":"string"}}}},
          "503":{"description":"Database unavailable","content":{"text/html":{"schema":{"type":"string"}}}}}}},
    "/dashboard/logout":{"post":{"operationId":"dashboardLogout","summary":"Clear the session cookie","tags":["operations"],"security":[],
        "responses":{"303":{"description":"Logged out: Location /dashboard"},
          "403":{"description":"Posted from another origin: refused","content":{"text/html":{"schema":{"type":"string"}}}}}}},
    "/dashboard/queues/{name}/pause":\#(dashboardQueueControl("pause", "Pause the queue from the dashboard's button (an operator's session)")),
    "/dashboard/queues/{name}/resume":\#(dashboardQueueControl("resume", "Resume the queue from the dashboard's button (an operator's session)"))
    """#
    }
}
