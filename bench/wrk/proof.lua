-- The audit log's proofs (RFC 9162 2.1.3 and 2.1.4) against the tree of BENCH_SIZE leaves, a
-- random first number per request: BENCH_PARAMS "index,size" asks the inclusion proof of a
-- random leaf, "old,new" the consistency proof from a random older size.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

setup = stats.track

function init(args)
  math.randomseed(os.time() + (index or 0))
  path = os.getenv("BENCH_PATH")
  size = tonumber(os.getenv("BENCH_SIZE"))
  first, second = os.getenv("BENCH_PARAMS"):match("([^,]+),([^,]+)")
  failures = 0
end

function request()
  local pick = math.random(0, size - 1)
  return wrk.format("GET", path .. "?" .. first .. "=" .. pick .. "&" .. second .. "=" .. size)
end

function response(status, headers, body)
  if status ~= 200 then
    stats.fail("proof.lua:", status, body)
  end
end

done = stats.done
