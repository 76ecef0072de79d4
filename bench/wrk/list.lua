-- The administrators' list (GET BENCH_PATH?<query>): each request takes a random line of
-- BENCH_QUERIES (a query string of filters) and sends BENCH_AUTH (a Bearer token).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

setup = stats.track

function init(args)
  math.randomseed(os.time() + (index or 0))
  path = os.getenv("BENCH_PATH")
  queries = {}
  for line in io.lines(os.getenv("BENCH_QUERIES")) do
    queries[#queries + 1] = line
  end
  wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
  failures = 0
end

function request()
  return wrk.format("GET", path .. "?" .. queries[math.random(1, #queries)])
end

function response(status, headers, body)
  if status ~= 200 then
    stats.fail("list.lua:", status, body)
  end
end

done = stats.done
