-- wrk script for POST /v1/spans: every request is a fresh batch of unique spans of about 1 KB each,
-- with input and output payloads, so no request is a duplicate of another and no two spans carry the same text
-- (the detectors cache verdicts by text: repeated texts would hide their cost). The shape comes from the
-- environment: TRACES traces × SPANS spans a request (default 10 × 10: one agent root, llm and tool
-- children); load/bench.sh's SHAPE sets them (10x10, 1x100, 100x1).
-- Key from AGENTSTACK_KEY. Used by load/bench-ingest.sh.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter = 0
  math.randomseed(os.time() * 1000 + tid)
  prefix = string.format("%06x%02x%08x", math.random(0, 0xffffff), tid, os.time() % 0xffffffff)
  key = os.getenv("AGENTSTACK_KEY") or "bench-key"
  filler = string.rep("The quick brown fox jumps over the lazy dog. ", 6)
  traces = tonumber(os.getenv("TRACES") or "10")
  spans = tonumber(os.getenv("SPANS") or "10")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

local kinds = { "agent", "llm", "tool", "llm", "retrieval", "llm", "tool", "llm", "chain", "llm" }

function request()
  counter = counter + 1
  local now = os.time()
  local start = os.date("!%Y-%m-%dT%H:%M:%S", now - 120)
  local finish = os.date("!%Y-%m-%dT%H:%M:%S", now - 60)
  local parts = {}
  for t = 1, traces do
    local trace = string.format("%s%08x%02x", prefix, counter, t)
    for s = 1, spans do
      local parent = s == 1 and "" or string.format(',"parentSpanId":"%014x01"', t)
      parts[#parts + 1] = string.format(
        '{"traceId":"%s","spanId":"%014x%02x"%s,"name":"step %d","kind":"%s",' ..
        '"startTime":"%s.%06dZ","endTime":"%s.%06dZ","status":"%s","model":"gpt-4o-mini","provider":"openai",' ..
        '"inputTokens":%d,"outputTokens":%d,"costUsd":0.00042,' ..
        '"input":{"messages":[{"role":"user","content":"%s request %d.%d.%d"}]},' ..
        '"output":{"role":"assistant","content":"%s answer %d.%d.%d"},' ..
        '"attributes":{"agent.name":"bench","step":%d}}',
        trace, t, s, parent, s, kinds[(s - 1) % 10 + 1], start, s * 1000, finish, s * 1000,
        (s == 7 and t % 5 == 0) and "error" or "ok", 100 + s, 20 + s, filler, counter, t, s, filler, counter, t, s, s)
    end
  end
  return wrk.format(nil, "/v1/spans", nil, '{"spans":[' .. table.concat(parts, ",") .. ']}')
end

function done(summary, latency, requests)
  io.write(string.format("requests=%d non2xx=%d errors_connect=%d errors_timeout=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.timeout))
  io.write(string.format("latency_p50_ms=%.1f latency_p99_ms=%.1f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
