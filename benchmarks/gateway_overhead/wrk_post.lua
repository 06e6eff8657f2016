-- wrk script used by run.py: POST one JSON body, optionally with think time between requests on each
-- connection (a fixed offered rate instead of a closed loop), optionally capped in request count, and
-- print the summary as one JSON line that run.py parses.
--
-- Environment:
--   BENCH_BODY          request body (JSON text)
--   BENCH_AUTH          value of the Authorization header ("" = none)
--   BENCH_THINK_MS      mean pause before each request on a connection, uniform in [0.5, 1.5] x mean
--   BENCH_MAX_REQUESTS  stop sending after this many responses (per wrk thread; 0 = no cap)

local body = os.getenv("BENCH_BODY") or "{}"
local auth = os.getenv("BENCH_AUTH") or ""
local think_ms = tonumber(os.getenv("BENCH_THINK_MS") or "0") or 0
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0") or 0

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
if auth ~= "" then
  wrk.headers["Authorization"] = auth
end

function init(args)
  math.randomseed(os.time())
end

-- wrk only takes the (slower) timer path when these functions exist, so define them only when used.
if think_ms > 0 then
  function delay()
    return math.floor(think_ms * (0.5 + math.random()))
  end
end

if max_requests > 0 then
  local seen = 0
  function response(status, headers, body)
    seen = seen + 1
    if seen >= max_requests then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"min_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"stdev_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
