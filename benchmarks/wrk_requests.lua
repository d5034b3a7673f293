-- wrk script for bench_api.py --client wrk: requests come from the file named by WRK_REQUESTS,
-- one per line as METHOD<TAB>PATH<TAB>JSON body (may be empty); the key from WRK_KEY.
-- Each connection takes the next line, closed loop; at the end the latency percentiles and
-- counts are printed as one JSON line that bench_api.py reads.
local requests = {}
local key = os.getenv("WRK_KEY")
for line in io.lines(os.getenv("WRK_REQUESTS")) do
  local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
  local headers = {["X-API-Key"] = key}
  if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
  requests[#requests + 1] = wrk.format(method, path, headers, body)
end
local n = 0

request = function()
  n = n + 1
  return requests[(n - 1) % #requests + 1]
end

done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p95": %f, "p99": %f, "max": %f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end
