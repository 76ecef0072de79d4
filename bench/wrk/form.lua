-- One fixed request, sent again and again: BENCH_METHOD (default POST), BENCH_BODY (an
-- application/x-www-form-urlencoded body) and BENCH_AUTH (an Authorization header value).
-- Used for the client credentials grant, introspection and the bare endpoint.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

setup = stats.track

wrk.method = os.getenv("BENCH_METHOD") or "POST"
wrk.body = os.getenv("BENCH_BODY")
if wrk.body then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

function init(args)
  failures = 0
end

function response(status, headers, body)
  if status ~= 200 then
    stats.fail("form.lua:", status, body)
  end
end

done = stats.done
