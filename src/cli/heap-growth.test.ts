import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from 'commander';
import { boundHeapGrowth, DEFAULT_HEAP_GROWTH_PERCENT, growthFor, HEAP_ROOM_FLOOR_BYTES, heapGrowthFromEnv, heapGrowthPercent } from './heap-growth.ts';
import { until } from '../testing/until.ts';
import { EIM_BIN } from '../testing/server-process.ts';

test('--heap-growth takes a whole percent from 0 to 1000; anything else is refused', () => {
  for (const [v, n] of [['0', 0], ['50', 50], ['1000', 1000]] as const) assert.equal(heapGrowthPercent(v), n);
  for (const v of ['-1', '1001', '1.5', '', ' ', 'abc', '5x', 'NaN', 'Infinity', '0x10', '1e2', '+5', '05 ']) assert.throws(() => heapGrowthPercent(v), InvalidArgumentError, v);
});

test('EIM_HEAP_GROWTH sets it for processes started without the CLI; unset or empty, the default', () => {
  assert.equal(heapGrowthFromEnv({}), DEFAULT_HEAP_GROWTH_PERCENT);
  assert.equal(heapGrowthFromEnv({ EIM_HEAP_GROWTH: '' }), DEFAULT_HEAP_GROWTH_PERCENT);
  assert.equal(heapGrowthFromEnv({ EIM_HEAP_GROWTH: '0' }), 0);
  assert.equal(heapGrowthFromEnv({ EIM_HEAP_GROWTH: '120' }), 120);
  assert.throws(() => heapGrowthFromEnv({ EIM_HEAP_GROWTH: 'lots' }), InvalidArgumentError);
});

test('the percent grows past the one asked for while the heap is small: at least 256 MiB of room, at most 4× (V8 own), in steps of 10', () => {
  const MiB = 2 ** 20;
  assert.equal(HEAP_ROOM_FLOOR_BYTES, 256 * MiB);
  assert.equal(growthFor(50, 0), 300, 'an empty heap: V8 own largest');
  assert.equal(growthFor(50, 64 * MiB), 300);
  assert.equal(growthFor(50, 256 * MiB), 100);
  assert.equal(growthFor(50, 300 * MiB), 90, '256/300 = 85.3 %, up to the next 10');
  assert.equal(growthFor(50, 400 * MiB), 70);
  assert.equal(growthFor(50, 512 * MiB), 50);
  assert.equal(growthFor(50, 4096 * MiB), 50, 'never below the percent asked for');
  assert.equal(growthFor(0, 64 * MiB), 0, "0 stays V8's own");
  assert.equal(growthFor(500, 64 * MiB), 500, 'a percent above 4× is kept');
  assert.equal(growthFor(20, 64 * MiB, 16 * MiB), 30, 'another floor');
});

test("V8's flag follows the heap's size, is set again only when the percent changes, and stops with stop()", async () => {
  const MiB = 2 ** 20;
  const set: string[] = [];
  let used = 64 * MiB;
  const growth = boundHeapGrowth(50, { execArgv: [], setFlags: (f) => set.push(f), heapUsed: () => used, everyMs: 5 });
  assert.deepEqual(set, ['--heap-growing-percent=300']);
  await sleep(30);
  assert.deepEqual(set, ['--heap-growing-percent=300'], 'the same size: not set again');
  used = 400 * MiB;
  await until(() => set.length === 2, 'set again for a larger heap', { timeoutMs: 2000, intervalMs: 5 });
  assert.equal(set[1], '--heap-growing-percent=70');
  assert.equal(growth.setTo, 70);
  used = 2048 * MiB;
  await until(() => set.length === 3, 'and again', { timeoutMs: 2000, intervalMs: 5 });
  assert.equal(set[2], '--heap-growing-percent=50');
  growth.stop();
  used = 64 * MiB;
  await sleep(30);
  assert.equal(set.length, 3, 'stopped');
});

test("0 leaves V8 to choose, once; node's own --heap-growing-percent wins; a bad percent sets nothing", () => {
  const set: string[] = [];
  const flags = (f: string) => set.push(f);
  assert.equal(boundHeapGrowth(0, { execArgv: ['--enable-source-maps'], setFlags: flags, heapUsed: () => 2 ** 20 }).setTo, 0);
  assert.deepEqual(set, ['--heap-growing-percent=0']);
  for (const given of [['--heap-growing-percent=20'], ['--heap_growing_percent', '20'], ['--max-old-space-size=4096', '--heap-growing-percent=300']]) {
    assert.equal(boundHeapGrowth(50, { execArgv: given, setFlags: flags }).setTo, undefined, given.join(' '));
  }
  const other = boundHeapGrowth(50, { execArgv: ['--heap-growing-percentage=3'], setFlags: flags, heapUsed: () => 2 ** 30 });
  other.stop();
  assert.equal(other.setTo, 50, 'another flag that only starts the same');
  assert.equal(set.length, 2);
  for (const bad of [-1, 1001, 2.5, Number.NaN]) assert.throws(() => boundHeapGrowth(bad, { execArgv: [], setFlags: flags }), RangeError);
  assert.equal(set.length, 2, 'nothing set for a bad percent');
});

/** `node bin/eim.js …args` to its end, with no EIM_* setting of the caller's. */
function runCli(args: string[], o: { env?: Record<string, string> } = {}): Promise<{ code: number | null; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EIM_')));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [EIM_BIN, ...args], { env: { ...env, ...o.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => (stderr += b));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

test('eim server, eim managers and eim sim refuse a bad --heap-growth (and EIM_HEAP_GROWTH) with a usage error', async () => {
  for (const cmd of ['server', 'managers', 'sim']) {
    const r = await runCli([cmd, '--heap-growth', '150%']);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /--heap-growth <percent>.*'150%' is invalid\. expected a whole percent from 0/);
  }
  const r = await runCli(['server'], { env: { EIM_HEAP_GROWTH: '-5' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /'-5' from env 'EIM_HEAP_GROWTH' is invalid/);
});
