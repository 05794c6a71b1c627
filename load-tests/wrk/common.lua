-- Shared by the scenarios: load QR lines, count statuses, print one JSON summary line.
local M = {}

function M.lines(path, limit)
  local t = {}
  for line in io.lines(path) do
    if line ~= "" then t[#t + 1] = line end
    if limit and #t >= limit then break end
  end
  return t
end

function M.summary(name)
  return function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
      '{"scenario":"%s","requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"errors_status":%d,"errors_socket":%d}\n',
      name, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
      e.status, e.connect + e.read + e.write + e.timeout))
  end
end

return M
