-- GET /api/v1/customers/{id} for random ids from BENCH_IDS (one a line).
-- Used unchanged against the service and against nginx.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local ids, headers

setup = c.setup
done = c.done

function init(args)
  ids = c.lines(os.getenv("BENCH_IDS"))
  headers = { ["Authorization"] = "Bearer " .. c.token }
  math.randomseed(12345 + (thread_id or 0))
end

function request()
  return wrk.format("GET", "/api/v1/customers/" .. ids[math.random(#ids)], headers)
end
