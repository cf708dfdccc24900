-- One wrk script for every bench scenario, configured through the environment:
--   BENCH_REQUESTS  a file of request lines "TOKEN<TAB>PATH" (TOKEN may be empty);
--                   each thread walks them from a random start
--   BENCH_METHOD    GET (default) or POST
--   BENCH_PHOTO     for identify: a JPEG sent as multipart field `image`, made distinct
--                   per request (a JPEG comment with a counter), so no answer is cached
--   BENCH_TIMINGS   for identify: a file prefix; each thread appends the Server-Timing
--                   "upstream total" pairs it receives, one line per response
-- done() prints one line "JSON:{...}" with counts and latency percentiles (µs).

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local lines = {}
local position = 1
local method = os.getenv("BENCH_METHOD") or "GET"
local photo = nil
local timings = nil
local sent = 0
local boundary = "----machinemate-bench-boundary"

function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local token, path = line:match("^([^\t]*)\t(.+)$")
    table.insert(lines, { token = token, path = path })
  end
  math.randomseed(os.time() + id * 7919)
  position = math.random(#lines)
  local photo_file = os.getenv("BENCH_PHOTO")
  if photo_file then
    local f = assert(io.open(photo_file, "rb"))
    photo = f:read("*a")
    f:close()
  end
  local prefix = os.getenv("BENCH_TIMINGS")
  if prefix then
    timings = assert(io.open(prefix .. "." .. id, "w"))
  end
end

local function multipart(jpeg)
  sent = sent + 1
  -- A COM segment right after SOI: a different file, the same picture.
  local text = string.format("bench %d-%d", id, sent)
  local len = #text + 2
  local comment = "\255\254" .. string.char(math.floor(len / 256), len % 256) .. text
  local image = jpeg:sub(1, 2) .. comment .. jpeg:sub(3)
  return "--" .. boundary .. "\r\n"
    .. "Content-Disposition: form-data; name=\"image\"; filename=\"photo.jpg\"\r\n"
    .. "Content-Type: image/jpeg\r\n\r\n"
    .. image .. "\r\n--" .. boundary .. "--\r\n"
end

function request()
  local r = lines[position]
  position = position % #lines + 1
  local headers = {}
  if r.token ~= "" then
    headers["Authorization"] = "Bearer " .. r.token
  end
  local body = nil
  if photo then
    headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
    body = multipart(photo)
  end
  return wrk.format(method, r.path, headers, body)
end

if os.getenv("BENCH_TIMINGS") then
  function response(status, headers, body)
    local value = headers["Server-Timing"] or headers["server-timing"]
    if value then
      local upstream = value:match("upstream;dur=([%d%.]+)")
      local total = value:match("total;dur=([%d%.]+)")
      if upstream and total then
        timings:write(upstream, " ", total, "\n")
        timings:flush()
      end
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON:{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
