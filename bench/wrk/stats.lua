-- Shared by every scenario script: at the end, one JSON line with what the harness reads
-- (bench/load.py). Latencies are in microseconds.
-- Scripts count the answers they find wrong in a per-thread global `failures` (a 200 that
-- should have been a redirect, say, which wrk itself does not count as an error).
local stats = {}
local threads = {}

-- Every script's setup: keep the thread (its failures are summed at the end) and number it;
-- the thread's init sees its number as the global `index` (1, 2, ...).
function stats.track(thread)
  threads[#threads + 1] = thread
  thread:set("index", #threads)
end

-- The lines of the file an environment variable names.
function stats.lines(variable)
  local out = {}
  for line in io.lines(os.getenv(variable)) do
    out[#out + 1] = line
  end
  return out
end

-- This thread's line of that file (thread i takes line i, round the file if it is shorter).
function stats.mine(variable)
  local lines = stats.lines(variable)
  return lines[((index - 1) % #lines) + 1]
end

-- A form POST (application/x-www-form-urlencoded), with an Authorization header if `auth`
-- is given and any `extra` headers.
function stats.post(path, auth, body, extra)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  if auth then
    headers["Authorization"] = auth
  end
  for name, value in pairs(extra or {}) do
    headers[name] = value
  end
  return wrk.format("POST", path, headers, body)
end

-- Count a wrong answer in the thread's `failures`; the first one goes to stderr.
function stats.fail(what, status, body)
  failures = (failures or 0) + 1
  if failures == 1 then
    io.stderr:write(what .. " " .. status .. " " .. body:sub(1, 300) .. "\n")
  end
end

-- A response header by name, whatever its case (granian sends them in lower case).
function stats.header(headers, name)
  local lower = name:lower()
  for key, value in pairs(headers) do
    if key:lower() == lower then
      return value
    end
  end
  return nil
end

function stats.done(summary, latency, requests)
  local errors = summary.errors
  local failures = 0
  for _, thread in ipairs(threads) do
    failures = failures + (thread:get("failures") or 0)
  end
  io.write(string.format(
    '\nBENCH {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "failures": %d}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean, failures))
end

return stats
