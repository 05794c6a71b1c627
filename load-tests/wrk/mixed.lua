-- A realistic mix: 60 % distinct valid, 25 % repeats of a hot set, 10 % invalid, 5 % batch of 10.
-- args: scenario name, valid file, invalid file
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
local valid, invalid, name
local n = 0

function init(args)
  name = args[1]
  valid = common.lines(args[2])
  invalid = common.lines(args[3])
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer loadtest-key-0123456789"
end

function request()
  n = n + 1
  local r = n % 20
  if r < 12 then
    return wrk.format("POST", "/v1/verify", nil, '{"qr":"' .. valid[n % #valid + 1] .. '"}')
  elseif r < 17 then
    return wrk.format("POST", "/v1/verify", nil, '{"qr":"' .. valid[n % 50 + 1] .. '"}')
  elseif r < 19 then
    return wrk.format("POST", "/v1/verify", nil, '{"qr":"' .. invalid[n % #invalid + 1] .. '"}')
  end
  local items = {}
  for k = 1, 10 do items[k] = '{"qr":"' .. valid[(n + k) % #valid + 1] .. '"}' end
  return wrk.format("POST", "/v1/verify/batch", nil, '{"items":[' .. table.concat(items, ",") .. ']}')
end

done = function(s, l, r) common.summary(os.getenv("SCENARIO") or name)(s, l, r) end
