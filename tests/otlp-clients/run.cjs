'use strict';
// Runs one real JavaScript LLM instrumentation against the fake OpenAI-compatible server and exports its spans to
// AgentStack over one OTLP transport (issue 16). Driven by tests/AgentStack.Otlp.Tests (Exporting/RealClients).
//
//   node run.cjs <family> <transport>
//     family:    vercel-ai | openllmetry | openinference
//     transport: proto (OTLP/HTTP protobuf) | json (OTLP/HTTP JSON) | grpc (OTLP/gRPC)
//   environment: AGENTSTACK_OTLP_HTTP (http://host:port), AGENTSTACK_OTLP_GRPC (http://host:grpcPort),
//                OTEL_EXPORTER_OTLP_HEADERS (authorization=Bearer <key>; every exporter reads it)
//
// Prints one JSON line: {"traceId": "..."}; exits non-zero on any failure, the export included.
const { trace, diag, DiagConsoleLogger, DiagLogLevel } = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { startFakeOpenAi } = require('./fake-openai.cjs');

const [family, transport] = process.argv.slice(2);
const families = ['vercel-ai', 'openllmetry', 'openinference'];
if (!families.includes(family) || !['proto', 'json', 'grpc'].includes(transport)) {
  console.error(`usage: node run.cjs <${families.join('|')}> <proto|json|grpc>`);
  process.exit(2);
}
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

function exporter() {
  if (transport === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
    return new OTLPTraceExporter({ url: required('AGENTSTACK_OTLP_GRPC') });
  }
  const url = `${required('AGENTSTACK_OTLP_HTTP')}/v1/traces`;
  const { OTLPTraceExporter } = transport === 'proto'
    ? require('@opentelemetry/exporter-trace-otlp-proto')
    : require('@opentelemetry/exporter-trace-otlp-http');
  return new OTLPTraceExporter({ url });
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** Fails the run when an export fails, instead of only logging it. */
function checked(inner) {
  const failures = [];
  return {
    failures,
    export(spans, done) {
      inner.export(spans, (result) => {
        if (result.code !== 0) failures.push(result.error ?? new Error(`export failed with code ${result.code}`));
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => (inner.forceFlush ? inner.forceFlush() : Promise.resolve()),
  };
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Gets the weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The openai client instrumented by OpenLLMetry or OpenInference: a tool call, then a streamed answer, then an embedding. */
async function openAiAgent(fake, provider) {
  const openaiModule = require('openai');
  if (family === 'openllmetry') {
    const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');
    const instrumentation = new OpenAIInstrumentation({ traceContent: true, enrichTokens: false });
    registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
    instrumentation.manuallyInstrument(openaiModule.OpenAI);
  } else {
    const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
    const instrumentation = new OpenAIInstrumentation();
    registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
    instrumentation.manuallyInstrument(openaiModule);
  }
  const client = new openaiModule.OpenAI({ baseURL: fake.url, apiKey: 'sk-test' });
  const messages = [
    { role: 'system', content: 'You answer weather questions.' },
    { role: 'user', content: 'Weather in Paris?' },
  ];
  const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [weatherTool] });
  const call = first.choices[0].message.tool_calls[0];
  messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'rainy in Paris' });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini', messages, tools: [weatherTool], stream: true, stream_options: { include_usage: true },
  });
  let answer = '';
  for await (const chunk of stream) answer += chunk.choices[0]?.delta?.content ?? '';
  if (answer !== 'It is rainy in Paris.') throw new Error(`unexpected answer: ${answer}`);
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'rainy in Paris' });
}

/** The Vercel AI SDK with experimental_telemetry: generateText with a tool, streamText, embed. */
async function vercelAgent(fake) {
  const { generateText, streamText, embed, tool, stepCountIs } = require('ai');
  const { createOpenAI } = require('@ai-sdk/openai');
  const { z } = require('zod');
  const openai = createOpenAI({ baseURL: fake.url, apiKey: 'sk-test' });
  const telemetry = { isEnabled: true, functionId: 'weather-agent' };
  const result = await generateText({
    model: openai.chat('gpt-4o-mini'),
    system: 'You answer weather questions.',
    prompt: 'Weather in Paris?',
    tools: {
      get_weather: tool({
        description: 'Gets the weather for a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => `rainy in ${city}`,
      }),
    },
    stopWhen: stepCountIs(3),
    experimental_telemetry: telemetry,
  });
  if (result.text !== 'It is rainy in Paris.') throw new Error(`unexpected answer: ${result.text}`);
  const streamed = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'And in one sentence?', experimental_telemetry: telemetry });
  const text = await streamed.text;
  if (text !== 'It is rainy in Paris.') throw new Error(`unexpected streamed answer: ${text}`);
  await embed({ model: openai.embedding('text-embedding-3-small'), value: 'rainy in Paris', experimental_telemetry: telemetry });
}

async function main() {
  const fake = await startFakeOpenAi();
  const sink = checked(exporter());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `agentstack-otlp-clients-${family}` }),
    spanProcessors: [new BatchSpanProcessor(sink)],
  });
  provider.register();
  let traceId;
  try {
    const tracer = trace.getTracer('agentstack-otlp-clients');
    await tracer.startActiveSpan(`${family} weather agent`, async (root) => {
      traceId = root.spanContext().traceId;
      try {
        if (family === 'vercel-ai') await vercelAgent(fake);
        else await openAiAgent(fake, provider);
      } finally {
        root.end();
      }
    });
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
    await fake.close();
  }
  if (sink.failures.length > 0) throw sink.failures[0];
  process.stdout.write(JSON.stringify({ traceId }) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
