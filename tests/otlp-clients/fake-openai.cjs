'use strict';
// A deterministic OpenAI-compatible model server for the real-client OTLP tests (issue 16): chat completions (with
// and without streaming; the usage arrives in a last chunk of its own when stream_options.include_usage asks for it,
// as OpenAI sends it), tool calls, and embeddings. The first turn of a conversation that offers tools asks for
// get_weather; once a tool result is in the conversation it answers from it.
const http = require('node:http');

const ANSWER = 'It is rainy in Paris.';
const TOOL_USAGE = { prompt_tokens: 40, completion_tokens: 8 };
const ANSWER_USAGE = { prompt_tokens: 50, completion_tokens: 10 };
const EMBED_USAGE = { prompt_tokens: 5 };

function usage(u) {
  return { ...u, total_tokens: (u.prompt_tokens ?? 0) + (u.completion_tokens ?? 0) };
}

function chatTurn(request) {
  const messages = request.messages ?? [];
  const answered = messages.some((m) => m.role === 'tool' || m.role === 'function');
  if ((request.tools?.length ?? 0) > 0 && !answered) {
    return {
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish: 'tool_calls',
      usage: TOOL_USAGE,
    };
  }
  return { message: { role: 'assistant', content: ANSWER }, finish: 'stop', usage: ANSWER_USAGE };
}

function chatCompletion(request, res) {
  const turn = chatTurn(request);
  const base = { id: 'chatcmpl-fake-1', created: 1764720000, model: `${request.model}-2024-07-18`, system_fingerprint: 'fp_fake' };
  if (!request.stream) {
    return json(res, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message: turn.message, finish_reason: turn.finish, logprobs: null }],
      usage: usage(turn.usage),
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (chunk) => res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...chunk })}\n\n`);
  send({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  if (turn.message.tool_calls) {
    const call = turn.message.tool_calls[0];
    send({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }, finish_reason: null }] });
    send({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: call.function.arguments } }] }, finish_reason: null }] });
  } else {
    for (const piece of ['It is rainy', ' in Paris.'])
      send({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
  }
  send({ choices: [{ index: 0, delta: {}, finish_reason: turn.finish }] });
  if (request.stream_options?.include_usage)
    send({ choices: [], usage: usage(turn.usage) });
  res.end('data: [DONE]\n\n');
}

function embeddings(request, res) {
  const inputs = Array.isArray(request.input) ? request.input : [request.input];
  json(res, {
    object: 'list',
    model: request.model,
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.125, -0.5, 0.25] })),
    usage: { prompt_tokens: EMBED_USAGE.prompt_tokens, total_tokens: EMBED_USAGE.prompt_tokens },
  });
}

function json(res, body) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Starts the server on a free loopback port; resolves to { url, close }. */
function startFakeOpenAi() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const request = body ? JSON.parse(body) : {};
      if (req.method === 'POST' && req.url.endsWith('/chat/completions')) return chatCompletion(request, res);
      if (req.method === 'POST' && req.url.endsWith('/embeddings')) return embeddings(request, res);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no fake for ${req.method} ${req.url}` } }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/v1`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

module.exports = { startFakeOpenAi, ANSWER, TOOL_USAGE, ANSWER_USAGE, EMBED_USAGE };
