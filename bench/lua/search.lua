-- GET /api/v1/customers?q=<term>, walking through BENCH_QUERIES in order
-- (each thread from its own offset), so every term is asked about equally.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local queries, headers
local i = 0

setup = c.setup
done = c.done

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", string.byte(ch)) end))
end

function init(args)
  queries = c.lines(os.getenv("BENCH_QUERIES"))
  for k, q in ipairs(queries) do queries[k] = "/api/v1/customers?q=" .. urlencode(q) end
  headers = { ["Authorization"] = "Bearer " .. c.token }
  i = ((thread_id or 1) - 1) * 97
end

function request()
  i = i % #queries + 1
  return wrk.format("GET", queries[i], headers)
end
