-- POST /api/v1/orders/{id}/confirm, each draft of BENCH_IDS (one a line)
-- confirmed once: thread k of BENCH_THREADS takes ids k, k+n, k+2n, …
-- When a thread runs out it confirms its last id again, which is a 422 and
-- counted as an error by wrk (bench/run.sh then asks for more drafts).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local ids, headers, step, i

setup = c.setup
done = c.done

function init(args)
  ids = c.lines(os.getenv("BENCH_IDS"))
  headers = { ["Authorization"] = "Bearer " .. c.token }
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  i = (thread_id or 1) - step
end

function request()
  if i + step <= #ids then i = i + step end
  return wrk.format("POST", "/api/v1/orders/" .. ids[i] .. "/confirm", headers)
end
