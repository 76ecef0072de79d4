-- A full password sign-in through the embedded directory, again and again: GET the sign-in
-- form (a fresh browser: no cookie), then POST the user name, password and the form's CSRF
-- token with the form's cookie; a 302 is a sign-in. One connection per wrk thread, so that
-- each thread's steps alternate on its own connection. BENCH_USERS: user names, one per line
-- (thread i signs in as line i); BENCH_CITY, BENCH_PASSWORD.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

setup = stats.track

function init(args)
  user = stats.mine("BENCH_USERS")
  path = "/login/" .. os.getenv("BENCH_CITY")
  password = os.getenv("BENCH_PASSWORD")
  step, failures = "form", 0
end

function request()
  if step == "form" then
    return wrk.format("GET", path)
  end
  local body = "csrf_token=" .. csrf .. "&username=" .. user .. "&password=" .. password
  return stats.post(path, nil, body, {["Cookie"] = cookie})
end

local function failed(status, body)
  stats.fail("signin.lua: " .. step, status, body)
  step = "form"
end

function response(status, headers, body)
  if step == "form" then
    local set = stats.header(headers, "Set-Cookie") or ""
    cookie = set:match("^([^;]+)")
    csrf = body:match('name="csrf_token" value="([^"]+)"')
    if status == 200 and cookie and csrf then
      step = "post"
    else
      failed(status, body)
    end
  elseif status == 302 then
    step = "form"
  else
    failed(status, body)
  end
end

done = stats.done
