-- Fills the result cache with unique (cheap, invalid) QR texts. args: scenario name
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
local name, n
local counter = 0
function setup(thread) counter = counter + 1; thread:set("tid", counter) end
function init(args)
  name = args[1]; n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain"
  wrk.headers["Authorization"] = "Bearer loadtest-key-0123456789"
end
function request()
  n = n + 1
  return wrk.format(nil, "/v1/verify", nil, string.format("HC1:FILL%d0%09d", tid or 0, n))
end
done = function(s, l, r) common.summary(os.getenv("SCENARIO") or name)(s, l, r) end
