-- POST /v1/verify with the QR lines of a file, each thread starting at its own offset.
-- args: scenario name, file, [limit]
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
local lines, i, name
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

function init(args)
  name = args[1]
  lines = common.lines(args[2], tonumber(args[3]))
  i = (offset or 0) % #lines
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer loadtest-key-0123456789"
end

function request()
  i = i % #lines + 1
  return wrk.format(nil, "/v1/verify", nil, '{"qr":"' .. lines[i] .. '"}')
end

done = function(s, l, r) common.summary(os.getenv("SCENARIO") or name)(s, l, r) end
