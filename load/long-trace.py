#!/usr/bin/env python3
"""The long-running trace shape (issue 13): each of WORKERS clients grows one trace to SPANS spans in
batches of BATCH spans (POST /v1/spans, the same ~1 KB spans as load/spans.lua), one batch after the
other, and the latency of each batch is recorded by its position in the trace. Printed: durable
spans/s over the run and p50/p99 latency per tenth of the trace, so a latency that grows with the
trace's length shows as a rising row. Used by load/bench.sh (SHAPE=long); standalone:
  load/long-trace.py http://127.0.0.1:5099 KEY [workers=4] [spans=1000] [batch=5]
"""
import http.client, json, sys, threading, time, os, urllib.parse

from spanload import FILLER, KINDS, percentile

url, key = sys.argv[1], sys.argv[2]
workers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
total = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
batch = int(sys.argv[5]) if len(sys.argv) > 5 else 5
target = urllib.parse.urlparse(url)
batches = total // batch
latencies = [[] for _ in range(batches)]
failures = []
lock = threading.Lock()
run = "%08x" % (int(time.time() * 1000) % 0xffffffff)


def body(trace, first):
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 120))
    end = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 60))
    spans = []
    for s in range(first, first + batch):
        span = {"traceId": trace, "spanId": "%016x" % (s + 1), "name": "step %d" % s, "kind": KINDS[s % 10],
                "startTime": "%s.%06dZ" % (start, s % 1000000), "endTime": "%s.%06dZ" % (end, s % 1000000),
                "status": "ok", "model": "gpt-4o-mini", "provider": "openai", "inputTokens": 100 + s % 50,
                "outputTokens": 20, "costUsd": 0.00042,
                "input": {"messages": [{"role": "user", "content": "%s request %d" % (FILLER, s)}]},
                "output": {"role": "assistant", "content": "%s answer %d" % (FILLER, s)},
                "attributes": {"agent.name": "bench", "step": s}}
        if s > 0:
            span["parentSpanId"] = "%016x" % 1
        spans.append(span)
    return json.dumps({"spans": spans}).encode()


def worker(index):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    trace = "%s%024x" % (run, index)
    for b in range(batches):
        payload = body(trace, b * batch)
        t0 = time.perf_counter()
        connection.request("POST", "/v1/spans", payload,
                           {"Content-Type": "application/json", "Authorization": "Bearer " + key})
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - t0
        with lock:
            latencies[b].append(elapsed * 1000)
            if response.status != 200:
                failures.append(response.status)


t0 = time.perf_counter()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - t0
print("long trace: %d traces x %d spans in batches of %d: %.0f spans/s, non-200: %d"
      % (workers, total, batch, workers * total / elapsed, len(failures)))
tenth = max(1, batches // 10)
for d in range(0, batches, tenth):
    window = [v for row in latencies[d:d + tenth] for v in row]
    print("  batches %4d-%4d (spans %5d-%5d): p50 %6.1f ms  p99 %6.1f ms"
          % (d + 1, d + tenth, d * batch + 1, (d + tenth) * batch, percentile(window, 50), percentile(window, 99)))
first = [v for row in latencies[:tenth] for v in row]
last = [v for row in latencies[-tenth:] for v in row]
print("long_trace_growth p50 last/first tenth = %.2f" % (percentile(last, 50) / percentile(first, 50)))
