-- wrk script for bench/run: POST /v1/jobs with one noop job, as `jobgate bench submit` sends it.
-- The API token comes from the TOKEN environment variable.
wrk.method = "POST"
wrk.body = '{"type":"noop","payload":{}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
