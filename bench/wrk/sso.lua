-- Single sign-on at a second service: the browser already has a DigiOne session
-- (BENCH_SESSIONS: one digione_sso cookie per line, thread i takes line i). Each flow is the
-- authorization request (PKCE S256; the broker answers at once with a 302 carrying the code)
-- and the code's exchange at the token endpoint (an access token and an ID token: two
-- signatures). One connection per wrk thread, so each thread's two steps alternate on it.
-- BENCH_AUTHORIZE: the authorization request's path and query without state;
-- BENCH_TOKEN_BODY: the token request's body without the code; BENCH_AUTH: client_secret_basic.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  stats.track(thread)
end

function init(args)
  local sessions = stats.lines("BENCH_SESSIONS")
  cookie = sessions[((index - 1) % #sessions) + 1]
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
  return wrk.format("POST", "/oidc/token", {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, token_body .. "&code=" .. code)
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
