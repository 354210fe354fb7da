-- wrk script for bench/run: GET /v1/jobs/{id}, cycling through the job ids listed one per line
-- in the file named by IDS (each connection starts at a different one). Token from TOKEN.
-- Requests are formatted once up front: formatting one per request cost wrk more CPU than
-- the server spends on some of them.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local requests = {}
for line in io.lines(os.getenv("IDS")) do
  if #line > 0 then requests[#requests + 1] = wrk.format("GET", "/v1/jobs/" .. line) end
end
local i = math.random(#requests)
request = function()
  i = i % #requests + 1
  return requests[i]
end
