import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { boundHeapGrowth, DEFAULT_HEAP_GROWTH_PERCENT, heapGrowthFromEnv, heapGrowthPercent } from './heap-growth.ts';
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

test("V8's flag is set to the percent, unless node was started with its own; 0 leaves V8 to choose", () => {
  const set: string[] = [];
  const flags = (f: string) => set.push(f);
  assert.equal(boundHeapGrowth(50, [], flags), 'heap growth 50 %');
  assert.equal(boundHeapGrowth(0, ['--enable-source-maps'], flags), "heap growth V8's own");
  assert.deepEqual(set, ['--heap-growing-percent=50', '--heap-growing-percent=0']);
  for (const given of [['--heap-growing-percent=20'], ['--heap_growing_percent', '20'], ['--max-old-space-size=4096', '--heap-growing-percent=300']]) {
    assert.equal(boundHeapGrowth(50, given, flags), 'heap growth as node was started with it', given.join(' '));
  }
  assert.equal(boundHeapGrowth(50, ['--heap-growing-percentage=3'], flags), 'heap growth 50 %', 'another flag that only starts the same');
  assert.equal(set.length, 3);
  for (const bad of [-1, 1001, 2.5, Number.NaN]) assert.throws(() => boundHeapGrowth(bad, [], flags), RangeError);
  assert.equal(set.length, 3, 'nothing set for a bad percent');
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
