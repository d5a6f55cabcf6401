import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Inventory, Resource } from '../api/index.ts';
import { FakeClock } from './clock.ts';
import { StatusReporter, TERMINAL_SUFFIX } from './status-reporter.ts';

function recorder() {
  const writes: Record<string, unknown>[] = [];
  const inventory = { updateStatus: async (_p: string, _k: string, _id: string, status: Record<string, unknown>) => void writes.push(status) } as unknown as Inventory;
  return { writes, inventory };
}

const host = (status: Record<string, unknown> = {}, generation = 1): Resource => ({
  kind: 'Host', id: 'host-0000000a', project: 'default', name: 'h', labels: {}, revision: 1, generation,
  createdAt: '', updatedAt: '', spec: {}, status,
});

test('messages are clipped to the 1024 characters a triple holds; the terminal mark survives clipping', async () => {
  const { writes, inventory } = recorder();
  const r = new StatusReporter({ inventory, statusField: 'hostStatus', clock: new FakeClock(0) });
  await r.retrying(host(), 3, new Error('x'.repeat(5000)));
  await r.terminal(host(), new Error('y'.repeat(5000)));
  const [retryMsg, terminalMsg] = writes.map((w) => (w.hostStatus as { message: string }).message);
  assert.equal(retryMsg.length, 1024);
  assert.ok(retryMsg.startsWith('retrying (attempt 3): xxx'));
  assert.equal(terminalMsg.length, 1024);
  assert.ok(terminalMsg.endsWith(`y…${TERMINAL_SUFFIX}`));
  assert.equal(writes[1].observedGeneration, 1);
});

test('parking follows the generation; release forgets it', async () => {
  const { inventory } = recorder();
  const r = new StatusReporter({ inventory, statusField: 'hostStatus', clock: new FakeClock(0) });
  await r.terminal(host(), new Error('bad'));
  assert.equal(r.isParked(host()), true, 'parked in memory before the echo of the write arrives');
  assert.equal(r.isParked(host({}, 2)), false, 'a new generation is reconciled');
  assert.equal(r.size, 0);
  await r.terminal(host(), new Error('bad'));
  r.release('host-0000000a');
  assert.equal(r.isParked(host()), false);
});

test('without a status field nothing is written and parking is in memory only', async () => {
  const { writes, inventory } = recorder();
  const r = new StatusReporter({ inventory, clock: new FakeClock(0) });
  await r.retrying(host(), 1, new Error('x'));
  await r.terminal(host(), new Error('y'));
  await r.flush(host());
  assert.deepEqual(writes, []);
  assert.equal(r.isParked(host()), true);
});
