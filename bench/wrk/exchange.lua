-- Consent-bound token exchange (RFC 8693) for a child picked at random per request from
-- BENCH_SUBS (the recipient's pairwise subs of seeded children, one per line), so that the
-- requests spread over the whole history table instead of one cached child. BENCH_BODY: the
-- form without subject_token; BENCH_AUTH: the recipient's client_secret_basic.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

setup = stats.track

local subs = stats.lines("BENCH_SUBS")

function init(args)
  math.randomseed(os.time())
  body = os.getenv("BENCH_BODY")
  auth = os.getenv("BENCH_AUTH")
  path = os.getenv("BENCH_PATH")
  failures = 0
end

function request()
  local sub = subs[math.random(#subs)]
  return stats.post(path, auth, body .. "&subject_token=" .. sub)
end

function response(status, headers, body)
  if status ~= 200 then
    stats.fail("exchange.lua:", status, body)
  end
end

done = stats.done
