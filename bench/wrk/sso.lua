-- Single sign-on at a second service: the browser already has a DigiOne session
-- (BENCH_SESSIONS: one digione_sso cookie per line, thread i takes line i). Each flow is the
-- authorization request (PKCE S256; the broker answers at once with a 302 carrying the code)
-- and the code's exchange at the token endpoint (an access token and an ID token: two
-- signatures). One connection per wrk thread, so each thread's two steps alternate on it.
-- BENCH_AUTHORIZE: the authorization request's path and query without state;
-- BENCH_TOKEN_BODY: the token request's body without the code; BENCH_AUTH: client_secret_basic.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

setup = stats.track

function init(args)
  cookie = stats.mine("BENCH_SESSIONS")
  authorize = os.getenv("BENCH_AUTHORIZE")
  token_body = os.getenv("BENCH_TOKEN_BODY")
  auth = os.getenv("BENCH_AUTH")
  step, flows, failures = "authorize", 0, 0
end

function request()
  if step == "authorize" then
    flows = flows + 1
    return wrk.format("GET", authorize .. "&state=s" .. index .. "x" .. flows, {
      ["Cookie"] = cookie,
    })
  end
  return stats.post("/oidc/token", auth, token_body .. "&code=" .. code)
end

local function failed(status, body)
  stats.fail("sso.lua: " .. step, status, body)
  step = "authorize"
end

function response(status, headers, body)
  if step == "authorize" then
    local location = stats.header(headers, "Location") or ""
    code = location:match("[?&]code=([^&]+)")
    if status == 302 and code then
      step = "token"
    else
      failed(status, body .. " " .. location)
    end
  elseif status == 200 and body:find('"id_token"', 1, true) then
    step = "authorize"
  else
    failed(status, body)
  end
end

done = stats.done
