// npm run bench:console [-- --hosts N --rate R --seconds S --runs K --no-md]
// The web console in headless chromium (the browser tests' harness) against a real server in this
// process (SQLite, synchronous=NORMAL, no managers, so only the writes below make events):
//  1. the overview of N hosts: navigation → all tiles counted and the list drawn, per page load;
//     baseline: the same page fetching the N hosts' list pages and nothing else (the data floor);
//  2. input latency (keydown → the frame after it) while R events/s arrive on the watch stream,
//     typing into the filter box and applying filters; baseline: the same with no events.
import { execSync } from 'node:child_process';
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { startServer } from '../src/server/server.ts';
import { tempDir } from '../src/testing/test-stores.ts';
import { browserUnavailable, launchBrowser } from '../ui/e2e/browser-harness.ts';
import { parseBenchArgs } from './lib/bench-args.ts';
import { writeSection } from './lib/benchmarks-md.ts';
import { monoMs, sleep } from './lib/clock.ts';
import { machineInfo } from './lib/machine-info.ts';
import { machineLine } from './lib/report.ts';
import { distribution } from './lib/percentiles.ts';
import { markdownTable, textTable } from './lib/result-table.ts';
import type { ResultRow } from './lib/result-row.ts';

const USAGE = `usage: npm run bench:console -- [options]
  --hosts <n>      hosts in the overview (default 10000)
  --rate <n>       events per second during the latency run (default 500)
  --seconds <s>    length of the latency runs (default 10)
  --runs <n>       page loads timed (default 5)
  --md / --no-md   write BENCHMARKS.md (default: only for a run with the defaults)`;
const args = parseBenchArgs('bench:console', USAGE, process.argv.slice(2), { hosts: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, runs: { type: 'string' } });
const HOSTS = args.flags.whole(args.values.hosts, 10_000, '--hosts');
const RATE = args.flags.whole(args.values.rate, 500, '--rate');
const SECONDS = args.flags.seconds(args.values.seconds, 10, '--seconds') / 1000;
const RUNS = args.flags.whole(args.values.runs, 5, '--runs');

const why = browserUnavailable();
if (why) {
  process.stderr.write(`bench:console needs the browser: ${why}\n`);
  process.exit(1);
}
// The server under test serves dist/console: build it first when ui/ changed (as bin/eim.js does).
const consoleBuild = (await import('../scripts/build-console.mjs' as string)) as { consoleIsStale(): boolean; buildConsole(): Promise<void> };
if (consoleBuild.consoleIsStale()) await consoleBuild.buildConsole();
const started = new Date();
const machine = await machineInfo(false);
const commit = execSync('git rev-parse --short HEAD').toString().trim();
const tmp = tempDir('eim-bench-console-');
const server = await startServer({ dataDir: tmp.dir, port: 0, logLevel: 'warn', managers: 'none', synchronous: 'normal', rateLimitRps: 0 });
const user = server.inventory.as({ subject: 'bench', grants: [{ project: '*', role: 'admin' }] });
const manager = server.inventory.as({ subject: 'bench-manager', grants: [{ project: '*', role: 'manager' }] });
const browser = await launchBrowser();
const rows: ResultRow[] = [];
try {
  process.stderr.write(`creating ${HOSTS} hosts…\n`);
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (let i = next++; i < HOSTS; i = next++) {
        const h = await user.create('default', 'Host', { name: `edge-${String(i).padStart(5, '0')}`, labels: { line: String(i % 7) }, spec: { desiredState: 'onboarded' } });
        await manager.updateStatus('default', 'Host', h.id, { currentState: 'onboarded', hostStatus: { indicator: 'idle', message: 'running', timestamp: new Date().toISOString() } });
        ids.push(h.id);
      }
    }),
  );

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.addInitScript(`sessionStorage.setItem('eim.token', ${JSON.stringify(server.adminToken)}); sessionStorage.setItem('eim.project', 'default');`);

  // 1. Overview render.
  const floor: number[] = [];
  const render: number[] = [];
  await page.goto(server.url);
  for (let r = 0; r < RUNS + 1; r++) {
    await page.reload();
    const ms = (await page.evaluate(`new Promise((resolve) => {
      const check = () => {
        const total = document.querySelector('[data-count="total"] .count');
        if (total && total.textContent === '${HOSTS}' && document.querySelectorAll('tbody tr[data-host]').length > 10) requestAnimationFrame(() => resolve(performance.now()));
        else requestAnimationFrame(check);
      };
      check();
    })`)) as number;
    const f = (await page.evaluate(`(async () => {
      const t0 = performance.now();
      let token = '';
      do {
        const res = await fetch('/v1/projects/default/hosts?pageSize=1000' + (token ? '&pageToken=' + token : ''), { headers: { authorization: 'Bearer ' + sessionStorage.getItem('eim.token') } });
        const page = await res.json();
        token = page.nextPageToken || '';
      } while (token);
      return performance.now() - t0;
    })()`)) as number;
    if (r > 0) {
      render.push(ms);
      floor.push(f);
    }
  }
  const rd = distribution(render);
  const fd = distribution(floor);
  rows.push({ metric: `list ${HOSTS.toLocaleString('en-US')} hosts' pages in the page (baseline)`, dialect: 'sqlite', value: fd.p50, unit: 'ms', notes: `fetch() + JSON.parse of ${Math.ceil(HOSTS / 1000)} pages of 1000, median of ${RUNS}; max ${fd.max.toFixed(0)} ms` });
  rows.push({
    metric: `overview of ${HOSTS.toLocaleString('en-US')} hosts rendered`,
    dialect: 'sqlite',
    value: rd.p50,
    unit: 'ms',
    baseline: { value: fd.p50, label: 'list pages alone' },
    target: { op: '<=', value: 1000, label: 'issue 6' },
    notes: `navigation start → tiles counted and rows drawn (the frame after), page reloads, median of ${RUNS}; max ${rd.max.toFixed(0)} ms; the page also lists the other kinds it watches (empty here)`,
  });

  // 2. Input latency, without and with events arriving.
  await page.evaluate(`window.__lat = []; document.addEventListener('keydown', (e) => { const t0 = e.timeStamp; requestAnimationFrame(() => setTimeout(() => window.__lat.push(performance.now() - t0), 0)); }, true);`);
  const quiet = await typeFor(page, SECONDS);
  const conn = page.locator('[data-testid=connection]');
  const events0 = Number(await conn.getAttribute('data-events'));
  const writer = writeAt(RATE, SECONDS * 1000 + 500, ids);
  await sleep(250);
  const busy = await typeFor(page, SECONDS);
  const { n: written, ms: writeMs } = await writer;
  await sleep(500);
  const received = Number(await conn.getAttribute('data-events')) - events0;
  const secs = writeMs / 1000;
  const qd = distribution(quiet);
  const bd = distribution(busy);
  rows.push({ metric: 'input latency, no events (baseline)', dialect: 'sqlite', value: qd.p99, unit: 'ms', notes: `p99 of ${qd.n} keystrokes (p50 ${qd.p50.toFixed(1)} ms, max ${qd.max.toFixed(1)} ms): typing filters into the box and applying them (Enter), ${SECONDS} s` });
  rows.push({
    metric: `input latency while ${RATE} events/s arrive`,
    dialect: 'sqlite',
    value: bd.p99,
    unit: 'ms',
    baseline: { value: qd.p99, label: 'no events' },
    target: { op: '<=', value: 100, label: 'issue 6' },
    unmet: written / secs < RATE * 0.9 ? `the writer reached only ${Math.round(written / secs)} writes/s` : received < written ? `the page applied ${received} of ${written} events` : undefined,
    notes: `p99 of ${bd.n} keystrokes (p50 ${bd.p50.toFixed(1)} ms, max ${bd.max.toFixed(1)} ms); ${written.toLocaleString('en-US')} host status writes at ${RATE}/s, ${received.toLocaleString('en-US')} events applied by the page while they were written at ${Math.round(written / secs)}/s, each moving a host between tiles`,
  });
} finally {
  await browser.close();
  await server.close();
  tmp.remove();
}

