-- The refresh token grant with rotation (RFC 6749 section 6): every response carries a new
-- refresh token, and the old one is spent. Each wrk thread takes its own tokens from
-- BENCH_TOKENS (one per line; the harness mints at least one per connection for each run), and
-- keeps them in a queue: a request takes one, its response gives back the rotated one. Tokens
-- are interchangeable, so which connection a response arrives on does not matter.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local stats = require("stats")

local tokens = stats.lines("BENCH_TOKENS")

setup = stats.track

function init(args)
  local per = tonumber(os.getenv("BENCH_PER_THREAD"))
  queue = {}
  for i = (index - 1) * per + 1, index * per do
    queue[#queue + 1] = tokens[i]
  end
  auth = os.getenv("BENCH_AUTH")
  path = os.getenv("BENCH_PATH")
  failures = 0
end

function request()
  local token = table.remove(queue)
  if token == nil then
    io.stderr:write("refresh.lua: out of tokens (more connections than tokens?)\n")
    os.exit(1)
  end
  return stats.post(path, auth, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if status == 200 and token then
    queue[#queue + 1] = token
  else
    stats.fail("refresh.lua:", status, body)
  end
end

done = stats.done
