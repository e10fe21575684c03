-- wrk script of bench/guard_cost.py: sends the requests listed in a file, one per line
-- ("Header: value" pairs separated by tabs), in turn; counts every status it gets back; and
-- prints one JSON line with the throughput, the latency quantiles and the statuses.
--
--   wrk -s bench/_requests.lua URL -- REQUESTS_FILE PATH
local lines = {}
local index = 0
statuses = {}

function init(args)
  local path = args[2] or "/bench/ok"
  for line in io.lines(args[1]) do
    local headers = {}
    for pair in string.gmatch(line, "[^\t]+") do
      local name, value = string.match(pair, "^([^:]+): (.*)$")
      if name then headers[name] = value end
    end
    lines[#lines + 1] = wrk.format("GET", path, headers)
  end
  index = math.random(#lines) - 1
end

function request()
  index = index % #lines + 1
  return lines[index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, table.concat(parts, ", ")))
end
