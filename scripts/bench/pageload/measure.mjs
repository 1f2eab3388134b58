// Dashboard page loads in real headless Chromium (issue 7: "pages load in under 1 s with 100,000 traces").
// usage: node measure.mjs BASE_URL SIGN_IN_TOKEN API_KEY [LOADS]
// For each page: one warm-up load, then LOADS (default 5) loads; each is timed from navigation start
// (performance.timeOrigin of the new document) until the page's data is rendered and nothing is busy.
// Prints a Markdown table of the median, min and max, and the warm-up (first, cold) load.
import { chromium } from 'playwright-core';

const [base, token, key, loadsArg] = process.argv.slice(2);
if (!base || !token || !key) {
  console.error('usage: node measure.mjs BASE_URL SIGN_IN_TOKEN API_KEY [LOADS]');
  process.exit(2);
}
const loads = Number(loadsArg ?? 5);

// A trace to open: the newest one, read through the same API the dashboard uses.
const now = new Date();
const from = new Date(now.getTime() - 86_400_000).toISOString();
const list = await (await fetch(`${base}/api/projects/default/traces?from=${from}&to=${now.toISOString()}&limit=1`,
  { headers: { Authorization: `Bearer ${key}` } })).json();
const trace = list.items[0];
if (!trace) throw new Error('no traces stored: fill the server first');

// "Rendered" per page: the elements that carry its data are in the DOM with content, and no loading flag is up.
const pages = [
  { name: 'Overview (/overview, 24 h)', path: '/overview', ready: `(() => {
      const grid = document.querySelector('.grid');
      return grid && grid.getAttribute('aria-busy') === 'false'
        && document.querySelectorAll('[data-chart=cost] path.area').length > 0
        && document.querySelectorAll('[data-chart=tokens] path.area').length > 0
        && document.querySelectorAll('[data-chart=latency] g.circle > circle').length > 0
        && document.querySelectorAll('[data-chart=errors] path.line').length > 0
        && document.querySelectorAll('[data-chart=models] path.bar').length > 0;
    })()` },
  { name: 'Traces list (/traces, first page)', path: '/traces', ready: `(() =>
      document.querySelectorAll('tr[data-trace-id]').length > 0 && !document.querySelector('[aria-busy=true]'))()` },
  { name: `Trace view (/traces/{id}, ${trace.spanCount} spans)`, path: `/traces/${trace.traceId}`, ready: `(() =>
      document.querySelectorAll('button[data-span-id]').length === ${trace.spanCount} && !document.querySelector('[aria-busy=true]'))()` },
  { name: 'Time Machine (/traces/{id}/replay)', path: `/traces/${trace.traceId}/replay`, ready: `(() => {
      const step = document.querySelector('[data-testid=replay-step]');
      return step && /Step 1 of/.test(step.textContent) && document.querySelectorAll('[data-testid=replay-spans] li').length > 0
        && !document.querySelector('[aria-busy=true]');
    })()` },
];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`/signin?token=${token}`);
  await page.waitForURL(/\/overview$/);

  console.log(`| page | median of ${loads} | min | max | warm-up load |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const p of pages) {
    const times = [];
    let warmUp = 0;
    for (let i = 0; i <= loads; i++) {
      // A full document load each time (not an in-app route change): shell, lazy chunk, API calls, rendering.
      await page.goto(p.path, { waitUntil: 'commit' });
      const handle = await page.waitForFunction(`${p.ready} ? performance.now() : false`, undefined, { polling: 'raf' });
      const ms = await handle.jsonValue();
      if (i > 0) times.push(ms);
      else warmUp = ms; // the first load warms the server's caches and the browser's
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(`| ${p.name} | ${median.toFixed(0)} ms | ${times[0].toFixed(0)} ms | ${times[times.length - 1].toFixed(0)} ms | ${warmUp.toFixed(0)} ms |`);
  }
  if (errors.length) console.log(`console errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
}
