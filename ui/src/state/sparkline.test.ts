import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateText, sparklinePoints, sumSeries } from './sparkline.ts';

test('sparkline points scale time to width and value to height (a fixed max clips)', () => {
  assert.equal(sparklinePoints([{ t: 0, value: 50 }, { t: 10, value: 100 }], 0, 10, 100, 20, 100), '0,10 100,0');
  assert.equal(sparklinePoints([{ t: 5, value: 200 }], 0, 10, 100, 20, 100), '50,0');
  assert.equal(sparklinePoints([], 0, 10, 100, 20), '');
});

test('series sum per time (network over interfaces and directions), in time order', () => {
  const s = (points: [string, number][]) => ({ name: 'n', attributes: {}, points: points.map(([t, value]) => ({ t, value })) });
  const sum = sumSeries([s([['2026-01-01T00:01:00Z', 1], ['2026-01-01T00:00:00Z', 2]]), s([['2026-01-01T00:00:00Z', 3]])]);
  assert.deepEqual(sum.map((p) => p.value), [5, 1]);
  assert.equal(rateText(1_234_000), '1.2 MB/s');
  assert.equal(rateText(12), '12 B/s');
});