process.stdout.write(textTable(rows));
if (args.writeMarkdown(args.anyGivenExcept())) {
  const body = [
    'Produced by `bench/console.ts`; every number below is from one run of the command shown (the program writes this section).',
    '',
    `- Date: ${started.toISOString()} (run took ${Math.round((Date.now() - started.getTime()) / 1000)} s)`,
    `- Command: \`${args.command}\``,
    `- Machine: ${machineLine(machine, loadavg()[0])}`,
    `- Source: commit ${commit}; the console as built by \`npm run build\` (dist/console), served by the server under test`,
    `- Browser: Debian's chromium, headless (--headless --no-sandbox --disable-gpu --disable-background-networking), 1440×900, through playwright-core; the server, the writer and the browser share the machine's ${machine.cores} cores`,
    '- Latency is keydown (the event\'s own timestamp) to a task after the next animation frame: it includes any work (event batches, list recomputes, rendering) that held the main thread.',
    '',
    markdownTable(rows),
  ].join('\n');
  writeSection('BENCHMARKS.md', 'Web console (issue 6)', body);
}

/** Types filter texts into the box for `seconds`, pressing Enter after each (apply), and clearing it; the latencies. */
async function typeFor(page: Page, seconds: number): Promise<number[]> {
  await page.evaluate('window.__lat = []');
  const box = page.getByLabel('Filter (AIP-160)');
  const texts = ['labels.line = 3', 'name = "edge-01*"', 'status.hostStatus.message = running', ''];
  const end = monoMs() + seconds * 1000;
  for (let i = 0; monoMs() < end; i++) {
    await box.fill('');
    await box.pressSequentially(texts[i % texts.length], { delay: 30 });
    await box.press('Enter');
    await sleep(100);
  }
  await sleep(200);
  return (await page.evaluate('window.__lat')) as number[];
}

/** Host status writes at `rate`/s for `ms`, flipping hosts between running and no connection; how many were made. */
async function writeAt(rate: number, ms: number, ids: string[]): Promise<{ n: number; ms: number }> {
  const start = monoMs();
  const end = start + ms;
  const tick = 20;
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  let n = 0;
  let next = monoMs();
  while (monoMs() < end) {
    const batch = [];
    for (let k = 0; k < perTick; k++, n++) {
      const lost = Math.floor(n / ids.length) % 2 === 0;
      const status = lost ? { hostStatus: { indicator: 'error', message: 'no connection', timestamp: new Date().toISOString() } } : { hostStatus: { indicator: 'idle', message: 'running', timestamp: new Date().toISOString() } };
      batch.push(manager.updateStatus('default', 'Host', ids[n % ids.length], status));
    }
    await Promise.all(batch);
    next += tick;
    await sleep(Math.max(0, next - monoMs()));
  }
  return { n, ms: monoMs() - start };
}
