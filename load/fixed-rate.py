#!/usr/bin/env python3
"""POST /v1/spans at a fixed rate, open loop (issue 13: p99 and time until queryable at 80% of peak). wrk keeps a
fixed number of requests in flight, so it measures peak throughput; here request i is due at start + i / RATE
whatever happened to the ones before, and its latency is counted from when it was due, so a server that falls
behind shows it in the percentiles instead of slowing the load down. The bodies are load/spans.lua's: TRACES
traces x SPANS spans of about 1 KB a request, every span unique.

While the load runs, a sampler takes the first trace of the most recently answered request twice a second and
polls GET /api/projects/default/traces/{id} (the analytics tables) until it is there: the time from the answer
to the trace being queryable.

  load/fixed-rate.py http://127.0.0.1:5099 KEY RATE SECONDS [traces=10] [spans=10] [workers=48]
Prints requests sent and on time, non-200 answers, latency percentiles from the due time, how far the client itself
fell behind its schedule, and queryable delays.
Used by load/bench.sh when RATE is set. LATENCY_LOG=<file>: every request's due time (s from the start), latency
and how far behind the client sent it, as CSV, to see when in the run the slow answers came.
"""
import http.client, json, os, random, sys, threading, time, urllib.parse

from spanload import FILLER, KINDS, percentile

url, key = sys.argv[1], sys.argv[2]
rate, seconds = float(sys.argv[3]), float(sys.argv[4])
traces = int(sys.argv[5]) if len(sys.argv) > 5 else 10
spans = int(sys.argv[6]) if len(sys.argv) > 6 else 10
workers = int(sys.argv[7]) if len(sys.argv) > 7 else 48
target = urllib.parse.urlparse(url)
prefix = "%06x%02x%08x" % (random.randint(0, 0xFFFFFF), 0x7F, int(time.time()) % 0xFFFFFFFF)
headers = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
total = int(rate * seconds)
lock = threading.Lock()
next_slot = 0
statuses, timeline = {}, []  # timeline: (due s from the start, latency ms, ms behind schedule when sent)
last_answered = None  # (trace id, answered at)
done = threading.Event()


def body(n):
    now = time.time()
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 120))
    finish = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 60))
    parts = []
    for t in range(1, traces + 1):
        trace = "%s%08x%02x" % (prefix, n, t)
        for s in range(1, spans + 1):
            parent = "" if s == 1 else ',"parentSpanId":"%014x01"' % t
            parts.append(
                '{"traceId":"%s","spanId":"%014x%02x"%s,"name":"step %d","kind":"%s",'
                '"startTime":"%s.%06dZ","endTime":"%s.%06dZ","status":"%s","model":"gpt-4o-mini","provider":"openai",'
                '"inputTokens":%d,"outputTokens":%d,"costUsd":0.00042,'
                '"input":{"messages":[{"role":"user","content":"%s request %d.%d.%d"}]},'
                '"output":{"role":"assistant","content":"%s answer %d.%d.%d"},'
                '"attributes":{"agent.name":"bench","step":%d}}'
                % (trace, t, s, parent, s, KINDS[(s - 1) % 10], start, s * 1000, finish, s * 1000,
                   "error" if s == 7 and t % 5 == 0 else "ok", 100 + s, 20 + s, FILLER, n, t, s, FILLER, n, t, s, s))
    return ('{"spans":[' + ",".join(parts) + "]}").encode(), "%s%08x%02x" % (prefix, n, 1)


def worker(t0):
    global next_slot, last_answered
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    while True:
        with lock:
            n = next_slot
            next_slot += 1
        if n >= total:
            return
        payload, first_trace = bodies[n]
        due = t0 + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        sent = time.perf_counter()
        try:
            connection.request("POST", "/v1/spans", payload, headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            status = "error"
        answered = time.perf_counter()
        with lock:
            timeline.append((due - t0, (answered - due) * 1000, (sent - due) * 1000))
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                last_answered = (first_trace, answered)


def sampler(delays):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    previous = None
    while not done.is_set():
        time.sleep(0.5)
        with lock:
            sample = last_answered
        # No answer since the last sample (the server stalled): the same trace again would count the stall as delay.
        if sample is None or sample == previous:
            continue
        previous = sample
        trace, answered = sample
        while True:
            connection.request("GET", "/api/projects/default/traces/" + trace, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                delays.append((time.perf_counter() - answered) * 1000)
                break
            if time.perf_counter() - answered > 60:
                delays.append(float("inf"))
                break
            time.sleep(0.01)


# Every body is built before the clock starts: building ~100 KB of JSON in Python takes CPU from the two cores the
# server runs on, and a client that falls behind its schedule would count its own delay as the server's.
bodies = [body(n) for n in range(total)]
delays = []
t0 = time.perf_counter() + 0.2
threads = [threading.Thread(target=worker, args=(t0,)) for _ in range(workers)]
for t in threads:
    t.start()
watch = threading.Thread(target=sampler, args=(delays,))
watch.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - t0
latencies = [latency for _, latency, _ in timeline]
lateness = [behind for _, _, behind in timeline]
done.set()
watch.join()
late = sum(1 for v in latencies if v > 1000)
print("fixed rate: %d requests (%d spans each) at %.1f/s over %.1f s: sent %.1f/s; answers %s"
      % (total, traces * spans, rate, seconds, total / elapsed, json.dumps(statuses)))
print("latency from the due time: p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  (over 1 s: %d)"
      % (percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99), max(latencies), late))
print("client behind its schedule when sending: p50 %.1f ms  p99 %.1f ms  max %.1f ms (counted in the latency above)"
      % (percentile(lateness, 50), percentile(lateness, 99), max(lateness)))
within = sum(1 for d in delays if d <= 1000)
print("queryable after the answer (%d samples): p50 %.0f ms  p95 %.0f ms  max %.0f ms; within 1 s: %.0f%%"
      % (len(delays), percentile(delays, 50), percentile(delays, 95), max(delays) if delays else float("nan"),
         100.0 * within / len(delays) if delays else float("nan")))
if os.environ.get("LATENCY_LOG"):
    with open(os.environ["LATENCY_LOG"], "w") as log:
        log.write("due_s,latency_ms,behind_ms\n")
        for due, latency, behind in sorted(timeline):
            log.write("%.3f,%.1f,%.1f\n" % (due, latency, behind))
