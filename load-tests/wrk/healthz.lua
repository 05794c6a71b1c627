-- The HTTP ceiling: GET /healthz (no verification). args: scenario name
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
local name
function init(args) name = args[1] end
done = function(s, l, r) common.summary(os.getenv("SCENARIO") or name)(s, l, r) end
