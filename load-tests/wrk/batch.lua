-- POST /v1/verify/batch with 50 items per request. args: scenario name, file
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
local lines, i, name

function init(args)
  name = args[1]
  lines = common.lines(args[2])
  i = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer loadtest-key-0123456789"
end

function request()
  local items = {}
  for k = 1, 50 do
    i = i % #lines + 1
    items[k] = '{"qr":"' .. lines[i] .. '"}'
  end
  return wrk.format(nil, "/v1/verify/batch", nil, '{"items":[' .. table.concat(items, ",") .. ']}')
end

done = function(s, l, r) common.summary(os.getenv("SCENARIO") or name)(s, l, r) end
