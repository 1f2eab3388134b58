-- wrk script for POST /v1/traces (OTLP/HTTP, binary protobuf): every request is a fresh
-- ExportTraceServiceRequest of 100 unique spans (10 traces x 10 spans: one agent root, llm and tool
-- children), the same shape and about the same size as load/spans.lua sends to /v1/spans, but with the
-- GenAI semantic-convention attributes an instrumented agent exports (messages as gen_ai.input.messages /
-- gen_ai.output.messages, usage, model), so the server maps them and prices them from its price table.
-- Only the trace ids change between requests, so each span's bytes are encoded once, in init().
-- Key from AGENTSTACK_KEY. Used by load/bench-otlp.sh (issue 5).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- Minimal protobuf encoding (https://protobuf.dev/programming-guides/encoding/).
local function varint(n)
  local out = {}
  repeat
    local b = n % 128
    n = (n - b) / 128
    if n > 0 then b = b + 128 end
    out[#out + 1] = string.char(b)
  until n == 0
  return table.concat(out)
end

local function bytes(field, payload) return varint(field * 8 + 2) .. varint(#payload) .. payload end
local function uint(field, n) return varint(field * 8) .. varint(n) end
-- fixed64, little endian; values above 2^53 are whatever integer the double holds (still a recent time).
local function fixed64(field, v)
  local out = {}
  for i = 1, 8 do
    local b = v % 256
    out[i] = string.char(b)
    v = (v - b) / 256
  end
  return varint(field * 8 + 1) .. table.concat(out)
end
local function str_attr(key, value) return bytes(9, bytes(1, key) .. bytes(2, bytes(1, value))) end
local function int_attr(key, value) return bytes(9, bytes(1, key) .. bytes(2, uint(3, value))) end
local function id(n, width)
  local out = {}
  for i = width, 1, -1 do
    out[i] = string.char(n % 256)
    n = math.floor(n / 256)
  end
  return table.concat(out)
end

local operations = { "invoke_agent", "chat", "execute_tool", "chat", "chat", "chat", "execute_tool", "chat", "chat", "chat" }
local spans = {}   -- spans[s][ok|error] = bytes after the trace id

function init(args)
  counter = 0
  math.randomseed(os.time() * 1000 + tid)
  prefix = id(math.random(0, 0xffffff), 3) .. id(tid, 1) .. id(os.time() % 0xffffffff, 4)
  key = os.getenv("AGENTSTACK_KEY") or "bench-key"
  local filler = string.rep("The quick brown fox jumps over the lazy dog. ", 6)
  local now = os.time()
  for s = 1, 10 do
    spans[s] = {}
    for _, status in ipairs({ "ok", "error" }) do
      local body = bytes(2, id(s, 8))
        .. (s == 1 and "" or bytes(4, id(1, 8)))
        .. bytes(5, "step " .. s)
        .. uint(6, s == 1 and 1 or 3)
        .. fixed64(7, (now - 120) * 1e9 + s * 1e6)
        .. fixed64(8, (now - 60) * 1e9 + s * 1e6)
        .. str_attr("gen_ai.operation.name", operations[s])
        .. str_attr("gen_ai.provider.name", "openai")
        .. str_attr("gen_ai.request.model", "gpt-4o-mini")
        .. int_attr("gen_ai.usage.input_tokens", 100 + s)
        .. int_attr("gen_ai.usage.output_tokens", 20 + s)
        .. str_attr("gen_ai.input.messages", '[{"role":"user","parts":[{"type":"text","content":"' .. filler .. ' request"}]}]')
        .. str_attr("gen_ai.output.messages", '[{"role":"assistant","parts":[{"type":"text","content":"' .. filler .. ' answer"}]}]')
        .. str_attr("agent.name", "bench")
        .. int_attr("step", s)
        .. bytes(15, uint(3, status == "error" and 2 or 1))
      spans[s][status] = body
    end
  end
  scope = bytes(1, bytes(1, "bench"))
  resource = bytes(1, bytes(1, bytes(1, "service.name") .. bytes(2, bytes(1, "bench-agent"))))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-protobuf"
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  counter = counter + 1
  local parts = {}
  for t = 1, 10 do
    local trace = prefix .. id(counter, 4) .. id(t, 4)
    for s = 1, 10 do
      local rest = spans[s][(s == 7 and t % 5 == 0) and "error" or "ok"]
      parts[#parts + 1] = bytes(2, "\10\16" .. trace .. rest)
    end
  end
  local body = bytes(1, resource .. bytes(2, scope .. table.concat(parts)))
  return wrk.format(nil, "/v1/traces", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("requests=%d non2xx=%d errors_connect=%d errors_timeout=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.timeout))
  io.write(string.format("latency_p50_ms=%.1f latency_p99_ms=%.1f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
