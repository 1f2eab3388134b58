#!/usr/bin/env python3
"""Bulk-generates traces through POST /v1/spans for the dashboard page-load measurement (issue 7).

usage: dashboard-100k.py BASE_URL KEY [TRACES]   (default 100000; 1,000 spans a request, 2 spans a trace:
an agent span and an LLM span with model, tokens and cost, spread over the last 24 hours)."""
import json, random, sys, urllib.request, uuid
from datetime import datetime, timedelta, timezone

base, key = sys.argv[1].rstrip('/'), sys.argv[2]
total = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
now = datetime.now(timezone.utc)
models = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet']
t = lambda d: d.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
batch = []

def flush():
    body = json.dumps({'spans': batch}).encode()
    req = urllib.request.Request(f'{base}/v1/spans', body, {'Content-Type': 'application/json', 'Authorization': f'Bearer {key}'})
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
    batch.clear()

for i in range(total):
    trace, root = uuid.uuid4().hex, uuid.uuid4().hex
    start = now - timedelta(seconds=random.uniform(60, 86_000))
    ms = random.uniform(200, 4000)
    err = random.random() < 0.05
    batch.append({'traceId': trace, 'spanId': root, 'name': 'agent', 'kind': 'agent', 'startTime': t(start),
                  'endTime': t(start + timedelta(milliseconds=ms)), 'status': 'error' if err else 'ok'})
    batch.append({'traceId': trace, 'spanId': uuid.uuid4().hex, 'parentSpanId': root, 'name': 'generate', 'kind': 'llm',
                  'startTime': t(start), 'endTime': t(start + timedelta(milliseconds=ms * 0.8)), 'status': 'ok',
                  'model': random.choice(models), 'inputTokens': random.randint(50, 2000), 'outputTokens': random.randint(10, 500),
                  'costUsd': round(random.uniform(0.0001, 0.02), 6), 'input': [{'role': 'user', 'content': f'question {i}'}]})
    if len(batch) >= 1000:
        flush()
if batch:
    flush()
print(f'sent {total} traces')
