// k6 load script for POST /v1/spans: each iteration sends a fresh batch of 100 unique spans
// (10 traces × 10 spans, ~1 KB each), like load/spans.lua for wrk.
//   k6 run -e AGENTSTACK_URL=http://localhost:5000 -e AGENTSTACK_KEY=... load/k6/spans.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

export const options = {
  scenarios: {
    ingest: { executor: 'constant-vus', vus: Number(__ENV.VUS || 32), duration: __ENV.DURATION || '30s' },
  },
  thresholds: { http_req_failed: ['rate<0.001'] },
};

const base = __ENV.AGENTSTACK_URL || 'http://localhost:5000';
const key = __ENV.AGENTSTACK_KEY || 'bench-key';
const filler = 'The quick brown fox jumps over the lazy dog. '.repeat(6);
const kinds = ['agent', 'llm', 'tool', 'llm', 'retrieval', 'llm', 'tool', 'llm', 'chain', 'llm'];

function hex(n, width) {
  return n.toString(16).padStart(width, '0').slice(-width);
}

export default function () {
  const iteration = exec.scenario.iterationInTest;
  const prefix = hex(exec.vu.idInTest, 6) + hex(Date.now() % 0xffffffff, 8);
  const start = new Date(Date.now() - 120000).toISOString().replace('Z', '000Z');
  const end = new Date(Date.now() - 60000).toISOString().replace('Z', '000Z');
  const spans = [];
  for (let t = 1; t <= 10; t++) {
    const traceId = prefix + hex(iteration, 16) + hex(t, 2);
    for (let s = 1; s <= 10; s++) {
      spans.push({
        traceId, spanId: hex(t, 14) + hex(s, 2), parentSpanId: s === 1 ? undefined : hex(t, 14) + '01',
        name: `step ${s}`, kind: kinds[s - 1], startTime: start, endTime: end, status: 'ok',
        model: 'gpt-4o-mini', provider: 'openai', inputTokens: 100 + s, outputTokens: 20 + s, costUsd: 0.00042,
        input: { messages: [{ role: 'user', content: `${filler} request ${iteration}` }] },
        output: { role: 'assistant', content: `${filler} answer ${iteration}` },
        attributes: { 'agent.name': 'bench', step: s },
      });
    }
  }
  const res = http.post(`${base}/v1/spans`, JSON.stringify({ spans }), {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
  });
  check(res, { 'durable (200)': (r) => r.status === 200 });
}
